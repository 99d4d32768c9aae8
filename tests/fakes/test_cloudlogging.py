"""The Cloud Logging fake: entries shaped as Cloud Run writes them, the ingestion delay, the filter subset
(anything else refused with 400, never ignored), requests checked against the logging.v2 discovery document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from tests.fakes.cloudlogging import CloudLoggingFake
from tests.fakes.cloudrun import TaskRun
from tests.support.clock import FakeClock

TASK = TaskRun("housejobs-quota-reset-stage", "housejobs-quota-reset-stage-abcde", 1, 2, 0, "image", [], [])
JSON_LINE = json.dumps({"severity": "WARNING", "message": "slow", "time": "2026-11-24T10:00:00.5Z",
                        "logging.googleapis.com/labels": {"job": "quota-reset"}, "event": "retry", "wait_s": 2})


@pytest.fixture
def fake() -> Iterator[tuple[CloudLoggingFake, FakeClock]]:
    clock = FakeClock(datetime(2026, 11, 24, 10, tzinfo=UTC))
    with CloudLoggingFake(clock=clock.now, delay_s=2.0) as logs:
        logs.ingest(TASK, project="p", location="us-central1", stdout="a text line\n", stderr=JSON_LINE)
        yield logs, clock


def post(logs: CloudLoggingFake, body: dict[str, Any]) -> requests.Response:
    return requests.post(logs.endpoint + "/v2/entries:list", json=body, timeout=10)


def test_entries_show_after_the_delay_shaped_as_cloud_run_writes_them(fake: tuple[CloudLoggingFake, FakeClock]) -> None:
    logs, clock = fake
    body = {"resourceNames": ["projects/p"], "filter": 'resource.type="cloud_run_job"'}
    assert post(logs, body).json() == {}  # written, not yet shown
    clock.advance(2)
    entries = post(logs, body).json()["entries"]
    text, structured = sorted(entries, key=lambda e: "jsonPayload" in e)
    assert text["textPayload"] == "a text line" and text["severity"] == "DEFAULT"
    assert text["logName"] == "projects/p/logs/run.googleapis.com%2Fstdout"
    assert structured["logName"] == "projects/p/logs/run.googleapis.com%2Fstderr"
    assert structured["severity"] == "WARNING" and structured["timestamp"] == "2026-11-24T10:00:00.500000Z"
    assert structured["jsonPayload"] == {"message": "slow", "event": "retry", "wait_s": 2}
    assert structured["labels"] == {"job": "quota-reset", "run.googleapis.com/execution_name": TASK.execution,
                                    "run.googleapis.com/task_index": "1", "run.googleapis.com/task_attempt": "0"}
    assert structured["resource"] == {"type": "cloud_run_job", "labels": {
        "job_name": TASK.job, "location": "us-central1", "project_id": "p"}}
    assert structured["insertId"] and structured["receiveTimestamp"] == "2026-11-24T10:00:00.000000Z"


@pytest.mark.parametrize(("query", "count"), [
    ('labels."run.googleapis.com/task_index"="1" AND severity>=WARNING', 1),
    ('jsonPayload.event="retry"\njsonPayload.wait_s="2"', 1),
    ('timestamp>="2026-11-24T10:00:00.4Z"', 1),  # the JSON line's own time; the text line's is its receipt
    ('timestamp<"2026-11-24T10:00:00.4Z" AND resource.labels.location="us-central1"', 1),
    ('resource.labels.job_name="another"', 0),
])
def test_the_filter_subset(fake: tuple[CloudLoggingFake, FakeClock], query: str, count: int) -> None:
    logs, clock = fake
    clock.advance(2)
    assert len(post(logs, {"resourceNames": ["projects/p"], "filter": query}).json().get("entries", [])) == count


@pytest.mark.parametrize("query", ['severity>=WARNING OR textPayload="x"', "textPayload:\"a text\"",
                                   'NOT severity="INFO"', '(severity="INFO")', 'sourceLocation.file="x"'])
def test_a_filter_outside_the_subset_is_refused(fake: tuple[CloudLoggingFake, FakeClock], query: str) -> None:
    logs, _ = fake
    answer = post(logs, {"resourceNames": ["projects/p"], "filter": query})
    assert answer.status_code == 400 and answer.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert logs.schema_violations  # recorded, so a test whose code sent it fails


def test_requests_are_checked_against_the_discovery_document(fake: tuple[CloudLoggingFake, FakeClock]) -> None:
    logs, _ = fake
    answer = post(logs, {"resourceNames": ["projects/p"], "filters": "x"})
    assert answer.status_code == 400 and "unknown field 'filters'" in answer.json()["error"]["message"]
    assert post(logs, {"filter": ""}).status_code == 400  # resourceNames is required


def test_pages_and_permission(fake: tuple[CloudLoggingFake, FakeClock]) -> None:
    logs, clock = fake
    clock.advance(2)
    first = post(logs, {"resourceNames": ["projects/p"], "pageSize": 1, "orderBy": "timestamp desc"}).json()
    second = post(logs, {"resourceNames": ["projects/p"], "pageSize": 1, "orderBy": "timestamp desc",
                         "pageToken": first["nextPageToken"]}).json()
    assert [e["timestamp"] for e in first["entries"] + second["entries"]] == [
        "2026-11-24T10:00:00.500000Z", "2026-11-24T10:00:00.000000Z"]
    assert "nextPageToken" not in second
    logs.deny("p")
    denied = post(logs, {"resourceNames": ["projects/p"]})
    assert denied.status_code == 403 and denied.json()["error"]["status"] == "PERMISSION_DENIED"
