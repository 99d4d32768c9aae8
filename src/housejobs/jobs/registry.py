"""Every job housejobs can run, by name: what it is, what it talks to, what prod confirms, how a run picks
its business period, and how to run it with its defaults.

The one list. The CLI defines the period commands from it, `release --local` and `backfill --local` run
jobs through it, history and backfill read the period rules from it, and a test checks its names against
jobs/catalog.toml (schedules live in the catalog only: `housejobs list-jobs` shows them). The job modules
load only when a job runs, so `housejobs --help` reads this table and nothing heavier.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from housejobs.jobs.admin_calls import PERIOD_JOBS

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.results import JobResult
    from housejobs.target import Use

DATE, MONTH = "date", "month"
# The flag every job command takes for a dry run: smoke appends it, history reads it back from the args.
DRY_RUN_FLAG = "--dry-run"
UTC_ZONE, HOUSEHOLD = "utc", "household"


@dataclass(frozen=True)
class PeriodRule:
    """How a job's runs name their business period (history, backfill, and the job's own default)."""

    job: str
    unit: str  # DATE or MONTH
    zone: str  # UTC_ZONE or HOUSEHOLD: where the calendar is read
    option: str | None  # the job's CLI option that carries the period; None: it takes none

    @property
    def backfillable(self) -> bool:
        return self.option is not None

    @property
    def example(self) -> str:
        return "2026-11-24" if self.unit == DATE else "2026-11"


@dataclass(frozen=True)
class JobArgs:
    """What a run of a job may be given beyond its defaults (release and backfill pass these)."""

    period: str | None = None  # None: the job's default (today, this month, in its zone)
    reminder_type: str | None = None


Runner = Callable[["Context", JobArgs], Awaitable["JobResult"]]


@dataclass(frozen=True)
class JobSpec:
    name: str
    summary: str  # one line; the command's help starts with it
    uses: tuple[Use, ...]  # what it calls (housejobs.target): the first is what its summary names
    confirm: str  # the action prod confirms
    run: Runner
    period: PeriodRule | None = None


async def _period_job(ctx: Context, args: JobArgs, name: str) -> JobResult:
    from housejobs.jobs.admin import run_period_job

    return await run_period_job(ctx, PERIOD_JOBS[name], args.period)


def _period(name: str) -> Runner:
    async def run(ctx: Context, args: JobArgs) -> JobResult:
        return await _period_job(ctx, args, name)

    return run


async def _bootstrap(ctx: Context, args: JobArgs) -> JobResult:
    from housejobs.jobs.admin import run_bootstrap

    return await run_bootstrap(ctx)


async def _org_sync(ctx: Context, args: JobArgs) -> JobResult:
    from housejobs.jobs.org_sync import org_sync_job

    return await org_sync_job(ctx, date=args.period)


async def _reminder(ctx: Context, args: JobArgs) -> JobResult:
    from housejobs.errors import UsageError
    from housejobs.jobs.reminder import ReminderRequest, run_reminder

    if args.reminder_type is None:
        raise UsageError("the reminder needs its type", hint="utilities, rent-warning or rent-due")
    return await run_reminder(ctx, ReminderRequest(args.reminder_type, args.period, None))


async def _quota_cleanup(ctx: Context, args: JobArgs) -> JobResult:
    from housejobs.jobs.quota_cleanup import DEFAULT_DAYS, run_quota_cleanup

    return await run_quota_cleanup(ctx, days=DEFAULT_DAYS)


async def _migrate(ctx: Context, args: JobArgs) -> JobResult:
    from housejobs.jobs.migrate import run_migrate

    return await run_migrate(ctx, directory=None, include_all=False)


def _daily(name: str, summary: str) -> JobSpec:
    return JobSpec(name, summary, ("admin",), f"run {name}", _period(name),
                   PeriodRule(name, DATE, UTC_ZONE, "--date"))


REGISTRY: dict[str, JobSpec] = {spec.name: spec for spec in (
    JobSpec("migrate", "Apply pending Supabase SQL migrations through the Management API.", ("supabase",),
            "apply migrations", _migrate),
    JobSpec("bootstrap", "Create the platform's tables (fresh install) or add missing columns (existing install).",
            ("admin",), "run bootstrap", _bootstrap),
    JobSpec("org-sync-all", "Sync every active org's datasets.", ("admin",), "run org-sync-all", _org_sync,
            PeriodRule("org-sync-all", DATE, UTC_ZONE, "--date")),
    _daily("quota-reset", "Reset every org's daily quota counters."),
    JobSpec("quota-cleanup", "Delete quota rows older than the retention period from BigQuery.", ("bigquery",),
            "delete old quota rows", _quota_cleanup, PeriodRule("quota-cleanup", DATE, UTC_ZONE, None)),
    _daily("stale-cleanup", "Fix stale quota counters."),
    _daily("alerts", "Process and send every org's alerts."),
    JobSpec("quota-monthly", "Reset every org's monthly quota counters.", ("admin",), "run quota-monthly",
            _period("quota-monthly"), PeriodRule("quota-monthly", MONTH, UTC_ZONE, "--month")),
    JobSpec("reminder", "Ask the household bot to dispatch one reminder, exactly once per billing period.",
            ("bot",), "dispatch the reminder", _reminder, PeriodRule("reminder", MONTH, HOUSEHOLD, "--period")),
)}

# The admin API's single-call period jobs: one command each, the same options (cli/job_commands.py).
ADMIN_PERIOD_JOBS = tuple(PERIOD_JOBS)
RELEASE_STEPS = ("migrate", "bootstrap", "org-sync-all")


def spec(name: str) -> JobSpec:
    from housejobs.errors import unknown_name

    found = REGISTRY.get(name)
    if found is None:
        raise unknown_name("job", name, REGISTRY)
    return found
