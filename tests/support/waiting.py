"""Waiting on a condition, with a bound: the one loop tests use for what a real process or server does in
its own time (a claim appearing, a handler installed, progress made). Never a fixed sleep: the loop ends
as soon as the condition holds, and fails with what it waited for once the bound has passed."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

POLL_S = 0.01


def wait_until(condition: Callable[[], bool], what: str, *, timeout: float = 30.0,
               proc: subprocess.Popen[Any] | None = None) -> None:
    """Return once `condition()` holds; fail after `timeout` seconds, or as soon as `proc` (the process
    that should make it hold) has ended."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc is not None:
            assert proc.poll() is None, f"the process ended (exit {proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out after {timeout:g} s waiting for {what}"
        time.sleep(POLL_S)
