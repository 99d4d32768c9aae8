"""The console script's first code: made safe before anything heavy loads.

Importing the CLI (typer, click) takes a few hundred milliseconds, and a signal in that window used to
bypass every handler: SIGTERM killed the process with no summary, SIGINT printed a raw KeyboardInterrupt
traceback. So the handlers go in first, with the standard library only: from here on SIGTERM and SIGINT
raise `Stopped`, which the run boundary turns into `interrupted` (143 / 130) with its summary, and which
this module handles itself if it arrives before the boundary exists. The standard streams are made safe
too: a closed one is reopened on /dev/null (so no file the run opens can take its descriptor, and writing
a result cannot crash the run), and a write that fails (a full disk, a closed pipe) is dropped, so the exit
code is always the outcome's.
"""

from __future__ import annotations

import io
import os
import sys

from housejobs import stopping
from housejobs.stopping import Stopped

# No `typing`, `types` or `signal` before the handlers are in: each costs milliseconds of start-up in
# which a signal would still meet Python's own handling (a KeyboardInterrupt traceback, a silent SIGTERM).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, TextIO


class SafeStream(io.TextIOBase):
    """A standard stream whose failures are dropped: the exit code must not depend on stdout being
    writable. After the first failure the descriptor is pointed at /dev/null, so what Python still holds
    in its own buffer does not fail again at exit (which would change the exit status to 120)."""

    def __init__(self, inner: TextIO, fd: int) -> None:
        self.inner = inner
        self.fd = fd
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self.inner.write(text)
            except (OSError, ValueError):
                self._break()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.inner.flush()
            except (OSError, ValueError):
                self._break()

    def _break(self) -> None:
        self.broken = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self.fd)
            os.close(null)
        except OSError:
            pass

    def isatty(self) -> bool:
        try:
            return self.inner.isatty()
        except (OSError, ValueError, AttributeError):
            return False

    def fileno(self) -> int:
        return self.fd

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self.inner, "encoding", "utf-8"))

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return getattr(self.inner, "errors", None)

    def reconfigure(self, **kwargs: Any) -> None:
        reconfigure = getattr(self.inner, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(**kwargs)


def _open_closed_std_fds() -> None:
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free descriptor: this one
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def _stream(current: TextIO | None, fd: int) -> TextIO:
    # closed when Python started: a text stream of our own on the descriptor
    inner = current if current is not None else open(  # noqa: SIM115
        fd, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
    return SafeStream(inner, fd)  # type: ignore[return-value]  # a TextIO in all but name


def _stop(signum: int, frame: FrameType | None) -> None:
    # No import here: the signal may land in the middle of one (see housejobs.stopping).
    stopping.pending = signum
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            # Inside an import: raising would leave a module half made (a C extension initialised twice
            # prints to stderr; a class whose __set_name__ it hit turns it into a RuntimeError). The stop
            # waits until the import is done: the next check (stopping.check) raises it.
            return
        frame = frame.f_back
    raise Stopped(signum)


def _unraisable(unraisable: Any) -> None:
    # A Stopped raised inside a callback Python runs for the import system is swallowed ("Exception
    # ignored in ...", a traceback on stderr): the stop stays pending for the run boundary instead.
    if isinstance(unraisable.exc_value, Stopped):
        return
    sys.__unraisablehook__(unraisable)


def main() -> None:
    stopping.install(_stop)
    sys.unraisablehook = _unraisable
    _open_closed_std_fds()
    if sys.stdin is None:
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.stdout = _stream(sys.stdout, 1)
    sys.stderr = _stream(sys.stderr, 2)
    try:
        from housejobs.cli.main import main as cli_main

        stopping.check()  # a stop that arrived while the CLI imported
        cli_main()
    except BaseException as exc:
        signum = None if isinstance(exc, SystemExit) else stopping.stop_behind(exc)
        if signum is None:
            raise
        sys.exit(_stopped_during_start_up(signum))


def _stopped_during_start_up(signum: int) -> int:
    """A stop before the run boundary existed: still one summary record, and the signal's exit code."""
    from housejobs.cli.stopped import stopped_outside_a_run
    from housejobs.logs import Logger

    return stopped_outside_a_run(sys.argv[1:], signum, "during start-up", stderr=sys.stderr, tty=sys.stderr.isatty(),
                                 environ=os.environ, logger=Logger(stream=sys.stderr))


__all__ = ["SafeStream", "main"]
