"""What an execution did, in the job's own words: the `run_summary` line of each task's last attempt.

A container's exit code says only that the process ended (0 for applied, duplicate, skipped and dry-run
alike), so whatever starts or inspects executions reads each task's summary from Cloud Logging:

    each task      its summary from its last attempt: the one that exited 0 (a task ends there), or the
                   attempt numbered maxRetries (no attempt follows it); earlier attempts do not count
    one task       its outcome, its message, its counts
    several        counts summed; the outcome: every task's the same → that one; all done (applied,
                   duplicate, skipped, dry-run) → the strongest (applied > dry-run > duplicate > skipped);
                   some failed or partial and some done → partial; none done → failed (or the one
                   failing outcome they share)

Cloud Logging shows an entry seconds after it was written, so an execution that has ended is read again
until every task's last summary is there, for at most SUMMARY_WAIT_S on the run's clock. When they do
not all come (a delay past that, no roles/logging.viewer, logs excluded by a sink, a container killed
before it could log), the result says so and falls back to the container state, and never claims more
than the container can: succeeded → `unconfirmed` (exit 0: the job exited 0, but what it did is not
known), failed or cancelled → `failed`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from housejobs.context import Context
from housejobs.errors import HousejobsError
from housejobs.gcp.cloud_logging import LogEntries
from housejobs.gcp.executions import ExecutionStatus
from housejobs.gcp.log_query import SKEW, TaskSummary, job_filter, last_attempts, summary_of
from housejobs.gcp.records import SUCCEEDED
from housejobs.jobs.waiting import sleep_or_stop
from housejobs.results import JobResult, Outcome

# Ingestion takes seconds as a rule; 30 s covers its tail many times over and is what a run whose
# summaries never come (logs excluded, a killed container) pays before it says so. A refused read
# (no roles/logging.viewer) does not wait at all.
SUMMARY_WAIT_S = 30.0
SUMMARY_POLL_S = 2.0
SUMMARY_POLL_MAX_S = 8.0

DONE = (Outcome.APPLIED, Outcome.DRY_RUN, Outcome.DUPLICATE, Outcome.SKIPPED)  # strongest first


@dataclass
class Reading:
    """The summaries found for one execution, and whether they are all there."""

    tasks: dict[int, TaskSummary] = field(default_factory=dict)
    complete: bool = False
    unread: str = ""  # why Cloud Logging could not be read, when it could not
    hint: str = ""


def is_complete(status: ExecutionStatus, tasks: dict[int, TaskSummary]) -> bool:
    """Every task that ran has its last attempt's summary, and as many exited 0 as Cloud Run says succeeded."""
    last = [t for t in tasks.values() if t.final or t.attempt >= status.max_retries]
    ran = status.task_count - status.cancelled
    return len(last) >= ran and sum(t.final for t in last) >= status.succeeded


def summaries_filter(status: ExecutionStatus, region: str) -> str:
    job_id = status.name.split("/jobs/")[1].split("/")[0]
    since = status.started - SKEW if status.started is not None else None
    return job_filter(job_id, region, execution=status.id, since=since, summaries=True)


async def read_summaries(ctx: Context, logs: LogEntries, status: ExecutionStatus, region: str, *,
                         wait_s: float = SUMMARY_WAIT_S) -> Reading:
    """The summaries of a finished execution's tasks, read again until complete or `wait_s` has passed."""
    query = summaries_filter(status, region)
    start, delay = ctx.clock.monotonic(), SUMMARY_POLL_S
    while True:
        try:
            lines = await logs.lines(query)
        except HousejobsError as exc:
            return Reading(unread=exc.line(), hint=exc.hint or "")
        reading = Reading(last_attempts([s for s in map(summary_of, lines) if s is not None]))
        reading.complete = is_complete(status, reading.tasks)
        left = wait_s - (ctx.clock.monotonic() - start)
        if reading.complete or left <= 0:
            return reading
        if await sleep_or_stop(ctx, min(delay, left)):
            return reading
        delay = min(delay * 1.5, SUMMARY_POLL_MAX_S)


def combine(tasks: list[TaskSummary]) -> tuple[Outcome, dict[str, int]]:
    """The execution's outcome and summed counts from its tasks' last summaries (see the module docstring)."""
    counts: Counter[str] = Counter()
    for t in tasks:
        counts.update(t.counts)
    outcomes = [_outcome(t.outcome) for t in tasks]
    if len(set(outcomes)) == 1:
        return outcomes[0], dict(counts)
    done = [o for o in outcomes if o in DONE]
    if len(done) == len(outcomes):
        return min(done, key=DONE.index), dict(counts)
    if done or Outcome.PARTIAL in outcomes:
        return Outcome.PARTIAL, dict(counts)
    return Outcome.FAILED, dict(counts)


