"""The real CLI run in the test's process, with an injected runtime (streams, environment, clock)."""

from __future__ import annotations

import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housejobs.cli.main import run_cli
from housejobs.runtime import Runtime
from tests.support.clock import FakeClock

# What every CLI run of the current test printed: tests/conftest.py checks it for secrets after the test.
OUTPUTS: list[str] = []


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    sleeps: list[float] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.stdout)

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr.splitlines() if line.strip()]


class Cli:
    """Runs the real CLI in this process with an injected runtime (streams, environment, clock).

    The run's environment is the test's os.environ, which starts known (tests/support/hermetic.py: no
    terminal, colour, width, locale, HOUSEJOBS_*, Google or proxy settings of the user's), with `env` set
    over it and `unset` taken out. `tty=True` makes the streams terminals; a test that wants colour says
    so too (`env=COLOUR_TERMINAL`), as a test that wants a width passes COLUMNS.
    """

    def __init__(self, clock: FakeClock, tmp_path: Path) -> None:
        self.clock = clock
        self.cwd = tmp_path

    def __call__(self, *argv: str, env: dict[str, str] | None = None, stdin: str = "",
                 tty: bool = False, unset: tuple[str, ...] = ()) -> CliResult:
        environ = dict(os.environ)
        environ.update(env or {})
        for key in unset:
            environ.pop(key, None)
        out, err = io.StringIO(), io.StringIO()
        before = len(self.clock.sleeps)
        rt = Runtime(environ=environ, stdin=io.StringIO(stdin), stdout=out, stderr=err, stdin_tty=tty,
                     stdout_tty=tty, stderr_tty=tty, clock=self.clock, cwd=self.cwd, terminal=None)
        code = run_cli(list(argv), rt)
        result = CliResult(code, out.getvalue(), err.getvalue(), self.clock.sleeps[before:])
        OUTPUTS.extend([result.stdout, result.stderr])
        assert "Traceback" not in result.stderr, result.stderr
        return result
