"""What `run`, `logs` and `history` ask Cloud Logging, and what they get back, as plain data.

No Google import: gcp/cloud_logging.py sends the filters and hands back the entries as JSON; this module
writes the filters (the Logging query language: `resource.type="cloud_run_job"`, `labels."k"="v"`,
`timestamp>="…"`, joined by AND) and reads an entry the way Cloud Run writes a container's line:

    a JSON line     jsonPayload (its `message` stays there), with `severity`, `time` and
                    `logging.googleapis.com/labels` lifted into the entry's severity, timestamp and labels
    any other line  textPayload
    every entry     resource {type: cloud_run_job, labels: {job_name, location, project_id}}, labels
                    run.googleapis.com/execution_name, task_index, task_attempt; insertId; timestamp

A job's own outcome is its `run_summary` line (runner.py): event, outcome, exit_code, counts, and the
task and attempt from the entry's labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

EXECUTION_LABEL = "run.googleapis.com/execution_name"
TASK_LABEL = "run.googleapis.com/task_index"
ATTEMPT_LABEL = "run.googleapis.com/task_attempt"
SUMMARY_EVENT = "run_summary"
SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY")
# A container's clock and the Cloud Run API's are not one clock: a line may carry a time a little before
# its execution's create time. Filters on an execution reach back this far.
SKEW = timedelta(minutes=10)


def quoted(value: str) -> str:
    """A string literal of the query language (JSON's escapes suffice: backslash and double quote)."""
    return json.dumps(value, ensure_ascii=False)


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def job_filter(job_id: str, region: str, *, execution: str | None = None, since: datetime | None = None,
               task: int | None = None, severity: str | None = None, summaries: bool = False) -> str:
    """The entries of a Cloud Run job (one execution of it, one task, at least a severity, from a time;
    only the run summaries): indexed fields first, as Google advises, then the timestamp bound."""
    parts = ['resource.type="cloud_run_job"', f"resource.labels.job_name={quoted(job_id)}",
             f"resource.labels.location={quoted(region)}"]
    if execution is not None:
        parts.append(f'labels."{EXECUTION_LABEL}"={quoted(execution)}')
    if task is not None:
        parts.append(f'labels."{TASK_LABEL}"={quoted(str(task))}')
    if severity is not None:
        parts.append(f"severity>={severity}")
    if summaries:
        parts.append(f"jsonPayload.event={quoted(SUMMARY_EVENT)}")
    if since is not None:
        parts.append(f"timestamp>={quoted(stamp(since))}")
    return " AND ".join(parts)


def parse_time(text: str) -> datetime:
    """An RFC 3339 timestamp as Google writes it (nanoseconds cut to microseconds)."""
    text = text.replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
        zone = rest[len(digits):]
        text = f"{head}.{(digits + '000000')[:6]}{zone}"  # microseconds: six digits, zeros after
    return datetime.fromisoformat(text).astimezone(UTC)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class LogLine:
    """One log entry of a job's container."""

    insert_id: str
    time: datetime
    severity: str
    execution: str
    task: int | None
    attempt: int | None
    message: str
    fields: dict[str, Any] = field(default_factory=dict)  # jsonPayload without its message
    entry: dict[str, Any] = field(default_factory=dict, repr=False)  # as Cloud Logging returned it

    @property
    def event(self) -> str | None:
        event = self.fields.get("event")
        return event if isinstance(event, str) else None

    @property
    def key(self) -> tuple[datetime, str]:
        """The order Cloud Logging returns entries in: timestamp, then insertId."""
        return self.time, self.insert_id


def line_of(entry: dict[str, Any]) -> LogLine:
    labels = entry.get("labels") or {}
    payload = entry.get("jsonPayload")
    if isinstance(payload, dict):
        fields = {k: v for k, v in payload.items() if k != "message"}
        message = str(payload.get("message", ""))
    else:
        fields, message = {}, str(entry.get("textPayload", ""))
    when = entry.get("timestamp") or entry.get("receiveTimestamp")
    return LogLine(
        insert_id=str(entry.get("insertId", "")),
        time=parse_time(when) if isinstance(when, str) else datetime.min.replace(tzinfo=UTC),
        severity=str(entry.get("severity") or "DEFAULT"),
        execution=str(labels.get(EXECUTION_LABEL, "")),
        task=_int(labels.get(TASK_LABEL)),
        attempt=_int(labels.get(ATTEMPT_LABEL)),
        message=message,
        fields=fields,
        entry=entry,
    )


@dataclass(frozen=True)
class TaskSummary:
    """A task attempt's `run_summary`: the job's own word on what it did."""

    execution: str
    task: int
    attempt: int
    outcome: str
    exit_code: int | None
    counts: dict[str, int]
    message: str
    time: datetime

    @property
    def final(self) -> bool:
        """Exit 0 ends a task: no attempt follows it."""
        return self.exit_code == 0


def summary_of(line: LogLine) -> TaskSummary | None:
    """The run summary a line carries, or None (another line, or one too malformed to trust)."""
    outcome = line.fields.get("outcome")
    if line.event != SUMMARY_EVENT or not isinstance(outcome, str):
        return None
    counts = line.fields.get("counts")
    return TaskSummary(
        execution=line.execution,
        task=line.task or 0,
        attempt=line.attempt or 0,
        outcome=outcome,
        exit_code=_int(line.fields.get("exit_code")),
        counts={k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)}
        if isinstance(counts, dict) else {},
        # The job's own words (the runner logs its result's message as `detail`), else the line's.
        message=str(line.fields.get("detail") or line.message),
        time=line.time,
    )


def last_attempts(summaries: list[TaskSummary]) -> dict[int, TaskSummary]:
    """Each task's summary from its latest attempt seen (only a task's last attempt counts)."""
    out: dict[int, TaskSummary] = {}
    for s in summaries:
        if s.task not in out or (s.attempt, s.time) > (out[s.task].attempt, out[s.task].time):
            out[s.task] = s
    return out
