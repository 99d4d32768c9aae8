"""`run` and `logs` against executions that really run: the job's own outcome, read from Cloud Logging.

Every task is the housejobs image's CLI (tests/support/run_world.py); its stdout and stderr become Cloud
Logging entries as Cloud Run ships them (tests/fakes/cloudlogging.py), visible 2 s after they were written
on the test's clock. `run` reads each task's last run_summary; `logs` prints the lines.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.cloudrun import TaskRun
from tests.support.cli import Cli, CliResult
from tests.support.clock import HookClock
from tests.support.deploy_env import PROJECT
from tests.support.run_world import RunWorld, run_world
from tests.support.sandbox import SandboxHandle

DATE = "2026-11-02"


@pytest.fixture
def world(cli: Cli, sandbox: SandboxHandle, tmp_path: Path) -> Iterator[RunWorld]:
    with run_world(cli, sandbox, tmp_path) as w:
        yield w


def run_quota_reset(world: RunWorld, *args: str, **kw: Any) -> CliResult:
    return world("run", "quota-reset", "--env", "stage", "--json", *args, "--", "--date", DATE, **kw)


def test_applied_then_duplicate_as_the_job_says(world: RunWorld) -> None:
    first = run_quota_reset(world)
    assert first.code == 0, first.stdout + first.stderr
    doc = first.json()
    assert doc["outcome"] == "applied" and doc["details"]["outcome_from"] == "run_summary"
    assert doc["message"].startswith(f"for {DATE}; execution housejobs-quota-reset-stage-")
    assert doc["counts"] == {"orgs_reset": 25}  # the job's counts, not the container's
    assert doc["details"]["tasks"]["succeeded"] == 1
    assert 2.0 <= sum(first.sleeps) <= 5.0  # the summary shows 2 s after it was written

    second = run_quota_reset(world)
    assert second.code == 0
    doc = second.json()
    assert doc["outcome"] == "duplicate"  # the container exited 0 both times; the job said what it did
    assert doc["message"].startswith(f"already applied for {DATE}")
    assert world.sandbox.counters() == {f"quota-reset:{DATE}": 1}


def test_logs_prints_the_latest_runs_summary(world: RunWorld) -> None:
    run_quota_reset(world)
    run_quota_reset(world)
    latest = world.gcp.run.executions_of("housejobs-quota-reset-stage")[0]["name"].rsplit("/", 1)[-1]
    shown = world("logs", "quota-reset", "--env", "stage")
    assert shown.code == 0, shown.stdout + shown.stderr
    lines = shown.stdout.splitlines()
    summary = [line for line in lines if "event=run_summary" in line]
    assert len(summary) == 1 and "  task 0  quota-reset duplicate  " in summary[0]
    assert "outcome=duplicate" in summary[0] and f"detail=already applied for {DATE}" in summary[0]
    assert lines[-1] == f"— {latest} succeeded · {len(lines) - 1} lines · the job said duplicate"
    times = [line[:12] for line in lines[:-1]]
    assert times == sorted(times)
    # --json: the entries as Cloud Logging returns them, one a line, then the closing document.
    as_json = world("logs", "quota-reset", "--env", "stage", "--json", "--severity", "info")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    entries, closing = records[:-1], records[-1]
    assert all(e["resource"]["labels"]["job_name"] == "housejobs-quota-reset-stage" for e in entries)
    assert {e["labels"]["run.googleapis.com/execution_name"] for e in entries} == {latest}
    assert entries[-1]["jsonPayload"]["event"] == "run_summary" and entries[-1]["severity"] == "INFO"
    assert closing["execution"].endswith(latest) and closing["lines"] == len(entries)
    assert closing["outcome"] == "duplicate"


def test_no_wait_reports_started(world: RunWorld) -> None:
    result = run_quota_reset(world, "--no-wait")
    assert result.code == 0
    doc = result.json()
    assert doc["outcome"] == "started" and "its outcome comes later" in doc["message"]
    assert world.logs.list_calls() == []  # nothing followed, nothing read


def test_a_retried_task_counts_its_last_attempt(world: RunWorld) -> None:
    # The first attempt's call gets a 500 (one attempt per call in the container): it exits 1 and logs
    # `failed`; Cloud Run retries the task (maxRetries 3) and the second attempt applies.
    world.sandbox.fault(route="/admin/quota/reset-daily", statuses=[500])
    result = run_quota_reset(world)
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["outcome"] == "applied"
    assert doc["details"]["tasks"]["retried"] == 1
    assert doc["details"]["summaries"]["0"]["attempt"] == 1
    attempts = [e["jsonPayload"]["outcome"] for e in world.logs.entries()
                if e.get("jsonPayload", {}).get("event") == "run_summary"]
    assert attempts == ["failed", "applied"]  # both were logged; only the last attempt counts


def test_a_multi_task_org_sync_ends_partial(world: RunWorld) -> None:
    world.sandbox.fault(route="/admin/orgs/{org_slug}/sync", fail_orgs=["org-000003"])
    result = world("run", "org-sync-all", "--env", "stage", "--tasks", "2", "--json", "--", "--date", DATE)
    assert result.code == 3, result.stdout + result.stderr
    doc = result.json()
    assert doc["outcome"] == "partial"
    assert doc["counts"]["synced"] == 24 and doc["counts"]["failed"] == 1  # the shards' counts, summed
    words = {s["outcome"] for s in doc["details"]["summaries"].values()}
    assert words == {"partial", "applied"}
    assert doc["message"].startswith("2 tasks: 1 partial, 1 applied (task ") or doc["message"].startswith(
        "2 tasks: 1 applied, 1 partial (task ")
    assert "org-000003" in doc["message"]
    # One task's lines, as entries; bad filters are refused before any call.
    one = world("logs", "org-sync-all", "--env", "stage", "--task", "1", "--json")
    entries = [json.loads(line) for line in one.stdout.splitlines()][:-1]
    assert entries and {e["labels"]["run.googleapis.com/task_index"] for e in entries} == {"1"}
    calls = len(world.logs.list_calls())
    for bad, says in ((("--since", "yesterday"), "--since 'yesterday' is neither a duration nor a time"),
                      (("--severity", "LOUD"), "--severity 'LOUD' is not a Cloud Logging severity")):
        refused = world("logs", "org-sync-all", "--env", "stage", *bad)
        assert refused.code == 2 and says in refused.stderr
    assert len(world.logs.list_calls()) == calls


def test_a_summary_that_never_arrives_falls_back_honestly(world: RunWorld) -> None:
    world.logs.delay_s = math.inf  # written, never shown
    result = run_quota_reset(world)
    assert result.code == 0
    doc = result.json()
    assert doc["outcome"] == "unconfirmed"  # never `applied` without the job saying so
    assert doc["message"].startswith("the container exited 0; its summary was not found (no run_summary found "
                                     "in Cloud Logging for task 0 within 30 s)")
    assert doc["details"]["outcome_from"] == "container"
    assert 29.0 <= sum(result.sleeps) <= 32.0  # the bound, on the run's clock (1 s of polling first)


def test_no_permission_names_the_role_and_falls_back(world: RunWorld) -> None:
    world.logs.deny(PROJECT)
    result = run_quota_reset(world)
    assert result.code == 0
    doc = result.json()
    assert doc["outcome"] == "unconfirmed"
    assert "permission denied on Cloud Logging in project cloudact-testing-1" in doc["message"]
    assert "roles/logging.viewer" in doc["details"]["summary_missing"] or "roles/logging.viewer" in doc["message"]
    assert sum(result.sleeps) < 2.0  # a refusal is not waited out
    shown = world("logs", "quota-reset", "--env", "stage")
    assert shown.code == 2 and "roles/logging.viewer" in shown.stderr


def test_logs_follow_while_the_execution_runs(world: RunWorld, clock: HookClock) -> None:
    world.gcp.run.executor = None  # started, and left running: the test plays the container below
    started = run_quota_reset(world, "--no-wait").json()
    ex_id = started["details"]["execution"].rsplit("/", 1)[-1]
    task = TaskRun("housejobs-quota-reset-stage", ex_id, 0, 1, 0, "image", ["quota-reset", "--date", DATE],
                   [{"name": "HOUSEJOBS_ENV", "value": "stage"},
                    {"name": "CA_ROOT_API_KEY", "valueSource": {"secretKeyRef": {"secret": "ca-root-api-key-test",
                                                                                 "version": "latest"}}}])
    base = len(clock.sleeps)

    def container() -> None:  # in a thread of its own, as the fake's executor runs it: it has its own loop
        worker = threading.Thread(target=world.image, args=(task,))
        worker.start()
        worker.join(timeout=60)

    clock.hooks[base + 1] = container  # the task runs while `logs --follow` polls
    clock.hooks[base + 3] = lambda: world.gcp.run.finish_execution(ex_id)
    followed = world("logs", "quota-reset", "--env", "stage", "--follow")
    assert followed.code == 0, followed.stdout + followed.stderr
    lines = followed.stdout.splitlines()[:-1]
    written = [e for e in world.logs.entries() if e["labels"]["run.googleapis.com/execution_name"] == ex_id]
    assert len(lines) == len(written) >= 3  # every line once: no gap, no repeat
    assert "quota-reset applied" in lines[-1] and "event=run_summary" in lines[-1]
    assert followed.stdout.splitlines()[-1] == f"— {ex_id} succeeded · {len(lines)} lines · the job said applied"


def test_a_backfill_over_an_applied_period_and_a_new_one(world: RunWorld) -> None:
    assert run_quota_reset(world).json()["outcome"] == "applied"
    result = world("backfill", "quota-reset", "--env", "stage", "--from", DATE, "--to", "2026-11-03", "--json")
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert [(p["period"], p["history"], p["result"]) for p in doc["details"]["periods"]] == [
        (DATE, "succeeded", "duplicate"), ("2026-11-03", "missed", "applied")]
    assert doc["outcome"] == "applied" and doc["counts"]["applied"] == 1 and doc["counts"]["duplicate"] == 1
    assert world.sandbox.counters() == {f"quota-reset:{DATE}": 1, "quota-reset:2026-11-03": 1}

    history = world("history", "--env", "stage", "--job", "quota-reset", "--json")
    runs = {r["period"]: r["execution"] for r in history.json()["details"]["manual_runs"]}
    assert {p: (e["outcome"], e["job_counts"]) for p, e in runs.items()} == {
        DATE: ("applied", {"orgs_reset": 25}), "2026-11-03": ("applied", {"orgs_reset": 25})}
