"""Progress on a terminal: a rich bar for counted work, a rewritten status line for a followed execution.

What a run lends its jobs through `Context.display` / `Context.status` (the `display` hook). Off a
terminal they stay structured log records (context.log_progress / log_status), which Cloud Logging reads:
no bars, no escapes, no rewriting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from housejobs.cli.log_text import line_text
from housejobs.context import PROGRESS, Context, Progress, log_progress, log_status


def display(ctx: Context, label: str, event: str) -> AbstractContextManager[Progress]:
    if not ctx.runtime.stderr_tty:
        return log_progress(ctx, label, event) if event == PROGRESS else log_status(ctx, label)
    return _bar(ctx, label) if event == PROGRESS else _status_line(ctx, label)


@contextmanager
def _bar(ctx: Context, label: str) -> Iterator[Progress]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # The runtime decided stderr is a terminal (tests hand it a buffer and say so).
    # The run's environment and terminal size, not rich's own look at os.environ.
    console = Console(file=ctx.runtime.stderr, force_terminal=True, no_color=bool(ctx.runtime.environ.get("NO_COLOR")),
                      width=ctx.runtime.columns, _environ={})
    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed · {task.fields[rate]}/s"), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(label, total=None, failed=0, rate="0")

        def update(*, done: int, state: str = "", **fields: Any) -> None:
            bar.update(task, completed=done, total=fields.get("total"), failed=fields.get("failed", 0),
                       rate=f"{fields.get('rate_per_s', 0):.0f}")

        yield update


@contextmanager
def _status_line(ctx: Context, label: str) -> Iterator[Progress]:
    """One status line, rewritten on every poll; the last one stays. It is cut to the terminal's width: a
    line the terminal wrapped would not be rewritten in place."""
    from housejobs.redact import cut

    stream = ctx.runtime.stderr
    start = ctx.clock.monotonic()
    shown = False

    def update(*, done: int, state: str = "", **fields: Any) -> None:
        nonlocal shown
        elapsed = ctx.clock.monotonic() - start
        line = (f"{label}: {state} · {fields.get('running', 0)} running · {done}/{fields.get('tasks', 0)} "
                f"succeeded · {fields.get('failed', 0)} failed · {fields.get('cancelled', 0)} cancelled · "
                f"{elapsed:.0f} s")
        # The execution's log lines (`run` on a terminal) go above the status line, which is drawn again.
        for log_line in fields.get("lines") or ():
            stream.write("\r\x1b[2K" + line_text(log_line) + "\n")
        stream.write("\r\x1b[2K" + cut(line, max(1, ctx.runtime.columns - 1)))
        stream.flush()
        shown = True

    try:
        yield update
    finally:
        if shown:
            stream.write("\n")
            stream.flush()
