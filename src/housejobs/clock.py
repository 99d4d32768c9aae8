"""Time, injected: nothing in housejobs reads the wall clock or sleeps on its own (the sandbox, a server of
its own, aside); tests/test_layout.py checks it. Tests pass a fake (tests/support/clock.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol, overload


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def pause(self, seconds: float) -> None:
        """`sleep` for a worker thread, which has no event loop to await on (a notification's retry)."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio  # only a running job sleeps; --help should not load asyncio

        await asyncio.sleep(seconds)

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)


@overload
def iso_z(when: datetime) -> str: ...


@overload
def iso_z(when: None) -> None: ...


def iso_z(when: datetime | None) -> str | None:
    """An instant as every timestamp housejobs writes it (JSON, log lines, events): ISO 8601 in UTC with a
    `Z`, `2026-11-24T10:00:00Z`; None stays None (a time not known)."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when is not None else None
