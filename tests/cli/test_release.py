"""`housejobs release`: migrate → bootstrap → org-sync-all, on Cloud Run (the v2 fake) or in this process
(the sandbox for the admin API, the Supabase stand-in on a real PostgreSQL for migrate)."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.fakes.cloudrun import CloudRunFake
from tests.fakes.supabase import FakeSupabaseApi
from tests.support.cli import Cli
from tests.support.clock import HookClock
from tests.support.cloud_run import PROD_PARENT, gcp, log_summaries, run_bodies, seed, seeded_run, started_jobs
from tests.support.pg_fixtures import supabase_env
from tests.support.sandbox import SandboxHandle

STEPS = ["migrate", "bootstrap", "org-sync-all"]


@pytest.fixture
def run(clock: HookClock) -> Iterator[CloudRunFake]:
    with seeded_run(clock, STEPS) as fake:
        log_summaries(fake)  # each task says `applied` (or `failed`) in its run_summary
        yield fake


# --- on Cloud Run --------------------------------------------------------------------------------
def test_release_runs_the_three_steps_in_order(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete, run.auto_complete_after = "succeeded", 1
    result = cli("release", "--env", "test", "--json", env=gcp(run))
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["outcome"] == "applied"
    assert doc["message"] == "migrate applied → bootstrap applied → org-sync-all applied"  # each step's own word
    assert doc["counts"] == {"steps": 3, "succeeded": 3, "failed": 0, "not_run": 0}
    assert [s["job"] for s in doc["details"]["steps"]] == STEPS
    assert all(s["outcome"] == "applied" and s["execution"] for s in doc["details"]["steps"])
    assert started_jobs(run) == STEPS
    assert run_bodies(run) in ([{}] * 3, [{"overrides": {}}] * 3)  # each job's own args
    records = [r for r in result.log_records() if r.get("event") == "release_step"]
    assert [(r["step"], r["outcome"]) for r in records] == [(j, "applied") for j in STEPS]


def test_release_stops_at_the_first_failure(cli: Cli, run: CloudRunFake) -> None:
    run.auto_complete = "succeeded"
    run.job_outcomes["housejobs-bootstrap-test"] = "failed"
    result = cli("release", "--env", "test", "--json", env=gcp(run))
    assert result.code == 1
    doc = result.json()
    assert doc["outcome"] == "failed"
    assert doc["message"].startswith("stopped at bootstrap: bootstrap failed; execution housejobs-bootstrap-test-")
    assert doc["message"].endswith("; not run: org-sync-all")
    assert [(s["job"], s["outcome"]) for s in doc["details"]["steps"]] == [("migrate", "applied"),
                                                                           ("bootstrap", "failed")]
    assert doc["details"]["not_run"] == ["org-sync-all"]
    assert doc["counts"] == {"steps": 3, "succeeded": 1, "failed": 1, "not_run": 1}
    assert started_jobs(run) == ["migrate", "bootstrap"]
    assert run.executions_of("housejobs-org-sync-all-test") == []


def test_ctrl_c_during_a_step_stops_the_release_not_the_execution(cli: Cli, run: CloudRunFake,
                                                                   clock: HookClock) -> None:
    run.auto_complete_after = 1
    run.job_outcomes["housejobs-migrate-test"] = "succeeded"  # bootstrap keeps running
    clock.hooks[2] = lambda: os.kill(os.getpid(), signal.SIGINT)  # while following bootstrap
    result = cli("release", "--env", "test", "--json", env=gcp(run))
    assert result.code == 130
    doc = result.json()
    assert doc["outcome"] == "interrupted"
    assert "--follow housejobs-bootstrap-test-" in doc["message"] and "not run: org-sync-all" in doc["message"]
    assert started_jobs(run) == ["migrate", "bootstrap"]
    assert "completionTime" not in run.executions_of("housejobs-bootstrap-test")[0]


def test_release_refused_while_a_step_is_running(cli: Cli, run: CloudRunFake) -> None:
    assert cli("run", "migrate", "--env", "test", "--no-wait", env=gcp(run)).code == 0
    result = cli("release", "--env", "test", env=gcp(run))
    assert result.code == 2
    assert "stopped at migrate" in result.stdout and "still running" in result.stdout
    assert started_jobs(run) == ["migrate"]


def test_release_in_prod_asks_once(cli: Cli, run: CloudRunFake) -> None:
    for job in STEPS:
        seed(run, job, "prod", parent=PROD_PARENT)
    run.auto_complete = "succeeded"
    refused = cli("release", "--env", "prod", env=gcp(run))
    assert refused.code == 2 and "prod not confirmed" in refused.stdout
    assert run.requests == []
    confirmed = cli("release", "--env", "prod", stdin="yes\n", tty=True, env=gcp(run))
    assert confirmed.code == 0, confirmed.stdout + confirmed.stderr
    assert confirmed.stderr.count("Type yes to continue") == 1
    assert len([r for r in run.requests if r.path.endswith(":run")]) == 3


# --- in this process -------------------------------------------------------------------------------
def local_env(sandbox: SandboxHandle, supabase: FakeSupabaseApi) -> dict[str, str]:
    return {"HOUSEJOBS_API_URL": sandbox.url, **supabase_env(supabase)}


def history(db: str) -> list[str]:
    with psycopg.connect(db) as conn:
        return [r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations "
                                           "order by version")]


def steps(doc: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["job"], s["outcome"]) for s in doc["details"]["steps"]]


def test_local_release_end_to_end(cli: Cli, sandbox: SandboxHandle, supabase: FakeSupabaseApi,
                                  pg_db: str) -> None:
    result = cli("release", "--env", "test", "--local", "--json", env=local_env(sandbox, supabase))
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["details"]["mode"] == "local"
    # migrate repoints the shared context at Supabase; bootstrap's admin key must still go to the API.
    assert doc["target"] == f"test ({sandbox.url})"
    assert steps(doc) == [("migrate", "applied"), ("bootstrap", "applied"), ("org-sync-all", "applied")]
    # The shipped migrations (jobs/migrations), applied on PostgreSQL through the Management API.
    assert history(pg_db) == ["20250101000000", "20250102000000", "20250103000000"]
    assert doc["details"]["steps"][2]["counts"]["synced"] == 25
    assert len(sandbox.counters("org-sync")) == 25

    again = cli("release", "--env", "test", "--local", "--json", env=local_env(sandbox, supabase))
    assert again.code == 0
    assert steps(again.json())[0] == ("migrate", "skipped")
    assert len(sandbox.counters("org-sync")) == 25  # same date: replayed, not applied twice


def test_local_release_stops_when_bootstrap_is_refused(cli: Cli, sandbox: SandboxHandle,
                                                        supabase: FakeSupabaseApi) -> None:
    env = {**local_env(sandbox, supabase), "CA_ROOT_API_KEY": "not-the-sandbox-key"}
    result = cli("release", "--env", "test", "--local", "--json", env=env)
    assert result.code == 2
    doc = result.json()
    assert steps(doc) == [("migrate", "applied"), ("bootstrap", "refused")]
    assert doc["details"]["not_run"] == ["org-sync-all"]
    assert sandbox.counters("org-sync") == {}
