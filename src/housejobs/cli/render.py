"""One renderer for every result: a readable summary on a terminal, one JSON document with --json."""

from __future__ import annotations

import json
from typing import Any, TextIO

from housejobs.redact import redact
from housejobs.results import Checklist, JobResult, Outcome, Table, View

_COLOURS = {Outcome.APPLIED: "32", Outcome.DUPLICATE: "36", Outcome.SKIPPED: "36", Outcome.DRY_RUN: "33",
            Outcome.REFUSED: "31", Outcome.PARTIAL: "33", Outcome.FAILED: "31", Outcome.INTERRUPTED: "33"}


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


def view_lines(view: View) -> list[str]:
    """A view as plain text lines (the terminal renderer draws the same data with rich)."""
    out = [view.title] if view.title else []
    if isinstance(view, Table):
        cells = [view.columns, *view.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(view.columns))]
        out += ["  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in cells]
    elif isinstance(view, Checklist):
        out += [f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in view.checks]
    else:
        out += list(view.lines)
    return out


def render(result: JobResult, meta: dict[str, Any], *, stream: TextIO, as_json: bool, colour: bool) -> None:
    if as_json:
        stream.write(redact(json.dumps(document(result, meta), default=str)) + "\n")
        stream.flush()
        return
    outcome = result.outcome.value
    if colour:
        outcome = f"\x1b[{_COLOURS[result.outcome]}m{outcome}\x1b[0m"
    if result.message:
        outcome += f" ({result.message})"
    calls = meta.get("calls", 0)
    parts = [str(meta["job"]), f"target: {meta['target']}", f"outcome: {outcome}"]
    if calls:
        parts.append(f"{calls} call{'s' if calls != 1 else ''}")
        if meta.get("attempts", 0) > calls:
            parts.append(f"{meta['attempts']} attempts")
    parts.append(f"{meta['duration_ms']} ms")
    lines = [" · ".join(parts)]
    if result.counts:
        lines.append("  " + "  ".join(f"{k}={v}" for k, v in result.counts.items()))
    # A command's own report (create-all-jobs' plan), already formatted, one string per line.
    lines += [str(line) for line in result.details.get("lines") or []]
    for view in result.views:
        lines += view_lines(view)
    for call in result.planned:
        key = f"  Idempotency-Key: {call.idempotency_key}" if call.idempotency_key else ""
        body = f"  {json.dumps(call.body)}" if call.body else ""
        lines.append(f"  would {call.method} {call.path}{body}{key}")
    for failure in result.failures[:20]:
        lines.append(f"  failed: {failure.get('org') or failure.get('unit', '?')}: {failure.get('reason', '')}")
    if len(result.failures) > 20:
        lines.append(f"  … and {len(result.failures) - 20} more failures (see --json)")
    stream.write(redact("\n".join(lines)) + "\n")
    stream.flush()
