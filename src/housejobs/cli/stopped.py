"""A SIGINT or SIGTERM that stops the process outside any run: during start-up (cli/entry.py, while the
CLI still imports) or before a command reached the run boundary (cli/main.py: typer building the
command tree, click parsing, a command importing what it needs). There is no run to summarise, yet its
callers (a terminal, Cloud Logging, whatever started the process) still get one line that says so: the
`run_summary` record off a terminal, an `error:` line on one, and the signal's exit code (130 / 143).
"""

from __future__ import annotations

import signal
from collections.abc import Mapping
from typing import TextIO

from housejobs.cli.text import job_word
from housejobs.logs import Logger
from housejobs.redact import printable
from housejobs.stopping import signal_exit_code


def stopped_outside_a_run(argv: list[str], signum: int, when: str, *, stderr: TextIO, tty: bool,
                          environ: Mapping[str, str], logger: Logger) -> int:
    from housejobs.settings import register_secret_values

    code = signal_exit_code(signum)
    register_secret_values(environ)  # a key pasted where the job name goes must not be echoed
    message = f"{job_word(argv)} interrupted ({signal.Signals(signum).name} {when}, before any work)"
    if tty:
        stderr.write(printable(f"error: {message}") + "\n")
        stderr.flush()
    else:
        logger.log("WARNING", message, event="run_summary", outcome="interrupted", exit_code=code, counts={},
                   attempts=0)
    return code
