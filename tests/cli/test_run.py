"""`housejobs run`: the real google-cloud-run client (REST, anonymous) against the Cloud Run v2 fake.

Executions finish when the test says so: `auto_complete` / `job_outcomes` after `auto_complete_after`
polls, or a hook on the fake clock's sleeps that finishes (or interrupts) mid-follow. Every request
the CLI sends is checked against the run.v2 discovery document by the fake.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.cloudrun import CloudRunFake
from tests.support.cli import Cli
from tests.support.clock import FakeClock, HookClock
from tests.support.cloud_run import (
    PARENT,
    PROD_PARENT,
    PROJECT,
    REGION,
    gcp,
    log_summaries,
    run_bodies,
    seed,
    seeded_run,
)
from tests.support.deploy_env import gcp_env

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def run(clock: HookClock) -> Iterator[CloudRunFake]:
    """The fakes, the containers standing in as `applied` in the logs (tests/cli/test_run_logs.py runs them)."""
    with seeded_run(clock, ("bootstrap", "org-sync-all", "reminder")) as fake:
        log_summaries(fake)
        yield fake


def latest(run: CloudRunFake, job: str = "bootstrap", env: str = "test") -> dict[str, Any]:
    return run.executions_of(f"housejobs-{job}-{env}")[0]


def status_records(result: Any) -> list[dict[str, Any]]:
    return [r for r in result.log_records() if r.get("event") == "execution_status"]


# --- followed to the end -------------------------------------------------------------------------
def test_followed_to_success(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete, run.auto_complete_after = "succeeded", 2
    result = cli("run", "bootstrap", "--env", "test", "--json", env=gcp(run))
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["outcome"] == "applied" and doc["exit_code"] == 0  # the job's own word, from its run_summary
    assert doc["details"]["outcome_from"] == "run_summary"
    assert doc["details"]["tasks"] == {"tasks": 1, "succeeded": 1, "failed": 0, "cancelled": 0, "retried": 0}
    ex = latest(run)
    assert doc["details"]["execution"] == ex["name"]
    assert doc["details"]["duration_s"] == 2.5  # the fake's clock is ours: two polls, 1 s then 1.5 s apart
    assert doc["details"]["log_uri"].startswith("https://console.cloud.google.com/logs/viewer?project=")
    assert "logs: https://console.cloud.google.com" in doc["message"]
    assert doc["target"] == f"Cloud Run {PROJECT}/{REGION}"
    assert result.sleeps == [1.0, 1.5]  # polling backs off
    # Off a terminal: one JSON log record per change, not per poll.
    assert [r["state"] for r in status_records(result)] == ["running", "succeeded"]
    # No overrides were asked for, so none were sent: the job's own args and task count apply.
    assert run_bodies(run) in ([{}], [{"overrides": {}}])
    assert ex["template"]["containers"][0]["args"] == ["bootstrap"]


def test_backoff_is_capped(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete, run.auto_complete_after = "succeeded", 10
    result = cli("run", "bootstrap", "--env", "test", env=gcp(run))
    assert result.code == 0
    assert result.sleeps[:3] == [1.0, 1.5, 2.25]
    assert result.sleeps[-3:] == [15.0, 15.0, 15.0] and len(result.sleeps) == 10  # one per poll


def test_a_failed_task_makes_the_run_partial(cli: Cli, run: CloudRunFake, clock: HookClock) -> None:
    # Two tasks said applied, one failed: some units done, some not.
    clock.hooks[1] = lambda: run.finish_execution(latest(run, "org-sync-all")["name"], succeeded=2, failed=1)
    result = cli("run", "org-sync-all", "--env", "test", "--tasks", "3", "--json", env=gcp(run))
    assert result.code == 3
    doc = result.json()
    assert doc["outcome"] == "partial" and doc["details"]["state"] == "failed"
    assert doc["details"]["tasks"] == {"tasks": 3, "succeeded": 2, "failed": 1, "cancelled": 0, "retried": 0}
    assert doc["message"].startswith("3 tasks: 2 applied, 1 failed")
    assert "2/3 tasks succeeded" in doc["message"] and "exited with an error" in doc["message"]


def test_job_outcome_failed(cli: Cli, run: CloudRunFake) -> None:
    run.job_outcomes["housejobs-bootstrap-test"] = "failed"
    result = cli("run", "bootstrap", "--env", "test", env=gcp(run))
    assert result.code == 1
    assert "outcome: failed" in result.stdout and "0/1 tasks succeeded" in result.stdout


def test_cancelled_execution_is_not_done(cli: Cli, run: CloudRunFake, clock: HookClock) -> None:
    # One task applied, the other was cancelled before it could say anything: partly done.
    clock.hooks[2] = lambda: run.finish_execution(latest(run, "org-sync-all")["name"], succeeded=1, cancelled=1)
    result = cli("run", "org-sync-all", "--env", "test", "--tasks", "2", "--json", env=gcp(run))
    assert result.code == 3
    doc = result.json()
    assert doc["outcome"] == "partial" and doc["details"]["state"] == "cancelled"
    assert doc["details"]["tasks"]["cancelled"] == 1 and doc["details"]["tasks"]["succeeded"] == 1
    # Wholly cancelled: nothing done, nothing said.
    clock.hooks[len(clock.sleeps) + 1] = lambda: run.finish_execution(latest(run, "bootstrap")["name"], cancelled=1,
                                                                     succeeded=0)
    whole = cli("run", "bootstrap", "--env", "test", "--json", env=gcp(run))
    assert whole.code == 1 and whole.json()["outcome"] == "failed"
    assert "its summary was not found" in whole.json()["message"]


# --- overrides -----------------------------------------------------------------------------------
def test_tasks_and_args_arrive_in_the_run_request(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete = "succeeded"
    result = cli("run", "org-sync-all", "--env", "test", "--tasks", "4", "--json",
                 "--", "--concurrency", "8", "--date", "2026-11-23", env=gcp(run))
    assert result.code == 0, result.stdout + result.stderr
    assert run_bodies(run) == [{"overrides": {
        "containerOverrides": [{"name": "housejobs",
                                "args": ["org-sync-all", "--concurrency", "8", "--date", "2026-11-23"]}],
        "taskCount": 4}}]
    ex = latest(run, "org-sync-all")
    assert ex["taskCount"] == 4
    assert ex["template"]["containers"][0]["args"] == ["org-sync-all", "--concurrency", "8", "--date", "2026-11-23"]
    assert result.json()["details"]["tasks"]["succeeded"] == 4
    assert run.schema_violations == []


def test_args_without_tasks(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete = "succeeded"
    result = cli("run", "reminder", "--env", "test", "--", "rent-due", "--period", "2026-12", env=gcp(run))
    assert result.code == 0
    assert run_bodies(run) == [{"overrides": {"containerOverrides": [{
        "name": "housejobs", "args": ["reminder", "rent-due", "--period", "2026-12"]}]}}]


def test_args_follow_the_catalog_args(cli: Cli, run: CloudRunFake, tmp_path: Path) -> None:
    # As with a trigger's args, the operator's come after the job's own from the catalog.
    jobs = tmp_path / "jobs"
    shutil.copytree(REPO / "jobs", jobs)
    catalog = jobs / "catalog.toml"
    catalog.write_text(catalog.read_text().replace('[jobs.org-sync-all]\n', '[jobs.org-sync-all]\n'
                                                   'args = ["--concurrency", "64"]\n'))
    run.auto_complete = "succeeded"
    result = cli("run", "org-sync-all", "--env", "test", "--", "--date", "2026-11-23",
                 env={**gcp(run), "HOUSEJOBS_JOBS_DIR": str(jobs)})
    assert result.code == 0, result.stdout
    assert latest(run, "org-sync-all")["template"]["containers"][0]["args"] == [
        "org-sync-all", "--concurrency", "64", "--date", "2026-11-23"]


def test_runs_a_job_that_create_all_jobs_provisioned(cli: Cli, clock: HookClock) -> None:
    with gcp_env() as deployed:
        env = deployed.env
        made = cli("create-all-jobs", "--env", "stage", "--only", "org-sync-all", env=env)
        assert made.code == 0, made.stdout + made.stderr
        deployed.run.auto_complete, deployed.run.auto_complete_after = "succeeded", 1
        result = cli("run", "org-sync-all", "--env", "stage", "--tasks", "2", "--json", "--", "--org", "acme",
                     env=env)
        assert result.code == 0, result.stdout + result.stderr
        ex = deployed.run.executions_of("housejobs-org-sync-all-stage")[0]
        assert ex["taskCount"] == 2
        assert ex["template"]["containers"][0]["args"] == ["org-sync-all", "--org", "acme"]
        assert result.json()["counts"]["succeeded"] == 2
        assert deployed.violations() == []


# --- concurrency ---------------------------------------------------------------------------------
def test_refused_while_another_execution_runs(cli: Cli, run: CloudRunFake) -> None:
    first = cli("run", "bootstrap", "--env", "test", "--no-wait", "--json", env=gcp(run))
    assert first.code == 0
    first_id = first.json()["details"]["execution"].rsplit("/", 1)[-1]
    second = cli("run", "bootstrap", "--env", "test", "--json", env=gcp(run))
    assert second.code == 2
    doc = second.json()
    assert doc["outcome"] == "refused"
    assert first_id in doc["message"] and "--allow-concurrent" in doc["message"]
    assert f"--follow {first_id}" in doc["message"]
    assert len(run_bodies(run)) == 1 and len(run.executions_of("housejobs-bootstrap-test")) == 1

    third = cli("run", "bootstrap", "--env", "test", "--allow-concurrent", "--no-wait", env=gcp(run))
    assert third.code == 0
    assert len(run.executions_of("housejobs-bootstrap-test")) == 2


def test_a_finished_execution_does_not_block(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete = "failed"
    assert cli("run", "bootstrap", "--env", "test", env=gcp(run)).code == 1
    run.auto_complete = "succeeded"
    assert cli("run", "bootstrap", "--env", "test", env=gcp(run)).code == 0


# --- no wait, follow, Ctrl-C ---------------------------------------------------------------------
def test_no_wait_returns_after_start(cli: Cli, run: CloudRunFake) -> None:
    result = cli("run", "bootstrap", "--env", "test", "--no-wait", "--json", env=gcp(run))
    assert result.code == 0
    doc = result.json()
    ex = latest(run)
    assert doc["details"]["execution"] == ex["name"] and doc["details"]["state"] == "running"
    assert f"housejobs run bootstrap --env test --follow {ex['name'].rsplit('/', 1)[-1]}" in doc["message"]
    assert result.sleeps == []
    assert not any("/executions/" in r.path and r.method == "GET" for r in run.requests)
    assert "completionTime" not in ex


def test_follow_an_execution_started_earlier(cli: Cli, run: CloudRunFake) -> None:
    started = cli("run", "bootstrap", "--env", "test", "--no-wait", "--json", env=gcp(run))
    ex_id = started.json()["details"]["execution"].rsplit("/", 1)[-1]
    run.finish_execution(ex_id)
    run.clear_requests()
    followed = cli("run", "bootstrap", "--env", "test", "--follow", ex_id, "--json", env=gcp(run))
    assert followed.code == 0, followed.stdout
    assert followed.json()["details"]["tasks"]["succeeded"] == 1 and followed.json()["outcome"] == "applied"
    assert run_bodies(run) == []


def test_follow_errors(cli: Cli, run: CloudRunFake) -> None:
    missing = cli("run", "bootstrap", "--env", "test", "--follow", "housejobs-bootstrap-test-zzzzz", env=gcp(run))
    assert missing.code == 2 and "does not exist" in missing.stdout
    other = cli("run", "bootstrap", "--env", "test", "--follow",
                f"{PARENT}/jobs/housejobs-reminder-test/executions/x", env=gcp(run))
    assert other.code == 2 and "is not an execution of" in other.stdout
    mixed = cli("run", "bootstrap", "--env", "test", "--follow", "x", "--tasks", "2", env=gcp(run))
    assert mixed.code == 2 and "--follow" in mixed.stdout
    assert run.requests[-1].path.endswith("housejobs-bootstrap-test-zzzzz")  # the last two sent nothing


def test_ctrl_c_stops_following_not_the_execution(cli: Cli, run: CloudRunFake, clock: HookClock) -> None:
    clock.hooks[2] = lambda: os.kill(os.getpid(), signal.SIGINT)
    result = cli("run", "bootstrap", "--env", "test", "--json", env=gcp(run))
    assert result.code == 130
    doc = result.json()
    ex = latest(run)
    assert doc["outcome"] == "interrupted"
    assert f"housejobs run bootstrap --env test --follow {ex['name'].rsplit('/', 1)[-1]}" in doc["message"]
    assert "completionTime" not in ex  # still running
    assert not any(r.path.endswith(":cancel") for r in run.requests)
    assert len(result.sleeps) == 2  # stopped at once, no further polling


# --- terminal / off terminal ---------------------------------------------------------------------
def test_live_status_line_on_a_terminal(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete, run.auto_complete_after = "succeeded", 2
    result = cli("run", "bootstrap", "--env", "test", tty=True, env=gcp(run))
    assert result.code == 0
    lines = result.stderr.split("\r\x1b[2K")
    # Before; one rewrite per poll (start, poll 1, poll 2); then the job's log line above the last status.
    assert len(lines) == 6
    assert "running · 1 running · 0/1 succeeded" in lines[1]
    assert "succeeded · 0 running · 1/1 succeeded" in lines[3]
    assert lines[4].startswith("10:00:02.500  INFO      task 0  bootstrap applied  event=run_summary outcome=applied")
    assert "succeeded · 0 running · 1/1 succeeded" in lines[5]
    # The log link is whole on a line of its own (an 80-column terminal cannot hold it beside the words).
    assert "logs:" in result.stdout and "\n  https://console.cloud.google.com/logs/" in result.stdout
    quiet = cli("run", "bootstrap", "--env", "test", "--no-logs", tty=True, env=gcp(run))
    assert quiet.code == 0 and "task 0" not in quiet.stderr


# --- refusals and errors -------------------------------------------------------------------------
def test_unknown_job_lists_the_catalog(cli: Cli, run: CloudRunFake) -> None:
    result = cli("run", "nope", "--env", "test", env=gcp(run))
    assert result.code == 2
    assert "unknown job 'nope'" in result.stdout and "bootstrap, migrate, org-sync-all" in result.stdout
    assert run.requests == []


def test_unknown_env_and_missing_env(cli: Cli, run: CloudRunFake) -> None:
    assert cli("run", "bootstrap", "--env", "dev", env=gcp(run)).code == 2
    assert cli("run", "bootstrap", env=gcp(run)).code == 2
    assert run.requests == []


def test_prod_refused_without_confirmation(cli: Cli, run: CloudRunFake) -> None:
    seed(run, "bootstrap", "prod", parent=PROD_PARENT)
    run.auto_complete = "succeeded"
    refused = cli("run", "bootstrap", "--env", "prod", env=gcp(run))
    assert refused.code == 2 and "prod not confirmed" in refused.stdout
    assert run.requests == []
    piped = cli("run", "bootstrap", "--env", "prod", stdin="yes\n", env=gcp(run))
    assert piped.code == 0, piped.stdout
    assert cli("run", "bootstrap", "--env", "prod", "--yes", env=gcp(run)).code == 0
    assert len(run.executions_of(f"{PROD_PARENT}/jobs/housejobs-bootstrap-prod")) == 2


def test_job_not_provisioned(cli: Cli, run: CloudRunFake) -> None:
    result = cli("run", "bootstrap", "--env", "stage", env=gcp(run))
    assert result.code == 2
    assert "housejobs-bootstrap-stage does not exist" in result.stdout
    assert "housejobs create-all-jobs --env stage" in result.stdout


def test_permission_denied_is_one_line_exit_2(cli: Cli, run: CloudRunFake) -> None:
    run.fail_next("PERMISSION_DENIED", method="GET", message="Permission 'run.executions.list' denied")
    result = cli("run", "bootstrap", "--env", "test", env=gcp(run))
    assert result.code == 2
    assert "permission denied on Cloud Run job" in result.stdout and "run.executions.list" in result.stdout
    assert run_bodies(run) == []


def test_transient_errors_while_polling_are_retried(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete, run.auto_complete_after = "succeeded", 1
    run.fail_next("UNAVAILABLE", method="GET", path_contains="/executions/", times=2)
    result = cli("run", "bootstrap", "--env", "test", env=gcp(run))
    assert result.code == 0, result.stdout
    assert len(result.sleeps) == 3  # one poll interval and two retry waits


def test_a_425_while_polling_is_retried_like_any_transient_status(cli: Cli, run: CloudRunFake) -> None:
    # api/retry.py's rule: 425 Too Early is transient. The Cloud Run reads once had their own list without it.
    run.auto_complete, run.auto_complete_after = "succeeded", 1
    run.fail_next("UNAVAILABLE", method="GET", path_contains="/executions/", http=425, message="too early")
    result = cli("run", "bootstrap", "--env", "test", env=gcp(run))
    assert result.code == 0, result.stdout
    assert len(result.sleeps) == 2  # one poll interval and one retry wait


def test_read_retries_wait_by_the_one_backoff_formula(run: CloudRunFake, tmp_path: Path) -> None:
    """The waits between Cloud Run read attempts are api/retry.backoff's, draw for draw: the first at most
    base_wait, each ceiling doubling up to max_wait (not the old `base_wait * 2**attempt`)."""
    import asyncio
    import random

    from housejobs.api.retry import RetryPolicy, backoff
    from housejobs.gcp.executions import CloudRunExecutions
    from housejobs.settings import SettingsFiles
    from housejobs.settings_model import resolve

    policy = RetryPolicy(max_attempts=6, deadline=60.0, base_wait=0.5, max_wait=1.5)
    clock = FakeClock()
    settings = resolve(SettingsFiles({"HOUSEJOBS_RUN_API_ENDPOINT": run.endpoint}, tmp_path))
    reader = CloudRunExecutions(settings, clock=clock, policy=policy, rng=random.Random(7))
    run.fail_next("UNAVAILABLE", method="GET", path_contains="/executions", times=4)
    assert asyncio.run(reader.running(f"{PARENT}/jobs/housejobs-bootstrap-test")) == []
    replay = random.Random(7)
    assert clock.sleeps == [backoff(n, policy, replay) for n in (1, 2, 3, 4)]
    ceilings = [0.5, 1.0, 1.5, 1.5]
    assert all(0 <= wait <= top for wait, top in zip(clock.sleeps, ceilings, strict=True))


def test_read_retries_stop_before_a_wait_past_the_deadline(run: CloudRunFake, tmp_path: Path) -> None:
    """With attempts to spare, the reads give up at the deadline: before the wait that would cross it, and
    with the same words as when the attempts run out."""
    import asyncio
    import random

    from housejobs.api.retry import RetryPolicy, backoff
    from housejobs.errors import ApiUnavailable
    from housejobs.gcp.executions import CloudRunExecutions
    from housejobs.settings import SettingsFiles
    from housejobs.settings_model import resolve

    policy = RetryPolicy(max_attempts=50, deadline=3.0, base_wait=1.0, max_wait=1.0)
    clock = FakeClock()
    settings = resolve(SettingsFiles({"HOUSEJOBS_RUN_API_ENDPOINT": run.endpoint}, tmp_path))
    reader = CloudRunExecutions(settings, clock=clock, policy=policy, rng=random.Random(3))
    run.fail_next("UNAVAILABLE", method="GET", path_contains="/executions", times=50)
    with pytest.raises(ApiUnavailable) as info:
        asyncio.run(reader.running(f"{PARENT}/jobs/housejobs-bootstrap-test"))
    replay, waits = random.Random(3), []
    while sum(waits) + (wait := backoff(len(waits) + 1, policy, replay)) < policy.deadline:
        waits.append(wait)
    assert clock.sleeps == waits and len(waits) < policy.max_attempts - 1
    attempts = len(waits) + 1
    assert info.value.attempts == attempts and info.value.status == 503
    assert info.value.message.endswith(f" (gave up after {attempts} attempts in {sum(waits):.1f} s)")


def test_transient_errors_give_up_with_exit_1(cli: Cli, run: CloudRunFake) -> None:
    run.fail_next("UNAVAILABLE", method="GET", path_contains="/executions/", times=50)
    result = cli("run", "bootstrap", "--env", "test", env=gcp(run))
    assert result.code == 1
    assert "gave up after" in result.stdout and "503" in result.stdout


def test_start_is_not_retried(cli: Cli, run: CloudRunFake) -> None:
    run.fail_next("UNAVAILABLE", method="POST", path_contains=":run")
    result = cli("run", "bootstrap", "--env", "test", env=gcp(run))
    assert result.code == 1
    assert "may have started anyway" in result.stdout
    assert len(run_bodies(run)) == 1


# --- scripts/run-job.sh --------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [[], ["test"], ["dev", "bootstrap"], ["prod; rm", "bootstrap"]])
def test_run_job_script_accepts_only_known_envs(argv: list[str]) -> None:
    done = subprocess.run(["bash", str(REPO / "scripts" / "run-job.sh"), *argv], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 2
    assert "usage: run-job.sh test|stage|prod JOB" in done.stderr


def test_run_job_script_runs_the_cli(run: CloudRunFake, tmp_path: Path) -> None:
    run.auto_complete = "succeeded"
    env = {**os.environ, **gcp(run)}
    done = subprocess.run(["bash", str(REPO / "scripts" / "run-job.sh"), "test", "org-sync-all", "--tasks", "2",
                           "--json", "--", "--concurrency", "4"], capture_output=True, text=True, timeout=60,
                          env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert run_bodies(run) == [{"overrides": {"containerOverrides": [{
        "name": "housejobs", "args": ["org-sync-all", "--concurrency", "4"]}], "taskCount": 2}}]


def test_run_reminder_without_a_type_is_refused_before_any_call(cli: Cli) -> None:
    result = cli("run", "reminder", "--env", "stage")
    assert result.code == 2
    assert "reminder type" in result.stdout + result.stderr
