"""Reads from Google, retried while the error is transient: one copy for Cloud Run, Scheduler and Logging.

A read is safe to repeat, so a 503, a 429 or a dropped connection is retried in api/retry.py's loop,
bounded by the run's max attempts and deadline (`RetryPolicy`); any other error leaves at once, mapped by
gcp/errors.py. Each attempt runs in a worker thread: Google's libraries block.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TypeVar

from housejobs.api.retry import RetryPolicy, Transient, retrying
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
    attempts = 0
    try:
        async for attempt in retrying(policy, clock, rng=rng, deadline=start + policy.deadline):
            with attempt:
                attempts += 1
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
                    raise Transient(mapped.line(), status=mapped.status, error=mapped) from None
    except Transient as exc:
        elapsed = clock.monotonic() - start
        gave_up = exc.error if isinstance(exc.error, ApiUnavailable) else ApiUnavailable(exc.reason)
        gave_up.attempts, gave_up.elapsed_s = attempts, elapsed
        gave_up.message += f" (gave up after {attempts} attempts in {elapsed:.1f} s)"
        raise gave_up from None
    raise AssertionError("unreachable")  # pragma: no cover - tenacity always returns or raises
