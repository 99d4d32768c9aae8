"""What history reads from Google, as plain data: a Cloud Run execution and a Scheduler trigger's state.

No Google import: gcp/execution_reader.py fills these from the API's messages, the slot matching
(jobs/slots.py) and the tests build them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from housejobs.clock import iso_z

# An execution's states (gcp/executions.ExecutionStatus.state); history's slots add two of their own.
RUNNING, PENDING, SUCCEEDED, FAILED, CANCELLED = "running", "pending", "succeeded", "failed", "cancelled"
SETTLED = (SUCCEEDED, FAILED, CANCELLED)
MISSED, UPCOMING = "missed", "upcoming"  # no execution: its window closed / its time not come yet
# A slot's states in the one order every listing of them keeps: the counts and the summary (jobs/history.py),
# the grid's legend and the page's (cli/palette.py draws each). Choosing one of several is two other rules:
# which execution speaks for a slot (jobs/slots.FURTHEST_FIRST) and which state a day's cell shows
# (cli/palette.WORST_FIRST).
SLOT_STATES = (SUCCEEDED, FAILED, CANCELLED, RUNNING, PENDING, UPCOMING, MISSED)

# Trigger states as Cloud Scheduler reports them, and two of ours.
ENABLED, PAUSED = "ENABLED", "PAUSED"
NOT_PROVISIONED, UNKNOWN = "MISSING", "UNKNOWN"


@dataclass(frozen=True)
class ExecutionRecord:
    """One Cloud Run execution, as history needs it."""

    name: str
    state: str  # succeeded, failed, cancelled or running (any other, e.g. pending: not started, is running)
    created: datetime | None = None
    started: datetime | None = None
    completed: datetime | None = None
    task_count: int = 1
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    log_uri: str = ""
    failure: str = ""
    args: tuple[str, ...] | None = None  # the container's args, overrides applied
    # The job's own word, from its tasks' run_summary lines in Cloud Logging (None: not read or not found).
    outcome: str | None = None
    job_counts: dict[str, int] | None = None
    summary: str = ""

    def __post_init__(self) -> None:
        if self.state not in SETTLED:
            object.__setattr__(self, "state", RUNNING)

    @property
    def id(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def at(self) -> datetime | None:
        """When Scheduler (or an operator) made it: what a slot's window is checked against."""
        return self.created or self.started

    @property
    def duration_s(self) -> float | None:
        begin = self.started or self.created
        if begin is None or self.completed is None:
            return None
        return max(0.0, (self.completed - begin).total_seconds())

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "id": self.id, "state": self.state, "created": iso_z(self.created),
                "started": iso_z(self.started), "completed": iso_z(self.completed), "duration_s": self.duration_s,
                "tasks": self.task_count, "succeeded": self.succeeded, "failed": self.failed,
                "cancelled": self.cancelled, "log_uri": self.log_uri, "failure": self.failure,
                "args": list(self.args) if self.args is not None else None,
                "outcome": self.outcome, "job_counts": self.job_counts, "summary": self.summary}


@dataclass(frozen=True)
class TriggerState:
    state: str  # ENABLED, PAUSED, NOT_PROVISIONED or UNKNOWN
    since: datetime | None = None  # Scheduler's userUpdateTime: when it was last paused, resumed or edited
