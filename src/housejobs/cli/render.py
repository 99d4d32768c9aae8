"""The one renderer: every run's result on stdout, always redacted, with control characters made visible.

A job's run: a summary line (job · target · outcome · calls · duration), its counts, its views, the calls a
dry run would make and its failures; or with --json one document (meta, outcome, exit code, message,
counts, details, planned, failures). A report (list-jobs, config show, doctor): its view, or with --json its
own document; a report refused before it could read anything: its `error:` line on stderr, and the fix
on a `hint:` line of its own.

On a terminal every view (tables, checklists, history's grid) is drawn by rich (cli/terminal.py) and each
state in its colour (cli/palette.py); off one the same content is plain text (cli/text.py: what Cloud
Logging and scripts read), and rich is not even loaded. Colour follows the conventions, here for every
stream (progress on stderr too): NO_COLOR (any value) turns it off, FORCE_COLOR turns it on (off a
terminal too), and TERM=dumb means none.
"""

from __future__ import annotations

import contextlib

from housejobs.cli.text import refusal_lines, report_text, run_lines
from housejobs.redact import printable
from housejobs.results import Run
from housejobs.runtime import Runtime


def colour(rt: Runtime, *, stderr: bool = False) -> bool:
    """Whether what goes to stdout (or stderr: progress) is coloured (no-color.org, force-color.org,
    TERM=dumb): the one rule, for every stream housejobs draws on."""
    env = rt.environ
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return bool(rt.stderr_tty if stderr else rt.stdout_tty) and env.get("TERM") != "dumb"


def drawn(rt: Runtime) -> bool:
    """Whether a result is drawn for a terminal (rich, fitted to its width) rather than printed as plain text."""
    return bool(rt.stdout_tty) or colour(rt)


def render(run: Run, rt: Runtime) -> None:
    with contextlib.suppress(BrokenPipeError):
        if run.report and run.result.document is None:
            # A report that could not read what it reports (an unknown env, a broken catalog, no Google
            # credentials): the error line, and its fix on a line of its own.
            width = rt.columns if rt.stderr_tty else None
            rt.stderr.write("".join(line + "\n" for line in refusal_lines(run.result.message, run.result.hint, width)))
            rt.stderr.flush()
            return
        if not run.as_json and drawn(rt):
            from housejobs.cli.terminal import draw

            draw(run, rt, colour=colour(rt))
            return
        text = report_text(run) if run.report else "\n".join(run_lines(run))
        rt.stdout.write(printable(text) + "\n")
        rt.stdout.flush()
