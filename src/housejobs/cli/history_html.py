"""`history --html`: the same history as one self-contained page, for a browser or a CI artifact.

Inline CSS and inline SVG only: no script, no font, no stylesheet or image from anywhere, so the file
opens the same offline, in a mail attachment, or from a build's artifacts. The heatmap has one cell
per row and UTC day, coloured and marked with the state's glyph (it reads without colour too); hovering
a cell shows its slots (scheduled time in UTC, and in the trigger's zone when that differs, period,
state, execution, duration, log link) in the SVG <title> tooltip, and a cell with an execution links to
its logs. Every cell carries data-row, data-day and data-state, which tests read back from the browser's
DOM. A long window wraps: one heatmap per DAYS_PER_BLOCK days, as the text grid does, each with its row
labels, so the page stays about 1,000 px wide and no label scrolls away from its cells.

Pure: a History in, the page's text out.
"""

from __future__ import annotations

from datetime import UTC, date
from html import escape

from housejobs.cli.history_render import (
    DAYS_PER_BLOCK,
    PROBLEMS,
    day_cells,
    days_of,
    row_note,
    state_of,
    when,
    worst,
)
from housejobs.cli.palette import NOTHING, SLOTS, slot_look
from housejobs.gcp.records import MISSED, SLOT_STATES, SUCCEEDED, ExecutionRecord
from housejobs.jobs.slots import TOLERANCE_S, History, ManualRun, Slot

CELL, GAP, LABEL_W, HEAD_H = 22, 4, 250, 44

_CSS = """
body { font: 14px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1f2328;
       margin: 24px; background: #fff; }
h1 { font-size: 20px; margin: 0 0 4px; } h1 span { color: #59636e; font-weight: normal; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.summary { margin: 0 0 12px; color: #333; }
.legend span { display: inline-block; margin-right: 14px; }
.legend i { display: inline-block; width: 16px; height: 16px; border-radius: 3px; vertical-align: -3px;
            margin-right: 4px; color: #fff; font-style: normal; font-size: 12px; text-align: center;
            line-height: 16px; }
svg.heatmap { display: block; margin: 8px 0; }
svg text { font-family: inherit; font-size: 12px; fill: #1f2328; }
svg text.glyph { fill: #fff; font-size: 13px; text-anchor: middle; dominant-baseline: central;
                 pointer-events: none; }
svg text.day { fill: #59636e; text-anchor: middle; font-size: 11px; }
svg text.month { font-weight: 600; }
.cell rect { stroke: transparent; stroke-width: 2; }
.cell:hover rect { stroke: #1f2328; }
table { border-collapse: collapse; font-size: 13px; }
th, td { text-align: left; padding: 4px 10px 4px 0; border-bottom: 1px solid #d8dee4; vertical-align: top; }
td.state { font-weight: 600; white-space: nowrap; }
.muted { color: #59636e; }
"""
# A row's note says why its slots are missed (a paused trigger): in missed's colour.
_NOTE_CSS = f"svg tspan.note {{ fill: {SLOTS[MISSED].fill}; font-size: 11px; }}\n"


def render_html(history: History, env: str) -> str:
    days = days_of(history)
    counts = history.counts()
    states = ", ".join(f"{counts[s]} {s}" for s in SLOT_STATES if counts[s]) or "none"
    title = f"housejobs history · {env} · {days[0]} → {days[-1]}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}{_NOTE_CSS}</style></head><body>",
        f"<h1>housejobs history <span>{escape(env)}</span></h1>",
        f'<p class="summary">{len(days)} UTC days, {days[0]} → {days[-1]} (to '
        f'{history.now.astimezone(UTC).strftime("%H:%M")} UTC) · {counts["slots"]} scheduled slots: '
        f'{escape(states)} · {counts["manual_runs"]} manual runs</p>',
        _legend(),
        *(_heatmap(history, days[i:i + DAYS_PER_BLOCK], notes=i + DAYS_PER_BLOCK >= len(days))
          for i in range(0, len(days), DAYS_PER_BLOCK)),
        _problems(history),
        _runs(history),
        f'<p class="muted">A slot is missed when no execution started between 60 s before its scheduled time '
        f"and its scheduled time + the trigger's attempt deadline × (retries + 1) + Scheduler's backoff + "
        f"{TOLERANCE_S} s. Hover a cell for its executions; click one to open its logs.</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _legend() -> str:
    """Each state's glyph on its fill, and its words, in the states' one order (cli/palette.py)."""
    items = [f'<span><i style="background:{look.fill}">{look.glyph}</i>{escape(look.words)}</span>'
             for look in SLOTS.values()]
    items.append(f'<span><i style="background:{NOTHING.fill};color:#59636e">{NOTHING.glyph}</i>'
                 f"{escape(NOTHING.words)}</span>")
    return '<p class="legend">' + "".join(items) + "</p>"


