"""Run bqemulator (a DuckDB-backed BigQuery emulator) as a subprocess for tests.

bqemulator lives in its own venv (scripts/dev/setup-emulators.sh builds it): it pins protobuf below what the
Google clients in the main venv need. Its HOME is a prepared directory holding DuckDB's spatial
extension, which bqemulator loads at startup and would otherwise try to download.

    exe = find_executable()                      # None when setup-emulators.sh has not run
    with running_bqemulator(exe) as emu:
        client = make_client(emu.project, emu.endpoint)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFAULT_EXECUTABLE = REPO / ".emulators" / "bq" / "venv" / "bin" / "bqemulator"
ENV_EXECUTABLE = "HOUSEJOBS_BQEMULATOR"
DEFAULT_PROJECT = "test-project"

# uvicorn + DuckDB + spatial start in ~1.5 s here; the bound is for a slow, loaded CI machine.
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
_POLL_S = 0.05
_LISTEN = re.compile(r'"event":\s*"rest\.listen"')


@dataclass(frozen=True)
class BqEmulator:
    endpoint: str
    project: str
    pid: int
    log: Path


class EmulatorError(RuntimeError):
    pass


def find_executable() -> Path | None:
    """$HOUSEJOBS_BQEMULATOR if set (it must exist), else the repo's .emulators venv, else None."""
    configured = os.environ.get(ENV_EXECUTABLE)
    if configured:
        path = Path(configured)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise EmulatorError(f"{ENV_EXECUTABLE}={configured} is not an executable file")
        return path
    return DEFAULT_EXECUTABLE if DEFAULT_EXECUTABLE.is_file() else None


def home_for(executable: Path) -> Path:
    """The HOME prepared beside the venv: <root>/venv/bin/bqemulator -> <root>/home."""
    return executable.absolute().parents[2] / "home"


@contextmanager
def running_bqemulator(
    executable: Path,
    *,
    project: str = DEFAULT_PROJECT,
    home: Path | None = None,
    startup_timeout: float = STARTUP_TIMEOUT_S,
) -> Iterator[BqEmulator]:
    """Start an ephemeral (in-memory) emulator on free ports, wait until it answers, stop it on exit."""
    home = home or home_for(executable)
    if not (home / ".duckdb").is_dir():
        raise EmulatorError(f"{home} has no DuckDB extensions; run scripts/dev/setup-emulators.sh")
    workdir = Path(tempfile.mkdtemp(prefix="bqemulator-"))
    log = workdir / "emulator.log"
    # Port 0 lets the OS pick free ports with no window for another process to take them; the emulator
    # logs the REST port it got as a JSON line, which we read back from the log file.
    argv = [
        str(executable),
        "start",
        "--rest-port",
        "0",
        "--grpc-port",
        "0",
        "--project",
        project,
        "--ephemeral",
        "--log-level",
        "info",
        "--log-format",
        "json",
    ]
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            argv,
            cwd=workdir,
            env=_env(home),
            stdin=subprocess.DEVNULL,
            stdout=sink,  # a file, not a pipe: nobody has to drain it while tests run
            stderr=subprocess.STDOUT,
            # Keep a terminal's Ctrl-C away from the emulator; the fixture stops it in order.
            start_new_session=True,
        )
    try:
        port = _wait_for_port(proc, log, startup_timeout)
        endpoint = f"http://127.0.0.1:{port}"
        _wait_until_healthy(proc, log, endpoint, startup_timeout)
        yield BqEmulator(endpoint=endpoint, project=project, pid=proc.pid, log=log)
    finally:
        _stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def _env(home: Path) -> dict[str, str]:
    # The emulator's venv is self-contained: keep our own venv's or user settings out of its imports
    # and config (BQEMU_* are read by bqemulator's settings).
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("BQEMU_") and k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    }
    env["HOME"] = str(home)
    # The avro extension is optional and not provisioned; without this the emulator tries to download
    # it at every start, which costs a timeout on networks that drop rather than refuse connections.
    env["BQEMU_ENABLE_FORMAT_EXTENSIONS"] = "false"
    return env


def _wait_for_port(proc: subprocess.Popen[bytes], log: Path, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in log.read_text(errors="replace").splitlines():
            if _LISTEN.search(line):
                try:
                    return int(json.loads(line)["port"])
                except (ValueError, KeyError, TypeError):
                    continue
        _check_alive(proc, log)
        time.sleep(_POLL_S)
    raise EmulatorError(f"bqemulator did not report its port within {timeout:.0f} s\n{_tail(log)}")


def _wait_until_healthy(proc: subprocess.Popen[bytes], log: Path, endpoint: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _check_alive(proc, log)
        try:
            with urllib.request.urlopen(f"{endpoint}/healthz", timeout=1.0) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(_POLL_S)
    raise EmulatorError(f"bqemulator at {endpoint} did not answer within {timeout:.0f} s\n{_tail(log)}")


def _check_alive(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is not None:
        raise EmulatorError(f"bqemulator exited with {proc.returncode} while starting\n{_tail(log)}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT_S)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
