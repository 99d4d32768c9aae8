"""The retry rule and the one retry loop: what is transient, how long to wait, what a server's Retry-After
means, and when to stop. Built on tenacity, on the run's injected clock.

Every retry in housejobs goes through `retrying` (async) or `retrying_in_thread` (a worker thread's): the
admin API client (api/client.py), the Cloud Run reads (gcp/executions.py) and the notification sinks
(notify/delivery.py). A caller's attempt raises `Transient` for an outcome that may be tried again; the loop
waits, stops and logs by the rules below, and when it stops it re-raises the last `Transient` for the
caller to word. tests/test_clock_and_retries.py checks that nothing else imports tenacity or loops on
its own.

- Transient statuses: 408, 425, 429, 500, 502, 503, 504, and 409 with `idempotency_in_flight` (the first
  request with that key is still running: its answer is coming). Never another 4xx.
- Backoff: exponential with full jitter, `uniform(0, min(max_wait, base_wait * 2**(attempt-1)))` after the
  attempt numbered `attempt` (1-based), so the first wait is at most base_wait.
- Bounded in attempts and in total time: the policy's deadline bounds one logical call, retries included.
- `Retry-After` (seconds or an HTTP date) is honoured as told, up to `retry_after_cap`; past it, fail fast.
- When to stop: after `max_attempts` (an attempt its caller marks `in_flight` does not count: its answer
  is coming), or before a wait that would cross the deadline (tenacity's `stop_before_delay`, read on the
  injected clock: tenacity's own reads `time.monotonic`, which a test's clock cannot move).
"""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # tenacity loads when a loop is built, not with this module: `--help` never needs it
    from tenacity import AsyncRetrying, RetryCallState, Retrying

    from housejobs.clock import Clock
    from housejobs.logs import Logger

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


class Transient(Exception):
    """An attempt's outcome that may be tried again.

    `reason` is what the log line and the final error say ("503", "ReadTimeout: ..."); `status` the
    answer's status, None when no answer came (the request may have reached the server); `retry_after`
    the server's wait, honoured in place of the backoff; `in_flight` a 409 `idempotency_in_flight` to
    wait out whatever the attempt count;
    `error` the caller's own error for this outcome, for it to raise when the loop gives up."""

    def __init__(self, reason: str, *, status: int | None = None, code: str | None = None,
                 retry_after: float | None = None, in_flight: bool = False, error: Exception | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.in_flight = in_flight
        self.error = error

    def past_cap(self, policy: RetryPolicy) -> bool:
        """The server asked for a longer wait than the policy honours: the loop stopped to fail fast."""
        return self.retry_after is not None and self.retry_after > policy.retry_after_cap


def retrying(policy: RetryPolicy, clock: Clock, *, rng: random.Random, deadline: float,
             reserve: float = 0.0, logger: Logger | None = None, what: str = "") -> AsyncRetrying:
    """The loop of one logical call in async code: `async for attempt in retrying(...): with attempt: ...`.

    Retries `Transient` only, waiting `clock.sleep` for the server's Retry-After or the backoff; stops after
    `policy.max_attempts` or before a wait that would end less than `reserve` seconds before `deadline`
    (a `clock.monotonic()` time), or when a Retry-After is past the cap;
    then re-raises the last `Transient`. With `logger`, each retry is a WARNING naming `what`, the
    attempt, its reason, status and wait."""
    from tenacity import AsyncRetrying

    return AsyncRetrying(sleep=clock.sleep, **_rules(policy, clock, rng, deadline, reserve, logger, what))


def retrying_in_thread(policy: RetryPolicy, clock: Clock, *, rng: random.Random, deadline: float,
                       reserve: float = 0.0, logger: Logger | None = None, what: str = "",
                       sleep: Callable[[float], None] | None = None) -> Retrying:
    """`retrying` for a worker thread, which has no event loop: `for attempt in retrying_in_thread(...)`.
    It waits with the clock's blocking `pause`, or `sleep` when given."""
    from tenacity import Retrying

    return Retrying(sleep=sleep or clock.pause, **_rules(policy, clock, rng, deadline, reserve, logger, what))


def _rules(policy: RetryPolicy, clock: Clock, rng: random.Random, deadline: float, reserve: float,
           logger: Logger | None, what: str) -> dict[str, Any]:
    from tenacity import retry_if_exception_type

    def last(state: RetryCallState) -> Transient | None:
        exc = state.outcome.exception() if state.outcome else None
        return exc if isinstance(exc, Transient) else None

    def stop(state: RetryCallState) -> bool:
        exc = last(state)
        if exc is not None and exc.past_cap(policy):
            return True
        # Another request with this key is still running (maybe this run's own, timed out here but alive
        # on the server): its answer is coming. Wait it out for as long as the deadline allows; counting
        # these against max_attempts failed runs whose effect was being applied.
        in_flight = exc is not None and exc.in_flight
        if state.attempt_number >= policy.max_attempts and not in_flight:
            return True
        return clock.monotonic() + (state.upcoming_sleep or 0.0) + reserve >= deadline

    def wait(state: RetryCallState) -> float:
        exc = last(state)
        if exc is not None and exc.retry_after is not None:
            return exc.retry_after
        return backoff(state.attempt_number, policy, rng)

    def before_sleep(state: RetryCallState) -> None:
        if logger is None:
            return
        exc = last(state)
        reason = exc.reason if exc is not None else str(state.outcome.exception() if state.outcome else "")
        logger.warning(f"{what}: attempt {state.attempt_number} {reason}; retrying",
                       attempt=state.attempt_number, wait_s=round(state.upcoming_sleep or 0.0, 3),
                       status=exc.status if exc is not None else None)

    return {"stop": stop, "wait": wait, "retry": retry_if_exception_type(Transient), "before_sleep": before_sleep,
            "reraise": True}
