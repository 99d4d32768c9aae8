"""The terminal: the same content cli/render.py prints as plain text, drawn with rich.

The outcome in its colour, tables with aligned columns under a rule (one whose words cannot fit side by
side, such as smoke's log links: its plain lines), checklists with a green ✓ or a red ✗, history's grid
with each state's glyph in its colour (cli/palette.py: the one table of looks), cut into blocks of days
that fit. Everything is redacted, and its control characters made visible, before rich sees it
(redact.printable), and nothing is read as markup or as ANSI: a message quoting a server's answer must not
turn into styles, and its ESC or C1 bytes must not clear the screen, retitle the window or write the
clipboard. Every colour and every control sequence on stdout and stderr is rich's, from a style or a
Control here. Loaded only when stdout is a terminal or FORCE_COLOR asks for colour, or stderr is a
terminal a run draws its progress on.
"""

from __future__ import annotations

from typing import TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.control import Control
from rich.segment import ControlType
from rich.table import Table as RichTable
from rich.text import Text

from housejobs.cli.palette import CHECKS, OUTCOMES
from housejobs.cli.text import (
    LEGEND_GAP,
    NOTE_INDENT,
    Segment,
    Summary,
    column_floors,
    column_widths,
    fit_widths,
    flow,
    grid_lines,
    head_lines,
    legend,
    plain,
    summary,
    tail_lines,
    view_lines,
    wrap,
)
from housejobs.redact import printable
from housejobs.results import Checklist, Grid, JobResult, Run, Table, View
from housejobs.runtime import Runtime

UNBOUNDED = 1_000_000  # a width no line reaches: lines kept whole


def console(stream: TextIO, *, colour: bool, width: int, live: bool = False) -> Console:
    """The one way housejobs draws on a terminal. `live`: it rewrites what it drew (a progress bar, a
    status line), so it writes rich's control sequences even without colour."""
    # Sizes and colours are decided here, not by rich reading os.environ: the run's environment is the
    # runtime's (Runtime.columns). Lines are fitted to the width here (text.wrap, text.flow), so rich
    # wraps nothing itself (soft_wrap): a line it would cut is one we chose to keep whole (a URL).
    return Console(file=stream, force_terminal=colour or live, no_color=not colour,
                   color_system="standard" if colour else None, soft_wrap=True, highlight=False, markup=False,
                   emoji=False, width=width, _environ={})


def rewrite(out: Console, line: str, *, end: str = "") -> None:
    """`line` (redacted, shown not obeyed) over the terminal line the cursor is on."""
    out.control(Control((ControlType.CARRIAGE_RETURN,), (ControlType.ERASE_IN_LINE, 2)))
    out.print(Text(printable(line)), end=end)


def draw(run: Run, rt: Runtime, *, colour: bool) -> None:
    width = rt.columns
    out = console(rt.stdout, colour=colour, width=width)
    result = run.result
    if not run.report:
        _summary(out, summary(run, lambda line: cell_len(printable(line)) <= width), result, width)
        _lines(out, head_lines(result), width)
    for view in result.views:
        _view(out, view, width)
    if not run.report:
        _lines(out, tail_lines(result), width)
    rt.stdout.flush()


def _summary(out: Console, found: Summary, result: JobResult, width: int) -> None:
    """The summary line laid out to the width (broken between its parts), the outcome in its colour, and
    each note (the message, the hint) on lines of its own."""
    parts = [printable(part) for part in found.parts]
    word = f"outcome: {result.outcome.value}"
    coloured = False
    for line in flow(parts, width, cell_len):
        text = Text(line)
        at = -1 if coloured else line.find(word)
        if at >= 0:  # the job's name and the target come before it, and hold no `outcome: `
            start = at + len("outcome: ")
            text.stylize(OUTCOMES[result.outcome], start, start + len(result.outcome.value))
            coloured = True
        out.print(text)
    for note in found.notes:
        hang = NOTE_INDENT + " " * len("hint: ") if note.startswith("hint: ") else NOTE_INDENT
        for line in wrap(printable(note), width, cell_len, indent=NOTE_INDENT, hang=hang):
            out.print(Text(line))


def _lines(out: Console, lines: list[str], width: int) -> None:
    """Lines of text fitted to the width, each continuation indented past the line's own indent."""
    for text in map(printable, lines):
        if cell_len(text) <= width:
            out.print(Text(text))
            continue
        indent = text[:len(text) - len(text.lstrip(" "))]
        for line in wrap(text, width, cell_len, indent=indent, hang=indent + NOTE_INDENT):
            out.print(Text(line))


def _view(out: Console, view: View, width: int) -> None:
    if isinstance(view, Table) and view.header:
        _table(out, view, width)
    elif isinstance(view, Checklist):
        if view.title:
            _lines(out, [view.title], width)
        for check in view.checks:
            mark, style = CHECKS[check.ok]
            for i, line in enumerate(wrap(f"{mark} {printable(check.name)}: {printable(check.detail)}", width,
                                          cell_len, hang=NOTE_INDENT)):
                text = Text(line)
                if i == 0:
                    text.stylize(style, 0, len(mark))
                out.print(text)
    elif isinstance(view, Grid):
        _grid(out, view, width)
    else:  # lines, and an aligned list (a table without a header): its plain lines, fitted
        _lines(out, view_lines(view), width)


def _styled(segments: list[Segment]) -> Text:
    return Text.assemble(*((printable(text), style) for text, style in segments))


def _grid(out: Console, grid: Grid, width: int) -> None:
    """The grid in blocks of days that fit the width, each state's glyph in its colour; then the legend,
    broken between its entries."""
    for segments in grid_lines(grid, width):
        text = _styled(segments)
        out.print(text, soft_wrap=cell_len(text.plain) <= width)  # a label too long for the terminal: wrapped
    line: list[Segment] = []
    for entry in legend():
        joined = [*line, (LEGEND_GAP, ""), *entry] if line else entry
        if line and cell_len(plain(joined)) > width:
            out.print(_styled(line), soft_wrap=False)
            joined = entry
        line = joined
    out.print(_styled(line), soft_wrap=False)


GAP = 2  # between two columns: a cell's right padding, then the (blank) divider of SIMPLE_HEAD


def _table(out: Console, view: Table, width: int) -> None:
    """Aligned columns under a rule, as wide as the terminal allows: the widest column gives way first
    (its cells wrap between words), short ones (a name, a state) stay whole. A column holding a URL never
    goes below the URL's width: when those cannot fit side by side (smoke's log links), the table's plain
    lines instead, each whole for the terminal to wrap, so a link still copies and opens."""
    rows = [tuple(printable(cell) for cell in row) for row in view.rows]
    room = width - GAP * (len(view.columns) - 1)
    floors = column_floors(view.columns, rows, cell_len, room)
    if floors is None:
        _lines(out, view_lines(view), UNBOUNDED)
        return
    # No column grows past its widest cell: a note (a shorter row) wraps inside its last column.
    widths = fit_widths(column_widths(view.columns, rows, cell_len), floors, room)
    table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), header_style="",
                      title=printable(view.title) or None, title_justify="left", title_style="")
    for column, w in zip(view.columns, widths, strict=True):
        table.add_column(column, overflow="fold", width=w)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    out.print(table)
