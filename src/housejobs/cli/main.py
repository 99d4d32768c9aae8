"""The housejobs command line, and THE error boundary.

The commands (cli/*_commands.py) are thin: they parse and return the runner's `Run`. Here it is rendered
(cli/render.py) and its outcome becomes the exit code (results.EXIT_CODES, one table). Whatever escapes a
command — a usage error, an error outside any run, an internal error, a signal — ends here as one line on
stderr and a defined exit code, never a traceback. `sys.exit` is called in this module only.

Only typer and the standard library load at start-up; each command imports what it needs (the Google
libraries cost 0.3-0.45 s each, so `--help` and the API-only jobs never load them).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
import typer.main
from click import ClickException
from click.exceptions import NoArgsIsHelpError

from housejobs import __version__

# Importing a command module registers its commands on the app, in this order, the order `--help` lists
# them in (after the jobs: cli/job_group.py): the Cloud Run commands, the tool's own, history and backfill.
# isort: off
from housejobs.cli import deploy_commands  # noqa: F401
from housejobs.cli import info_commands  # noqa: F401
from housejobs.cli import history_commands  # noqa: F401
from housejobs.cli import logs_commands  # noqa: F401
# isort: on
from housejobs import stopping
from housejobs.cli.app import app, drop_runtime, runtime, use_runtime
from housejobs.cli.job_group import JobGroup
from housejobs.errors import Stopped
from housejobs.results import Run
from housejobs.runtime import Runtime
from housejobs.stopping import signum_of

if TYPE_CHECKING:
    pass


def _version(value: bool) -> None:
    if value:
        runtime().stdout.write(f"housejobs {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Run, schedule and deploy the platform's maintenance jobs on Cloud Run Jobs."""


