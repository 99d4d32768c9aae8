"""One POST to one sink (a webhook, a check-in, the embedded sandbox), made in its own worker thread and
bounded by the sink's time budget (HOUSEJOBS_NOTIFY_TIMEOUT), its one retry included.

What is retried, and how long to wait first, is the one rule in housejobs.api.retry: a transient status
(`is_transient`: 408, 425, 429, 5xx, 409 `idempotency_in_flight`) or a transport error, after a jittered
`backoff` or the server's `Retry-After`. The budget is the sink's own: at most two attempts, the first may
use 60% of it and the retry gets the rest; the backoff is scaled to a twentieth of the budget so the retry
keeps its time; a Retry-After is honoured when the retry still fits after it, and otherwise the delivery
ends there and says so. The loop is api/retry.py's (`retrying_in_thread`). A delivery never raises: at
worst it holds an error for one WARNING line.

Time is the injected `clock`'s: its monotonic time for the deadline, its `pause` for the wait (or `sleep`).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from housejobs.api.retry import (
    RetryPolicy,
    Transient,
    contract_error,
    is_transient,
    parse_retry_after,
    retrying_in_thread,
)
from housejobs.clock import Clock, SystemClock
from housejobs.errors import HousejobsError
from housejobs.redact import Secret, mask_url

if TYPE_CHECKING:
    import httpx

EMBEDDED = "embedded sandbox"
FIRST_ATTEMPT_SHARE = 0.6  # the first attempt may use 60% of a sink's time; the retry gets the rest
WAIT_SHARE = 0.05  # the backoff before the retry stays under this share of the sink's time
MIN_ATTEMPT_S = 0.05  # less time than this left: no attempt is worth starting
JOIN_SLACK_S = 0.2  # a worker past its deadline is abandoned (daemon thread), never waited for
ANSWER_LIMIT = 4096


def sink_policy(budget: float) -> RetryPolicy:
    """The retry policy of a sink with `budget` seconds: one retry, both attempts inside the budget."""
    return RetryPolicy(max_attempts=2, deadline=budget, timeout=budget * FIRST_ATTEMPT_SHARE,
                       base_wait=budget * WAIT_SHARE, max_wait=budget * WAIT_SHARE, retry_after_cap=budget)


def deadline_after(seconds: float, clock: Clock | None = None) -> float:
    """The `clock.monotonic()` a delivery started now must finish by."""
    return (clock or SystemClock()).monotonic() + seconds


@dataclass
class Delivery:
    """One POST to a sink, made in a worker thread before `deadline` (on `clock.monotonic`)."""

    sink: str  # what the log line calls it: "webhook", "check-in", "embedded sandbox"
    url: Secret
    body: bytes
    headers: dict[str, str]
    deadline: float
    budget: float
    after: threading.Thread | None = None  # a delivery that must reach the sink first (/start)
    # The run's environment: its proxies and CA bundle decide how the sink is reached (housejobs.api.network).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    clock: Clock = field(default_factory=SystemClock, repr=False)
    # What an HTTP-date Retry-After is read against (default: the clock's now), and the wait before a
    # retry (default: the clock's pause).
    now: Callable[[], datetime] | None = field(default=None, repr=False)
    sleep: Callable[[float], None] | None = field(default=None, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False)
    status: int | None = None
    answer: bytes = b""
    error: str | None = None
    attempts: int = 0
    ok: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Delivery:
        self.thread = threading.Thread(target=self._run, name=f"housejobs-notify-{self.sink}", daemon=True)
        self.thread.start()
        return self

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join(max(0.0, self.deadline - self.clock.monotonic()) + JOIN_SLACK_S)

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()

    def _run(self) -> None:
        try:
            if self.after is not None:
                # The end ping must not overtake /start: the monitor pairs them in arrival order.
                self.after.join(max(0.0, self.deadline - self.clock.monotonic()))
            self._send()
        except Exception as exc:  # noqa: BLE001 - a worker thread has no one to raise to
            self.error = f"internal error ({exc.__class__.__name__})"

    def _send(self) -> None:
        import httpx

        from housejobs.api.network import sync_transport_for

        try:
            transport = sync_transport_for(self.url.reveal(), self.environ, embedded=self.sink == EMBEDDED)
        except HousejobsError as exc:  # a bad proxy URL or CA bundle: say which, send nothing
            self.error = exc.line()
            return
        policy = sink_policy(self.budget)
        attempts = retrying_in_thread(policy, self.clock, rng=self.rng, deadline=self.deadline, reserve=MIN_ATTEMPT_S,
                                      sleep=self.sleep)
        # trust_env=False: httpx would otherwise read proxies from os.environ, not from the run's environment.
        with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
            try:
                for attempt in attempts:
                    with attempt:
                        number = attempt.retry_state.attempt_number
                        left = self.deadline - self.clock.monotonic()
                        if left < MIN_ATTEMPT_S:
                            if number == 1:
                                self.error = "no time left"
                            return
                        self.attempts = number
                        # The retry may use all the time left; the first attempt leaves the retry its share.
                        last = number == policy.max_attempts
                        self._attempt(client, left if last else min(left, policy.timeout))
                        return
            except Transient as exc:
                # The loop stopped early only when the server's wait did not fit in this sink's time.
                if exc.retry_after is not None and self.attempts < policy.max_attempts:
                    self.error = (f"{exc.reason} and asked to retry after {exc.retry_after:g} s, past this sink's "
                                  f"time (HOUSEJOBS_NOTIFY_TIMEOUT {self.budget:g} s)")

    def _attempt(self, client: httpx.Client, timeout: float) -> None:
        """One POST, its answer recorded; raises Transient when it may be tried again."""
        import httpx

        try:
            response = client.post(self.url.reveal(), content=self.body, headers=self.headers, timeout=timeout)
        except httpx.TimeoutException:
            self.error = f"timed out after {timeout:.1f} s"
            raise Transient(self.error) from None
        except httpx.TransportError as exc:
            # The class name only: httpx's messages can quote the URL, which holds the token.
            self.error = f"cannot connect ({exc.__class__.__name__})"
            raise Transient(self.error) from None
        self.status, self.answer = response.status_code, response.content[:ANSWER_LIMIT]
        if 200 <= response.status_code < 300:
            self.ok, self.error = True, None
            return
        self.error = f"answered HTTP {response.status_code}"
        code = contract_error(self.answer)[0]
        if is_transient(response.status_code, code):
            # Not marked in flight, even for a 409 idempotency_in_flight: a sink has its one retry, whatever
            # the answer (the API client waits those out; a notification must not hold up the run's end).
            now = (self.now or self.clock.now)()
            raise Transient(self.error, status=response.status_code, code=code,
                            retry_after=parse_retry_after(response.headers.get("Retry-After"), now))

    def describe(self) -> str:
        where = EMBEDDED if self.sink == EMBEDDED else f"{self.sink} {mask_url(self.url.reveal())}"
        if self.thread is not None and not self.finished:
            return f"{where}: no answer within {self.budget:g} s"
        tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{where}: {self.error or 'failed'}{tries}"
