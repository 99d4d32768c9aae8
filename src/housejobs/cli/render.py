"""The one renderer: every run's result on stdout, always redacted.

A job's run: a summary line (job · target · outcome · calls · duration), its counts, its views, the calls a
dry run would make and its failures; or with --json one document (meta, outcome, exit code, message,
counts, details, planned, failures). A report (list-jobs, config show, doctor): its view, or with --json its
own document; a report refused before it could read anything: one `error:` line on stderr.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from housejobs.redact import redact
from housejobs.results import Checklist, JobResult, Outcome, Run, Table, View
from housejobs.runtime import Runtime

_COLOURS = {Outcome.APPLIED: "32", Outcome.DUPLICATE: "36", Outcome.SKIPPED: "36", Outcome.DRY_RUN: "33",
            Outcome.REFUSED: "31", Outcome.PARTIAL: "33", Outcome.FAILED: "31", Outcome.INTERRUPTED: "33"}


def render(run: Run, rt: Runtime) -> None:
    with contextlib.suppress(BrokenPipeError):
        if run.report and run.result.document is None:
            # A report that could not read what it reports (an unknown env, a broken catalog): one line.
            rt.stderr.write(redact(f"error: {run.result.message}") + "\n")
            rt.stderr.flush()
            return
        text = _report(run) if run.report else _run(run, colour=bool(rt.stdout_tty))
        rt.stdout.write(redact(text) + "\n")
        rt.stdout.flush()


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


def _report(run: Run) -> str:
    if run.as_json:
        return json.dumps(run.result.document, default=str)
    return "\n".join(line for view in run.result.views for line in view_lines(view))


def _run(run: Run, *, colour: bool) -> str:
    result, meta = run.result, run.meta
    if run.as_json:
        return json.dumps(document(result, meta), default=str)
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
    # A command's own report lines (create-all-jobs' plan, history's grid), one string per line.
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
    return "\n".join(lines)


def view_lines(view: View) -> list[str]:
    """A view as plain text lines."""
    out = [view.title] if view.title else []
    if isinstance(view, Table):
        cells = [view.columns, *view.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(view.columns))]
        out += ["  ".join(c.ljust(widths[i]) for i, c in enumerate(row)).rstrip() for row in cells]
    elif isinstance(view, Checklist):
        out += [c.line() for c in view.checks]
    else:
        out += list(view.lines)
    return out



