"""history's legend, as drawn on a pipe, on a terminal and on the `--html` page: each slot state with one
glyph and one colour (cli/palette.py, the one table of looks), listed in the one order the JSON counts keep.
The month of tests/support/history_world.py, read from the Google fakes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.deploy_env import GcpEnv
from tests.support.hermetic import COLOUR_TERMINAL
from tests.support.history_world import deployed_month


@pytest.fixture
def month(cli: Cli, gcp: GcpEnv) -> GcpEnv:
    return deployed_month(cli, gcp)


def history(cli: Cli, gcp: GcpEnv, *args: str, env: dict[str, str] | None = None, tty: bool = False) -> Any:
    return cli("history", "--env", "stage", *args, env={**gcp.env, **(env or {})}, tty=tty)


# Each state's glyph as the legend shows it (cli/palette.py is the one table; this is what a reader sees).
GLYPH_STATE = {"✓": "succeeded", "=": "unchanged", "✗": "failed", "⊘": "cancelled", "▸": "running", "◌": "pending",
               "◇": "upcoming", "○": "missed", "·": "none"}


def test_the_legends_and_the_counts_list_the_states_in_one_order(cli: Cli, month: GcpEnv, tmp_path: Path) -> None:
    """The plain legend, the terminal's (in colour, broken between its entries on 80 columns) and the page's
    list the states in the order --json counts them, a success that changed nothing right after one that
    applied, and an empty cell last."""
    counts = [k for k in history(cli, month, "--json").json()["counts"] if k in GLYPH_STATE.values()]
    want = [*counts[:1], "unchanged", *counts[1:], "none"]
    plain = history(cli, month, "--html", "h.html").stdout.splitlines()
    legend = next(line for line in plain if line.endswith("· nothing scheduled"))
    assert [GLYPH_STATE[entry[0]] for entry in legend.split("  ")] == want
    page = (tmp_path / "h.html").read_text()
    legend_html = page.split('<p class="legend">', 1)[1].split("</p>", 1)[0]
    assert [GLYPH_STATE[g] for g in re.findall(r"<i [^>]*>(.)</i>", legend_html)] == want
    shown = history(cli, month, tty=True, env={**COLOUR_TERMINAL, "COLUMNS": "80"}).stdout.splitlines()
    start = next(i for i, line in enumerate(shown) if "succeeded (applied)" in line)
    end = next(i for i, line in enumerate(shown) if line.endswith("nothing scheduled"))
    entries = [re.sub(r"\x1b\[[0-9;]*m", "", e) for line in shown[start:end + 1] for e in line.split("  ")]
    assert [GLYPH_STATE[e[0]] for e in entries] == want
    assert all(len(re.sub(r"\x1b\[[0-9;]*m", "", line)) <= 80 for line in shown[start:end + 1])
    drawn = "\n".join(shown[start:end + 1])  # each glyph in its colour, in the legend as in the grid
    assert "\x1b[35m○\x1b[0m missed" in drawn and "\x1b[2m·\x1b[0m nothing scheduled" in drawn
