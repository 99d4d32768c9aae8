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
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CA_ROOT_API_KEY": KEY}
        proc = subprocess.Popen(housejobs("sandbox", "--port", "0", "--db", f"{tmp}/bench.db", "--orgs", str(orgs),
                                          "--latency-ms", str(latency_ms)),
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            m = re.search(r"http://127\.0\.0\.1:\d+", line)
            if not m:
                raise RuntimeError(f"sandbox did not start: {line!r}")
            yield m.group(0)
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def timed(argv: list[str], env: dict[str, str] | None = None,
          cwd: str | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall seconds of one run of `argv` (output captured), and the run."""
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    return time.perf_counter() - start, done
