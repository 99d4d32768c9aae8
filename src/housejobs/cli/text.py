"""Results as plain text: the summary line, counts, views, planned calls and failures, and the JSON
documents. What goes to a pipe, a file or Cloud Logging; the terminal draws the same parts with rich
(cli/terminal.py), from the same lines: this is the one place cells are padded into columns.

Part of the one renderer, with cli/render.py (which picks plain text or the terminal), cli/terminal.py
and cli/palette.py (how each state looks)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from housejobs.cli.palette import CHECKS, NOTHING, SLOTS, slot_look
from housejobs.errors import one_line
from housejobs.redact import printable
from housejobs.results import Check, Checklist, Grid, JobResult, Run, Table, View


def document(result: JobResult, meta: dict[str, Any]) -> dict[str, Any]:
    return {
        **meta,
        "outcome": result.outcome.value,
        "exit_code": result.exit_code,
        "message": result.message,
        "hint": result.hint,
        "counts": result.counts,
        "details": result.details,
        "planned": [p.as_dict() for p in result.planned],
        "failures": result.failures,
    }


def report_text(run: Run) -> str:
    if run.as_json:
        return json.dumps(run.result.document, default=str)
    return "\n".join(line for view in run.result.views for line in view_lines(view))


@dataclass(frozen=True)
class Summary:
    """What ends a job's run on stdout: `job · target · outcome · calls · duration`, then its notes.

    The message rides in the outcome's part, `outcome: applied (for 2026-11-24)`, when it is plain words,
    the line still fits and there is no fix to give. Otherwise it is the first note, a line of its own
    (never a parenthesis inside a parenthesis), and the fix is the next: `hint: pass --yes …`. So a
    refusal reads as one sentence saying what is wrong, then the fix on its own line."""

    parts: tuple[str, ...]
    outcome: int  # the index of the outcome's part (a terminal colours its word)
    notes: tuple[str, ...]

    def lines(self) -> list[str]:
        """Unwrapped: what a pipe, a file or Cloud Logging gets."""
        return [SEPARATOR.join(self.parts), *(NOTE_INDENT + note for note in self.notes)]


SEPARATOR = " · "
NOTE_INDENT = "  "


def summary(run: Run, fits: Callable[[str], bool] = lambda line: True) -> Summary:
    """The summary of `run`; `fits` says whether a line fits the terminal (off one, every line does)."""
    meta, result = run.meta, run.result
    calls = meta.get("calls", 0)
    after = []
    if calls:
        after.append(f"{calls} call{'s' if calls != 1 else ''}")
        if meta.get("attempts", 0) > calls:
            after.append(f"{meta['attempts']} attempts")
    after.append(f"{meta['duration_ms']} ms")
    before = [str(meta["job"]), f"target: {meta['target']}"]
    outcome = f"outcome: {result.outcome.value}"
    message = " ".join(result.message.split())
    notes = [f"hint: {' '.join(result.hint.split())}"] if result.hint else []
    if message:
        inline = (*before, f"{outcome} ({message})", *after)
        if not notes and not any(c in message for c in "()") and fits(SEPARATOR.join(inline)):
            return Summary(inline, len(before), tuple(notes))
        notes.insert(0, message)
    return Summary((*before, outcome, *after), len(before), tuple(notes))


def run_lines(run: Run) -> list[str]:
    result = run.result
    if run.as_json:
        return [json.dumps(document(result, run.meta), default=str)]
    views = [line for view in result.views for line in view_lines(view)]
    return [*summary(run).lines(), *head_lines(result), *views, *tail_lines(result)]


def refusal_lines(message: str, hint: str | None, width: int | None = None) -> list[str]:
    """An error outside any run (a usage error, a report that could not read what it reports): the error,
    then its fix on a line of its own; on a terminal (`width`) each wrapped under its own first word."""
    # The message may quote a server or an argument: shown, never obeyed by the terminal (redact.printable).
    lines = [printable(one_line(f"error: {message}", 1000)),
             *([printable(one_line(f"hint: {hint}", 1000))] if hint else [])]
    if width is None:
        return lines
    return [out for line in lines for out in wrap(line, width, len, hang=" " * (line.index(":") + 2))]


# --- fitting lines to a terminal's width -----------------------------------------------------------------
def flow(parts: Sequence[str], width: int, measure: Callable[[str], int]) -> list[str]:
    """Parts joined by ` · ` in lines of at most `width` cells, broken between parts; a part too wide for a
    line of its own is broken between its words (`wrap`). Continuation lines are indented."""
    lines: list[str] = []
    line = ""
    for part in parts:
        joined = f"{line}{SEPARATOR}{part}" if line else part
        if measure(joined) <= width:
            line = joined
        elif line and measure(NOTE_INDENT + part) <= width:
            lines.append(line)
            line = NOTE_INDENT + part
        else:
            wrapped = wrap(joined, width, measure, hang=NOTE_INDENT)
            lines += wrapped[:-1]
            line = wrapped[-1]
    return [*lines, line] if line else lines


def wrap(text: str, width: int, measure: Callable[[str], int], *, indent: str = "",
         hang: str | None = None) -> list[str]:
    """`text` in lines of at most `width` cells, broken between words (the spaces inside a line are kept, so
    columns stay aligned): the first line starts with `indent`, the others with `hang` (default: `indent`).
    A word too long for a line is cut across lines, unless it is a URL: a link stays whole (and
    clickable), however wide."""
    hang = indent if hang is None else hang
    lines: list[str] = []
    line, bare = indent, True  # bare: nothing but the indent on this line yet
    for gap, word in WORDS.findall(text):
        candidate = line + word if bare else line + gap + word
        if measure(candidate) <= width:
            line, bare = candidate, False
            continue
        if not bare:
            lines.append(line)
            # A word that fits the width but not after the whole indent is indented less, not cut.
            line = hang[:max(0, width - measure(word))] if measure(word) <= width else hang
        room = max(1, width - measure(line))
        while measure(word) > room and "://" not in word:
            head = _fit(word, room, measure)
            lines.append(line + head)
            word = word[len(head):]
            line = hang
            room = max(1, width - measure(line))
        line, bare = line + word, False
    if not bare or not lines:
        lines.append(line)
    return lines


WORDS = re.compile(r"(\s*)(\S+)")


def _fit(word: str, room: int, measure: Callable[[str], int]) -> str:
    """The longest head of `word` that fits in `room` cells (at least one character)."""
    end = 1
    while end < len(word) and measure(word[:end + 1]) <= room:
        end += 1
    return word[:end]


def fit_widths(natural: Sequence[int], floors: Sequence[int], room: int) -> list[int]:
    """Column widths that add up to at most `room` (when the floors do): the widest column above its floor
    gives way first, one cell at a time."""
    widths = list(natural)
    excess = sum(widths) - room
    while excess > 0:
        above = [i for i in range(len(widths)) if widths[i] > floors[i]]
        if not above:
            break
        widths[max(above, key=lambda i: widths[i])] -= 1
        excess -= 1
    return widths


SHORT = 16  # a column this narrow (a name, a kind, a state) is never cut, while a wider one can give way


def column_floors(columns: Sequence[str], rows: Sequence[Sequence[str]], measure: Callable[[str], int],
                  room: int) -> list[int] | None:
    """How narrow each column of a table may go in `room` cells: as wide as its longest word, so its cells
    wrap between words. When those do not fit side by side, the column with the most to give cuts its long
    words across lines, down to a short column's width but never below a URL's: None when even that does
    not fit (the caller prints the table's plain lines, each link whole)."""
    natural = column_widths(columns, rows, measure)
    body = [row if len(row) == len(columns) else row[:-1] for row in rows]  # a note widens no column
    hard, floors, lengths = [], [], []
    for i, column in enumerate(columns):
        words = {measure(word): word for row in body if i < len(row) for word in row[i].split()}
        link = max((n for n, w in words.items() if "://" in w), default=0)
        hard.append(max(measure(column), min(natural[i], SHORT), link))
        lengths.append(sorted(words))
        floors.append(max(hard[i], *lengths[i]) if words else hard[i])
    excess = sum(floors) - room
    while excess > 0:
        i = max(range(len(floors)), key=lambda i: floors[i] - hard[i])
        if floors[i] <= hard[i]:
            return None
        # Its words longer than it can keep are cut; the next longest it keeps whole.
        floors[i] = max([hard[i], *(n for n in lengths[i] if n <= floors[i] - excess)])
        excess = sum(floors) - room
    return floors


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


# --- views as plain text --------------------------------------------------------------------------------
def view_lines(view: View, columns: int | None = None) -> list[str]:
    """A view as plain text lines; a grid in blocks that fit `columns` (None: a month a block)."""
    if isinstance(view, Grid):
        return [plain(line) for line in grid_lines(view, columns)] + [LEGEND_GAP.join(map(plain, legend()))]
    out = [view.title] if view.title else []
    if isinstance(view, Table):
        out += table_lines(view)
    elif isinstance(view, Checklist):
        out += [check_line(c) for c in view.checks]
    else:
        out += list(view.lines)
    return out


def table_lines(table: Table) -> list[str]:
    """Its header (if it has one) and its rows, each column padded to its width (Table.widths)."""
    natural = column_widths(table.columns if table.header else ("",) * len(table.columns), table.rows, len)
    widths = [table.widths[i] if i < len(table.widths) and table.widths[i] else w for i, w in enumerate(natural)]
    rows = [table.columns, *table.rows] if table.header else table.rows
    return [(table.indent + table.gap.join(pad(c, widths[i]) for i, c in enumerate(row))).rstrip() for row in rows]


def pad(text: str, width: int) -> str:
    """`text` in a column `width` characters wide: what a longer one pushes on, a shorter one is filled to."""
    return text.ljust(width)


def column_widths(columns: Sequence[str], rows: Iterable[Sequence[str]], measure: Callable[[str], int]) -> list[int]:
    """Each column as wide as its widest cell, but a note's last cell (a row shorter than the columns) runs on
    over the columns it lacks and widens none."""
    widths = [measure(c) for c in columns]
    for row in rows:
        for i, cell in enumerate(row if len(row) == len(columns) else row[:-1]):
            widths[i] = max(widths[i], measure(cell))
    return widths


def check_line(check: Check) -> str:
    return f"{CHECKS[check.ok][0]} {check.name}: {check.detail}"


# A grid line in parts, each with its style on a terminal (cli/palette.py; "": none). Plain text joins them.
Segment = tuple[str, str]
CELL = 3  # a column of the grid: `26 ` over `✓  `
LABELS = 8  # the row labels' column is at least this wide, then 2 more
LEGEND_GAP = "  "


def plain(segments: list[Segment]) -> str:
    return "".join(text for text, _ in segments)


def grid_lines(grid: Grid, columns: int | None) -> list[list[Segment]]:
    """The grid in blocks of its columns, each under its groups (months, named where a block starts and
    where they change) and its labels (days). On a terminal (`columns` wide): as many columns a block as
    fit beside the row labels and the notes, a week at the least; else `grid.block` a block."""
    label = max([len(r.label) for r in grid.rows] + [LABELS]) + 2
    notes = max((len(f"  ({r.note})") for r in grid.rows if r.note), default=0)
    per_block = grid.block if columns is None else max(7, min(grid.block, (columns - label - notes) // CELL))
    count = len(grid.columns)
    last = (count - 1) // per_block * per_block
    lines: list[list[Segment]] = []
    for begin in range(0, count, per_block):
        span = range(begin, min(begin + per_block, count))
        heads = [" "] * (len(span) * CELL)
        for i, c in enumerate(span):
            if i == 0 or grid.groups[c] != grid.groups[c - 1]:
                heads[i * CELL:i * CELL + len(grid.groups[c])] = grid.groups[c]
        lines.append([(pad("", label) + "".join(heads).rstrip(), "")])
        lines.append([(pad("", label) + "".join(pad(grid.columns[c], CELL) for c in span).rstrip(), "")])
        for row in grid.rows:
            line: list[Segment] = [(pad(row.label, label), "")]
            for i, c in enumerate(span):
                look = slot_look(row.cells[c])
                line += [*([(pad("", CELL - 1), "")] if i else []), (look.glyph, look.style)]
            if row.note and begin == last:  # once, beside the last block: it says what is true now
                line.append((f"  ({row.note})", ""))
            lines.append(line)
    return lines


def legend() -> list[list[Segment]]:
    """What each glyph means, in the states' one order, then an empty cell."""
    return [[(look.glyph, look.style), (f" {look.words}", "")] for look in (*SLOTS.values(), NOTHING)]


def job_word(argv: list[str]) -> str:
    """The job a command line names: its first word that is not an option, cut the masking way (it may be
    anything typed, a key pasted in the wrong place)."""
    return one_line(next((a for a in argv if not a.startswith("-")), "housejobs"), 64)
