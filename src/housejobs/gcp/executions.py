"""Cloud Run executions: find a job's running executions, start one with overrides, read one's status.

The edge between `housejobs run` / `release` and google-cloud-run (JobsClient, ExecutionsClient).
Google's libraries block, so every call runs in a worker thread (`threads.in_thread`), and `google.*`
is imported only inside functions. Errors leave this module as one readable line, mapped by gcp/errors.py:

    NotFound (404)                         refused (2)  ConfigError / UsageError, with the fix as a hint
    PermissionDenied, Unauthenticated,     refused (2)  ApiAuthError: names the resource and the role
      missing or unusable credentials
    transient (408, 425, 429, 5xx,         retried on reads (api/retry.py's loop, bounded by the run's
      connection errors, timeouts)         max attempts and deadline), then ApiUnavailable (1)
    anything else (400, 409 conflict ...)  failed (1)   ApiStatusError

Starting an execution is never retried: RunJob carries no request id, so a retry after a lost answer
could start a second execution.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar, overload

from housejobs.api.retry import RetryPolicy
from housejobs.catalog import run_job_id
from housejobs.clock import Clock
from housejobs.errors import ApiUnavailable, ConfigError, HousejobsError, UsageError
from housejobs.gcp.clients import Gcp
from housejobs.gcp.errors import map_google_error
from housejobs.gcp.reads import read_retrying
from housejobs.gcp.records import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED
from housejobs.threads import in_thread

if TYPE_CHECKING:
    from housejobs.settings_model import Settings

# mypy: disable-error-code=no-untyped-call

T = TypeVar("T")

# What a permission error tells the caller to ask for: starting with overrides and reading executions.
RUN_ROLE = "roles/run.developer on the job (run with overrides, read executions)"


def job_path(project: str, region: str, job: str, env: str) -> str:
    """The Cloud Run Job provisioning made for a catalog job (its id carries the env: test and stage
    share a project)."""
    return f"projects/{project}/locations/{region}/jobs/{run_job_id(job, env)}"


def execution_path(job_name: str, execution: str) -> str:
    """The full execution name from an id or a full name; a full name must belong to this job."""
    if "/" not in execution:
        return f"{job_name}/executions/{execution}"
    if not execution.startswith(job_name + "/executions/") or execution.count("/") != job_name.count("/") + 2:
        raise UsageError(f"execution {execution!r} is not an execution of {job_name}",
                         hint="pass the execution id printed when it started, e.g. "
                              f"{job_name.rsplit('/', 1)[-1]}-abcde")
    return execution


@dataclass(frozen=True)
class ExecutionStatus:
    """What `run` reports about an execution, read off the API's Execution."""

    name: str
    task_count: int
    running: int = 0
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    retried: int = 0
    started: datetime | None = None
    completed: datetime | None = None
    log_uri: str = ""
    # The Completed condition, when it has failed: it explains a failure the counts cannot (a timeout).
    failure: str = ""
    # Attempts a task may have after its first: a failed task's last attempt is this one (its summary counts).
    max_retries: int = 0

    @property
    def id(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def done(self) -> bool:
        return self.completed is not None

    @property
    def state(self) -> str:
        if not self.done:
            return RUNNING if self.running or self.succeeded or self.failed or self.retried else PENDING
        if self.failed:
            return FAILED
        if self.cancelled:
            return CANCELLED
        if self.succeeded >= self.task_count and not self.failure:
            return SUCCEEDED
        return FAILED  # finished short of its tasks (e.g. the task timeout): the effect is not done

    @property
    def progress(self) -> tuple[int, ...]:
        """Changes whenever anything an operator would want to see changes."""
        return (self.running, self.succeeded, self.failed, self.cancelled, self.retried, int(self.done))

    def duration_s(self) -> float | None:
        if self.started is None or self.completed is None:
            return None
        return max(0.0, (self.completed - self.started).total_seconds())

    def counts(self) -> dict[str, int]:
        return {"tasks": self.task_count, "succeeded": self.succeeded, "failed": self.failed,
                "cancelled": self.cancelled, "retried": self.retried}


def status_of(execution: Any) -> ExecutionStatus:
    """An ExecutionStatus from a google.cloud.run_v2.Execution."""
    failure = ""
    for condition in execution.conditions:
        if condition.type_ == "Completed" and condition.state.name == "CONDITION_FAILED":
            failure = condition.message or condition.execution_reason.name
    return ExecutionStatus(
        name=execution.name,
        task_count=int(execution.task_count),
        running=int(execution.running_count),
        succeeded=int(execution.succeeded_count),
        failed=int(execution.failed_count),
        cancelled=int(execution.cancelled_count),
        retried=int(execution.retried_count),
        started=_time(execution.start_time) or _time(execution.create_time),
        completed=_time(execution.completion_time),
        log_uri=execution.log_uri or "",
        failure=failure,
        max_retries=int(execution.template.max_retries) if execution.template else 0,
    )


def _time(value: Any) -> datetime | None:
    # proto-plus gives None for an unset Timestamp, a datetime subclass otherwise.
    return value if isinstance(value, datetime) else None


class CloudRunExecutions:
    """The three calls `run` needs, async, with Google's errors mapped to housejobs' tree."""

    def __init__(self, settings: Settings, *, clock: Clock, policy: RetryPolicy,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.policy = policy
        self._rng = rng or random.Random()
        self.gcp = Gcp(settings)
        self._built = False

    async def _clients(self) -> tuple[Any, Any]:
        if not self._built:
            # Building a client resolves credentials (it may ask the metadata server): off the loop too.
            await in_thread(lambda: (self.gcp.jobs, self.gcp.executions))
            self._built = True
        return self.gcp.jobs, self.gcp.executions

    # --- the calls ------------------------------------------------------------------------------
    async def running(self, job_name: str) -> list[ExecutionStatus]:
        """The job's executions that have not completed, newest first."""
        _, executions = await self._clients()

        def call() -> list[ExecutionStatus]:
            pager = executions.list_executions(parent=job_name, timeout=self.policy.timeout)
            return [s for s in (status_of(e) for e in pager) if not s.done]

        return await self._read(call, f"Cloud Run job {job_name}", _missing_job(job_name))

    async def latest(self, job_name: str) -> ExecutionStatus | None:
        """The job's newest execution (None: it has none yet): the first of one page, newest first."""
        _, executions = await self._clients()

        def call() -> ExecutionStatus | None:
            from google.cloud import run_v2

            request = run_v2.ListExecutionsRequest(parent=job_name, page_size=1)
            pager = executions.list_executions(request=request, timeout=self.policy.timeout)
            first = next(iter(pager.pages), None)
            found = list(first.executions) if first is not None else []
            return status_of(found[0]) if found else None

        return await self._read(call, f"Cloud Run job {job_name}", _missing_job(job_name))

    async def get(self, execution_name: str) -> ExecutionStatus:
        _, executions = await self._clients()

        def call() -> ExecutionStatus:
            return status_of(executions.get_execution(name=execution_name, timeout=self.policy.timeout))

        job = execution_name.split("/executions/")[0].rsplit("/", 1)[-1]
        hint = f"list it with: gcloud run jobs executions list --job {job}"
        return await self._read(call, f"execution {execution_name}", UsageError(
            f"execution {execution_name.rsplit('/', 1)[-1]} of {job} does not exist", hint=hint))

    async def start(self, job_name: str, *, args: list[str] | None, tasks: int | None) -> ExecutionStatus:
        """Start an execution (RunJob with overrides); return it as first seen. Not retried."""
        from google.cloud import run_v2

        from housejobs.gcp.specs import CONTAINER

        jobs, executions = await self._clients()
        overrides = run_v2.RunJobRequest.Overrides()
        if args is not None:
            # Addressed by name, as the Scheduler triggers do: provisioning names the one container.
            overrides.container_overrides = [
                run_v2.RunJobRequest.Overrides.ContainerOverride(name=CONTAINER, args=args)]
        if tasks is not None:
            overrides.task_count = tasks
        request = run_v2.RunJobRequest(name=job_name, overrides=overrides)

        def call() -> ExecutionStatus:
            operation = jobs.run_job(request=request, timeout=self.policy.timeout)
            # RunJob's operation metadata is the new Execution; fall back to the job's own pointer.
            metadata: Any = operation.metadata
            if metadata is not None and metadata.name:
                return status_of(metadata)
            latest = jobs.get_job(name=job_name, timeout=self.policy.timeout).latest_created_execution.name
            return status_of(executions.get_execution(name=latest, timeout=self.policy.timeout))

        try:
            return await in_thread(call)
        except Exception as exc:
            mapped = map_google_error(exc, f"starting Cloud Run job {job_name}", not_found=_missing_job(job_name),
                                      role=RUN_ROLE)
            if mapped is None:
                raise
            if isinstance(mapped, ApiUnavailable):
                mapped.hint = ("the execution may have started anyway: check with `gcloud run jobs executions "
                               f"list --job {job_name.rsplit('/', 1)[-1]}` before starting it again")
            raise mapped from None

    # --- retries on reads -----------------------------------------------------------------------
    @overload
    async def _read(self, call: Callable[[], T], what: str, not_found: HousejobsError, *,
                    role: str = RUN_ROLE) -> T: ...

    @overload
    async def _read(self, call: Callable[[], T], what: str, not_found: None, *,
                    role: str = RUN_ROLE) -> T | None: ...

    async def _read(self, call: Callable[[], T], what: str, not_found: HousejobsError | None, *,
                    role: str = RUN_ROLE) -> T | None:
        """`call`, retried while Google's error is transient (gcp/reads.py). A 404 raises `not_found`; with
        None, it reads as None."""
        return await read_retrying(call, what, not_found, role=role, clock=self.clock, policy=self.policy,
                                   rng=self._rng)


def _missing_job(job_name: str) -> ConfigError:
    env = job_name.rsplit("-", 1)[-1]
    return ConfigError(f"Cloud Run job {job_name} does not exist",
                       hint=f"create it with: housejobs create-all-jobs --env {env}")
