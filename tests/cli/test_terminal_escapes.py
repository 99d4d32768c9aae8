"""Text from a server or from Google is shown, never obeyed by the terminal (issue 21, finding 5).

An admin API error message and code, and a Cloud Run execution's condition message shown by `history`,
carry escape sequences: OSC 52 (write the clipboard), clear screen, set the window title, a C1 CSI, a
concealing SGR, a bidi override. On a terminal and off one, in the summary and in the log lines, each
control character is written out visibly (`\\x1b`); housejobs' own colours stay; --json and the JSON log
lines keep the exact text, escaped by JSON.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli, CliResult
from tests.support.deploy_env import GcpEnv
from tests.support.history_world import deployed_month
from tests.support.run_world import run_world
from tests.support.sandbox import SandboxHandle

CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"
HOSTILE = f"denied {CLIPBOARD} \x1b[2J \x1b]0;pwned\x07 \x9b31m c1 \x1b[8mhidden\x1b[0m \u202eevil"
CODE = "bad\x1b[2Jcode"
# What housejobs itself writes on a terminal: SGR colours (rich's outcome, history's glyphs).
OWN_SGR = re.compile(r"\x1b\[[0-9;]*m")
# A terminal that shows colour, whatever the test's own environment says (TERM=dumb, NO_COLOR).
COLOUR_TERMINAL = {"TERM": "xterm-256color"}
UNSET = ("NO_COLOR", "FORCE_COLOR")
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def assert_inert(text: str, where: str) -> None:
    for raw in (CLIPBOARD, "\x1b[2J", "\x1b]0;", "\x9b", "\x1b[8m", "\x07", "\u202e"):
        assert raw not in text, f"{raw!r} reached {where}: {text!r}"
    left = CONTROLS.findall(OWN_SGR.sub("", text))
    assert not left, f"control characters {left} reached {where}: {text!r}"


def quota_reset(cli: Cli, sandbox: SandboxHandle, *extra: str, tty: bool) -> CliResult:
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[400], code=CODE, message=HOSTILE)
    return cli("quota-reset", "--api-url", sandbox.url, "--date", "2026-11-24", *extra, tty=tty, env=COLOUR_TERMINAL,
               unset=UNSET)


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "terminal"])
def test_an_admin_api_error_is_shown_not_obeyed(cli: Cli, sandbox: SandboxHandle, tty: bool) -> None:
    result = quota_reset(cli, sandbox, tty=tty)
    assert result.code == 1
    for where, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        assert_inert(text, where)
    # Made visible, not dropped: the operator sees what the server sent (on a terminal, wrapped to its width).
    out, err = " ".join(result.stdout.split()), " ".join(result.stderr.split())
    assert "400 bad\\x1b[2Jcode: denied \\x1b]52;c;cm0gLXJmIH4=\\x07 \\x1b[2J" in out
    assert "\\x9b31m c1 \\x1b[8mhidden\\x1b[0m \\u202eevil" in out
    if tty:
        assert "\x1b[31mfailed\x1b[0m" in result.stdout  # housejobs' own colour survives
        assert "error: POST /admin/quota/reset-daily: 400 bad\\x1b[2Jcode" in err


def test_json_keeps_the_servers_exact_text(cli: Cli, sandbox: SandboxHandle) -> None:
    result = quota_reset(cli, sandbox, "--json", tty=False)
    assert_inert(result.stdout + result.stderr, "the JSON output")
    assert result.json()["message"] == f"POST /admin/quota/reset-daily: 400 {CODE}: {' '.join(HOSTILE.split())}"
    logged = [r["message"] for r in result.log_records() if r.get("error") == "ApiStatusError"]
    assert logged and CLIPBOARD in logged[0]  # JSON-escaped on the wire (\u001b), exact once parsed


def test_an_argument_quoting_escapes_is_shown_not_obeyed(cli: Cli) -> None:
    """A value pasted where an env name goes is echoed in the refusal, the error line and the summary."""
    result = cli("quota-reset", "--env", CLIPBOARD, tty=True, env=COLOUR_TERMINAL, unset=UNSET)
    assert result.code == 2 and "unknown environment '\\x1b]52;c;cm0gLXJmIH4=\\x07'" in result.stdout
    assert_inert(result.stdout, "stdout")
    assert_inert(result.stderr, "stderr")


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


@pytest.fixture
def month(cli: Cli, gcp: GcpEnv) -> GcpEnv:
    return deployed_month(cli, gcp)


def hostile_failure(gcp: GcpEnv) -> dict[str, Any]:
    """The month's failed alerts execution (11-18), its Completed condition carrying HOSTILE (Cloud Run
    reports the container's own words there)."""
    ex = next(e for e in gcp.run.executions.values() if "housejobs-alerts-stage" in e["name"] and e.get("failedCount"))
    completed = next(c for c in ex["conditions"] if c["type"] == "Completed")
    completed["message"] = f"Task failed with message: {HOSTILE}"
    return ex


@pytest.mark.parametrize("tty", [False, True], ids=["pipe", "terminal"])
def test_a_cloud_run_condition_message_in_history_is_shown_not_obeyed(cli: Cli, month: GcpEnv, tty: bool) -> None:
    ex = hostile_failure(month)
    result = cli("history", "--env", "stage", tty=tty, env={**month.env, **COLOUR_TERMINAL}, unset=UNSET)
    assert result.code == 0, result.stdout + result.stderr
    assert_inert(result.stdout, "stdout")
    assert_inert(result.stderr, "stderr")
    shown = " ".join(result.stdout.split())  # on a terminal the line is wrapped to its width
    assert f"{ex['name'].rsplit('/', 1)[-1]} · 0/1 tasks succeeded" in shown
    assert "Task failed with message: denied \\x1b]52;c;cm0gLXJmIH4=\\x07" in shown
    if tty:  # the grid's own colours survive
        assert "\x1b[31m✗\x1b[0m" in result.stdout and "\x1b[32m✓\x1b[0m" in result.stdout
    doc = cli("history", "--env", "stage", "--json", env=month.env)
    assert any(f"Task failed with message: {HOSTILE}" == s for s in strings(doc.json()))  # --json: exact


def test_a_jobs_log_lines_from_cloud_logging_are_shown_not_obeyed(cli: Cli, sandbox: SandboxHandle,
                                                                  tmp_path: Path) -> None:
    """`logs` prints what the job wrote, as Cloud Logging returns it: the server's message the job logged
    comes back with its escapes (JSON-decoded), and is written out visibly."""
    with run_world(cli, sandbox, tmp_path, only="quota-reset") as world:
        sandbox.fault(route="/admin/quota/reset-daily", statuses=[400] * 10, message=HOSTILE)
        ran = world("run", "quota-reset", "--env", "stage", "--json", "--", "--date", "2026-11-02")
        assert ran.code == 1, ran.stdout + ran.stderr
        for tty in (False, True):
            shown = world("logs", "quota-reset", "--env", "stage", tty=tty)
            assert shown.code == 0, shown.stdout + shown.stderr
            assert "denied \\x1b]52;c;cm0gLXJmIH4=\\x07" in shown.stdout
            assert_inert(shown.stdout, "logs' stdout")
