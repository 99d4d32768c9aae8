"""The terminal: the same content cli/render.py prints as plain text, drawn with rich.

The outcome in its colour, tables with aligned columns under a rule (one whose words cannot fit side by
side, such as smoke's log links: its plain lines), checklists with a green ✓ or a red ✗.
Everything is redacted before rich sees it, and nothing is read as markup (a message quoting a server's
answer must not turn into styles). Lines that carry their own colour (history's grid) pass through as
ANSI text. Loaded only when stdout is a terminal or FORCE_COLOR asks for colour.
"""

from __future__ import annotations

from typing import TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from housejobs.cli.text import (
    COLOURS,
    NOTE_INDENT,
    Summary,
    column_floors,
    column_widths,
    fit_widths,
    flow,
    head_lines,
    summary,
    tail_lines,
    view_lines,
    wrap,
)
from housejobs.redact import redact
from housejobs.results import Checklist, JobResult, Run, Table, View
from housejobs.runtime import Runtime

UNBOUNDED = 1_000_000  # a width no line reaches: lines kept whole


def console(stream: TextIO, *, colour: bool, width: int) -> Console:
    # Sizes and colours are decided here, not by rich reading os.environ: the run's environment is the
    # runtime's (Runtime.columns). Lines are fitted to the width here (text.wrap, text.flow), so rich
    # wraps nothing itself (soft_wrap): a line it would cut is one we chose to keep whole (a URL).
    return Console(file=stream, force_terminal=colour, no_color=not colour,
                   color_system="standard" if colour else None, soft_wrap=True, highlight=False, markup=False,
                   emoji=False, width=width, _environ={})


def draw(run: Run, rt: Runtime, *, colour: bool) -> None:
    width = rt.columns
    out = console(rt.stdout, colour=colour, width=width)
    result = run.result
    if not run.report:
        _summary(out, summary(run, lambda line: cell_len(redact(line)) <= width), result, width)
        _lines(out, head_lines(result), width)
    for view in result.views:
        _view(out, view, width)
    if not run.report:
        _lines(out, tail_lines(result), width)
    rt.stdout.flush()


def _summary(out: Console, found: Summary, result: JobResult, width: int) -> None:
    """The summary line laid out to the width (broken between its parts), the outcome in its colour, and
    each note (the message, the hint) on lines of its own."""
    parts = [redact(part) for part in found.parts]
    word = f"outcome: {result.outcome.value}"
    coloured = False
    for line in flow(parts, width, cell_len):
        text = Text(line)
        at = -1 if coloured else line.find(word)
        if at >= 0:  # the job's name and the target come before it, and hold no `outcome: `
            start = at + len("outcome: ")
            text.stylize(COLOURS[result.outcome], start, start + len(result.outcome.value))
            coloured = True
        out.print(text)
    for note in found.notes:
        hang = NOTE_INDENT + " " * len("hint: ") if note.startswith("hint: ") else NOTE_INDENT
        for line in wrap(redact(note), width, cell_len, indent=NOTE_INDENT, hang=hang):
            out.print(Text(line))


def _lines(out: Console, lines: list[str], width: int) -> None:
    """Lines of text fitted to the width, each continuation indented past the line's own indent. A line
    that carries its own colour (history's grid and legend) is read as ANSI, never as markup, and left to
    rich to wrap (history sizes its grid to the width, so a grid row never needs it)."""
    for text in lines:
        text = redact(text)
        shown = Text.from_ansi(text)
        if cell_len(shown.plain) <= width:
            out.print(shown)
            continue
        if "\x1b[" in text:
            out.print(shown, soft_wrap=False)
            continue
        indent = text[:len(text) - len(text.lstrip(" "))]
        for line in wrap(text, width, cell_len, indent=indent, hang=indent + NOTE_INDENT):
            out.print(Text(line))


def _view(out: Console, view: View, width: int) -> None:
    if isinstance(view, Table):
        _table(out, view, width)
    elif isinstance(view, Checklist):
        if view.title:
            _lines(out, [view.title], width)
        for check in view.checks:
            mark = "✓" if check.ok else "✗"
            for i, line in enumerate(wrap(f"{mark} {redact(check.name)}: {redact(check.detail)}", width, cell_len,
                                          hang=NOTE_INDENT)):
                text = Text(line)
                if i == 0:
                    text.stylize("green" if check.ok else "red", 0, 1)
                out.print(text)
    else:
        _lines(out, view_lines(view), width)


GAP = 2  # between two columns: a cell's right padding, then the (blank) divider of SIMPLE_HEAD


def _table(out: Console, view: Table, width: int) -> None:
    """Aligned columns under a rule, as wide as the terminal allows: the widest column gives way first
    (its cells wrap between words), short ones (a name, a state) stay whole. A column holding a URL never
    goes below the URL's width: when those cannot fit side by side (smoke's log links), the table's plain
    lines instead, each whole for the terminal to wrap, so a link still copies and opens."""
    rows = [tuple(redact(cell) for cell in row) for row in view.rows]
    room = width - GAP * (len(view.columns) - 1)
    floors = column_floors(view.columns, rows, cell_len, room)
    if floors is None:
        _lines(out, view_lines(view), UNBOUNDED)
        return
    # No column grows past its widest cell: a note (a shorter row) wraps inside its last column.
    widths = fit_widths(column_widths(view.columns, rows, cell_len), floors, room)
    table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="",
                      title=redact(view.title) or None, title_justify="left", title_style="")
    for column, w in zip(view.columns, widths, strict=True):
        table.add_column(column, overflow="fold", width=w)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out.print(table)
