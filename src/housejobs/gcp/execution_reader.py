"""What ran: a Cloud Run job's executions and the Scheduler triggers' states, read for `history` (ExecutionReader).

Built on `CloudRunExecutions` (gcp/executions.py): the same clients, the same error mapping and the
same retry of reads, so a 503 while listing is retried and a missing permission is one line, exactly
as in `run`. Listing stops at the first execution older than the window: Cloud Run lists a job's
executions newest first, and keeps the last 1,000 of them plus everything from the last 7 days, so
that is also as far back as history can see.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from housejobs.errors import ConfigError
from housejobs.gcp.executions import CloudRunExecutions, _time, status_of
from housejobs.gcp.records import ExecutionRecord, TriggerState

# mypy: disable-error-code=no-untyped-call


def record_of(execution: Any) -> ExecutionRecord:
    """An ExecutionRecord from a google.cloud.run_v2.Execution."""
    from housejobs.gcp.specs import CONTAINER

    status = status_of(execution)
    containers = list(execution.template.containers) if execution.template else []
    container = next((c for c in containers if c.name == CONTAINER), containers[0] if containers else None)
    return ExecutionRecord(
        name=status.name,
        state=status.state,
        created=_time(execution.create_time),
        started=_time(execution.start_time),
        completed=status.completed,
        task_count=status.task_count,
        succeeded=status.succeeded,
        failed=status.failed,
        cancelled=status.cancelled,
        log_uri=status.log_uri,
        failure=status.failure,
        args=tuple(container.args) if container is not None else None,
    )


class ExecutionReader(CloudRunExecutions):
    """Reads for history; every call goes through CloudRunExecutions' retry and error mapping."""

    async def executions(self, job_name: str, since: datetime) -> list[ExecutionRecord] | None:
        """The job's executions created at or after `since`, newest first; None if the job does not exist."""
        _, executions = await self._clients()

        def call() -> list[ExecutionRecord]:
            found: list[ExecutionRecord] = []
            for execution in executions.list_executions(parent=job_name, timeout=self.policy.timeout):
                record = record_of(execution)
                if record.at is not None and record.at < since:
                    break  # newest first: the rest are older still
                found.append(record)
            return found

        return await self._read(call, f"Cloud Run job {job_name}", None)

    async def trigger_states(self, parent: str) -> dict[str, TriggerState]:
        """Every Scheduler job in `parent` (projects/P/locations/R) by id: ENABLED or PAUSED, and since when."""

        def call() -> dict[str, TriggerState]:
            return {job.name.rsplit("/", 1)[-1]: TriggerState(job.state.name, _time(job.user_update_time))
                    for job in self.gcp.scheduler.list_jobs(parent=parent, timeout=self.policy.timeout)}

        return await self._read(call, f"Cloud Scheduler jobs in {parent}",
                                ConfigError(f"Cloud Scheduler location {parent} does not exist"),
                                role="roles/cloudscheduler.viewer on the project (list its jobs)")
