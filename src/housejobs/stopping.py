"""`Stopped`: SIGTERM or SIGINT, raised by the process's signal handlers; and `Stop`, a running job's
stop request (the runner's signal handler requests it; the job reads it).

Its own module, importing nothing but the interpreter's built-in `_signal`, because the console script's
first handler (cli/entry.py) raises it while the CLI is still importing: a handler that imported a module
of its own there would run that import in the middle of another one (a half-loaded `inspect`, say) and
fail with an AttributeError instead of ending the run `interrupted`. housejobs.errors re-exports it with
the rest of the exception tree.
"""

from __future__ import annotations

# The C module under `signal`: `import signal` loads enum (a few milliseconds at start-up, before the
# console script's handlers can go in); the numbers and the handler call are the same.
import _signal  # type: ignore[import-not-found]

TYPE_CHECKING = False  # not `from typing import ...`: this module loads nothing (mypy reads the name alike)
if TYPE_CHECKING:
    import asyncio


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived outside a running job (start-up, a prompt, a report): the run ends
    `interrupted` with 128 + the signal's number. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signum_of(exc: Stopped | KeyboardInterrupt) -> int:
    """The signal that stopped the run: Stopped says which; a bare KeyboardInterrupt is SIGINT."""
    return exc.signum if isinstance(exc, Stopped) else int(_signal.SIGINT)


def signal_exit_code(signum: int) -> int:
    """A run ended by a signal exits 128 + its number, as shells report it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum


# The signal a handler last raised Stopped for, until a boundary handles it. Python swallows an exception
# raised inside a weakref callback or a __del__ (the import system runs such callbacks): the stop is then
# not lost, but noticed at the run boundary's next check.
pending: int | None = None


def handled() -> None:
    """A boundary turned the stop into its outcome."""
    global pending
    pending = None


def check() -> None:
    """Raise the stop a swallowed Stopped left pending (the run boundary asks before any work)."""
    if pending is not None:
        raise Stopped(pending)


def stop_behind(exc: BaseException) -> int | None:
    """The signal behind `exc`, or None: a Stopped or KeyboardInterrupt itself, or any error raised while a
    stop is pending (Python 3.11 wraps an exception raised in `__set_name__` in a RuntimeError)."""
    if isinstance(exc, Stopped | KeyboardInterrupt):
        return signum_of(exc)
    return pending


def install(handler: object) -> None:
    """`handler` for SIGINT and SIGTERM: the console script's first act (cli/entry.py)."""
    for signum in (_signal.SIGINT, _signal.SIGTERM):
        _signal.signal(signum, handler)


class Stop:
    """The run's stop request. The runner requests it once, on SIGINT/SIGTERM; jobs read it and take no new
    unit of work once it is set (`wait()` for a job that sleeps between polls)."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None
        self._signal: int | None = None

    @property
    def event(self) -> asyncio.Event:
        if self._event is None:
            import asyncio  # here, not at the top: --help should not pay for asyncio

            self._event = asyncio.Event()
        return self._event

    @property
    def signal(self) -> int | None:
        """The signal that stopped the run; None while it runs on."""
        return self._signal

    def is_set(self) -> bool:
        return self._signal is not None

    def request(self, signum: int) -> bool:
        """Stop for `signum`; True the first time (the grace period starts), False when already stopping."""
        if self._signal is not None:
            return False
        self._signal = signum
        self.event.set()
        return True
