"""`housejobs run`: start a Cloud Run execution of a provisioned job and follow it to the end.

A run starts one execution of a provisioned job (`housejobs-<job>-<env>`) and polls it until it
completes; on a terminal it shows the execution's log lines as Cloud Logging shows them (`--no-logs`:
not). Its outcome is the job's own: the `run_summary` line of each task's last attempt, read from Cloud
Logging (jobs/summaries.py says how tasks combine, how long it waits for them and what it says when
they do not come):

    every task's summary read       the job's outcome (tasks combined)      its exit code
    no summary, container succeeded unconfirmed                              exit 0
    no summary, a task failed       failed                                   exit 1
    cancelled, no summary           failed                                   exit 1   the work was not done
    still running (--no-wait)       started                                  exit 0   not followed
    another execution running       refused                                  exit 2   (unless --allow-concurrent)
    Ctrl-C / SIGTERM while following interrupted                          130/143  the execution keeps running

Cancelled is not `interrupted`: the signal, if any, went to Cloud Run, not to this process, and
`interrupted` (130/143) means this process was stopped. Ctrl-C only stops following: Cloud Run goes
on, and the result says how to pick it up again (`--follow EXECUTION`).

The concurrency check (list the job's executions, refuse if one has no completion time) is
best-effort, like a CronJob's Forbid policy seen from outside: two operators starting the same job in
the same second can both pass it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from housejobs.catalog import JobDef, load_catalog
from housejobs.context import Context, Progress
from housejobs.errors import HousejobsError, UsageError, unknown_name
from housejobs.gcp.executions import CloudRunExecutions, ExecutionStatus, execution_path, job_path
from housejobs.gcp.log_query import SKEW, LogLine
from housejobs.jobs.waiting import sleep_or_stop
from housejobs.results import JobResult, Outcome
from housejobs.settings import Setting

if TYPE_CHECKING:
    from housejobs.gcp.cloud_logging import LogEntries
    from housejobs.jobs.log_tail import LogTail
    from housejobs.jobs.spec import JobSpec

# Polling: quick at first (short jobs end in seconds), then settling at one read every 15 s.
POLL_FIRST_S = 1.0
POLL_FACTOR = 1.5
POLL_MAX_S = 15.0
# Log lines are read at most this often while following: entries:list has a read quota (60 a minute
# per project), shared by every operator and report.
TAIL_EVERY_S = 3.0

# Operator arguments that would move an execution to another environment or target.
TARGET_FLAGS = frozenset({"--env", "--api-url", "--bot-url"})

@dataclass(frozen=True)
class RunRequest:
    job: str
    env: str
    tasks: int | None = None
    args: tuple[str, ...] | None = None
    wait: bool = True
    allow_concurrent: bool = False
    follow: str | None = None
    logs: bool = True  # show the execution's log lines while following (on a terminal)


def check_run(req: RunRequest, catalog: Iterable[str], spec_of: Callable[[str], JobSpec[Any]]) -> None:
    """Fail closed before any call or prompt: an unknown job or contradictory flags stop the run."""
    names = sorted(catalog)
    if req.job not in names:
        raise unknown_name("job", req.job, names)
    variants = spec_of(req.job).variants if req.follow is None and not req.args else None
    if variants is not None:
        # The job's container needs its variant; without one every task would fail on usage.
        raise UsageError(f"run {req.job} needs the {variants.what} after --",
                         hint=f"e.g. housejobs run {req.job} --env {req.env} -- {variants.values[0]}")
    for arg in req.args or ():
        flag = arg.split("=", 1)[0]
        if flag in TARGET_FLAGS:
            # Inside the container no prompt is shown: an argument that moves the run to another env or
            # target would skip the confirmation that env needs. Run that env's own job instead.
            raise UsageError(f"{flag} cannot be passed to a Cloud Run job: it would change where "
                             f"housejobs-{req.job}-{req.env} runs",
                             hint=f"run the other environment's job: housejobs run {req.job} --env ENV")
    if req.follow is not None and (req.tasks is not None or req.args is not None or not req.wait
                                   or req.allow_concurrent):
        raise UsageError("--follow picks up an execution that already started",
                         hint="drop --tasks, --no-wait, --allow-concurrent and the job arguments")


def project_region(ctx: Context, why: str) -> tuple[str, str]:
    """Where the jobs are: ctx's project and region, both required."""
    return ctx.settings.require(Setting.project, why), ctx.settings.require(Setting.region, why)


def cloud_run(ctx: Context, why: str = "run") -> tuple[CloudRunExecutions, str, str]:
    """The executions client for ctx's project and region, and the two (the jobs' paths need them)."""
    project, region = project_region(ctx, why)
    return CloudRunExecutions(ctx.settings, clock=ctx.clock, policy=ctx.retry_policy()), project, region


