"""Reads from Google, retried while the error is transient: one copy for Cloud Run, Scheduler and Logging.

A read is safe to repeat, so a 503, a 429 or a dropped connection is retried with api/retry.py's backoff,
bounded by the run's max attempts and deadline (`RetryPolicy`); any other error leaves at once, mapped by
gcp/errors.py. Each attempt runs in a worker thread: Google's libraries block.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from housejobs.api.retry import RetryPolicy, backoff
from housejobs.clock import Clock
from housejobs.errors import ApiUnavailable, ConfigError, HousejobsError
from housejobs.gcp.errors import map_google_error
from housejobs.threads import in_thread

T = TypeVar("T")


async def read_retrying(call: Callable[[], T], what: str, not_found: HousejobsError | None, *, role: str,
                        clock: Clock, policy: RetryPolicy, rng: random.Random) -> T | None:
    """`call`, retried while Google's error is transient. A 404 raises `not_found`; with None, it reads as
    None (for history a missing job is a fact to show, not a reason to stop)."""
    absent = not_found or ConfigError(f"{what} does not exist")
    start = clock.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return await in_thread(call)
        except Exception as exc:
            mapped = map_google_error(exc, what, not_found=absent, role=role)
            if mapped is None:
                raise
            if mapped is absent and not_found is None:
                return None
            if not isinstance(mapped, ApiUnavailable):
                raise mapped from None
            wait = backoff(attempt, policy, rng)
            elapsed = clock.monotonic() - start
            if attempt >= policy.max_attempts or elapsed + wait > policy.deadline:
                mapped.attempts, mapped.elapsed_s = attempt, elapsed
                mapped.message += f" (gave up after {attempt} attempts in {elapsed:.1f} s)"
                raise mapped from None
            await clock.sleep(wait)
