"""One POST to one sink (a webhook, a check-in, the embedded sandbox), made in its own worker thread and
bounded by the sink's time budget (HOUSEJOBS_NOTIFY_TIMEOUT), its one retry included. A delivery never
raises: at worst it holds an error for one WARNING line."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from housejobs.errors import HousejobsError
from housejobs.redact import Secret, mask_url

EMBEDDED = "embedded sandbox"
FIRST_ATTEMPT_SHARE = 0.6  # the first attempt may use 60% of a sink's time; the retry gets the rest
JOIN_SLACK_S = 0.2  # a worker past its deadline is abandoned (daemon thread), never waited for
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def deadline_after(seconds: float) -> float:
    """The time.monotonic() a delivery started now must finish by."""
    return time.monotonic() + seconds


@dataclass
class Delivery:
    """One POST to a sink, made in a worker thread before `deadline` (time.monotonic)."""

    sink: str  # what the log line calls it: "webhook", "check-in", "embedded sandbox"
    url: Secret
    body: bytes
    headers: dict[str, str]
    deadline: float
    budget: float
    after: threading.Thread | None = None  # a delivery that must reach the sink first (/start)
    # The run's environment: its proxies and CA bundle decide how the sink is reached (housejobs.api.network).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
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
            self.thread.join(max(0.0, self.deadline - time.monotonic()) + JOIN_SLACK_S)

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()

    def _run(self) -> None:
        try:
            if self.after is not None:
                # The end ping must not overtake /start: the monitor pairs them in arrival order.
                self.after.join(max(0.0, self.deadline - time.monotonic()))
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
        # trust_env=False: httpx would otherwise read proxies from os.environ, not from the run's environment.
        # Wall-clock time on purpose, not the injected clock: these are real sockets with real timeouts.
        with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
            for attempt in (1, 2):
                left = self.deadline - time.monotonic()
                if left < 0.05:
                    if attempt == 1:
                        self.error = "no time left"
                    break
                timeout = left if attempt == 2 else min(left, self.budget * FIRST_ATTEMPT_SHARE)
                self.attempts = attempt
                try:
                    response = client.post(self.url.reveal(), content=self.body, headers=self.headers,
                                           timeout=timeout)
                except httpx.TimeoutException:
                    self.error = f"timed out after {timeout:.1f} s"
                    continue
                except httpx.TransportError as exc:
                    # The class name only: httpx's messages can quote the URL, which holds the token.
                    self.error = f"cannot connect ({exc.__class__.__name__})"
                    continue
                self.status, self.answer = response.status_code, response.content[:4096]
                if 200 <= response.status_code < 300:
                    self.ok, self.error = True, None
                    return
                self.error = f"answered HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    return

    def describe(self) -> str:
        where = EMBEDDED if self.sink == EMBEDDED else f"{self.sink} {mask_url(self.url.reveal())}"
        if self.thread is not None and not self.finished:
            return f"{where}: no answer within {self.budget:g} s"
        tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{where}: {self.error or 'failed'}{tries}"