class CloudRunJobs:
    """What starting executions needs, made once per command and reused for every execution it starts
    (each period of a backfill, each step of a release): the executions client (and so its Google
    clients), the project and region, the catalog. Each is made on first use, so a missing setting
    fails the first execution, as it would alone; what failed is tried again on the next use."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @cached_property
    def _where(self) -> tuple[CloudRunExecutions, str, str]:
        return cloud_run(self.ctx)

    @property
    def executions(self) -> CloudRunExecutions:
        return self._where[0]

    def job_name(self, job: str, env: str) -> str:
        _, project, region = self._where
        return job_path(project, region, job, env)

    @property
    def region(self) -> str:
        return self._where[2]

    @cached_property
    def logs(self) -> LogEntries:
        """Cloud Logging for the jobs' project: where each execution's own outcome is read."""
        from housejobs.gcp.cloud_logging import LogEntries

        return LogEntries(self.ctx.settings, self._where[1], clock=self.ctx.clock, policy=self.ctx.retry_policy())

    def tail(self, status: ExecutionStatus) -> LogTail:
        from housejobs.jobs.log_tail import LogTail

        job_id = status.name.split("/jobs/")[1].split("/")[0]
        since = (status.started or self.ctx.clock.now()) - SKEW
        return LogTail(self.logs, job_id, self.region, status.id, since)

    @cached_property
    def catalog(self) -> dict[str, JobDef]:
        return load_catalog(self.ctx.settings.jobs_dir)


def follow_hint(req: RunRequest, execution_id: str) -> str:
    return f"housejobs run {req.job} --env {req.env} --follow {execution_id}"


async def run_job(ctx: Context, req: RunRequest, jobs: CloudRunJobs | None = None) -> JobResult:
    """Start (or pick up) one execution and follow it to completion; the result carries its counts.
    `jobs`: a caller that starts several executions passes the one it made."""
    jobs = jobs or CloudRunJobs(ctx)
    job_name = jobs.job_name(req.job, req.env)
    executions = jobs.executions
    base: dict[str, Any] = {"job": req.job, "cloud_run_job": job_name}
    if req.follow is not None:
        status = await executions.get(execution_path(job_name, req.follow))
    else:
        if not req.allow_concurrent:
            running = await executions.running(job_name)
            if running:
                ids = ", ".join(s.id for s in running)
                return JobResult(Outcome.REFUSED,
                                 f"{job_name.rsplit('/', 1)[-1]} has an execution still running ({ids}); "
                                 f"follow it with `{follow_hint(req, running[0].id)}`, or pass --allow-concurrent",
                                 details={**base, "running": [s.name for s in running]})
        if ctx.stop.is_set():
            return JobResult(Outcome.INTERRUPTED, "stopped before starting", signal=ctx.stop.signal)
        # Like a trigger's args, the operator's are added to the job's own from the catalog.
        args = jobs.catalog[req.job].container_args(req.args) if req.args else None
        status = await executions.start(job_name, args=args, tasks=req.tasks)
        ctx.logger.info(f"started {status.id}", event="execution_started", execution=status.name,
                        tasks=status.task_count, args=args)
    details = {**base, "execution": status.name, "log_uri": status.log_uri, "follow": follow_hint(req, status.id)}
    if not req.wait:
        return JobResult(Outcome.STARTED, f"started {status.id}, not followed; its outcome comes later: follow "
                         f"it with `{follow_hint(req, status.id)}`", counts={"tasks": status.task_count},
                         details={**details, "state": status.state})
    # Lines are for a person: on a terminal, unless silenced. Off one this process's own log is the record.
    tail = jobs.tail(status) if req.logs and ctx.runtime.stderr_tty else None
    with ctx.status(status.id) as show:
        final = await follow(ctx, executions, status, show, tail)
        if final is None:
            return JobResult(Outcome.INTERRUPTED, f"stopped following {status.id}; the execution keeps running. "
                             f"Resume following with `{follow_hint(req, status.id)}`",
                             details={**details, "state": "unknown"}, signal=ctx.stop.signal)
        return await finish(ctx, jobs, final, details, show, tail)


async def finish(ctx: Context, jobs: CloudRunJobs, status: ExecutionStatus, details: dict[str, Any],
                 show: Progress, tail: LogTail | None = None, *, log_link: bool = True) -> JobResult:
    """The result of an execution that has ended: its tasks' summaries read (waiting for them within the
    bound), the last lines shown, the job's outcome or, failing it, the container state."""
    from housejobs.jobs.summaries import job_result, read_summaries

    reading = await read_summaries(ctx, jobs.logs, status, jobs.region)
    if tail is not None:
        shown(show, status, await poll_tail(ctx, tail))
    return job_result(status, reading, details, log_link=log_link)


async def poll_tail(ctx: Context, tail: LogTail | None) -> list[LogLine]:
    """New lines, or none when they cannot be read: lines are a view, never a reason to stop following."""
    if tail is None:
        return []
    try:
        return await tail.poll()
    except HousejobsError as exc:
        ctx.logger.warning(f"log lines not shown: {exc.line()}", event="log_tail_unread")
        tail.broken = True
        return []


async def follow(ctx: Context, executions: CloudRunExecutions, first: ExecutionStatus,
                 show: Progress, tail: LogTail | None = None) -> ExecutionStatus | None:
    """Poll until the execution completes, showing its new log lines (with a `tail`); None if a signal
    stopped the following (not the execution)."""
    status, delay = first, POLL_FIRST_S
    shown(show, status)
    last_tail = ctx.clock.monotonic() - TAIL_EVERY_S
    while not status.done:
        if await sleep_or_stop(ctx, delay):
            return None
        delay = min(delay * POLL_FACTOR, POLL_MAX_S)
        status = await executions.get(status.name)
        lines: list[LogLine] = []
        if tail is not None and not tail.broken and ctx.clock.monotonic() - last_tail >= TAIL_EVERY_S:
            last_tail = ctx.clock.monotonic()
            lines = await poll_tail(ctx, tail)
        shown(show, status, lines)
        if ctx.stop.is_set() and not status.done:
            return None
    return status


def shown(show: Progress, status: ExecutionStatus, lines: list[LogLine] | None = None) -> None:
    fields: dict[str, Any] = {"lines": lines} if lines else {}
    show(done=status.succeeded, state=status.state, execution=status.name, **status.counts(),
         running=status.running, **fields)
