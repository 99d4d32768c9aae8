"""A job, declared once: its JobSpec. Each job module declares its own (`SPEC`, or `SPECS` for a module that
declares several) and jobs/catalog.toml names the module; everything else is derived from the two:

    from the spec      the command (its options, help, variant argument, period option, completion), how a
                       request is parsed from them, the checks `run` and `backfill` make, the period a run's
                       args name and whether they ask for a dry run (history's reader), the argv that makes
                       a run apply a period (backfill), smoke's dry runs, release --local's steps, the IAM a
                       deployment needs for what the job calls (`uses`), and the README's job table
    from the catalog   the one-line description (`--help`'s listing, list-jobs, Scheduler), kind, schedule,
                       resources, secrets

Standard library only, and low in the layout (beside the catalog), so the CLI, provisioning, history,
backfill and smoke all read specs without importing what a job runs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from housejobs.results import JobResult
    from housejobs.target import Use

DATE, MONTH = "date", "month"
UTC_ZONE, HOUSEHOLD = "utc", "household"  # where a period's calendar is read
# The flag every job command takes for a dry run: smoke appends it, history reads it back from the args.
DRY_RUN_FLAG = "--dry-run"

# What a catalog entry's `module` must be: a dotted Python module name (the one rule; catalog.py checks it).
MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*\Z")

R = TypeVar("R")


@dataclass(frozen=True)
class PeriodRule:
    """How a job's runs name their business period: history, backfill and the job's own default read it."""

    unit: str  # DATE or MONTH
    zone: str = UTC_ZONE  # or HOUSEHOLD: the calendar of household_time_zone
    option: str | None = None  # the command's option that names the period; None: a run cannot be given one
    help: str | None = None  # the option's help [default: the unit's, below]
    fixed: str = "a run cannot be given its period"  # why not, when `option` is None (backfill says it)

    @property
    def backfillable(self) -> bool:
        return self.option is not None

    @property
    def example(self) -> str:
        return "2026-11-24" if self.unit == DATE else "2026-11"

    @property
    def metavar(self) -> str:
        return "YYYY-MM-DD" if self.unit == DATE else "YYYY-MM"

    @property
    def option_help(self) -> str:
        if self.help is not None:
            return self.help
        return "Business date [default: today, UTC]." if self.unit == DATE else \
            "Business month [default: this month, UTC]."


@dataclass(frozen=True)
class Variants:
    """A job each of whose runs takes one of a few values as its first argument (the reminder's TYPE): the
    command's argument, `backfill --type`, one dry run each in smoke, and what `run` needs after `--`."""

    values: tuple[str, ...]
    dest: str  # the request's field that carries it
    what: str  # how a refusal names one ("reminder type")
    metavar: str = "TYPE"

    @property
    def help(self) -> str:
        return f"{', '.join(self.values[:-1])} or {self.values[-1]}." if len(self.values) > 1 else \
            f"{self.values[0]}."


@dataclass(frozen=True)
class Opt:
    """One option of a job's command beyond those every job takes; `dest` is the request's field it fills."""

    flag: str
    dest: str
    help: str
    metavar: str | None = None  # None: a flag (a bool)
    default: Any = None
    kind: type = str  # str, int or bool
    many: bool = False  # repeatable: the request gets a list (None when not given)
    lo: int | None = None  # an int's range
    hi: int | None = None
    show_default: bool = True


@dataclass(frozen=True)
class RunArgs:
    """What a run's container args say about it."""

    period: str | None  # the period its option names (None: the job's default for when it ran)
    dry_run: bool  # it ran with --dry-run: it changed nothing, so it is no period's and no slot's run


@dataclass(frozen=True)
class Sub(Generic[R]):
    """A command under a job's own (`migrate status`): a report that changes nothing, so it takes neither
    --dry-run nor --yes."""

    name: str
    run_name: str  # what its summary and notification call it
    help: str
    request: type[R]
    run: Callable[[Any, R], Awaitable[JobResult]]
    options: tuple[Opt, ...] = ()


@dataclass(frozen=True)
class JobSpec(Generic[R]):
    name: str
    help: str  # the command's help after the catalog's one-line description; ends with an `Example:` line
    uses: tuple[Use, ...]  # what it calls (housejobs.target): the first is what its run summary names
    request: type[R]  # a frozen dataclass: its fields are the options', the period's and the variant's dests
    run: Callable[[Any, R], Awaitable[JobResult]]  # async (ctx, request) -> JobResult
    confirm: str | Callable[[R], str]  # what prod confirms, for this request
    options: tuple[Opt, ...] = ()  # its own, in --help order, before the options every job takes
    period: PeriodRule | None = None
    variants: Variants | None = None
    dry_run: bool = True  # it takes --dry-run (smoke starts one of each job that does)
    dry_run_help: str | None = None  # --dry-run's help, when the job's dry run is not the usual one
    check: Callable[[R, datetime], None] | None = None  # refuses bad input before any prompt (exit 2)
    subcommands: tuple[Sub[Any], ...] = ()

    @property
    def sandbox(self) -> bool:
        """Whether a run without an env falls back to the embedded sandbox, which plays the admin API and
        the bot (a Supabase project or a BigQuery table has no stand-in)."""
        return any(use in ("admin", "bot") for use in self.uses)

    @property
    def backfillable(self) -> bool:
        return self.period is not None and self.period.backfillable

    def parse(self, values: Mapping[str, Any]) -> R:
        """The request from the command's parsed values (named by dest)."""
        return self.request(**values)

    def request_for(self, period: str | None = None, variant: str | None = None) -> R:
        """The request of a run with the job's defaults, for `period` (None: its default) and `variant`:
        what release --local and backfill --local run."""
        names = {f.name for f in fields(self.request)}  # type: ignore[arg-type]
        given: dict[str, Any] = {"period": period} if "period" in names else {}
        if self.variants is not None:
            given[self.variants.dest] = variant
        return self.request(**given)

    def confirm_for(self, request: R) -> str:
        return self.confirm(request) if callable(self.confirm) else self.confirm

    def argv(self, period: str, variant: str | None = None) -> tuple[str, ...]:
        """The arguments that make a run apply `period` (appended to the job's catalog args)."""
        if self.period is None or self.period.option is None:
            raise ValueError(f"{self.name} takes no business period")
        return ((variant,) if variant is not None else ()) + (self.period.option, period)

    def read_args(self, args: Sequence[str] | None) -> RunArgs:
        """Read a run's args as the command reads them: its period option (`--date X` or `--date=X`, the
        last one wins), the `--dry-run` flag, and nothing after a bare `--` (click's end of options)."""
        option = self.period.option if self.period is not None else None
        period, dry_run = None, False
        items = list(args or ())
        i = 0
        while i < len(items):
            arg = items[i]
            if arg == "--":
                break
            if option is not None and arg == option:
                period = items[i + 1] if i + 1 < len(items) else period
                i += 2
                continue
            if option is not None and arg.startswith(option + "="):
                period = arg.split("=", 1)[1]
            elif arg == DRY_RUN_FLAG:
                dry_run = True
            i += 1
        return RunArgs(period, dry_run)


@dataclass(frozen=True)
class PeriodRequest:
    """The request of a job whose only input is its period (None: its default)."""

    period: str | None = None


@dataclass(frozen=True)
class NoRequest:
    """The request of a job that takes no input of its own."""
