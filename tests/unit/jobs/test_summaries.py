"""How tasks' run summaries combine into an execution's outcome (jobs/summaries.py), and when they are all in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from housejobs.gcp.executions import ExecutionStatus
from housejobs.gcp.log_query import TaskSummary, last_attempts, line_of, summary_of
from housejobs.jobs.summaries import Reading, combine, is_complete, job_result
from housejobs.results import Outcome

AT = datetime(2026, 11, 24, 10, tzinfo=UTC)


def task(index: int, outcome: str, *, attempt: int = 0, exit_code: int = 0, **counts: int) -> TaskSummary:
    return TaskSummary("ex-1", index, attempt, outcome, exit_code, counts, f"task {index} {outcome}", AT)


@pytest.mark.parametrize(("outcomes", "combined"), [
    (["applied"], Outcome.APPLIED),
    (["duplicate", "duplicate"], Outcome.DUPLICATE),
    (["applied", "duplicate", "skipped"], Outcome.APPLIED),
    (["duplicate", "skipped"], Outcome.DUPLICATE),
    (["dry-run", "skipped"], Outcome.DRY_RUN),
    (["applied", "failed"], Outcome.PARTIAL),
    (["partial", "failed"], Outcome.PARTIAL),
    (["refused", "refused"], Outcome.REFUSED),
    (["refused", "failed"], Outcome.FAILED),
    (["a word from a newer version"], Outcome.FAILED),
])
def test_tasks_combine(outcomes: list[str], combined: Outcome) -> None:
    assert combine([task(i, o) for i, o in enumerate(outcomes)])[0] is combined


def test_counts_are_summed() -> None:
    assert combine([task(0, "applied", synced=3, failed=0), task(1, "partial", synced=2, failed=1)])[1] == {
        "synced": 5, "failed": 1}


def test_only_the_last_attempt_counts() -> None:
    found = last_attempts([task(0, "failed", attempt=0, exit_code=1), task(0, "applied", attempt=1),
                           task(1, "applied")])
    assert {i: t.outcome for i, t in found.items()} == {0: "applied", 1: "applied"}


def status(**kw: int) -> ExecutionStatus:
    return ExecutionStatus("projects/p/locations/r/jobs/j/executions/ex-1", completed=AT,
                           **{"task_count": 1, "succeeded": 1, "max_retries": 3, **kw})


def test_complete_only_when_each_task_has_its_last_attempt() -> None:
    assert not is_complete(status(), {0: task(0, "failed", attempt=0, exit_code=1)})  # a retry follows it
    assert is_complete(status(), {0: task(0, "applied", attempt=1)})
    assert is_complete(status(succeeded=0, failed=1), {0: task(0, "failed", attempt=3, exit_code=1)})
    assert not is_complete(status(task_count=2, succeeded=2), {0: task(0, "applied")})


def test_no_summary_never_claims_applied() -> None:
    done = job_result(status(), Reading(), {})
    assert done.outcome is Outcome.UNCONFIRMED and done.exit_code == 0
    assert done.message.startswith("the container exited 0; its summary was not found")
    failed = job_result(status(succeeded=0, failed=1), Reading(unread="permission denied"), {})
    assert failed.outcome is Outcome.FAILED and "Cloud Logging could not be read: permission denied" in failed.message


def test_a_summary_line_as_cloud_run_writes_it() -> None:
    entry = {"insertId": "x1", "timestamp": "2026-11-24T10:00:01.123456789Z", "severity": "INFO",
             "labels": {"run.googleapis.com/execution_name": "ex-1", "run.googleapis.com/task_index": "2",
                        "run.googleapis.com/task_attempt": "1"},
             "jsonPayload": {"message": "quota-reset applied", "event": "run_summary", "outcome": "applied",
                             "exit_code": 0, "counts": {"orgs_reset": 25, "flag": True}, "detail": "for 2026-11-24"}}
    line = line_of(entry)
    assert (line.task, line.attempt, line.time.microsecond) == (2, 1, 123456)
    found = summary_of(line)
    assert found is not None
    assert (found.outcome, found.counts, found.message) == ("applied", {"orgs_reset": 25}, "for 2026-11-24")
    assert summary_of(line_of({**entry, "jsonPayload": {"message": "hello"}})) is None
