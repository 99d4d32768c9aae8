"""`history` as text: a grid of jobs x UTC days, then the slots that went wrong and the manual runs.

Pure: a History in, lines out. Each state has a glyph and (on a terminal) a colour, so the grid reads
the same without colour. A cell shows the worst state of its day (a trigger may fire more than once a
day); for a manual job, its runs that day (not its dry runs: they changed nothing). The columns are UTC
dates, so every time printed says UTC first; a trigger in another zone adds its own wall-clock time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, timedelta
from typing import Any

from housejobs.gcp.records import CANCELLED, FAILED, PAUSED, RUNNING, SUCCEEDED
from housejobs.jobs.slots import MISSED, PENDING, UPCOMING, History, Row, Run, Slot, scheduled_text

# A succeeded execution whose job said it changed nothing (duplicate, skipped, dry-run) is drawn apart from
# one that applied (or whose summary was not read: Cloud Run's word only).
UNCHANGED = "unchanged"
NO_CHANGE = frozenset({"duplicate", "skipped", "dry-run"})
GLYPHS = {SUCCEEDED: "✓", UNCHANGED: "=", FAILED: "✗", CANCELLED: "⊘", MISSED: "○", RUNNING: "▸", PENDING: "◌",
          UPCOMING: "◇"}
NOTHING = "·"
COLOURS = {SUCCEEDED: "32", UNCHANGED: "2;32", FAILED: "31", CANCELLED: "33", MISSED: "35", RUNNING: "36",
           PENDING: "2", UPCOMING: "34"}
NOTHING_COLOUR = "2"
WORST_FIRST = (MISSED, FAILED, CANCELLED, RUNNING, PENDING, UPCOMING, SUCCEEDED, UNCHANGED)
LEGEND = (SUCCEEDED, UNCHANGED, FAILED, CANCELLED, MISSED, RUNNING, PENDING, UPCOMING)
LEGEND_WORDS = {SUCCEEDED: "succeeded (applied)", UNCHANGED: "succeeded, changed nothing (duplicate, skipped)"}
PROBLEMS = (MISSED, FAILED, CANCELLED)
CELL = 3  # "26 " over "✓  "
DAYS_PER_BLOCK = 31


def days_of(history: History) -> list[date]:
    first = history.start.astimezone(UTC).date()
    last = history.now.astimezone(UTC).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def worst(states: Iterable[str]) -> str | None:
    present = set(states)
    return next((s for s in WORST_FIRST if s in present), None)


def day_cells(history: History) -> dict[str, dict[date, list[Slot | Run]]]:
    """row key → UTC date → the slots (scheduled rows) or runs (manual jobs) of that day."""
    cells: dict[str, dict[date, list[Slot | Run]]] = {row.key: {} for row in history.rows}
    manual = {row.key for row in history.rows if row.trigger is None}
    for slot in history.slots:
        cells[slot.row].setdefault(slot.scheduled.astimezone(UTC).date(), []).append(slot)
    for run in history.runs:
        at = run.execution.at
        if run.row in manual and at is not None and not run.dry_run:
            cells[run.row].setdefault(at.astimezone(UTC).date(), []).append(run)
    return cells


def state_of(item: Slot | Run) -> str:
    """What a cell shows of a slot or run: its state, `unchanged` for a success the job says changed nothing."""
    state = item.state if isinstance(item, Slot) else item.execution.state
    e = item.execution
    if state == SUCCEEDED and e is not None and e.outcome in NO_CHANGE:
        return UNCHANGED
    return state


def _paint(text: str, state: str | None, colour: bool) -> str:
    if not colour:
        return text
    return f"\x1b[{COLOURS.get(state or '', NOTHING_COLOUR)}m{text}\x1b[0m"


def render_text(history: History, env: str, *, colour: bool, columns: int | None = None) -> list[str]:
    """The history as lines; on a terminal `columns` wide, the grid is cut into blocks of days that fit."""
    days = days_of(history)
    lines = [f"{env} · {days[0]} → {days[-1]} ({len(days)} days, UTC dates) · a slot is missed when no "
             "execution started by its scheduled time + attempt deadlines + retries + tolerance"]
    lines += grid_lines(history, days, colour=colour, columns=columns)
    lines += problem_lines(history, env)
    lines += run_lines(history)
    return lines


def grid_lines(history: History, days: list[date], *, colour: bool, columns: int | None = None) -> list[str]:
    cells = day_cells(history)
    width = max([len(r.key) for r in history.rows] + [8]) + 2
    notes = max((len(f"  ({row_note(r)})") for r in history.rows if row_note(r)), default=0)
    # On a terminal: as many days a block as fit beside the labels and the notes (a week at the least).
    per_block = (DAYS_PER_BLOCK if columns is None
                 else max(7, min(DAYS_PER_BLOCK, (columns - width - notes) // CELL)))
    lines: list[str] = []
    last = (len(days) - 1) // per_block * per_block
    for begin in range(0, len(days), per_block):
        block = days[begin:begin + per_block]
        months = [" "] * (len(block) * CELL)
        for i, day in enumerate(block):
            if i == 0 or day.day == 1:
                months[i * CELL:i * CELL + 3] = day.strftime("%b")
        lines.append("".ljust(width) + "".join(months).rstrip())
        lines.append("".ljust(width) + "".join(f"{d.day:02d}".ljust(CELL) for d in block).rstrip())
        for row in history.rows:
            out = []
            for day in block:
                state = worst(state_of(item) for item in cells[row.key].get(day, []))
                glyph = GLYPHS[state] if state else NOTHING
                out.append(_paint(glyph, state, colour) + " " * (CELL - 1))
            note = row_note(row) if begin == last else ""  # once, beside today's block: it says what is now
            lines.append(row.key.ljust(width) + "".join(out).rstrip() + (f"  ({note})" if note else ""))
    legend = "  ".join(f"{_paint(GLYPHS[s], s, colour)} {LEGEND_WORDS.get(s, s)}" for s in LEGEND)
    lines.append(f"{legend}  {NOTHING} nothing scheduled")
    return lines


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


def problem_lines(history: History, env: str) -> list[str]:
    bad = history.with_state(PROBLEMS)
    if not bad:
        return ["no missed, failed or cancelled slots"]
    width, time_width = max(len(s.row) for s in bad), max(len(when(s)) for s in bad)
    lines = [f"missed, failed and cancelled slots ({len(bad)}):"]
    for slot in bad:
        line = f"  {when(slot):<{time_width}}  {slot.row:<{width}}  period {slot.period or '—':<10}  {slot.label}"
        e = slot.execution
        if e is not None:
            line += "  " + execution_text(e.state, e.id, (e.succeeded, e.task_count), e.failure, e.duration_s,
                                          e.log_uri)
        lines.append(line)
    days = len(days_of(history))  # the window the hint must look at again to find these slots
    for job, trigger in dict.fromkeys((s.job, s.trigger) for s in bad):
        takes_type = history.backfill.get(job)
        if takes_type is not None:
            kind = f" --type {trigger}" if takes_type else ""
            lines.append(f"  backfill: housejobs backfill {job}{kind} --env {env} --missed --days {days}")
    return lines


def run_lines(history: History) -> list[str]:
    if not history.runs:
        return []
    width = max(len(r.row) for r in history.runs)
    dry = sum(r.dry_run for r in history.runs)
    lines = [f"manual runs ({len(history.runs)}" + (f", {dry} of them dry runs" if dry else "") + "):"]
    for run in history.runs:
        e = run.execution
        at = e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if e.at else "—"
        period = f"period {run.period}" if run.period else ""
        said = f"{e.state} ({e.outcome})" if e.outcome else e.state
        text = execution_text(e.state, e.id, (e.succeeded, e.task_count), e.failure, e.duration_s, e.log_uri)
        lines.append(f"  {at:<22} {run.row:<{width}}  {period:<17}  {said:<9}  "
                     + ("dry run · " if run.dry_run else "") + text)
    return lines


def backfill_lines(details: dict[str, Any]) -> list[str]:
    """A backfill's periods: the plan (what history saw) beside what this run did."""
    periods = details.get("periods") or []
    lines = []
    for p in periods:
        line = f"  {p['period']:<10}  history: {p['history']:<9}  → {p['result']}"
        if p.get("execution"):
            line += f"  {str(p['execution']).rsplit('/', 1)[-1]}"
        if p.get("reason"):
            line += f"  ({p['reason']})"
        lines.append(line)
    return lines
