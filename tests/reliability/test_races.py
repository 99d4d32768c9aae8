"""Races: eight runs of the same job and period at once (Cloud Scheduler delivers at least once, an
operator re-runs by hand, Cloud Run retries a task) → exactly one `applied`, the rest `duplicate`; for
org-sync-all and migrate, every org and every migration applied exactly once across all the runs.

In-process runs go on eight threads, each with its own clock and CLI runner, released together by a
barrier, against one sandbox whose `hold_ms` keeps the first claim in flight so the others really get
`409 idempotency_in_flight` and retry. One variant uses eight real processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fakes.supabase import FakeSupabaseApi
from tests.support.cli import Cli, CliResult
from tests.support.clock import FakeClock
from tests.support.process import check_period
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY, SENTINELS
from tests.support.waiting import wait_until

RUNS = 8
DATE, MONTH = "2026-11-24", "2026-11"
IN_FLIGHT = "409 idempotency_in_flight"
# Retries pause for real, briefly, so a run that got 409 tries again after its twin committed; many
# attempts make the budget (40 x 20 ms) several times the hold, whatever the scheduling. The deadline is
# on the fake clock, whose backoff waits (up to 8 s each) would otherwise end the run after ~14 attempts
# and 280 ms of real time: less than a hold on a loaded machine.
RACE_ENV = {"HOUSEJOBS_MAX_ATTEMPTS": "40", "HOUSEJOBS_DEADLINE": "3600"}


class RacingClock(FakeClock):
    """FakeClock (the business date stays fixed) whose sleeps also yield 20 ms of real time."""

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds)
        await asyncio.sleep(0.02)


def race(tmp_path: Path, argv: list[str], env: dict[str, str] | None = None) -> list[CliResult]:
    """Run the CLI RUNS times at once on threads, each with its own clock and runner."""
    barrier = threading.Barrier(RUNS)
    results: list[CliResult] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def one() -> None:
        cli = Cli(RacingClock(), tmp_path)
        try:
            barrier.wait(timeout=10)
            result = cli(*argv, env={**RACE_ENV, **(env or {})})
        except BaseException as exc:  # reported by the test below
            with lock:
                errors.append(exc)
            return
        with lock:
            results.append(result)

    threads = [threading.Thread(target=one, name=f"race-{i}") for i in range(RUNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racing run did not finish"
    assert not errors, errors
    assert len(results) == RUNS
    for result in results:
        assert result.code == 0, result.stdout + result.stderr
        assert json.loads(result.stderr.strip().splitlines()[-1])["event"] == "run_summary"
    return results


def outcomes(results: list[CliResult]) -> list[str]:
    return sorted(r.json()["outcome"] for r in results)


def saw_409(results: list[CliResult]) -> bool:
    return any(IN_FLIGHT in r.stderr for r in results)


# --- period-keyed jobs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("job", "route", "unit"), [pytest.param(*case, id=case[0]) for case in (
    ("quota-reset", "/admin/quota/reset-daily", DATE),
    ("stale-cleanup", "/admin/quota/cleanup-stale", DATE),
    ("alerts", "/admin/alerts/process-all", DATE),
    ("quota-monthly", "/admin/quota/reset-monthly", MONTH),
)])
def test_eight_runs_of_a_period_job_apply_once(sandbox: SandboxHandle, tmp_path: Path, job: str,
                                               route: str, unit: str) -> None:
    sandbox.fault(route=route, hold_ms=300)
    results = race(tmp_path, [job, "--api-url", sandbox.url, "--json"])
    assert outcomes(results) == ["applied"] + ["duplicate"] * (RUNS - 1)
    assert sandbox.counters(job) == {f"{job}:{unit}": 1}
    assert saw_409(results), "no run met the first one in flight"
    assert sandbox.routes()[route] > RUNS  # the 409s were retried


def test_eight_reminder_dispatches_claim_once(sandbox: SandboxHandle, tmp_path: Path) -> None:
    # The bot's claim is one atomic insert per household, so twins never wait: they answer duplicate.
    sandbox.fault(route="/jobs/reminder/{type}", latency_ms=100)
    results = race(tmp_path, ["reminder", "rent-due", "--bot-url", sandbox.url, "--json"])
    assert outcomes(results) == ["applied"] + ["duplicate"] * (RUNS - 1)
    assert sandbox.counters("reminder") == {f"reminder:{MONTH}:rent-due": 1}
    assert len({r.json()["details"]["dedupeKey"] for r in results}) == 1


def test_eight_bootstrap_task_retries_of_one_execution_apply_once(sandbox: SandboxHandle,
                                                                  tmp_path: Path) -> None:
    env = {"CLOUD_RUN_JOB": "housejobs-bootstrap-stage", "CLOUD_RUN_EXECUTION": "housejobs-bootstrap-stage-r8",
           "HOUSEJOBS_ENV": "stage"}
    sandbox.fault(route="/admin/bootstrap", hold_ms=300)
    results = race(tmp_path, ["bootstrap", "--api-url", sandbox.url, "--json"], env)
    assert outcomes(results) == ["applied"] + ["duplicate"] * (RUNS - 1)
    assert sandbox.counters("bootstrap") == {"bootstrap:run": 1}


# --- org-sync-all and migrate: every unit once ------------------------------------------------------------------
def test_eight_org_sync_runs_sync_every_org_once(sandbox: SandboxHandle, tmp_path: Path) -> None:
    sandbox.fault(route="/admin/orgs/{org}/sync", hold_ms=30)
    results = race(tmp_path, ["org-sync-all", "--api-url", sandbox.url, "--concurrency", "4", "--json",
                              "--date", DATE])
    counts = sandbox.counters("org-sync")
    assert len(counts) == 25 and set(counts.values()) == {1}
    docs = [r.json() for r in results]
    assert all(d["outcome"] in ("applied", "duplicate") for d in docs)
    # Each org was applied by exactly one run and reported as a duplicate by the seven others.
    assert sum(d["counts"]["synced"] for d in docs) == 25
    assert sum(d["counts"]["duplicate"] for d in docs) == 25 * (RUNS - 1)
    assert saw_409(results)


MIGRATIONS = {
    "20260101000000_m1.sql": "create table public.ledger (migration text not null);\n"
                             "insert into public.ledger values ('m1');\n",
    "20260102000000_m2.sql": "insert into public.ledger values ('m2');\n",
    "20260103000000_m3.sql": "insert into public.ledger values ('m3');\n",
}


def lined_up(parties: int) -> Callable[[str], None]:
    """before_query hook: hold the first migration's requests until every run has sent one (bounded)."""
    barrier = threading.Barrier(parties)
    arrivals = iter(range(parties))  # only the first `parties` requests wait (a Barrier would reset)
    lock = threading.Lock()

    def hold(sql: str) -> None:
        if "values ('m1')" not in sql:
            return
        with lock:
            lining_up = next(arrivals, None) is not None
        if lining_up:  # broken when a run took another path: the race still ran, just less tightly
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=5)

    return hold


