"""Shell completion of option and argument values: env names, job names, a job's TYPEs, --fail-on states.

Click calls these through the `_HOUSEJOBS_COMPLETE` protocol (the script `--show-completion` prints) with
the words typed so far; each returns the values that start with the word being completed. `attach` puts
them on the click tree once it is built, by parameter name (Typer's own `autocompletion=` inspects each
function's signature for every parameter it is given to: ~7 ms more on every `--help`). They read the
catalog and environments.toml the run would read (the runtime's HOUSEJOBS_JOBS_DIR, else the checkout or
the packaged copy), and fall back to the built-in names when those cannot be read: completion never fails
and never prints an error. Everything is imported inside the functions, so `--help` pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import click

from housejobs.cli.app import runtime

if TYPE_CHECKING:
    from housejobs.jobs.spec import JobSpec


def _starting(names: Iterable[str], incomplete: str) -> list[str]:
    return [n for n in dict.fromkeys(names) if n.startswith(incomplete)]


def _catalog() -> dict[str, Any]:
    from housejobs.catalog import load_catalog
    from housejobs.errors import HousejobsError
    from housejobs.settings import find_jobs_dir

    try:
        return dict(load_catalog(find_jobs_dir(runtime().environ)[0]))
    except (HousejobsError, OSError, ValueError):
        return {}


def env_names(ctx: click.Context, incomplete: str) -> list[str]:
    """test, stage and prod: those environments.toml defines, else all three."""
    from housejobs.errors import HousejobsError
    from housejobs.settings import ENV_NAMES, find_jobs_dir, read_toml

    try:
        defined = read_toml(find_jobs_dir(runtime().environ)[0] / "environments.toml")
        names = [n for n in ENV_NAMES if n in defined] or list(ENV_NAMES)
    except (HousejobsError, OSError, ValueError):
        names = list(ENV_NAMES)
    return _starting(names, incomplete)


def job_names(ctx: click.Context, incomplete: str) -> list[str]:
    """The catalog's jobs."""
    return _starting(_catalog(), incomplete)


def triggered_job_names(ctx: click.Context, incomplete: str) -> list[str]:
    """The catalog's jobs that have triggers (pause, resume)."""
    return _starting((name for name, job in _catalog().items() if job.triggers), incomplete)


def _spec(name: str) -> JobSpec[Any] | None:
    """The job's spec, or None when it cannot be found."""
    from housejobs.errors import HousejobsError
    from housejobs.jobs.registry import find
    from housejobs.settings import find_jobs_dir

    try:
        return find(name, find_jobs_dir(runtime().environ)[0])
    except HousejobsError:
        return None


def backfill_job_names(ctx: click.Context, incomplete: str) -> list[str]:
    """The period jobs backfill takes."""
    return _starting((n for n in _catalog() if (spec := _spec(n)) is not None and spec.backfillable), incomplete)


def trigger_names(ctx: click.Context, incomplete: str) -> list[str]:
    """The triggers of the job already typed (pause JOB --trigger …). Click parses the line leniently while
    it completes, so the job may still be among the words it left unparsed."""
    typed = ctx.params.get("job") or next(iter(ctx.args), "")
    job = _catalog().get(str(typed))
    return _starting((t.name for t in job.triggers) if job is not None else (), incomplete)


def variants(ctx: click.Context, incomplete: str) -> list[str]:
    """The TYPEs of the job being completed: the command's own (reminder TYPE), or --type's job (backfill
    JOB --type); its spec's variants."""
    if ctx.command.name == "backfill":  # the job may still be among the words click left unparsed
        typed = ctx.params.get("job") or next(iter(ctx.args), "")
    else:
        typed = ctx.command.name or ""
    spec = _spec(str(typed))
    return _starting(spec.variants.values if spec is not None and spec.variants is not None else (), incomplete)


def severities(ctx: click.Context, incomplete: str) -> list[str]:
    """Cloud Logging's severities (logs --severity), in either case as typed."""
    from housejobs.gcp.log_query import SEVERITIES

    upper = incomplete.upper()
    return [s if incomplete.isupper() or not incomplete else s.lower() for s in SEVERITIES if s.startswith(upper)]


def fail_on_states(ctx: click.Context, incomplete: str) -> list[str]:
    """A comma list: the states not yet in it, after what is typed up to the last comma."""
    from housejobs.jobs.history import FAIL_ON_STATES

    done, _, last = incomplete.rpartition(",")
    taken = set(done.split(",")) if done else set()
    prefix = f"{done}," if done else ""
    return [prefix + s for s in FAIL_ON_STATES if s not in taken and s.startswith(last)]


Completer = Callable[[click.Context, str], list[str]]
# Which values each parameter takes, by its name; a command whose parameter takes other values says so.
BY_NAME: dict[str, Completer] = {"env": env_names, "job": job_names, "only": job_names,
                                 "variant": variants, "trigger": trigger_names,
                                 "fail_on": fail_on_states, "severity": severities}
BY_COMMAND: dict[tuple[str, str], Completer] = {("backfill", "job"): backfill_job_names,
                                                ("pause", "job"): triggered_job_names,
                                                ("resume", "job"): triggered_job_names}


def attach(command: click.Command) -> None:
    """Give every parameter of the tree its values' completion (click's `shell_complete`, set as Typer sets
    its own: on the parameter once it is made)."""
    for param in command.params:
        found = BY_COMMAND.get((command.name or "", param.name or "")) or BY_NAME.get(param.name or "")
        if found is not None:
            param._custom_shell_complete = _items(found)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            attach(sub)


def _items(fn: Completer) -> Callable[[click.Context, click.Parameter, str], list[Any]]:
    def shell_complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(value) for value in fn(ctx, incomplete or "")]

    return shell_complete
