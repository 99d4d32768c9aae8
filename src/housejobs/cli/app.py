"""The Typer app every command module adds its commands to, and the runtime of this invocation.

Only typer and the standard library load here: `housejobs --help` must stay light (bench/startup.py).
"""

from __future__ import annotations

import contextvars

import typer

from housejobs.runtime import Runtime

app = typer.Typer(
    name="housejobs",
    help="Run, schedule and deploy the platform's maintenance jobs on Cloud Run Jobs.\n\n"
    "Without --env or --api-url, a job that calls the admin API or the bot runs against the embedded "
    "sandbox: you can try it with no cloud account.",
    no_args_is_help=True,
    # --install-completion / --show-completion: ~4 ms of start-up (typer.completion), well inside the
    # 2.0x `import typer` budget (bench/startup.py).
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help everywhere: rich help costs 2x the start-up of plain help (bench/startup.py) and a
    # CLI that runs every few minutes in Cloud Run should not pay that to print help it never shows.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Click (8.4+) suggests a close command name itself; Typer's own suggestion would say it twice.
    suggest_commands=False,
)

_runtime: contextvars.ContextVar[Runtime] = contextvars.ContextVar("housejobs_runtime")


def runtime() -> Runtime:
    """The runtime of this invocation: the one `run_cli` was given, else the process's own."""
    rt = _runtime.get(None)
    if rt is None:
        rt = Runtime()
        _runtime.set(rt)
    return rt


def use_runtime(rt: Runtime | None) -> contextvars.Token[Runtime] | None:
    return _runtime.set(rt) if rt is not None else None


def drop_runtime(token: contextvars.Token[Runtime] | None) -> None:
    if token is not None:
        _runtime.reset(token)