def test_eight_migrate_runs_apply_each_migration_once(pg_db: str, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, sql in MIGRATIONS.items():
        (folder / name).write_text(sql)
    with FakeSupabaseApi(pg_db, token=SENTINELS["SUPABASE_ACCESS_TOKEN"]) as api:
        api.before_query = lined_up(RUNS)
        env = {"HOUSEJOBS_SUPABASE_API_URL": api.url, "HOUSEJOBS_SUPABASE_PROJECT_REF": api.ref}
        results = race(tmp_path, ["migrate", "--env", "test", "--dir", str(folder), "--json"], env)
    docs = [r.json() for r in results]
    assert all(d["outcome"] in ("applied", "duplicate", "skipped") for d in docs), docs
    assert sum(d["counts"]["applied"] for d in docs) == 3
    with psycopg.connect(pg_db) as conn:
        rows = conn.execute("select migration, count(*) from public.ledger group by migration order by 1")
        assert [tuple(r) for r in rows] == [("m1", 1), ("m2", 1), ("m3", 1)]
        history = conn.execute("select version from supabase_migrations.schema_migrations order by 1")
        assert [r[0] for r in history] == ["20260101000000", "20260102000000", "20260103000000"]


# --- across real processes ------------------------------------------------------------------------------------
# Each process loads what a run needs, says so, and waits for one "go" line: the eight then start their
# runs within milliseconds of each other instead of spread over their start-up times.
STARTER = """
import sys
import housejobs.api.client, housejobs.runner, housejobs.jobs.admin
from housejobs.cli.main import main
sys.stderr.write("ready\\n")
sys.stderr.flush()
sys.stdin.readline()
main()
"""


@pytest.mark.slow
def test_eight_processes_of_quota_reset_apply_once(sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/admin/quota/reset-daily", hold_ms=500)
    env: dict[str, Any] = {**os.environ, "CA_ROOT_API_KEY": ROOT_KEY, "HOUSEJOBS_MAX_ATTEMPTS": "20"}
    argv = ["quota-reset", "--api-url", sandbox.url, "--date", DATE, "--json"]
    check_period(argv)
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(RUNS)]
    try:
        for p in procs:
            assert p.stderr is not None and p.stderr.readline() == "ready\n"
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        outs = [p.communicate(timeout=60) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert [p.returncode for p in procs] == [0] * RUNS, outs
    assert sorted(json.loads(out)["outcome"] for out, _ in outs) == ["applied"] + ["duplicate"] * (RUNS - 1)
    assert sandbox.counters("quota-reset") == {f"quota-reset:{DATE}": 1}
    assert any(IN_FLIGHT in err for _, err in outs), "no process met the first one in flight"
    for _, err in outs:
        assert "Traceback" not in err and json.loads(err.strip().splitlines()[-1])["event"] == "run_summary"


@pytest.mark.slow
def test_a_killed_runs_claim_in_the_embedded_sandbox_is_released_at_once(cli: Cli, tmp_path: Path) -> None:
    """SIGKILL mid-call takes the embedded sandbox down with the client, its claim still in flight. The
    immediate rerun (a Cloud Run task retry, an operator) must not meet 409 for the claim's lease: a claim
    whose sandbox process is gone is released at once."""
    import signal
    import sqlite3

    from tests.support.process import spawn_cli

    state = tmp_path / "state"
    env = {"HOUSEJOBS_STATE_DIR": str(state),
           "HOUSEJOBS_SANDBOX_FAULTS": json.dumps({"route": "/admin/quota/reset-daily", "hold_ms": 30000})}
    proc = spawn_cli(["quota-reset", "--date", DATE, "--json"], extra_env=env)
    db = state / "sandbox.db"

    def in_flight() -> bool:
        if not db.exists():
            return False
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as conn:
            try:
                return conn.execute("SELECT COUNT(*) FROM idempotency WHERE state='in_flight'").fetchone()[0] > 0
            except sqlite3.OperationalError:  # the schema is still being made
                return False

    wait_until(in_flight, "the run's claim", proc=proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    rerun = cli("quota-reset", "--date", DATE, "--json", env={"HOUSEJOBS_STATE_DIR": str(state)})
    assert rerun.code == 0, rerun.stdout + rerun.stderr
    assert rerun.json()["outcome"] == "applied" and IN_FLIGHT not in rerun.stderr
