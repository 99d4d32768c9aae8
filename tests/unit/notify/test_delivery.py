"""notify/delivery.py: one delivery to a local sink under the one retry rule (housejobs.api.retry), inside
the sink's time. The waits are recorded, not slept. Whole runs that notify are tests/cli/test_notify.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from housejobs.notify.delivery import WAIT_SHARE, Delivery, deadline_after
from housejobs.redact import Secret
from tests.fakes.sinks import SinkServer
from tests.support.clock import FakeClock
from tests.support.sink_fixtures import Sinks, hook_url

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # the run's clock, for an HTTP-date Retry-After
IN_FLIGHT = json.dumps({"error": {"code": "idempotency_in_flight", "message": "still running"}}).encode()
MISMATCH = json.dumps({"error": {"code": "idempotency_mismatch", "message": "another body"}}).encode()


def deliver(server: SinkServer, *answers: tuple[int, dict[str, str], bytes],
            budget: float = 5.0) -> tuple[Delivery, list[float]]:
    """One webhook delivery to `server`, which gives `answers` first, then 200; the waits are recorded, not slept."""
    server.answers.extend(answers)
    waits: list[float] = []
    delivery = Delivery("webhook", Secret(hook_url(server), "test"), b"{}", {"Content-Type": "application/json"},
                        deadline=deadline_after(budget), budget=budget, now=lambda: NOW, sleep=waits.append)
    delivery.start().wait()
    return delivery, waits


@pytest.mark.parametrize(("status", "body", "retried"), [
    (409, IN_FLIGHT, True),  # new: the first request with that key is still running, its answer is coming
    (425, b"", True),
    (503, b"", True),
    (409, MISMATCH, False),
    (400, b"", False),
    (404, b"", False),
])
def test_sink_retries_what_the_one_retry_rule_calls_transient(sinks: Sinks, status: int,
                                                              body: bytes, retried: bool) -> None:
    server = sinks["ok"]
    delivery, waits = deliver(server, (status, {}, body))
    assert len(server.requests) == (2 if retried else 1)
    assert delivery.ok is retried and delivery.attempts == len(server.requests)
    # Without a Retry-After the wait is the rule's jittered backoff, kept under a twentieth of the sink's time.
    assert len(waits) == (1 if retried else 0) and all(0 <= w <= 5.0 * WAIT_SHARE for w in waits)
    if not retried:
        assert delivery.describe().endswith(f": answered HTTP {status}")


@pytest.mark.parametrize(("retry_after", "wait"), [("2", 2.0), ("Tue, 24 Nov 2026 10:00:03 GMT", 3.0)])
def test_sink_honours_retry_after_within_its_time(sinks: Sinks, retry_after: str,
                                                  wait: float) -> None:
    server = sinks["ok"]
    delivery, waits = deliver(server, (503, {"Retry-After": retry_after}, b""))
    assert delivery.ok and delivery.attempts == 2 and len(server.requests) == 2
    assert waits == [wait]  # as told (seconds, or a date read against the run's clock)


def test_sink_retry_after_past_its_time_ends_the_delivery(sinks: Sinks) -> None:
    server = sinks["ok"]
    delivery, waits = deliver(server, (429, {"Retry-After": "60"}, b""))
    assert not delivery.ok and waits == [] and len(server.requests) == 1
    assert delivery.describe().endswith(": answered HTTP 429 and asked to retry after 60 s, past this sink's "
                                        "time (HOUSEJOBS_NOTIFY_TIMEOUT 5 s)")


@pytest.mark.parametrize(("spent", "retry_after", "delivered"), [
    (0.0, "Tue, 24 Nov 2026 10:00:02 GMT", True),  # the clock's now + 2 s
    (2.9, "2", True),
    (3.0, "2", False),
])
def test_the_wait_is_spent_from_the_sinks_time_on_the_injected_clock(sinks: Sinks, spent: float, retry_after: str,
                                                                    delivered: bool) -> None:
    """The deadline, the wait and an HTTP-date Retry-After are all the injected clock's: a Retry-After of 2 s
    fits a 5 s sink while 50 ms are left for the retry after it (time spent before the first attempt, e.g.
    waiting for /start, counts), and the wait moves the clock."""
    server, clock = sinks["ok"], FakeClock()
    server.answers.append((503, {"Retry-After": retry_after}, b""))
    delivery = Delivery("webhook", Secret(hook_url(server), "test"), b"{}", {"Content-Type": "application/json"},
                        deadline=deadline_after(5.0, clock), budget=5.0, clock=clock)
    clock.advance(spent)
    delivery.start().wait()
    assert delivery.ok is delivered and len(server.requests) == (2 if delivered else 1)
    assert clock.sleeps == ([2.0] if delivered else [])
    if not delivered:
        assert delivery.describe().endswith(": answered HTTP 503 and asked to retry after 2 s, past this sink's "
                                            "time (HOUSEJOBS_NOTIFY_TIMEOUT 5 s)")