def _heatmap(history: History, days: list[date], *, notes: bool) -> str:
    """One block of the heatmap; `notes`: the block with today, which carries the rows' notes (once)."""
    cells = day_cells(history)
    step = CELL + GAP
    width = LABEL_W + len(days) * step + GAP
    height = HEAD_H + len(history.rows) * step + GAP
    out = [f'<svg class="heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="jobs by UTC day">']
    for i, day in enumerate(days):
        x = LABEL_W + i * step + CELL / 2
        if i == 0 or day.day == 1:
            out.append(f'<text class="month" x="{LABEL_W + i * step}" y="14">{day.strftime("%b %Y")}</text>')
        out.append(f'<text class="day" x="{x:g}" y="34">{day.day}</text>')
    for r, row in enumerate(history.rows):
        y = HEAD_H + r * step
        note = row_note(row) if notes else ""
        label = escape(row.key) + (f' <tspan class="note">({escape(note)})</tspan>' if note else "")
        out.append(f'<text x="0" y="{y + CELL / 2 + 4:g}">{label}</text>')
        for i, day in enumerate(days):
            items = cells[row.key].get(day, [])
            out.append(_cell(row.key, day, items, LABEL_W + i * step, y))
    out.append("</svg>")
    return "\n".join(out)


def _cell(row: str, day: date, items: list[Slot | ManualRun], x: int, y: int) -> str:
    state = worst(state_of(item) for item in items)
    look = slot_look(state)
    tip = "\n".join(_tip(item) for item in items) or f"{row} · {day} · nothing scheduled"
    body = (f'<title>{escape(tip)}</title><rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="4" '
            f'fill="{look.fill}"/>')
    if state:
        body += f'<text class="glyph" x="{x + CELL / 2:g}" y="{y + CELL / 2:g}">{look.glyph}</text>'
    g = (f'<g class="cell" data-row="{escape(row)}" data-day="{day}" data-state="{state or "none"}" '
         f'data-count="{len(items)}">{body}</g>')
    link = next((e.log_uri for e in (_execution(i) for i in items) if e and _is_web(e.log_uri)), None)
    return f'<a href="{escape(link)}">{g}</a>' if link else g


def _execution(item: Slot | ManualRun) -> ExecutionRecord | None:
    return item.execution


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://"))


def _tip(item: Slot | ManualRun) -> str:
    if isinstance(item, Slot):
        head = f"{item.row} · scheduled {when(item)} · period {item.period or '—'} · {item.label}"
        extra = [_execution_tip(item.execution, item)] if item.execution else []
        extra += [f"also: {_execution_tip(e, None)}" for e in item.others]
        return "\n".join([head, *extra])
    return f"{item.row} · manual run · period {item.period or '—'} · {_execution_tip(item.execution, None)}"


def _execution_tip(e: ExecutionRecord, slot: Slot | None) -> str:
    parts = [f"{e.id} {e.state}" + (f" ({e.outcome})" if e.outcome else ""), f"{e.succeeded}/{e.task_count} tasks"]
    if e.at is not None:
        parts.append("created " + e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    if slot is not None and slot.delay_s is not None and slot.delay_s >= 60:
        parts.append(f"{slot.delay_s / 60:.0f} min late")
    if e.duration_s is not None:
        parts.append(f"ran {e.duration_s:.1f} s")
    if e.failure and e.state != SUCCEEDED:
        parts.append(e.failure)
    if e.log_uri:
        parts.append(f"logs: {e.log_uri}")
    return " · ".join(parts)


def _problems(history: History) -> str:
    bad = history.with_state(PROBLEMS)
    rows = []
    for slot in bad:
        e = slot.execution
        execution = "—"
        if e is not None:
            execution = escape(f"{e.id} · {e.succeeded}/{e.task_count} tasks"
                               + (f" · {e.duration_s:.1f} s" if e.duration_s is not None else ""))
            if _is_web(e.log_uri):
                execution += f' · <a href="{escape(e.log_uri)}">logs</a>'
        look = SLOTS[slot.state]
        rows.append(f'<tr data-state="{slot.state}"><td>{escape(when(slot))}</td><td>{escape(slot.row)}</td>'
                    f"<td>{escape(slot.period or '—')}</td><td class=\"state\" style=\"color:{look.fill}\">"
                    f"{look.glyph} {escape(slot.label)}</td><td>{execution}</td></tr>")
    if not rows:
        return '<h2>Missed, failed and cancelled slots</h2><p class="muted">None in this window.</p>'
    return (f'<h2>Missed, failed and cancelled slots ({len(bad)})</h2><table class="problems"><thead><tr>'
            "<th>scheduled</th><th>job</th><th>period</th><th>state</th><th>execution</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")


def _runs(history: History) -> str:
    if not history.manual_runs:
        return ""
    rows = []
    for run in history.manual_runs:
        e = run.execution
        at = e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if e.at else "—"
        link = f' · <a href="{escape(e.log_uri)}">logs</a>' if _is_web(e.log_uri) else ""
        args = " ".join(e.args or ())
        state = escape(e.state) + (' <span class="muted">(dry run)</span>' if run.dry_run else "")
        rows.append(f'<tr data-state="{escape(e.state)}" data-dry-run="{str(run.dry_run).lower()}"><td>{at}</td>'
                    f"<td>{escape(run.row)}</td><td>{escape(run.period or '—')}</td><td class=\"state\">{state}</td>"
                    f"<td>{escape(e.id)}{link}</td><td><code>{escape(args)}</code></td></tr>")
    return (f"<h2>Manual runs ({len(history.manual_runs)})</h2><table class=\"runs\"><thead><tr><th>created</th>"
            "<th>job</th><th>period</th><th>state</th><th>execution</th><th>args</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")
