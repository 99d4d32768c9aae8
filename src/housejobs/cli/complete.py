"""Shell completion of option and argument values: env names, job names, reminder types, --fail-on states.

Click calls these through the `_HOUSEJOBS_COMPLETE` protocol (the script `--show-completion` prints) with
the words typed so far; each returns the values that start with the word being completed. They are given
to Typer as `autocompletion=`, which finds their two parameters by name (`ctx`, `incomplete`). They read the
catalog and environments.toml the run would read (the runtime's HOUSEJOBS_JOBS_DIR, else the checkout or
the packaged copy), and fall back to the built-in names when those cannot be read: completion never fails
and never prints an error. Everything is imported inside the functions, so `--help` pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import click

from housejobs.cli.app import runtime


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
    """The catalog's jobs (else the registry's)."""
    from housejobs.jobs.registry import REGISTRY

    return _starting(_catalog() or REGISTRY, incomplete)


def triggered_job_names(ctx: click.Context, incomplete: str) -> list[str]:
    """The catalog's jobs that have triggers (pause, resume)."""
    return _starting((name for name, job in _catalog().items() if job.triggers), incomplete)


def backfill_job_names(ctx: click.Context, incomplete: str) -> list[str]:
    """The period jobs backfill takes."""
    from housejobs.jobs.period_rules import rule_for

    names = _catalog() or job_names(ctx, "")
    return _starting((n for n in names if (rule := rule_for(n)) is not None and rule.backfillable), incomplete)


def trigger_names(ctx: click.Context, incomplete: str) -> list[str]:
    """The triggers of the job already typed (pause JOB --trigger …). Click parses the line leniently while
    it completes, so the job may still be among the words it left unparsed."""
    typed = ctx.params.get("job") or next(iter(ctx.args), "")
    job = _catalog().get(str(typed))
    return _starting((t.name for t in job.triggers) if job is not None else (), incomplete)


def reminder_types(ctx: click.Context, incomplete: str) -> list[str]:
    from housejobs.jobs.reminder import REMINDER_TYPES

    return _starting(REMINDER_TYPES, incomplete)


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
