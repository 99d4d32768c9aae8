"""One renderer, enforced from the source: everything housejobs draws goes through it.

    the renderer   cli/render.py (plain text or the terminal, and the one colour rule), cli/text.py (plain
                   text: the one place cells are padded into columns), cli/terminal.py (rich),
                   cli/palette.py (how every state looks: outcomes, checks, slot states)

- No hand-written ANSI anywhere in src: no ESC or CSI character in a string, no chr(27); every colour
  and every cursor move on a terminal is rich's.
- No padded columns outside the renderer: no ljust/rjust/center, no width or alignment in a format spec
  (a zero-filled number, `{day:02d}`, is a number's form, not a column), no `%-10s`, no run of spaces
  multiplied out. Jobs and provisioning return views (results.Table, Lines, Checklist, Grid).
- One table of looks: the slot states' glyphs, colours and fills, the checks' marks and the outcomes'
  colours are written in cli/palette.py only, and every module that draws a state imports it. The slot
  states come in one order (gcp/records.SLOT_STATES), the one history's JSON counts keep: the plain legend,
  the terminal's and the page's follow it (tests/cli/test_history.py checks them as drawn).

Docstrings are prose, so they are not read; comments are not in the syntax tree.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from housejobs.cli.palette import CHECKS, NOTHING, OUTCOMES, SLOTS, UNCHANGED
from housejobs.gcp.records import SLOT_STATES, SUCCEEDED
from housejobs.results import Outcome

SRC = Path(__file__).resolve().parent.parent / "src" / "housejobs"
RENDERER = {"cli/render.py", "cli/text.py", "cli/terminal.py", "cli/palette.py"}
LOOKS = "cli/palette.py"
# The modules that draw a state (a grid cell, a legend, a check, an outcome): each takes its look from LOOKS.
DRAWS_STATES = {"cli/text.py", "cli/terminal.py", "cli/history_render.py", "cli/history_html.py"}

ESCAPES = ("\x1b", "\x9b")  # ESC starts every ANSI sequence; U+009B is the one-byte CSI
# [[fill]align][sign][z][#][0][width]: an alignment, or a width that is not a zero fill, lays out a column.
SPEC = re.compile(r"(?P<align>.?[<>=^])?[+\- ]?z?#?(?P<zero>0)?(?P<width>\d+)?")
PRINTF_PAD = re.compile(r"%-?[1-9]\d*s")
PAD_METHODS = {"ljust", "rjust", "center"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SRC.rglob("*.py")):
        yield path.relative_to(SRC).as_posix(), ast.parse(path.read_text(encoding="utf-8"))


def docstrings(tree: ast.Module) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def strings(tree: ast.Module) -> Iterator[ast.Constant]:
    """Every string in the code (an f-string's literal parts too), docstrings aside."""
    prose = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
            yield node


def spec_text(spec: ast.JoinedStr) -> str:
    """An f-string's format spec as written, a nested `{width}` read as a width."""
    return "".join(part.value if isinstance(part, ast.Constant) else "9" for part in spec.values)


def pads(spec: str) -> bool:
    found = SPEC.match(spec)
    return bool(found and (found["align"] or (found["width"] and not found["zero"])))


def ansi_in(tree: ast.Module) -> list[str]:
    out = [f"line {s.lineno}: {s.value!r}" for s in strings(tree) if any(e in s.value for e in ESCAPES)]
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "chr"
                and node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value in (27, 155)):
            out.append(f"line {node.lineno}: chr({node.args[0].value})")
    return out


def padding_in(tree: ast.Module) -> list[str]:
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in PAD_METHODS:
                out.append(f"line {node.lineno}: .{node.func.attr}()")
            elif (node.func.attr == "format" and isinstance(node.func.value, ast.Constant)
                  and isinstance(node.func.value.value, str)
                  and any(pads(spec) for spec in re.findall(r"\{[^{}]*?:([^{}]*)\}", node.func.value.value))):
                out.append(f"line {node.lineno}: a padded str.format template")
        elif isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            if pads(spec_text(node.format_spec)):
                out.append(f"line {node.lineno}: f-string spec {spec_text(node.format_spec)!r}")
        elif isinstance(node, ast.BinOp) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str):
            if isinstance(node.op, ast.Mod) and PRINTF_PAD.search(node.left.value):
                out.append(f"line {node.lineno}: a padded %-format")
            elif isinstance(node.op, ast.Mult) and node.left.value and not node.left.value.strip(" "):
                out.append(f"line {node.lineno}: spaces multiplied out")
    return out


