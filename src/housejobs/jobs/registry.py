"""Every job housejobs can run, by name, like pip's command registry: jobs/catalog.toml lists the jobs and
names the module that declares each one's JobSpec (housejobs.jobs.spec); the module is imported the
first time its job is asked for. `housejobs --help` lists the jobs from the catalog alone (`listing`:
name, description, module), so it imports no job module.

Adding a job is its module and its catalog entry (and its endpoint in the sandbox): the CLI command,
backfill, history, smoke, provisioning, list-jobs and the README's job table follow from the two.
"""

from __future__ import annotations

import functools
import importlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from housejobs.errors import ConfigError, unknown_name
from housejobs.jobs.spec import MODULE_NAME
from housejobs.settings import read_toml

if TYPE_CHECKING:
    from housejobs.jobs.spec import JobSpec
    from housejobs.target import Use

RELEASE_STEPS = ("migrate", "bootstrap", "org-sync-all")
# The order `housejobs --help` has always listed the jobs in, ahead of the tool's own commands; a job with
# commands of its own is listed among the groups after them, as Typer lists groups. A catalog job named in
# neither comes after the first, in catalog order.
HELP_ORDER = ("quota-reset", "stale-cleanup", "alerts", "quota-monthly", "bootstrap", "org-sync-all",
              "quota-cleanup", "reminder")
HELP_ORDER_GROUPS = ("migrate",)


@dataclass(frozen=True)
class Listed:
    """A catalog job as `--help` lists it: read from the file, not validated (load_catalog validates it
    for every command that builds from the catalog)."""

    name: str
    description: str
    module: str | None


def listing(jobs_dir: Path) -> dict[str, Listed]:
    """The catalog's jobs, in catalog order; a catalog that cannot be read is refused in one line."""
    jobs = read_toml(jobs_dir / "catalog.toml").get("jobs")
    if not isinstance(jobs, dict) or not jobs:
        raise ConfigError("catalog.toml has no [jobs.*] tables")
    out: dict[str, Listed] = {}
    for name, raw in jobs.items():
        if isinstance(raw, dict):
            description, module = raw.get("description"), raw.get("module")
            out[name] = Listed(name, description if isinstance(description, str) else "",
                               module if isinstance(module, str) else None)
    return out


def help_order(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """The jobs as `--help` lists them: those before the tool's commands, and those among the groups."""
    names = list(names)
    first = [n for n in HELP_ORDER if n in names]
    groups = [n for n in HELP_ORDER_GROUPS if n in names]
    return first + [n for n in names if n not in first and n not in groups], groups


def spec(name: str, jobs_dir: Path) -> JobSpec[Any]:
    """The job's spec; an unknown job, or one whose module cannot be found, is refused in one line."""
    return specs(jobs_dir, (name,))[name]


def find(name: str, jobs_dir: Path) -> JobSpec[Any] | None:
    """The job's spec, or None when the catalog has no such job."""
    listed = listing(jobs_dir).get(name)
    return load(listed) if listed is not None else None


def specs(jobs_dir: Path, names: Iterable[str] | None = None) -> dict[str, JobSpec[Any]]:
    """The specs of `names` (default: every catalog job), by name, in the order asked."""
    listed = listing(jobs_dir)
    out: dict[str, JobSpec[Any]] = {}
    for name in listed if names is None else names:
        if name not in listed:
            raise unknown_name("job", name, listed)
        out[name] = load(listed[name])
    return out


def lookup(jobs_dir: Path) -> Callable[[str], JobSpec[Any]]:
    """`spec` for one jobs folder, its catalog read once (on the first look-up): for a command that looks
    up several jobs."""
    listed: dict[str, Listed] = {}

    def spec_of(name: str) -> JobSpec[Any]:
        if not listed:
            listed.update(listing(jobs_dir))
        if name not in listed:
            raise unknown_name("job", name, listed)
        return load(listed[name])

    return spec_of


def uses_of(steps: Iterable[JobSpec[Any]]) -> tuple[Use, ...]:
    """What a command that runs these jobs calls: every one's uses, what most of them call first (the run
    summary names it)."""
    count = Counter(use for step in steps for use in step.uses)
    return tuple(use for use, _ in count.most_common())


def load(listed: Listed) -> JobSpec[Any]:
    """The spec of a listed job, from the module the catalog names (imported on first use)."""
    where = f"catalog.toml jobs.{listed.name}"
    if listed.module is None or not MODULE_NAME.match(listed.module):
        raise ConfigError(f"{where} names no module that declares it",
                          hint='add e.g. module = "housejobs.jobs.admin" (the module that declares its JobSpec)')
    found = _declared(listed.module).get(listed.name)
    if found is None:
        raise ConfigError(f"{where}: module {listed.module} declares no job {listed.name!r}",
                          hint="a job module declares SPEC = JobSpec(name=...) or SPECS = (...)")
    return found


@functools.cache
def _declared(module: str) -> dict[str, JobSpec[Any]]:
    """The specs a job module declares, by name: imported once per process."""
    from housejobs.jobs.spec import JobSpec

    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(f"catalog.toml names module {module}, which cannot be imported: {exc}",
                          hint="check the name, and that the module is installed (or on PYTHONPATH)") from None
    declared = [getattr(loaded, "SPEC", None), *getattr(loaded, "SPECS", ())]
    return {s.name: s for s in declared if isinstance(s, JobSpec)}
