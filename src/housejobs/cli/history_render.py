"""`history` as views: a grid of jobs x UTC days, then the slots that went wrong and the manual runs.

Pure: a History in, views out (results.Grid, Table, Lines), which the one renderer draws: each state as
its glyph, and on a terminal its colour (cli/palette.py), so the grid reads the same without colour. A
cell shows the worst state of its day (a trigger may fire more than once a day); for a manual job, its
runs that day (not its dry runs: they changed nothing). The columns are UTC dates, so every time printed
says UTC first; a trigger in another zone adds its own wall-clock time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, timedelta
from typing import Any

from housejobs.cli.palette import UNCHANGED, WORST_FIRST
from housejobs.gcp.records import CANCELLED, FAILED, MISSED, PAUSED, SUCCEEDED
from housejobs.jobs.slots import History, ManualRun, Row, Slot, scheduled_text
from housejobs.results import Grid, GridRow, Lines, Table, View

# A succeeded execution whose job said it changed nothing (duplicate, skipped, dry-run) is drawn apart from
# one that applied (or whose summary was not read: Cloud Run's word only).
NO_CHANGE = frozenset({"duplicate", "skipped", "dry-run"})
PROBLEMS = (MISSED, FAILED, CANCELLED)
DAYS_PER_BLOCK = 31


def days_of(history: History) -> list[date]:
    first = history.start.astimezone(UTC).date()
    last = history.now.astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def worst(states: Iterable[str]) -> str | None:
    """The state a day's cell shows (cli/palette.py: the worst first)."""
    present = set(states)
    return next((s for s in WORST_FIRST if s in present), None)


def day_cells(history: History) -> dict[str, dict[date, list[Slot | ManualRun]]]:
    """row key → UTC date → the slots (scheduled rows) or runs (manual jobs) of that day."""
    cells: dict[str, dict[date, list[Slot | ManualRun]]] = {row.key: {} for row in history.rows}
    manual = {row.key for row in history.rows if row.trigger is None}
    for slot in history.slots:
        cells[slot.row].setdefault(slot.scheduled.astimezone(UTC).date(), []).append(slot)
    for run in history.manual_runs:
        at = run.execution.at
        if run.row in manual and at is not None and not run.dry_run:
            cells[run.row].setdefault(at.astimezone(UTC).date(), []).append(run)
    return cells


def state_of(item: Slot | ManualRun) -> str:
    """What a cell shows of a slot or run: its state, `unchanged` for a success the job says changed nothing."""
    state = item.state if isinstance(item, Slot) else item.execution.state
    e = item.execution
    if state == SUCCEEDED and e is not None and e.outcome in NO_CHANGE:
        return UNCHANGED
    return state


def history_views(history: History, env: str) -> list[View]:
    """The history as views: what the window is, the grid, the slots that went wrong, the manual runs."""
    days = days_of(history)
    head = (f"{env} · {days[0]} → {days[-1]} ({len(days)} days, UTC dates) · a slot is missed when no "
            "execution started by its scheduled time + attempt deadlines + retries + tolerance")
    runs = [manual_runs(history)] if history.manual_runs else []
    return [Lines((head,)), grid(history, days), problems(history, env), *runs]


def grid(history: History, days: list[date]) -> Grid:
    cells = day_cells(history)
    rows = tuple(GridRow(row.key, tuple(worst(state_of(item) for item in cells[row.key].get(day, []))
                                        for day in days), row_note(row)) for row in history.rows)
    return Grid(tuple(f"{d.day:02d}" for d in days), tuple(d.strftime("%b") for d in days), rows, DAYS_PER_BLOCK)


def row_note(row: Row) -> str:
    """What a row's label adds: a job or trigger that does not exist, or a trigger paused now."""
    return row.note or ("trigger paused" if row.trigger_state == PAUSED else "")


def when(slot: Slot) -> str:
    return scheduled_text(slot.scheduled, slot.time_zone)


def execution_text(run_state: str, name: str, tasks: tuple[int, int], failure: str, duration: float | None,
                   log_uri: str) -> str:
    parts = [name, f"{tasks[0]}/{tasks[1]} tasks succeeded"]
    if duration is not None:
        parts.append(f"{duration:.1f} s")
    if run_state == SUCCEEDED:
        return " · ".join(parts)  # the logs link is for what went wrong (--json and --html have every one)
    if failure:
        parts.append(failure)
    return " · ".join(parts) + (f" · logs: {log_uri}" if log_uri else "")


def problems(history: History, env: str) -> View:
    bad = history.with_state(PROBLEMS)
    if not bad:
        return Lines(("no missed, failed or cancelled slots",))
    rows: list[tuple[str, ...]] = []
    for slot in bad:
        e = slot.execution
        said = slot.label + ("  " + execution_text(e.state, e.id, (e.succeeded, e.task_count), e.failure,
                                                   e.duration_s, e.log_uri) if e is not None else "")
        rows.append((when(slot), slot.row, f"period {slot.period or '—'}", said))
    days = len(days_of(history))  # the window the hint must look at again to find these slots
    for job, trigger in dict.fromkeys((s.job, s.trigger) for s in bad):
        takes_type = history.backfill.get(job)
        if takes_type is not None:
            kind = f" --type {trigger}" if takes_type else ""
            rows.append((f"backfill: housejobs backfill {job}{kind} --env {env} --missed --days {days}",))
    # `period ` and a day, or a month and spaces: the state starts in one place whatever the periods.
    return Table(("SCHEDULED", "JOB", "PERIOD", "STATE"), tuple(rows), header=False, indent="  ",
                 widths=(0, 0, len("period 2026-11-24"), 0),
                 title=f"missed, failed and cancelled slots ({len(bad)}):")


def manual_runs(history: History) -> View:
    dry = sum(r.dry_run for r in history.manual_runs)
    rows = []
    for run in history.manual_runs:
        e = run.execution
        text = execution_text(e.state, e.id, (e.succeeded, e.task_count), e.failure, e.duration_s, e.log_uri)
        rows.append((e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if e.at else "—", run.row,
                     f"period {run.period}" if run.period else "", f"{e.state} ({e.outcome})" if e.outcome else e.state,
                     ("dry run · " if run.dry_run else "") + text))
    # Fixed columns where the cells vary: created `—` or a UTC minute (and a space more); a period or
    # none; a state, which the job's own outcome makes longer (it runs on past its column).
    return Table(("CREATED", "JOB", "PERIOD", "STATE", "EXECUTION"), tuple(rows), header=False, indent="  ",
                 widths=(len("2026-11-24 10:00 UTC "), 0, len("period 2026-11-24"), len("cancelled"), 0),
                 title=f"manual runs ({len(history.manual_runs)}" + (f", {dry} of them dry runs" if dry else "") + "):")


def backfill_view(details: dict[str, Any]) -> View:
    """A backfill's periods: the plan (what history saw) beside what this run did."""
    rows = []
    for p in details.get("periods") or []:
        done = f"→ {p['result']}"
        if p.get("execution"):
            done += f"  {str(p['execution']).rsplit('/', 1)[-1]}"
        if p.get("reason"):
            done += f"  ({p['reason']})"
        rows.append((p["period"], f"history: {p['history']}", done))
    return Table(("PERIOD", "HISTORY", "RESULT"), tuple(rows), header=False, indent="  ",
                 widths=(len("2026-11-24"), len("history: cancelled"), 0))
