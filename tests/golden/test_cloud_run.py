"""Golden JSON of the Cloud Run commands (tests/support/golden.py): create-all-jobs, pause, resume, run, logs
and release, against the Cloud Run, Scheduler and Cloud Logging fakes (seeded names, the test's clock)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.support.cli import Cli
from tests.support.clock import HookClock
from tests.support.cloud_run import gcp as run_env
from tests.support.cloud_run import log_summaries, seeded_run
from tests.support.deploy_env import PARENT, GcpEnv
from tests.support.golden import Golden
from tests.support.run_world import run_world
from tests.support.sandbox import SandboxHandle


def test_create_all_jobs(golden: Golden, gcp: GcpEnv) -> None:
    golden("create-all-jobs", "--env", "stage", "--plan", "--json", env=gcp.env)
    golden("create-all-jobs", "--env", "stage", "--json", env=gcp.env)
    golden("create-all-jobs", "--env", "stage", "--plan", "--json", env=gcp.env)  # nothing to change
    gcp.run.job(f"{PARENT}/jobs/housejobs-alerts-stage")["template"]["template"]["maxRetries"] = 7
    del gcp.sched.jobs[f"{PARENT}/jobs/housejobs-reminder-rent-due-stage"]
    golden("create-all-jobs", "--env", "stage", "--only", "alerts", "--plan", "--json", env=gcp.env)
    golden("create-all-jobs", "--env", "stage", "--plan", "--json", env=gcp.env)
    golden("create-all-jobs", "--env", "stage", "--json", env=gcp.env)  # the drift repaired
    golden("create-all-jobs", "--env", "prod", "--json", env=gcp.env)  # not confirmed
    golden.check()


def test_pause_and_resume(golden: Golden, gcp: GcpEnv) -> None:
    golden("pause", "alerts", "--env", "stage", "--json", env=gcp.env)  # nothing deployed: no trigger
    assert golden.cli("create-all-jobs", "--env", "stage", env=gcp.env).code == 0
    golden("pause", "reminder", "--env", "stage", "--json", env=gcp.env)
    golden("pause", "reminder", "--env", "stage", "--json", env=gcp.env)  # already paused
    golden("resume", "reminder", "--env", "stage", "--trigger", "rent-due", "--json", env=gcp.env)
    golden("resume", "reminder", "--env", "stage", "--json", env=gcp.env)
    golden("resume", "alerts", "--env", "stage", "--json", env=gcp.env)  # already enabled
    golden("pause", "migrate", "--env", "stage", "--json", env=gcp.env)
    golden("pause", "reminder", "--env", "stage", "--trigger", "rent", "--json", env=gcp.env)
    golden("pause", "alerts", "--env", "prod", "--json", env=gcp.env)
    golden.check()


def test_run_and_logs(golden: Golden, cli: Cli, sandbox: SandboxHandle, tmp_path: Path) -> None:
    """The containers really run (tests/support/run_world.py): the outcome is the job's own word."""
    with run_world(cli, sandbox, tmp_path) as world:
        date = ("--", "--date", "2026-11-02")
        golden("run", "quota-reset", "--env", "stage", "--json", *date, env=world.env)
        golden("run", "quota-reset", "--env", "stage", "--json", *date, env=world.env)  # duplicate
        golden("logs", "quota-reset", "--env", "stage", "--json", "--severity", "info", env=world.env)
        sandbox.fault(route="/admin/quota/reset-daily", statuses=[500])  # the task fails once, its retry applies
        golden("run", "quota-reset", "--env", "stage", "--json", "--", "--date", "2026-11-03", env=world.env)
        golden("run", "alerts", "--env", "stage", "--no-wait", "--json", "--", "--date", "2026-11-03",
               env=world.env)
        golden("run", "alerts", "--env", "stage", "--json", "--", "--date", "2026-11-04", env=world.env)  # running
        golden("logs", "quota-reset", "--env", "stage", "--json", "--severity", "LOUD", env=world.env)
    golden.check()


def test_run_followed(golden: Golden, clock: HookClock) -> None:
    """Executions whose tasks the test finishes, each task logging the word it is given."""
    with seeded_run(clock, ("bootstrap", "org-sync-all")) as run:
        log_summaries(run)
        env = run_env(run)
        run.auto_complete, run.auto_complete_after = "succeeded", 2
        golden("run", "bootstrap", "--env", "test", "--json", env=env)
        run.auto_complete = None
        clock.hooks[len(clock.sleeps) + 1] = lambda: run.finish_execution(
            run.executions_of("housejobs-org-sync-all-test")[0]["name"], succeeded=2, failed=1)
        golden("run", "org-sync-all", "--env", "test", "--tasks", "3", "--json", env=env)
        clock.hooks[len(clock.sleeps) + 1] = lambda: run.finish_execution(
            run.executions_of("housejobs-bootstrap-test")[0]["name"], cancelled=1, succeeded=0)
        golden("run", "bootstrap", "--env", "test", "--json", env=env)
        run.auto_complete = None
        clock.hooks[len(clock.sleeps) + 2] = lambda: os.kill(os.getpid(), signal.SIGINT)
        golden("run", "bootstrap", "--env", "test", "--json", env=env)  # Ctrl-C stops following, not the execution
        golden("run", "bootstrap", "--env", "test", "--follow", "housejobs-bootstrap-test-zzzzz", "--json", env=env)
        golden("run", "nope", "--env", "test", "--json", env=env)
    golden.check()


def test_release_on_cloud_run(golden: Golden, clock: HookClock) -> None:
    with seeded_run(clock, ("migrate", "bootstrap", "org-sync-all")) as run:
        log_summaries(run)
        run.auto_complete, run.auto_complete_after = "succeeded", 1
        golden("release", "--env", "test", "--json", env=run_env(run))
        run.job_outcomes["housejobs-bootstrap-test"] = "failed"
        golden("release", "--env", "test", "--json", env=run_env(run))
        golden("release", "--env", "prod", "--json", env=run_env(run))  # not confirmed
        run.job_outcomes.clear()
        run.auto_complete, run.auto_complete_after = None, 1
        run.job_outcomes["housejobs-migrate-test"] = "succeeded"  # bootstrap keeps running
        clock.hooks[len(clock.sleeps) + 2] = lambda: os.kill(os.getpid(), signal.SIGINT)  # while following it
        golden("release", "--env", "test", "--json", env=run_env(run))
    golden.check()
