"""Waiting on the run's clock, cut short by SIGINT/SIGTERM: how `run`, `logs --follow` and the summary reads
pause between polls."""

from __future__ import annotations

import asyncio
import contextlib

from housejobs.context import Context


async def sleep_or_stop(ctx: Context, seconds: float) -> bool:
    """Sleep on the injected clock, cut short by SIGINT/SIGTERM; True if the run should stop."""
    if ctx.stop.is_set():
        return True
    sleeper = asyncio.ensure_future(ctx.clock.sleep(seconds))
    stopper = asyncio.ensure_future(ctx.stop.event.wait())
    await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
    for task in (sleeper, stopper):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return ctx.stop.is_set()
