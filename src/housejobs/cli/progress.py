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
from housejobs.redact import printable


def display(ctx: Context, label: str, event: str) -> AbstractContextManager[Progress]:
    if not ctx.runtime.stderr_tty:
        return log_progress(ctx, label, event) if event == PROGRESS else log_status(ctx, label)
    return _bar(ctx, label) if event == PROGRESS else _status_line(ctx, label)


@contextmanager
def _bar(ctx: Context, label: str) -> Iterator[Progress]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from housejobs.cli.render import colour
    from housejobs.cli.terminal import console

    # The runtime decided stderr is a terminal (tests hand it a buffer and say so); its colour follows the
    # renderer's rule, and its size is the run's (not rich's own look at os.environ).
    rt = ctx.runtime
    out = console(rt.stderr, colour=colour(rt, stderr=True), width=rt.columns, live=True)
    # The label is text, never markup or a format string (it may name an org a server listed).
    with Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                  TextColumn("{task.fields[failed]} failed · {task.fields[rate]}/s"), TimeRemainingColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task(printable(label), total=None, failed=0, rate="0")

        def update(*, done: int, state: str = "", **fields: Any) -> None:
            bar.update(task, completed=done, total=fields.get("total"), failed=fields.get("failed", 0),
                       rate=f"{fields.get('rate_per_s', 0):.0f}")

        yield update


@contextmanager
def _status_line(ctx: Context, label: str) -> Iterator[Progress]:
    """One status line, rewritten on every poll; the last one stays. It is cut to the terminal's width: a
    line the terminal wrapped would not be rewritten in place."""
    from housejobs.cli.render import colour
    from housejobs.cli.terminal import console, rewrite
    from housejobs.redact import cut

    rt = ctx.runtime
    out = console(rt.stderr, colour=colour(rt, stderr=True), width=rt.columns, live=True)
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
            rewrite(out, line_text(log_line), end="\n")
        rewrite(out, cut(printable(line), max(1, rt.columns - 1)))
        rt.stderr.flush()
        shown = True

    try:
        yield update
    finally:
        if shown:
            out.print()
            rt.stderr.flush()