# --- the detectors find what they look for (so the guards below can fail) ---------------------------------
@pytest.mark.parametrize("code", [
    'x = "\\x1b[31mred\\x1b[0m"', 'x = "\\033[2K"', 'x = f"\\x1b[{n}m"', 'x = chr(27) + "[0m"', 'x = "\\x9b31m"'])
def test_the_escape_detector_finds_hand_written_ansi(code: str) -> None:
    assert ansi_in(ast.parse(code)), code


@pytest.mark.parametrize("code", [
    "x = name.ljust(9)", "x = name.rjust(9)", 'x = f"{name:<9} {kind:>7}"', 'x = f"{name:<{width}}"',
    'x = f"{count:5}"', 'x = "{:<10}".format(name)', 'x = "%-10s" % name', 'x = " " * width'])
def test_the_padding_detector_finds_columns_laid_out_by_hand(code: str) -> None:
    assert padding_in(ast.parse(code)), code


@pytest.mark.parametrize("code", ['x = f"{day:02d}"', 'x = f"{s:.1f} s"', 'x = f"{rate:g}"', 'x = "{}".format(a)',
                                  'x = "-" * 3', '"""A docstring: `ESC[31m` and .ljust() are words here."""'])
def test_the_detectors_pass_a_number_format_and_prose(code: str) -> None:
    tree = ast.parse(code)
    assert not padding_in(tree) and not ansi_in(tree), code


# --- the guards ---------------------------------------------------------------------------------------------
def test_no_hand_written_ansi_anywhere_in_src() -> None:
    found = {name: hits for name, tree in modules() if (hits := ansi_in(tree))}
    assert found == {}, "colours and cursor moves are rich's (cli/terminal.py), never written by hand"


def test_no_padded_columns_outside_the_renderer() -> None:
    found = {name: hits for name, tree in modules() if name not in RENDERER and (hits := padding_in(tree))}
    assert found == {}, "return a view (results.Table, Lines, Grid) and let cli/text.py lay out its columns"


def test_every_look_is_written_in_the_palette_only() -> None:
    glyphs = {look.glyph for look in (*SLOTS.values(), NOTHING)} | {mark for mark, _ in CHECKS.values()}
    glyphs -= {"=", "·"}  # also plain punctuation (`key=value`, ` · `): the palette's by the checks below
    fills = {look.fill.lower() for look in (*SLOTS.values(), NOTHING)}
    styles = {look.style for look in (*SLOTS.values(), NOTHING)} | {s for _, s in CHECKS.values()} | set(
        OUTCOMES.values())
    found: dict[str, list[str]] = {}
    for name, tree in modules():
        if name == LOOKS:
            continue
        for s in strings(tree):
            if any(g in s.value for g in glyphs) or s.value in styles or any(f in s.value.lower() for f in fills):
                found.setdefault(name, []).append(f"line {s.lineno}: {s.value[:60]!r}")
    assert found == {}, "a state's glyph, colour or fill belongs in cli/palette.py"


def test_every_module_that_draws_a_state_takes_its_look_from_the_palette() -> None:
    trees = dict(modules())
    for name in DRAWS_STATES:
        imported = {node.module for node in ast.walk(trees[name]) if isinstance(node, ast.ImportFrom)}
        assert "housejobs.cli.palette" in imported, name


def test_the_slot_states_have_one_order() -> None:
    # The palette lists every state a cell can show in SLOT_STATES' order (the JSON counts' order), with
    # `unchanged` (a success that changed nothing) right after `succeeded`; every outcome has its colour.
    assert [s for s in SLOTS if s != UNCHANGED] == list(SLOT_STATES)
    assert list(SLOTS).index(UNCHANGED) == list(SLOTS).index(SUCCEEDED) + 1
    assert set(OUTCOMES) == set(Outcome)
    assert len({look.glyph for look in (*SLOTS.values(), NOTHING)}) == len(SLOTS) + 1  # a glyph each
