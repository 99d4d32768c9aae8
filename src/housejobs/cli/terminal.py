"""The terminal: the same content cli/render.py prints as plain text, drawn with rich.

The outcome in its colour, tables with aligned columns under a rule (one whose words cannot fit side by
side, such as smoke's log links: its plain lines), checklists with a green ✓ or a red ✗.
Everything is redacted, and its control characters made visible, before rich sees it (redact.printable),
and nothing is read as markup: a message quoting a server's answer must not turn into styles, and its ESC
or C1 bytes must not clear the screen, retitle the window or write the clipboard. Lines that carry their
own colour (history's grid) keep exactly the painting housejobs does, one coloured glyph
(`ESC[<n>m<glyph>ESC[0m`), and nothing else a server could have put there. Loaded only when stdout is a
terminal or FORCE_COLOR asks for colour.
"""

from __future__ import annotations

import re
from typing import TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table as RichTable
from rich.text import Text

from housejobs.cli.text import COLOURS, column_widths, head_lines, summary_parts, tail_lines, view_lines
from housejobs.redact import printable
from housejobs.results import Checklist, Run, Table, View
from housejobs.runtime import Runtime

UNBOUNDED = 1_000_000  # a width no table reaches: to measure what one needs
# The one painting housejobs puts in a line (cli/history_render.py): a colour, one glyph, a reset.
_PAINTED = re.compile("(\x1b\\[[0-9;]+m[^\x00-\x1f\x7f-\x9f]\x1b\\[0m)")


def console(stream: TextIO, *, colour: bool) -> Console:
    # Sizes and colours are decided here, not by rich reading os.environ: the run's environment is the
    # runtime's. soft_wrap: long lines (a history grid, a plan's diff) are the terminal's to wrap.
    return Console(file=stream, force_terminal=colour, no_color=not colour,
                   color_system="standard" if colour else None, soft_wrap=True, highlight=False, markup=False,
                   emoji=False, width=200)


def draw(run: Run, rt: Runtime, *, colour: bool) -> None:
    out = console(rt.stdout, colour=colour)
    result = run.result
    if not run.report:
        before, after = summary_parts(run)
        line = Text(printable(" · ".join([*before, "outcome: "])))
        line.append(result.outcome.value, style=COLOURS[result.outcome])
        line.append(printable((f" ({result.message})" if result.message else "") + " · " + " · ".join(after)))
        out.print(line)
        _lines(out, head_lines(result))
    for view in result.views:
        _view(out, view)
    if not run.report:
        _lines(out, tail_lines(result))
    rt.stdout.flush()


def _lines(out: Console, lines: list[str]) -> None:
    # A line may carry its own colour (history's grid): its painted glyphs are read as ANSI, never as
    # markup; any other control sequence in it is shown, not obeyed.
    for text in lines:
        parts = _PAINTED.split(text)
        out.print(Text.from_ansi("".join(part if i % 2 else printable(part) for i, part in enumerate(parts))))


def _view(out: Console, view: View) -> None:
    if isinstance(view, Table):
        table = RichTable(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="",
                          title=printable(view.title) or None, title_justify="left", title_style="")
        rows = [tuple(printable(cell) for cell in row) for row in view.rows]
        # No column grows past its widest cell: a note (a shorter row) wraps inside its last column.
        widths = column_widths(view.columns, rows, cell_len)
        for column, width in zip(view.columns, widths, strict=True):
            table.add_column(column, overflow="fold", max_width=width)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        if Measurement.get(out, out.options.update_width(UNBOUNDED), table).minimum > out.width:
            # Its longest words do not fit side by side, so rich would cut one (smoke's log links): its plain
            # lines instead, each whole for the terminal to wrap, so a link still copies and opens.
            _lines(out, view_lines(view))
            return
        out.print(table)
    elif isinstance(view, Checklist):
        if view.title:
            out.print(Text(printable(view.title)))
        for check in view.checks:
            line = Text()
            line.append("✓" if check.ok else "✗", style="green" if check.ok else "red")
            line.append(printable(f" {check.name}: {check.detail}"))
            out.print(line)
    else:
        _lines(out, view_lines(view))
