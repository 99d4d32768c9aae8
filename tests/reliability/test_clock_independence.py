"""Tests never depend on today's date: every spawned CLI process is given its period.

In-process runs use the FakeClock (tests/support/clock.py); a spawned process runs on the machine's clock, so
tests/support/process.py refuses to spawn a period command without its period flag. These tests keep
every spawn going through it. CI runs the whole suite a second time under libfaketime, across a month
and a year boundary, to prove the rule holds.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.process import check_period

TESTS = Path(__file__).resolve().parents[1]
# `python -m housejobs` or the housejobs entry point, started any other way than tests/support/process.py.
DIRECT_SPAWN = re.compile(r"""["']-m["'],\s*["']housejobs["']|from housejobs\.cli\.main import main""")


def test_every_spawn_of_the_cli_goes_through_the_checked_helper() -> None:
    offenders = []
    scanned = set()
    for path in sorted(TESTS.rglob("*.py")):
        if TESTS / "support" in path.parents or path == Path(__file__).resolve():
            continue
        scanned.add(path.relative_to(TESTS).parts[0])
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DIRECT_SPAWN.search(line):
                offenders.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    # Every folder of tests is scanned, wherever a test file moves.
    assert {"unit", "cli", "reliability", "fakes"} <= scanned, scanned
    # test_races starts its processes through a tiny starter script that waits on stdin, so eight runs
    # begin together; its argv is checked by check_period there.
    offenders = [o for o in offenders if not o.startswith("reliability/test_races.py")]
    assert offenders == []


@pytest.mark.parametrize("argv", [
    ["quota-reset", "--api-url", "http://127.0.0.1:1"],
    ["quota-monthly", "--json"],
    ["reminder", "utilities"],
    ["org-sync-all", "--concurrency", "2"],
])
def test_a_period_command_without_its_period_is_refused(argv: list[str]) -> None:
    with pytest.raises(AssertionError, match="depends on today's date"):
        check_period(argv)


@pytest.mark.parametrize("argv", [
    ["quota-reset", "--date", "2026-11-24"],
    ["quota-monthly", "--month=2026-11"],
    ["reminder", "utilities", "--period", "2026-11"],
    ["bootstrap", "--json"],
    ["quota-reset", "--help"],
])
def test_explicit_periods_and_periodless_commands_pass(argv: list[str]) -> None:
    check_period(argv)


# --- what the date does to the product, tested on purpose ---------------------------------------------------
@pytest.mark.slow
def test_python_warnings_after_the_interpreters_end_of_life_are_json_log_lines(tmp_path: Path) -> None:
    """Google's client libraries warn on import once the Python version is past its end of life (3.11: from
    November 2027). Printed raw, that text broke the one-JSON-object-per-stderr-line contract; it must
    arrive as a WARNING record. This test reads a date on purpose: it runs the CLI under libfaketime."""
    import os
    import subprocess

    from tests.support.deploy_env import gcp_env
    from tests.support.process import cli_command, faketime, without_faketime

    with gcp_env() as gcp:
        # This test sets its own date: drop the one CI's faketime run gives the whole suite.
        env = {**without_faketime(os.environ), **gcp.env, "HOUSEJOBS_STATE_DIR": str(tmp_path / "state")}
        done = subprocess.run([faketime(), "2028-01-05 12:00:00", *cli_command("list-jobs", "--env", "stage",
                                                                             "--json")],
                              capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    import json

    records = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    warned = [r for r in records if r.get("event") == "python_warning"]
    assert warned and all(r["severity"] == "WARNING" for r in warned), done.stderr
    assert any("Python version" in r["message"] for r in warned)
