"""Helpers for the benchmarks: the command that runs housejobs, a sandbox in its own process, and timing
subprocesses side by side."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

KEY = "bench-key-not-a-secret"
ROOT = Path(__file__).resolve().parent.parent


def housejobs(*argv: str) -> list[str]:
    """`housejobs ARGV` as this interpreter runs it (python -m housejobs)."""
    return [sys.executable, "-m", "housejobs", *argv]


@contextmanager
def sandbox_process(orgs: int, latency_ms: float = 0.0) -> Iterator[str]:
    """`housejobs sandbox` as a separate process, so client and server each get a core."""
    with sandbox_server(orgs, latency_ms) as (url, _):
        yield url


@contextmanager
def sandbox_server(orgs: int, latency_ms: float = 0.0,
                   extensions: str | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`sandbox_process`, also giving the process (for its CPU time); `extensions` as `--extensions` takes them
    (None: the default, all)."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CA_ROOT_API_KEY": KEY}
        extra = ["--extensions", extensions] if extensions is not None else []
        proc = subprocess.Popen(housejobs("sandbox", "--port", "0", "--db", f"{tmp}/bench.db", "--orgs", str(orgs),
                                          "--latency-ms", str(latency_ms), *extra),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            m = re.search(r"http://127\.0\.0\.1:\d+", line)
            if not m:
                raise RuntimeError(f"sandbox did not start: {line!r}")
            yield m.group(0), proc
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(argv: list[str], env: dict[str, str] | None = None,
          cwd: str | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds of one run of `argv` (output captured), and the run."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    return time.perf_counter() - start, done
