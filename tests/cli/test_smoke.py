"""housejobs smoke: doctor's checks, then a dry run of every catalog job as a Cloud Run execution.

The whole world is local and real over sockets (tests/support/smoke_world.py): the Google fakes whose
executor runs the housejobs image for every task, the sandbox as the admin API and the bot, the Supabase
stand-in on a real PostgreSQL, and the BigQuery emulator.
Every test also checks that the smoke changed nothing anywhere but the executions it started.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fakes.bqemulator import BqEmulator
from tests.fakes.cloudrun import TaskRun
from tests.support.bq_fixtures import QuotaTable
from tests.support.cli import Cli, CliResult
from tests.support.clock import NOW
from tests.support.cloud_run import summary_line
from tests.support.deploy_env import PARENT, PROJECT
from tests.support.sandbox import SandboxHandle
from tests.support.smoke_world import SmokeWorld, smoke_world

# Every dry run the catalog asks for: one per job, the reminder once per type its triggers pass.
DRY_RUNS = ["migrate", "bootstrap", "org-sync-all", "quota-reset", "quota-cleanup", "stale-cleanup", "alerts",
            "quota-monthly", "reminder (utilities)", "reminder (rent-warning)", "reminder (rent-due)"]
# The sandbox routes a dry run may touch: reads, refusals, and the admin API's own dry runs (storing nothing).
READ_ROUTES = {"/admin/orgs", "/jobs/reminder/{type}", "/admin/capabilities", "unauthorised", *(
    f"{route} (dry run)" for route in ("/admin/bootstrap", "/admin/quota/reset-daily", "/admin/quota/cleanup-stale",
                                       "/admin/alerts/process-all", "/admin/quota/reset-monthly",
                                       "/admin/orgs/{org}/sync"))}
ADMIN_DRY_RUNS = ["bootstrap", "org-sync-all", "quota-reset", "stale-cleanup", "alerts", "quota-monthly"]


@pytest.fixture
def world(cli: Cli, sandbox: SandboxHandle, pg_db: str, bq_table: QuotaTable, bq_emulator: BqEmulator,
          tmp_path: Path) -> Iterator[SmokeWorld]:
    with smoke_world(cli, sandbox, pg_db, bq_table, bq_emulator, tmp_path) as w:
        yield w


def smoke(cli: Cli, w: SmokeWorld, *args: str, **kw: Any) -> CliResult:
    return cli("smoke", "--env", "stage", *args, env=w.env, **kw)


def rows(result: CliResult) -> dict[str, dict[str, Any]]:
    return {r["label"]: r for r in result.json()["details"]["rows"]}


def assert_nothing_changed(w: SmokeWorld, before: list[Any]) -> None:
    """Zero writes anywhere but the executions the smoke started."""
    assert w.sandbox.counters() == {}  # no effect applied, not even once
    assert set(w.sandbox.routes()) <= READ_ROUTES
    bot = w.sandbox._call("GET", "/_sandbox/bot-log")["records"]
    # Every call the bot answered was a dry run (one it refused for its secret never got that far).
    assert all(r["outcome"] == "unauthorized" or (r["outcome"], r["dryRun"]) == ("dry-run", True) for r in bot), bot
    assert w.supabase.queries and all(q.lstrip().upper().startswith("SELECT") for q in w.supabase.queries)
    with psycopg.connect(w.pg_db) as conn:
        assert conn.execute("select count(*) from pg_namespace where nspname = 'supabase_migrations'"
                            ).fetchone() == (0,)
    assert w.quota.recorded_at() == before
    assert w.gcp.sched.write_calls == 0 and w.gcp.sm.write_calls == 0
    assert {r.method + " " + r.path.rsplit(":", 1)[-1] for r in w.gcp.run.writes()} <= {"POST run"}


def summaries(w: SmokeWorld) -> dict[str, list[str]]:
    """Each container run's outcome, from its canonical run_summary log record, by the job's args."""
    out: dict[str, list[str]] = {}
    for run in w.image.runs:
        records = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
        summary = next(r for r in records if r.get("event") == "run_summary")
        out.setdefault(" ".join(run.task.args), []).append(summary["outcome"])
    return out


# --- green --------------------------------------------------------------------------------------------
def test_smoke_is_green_on_a_good_deployment_and_changes_nothing(cli: Cli, world: SmokeWorld) -> None:
    before = world.quota.recorded_at()
    result = smoke(cli, world, "--json")
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    # Every check passed and every execution was a dry run: nothing changed, which `dry-run` says and
    # `applied` ("this run did the work") would not.
    assert doc["outcome"] == "dry-run" and doc["exit_code"] == 0
    assert doc["counts"] == {"checks": 12, "checks_failed": 0, "dry_runs": 11, "succeeded": 11, "failed": 0}
    assert doc["message"] == "12 of 12 checks passed, 11 of 11 dry runs succeeded"
    assert all(c["ok"] for c in doc["details"]["checks"])
    found = rows(result)
    assert list(found) == DRY_RUNS
    for label, row in found.items():
        assert (row["outcome"], row["state"]) == ("dry-run", "succeeded"), (label, row)  # the job's word
        assert row["execution"].startswith(f"housejobs-{row['job']}-stage-")
        assert row["log_uri"].startswith("https://console.cloud.google.com/logs/viewer?project=cloudact-testing-1")
        assert row["duration_s"] is not None
    assert found["reminder (rent-due)"]["args"] == ["reminder", "rent-due", "--dry-run"]
    assert found["quota-reset"]["args"] == ["quota-reset", "--dry-run"]

    # Every task of every execution ran the image's CLI in dry-run mode, as Cloud Run would start it.
    assert summaries(world) == {"migrate --dry-run": ["dry-run"], "bootstrap --dry-run": ["dry-run"],
                                "org-sync-all --dry-run": ["dry-run"] * 4, "quota-reset --dry-run": ["dry-run"],
                                "quota-cleanup --dry-run": ["dry-run"], "stale-cleanup --dry-run": ["dry-run"],
                                "alerts --dry-run": ["dry-run"], "quota-monthly --dry-run": ["dry-run"],
                                "reminder utilities --dry-run": ["dry-run"],
                                "reminder rent-warning --dry-run": ["dry-run"],
                                "reminder rent-due --dry-run": ["dry-run"]}
    sync = world.image.runs_of("org-sync-all")
    assert sorted(r.task.index for r in sync) == [0, 1, 2, 3] and {r.task.count for r in sync} == {4}
    env = world.gcp.run.executions_of("housejobs-reminder-stage")[0]["template"]["containers"][0]
    assert env["args"][-1] == "--dry-run"
    # The reads happened: orgs listed, the migration history read, rows counted, the bot asked.
    assert world.sandbox.routes()["/admin/orgs"] >= 4
    assert world.sandbox.routes()["/jobs/reminder/{type}"] == 3
    cleanup = world.image.runs_of("quota-cleanup")[0]
    assert "2 rows older than 90 days would be deleted" in cleanup.stdout
    assert_nothing_changed(world, before)
    assert len(world.gcp.run.writes()) == 11  # one RunJob per dry run, and nothing else


def test_smoke_prints_the_checklist_and_one_table(cli: Cli, world: SmokeWorld) -> None:
    result = smoke(cli, world)
    assert result.code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert lines[0].startswith("smoke · target: Cloud Run cloudact-testing-1/us-central1 · outcome: dry-run "
                               "(12 of 12 checks passed, 11 of 11 dry runs succeeded)")
    assert "✓ secret scheduler-shared-secret-test readable: latest version accessible" in lines
    header = next(i for i, line in enumerate(lines) if line.startswith("JOB "))
    assert lines[header].split() == ["JOB", "EXECUTION", "OUTCOME", "DURATION", "LOGS"]
    table = lines[header + 1:]
    assert len(table) == 11
    assert table[-1].startswith("reminder (rent-due)  ")
    assert all(" dry-run " in line and "https://console.cloud.google.com/" in line for line in table)
    assert any(r.get("event") == "smoke_dry_run" for r in result.log_records())


def test_on_a_terminal_each_log_link_stays_whole(cli: Cli, world: SmokeWorld) -> None:
    # The table is wider than the screen: folded by rich, a link would no longer open; its plain lines do.
    result = cli("smoke", "--env", "stage", "--only", "quota-reset", tty=True, env={**world.env, "NO_COLOR": "1"})
    assert result.code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert "✓ secret ca-root-api-key-test readable: latest version accessible" in lines
    assert lines[-2].split() == ["JOB", "EXECUTION", "OUTCOME", "DURATION", "LOGS"]
    row = lines[-1].split()
    assert row[0] == "quota-reset" and row[1].startswith("housejobs-quota-reset-stage-") and row[2] == "dry-run"
    assert row[-1].startswith("https://console.cloud.google.com/logs/viewer?project=cloudact-testing-1")
    assert row[-1].endswith(f"execution_name%22%3D%22{row[1]}%22")
    # --json keeps carrying the same text lines in details.lines, beside the checks and rows as data.
    doc = cli("smoke", "--env", "stage", "--only", "quota-reset", "--json", env=world.env).json()
    text = doc["details"]["lines"]
    # (the terminal wraps a long check at 80 columns: the same checks, in the same order)
    assert [t.split(":")[0] for t in text[:len(doc["details"]["checks"])]] == [
        line.split(":")[0] for line in lines if line[:1] in "✓✗"]
    assert text[-2] == lines[-2] and text[-1].split()[0] == "quota-reset"
    assert text[-1].split()[-1] == doc["details"]["rows"][0]["log_uri"]


def test_only_one_job(cli: Cli, world: SmokeWorld) -> None:
    result = smoke(cli, world, "--only", "reminder", "--json")
    assert result.code == 0, result.stdout
    assert list(rows(result)) == ["reminder (utilities)", "reminder (rent-warning)", "reminder (rent-due)"]
    assert len(world.gcp.run.writes()) == 3
    unknown = smoke(cli, world, "--only", "nope")
    assert unknown.code == 2 and "--only 'nope' is not a catalog job" in unknown.stdout


def test_only_repeated_takes_every_job_named(cli: Cli, world: SmokeWorld) -> None:
    """--only a --only b dry-runs both (the last one alone used to win, silently)."""
    world.gcp.clear()
    result = smoke(cli, world, "--only", "alerts", "--only", "quota-reset", "--only", "alerts", "--json")
    assert result.code == 0, result.stdout
    assert list(rows(result)) == ["quota-reset", "alerts"]  # catalog order, each once
    assert len(world.gcp.run.writes()) == 2
    unknown = smoke(cli, world, "--only", "alerts", "--only", "nope")
    assert unknown.code == 2 and "--only 'nope' is not a catalog job" in unknown.stdout


# --- red ----------------------------------------------------------------------------------------------
def test_a_missing_secret_fails_the_check_and_the_jobs_that_need_it(cli: Cli, world: SmokeWorld) -> None:
    before = world.quota.recorded_at()
    del world.gcp.sm.secrets[(PROJECT, "scheduler-shared-secret-test")]
    result = smoke(cli, world, "--json")
    assert result.code == 1
    doc = result.json()
    assert doc["outcome"] == "failed"
    units = [f["unit"] for f in doc["failures"]]
    assert units == ["check secret scheduler-shared-secret-test readable", "reminder (utilities)",
                     "reminder (rent-warning)", "reminder (rent-due)"]
    reason = doc["failures"][1]["reason"]
    assert "could not start: secret scheduler-shared-secret-test (version latest) was not found" in reason
    found = rows(result)
    assert found["reminder (utilities)"]["outcome"] == "failed"
    assert all(found[label]["passed"] for label in DRY_RUNS[:8])
    assert doc["message"].startswith("11 of 12 checks passed, 8 of 11 dry runs succeeded; failed: check secret")
    assert_nothing_changed(world, before)


def test_a_job_that_exits_non_zero_is_named(cli: Cli, world: SmokeWorld) -> None:
    # The secret is there but the bot no longer accepts it: the image's reminder exits 2 on every attempt.
    world.gcp.sm.add_secret(PROJECT, "scheduler-shared-secret-test", b"rotated-but-not-on-the-bot")
    before = world.quota.recorded_at()
    result = smoke(cli, world)
    assert result.code == 1
    # The message holds parentheses of its own: it is a line of its own under the summary, never nested.
    assert " · outcome: failed · " in result.stdout.splitlines()[0]
    assert "\n  12 of 12 checks passed, 8 of 11 dry runs succeeded; failed: reminder (utilities), " \
           "reminder (rent-warning), reminder (rent-due)\n" in result.stdout
    # The job's own word: the bot refused the key.
    assert "  failed: reminder (utilities): the job said refused, not dry-run: " in result.stdout
    assert "0/1 tasks succeeded" in result.stdout
    failed_line = next(line for line in result.stdout.splitlines() if line.startswith("reminder (rent-due) "))
    assert " refused " in failed_line
    # Cloud Run retried the task up to the job's maxRetries (3): four attempts, each refused by the bot.
    attempts = world.image.runs_of("reminder", "utilities")
    assert [r.task.attempt for r in attempts] == [0, 1, 2, 3] and {r.code for r in attempts} == {2}
    assert_nothing_changed(world, before)


def test_a_wrong_key_in_the_deployment_makes_the_smoke_red(cli: Cli, world: SmokeWorld) -> None:
    # The operator's own key is right (doctor's checks pass), but the jobs' secret holds another: every admin
    # API dry run is refused by its first call (GET /admin/capabilities), so its execution fails.
    world.gcp.sm.add_secret(PROJECT, "ca-root-api-key-test", b"sentinel-root-key-not-the-apis")
    before = world.quota.recorded_at()
    result = smoke(cli, world, "--json")
    assert result.code == 1, result.stdout
    doc = result.json()
    assert doc["outcome"] == "failed" and doc["counts"]["checks_failed"] == 0
    found = rows(result)
    assert sorted(label for label, row in found.items() if not row["passed"]) == sorted(ADMIN_DRY_RUNS)
    assert [f["unit"] for f in doc["failures"]] == ADMIN_DRY_RUNS
    outcomes = summaries(world)
    for job in ADMIN_DRY_RUNS:
        runs = outcomes[f"{job} --dry-run"]
        assert runs and set(runs) == {"refused"}, (job, runs)
    assert {r.code for job in ADMIN_DRY_RUNS for r in world.image.runs_of(job)} == {2}
    assert_nothing_changed(world, before)
    # The jobs' calls stopped at their first (doctor's listing of one page, with the operator's key, is the other).
    assert {(r["method"], r["path"]) for r in world.sandbox.request_log()} == {
        ("GET", "/admin/capabilities"), ("GET", "/admin/orgs")}


def test_a_job_that_is_not_provisioned_is_named(cli: Cli, world: SmokeWorld) -> None:
    del world.gcp.run.jobs[f"{PARENT}/jobs/housejobs-alerts-stage"]
    before = world.quota.recorded_at()
    result = smoke(cli, world, "--json")
    assert result.code == 1
    doc = result.json()
    alerts = rows(result)["alerts"]
    assert (alerts["outcome"], alerts["execution"]) == ("refused", "")
    assert alerts["message"] == (f"Cloud Run job {PARENT}/jobs/housejobs-alerts-stage does not exist; create it "
                                 "with: housejobs create-all-jobs --env stage")
    assert [f["unit"] for f in doc["failures"]] == ["check jobs and triggers in sync", "check IAM bindings on the jobs",
                                                    "alerts"]
    assert doc["counts"]["succeeded"] == 10
    assert_nothing_changed(world, before)


def test_the_checks_have_doctors_deadline(cli: Cli, world: SmokeWorld) -> None:
    # One deadline for a deployment check, wherever it runs: smoke's API check gives up when doctor's does.
    world.sandbox.fault(route="/admin/orgs", error_rate=1)  # the API auth check's call answers 503
    smoked = smoke(cli, world, "--only", "bootstrap", "--json")
    checked = cli("doctor", "--env", "stage", "--json", env=world.env)
    assert smoked.code == 1 and checked.code == 1
    health = [next(c["detail"] for c in checks if c["name"] == "API auth")
              for checks in (smoked.json()["details"]["checks"], checked.json()["checks"])]
    assert all("deadline 10 s" in detail for detail in health), health


# --- running executions, prod, config ---------------------------------------------------------------
def test_an_execution_already_running_is_waited_for(cli: Cli, world: SmokeWorld) -> None:
    run = world.gcp.run
    run.executor = None  # a real run, started earlier, still going
    started = cli("run", "quota-reset", "--env", "stage", "--no-wait", "--json", env=world.env)
    assert started.code == 0
    running = started.json()["details"]["execution"].rsplit("/", 1)[-1]
    run.executor = world.image
    run.job_outcomes["housejobs-quota-reset-stage"] = "succeeded"
    run.auto_complete_after = 2  # it ends on the second poll of it
    result = smoke(cli, world, "--only", "quota-reset", "--json")
    assert result.code == 0, result.stdout
    row = rows(result)["quota-reset"]
    assert row["waited_for"] == [running]
    assert row["execution"] != running and row["outcome"] == "dry-run"
    waits = [r for r in result.log_records() if r.get("event") == "smoke_waiting"]
    assert [w["execution"].rsplit("/", 1)[-1] for w in waits] == [running]
    # The dry run started only once the other execution had finished.
    first, second = run.executions_of("housejobs-quota-reset-stage")[::-1]
    assert first["name"].endswith(running) and first["completionTime"] <= second["createTime"]


def test_prod_needs_confirmation(cli: Cli, world: SmokeWorld) -> None:
    result = cli("smoke", "--env", "prod", env=world.env)
    assert result.code == 2 and "prod not confirmed" in result.stdout
    assert world.gcp.run.requests == [] and world.gcp.sm.requests == []


def test_a_config_that_does_not_resolve_exits_2(cli: Cli, world: SmokeWorld) -> None:
    result = cli("smoke", "--env", "stage", "--json", env={**world.env, "HOUSEJOBS_IMAGE": ""})
    assert result.code == 2
    doc = result.json()
    assert doc["outcome"] == "refused"
    assert doc["details"]["checks"] == [{"name": "config resolves", "ok": False, "detail": doc["message"]}]
    assert "image is not set" in doc["message"]
    assert world.gcp.run.writes() == []
    assert cli("smoke", "--env", "qa", env=world.env).code == 2


def test_a_dry_run_the_job_does_not_call_a_dry_run_is_red(cli: Cli, world: SmokeWorld) -> None:
    # An image whose quota-reset ignores --dry-run: its container exits 0, and its summary says `applied`.
    real = world.image

    def old_image(task: TaskRun) -> int:
        if task.args[0] != "quota-reset":
            return real(task)
        line = summary_line("quota-reset", "applied", exit_code=0, at=NOW, execution=task.execution)
        world.gcp.logs.ingest(task, project=PROJECT, location="us-central1", stderr=line)
        return 0

    world.gcp.run.executor = old_image
    result = smoke(cli, world, "--only", "quota-reset", "--json")
    assert result.code == 1
    row = rows(result)["quota-reset"]
    assert (row["state"], row["outcome"], row["passed"]) == ("succeeded", "applied", False)
    assert row["message"].startswith("the job said applied, not dry-run: quota-reset applied; execution ")
