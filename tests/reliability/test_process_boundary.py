"""The process as its callers see it: exit codes that match the outcome whatever happens to the streams,
and signals that end a run with its summary even during start-up. Real processes throughout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.process import cli_command, run_cli_process, spawn_cli, without_faketime
from tests.support.waiting import wait_until

DATE = "2026-11-24"
pytestmark = pytest.mark.slow


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "HOUSEJOBS_STATE_DIR": str(tmp_path / "state")}


def _shell(redirect: str, argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # `exec CMD >&-` and friends: the process starts with that descriptor closed or pointed at /dev/full.
    if "&-" in redirect:  # a closed descriptor would be taken by libfaketime's shared clock
        env = without_faketime(env)
    return subprocess.run(["bash", "-c", f'exec "$@" {redirect}', "_", *cli_command(*argv)],
                          capture_output=True, text=True, env=env, timeout=60, check=False)


@pytest.mark.parametrize("redirect", [">&-", ">/dev/full", "2>&-", "2>/dev/full", ">&- 2>&-"],
                         ids=["stdout-closed", "stdout-full", "stderr-closed", "stderr-full", "both-closed"])
def test_the_exit_code_is_the_outcomes_whatever_happens_to_the_output(tmp_path: Path, redirect: str) -> None:
    env = _env(tmp_path)
    done = _shell(redirect, ["quota-reset", "--date", DATE], env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "internal error" not in done.stdout + done.stderr and "Traceback" not in done.stderr
    again = run_cli_process(["quota-reset", "--date", DATE, "--json"], env=env)
    assert json.loads(again.stdout)["outcome"] == "duplicate"  # the first run did apply it


def test_a_refusal_keeps_its_exit_code_with_stdout_closed(tmp_path: Path) -> None:
    done = _shell(">&-", ["quota-reset", "--env", "nowhere", "--date", DATE], _env(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def _catches(pid: int, signum: int) -> bool:
    """True once the process has a handler for `signum` (the SigCgt mask in /proc/PID/status)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    for line in status.splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & (1 << (signum - 1)))
    return False


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to see when handlers are in")
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)],
                         ids=["sigterm", "sigint"])
def test_a_signal_during_start_up_ends_the_run_with_a_summary(tmp_path: Path, signum: int, code: int) -> None:
    """Sent as soon as the handlers are in, while the CLI's imports (typer, click, the job) are still
    loading. It used to die silently (SIGTERM) or print a KeyboardInterrupt traceback (SIGINT)."""
    proc = spawn_cli(["quota-reset", "--date", DATE, "--json"], env=_env(tmp_path))
    # Python catches SIGINT from its own start; SIGTERM only once housejobs' handlers are in (both at once).
    wait_until(lambda: _catches(proc.pid, signal.SIGTERM), "the signal handler", proc=proc)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, (out, err)
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["event"] == "run_summary" and summary["outcome"] == "interrupted"
    assert summary["exit_code"] == code


def test_the_start_up_handler_imports_nothing() -> None:
    """The handler runs wherever the signal lands, inside another module's import too: if it imported a
    module itself, that import would run on a half-loaded one (`inspect` while click loads it) and end in
    an AttributeError instead of `interrupted`. So raising Stopped must load no module."""
    probe = (
        "import signal, sys\n"
        "from housejobs.cli import entry\n"
        "before = set(sys.modules)\n"
        "try:\n"
        "    entry._stop(signal.SIGTERM, None)\n"
        "except BaseException as exc:\n"
        "    print(type(exc).__name__, sorted(set(sys.modules) - before))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    assert done.stdout.strip() == "Stopped []", done.stdout + done.stderr