@functools.cache
def _command() -> Any:
    """The click command tree, built once per process (typer rebuilds it on every call, ~35 ms)."""
    from housejobs.cli.complete import attach

    app.info.cls = JobGroup  # the root: the tool's commands, and one per catalog job, built when asked for
    command = typer.main.get_command(app)
    command.params = [_completion_option(p) if p.name in ("install_completion", "show_completion") else p
                      for p in command.params]
    attach(command)  # the values of --env, job names, reminder types ... complete too
    return command


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _completion_option(typer_param: Any) -> click.Option:
    """Typer's own completion option, taking an optional SHELL. Typer's takes no value wherever it can
    detect the shell, so `--show-completion zsh` in bash printed bash's script and ignored `zsh`. Typer's
    callback still does the work (detecting the shell when none is named); it runs against the run's own
    streams, and its sys.exit() becomes an exit code, so `run_cli` stays usable in process."""
    what = "Install shell completion" if typer_param.name == "install_completion" else "Print the completion script"

    def complete(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        shell = value.strip().lower()
        if shell and shell not in SHELLS:
            from housejobs.errors import unknown_name

            raise unknown_name("shell", value, SHELLS)
        rt = runtime()
        with contextlib.redirect_stdout(rt.stdout), contextlib.redirect_stderr(rt.stderr):
            try:
                typer_param.callback(ctx, param, shell or True)
            except SystemExit as exc:
                raise typer.Exit(exc.code if isinstance(exc.code, int) else 0) from None

    return click.Option(typer_param.opts, metavar="[SHELL]", is_flag=False, flag_value="", default=None,
                        expose_value=False, callback=complete,
                        help=f"{what} for SHELL ({', '.join(SHELLS)}) [default: this shell].")


def usage_error(exc: ClickException) -> tuple[str, str]:
    """A usage error Click found, as housejobs says every refusal: the error (an unknown command or option
    in the words `unknown job` uses), and the fix (the one typo-hint format, then where to look)."""
    from click.exceptions import NoSuchOption

    from housejobs.errors import choices_hint

    ctx = getattr(exc, "ctx", None)
    see = f"see `{ctx.command_path} --help`" if ctx is not None else "see `housejobs --help`"
    name = getattr(exc, "command_name", None)  # click.exceptions.NoSuchCommand (click 8.4+)
    if isinstance(name, str):
        return f"unknown command {name!r}", choices_hint(name, getattr(exc, "possibilities", None) or (), see=see)
    if isinstance(exc, NoSuchOption):
        return (f"unknown option {exc.option_name!r}",
                choices_hint(exc.option_name, exc.possibilities or (), see=see))
    return exc.format_message(), see


def _refuse_through_the_boundary(rt: Runtime, argv: list[str], message: str, hint: str) -> int:
    """Inside Cloud Run a usage error (a bad trigger or override argument) is a run like any other: a
    JSON error record, the run summary and the failure notification, not just a line of text."""
    from housejobs.cli.options import refusal, run
    from housejobs.cli.render import render
    from housejobs.cli.text import job_word
    from housejobs.context import Options
    from housejobs.errors import UsageError

    done = run(Options(json="--json" in argv), job_word(argv), refusal(UsageError(message, hint=hint)))
    render(done, rt)
    return done.result.exit_code


@contextlib.contextmanager
def _warnings_as_log_lines(rt: Runtime) -> Iterator[None]:
    """Python warnings become log records like every other stderr line. Google's libraries warn on import
    once the Python version passes its end of life (for 3.11: from late October 2027): printed raw, that
    text would break the one-JSON-object-per-line contract Cloud Logging reads."""
    import warnings

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        rt.logger().warning(
            str(message), event="python_warning", category=category.__name__)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def run_cli(argv: list[str], rt: Runtime | None = None) -> int:
    """Run the CLI in this process and return its exit code (tests and `main` both come here)."""
    token = use_runtime(rt)
    current = runtime()
    try:
        try:
            with _warnings_as_log_lines(current):
                command = _command()
                stopping.check()  # a stop that waited for an import (cli/entry.py) to finish
                value = command.main(args=argv, prog_name="housejobs", standalone_mode=False)
            return _finish(value, current)
        except typer.Abort:
            current.stderr.write("error: aborted\n")
            return 130
        except NoArgsIsHelpError as exc:
            # `housejobs` or `housejobs config` alone asks what there is: the help, on stdout, like `git`.
            current.stdout.write(exc.ctx.get_help() + "\n")
            return 0
        except ClickException as exc:
            from housejobs.cli.text import refusal_lines
            from housejobs.redact import redact
            from housejobs.settings import register_secret_values

            message, hint = usage_error(exc)
            # The message may quote a value typed in the wrong place, a secret pasted as an option
            # included: make every configured secret known to redaction first.
            register_secret_values(current.environ)
            message, hint = redact(message), redact(hint)
            if current.in_cloud_run:
                return _refuse_through_the_boundary(current, argv, message, hint)
            width = current.columns if current.stderr_tty else None
            current.stderr.write("".join(line + "\n" for line in refusal_lines(message, hint, width)))
            return 2
        except (KeyboardInterrupt, Stopped) as exc:
            # Stopped before the command reached the run boundary (building the command tree, parsing, a
            # command importing what it needs): no run, but still its summary record and exit code.
            from housejobs.cli.stopped import stopped_outside_a_run

            stopping.handled()
            return stopped_outside_a_run(argv, signum_of(exc), "before the run began", stderr=current.stderr,
                                         tty=bool(current.stderr_tty), environ=current.environ, logger=current.logger())
    except Exception as exc:  # noqa: BLE001 - the last error boundary, outside any run
        from housejobs.errors import HousejobsError

        signum = stopping.stop_behind(exc)
        if signum is not None:  # an error a stop caused (see stopping.stop_behind): the stop's outcome
            from housejobs.cli.stopped import stopped_outside_a_run

            stopping.handled()
            return stopped_outside_a_run(argv, signum, "before the run began", stderr=current.stderr,
                                         tty=bool(current.stderr_tty), environ=current.environ,
                                         logger=current.logger())
        from housejobs.redact import printable
        from housejobs.results import EXIT_CODES

        if isinstance(exc, HousejobsError):
            from housejobs.cli.text import refusal_lines

            width = current.columns if current.stderr_tty else None
            current.stderr.write("".join(line + "\n" for line in refusal_lines(exc.message, exc.hint, width)))
            return EXIT_CODES[exc.outcome]
        current.stderr.write(printable(f"error: internal error: {exc.__class__.__name__}") + "\n")
        return 1
    finally:
        drop_runtime(token)


def _finish(value: Any, rt: Runtime) -> int:
    """A command's return: a run, rendered, exits with its outcome's code; a server or a typer.Exit, its own."""

    if isinstance(value, Run):
        from housejobs.cli.render import render

        render(value, rt)
        return value.result.exit_code
    return value if isinstance(value, int) else 0


def main() -> None:
    # Arguments and environment values that are not UTF-8 reach Python as surrogates. stderr escapes
    # them; stdout would raise mid-render and turn, say, a refused `--env` into an internal error.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    sys.exit(run_cli(sys.argv[1:]))
