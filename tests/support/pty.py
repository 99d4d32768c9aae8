"""The real CLI on a real terminal: a pseudo-terminal of a given size, as a user's shell hands it over.

The size is set on the terminal itself (TIOCSWINSZ), and COLUMNS and LINES are left out of the child's
environment, so the CLI finds its width the way it does at a user's prompt. The terminal's own settings
(TERM, NO_COLOR, FORCE_COLOR) are the test's, never the user's: a colour terminal unless `env` says else.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping
from dataclasses import dataclass

from rich.cells import cell_len

from tests.support.process import cli_command

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class PtyResult:
    code: int
    text: str  # what the terminal showed (stdout), line ends as "\n"
    stderr: str

    @property
    def lines(self) -> list[str]:
        """The lines as seen: colours and other escapes stripped."""
        return [ANSI.sub("", line) for line in self.text.split("\n")]

    def widest(self) -> int:
        """The widest line, in terminal cells."""
        return max((cell_len(line) for line in self.lines), default=0)


def run_on_pty(argv: list[str], *, columns: int = 80, rows: int = 24, env: Mapping[str, str] | None = None,
               stdin_tty: bool = True, timeout: float = 60.0) -> PtyResult:
    """`housejobs ARGV` with stdout (and stdin, unless `stdin_tty` is false) on a new terminal `columns` wide;
    stderr is captured apart. `env` is set over the test's environment, without COLUMNS and LINES."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR", "FORCE_COLOR")}
    environ.update({"TERM": "xterm-256color", **(env or {})})
    try:
        proc = subprocess.Popen(cli_command(*argv), stdin=slave if stdin_tty else subprocess.DEVNULL,
                                stdout=slave, stderr=subprocess.PIPE, env=environ, close_fds=True)
    finally:
        os.close(slave)
    assert proc.stderr is not None
    err_fd = proc.stderr.fileno()
    chunks: dict[int, bytes] = {master: b"", err_fd: b""}
    open_fds = set(chunks)
    deadline = time.monotonic() + timeout
    try:
        while open_fds:  # both read as they come: a full stderr pipe must not stall the terminal's reader
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"housejobs {argv} still running after {timeout} s; it showed {chunks[master]!r}")
            ready, _, _ = select.select(list(open_fds), [], [], left)
            for fd in ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # EIO: the terminal's last writer has closed it
                    chunk = b""
                if chunk:
                    chunks[fd] += chunk
                else:
                    open_fds.discard(fd)
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
        os.close(master)
    out, err = chunks[master], chunks[err_fd].decode("utf-8", "replace")
    return PtyResult(code, out.decode("utf-8", "replace").replace("\r\n", "\n"), err)
