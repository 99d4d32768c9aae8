"""`Stopped`: SIGTERM or SIGINT, raised by the process's signal handlers.

Its own module, importing nothing, because the console script's first handler (cli/entry.py) raises it
while the CLI is still importing: a handler that imported a module of its own there would run that import
in the middle of another one (a half-loaded `inspect`, say) and fail with an AttributeError instead of
ending the run `interrupted`. housejobs.errors re-exports it with the rest of the exception tree.
"""

from __future__ import annotations


class Stopped(BaseException):
    """SIGTERM or SIGINT arrived outside a running job (start-up, a prompt, a report): the run ends
    `interrupted` with 128 + the signal's number. A BaseException, like KeyboardInterrupt, so that no
    `except Exception` on the way swallows it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
