"""The retry rule, one copy: what is transient, how long to wait, and what a server's Retry-After means.

Used by the admin API client (api/client.py, with tenacity), by the Cloud Run reads (gcp/executions.py)
and by notification sinks (notify/delivery.py), so the three cannot drift apart again.

- Transient statuses: 408, 425, 429, 500, 502, 503, 504, and 409 with `idempotency_in_flight` (the first
  request with that key is still running: its answer is coming). Never another 4xx.
- Backoff: exponential with full jitter, `uniform(0, min(max_wait, base_wait * 2**(attempt-1)))` after the
  attempt numbered `attempt` (1-based), so the first wait is at most base_wait.
- Bounded in attempts and in total time: the policy's deadline bounds one logical call, retries included.
- `Retry-After` (seconds or an HTTP date) is honoured as told, up to `retry_after_cap`; past it, fail fast.
"""

from __future__ import annotations

import email.utils
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
IN_FLIGHT = "idempotency_in_flight"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    deadline: float = 60.0
    timeout: float = 10.0
    base_wait: float = 0.25
    max_wait: float = 8.0
    retry_after_cap: float = 30.0


def is_transient(status: int, code: str | None = None) -> bool:
    """May a request that got this answer be sent again (its effect, if any, is keyed or absent)?"""
    return status in RETRY_STATUSES or (status == 409 and code == IN_FLIGHT)


def backoff(attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """The wait after attempt number `attempt` (1-based): full jitter under an exponential ceiling."""
    ceiling = min(policy.max_wait, policy.base_wait * (2 ** (max(1, attempt) - 1)))
    return rng.uniform(0, ceiling)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds, or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # "²".isdigit() is true too, and float() refuses it
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def contract_error(body: bytes) -> tuple[str | None, str]:
    """The API contract's error (`{"error": {"code": ..., "message": ...}}`, or a bare `{"message": ...}`)
    in an answer's body: its code (which tells a 409 in flight from others) and its message."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8), or nested deeper than the parser goes
        return None, ""
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
            return (None if code is None else str(code)), ("" if message is None else str(message))
        if isinstance(data.get("message"), str):
            return None, data["message"]
    return None, ""
