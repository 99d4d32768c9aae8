"""`housejobs smoke`: prove a deployment works from inside Cloud Run, changing nothing.

    checks = doctor's checklist (housejobs.jobs.doctor)                     reads only
    for every catalog job (bounded parallelism across jobs):
        wait for any execution of it that is already running           follow it, never touch it
        start the job with `--dry-run` appended to its catalog args    runs.py's start and follow
        follow the execution to the end

Every job's dry run changes nothing and proves what it calls (the admin API jobs ask
GET /admin/capabilities with the deployment's key, then the API's own dry run of their call where it offers
one; org-sync-all also pages its shard of the orgs; migrate reads the history; quota-cleanup counts rows and
dry-runs the DELETE; the reminder asks the bot for its own dry run). A wrong key is `refused` (exit 2), so
the execution fails and the smoke is red. A smoke run proves the image, its secrets, its service account
and the API it calls without changing any of them. The one thing it creates is executions.

A job with variants (the reminder's TYPEs, as its spec says) gets one dry run per variant; a job whose
triggers pass other args, one per distinct set of them, so each thing a trigger will start is tried;
any other job gets one. A job whose spec says it has no dry run (jobs/spec.py) gets none.

An execution already running is waited for, not skipped: a skipped job would make the smoke red (or,
if counted as passed, untested) for a reason that says nothing about the deployment, and after a
deploy the point is to try the new image on every job. Dry runs of one job run one after another, so
they never wait for each other.

A dry run passes when the job itself says so: every task's `run_summary` (read from Cloud Logging,
jobs/summaries.py) combines to `dry-run`. A container that exited 0 with another word (`refused` for a
wrong key, say) or with no summary found is red, whatever Cloud Run's state says.

The result is `dry-run` (exit 0) only if every check and every dry run passed — what the outcome table
says of a run that changed nothing, which is what a green smoke proves; `applied` would claim work was
done — `failed` (1) otherwise, `refused` (2) when the configuration does not resolve; its details carry
the checks and the rows as data, and its views (the checklist, then one table) are what cli/render.py draws of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from housejobs.catalog import JobDef, load_catalog
from housejobs.context import Context, log_status
from housejobs.errors import HousejobsError, UsageError, choices_hint
from housejobs.gcp.executions import CloudRunExecutions
from housejobs.jobs import registry
from housejobs.jobs.cloud_run import CloudRunJobs, finish, follow, project_region
from housejobs.jobs.doctor import Checklist, run_checks
from housejobs.jobs.spec import DRY_RUN_FLAG, JobSpec
from housejobs.results import Checklist as ChecklistView
from housejobs.results import JobResult, Outcome, Table, View

DEFAULT_CONCURRENCY = 4


@dataclass(frozen=True)
class DryRun:
    job: str
    trigger: str | None  # the variant, or the trigger whose args it carries when the job's triggers pass args
    extra: tuple[str, ...] = ()  # the variant, or the trigger's args, before --dry-run

    @property
    def label(self) -> str:
        return self.job if self.trigger is None else f"{self.job} ({self.trigger})"

    def args(self, job: JobDef) -> list[str]:
        return job.container_args((*self.extra, DRY_RUN_FLAG))


def check_only(only: Collection[str], catalog: Iterable[str]) -> None:
    names = sorted(catalog)
    for name in only:
        if name not in names:
            raise UsageError(f"--only {name!r} is not a catalog job", hint=choices_hint(name, names))


def plan_dry_runs(catalog: dict[str, JobDef], only: Collection[str],
                  spec_of: Callable[[str], JobSpec[Any]]) -> list[DryRun]:
    """The dry runs of every catalog job that has one (or of those in `only`), in catalog order: one per
    variant of a job with variants (its TYPEs, as its spec says), else one per distinct set of trigger
    args (a job without trigger args: one)."""
    out: list[DryRun] = []
    for job in catalog.values():
        if only and job.name not in only:
            continue
        spec = spec_of(job.name)
        if not spec.dry_run:
            continue
        if spec.variants is not None:
            out += [DryRun(job.name, variant, (variant,)) for variant in spec.variants.values]
            continue
        distinct: dict[tuple[str, ...], str] = {}
        for trigger in job.triggers:
            distinct.setdefault(trigger.args, trigger.name)
        if not any(distinct):
            out.append(DryRun(job.name, None))
            continue
        out += [DryRun(job.name, name if args else None, args) for args, name in distinct.items()]
    return out


@dataclass
class Row:
    label: str
    job: str
    args: list[str]
    execution: str = ""  # the execution id, once started
    outcome: str = "not run"  # the job's own (dry-run when it passed), else why not: refused, interrupted ...
    state: str = ""  # the execution's, as Cloud Run reports it
    duration_s: float | None = None
    log_uri: str = ""
    message: str = ""
    waited_for: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.outcome == Outcome.DRY_RUN.value

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "label": self.label, "args": self.args, "execution": self.execution,
                "outcome": self.outcome, "state": self.state, "passed": self.passed, "duration_s": self.duration_s,
                "log_uri": self.log_uri, "message": self.message, "waited_for": self.waited_for}


async def run_smoke(ctx: Context, *, only: Collection[str] = (), concurrency: int = DEFAULT_CONCURRENCY) -> JobResult:
    if not ctx.env:
        raise UsageError("smoke needs an environment", hint="pass --env test, stage or prod")
    if concurrency < 1:
        raise UsageError(f"--concurrency must be at least 1, got {concurrency}")
    checklist = await run_checks(ctx)
    if checklist.config_error:
        details = {"checks": [c.as_dict() for c in checklist.checks], "rows": []}
        return JobResult(Outcome.REFUSED, checklist.checks[0].detail, details=details,
                         views=[ChecklistView(tuple(checklist.checks))])
    catalog = load_catalog(ctx.settings.jobs_dir)
    check_only(only, catalog)
    project_region(ctx, "smoke")  # a missing project or region refuses the smoke, not each row
    jobs = CloudRunJobs(ctx)
    by_job: dict[str, list[DryRun]] = {}
    for dry in plan_dry_runs(catalog, only, registry.lookup(ctx.settings.jobs_dir)):
        by_job.setdefault(dry.job, []).append(dry)
    gate = asyncio.Semaphore(concurrency)
    batches = await asyncio.gather(*(
        _job_dry_runs(ctx, jobs, catalog[job], runs, gate)
        for job, runs in by_job.items()))
    return _result(ctx, checklist, [row for batch in batches for row in batch])


async def _job_dry_runs(ctx: Context, jobs: CloudRunJobs, job: JobDef, runs: list[DryRun],
                        gate: asyncio.Semaphore) -> list[Row]:
    rows = [Row(dry.label, dry.job, dry.args(job)) for dry in runs]
    async with gate:
        try:
            job_name = jobs.job_name(job.name, ctx.env or "")
            waited = await _wait_for_running(ctx, jobs.executions, job_name)
        except HousejobsError as exc:  # not provisioned, no permission: every row of the job says so
            for row in rows:
                row.outcome, row.message = exc.outcome.value, exc.line()
            return rows
        if waited is None:
            return _interrupted(rows)
        rows[0].waited_for = waited
        for row in rows:
            if ctx.stop.is_set():
                return _interrupted(rows)
            await _dry_run(ctx, jobs, job_name, row)
    return rows


async def _wait_for_running(ctx: Context, executions: CloudRunExecutions, job_name: str) -> list[str] | None:
    """Follow every execution of the job that is still running to its end (None: a signal came)."""
    waited: list[str] = []
    for status in await executions.running(job_name):
        ctx.logger.info(f"{status.id} is running: waiting for it before the dry run", event="smoke_waiting",
                        execution=status.name)
        with log_status(ctx, status.id) as show:
            ended = await follow(ctx, executions, status, show)
        if ended is None:
            return None
        waited.append(status.id)
    return waited


async def _dry_run(ctx: Context, jobs: CloudRunJobs, job_name: str, row: Row) -> None:
    try:
        status = await jobs.executions.start(job_name, args=row.args, tasks=None)
    except HousejobsError as exc:
        row.outcome, row.message = exc.outcome.value, exc.line()
        return
    row.execution, row.log_uri = status.id, status.log_uri
    ctx.logger.info(f"{row.label}: started {status.id}", event="smoke_dry_run_started", execution=status.name,
                    args=row.args)
    try:
        with log_status(ctx, status.id) as show:
            final = await follow(ctx, jobs.executions, status, show)
            if final is None:
                row.outcome, row.message = "interrupted", f"stopped following {status.id}; the execution keeps running"
                return
            result = await finish(ctx, jobs, final, {}, show, log_link=False)  # the table has a column for it
    except HousejobsError as exc:  # reads gave up: the execution's end is unknown
        row.outcome, row.message = exc.outcome.value, exc.line()
        return
    row.outcome, row.state, row.duration_s = result.outcome.value, final.state, final.duration_s()
    row.log_uri = final.log_uri or row.log_uri
    if not row.passed:
        row.message = (result.message if result.details.get("outcome_from") == "container"
                       else f"the job said {row.outcome}, not dry-run: {result.message}")
    ctx.logger.log("INFO" if row.passed else "ERROR", f"{row.label}: {row.outcome}", event="smoke_dry_run",
                   execution=status.name, outcome=row.outcome, state=row.state, duration_s=row.duration_s)


def _interrupted(rows: list[Row]) -> list[Row]:
    for row in rows:
        if row.outcome == "not run":
            row.outcome, row.message = "interrupted", "not started: stopped by signal"
    return rows


def _result(ctx: Context, checklist: Checklist, rows: list[Row]) -> JobResult:
    checks = checklist.checks
    failed_checks = checklist.failed
    failed_rows = [r for r in rows if not r.passed]
    counts = {"checks": len(checks), "checks_failed": len(failed_checks), "dry_runs": len(rows),
              "succeeded": len(rows) - len(failed_rows), "failed": len(failed_rows)}
    message = (f"{len(checks) - len(failed_checks)} of {len(checks)} checks passed, "
               f"{counts['succeeded']} of {len(rows)} dry runs succeeded")
    failures = [{"unit": f"check {c.name}", "reason": c.detail} for c in failed_checks]
    failures += [{"unit": r.label, "reason": r.message or r.outcome} for r in failed_rows]
    if failures:
        message += "; failed: " + ", ".join(f["unit"] for f in failures)
    details = {"checks": [c.as_dict() for c in checks], "rows": [r.as_dict() for r in rows]}
    # One table row per dry run: job, execution, outcome, duration, log link.
    views: list[View] = [ChecklistView(tuple(checks)), Table(("JOB", "EXECUTION", "OUTCOME", "DURATION", "LOGS"), tuple(
        (r.label, r.execution or "—", r.outcome, "—" if r.duration_s is None else f"{r.duration_s:.1f} s",
         r.log_uri or "—") for r in rows))]
    if ctx.stop.is_set():
        return JobResult(Outcome.INTERRUPTED, message, counts, details, failures=failures, signal=ctx.stop.signal,
                         views=views)
    outcome = Outcome.FAILED if failures else Outcome.DRY_RUN
    return JobResult(outcome, message, counts, details, failures=failures, views=views)

