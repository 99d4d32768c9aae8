"""Results as plain text: the summary line, counts, views, planned calls and failures, and the JSON
documents. What goes to a pipe, a file or Cloud Logging; the terminal draws the same parts with rich."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from housejobs.errors import one_line
from housejobs.results import Checklist, JobResult, Outcome, Run, Table, View

# The outcome's colour on a terminal (rich style names).
COLOURS = {Outcome.APPLIED: "green", Outcome.DUPLICATE: "cyan", Outcome.SKIPPED: "cyan", Outcome.DRY_RUN: "yellow",
           Outcome.REFUSED: "red", Outcome.PARTIAL: "yellow", Outcome.FAILED: "red", Outcome.INTERRUPTED: "yellow",
           Outcome.STARTED: "cyan", Outcome.UNCONFIRMED: "yellow"}


def document(result: JobResult, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "outcome": result.outcome.value,
        "exit_code": result.exit_code,
        "message": result.message,
        "counts": result.counts,
        "details": result.details,
        "planned": [p.as_dict() for p in result.planned],
        "failures": result.failures,
    }


def report_text(run: Run) -> str:
    if run.as_json:
        return json.dumps(run.result.document, default=str)
    return "\n".join(line for view in run.result.views for line in view_lines(view))


def summary_parts(run: Run) -> tuple[list[str], list[str]]:
    """The summary line around its outcome: (the parts before it, the parts after it)."""
    meta = run.meta
    calls = meta.get("calls", 0)
    after = []
    if calls:
        after.append(f"{calls} call{'s' if calls != 1 else ''}")
        if meta.get("attempts", 0) > calls:
            after.append(f"{meta['attempts']} attempts")
    after.append(f"{meta['duration_ms']} ms")
    return [str(meta["job"]), f"target: {meta['target']}"], after


def run_lines(run: Run) -> list[str]:
    result = run.result
    if run.as_json:
        return [json.dumps(document(result, run.meta), default=str)]
    before, after = summary_parts(run)
    outcome = result.outcome.value + (f" ({result.message})" if result.message else "")
    views = [line for view in result.views for line in view_lines(view)]
    return [" · ".join([*before, f"outcome: {outcome}", *after]), *head_lines(result), *views,
            *tail_lines(result)]


def head_lines(result: JobResult) -> list[str]:
    """What follows the summary line, before the views: the counts."""
    if not result.counts:
        return []
    return ["  " + "  ".join(f"{k}={v}" for k, v in result.counts.items())]


def tail_lines(result: JobResult) -> list[str]:
    """After the views: the calls a dry run would make, and the failures."""
    lines = []
    for call in result.planned:
        key = f"  Idempotency-Key: {call.idempotency_key}" if call.idempotency_key else ""
        body = f"  {json.dumps(call.body)}" if call.body else ""
        lines.append(f"  would {call.method} {call.path}{body}{key}")
    for failure in result.failures[:20]:
        lines.append(f"  failed: {failure.get('org') or failure.get('unit', '?')}: {failure.get('reason', '')}")
    if len(result.failures) > 20:
        lines.append(f"  … and {len(result.failures) - 20} more failures (see --json)")
    return lines


def view_lines(view: View) -> list[str]:
    """A view as plain text lines."""
    out = [view.title] if view.title else []
    if isinstance(view, Table):
        widths = column_widths(view.columns, view.rows, len)
        out += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in [view.columns, *view.rows]]
    elif isinstance(view, Checklist):
        out += [c.line() for c in view.checks]
    else:
        out += list(view.lines)
    return out


def column_widths(columns: Sequence[str], rows: Iterable[Sequence[str]], measure: Callable[[str], int]) -> list[int]:
    """Each column as wide as its widest cell, but a note's last cell (a row shorter than the columns) runs on
    over the columns it lacks and widens none."""
    widths = [measure(c) for c in columns]
    for row in rows:
        for i, cell in enumerate(row if len(row) == len(columns) else row[:-1]):
            widths[i] = max(widths[i], measure(cell))
    return widths


def job_word(argv: list[str]) -> str:
    """The job a command line names: its first word that is not an option, cut the masking way (it may be
    anything typed, a key pasted in the wrong place)."""
    return one_line(next((a for a in argv if not a.startswith("-")), "housejobs"), 64)
