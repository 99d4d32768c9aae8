"""gcp/specs.py, the normalisation create-all-jobs compares by: spellings Google treats as equal, the
defaults and server fields it fills in, and the field diff it prints. Directly, without any server."""

from __future__ import annotations

import json

import pytest

from housejobs.gcp import specs


@pytest.mark.parametrize(("a", "b"), [("1", "1000m"), ("0.5", "500m"), ("2", "2.0")])
def test_cpu_spellings_compare_equal(a: str, b: str) -> None:
    assert specs.cpu(a) == specs.cpu(b)


@pytest.mark.parametrize(("a", "b"), [("1Gi", "1024Mi"), ("512Mi", "524288Ki"), ("2Gi", "2048Mi")])
def test_memory_spellings_compare_equal(a: str, b: str) -> None:
    assert specs.memory(a) == specs.memory(b)


def test_memory_decimal_units_are_not_binary() -> None:
    assert specs.memory("1G") != specs.memory("1Gi")
    assert (specs.duration("600.000s"), specs.duration("1.5s")) == ("600s", "1.5s")


def test_a_bare_job_compares_equal_to_one_with_the_server_defaults() -> None:
    bare = {"template": {"template": {"containers": [{"image": "x"}]}}}
    filled = {"launchStage": "GA", "uid": "u", "etag": "e", "template": {"taskCount": 1, "template": {
        "maxRetries": 3, "timeout": "600.0s", "containers": [{"image": "x", "resources": {
            "limits": {"cpu": "1000m", "memory": "512Mi"}}}]}}}
    assert specs.diff(specs.run_job_view(filled, set()), specs.run_job_view(bare, set())) == []


def test_scheduler_additions_are_not_drift() -> None:
    body = specs.scheduler_job_body(name="n", description="d", schedule="0 0 * * *", time_zone="UTC",
                                    run_job="projects/p/locations/r/jobs/j", run_request={},
                                    service_account="s@x", retry_count=0, attempt_deadline_s=180)
    served = json.loads(json.dumps(body))
    served["httpTarget"]["headers"]["User-Agent"] = "Google-Cloud-Scheduler"
    served["retryConfig"] = {"minBackoffDuration": "5s", "maxBackoffDuration": "3600s", "maxDoublings": 5,
                             "maxRetryDuration": "0s"}
    served.update(state="PAUSED", userUpdateTime="t", scheduleTime="t", timeZone="Etc/UTC")
    del served["attemptDeadline"]
    assert specs.diff(specs.scheduler_job_view(served), specs.scheduler_job_view(body)) == []


def test_diff_lines_are_sorted_by_path_and_a_missing_description_is_unset() -> None:
    actual = {"template.taskCount": 2, "labels.managed-by": "(unset)", "template.template.maxRetries": 3,
              "labels.housejobs-env": "(unset)"}
    desired = {"template.taskCount": 1, "labels.managed-by": "housejobs", "template.template.maxRetries": 0,
               "labels.housejobs-env": "stage"}
    assert [line.split(":")[0] for line in specs.diff(actual, desired)] == [
        "labels.housejobs-env", "labels.managed-by", "template.taskCount", "template.template.maxRetries"]
    body = specs.scheduler_job_body(name="n", description="d", schedule="0 0 * * *", time_zone="UTC",
                                    run_job="projects/p/locations/r/jobs/j", run_request={},
                                    service_account="s@x", retry_count=0, attempt_deadline_s=180)
    gcloud_made = {k: v for k, v in body.items() if k != "description"}
    assert specs.diff(specs.scheduler_job_view(gcloud_made), specs.scheduler_job_view(body)) == [
        "description: (unset) -> d"]
