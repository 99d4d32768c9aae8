"""The tests' clock: time passes only when the code under test sleeps (or a test moves it)."""

from __future__ import annotations

from collections.abc import Callable
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
        self.pause(seconds)

    def pause(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


class HookClock(FakeClock):
    """A fake clock that acts on the n-th sleep (1-based): finish an execution, send a signal mid-retry."""

    def __init__(self) -> None:
        super().__init__(NOW)
        self.hooks: dict[int, Callable[[], None]] = {}

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        hook = self.hooks.pop(len(self.sleeps), None)
        if hook is not None:
            hook()
