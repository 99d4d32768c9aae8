"""The tests' clock: time passes only when the code under test sleeps (or a test moves it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)


class FakeClock:
    """Time that passes only when the code under test sleeps (or a test moves it)."""

    def __init__(self, now: datetime = NOW) -> None:
        self._now = now
        self._mono = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
