"""`Stopped`: SIGTERM or SIGINT, raised by the process's signal handlers.

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
