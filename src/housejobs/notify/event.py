"""The outcome event: who the run is (RunInfo), what a run's end says (build_event), and which outcomes
announce (parse_notify_on).

Cloud Run retries a failed task up to the job's maxRetries, so only the last attempt announces a failure
(HOUSEJOBS_MAX_RETRIES tells the container which one that is); the event key
`jobs-event:<job>:<execution or run id>:<task>` is the same on every attempt, so a sink that honours
Idempotency-Key keeps one event per task whatever happens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from housejobs.clock import iso_z
from housejobs.errors import HousejobsError, join_hint, one_line
from housejobs.results import JobResult, Outcome

if TYPE_CHECKING:
    from housejobs.runtime import Runtime
    from housejobs.settings_model import Settings

FAILING = frozenset({Outcome.FAILED, Outcome.PARTIAL, Outcome.REFUSED, Outcome.INTERRUPTED})
DEFAULT_ON = frozenset({Outcome.FAILED, Outcome.PARTIAL})
# In a Cloud Run execution nobody reads the terminal: refused there means a revoked key or missing config,
# interrupted a task timeout, and either way the scheduled work did not happen. At a terminal the operator
# sees both directly (a typo, a Ctrl-C), so they would only be noise.
DEFAULT_ON_UNATTENDED = DEFAULT_ON | {Outcome.REFUSED, Outcome.INTERRUPTED}
ALIASES: dict[str, frozenset[Outcome]] = {
    "all": frozenset(Outcome),
    "none": frozenset(),
    "failure": FAILING,
    # started and unconfirmed: a run that started Cloud Run executions and exited 0 (results.py).
    "success": frozenset({Outcome.APPLIED, Outcome.DUPLICATE, Outcome.SKIPPED, Outcome.STARTED, Outcome.UNCONFIRMED}),
}
MESSAGE_LIMIT = 500
# Fixed, so a check-in's rid is the same in every process that computes it (start and end pings).
RID_NAMESPACE = uuid.UUID("0b7e5c3a-6d2f-5e41-9a8c-3f1d2e4b5a60")


@dataclass(frozen=True)
class RunInfo:
    """Who this run is: the job, its environment, and the Cloud Run execution/task/attempt if any."""

    job: str
    env: str | None
    run_id: str  # the Cloud Run execution, else a fresh id for this process
    execution: str | None = None
    task_index: int = 0
    attempt: int | None = None  # CLOUD_RUN_TASK_ATTEMPT, 0-based
    max_retries: int | None = None
    cloud_run_job: str | None = None
    project: str | None = None
    unattended: bool = False
    dry_run: bool = False

    @property
    def key(self) -> str:
        return f"jobs-event:{self.job}:{self.run_id}:{self.task_index}"

    @property
    def rid(self) -> str:
        # Execution and task, not the attempt: a retry's /start takes over the open run its failed
        # attempt left, and parallel tasks or overlapping executions each pair their own pings.
        return str(uuid.uuid5(RID_NAMESPACE, f"{self.job}:{self.run_id}:{self.task_index}"))

    @property
    def last_attempt(self) -> bool:
        # Without the job's maxRetries a retry cannot be told from the last attempt: announce rather
        # than stay silent (the constant key lets an idempotent sink drop repeats).
        if self.attempt is None or self.max_retries is None:
            return True
        return self.attempt >= self.max_retries


def run_info(runtime: Runtime, job: str, env: str | None, settings: Settings, *, dry_run: bool) -> RunInfo:
    try:
        task = runtime.task  # CLOUD_RUN_* is parsed there, once
    except HousejobsError:
        task = None  # the context refuses a malformed CLOUD_RUN_*; the failure is still announced
    execution = task.execution if task else None
    return RunInfo(job=job, env=env, run_id=execution or f"local-{uuid.uuid4()}", execution=execution,
                   task_index=task.index if task else 0, attempt=task.attempt if task else None,
                   max_retries=settings.max_retries, cloud_run_job=task.job if task else None,
                   project=settings.project, unattended=runtime.in_cloud_run, dry_run=dry_run)


def log_uri(info: RunInfo) -> str | None:
    """Cloud Logging's console, filtered to this execution's task: where the failure's details are."""
    if not (info.project and info.cloud_run_job and info.execution):
        return None
    query = "\n".join((
        'resource.type="cloud_run_job"',
        f'resource.labels.job_name="{info.cloud_run_job}"',
        f'labels."run.googleapis.com/execution_name"="{info.execution}"',
        f'labels."run.googleapis.com/task_index"="{info.task_index}"',
    ))
    return (f"https://console.cloud.google.com/logs/query;query={quote(query, safe='')}"
            f"?project={quote(info.project, safe='')}")


def build_event(info: RunInfo, result: JobResult, *, duration_ms: int, now: datetime) -> dict[str, Any]:
    """The event a sink gets. Its period is the result's own (a failure's too), else what its details name."""
    outcome = result.outcome
    failing = outcome in FAILING
    period = result.period or next((str(result.details[k]) for k in ("period", "date", "month")
                                    if result.details.get(k)), None)
    severity = "WARNING" if outcome is Outcome.PARTIAL else ("ERROR" if failing else "INFO")
    where = f" in {info.env}" if info.env else ""
    return {
        "event_id": str(uuid.uuid4()),
        "key": info.key,
        "kind": "job_failed" if failing else "job_completed",
        "job": info.job,
        "env": info.env,
        "outcome": outcome.value,
        "exit_code": result.exit_code,
        "period": period,
        "counts": dict(result.counts),
        "duration_ms": duration_ms,
        "execution": ({"name": info.execution, "task_index": info.task_index, "attempt": info.attempt}
                      if info.execution else None),
        "run_id": info.run_id,
        "log_uri": log_uri(info),
        "severity": severity,
        "title": f"{info.job} {outcome.value}{where}",
        # A message may quote a server's answer: one_line masks anything secret, then cuts. The fix rides
        # along after `; `: a chat message is one block of text.
        "message": one_line(join_hint(result.message, result.hint), MESSAGE_LIMIT),
        "time": iso_z(now),
    }


def parse_notify_on(raw: str | None, *, unattended: bool) -> tuple[frozenset[Outcome], list[str]]:
    """The outcomes that send an event, and the names that were not understood."""
    if raw is None or not raw.strip():
        return (DEFAULT_ON_UNATTENDED if unattended else DEFAULT_ON), []
    chosen: set[Outcome] = set()
    unknown: list[str] = []
    for name in (n.strip().lower() for n in raw.split(",")):
        if not name:
            continue
        if name in ALIASES:
            chosen |= ALIASES[name]
        elif name in {o.value for o in Outcome}:
            chosen.add(Outcome(name))
        else:
            unknown.append(name)
    return frozenset(chosen), unknown
