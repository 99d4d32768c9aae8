"""`housejobs logs`: an execution's log lines from Cloud Logging, in time order; `--follow` to its end.

The execution is the job's latest (Cloud Run's `latestCreatedExecution`) or the one named. Its lines are
read by execution label from its start (less the clock skew allowed, gcp/log_query.SKEW), or from
`--since`, filtered by task and severity in the query itself. Following reads again every FOLLOW_EVERY_S
through a LogTail (jobs/log_tail.py: no gaps, no repeats) and hands each new line to `emit` as it comes;
once the execution has ended it waits, within jobs/summaries.SUMMARY_WAIT_S, for its tasks' summaries to
arrive, reads the last lines and stops. A report: it changes nothing (`skipped`, exit 0).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from housejobs.context import Context
from housejobs.errors import UsageError, choices_hint, unknown_name
from housejobs.gcp.executions import ExecutionStatus, execution_path
from housejobs.gcp.log_query import SEVERITIES, SKEW, LogLine, TaskSummary, last_attempts, summary_of
from housejobs.jobs.cloud_run import CloudRunJobs
from housejobs.jobs.waiting import sleep_or_stop
from housejobs.results import JobResult, Outcome

FOLLOW_EVERY_S = 3.0  # entries:list has a read quota of 60 a minute per project
_DURATION = re.compile(r"^(\d+)([smhd])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class LogsRequest:
    job: str
    env: str
    execution: str | None = None
    follow: bool = False
    task: int | None = None
    severity: str | None = None
    since: str | None = None


def check_logs(req: LogsRequest, catalog: Iterable[str]) -> None:
    names = sorted(catalog)
    if req.job not in names:
        raise unknown_name("job", req.job, names)
    if req.severity is not None and req.severity.upper() not in SEVERITIES:
        raise UsageError(f"--severity {req.severity!r} is not a Cloud Logging severity",
                         hint=choices_hint(req.severity.upper(), SEVERITIES))
    if req.since is not None:
        parse_since(req.since, datetime(2000, 1, 1, tzinfo=UTC))


def parse_since(text: str, now: datetime) -> datetime:
    """`--since`: a duration back from now (90s, 10m, 2h, 1d) or a time (2026-11-24T10:00:00Z, 2026-11-24)."""
    m = _DURATION.match(text.strip())
    if m:
        return now - timedelta(seconds=int(m.group(1)) * _UNIT_S[m.group(2)])
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r} is neither a duration nor a time",
                         hint="e.g. --since 10m, --since 2h, --since 2026-11-24T10:00:00Z") from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


async def _execution(jobs: CloudRunJobs, req: LogsRequest) -> ExecutionStatus:
    job_name = jobs.job_name(req.job, req.env)
    if req.execution is not None:
        return await jobs.executions.get(execution_path(job_name, req.execution))
    latest = await jobs.executions.latest(job_name)
    if latest is None:
        raise UsageError(f"{job_name.rsplit('/', 1)[-1]} has no executions yet",
                         hint=f"start one with: housejobs run {req.job} --env {req.env}")
    return latest


async def read_logs(ctx: Context, req: LogsRequest, emit: Callable[[LogLine], None]) -> JobResult:
    """Hand the execution's lines to `emit` in order (as they arrive, with --follow)."""
    from housejobs.jobs.log_tail import LogTail
    from housejobs.jobs.summaries import combine, is_complete, read_summaries

    check_logs(req, [req.job])
    jobs = CloudRunJobs(ctx)
    status = await _execution(jobs, req)
    since = (status.started or ctx.clock.now()) - SKEW
    if req.since is not None:
        since = max(since, parse_since(req.since, ctx.clock.now()))
    job_id = status.name.split("/jobs/")[1].split("/")[0]
    tail = LogTail(jobs.logs, job_id, jobs.region, status.id, since, task=req.task,
                   severity=req.severity.upper() if req.severity else None)
    shown = 0
    summaries: list[TaskSummary] = []

    def show(lines: list[LogLine]) -> None:
        nonlocal shown
        for line in lines:
            emit(line)
            summary = summary_of(line)
            if summary is not None:
                summaries.append(summary)
        shown += len(lines)

    show(await tail.poll())
    stopped = False
    while req.follow and not status.done:
        if await sleep_or_stop(ctx, FOLLOW_EVERY_S):
            stopped = True
            break
        status = await jobs.executions.get(status.name)
        show(await tail.poll())
    if req.follow and status.done and not stopped:
        # What was written last shows seconds later: wait for the summaries, then read once more.
        await read_summaries(ctx, jobs.logs, status, jobs.region)
        show(await tail.poll())
    # What the job said, when the lines shown hold every task's last summary (a filter may leave them out).
    tasks = last_attempts(summaries)
    word = combine([tasks[i] for i in sorted(tasks)])[0].value if is_complete(status, tasks) else None
    details = {"job": req.job, "execution": status.name, "state": status.state, "lines": shown,
               "outcome": word, "log_uri": status.log_uri}
    message = f"{status.id} {status.state} · {shown} line{'s' if shown != 1 else ''}" + (
        f" · the job said {word}" if word else "")
    if stopped:
        return JobResult(Outcome.INTERRUPTED, f"stopped following: {message}", details=details,
                         signal=ctx.stop.signal, document=details)
    return JobResult(Outcome.SKIPPED, message, details=details, document=details)
