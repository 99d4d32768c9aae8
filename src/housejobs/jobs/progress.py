"""Progress for long jobs: a rich bar on a terminal, a JSON log line every N units or seconds off one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from housejobs.context import Context

if TYPE_CHECKING:
    from housejobs.jobs.org_sync import Tally

EVERY_SECONDS = 10.0


@contextmanager
def make_progress(ctx: Context) -> Iterator[Callable[[Tally], None] | None]:
    # Read first, whatever the output: a bad value is refused the same on a terminal as off one.
    every = ctx.settings.whole("progress_every") or 1  # never None: the setting has a default
    if ctx.options.dry_run:
        yield None
        return
    if ctx.runtime.stderr_tty:
        with _bar(ctx) as update:
            yield update
        return
    start = ctx.clock.monotonic()
    last = {"units": 0, "at": start}

    def report(tally: Tally) -> None:
        done = tally.done + tally.failed
        now = ctx.clock.monotonic()
        if done - last["units"] >= every or now - last["at"] >= EVERY_SECONDS:
            last["units"], last["at"] = done, now
            rate = done / (now - start) if now > start else 0.0
            ctx.logger.info("progress", event="progress", done=done, failed=tally.failed,
                            listed=tally.listed, rate_per_s=round(rate, 1))

    yield report


@contextmanager
def _bar(ctx: Context) -> Iterator[Callable[[Tally], None]]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # The runtime decided stderr is a terminal (tests hand it a buffer and say so).
    console = Console(file=ctx.runtime.stderr, force_terminal=True)
    with Progress(TextColumn("org-sync"), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed · {task.fields[rate]}/s"), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("sync", total=None, failed=0, rate="0")
        start = ctx.clock.monotonic()

        def update(tally: Tally) -> None:
            done = tally.done + tally.failed
            elapsed = ctx.clock.monotonic() - start
            bar.update(task, completed=done, total=max(tally.listed, done), failed=tally.failed,
                       rate=f"{done / elapsed:.0f}" if elapsed > 0 else "0")

        yield update