def _outcome(word: str) -> Outcome:
    try:
        return Outcome(word)
    except ValueError:
        return Outcome.FAILED  # a word this version does not know: nothing says the work is done


def execution_line(status: ExecutionStatus, *, log_link: bool = True) -> str:
    """What Cloud Run says of the execution: its state, duration, task counts (and why it failed)."""
    duration = status.duration_s()
    took = f" in {duration:.1f} s" if duration is not None else ""
    line = f"execution {status.id} {status.state}{took}: {status.succeeded}/{status.task_count} tasks succeeded"
    line += "".join(f", {n} {what}" for n, what in ((status.failed, "failed"), (status.cancelled, "cancelled")) if n)
    if status.state != SUCCEEDED and status.failure:
        line += f" ({status.failure})"
    if status.log_uri and log_link:
        line += f"; logs: {status.log_uri}"
    return line


def job_result(status: ExecutionStatus, reading: Reading, details: dict[str, Any], *,
               log_link: bool = True) -> JobResult:
    """The result of a finished execution: the job's own outcome when every task's summary was read, else
    the container state, saying plainly why."""
    execution = execution_line(status, log_link=log_link)
    details = {**details, "state": status.state, "duration_s": status.duration_s(), "log_uri": status.log_uri,
               "tasks": status.counts(), "summaries": {str(i): _summary_dict(t) for i, t in
                                                       sorted(reading.tasks.items())}}
    if reading.complete and reading.tasks:
        tasks = [reading.tasks[i] for i in sorted(reading.tasks)]
        outcome, counts = combine(tasks)
        if status.cancelled and outcome in DONE:  # the cancelled tasks' work is not done
            outcome = Outcome.PARTIAL
        words = _words(tasks)
        return JobResult(outcome, f"{words}; {execution}", counts=counts,
                         details={**details, "outcome_from": "run_summary"})
    missing = [i for i in range(status.task_count) if i not in reading.tasks]
    if reading.unread:
        why = f"Cloud Logging could not be read: {reading.unread}"
    elif missing:
        which = ", ".join(map(str, missing[:10])) + ("…" if len(missing) > 10 else "")
        why = (f"no run_summary found in Cloud Logging for task{'s' if len(missing) > 1 else ''} {which} "
               f"within {SUMMARY_WAIT_S:.0f} s")
    else:
        why = f"the last attempt's run_summary was not found in Cloud Logging within {SUMMARY_WAIT_S:.0f} s"
    details = {**details, "outcome_from": "container", "summary_missing": why}
    if status.state == SUCCEEDED:
        return JobResult(Outcome.UNCONFIRMED, f"the container exited 0; its summary was not found ({why}), so "
                         f"what the job did is not known; {execution}", counts=status.counts(), details=details)
    return JobResult(Outcome.FAILED, f"{execution}; its summary was not found ({why})", counts=status.counts(),
                     details=details)


def _words(tasks: list[TaskSummary]) -> str:
    """The job's words: one task's message as it is; several, a tally and the first that went wrong."""
    if len(tasks) == 1:
        return tasks[0].message or tasks[0].outcome
    tally = Counter(t.outcome for t in tasks)
    words = f"{len(tasks)} tasks: " + ", ".join(f"{n} {o}" for o, n in tally.most_common())
    wrong = next((t for t in tasks if _outcome(t.outcome) not in DONE), None)
    return words + (f" (task {wrong.task}: {wrong.message})" if wrong is not None and wrong.message else "")


def _summary_dict(t: TaskSummary) -> dict[str, Any]:
    return {"task": t.task, "attempt": t.attempt, "outcome": t.outcome, "exit_code": t.exit_code,
            "counts": t.counts, "message": t.message}


def by_execution(summaries: list[TaskSummary]) -> dict[str, dict[int, TaskSummary]]:
    """Summaries of many executions (one query per job: history) as each execution's tasks' last ones."""
    grouped: dict[str, list[TaskSummary]] = {}
    for s in summaries:
        grouped.setdefault(s.execution, []).append(s)
    return {execution: last_attempts(found) for execution, found in grouped.items()}


def said(tasks: dict[int, TaskSummary], task_count: int, cancelled: int = 0) -> tuple[Outcome, dict[str, int],
                                                                                       str] | None:
    """The job's outcome, counts and words for a settled execution whose every task that ran has spoken;
    None when some have not (history then shows Cloud Run's state alone)."""
    if not tasks or len(tasks) < task_count - cancelled:
        return None
    found = [tasks[i] for i in sorted(tasks)]
    outcome, counts = combine(found)
    if cancelled and outcome in DONE:
        outcome = Outcome.PARTIAL
    return outcome, counts, _words(found)
