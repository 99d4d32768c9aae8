"""Process facts, read once: the environment, the standard streams and whether they are terminals, the
clock, the working directory, and the Cloud Run task this process is (CLOUD_RUN_*).

Everything above reads these from a `Runtime`, never from `os.environ` or `sys.stdin` directly, so a test
builds its own runtime and runs the CLI in-process with its streams, environment and clock.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from housejobs.clock import Clock, SystemClock
from housejobs.errors import ConfigError
from housejobs.settings import SettingsFiles, ascii_int

if TYPE_CHECKING:
    import httpx

    from housejobs.logs import Logger
    from housejobs.settings_model import Settings


DEFAULT_COLUMNS = 80


@dataclass(frozen=True)
class CloudRunTask:
    """The Cloud Run execution and task this process runs as (both CLOUD_RUN_JOB and CLOUD_RUN_EXECUTION
    set), parsed once: the org-sync shard, the notification's run and attempt, bootstrap's key and the
    `refused inside Cloud Run` rules all read it from here."""

    job: str
    execution: str
    index: int = 0  # CLOUD_RUN_TASK_INDEX
    count: int = 1  # CLOUD_RUN_TASK_COUNT
    attempt: int | None = None  # CLOUD_RUN_TASK_ATTEMPT, 0-based; None when Cloud Run did not say


def parse_cloud_run_task(environ: Mapping[str, str]) -> CloudRunTask | None:
    job, execution = environ.get("CLOUD_RUN_JOB"), environ.get("CLOUD_RUN_EXECUTION")
    if not (job and execution):
        return None
    index = _whole(environ, "CLOUD_RUN_TASK_INDEX", 0)
    count = _whole(environ, "CLOUD_RUN_TASK_COUNT", 1)
    if count < 1 or not 0 <= index < count:
        raise ConfigError(f"CLOUD_RUN_TASK_INDEX={index} is outside CLOUD_RUN_TASK_COUNT={count}")
    attempt = _whole(environ, "CLOUD_RUN_TASK_ATTEMPT", -1)
    return CloudRunTask(job, execution, index, count, attempt if attempt >= 0 else None)


def _whole(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None:
        return default
    value = ascii_int(raw.strip())
    if value is None or value < 0:
        # Cloud Run sets these; a value that is not one is a broken environment, not something to guess at.
        raise ConfigError(f"{name}={raw[:20]!r} is not a whole number", hint="Cloud Run sets it; unset it outside")
    return value


@dataclass
class Runtime:
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin_tty: bool | None = None
    stdout_tty: bool | None = None
    stderr_tty: bool | None = None
    clock: Clock = field(default_factory=SystemClock)
    # The time of the notification deliveries, which run on real sockets in threads beside the job: a
    # clock of their own, because a test's fake `clock` jumps whenever the job sleeps, and would spend a
    # sink's time (HOUSEJOBS_NOTIFY_TIMEOUT) while its request is still on the wire.
    notify_clock: Clock = field(default_factory=SystemClock)
    cwd: Path = field(default_factory=Path.cwd)
    # Tests may route the admin API client through an httpx transport of their own.
    transport: httpx.AsyncBaseTransport | None = None
    # Secret Manager reader, replaceable so tests can point it at a fake server by setting instead.
    secret_reader: Callable[[Settings, str], str] | None = None
    # Where the prod prompt is asked when stdin is a terminal (so it is seen when stdout and stderr go to
    # files); None: ask on stderr and read stdin (in-process tests hand the runtime its streams).
    terminal: str | None = "/dev/tty"

    def __post_init__(self) -> None:
        if self.stdin_tty is None:
            self.stdin_tty = _isatty(self.stdin)
        if self.stdout_tty is None:
            self.stdout_tty = _isatty(self.stdout)
        if self.stderr_tty is None:
            self.stderr_tty = _isatty(self.stderr)

    @cached_property
    def columns(self) -> int:
        """The terminal's width in cells: COLUMNS from this run's environment (what shells export), else the
        size of the terminal stdout (else stderr) is, else 80 (the width a terminal without a size is taken
        to have). Never the process's own os.environ: a test's runtime is its own."""
        raw = self.environ.get("COLUMNS", "").strip()
        given = ascii_int(raw) if len(raw) <= 5 else None
        if given is not None and given > 0:
            return given
        for stream in (self.stdout, self.stderr):
            try:
                size = os.get_terminal_size(stream.fileno()).columns
            except (AttributeError, OSError, ValueError):  # not a file, or not a terminal
                continue
            if size > 0:
                return size
        return DEFAULT_COLUMNS

    @cached_property
    def files(self) -> SettingsFiles:
        """./.env and jobs/environments.toml as this run reads them: each at most once."""
        return SettingsFiles(self.environ, self.cwd)

    @property
    def in_cloud_run(self) -> bool:
        """Inside a Cloud Run execution: no prompt, never the sandbox, and the execution's env is the env."""
        return bool(self.environ.get("CLOUD_RUN_JOB") and self.environ.get("CLOUD_RUN_EXECUTION"))

    @cached_property
    def task(self) -> CloudRunTask | None:
        """The Cloud Run task, or None outside one; a malformed CLOUD_RUN_* value raises ConfigError."""
        return parse_cloud_run_task(self.environ)

    @property
    def execution(self) -> str | None:
        return self.environ.get("CLOUD_RUN_EXECUTION") or None

    def logger(self, *, debug: bool = False) -> Logger:
        """A logger to this process's stderr: JSON lines off a terminal, short lines on one; the runtime's clock."""
        from housejobs.logs import Logger  # not at import: `--help` loads this module

        return Logger(stream=self.stderr, json_lines=not self.stderr_tty, debug=debug, clock=self.clock.now)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
