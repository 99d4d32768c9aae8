"""`Stopped`: SIGTERM or SIGINT, raised by the process's signal handlers.

Its own module, importing nothing, because the console script's first handler (cli/entry.py) raises it
while the CLI is still importing: a handler that imported a module of its own there would run that import
in the middle of another one (a half-loaded `inspect`, say) and fail with an AttributeError instead of
ending the run `interrupted`. housejobs.errors re-exports it with the rest of the exception tree.
"""

from __future__ import annotations

import signal


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived outside a running job (start-up, a prompt, a report): the run ends
    `interrupted` with 128 + the signal's number. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def signum_of(exc: Stopped | KeyboardInterrupt) -> int:
    """The signal that stopped the run: Stopped says which; a bare KeyboardInterrupt is SIGINT."""
    return exc.signum if isinstance(exc, Stopped) else int(signal.SIGINT)


def signal_exit_code(signum: int) -> int:
    """A run ended by a signal exits 128 + its number, as shells report it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + signum
