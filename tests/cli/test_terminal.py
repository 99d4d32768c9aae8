"""What a person at a terminal sees: rich tables and checklists, the outcome in colour, and the colour
conventions (NO_COLOR, FORCE_COLOR, TERM=dumb). Off a terminal the output stays plain text."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.support.cli import Cli
from tests.support.hermetic import COLOUR_TERMINAL
from tests.support.sandbox import SandboxHandle

DATE = "2026-11-24"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run_job(cli: Cli, sandbox: SandboxHandle, *, tty: bool, env: dict[str, str] | None = None) -> str:
    result = cli("quota-reset", "--api-url", sandbox.url, "--date", DATE, tty=tty, env=env)
    assert result.code == 0, result.stdout
    return result.stdout


def test_a_terminal_shows_the_outcome_in_colour(cli: Cli, sandbox: SandboxHandle) -> None:
    out = run_job(cli, sandbox, tty=True, env=COLOUR_TERMINAL)
    assert "outcome: \x1b[32mapplied\x1b[0m" in out


@pytest.mark.parametrize("env", [{**COLOUR_TERMINAL, "NO_COLOR": "1"},
                                 {**COLOUR_TERMINAL, "NO_COLOR": "yes", "FORCE_COLOR": "1"}, {"TERM": "dumb"}],
                         ids=["no-color", "no-color-wins", "dumb-terminal"])
def test_no_color_and_a_dumb_terminal_turn_colour_off(cli: Cli, sandbox: SandboxHandle,
                                                       env: dict[str, str]) -> None:
    out = run_job(cli, sandbox, tty=True, env={**env, "COLUMNS": "120"})
    assert "\x1b[" not in out
    assert "outcome: applied (for 2026-11-24)" in out


def test_force_color_colours_even_off_a_terminal(cli: Cli, sandbox: SandboxHandle) -> None:
    assert "\x1b[" not in run_job(cli, sandbox, tty=False)
    assert "outcome: \x1b[36mduplicate" in run_job(cli, sandbox, tty=False, env={"FORCE_COLOR": "1"})


@pytest.mark.parametrize(("env", "coloured"), [(COLOUR_TERMINAL, True), ({**COLOUR_TERMINAL, "NO_COLOR": "1"}, False),
                                               ({"TERM": "dumb"}, False), ({"TERM": "dumb", "FORCE_COLOR": "1"}, True)],
                         ids=["colour", "no-color", "dumb-terminal", "forced"])
def test_progress_follows_the_same_colour_rule(cli: Cli, sandbox: SandboxHandle, env: dict[str, str],
                                               coloured: bool) -> None:
    """The progress bar on stderr is coloured by the renderer's rule (cli/render.colour), not NO_COLOR alone."""
    result = cli("org-sync-all", "--api-url", sandbox.url, tty=True, env=env)
    assert result.code == 0 and "org-sync" in result.stderr
    assert bool(ANSI.search(result.stderr)) is coloured, repr(result.stderr[:300])


def test_json_is_never_coloured(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", "--api-url", sandbox.url, "--date", DATE, "--json", tty=True,
                 env={"FORCE_COLOR": "1"})
    assert "\x1b[" not in result.stdout and result.json()["outcome"] == "applied"


def test_list_jobs_on_a_terminal_is_a_rich_table(cli: Cli) -> None:
    out = cli("list-jobs", tty=True, env={"NO_COLOR": "1"}).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "SCHEDULE", "CALLS"]
    assert set(lines[1].replace(" ", "")) == {"─"}  # the rule under the header
    assert any(line.split()[:2] == ["quota-monthly", "monthly"] for line in lines[2:])
    # Off a terminal: the plain table scripts grep, unchanged.
    plain = cli("list-jobs").stdout.splitlines()
    assert plain[0].split() == ["NAME", "KIND", "SCHEDULE", "CALLS"] and plain[1].startswith("migrate ")


def test_a_checklist_marks_each_check_in_colour(cli: Cli, sandbox: SandboxHandle) -> None:
    # doctor refused before reading anything still prints its checklist: one red ✗.
    result = cli("doctor", "--env", "stage", tty=True, unset=("HOUSEJOBS_PROJECT",),
                 env={**COLOUR_TERMINAL, "HOUSEJOBS_JOBS_DIR": "/nonexistent-jobs-dir"})
    assert result.code == 2
    assert "\x1b[31m✗\x1b[0m config resolves" in result.stdout
    plain = cli("doctor", "--env", "stage", env={"HOUSEJOBS_JOBS_DIR": "/nonexistent-jobs-dir"}).stdout
    assert plain.startswith("✗ config resolves") and "\x1b[" not in plain


def test_off_a_terminal_rich_is_not_even_loaded(tmp_path: object) -> None:
    code = ("import io, sys\n"
            "from housejobs.cli.main import run_cli\n"
            "from housejobs.runtime import Runtime\n"
            "out = io.StringIO()\n"
            "code = run_cli(['quota-reset', '--date', '2026-11-24'], Runtime(stdout=out, stderr=io.StringIO(),"
            " stdout_tty=False, stderr_tty=False, environ={'HOUSEJOBS_STATE_DIR': sys.argv[1]}))\n"
            "print(code, 'rich' in sys.modules, 'outcome: applied' in out.getvalue())\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "False", "True"], done.stderr
