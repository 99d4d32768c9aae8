"""Spawning the real CLI as a process, the one way every test does it.

A spawned process runs on the machine's clock, not the tests' FakeClock: a job that picks "today" or
"this month" by itself would apply a different period on every day the suite runs, and the test that
expects a fixed period would pass only on the day it was written. So every command that applies a
business period must be given it explicitly; `cli_command` refuses an argv that omits it.
CI proves the rule by running the suite a second time under libfaketime at a month and year boundary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import pytest

# The commands that choose a period from the clock when none is given, and the flag that fixes it.
PERIOD_FLAGS = {
    "quota-reset": "--date",
    "stale-cleanup": "--date",
    "alerts": "--date",
    "org-sync-all": "--date",
    "quota-monthly": "--month",
    "reminder": "--period",
}


def command_of(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def check_period(argv: list[str]) -> None:
    command = command_of(argv)
    flag = PERIOD_FLAGS.get(command or "")
    if flag is None or "--help" in argv or "-h" in argv:
        return
    if not any(a == flag or a.startswith(flag + "=") for a in argv):
        raise AssertionError(f"a spawned `housejobs {command}` must be given {flag}: a process runs on the real "
                             f"clock, so without it the test depends on today's date (argv: {argv})")


def cli_command(*argv: str) -> list[str]:
    """`python -m housejobs ARGV` for subprocess, after checking that the period is explicit."""
    check_period(list(argv))
    return [sys.executable, "-m", "housejobs", *argv]


def _environment(kwargs: dict[str, Any], extra_env: Mapping[str, str] | None) -> None:
    # The test's environment (known: tests/support/hermetic.py; the suite's sentinels, its state dir) with
    # `extra_env` set over it; `env=` instead gives the whole environment. Text is UTF-8 both ways, whatever
    # locale the test process itself started with.
    if extra_env is not None:
        if "env" in kwargs:
            raise TypeError("give env= (the whole environment) or extra_env= (set over os.environ), not both")
        kwargs["env"] = {**os.environ, **extra_env}
    if kwargs.get("text") is not False and "encoding" not in kwargs:
        kwargs["encoding"] = "utf-8"


def run_cli_process(argv: list[str], *, extra_env: Mapping[str, str] | None = None,
                    **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """`housejobs ARGV` run to its end: output captured as text, 60 s bound, no check (subprocess.run's
    keywords override these); `extra_env` is set over the test's os.environ."""
    _environment(kwargs, extra_env)
    kwargs.setdefault("capture_output", True)
    kwargs.setdefault("text", True)
    kwargs.setdefault("timeout", 60)
    kwargs.setdefault("check", False)
    return subprocess.run(cli_command(*argv), **kwargs)


def spawn_cli(argv: list[str], *, extra_env: Mapping[str, str] | None = None,
              **kwargs: Any) -> subprocess.Popen[str]:
    """`housejobs ARGV` started: stdout and stderr piped as text (subprocess.Popen's keywords override these);
    `extra_env` is set over the test's os.environ."""
    _environment(kwargs, extra_env)
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    kwargs.setdefault("text", True)
    return subprocess.Popen(cli_command(*argv), **kwargs)


def without_faketime(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with libfaketime left out (its FAKETIME* settings, and its entry in LD_PRELOAD; any other
    preloaded library stays): for a process started with a standard descriptor closed, and for one a test
    runs under a faketime of its own.

    libfaketime opens its shared clock (/dev/shm/faketime_shm_*) when the process starts, on the lowest
    free descriptor: with stdout closed, that is descriptor 1. The process then writes its output into the
    clock every process of the faketime run shares, and from then on `time.monotonic()` overflows in all of
    them. The clock is the harness's, not the product's, so a closed-descriptor run goes without it: it is
    given its period like every spawn, so the real clock cannot change what it does."""
    out = {k: v for k, v in env.items() if not k.startswith("FAKETIME")}
    preload = " ".join(p for p in out.get("LD_PRELOAD", "").replace(":", " ").split() if "faketime" not in p)
    if preload:
        out["LD_PRELOAD"] = preload
    else:
        out.pop("LD_PRELOAD", None)
    return out


def faketime() -> str:
    """The faketime command, for a test that sets the date on purpose; skipped when it is not installed,
    failed when HOUSEJOBS_REQUIRE_FAKETIME (CI) is set. Give the process `without_faketime(env)`, so a CI
    pass under a faketime of its own does not stack on the test's."""
    found = shutil.which("faketime")
    if found is None:
        if os.environ.get("HOUSEJOBS_REQUIRE_FAKETIME"):
            pytest.fail("faketime is required (HOUSEJOBS_REQUIRE_FAKETIME is set): apt-get install faketime")
        pytest.skip("faketime is not installed (Debian package faketime)")
    return found
