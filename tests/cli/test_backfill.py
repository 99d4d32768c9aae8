"""`housejobs backfill`: on Cloud Run (the real run_v2 client against the fake) and --local (the job
functions against the sandbox), over the month of history in tests/support/history_world.py.

The clock is the suite's FakeClock (2026-11-24 10:00 UTC): "today" is 2026-11-24 and this month 2026-11.
"""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes.scripted import ScriptedServer
from tests.fakes.server import Request
from tests.support.cli import Cli
from tests.support.clock import HookClock
from tests.support.cloud_run import log_summaries, started_args
from tests.support.deploy_env import GcpEnv
from tests.support.history_world import at, job_name, running_month, seed
from tests.support.sandbox import SandboxHandle


@pytest.fixture
def month(cli: Cli, gcp: GcpEnv) -> GcpEnv:
    return running_month(cli, gcp)


def backfill(cli: Cli, gcp: GcpEnv, *args: str, env: dict[str, str] | None = None, **kw: Any) -> Any:
    return cli("backfill", *args, env={**gcp.env, **(env or {})}, **kw)


def results(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(p["period"], p["history"], p["result"]) for p in doc["details"]["periods"]]


# --- Cloud Run mode ---------------------------------------------------------------------------------
def test_cloud_backfill_starts_one_execution_per_period_then_a_rerun_is_duplicate(cli: Cli, month: GcpEnv) -> None:
    first = backfill(cli, month, "quota-reset", "--env", "stage", "--from", "2026-09-01", "--to", "2026-09-03",
                     "--json")
    assert first.code == 0, first.stdout + first.stderr
    doc = first.json()
    assert doc["outcome"] == "applied"
    assert results(doc) == [(f"2026-09-0{d}", "missed", "applied") for d in (1, 2, 3)]
    assert doc["counts"] == {"periods": 3, "applied": 3, "duplicate": 0, "failed": 0, "refused": 0,
                             "interrupted": 0, "not_run": 0}
    # Oldest first, the period appended to the job's catalog args, as `run quota-reset -- --date D` would.
    assert started_args(month.run) == [["quota-reset", "--date", f"2026-09-0{d}"] for d in (1, 2, 3)]
    assert all(p["execution"].startswith(job_name("quota-reset") + "/executions/") for p in doc["details"]["periods"])
    assert [r["event"] for r in first.log_records() if r.get("event", "").startswith("backfill")][:3] == \
        ["backfill_plan"] * 3  # the plan is logged before anything starts

    month.clear()
    again = backfill(cli, month, "quota-reset", "--env", "stage", "--from", "2026-09-01", "--to", "2026-09-03",
                     "--json")
    assert again.code == 0
    doc = again.json()
    assert doc["outcome"] == "duplicate"
    assert results(doc) == [(f"2026-09-0{d}", "succeeded", "duplicate") for d in (1, 2, 3)]
    assert started_args(month.run) == []  # history read each one's job say `applied`: nothing started


def test_cloud_backfill_of_the_missed_periods(cli: Cli, month: GcpEnv) -> None:
    result = backfill(cli, month, "quota-reset", "--env", "stage", "--missed", "--json")
    assert result.code == 0, result.stdout
    # 11-03 had no run. 11-10's run came too late to be the slot's, but it applied 11-10: not redone.
    assert results(result.json()) == [("2026-11-03", "missed", "applied")]
    assert started_args(month.run) == [["quota-reset", "--date", "2026-11-03"]]

    month.clear()
    alerts = backfill(cli, month, "alerts", "--env", "stage", "--missed", "--json")
    assert results(alerts.json()) == [("2026-11-18", "failed", "applied")]

    month.clear()
    nothing = backfill(cli, month, "reminder", "--type", "rent-due", "--env", "stage", "--missed", "--json")
    assert nothing.code == 0 and nothing.json()["outcome"] == "skipped"
    assert "nothing to backfill" in nothing.json()["message"] and started_args(month.run) == []


def test_missed_takes_paused_and_cancelled_slots_and_dry_run_only_plans(cli: Cli, month: GcpEnv) -> None:
    result = backfill(cli, month, "stale-cleanup", "--env", "stage", "--missed", "--dry-run")
    assert result.code == 0, result.stdout
    assert "outcome: dry-run (would backfill stale-cleanup for 8 periods as Cloud Run executions: " \
           "2026-11-08, 2026-11-18..2026-11-24)" in result.stdout
    assert "  2026-11-08  history: cancelled  → not run" in result.stdout
    assert "  2026-11-24  history: missed     → not run" in result.stdout
    assert started_args(month.run) == []


def test_cloud_backfill_of_a_reminder_type(cli: Cli, month: GcpEnv) -> None:
    result = backfill(cli, month, "reminder", "--type", "utilities", "--env", "stage", "--from", "2026-10",
                      "--to", "2026-11", "--json")
    assert result.code == 0, result.stdout
    # November's utilities reminder ran on schedule (10:00 on 1 Nov in Sydney); October's slot (1 Oct)
    # has no execution: history reaches back to --from and reads it missed.
    assert results(result.json()) == [("2026-10", "missed", "applied"), ("2026-11", "succeeded", "duplicate")]
    assert started_args(month.run) == [["reminder", "utilities", "--period", "2026-10"]]


def test_refused_while_another_execution_runs(cli: Cli, month: GcpEnv) -> None:
    seed(month, "quota-reset", at(24, 9, 58), None, args=["quota-reset", "--date", "2026-11-01"])
    result = backfill(cli, month, "quota-reset", "--env", "stage", "--from", "2026-09-01", "--to", "2026-09-02",
                      "--json")
    assert result.code == 2
    doc = result.json()
    assert doc["outcome"] == "refused" and "has an execution still running" in doc["message"]
    # Refused, not failed: nothing was tried for it. Counted apart.
    assert results(doc) == [("2026-09-01", "missed", "refused"), ("2026-09-02", "missed", "not run")]
    assert doc["counts"] == {"periods": 2, "applied": 0, "duplicate": 0, "failed": 0, "refused": 1,
                             "interrupted": 0, "not_run": 1}
    assert started_args(month.run) == []
    allowed = backfill(cli, month, "quota-reset", "--env", "stage", "--from", "2026-09-01", "--to", "2026-09-02",
                       "--allow-concurrent", "--concurrency", "2", "--json")
    assert allowed.code == 0 and allowed.json()["counts"]["applied"] == 2
    assert sorted(a[-1] for a in started_args(month.run)) == ["2026-09-01", "2026-09-02"]


def test_failed_executions_fail_the_backfill(cli: Cli, month: GcpEnv) -> None:
    month.run.job_outcomes["housejobs-alerts-stage"] = "failed"
    result = backfill(cli, month, "alerts", "--env", "stage", "--from", "2026-09-01", "--to", "2026-09-02")
    assert result.code == 1
    assert "outcome: failed" in result.stdout
    assert "2026-09-01  history: missed     → failed" in result.stdout and "0/1 tasks succeeded" in result.stdout
    assert len(started_args(month.run)) == 2  # a failed period does not stop the others


def test_ctrl_c_on_cloud_run_stops_following_and_starts_no_more(cli: Cli, month: GcpEnv, clock: HookClock) -> None:
    month.run.auto_complete_after = 3  # the first execution is still running when Ctrl-C comes
    clock.hooks[1] = lambda: os.kill(os.getpid(), signal.SIGINT)
    result = backfill(cli, month, "alerts", "--env", "stage", "--from", "2026-09-01", "--to", "2026-09-03", "--json")
    assert result.code == 130
    doc = result.json()
    assert doc["outcome"] == "interrupted"
    assert [p[2] for p in results(doc)] == ["interrupted", "not run", "not run"]
    assert doc["counts"]["interrupted"] == 1 and doc["counts"]["not_run"] == 2
    assert "the execution keeps running" in doc["details"]["periods"][0]["reason"]
    assert "--follow housejobs-alerts-stage-" in doc["details"]["periods"][0]["reason"]
    assert "a rerun picks up 2026-09-01..2026-09-03" in doc["message"]
    assert started_args(month.run) == [["alerts", "--date", "2026-09-01"]]


# --- --local: the job functions in this process, against the sandbox --------------------------------
def local(sandbox: SandboxHandle) -> dict[str, str]:
    return {"HOUSEJOBS_BOT_URL": sandbox.url}


def test_local_backfill_applies_then_a_rerun_is_duplicate(cli: Cli, month: GcpEnv, sandbox: SandboxHandle) -> None:
    args = ("quota-reset", "--env", "stage", "--local", "--api-url", sandbox.url, "--from", "2026-11-01",
            "--to", "2026-11-04", "--json")
    first = backfill(cli, month, *args)
    assert first.code == 0, first.stdout + first.stderr
    doc = first.json()
    assert doc["outcome"] == "applied" and doc["target"] == sandbox.url
    assert results(doc) == [("2026-11-01", "succeeded", "applied"), ("2026-11-02", "succeeded", "applied"),
                            ("2026-11-03", "missed", "applied"), ("2026-11-04", "succeeded", "applied")]
    assert sandbox.counters("quota-reset") == {f"quota-reset:2026-11-0{d}": 1 for d in (1, 2, 3, 4)}
    assert started_args(month.run) == []  # nothing on Cloud Run

    again = backfill(cli, month, *args)
    assert again.code == 0
    assert again.json()["outcome"] == "duplicate"
    assert [p[2] for p in results(again.json())] == ["duplicate"] * 4
    assert sandbox.counters("quota-reset") == {f"quota-reset:2026-11-0{d}": 1 for d in (1, 2, 3, 4)}


def test_local_backfill_of_the_missed_periods(cli: Cli, month: GcpEnv, sandbox: SandboxHandle) -> None:
    result = backfill(cli, month, "stale-cleanup", "--env", "stage", "--local", "--api-url", sandbox.url,
                      "--missed", "--json")
    assert result.code == 0, result.stdout
    redo = ["2026-11-08", *(f"2026-11-{d}" for d in range(18, 25))]
    assert results(result.json()) == [(p, "cancelled" if p == "2026-11-08" else "missed", "applied") for p in redo]
    assert sandbox.counters("stale-cleanup") == {f"stale-cleanup:{p}": 1 for p in redo}
    assert started_args(month.run) == []


def test_local_backfill_of_each_kind_of_period(cli: Cli, month: GcpEnv, sandbox: SandboxHandle) -> None:
    base = ("--env", "stage", "--local", "--api-url", sandbox.url, "--json")
    monthly = backfill(cli, month, "quota-monthly", "--from", "2026-09", "--to", "2026-11", *base)
    assert monthly.code == 0, monthly.stdout
    assert sandbox.counters("quota-monthly") == {f"quota-monthly:2026-{m}": 1 for m in ("09", "10", "11")}
    bot = ("--env", "stage", "--local", "--bot-url", sandbox.url, "--json")
    reminder = backfill(cli, month, "reminder", "--type", "rent-due", "--from", "2026-10", "--to", "2026-11", *bot)
    assert reminder.code == 0, reminder.stdout
    assert [p[2] for p in results(reminder.json())] == ["applied", "applied"]
    assert sandbox.counters("reminder") == {"reminder:2026-10:rent-due": 1, "reminder:2026-11:rent-due": 1}
    assert backfill(cli, month, "reminder", "--type", "rent-due", "--from", "2026-10", "--to", "2026-11", *base,
                    env=local(sandbox)).code == 2  # --api-url is the admin API's: refused for a reminder
    assert backfill(cli, month, "reminder", "--type", "rent-due", "--from", "2026-10", "--to", "2026-11", "--env",
                    "stage", "--local", "--json", env=local(sandbox)).json()["outcome"] == "duplicate"
    sync = backfill(cli, month, "org-sync-all", "--from", "2026-11-22", "--to", "2026-11-23", "--concurrency", "2",
                    *base)
    assert sync.code == 0, sync.stdout
    assert [p[:2] for p in results(sync.json())] == [("2026-11-22", "not seen"), ("2026-11-23", "not seen")]
    counts = sandbox.counters("org-sync")
    assert len(counts) == 50 and set(counts.values()) == {1}  # 25 orgs x 2 dates, each once
    assert backfill(cli, month, "org-sync-all", "--from", "2026-11-22", "--to", "2026-11-23", *base
                    ).json()["outcome"] == "duplicate"


@pytest.mark.parametrize(("job", "flag", "names"), [
    (["reminder", "--type", "rent-due"], ["--api-url", "http://127.0.0.1:9"], "give --bot-url"),
    (["quota-reset"], ["--bot-url", "http://127.0.0.1:9"], "give --api-url"),
    (["reminder", "--type", "rent-due", "--bot-url", "http://127.0.0.1:9"], [], "--bot-url is for --local"),
])
def test_a_url_flag_for_the_other_service_is_refused_not_ignored(cli: Cli, month: GcpEnv, sandbox: SandboxHandle,
                                                                 job: list[str], flag: list[str], names: str) -> None:
    """A reminder backfill given --api-url used to ignore it and call the stage bot (issue 21, finding 8)."""
    local_flag = ["--local"] if flag else []
    result = backfill(cli, month, *job, "--env", "stage", *local_flag, *flag, "--from", "2026-11", "--to", "2026-11",
                      "--json", env=local(sandbox))
    assert result.code == 2, result.stdout
    message = result.json()["message"]
    assert names in message and "\n" not in message
    assert sandbox.requests == 0 and started_args(month.run) == []


def test_local_concurrency_runs_periods_side_by_side_and_reports_oldest_first(
        cli: Cli, month: GcpEnv, sandbox: SandboxHandle) -> None:
    result = backfill(cli, month, "stale-cleanup", "--env", "stage", "--local", "--api-url", sandbox.url,
                      "--from", "2026-10-01", "--to", "2026-10-08", "--concurrency", "4", "--json")
    assert result.code == 0, result.stdout
    assert [p[0] for p in results(result.json())] == [f"2026-10-0{d}" for d in range(1, 9)]
    assert len(sandbox.counters("stale-cleanup")) == 8


def test_local_backfill_when_cloud_run_is_out_of_reach(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    # Nothing deployed and the Cloud Run endpoint refusing: the plan cannot say what ran, the work is done.
    result = cli("backfill", "alerts", "--env", "stage", "--local", "--api-url", sandbox.url, "--from",
                 "2026-11-20", "--to", "2026-11-21", "--json",
                 env={**gcp.env, "HOUSEJOBS_RUN_API_ENDPOINT": "http://127.0.0.1:9", "HOUSEJOBS_MAX_ATTEMPTS": "2"})
    assert result.code == 0, result.stdout
    assert results(result.json()) == [("2026-11-20", "not seen", "applied"), ("2026-11-21", "not seen", "applied")]
    assert any(r.get("event") == "backfill_history_unread" for r in result.log_records())


def test_a_failed_period_makes_a_partial_run(cli: Cli, month: GcpEnv, sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/admin/alerts/process-all", statuses=[500])
    result = backfill(cli, month, "alerts", "--env", "stage", "--local", "--api-url", sandbox.url, "--from",
                      "2026-11-20", "--to", "2026-11-22", "--json", env={"HOUSEJOBS_MAX_ATTEMPTS": "1"})
    assert result.code == 3
    doc = result.json()
    assert doc["outcome"] == "partial"
    assert [p[2] for p in results(doc)] == ["failed", "applied", "applied"]
    assert doc["failures"][0]["unit"] == "2026-11-20" and "500" in doc["failures"][0]["reason"]
    rerun = backfill(cli, month, "alerts", "--env", "stage", "--local", "--api-url", sandbox.url, "--from",
                     "2026-11-20", "--to", "2026-11-22", "--json")
    assert rerun.code == 0 and [p[2] for p in results(rerun.json())] == ["applied", "duplicate", "duplicate"]


def test_sigterm_stops_after_the_period_in_flight(cli: Cli, month: GcpEnv, sandbox: SandboxHandle,
                                                 clock: HookClock) -> None:
    # The first period's call gets a 503 and is retried; SIGTERM arrives during that wait.
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[503])
    clock.hooks[1] = lambda: os.kill(os.getpid(), signal.SIGTERM)
    result = backfill(cli, month, "quota-reset", "--env", "stage", "--local", "--api-url", sandbox.url,
                      "--from", "2026-11-20", "--to", "2026-11-22", "--json")
    assert result.code == 143
    doc = result.json()
    assert doc["outcome"] == "interrupted"
    assert [p[2] for p in results(doc)] == ["applied", "not run", "not run"]
    assert "a rerun picks up 2026-11-21..2026-11-22" in doc["message"]
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-20": 1}


def test_a_second_signal_keeps_the_lines_of_the_periods_done(cli: Cli, month: GcpEnv, clock: HookClock) -> None:
    """The second signal cuts the period in flight (it used to drop every period's line, the applied ones
    too: the run ended with the runner's bare `interrupted`). An API that applies 11-20 and keeps answering
    503 for 11-21; SIGTERM in the first retry wait, SIGTERM again in the second (issue 21, finding 10)."""
    def answer(request: Request) -> tuple[int, Any]:
        date = json.loads(request.body)["date"]
        return (503, {"error": {"code": "unavailable", "message": "busy"}}) if date == "2026-11-21" else \
            (200, {"date": date, "orgs_reset": 3})

    clock.hooks[1] = lambda: os.kill(os.getpid(), signal.SIGTERM)
    clock.hooks[2] = lambda: os.kill(os.getpid(), signal.SIGTERM)
    with ScriptedServer(answer) as api:
        result = backfill(cli, month, "quota-reset", "--env", "stage", "--local", "--api-url", api.url,
                          "--from", "2026-11-20", "--to", "2026-11-22", "--json")
    assert result.code == 143, result.stdout
    doc = result.json()
    assert doc["outcome"] == "interrupted"
    assert [p[0::2] for p in results(doc)] == [("2026-11-20", "applied"), ("2026-11-21", "interrupted"),
                                               ("2026-11-22", "not run")]
    assert doc["counts"]["applied"] == 1 and "a rerun picks up 2026-11-21..2026-11-22" in doc["message"]
    assert "second signal" in doc["details"]["periods"][1]["reason"]


# --- prod asks once, listing the periods --------------------------------------------------------------
def test_prod_is_refused_without_confirmation(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    args = ("quota-reset", "--env", "prod", "--local", "--api-url", sandbox.url, "--from", "2026-11-20", "--to",
            "2026-11-22")
    refused = backfill(cli, gcp, *args)
    assert refused.code == 2
    assert "prod not confirmed" in refused.stdout
    assert sandbox.counters() == {}

    asked = backfill(cli, gcp, *args, tty=True, stdin="yes\n")
    assert asked.code == 0, asked.stdout
    prompt = [line for line in asked.stderr.splitlines() if "Type yes" in line]
    assert len(prompt) == 1  # once for the whole backfill
    assert "backfill quota-reset for 3 periods (2026-11-20..2026-11-22) in this process in prod" in prompt[0]
    assert sandbox.counters("quota-reset") == {f"quota-reset:2026-11-{d}": 1 for d in (20, 21, 22)}
    assert backfill(cli, gcp, *args, "--yes").code == 0


def test_prod_cloud_run_backfill_is_refused_before_any_start(cli: Cli, gcp: GcpEnv) -> None:
    result = backfill(cli, gcp, "alerts", "--env", "prod", "--from", "2026-11-20", "--to", "2026-11-20")
    assert result.code == 2 and "prod not confirmed" in result.stdout
    assert started_args(gcp.run) == [] and gcp.run.write_calls == 0


# --- refusals -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("args", "message"), [
    (["quota-reset", "--from", "2026-11-20", "--to", "2026-11-25"],
     "--to 2026-11-25 is in the future: the current period is 2026-11-24"),
    (["quota-monthly", "--from", "2026-11", "--to", "2026-12"], "--to 2026-12 is in the future"),
    (["reminder", "--type", "utilities", "--from", "2026-12", "--to", "2026-12"], "--to 2026-12 is in the future"),
    (["quota-reset", "--from", "2025-10-20", "--to", "2026-11-24"],
     "--from 2025-10-20 --to 2026-11-24 is 401 periods; at most 400 in one backfill"),
    # Periods start at 2000-01 (periods.py), so no monthly window reaches 400 periods any more.
    (["quota-monthly", "--from", "1990-01", "--to", "2026-11"], "--from '1990-01' is before 2000-01-01"),
    (["quota-reset", "--from", "9999-01-01", "--to", "9999-01-02"], "is more than a year after today"),
    (["quota-reset", "--from", "2026-11-05", "--to", "2026-11-01"], "--to 2026-11-01 is before --from 2026-11-05"),
    (["quota-reset", "--from", "2026-11-01"], "--from and --to go together"),
    (["quota-reset"], "pick the periods: --from and --to, or --missed"),
    (["quota-reset", "--missed", "--from", "2026-11-01", "--to", "2026-11-02"], "pick the periods"),
    (["quota-reset", "--from", "2026-11-1", "--to", "2026-11-02"], "--from '2026-11-1' is not a date"),
    (["quota-monthly", "--from", "2026-11-01", "--to", "2026-11-02"], "--from '2026-11-01' is not a month"),
    (["quota-cleanup", "--missed"], "quota-cleanup cannot be backfilled: it deletes by retention"),
    (["bootstrap", "--missed"], "bootstrap cannot be backfilled: it has no business period"),
    (["nope", "--missed"], "unknown job 'nope'"),
    (["reminder", "--missed"], "backfill reminder needs --type"),
    (["reminder", "--type", "rent", "--missed"], "unknown reminder type 'rent'"),
    (["alerts", "--type", "rent-due", "--missed"], "--type is for the reminder, not alerts"),
    (["org-sync-all", "--missed"], "org-sync-all has no schedule, so history cannot miss it"),
    (["alerts", "--missed", "--concurrency", "2"], "--concurrency above 1 on Cloud Run"),
    (["alerts", "--missed", "--api-url", "http://127.0.0.1:9"], "--api-url is for --local"),
])
def test_bad_requests_are_refused_before_any_call(cli: Cli, gcp: GcpEnv, args: list[str], message: str) -> None:
    result = backfill(cli, gcp, *args, "--env", "stage")
    assert result.code == 2, result.stdout
    assert message in result.stdout and "outcome: refused" in result.stdout
    assert gcp.run.requests == [] and gcp.sched.requests == []


def test_exactly_400_periods_is_allowed(cli: Cli, month: GcpEnv) -> None:
    result = backfill(cli, month, "quota-reset", "--env", "stage", "--from", "2025-10-21", "--to", "2026-11-24",
                      "--dry-run", "--json")
    assert result.code == 0, result.stdout
    doc = result.json()
    assert doc["counts"]["periods"] == 400 and doc["outcome"] == "dry-run"
    assert started_args(month.run) == []


# --- issue 21 -------------------------------------------------------------------------------------------
def test_a_dry_run_does_not_count_as_its_periods_run(cli: Cli, month: GcpEnv) -> None:
    """Smoke's `quota-reset --dry-run` at noon on 11-03 (and an operator's dry run of 11-03 later) applied
    nothing: 11-03 is still missed, and --missed still takes it."""
    seed(month, "quota-reset", at(3, 12), args=["quota-reset", "--dry-run"])
    seed(month, "quota-reset", at(20, 12), args=["quota-reset", "--date", "2026-11-03", "--dry-run"])
    result = backfill(cli, month, "quota-reset", "--env", "stage", "--missed", "--json")
    assert result.code == 0, result.stdout
    assert results(result.json()) == [("2026-11-03", "missed", "applied")]
    assert started_args(month.run) == [["quota-reset", "--date", "2026-11-03"]]


def test_a_period_whose_scheduled_run_has_not_come_is_refused(cli: Cli, month: GcpEnv, clock: HookClock) -> None:
    """10:00 UTC on 11-24: November's rent-warning runs at 09:00 on the 25th in Sydney (22:00 UTC today)."""
    args = ("reminder", "--type", "rent-warning", "--env", "stage", "--from", "2026-10", "--to", "2026-11")
    early = backfill(cli, month, *args)
    assert early.code == 2, early.stdout
    assert ("2026-11 is not due yet: its scheduled run is at 2026-11-24 22:00 UTC (2026-11-25 09:00 AEDT)"
            in early.stdout)
    assert "--allow-early" in early.stdout and month.run.requests == [] and month.sched.requests == []
    allowed = backfill(cli, month, *args, "--allow-early", "--json")
    assert allowed.code == 0, allowed.stdout
    assert [p[0] for p in results(allowed.json())] == ["2026-10", "2026-11"]
    # The morning: 00:25 UTC on 12-07, today's alerts (08:00) is not due, yesterday's is.
    clock.advance((datetime(2026, 12, 7, 0, 25, tzinfo=UTC) - clock.now()).total_seconds())
    month.clear()
    today = backfill(cli, month, "alerts", "--env", "stage", "--local", "--api-url", "http://127.0.0.1:9",
                     "--from", "2026-12-06", "--to", "2026-12-07")
    assert today.code == 2 and "2026-12-07 is not due yet: its scheduled run is at 2026-12-07 08:00 UTC" in today.stdout
    assert month.run.requests == []


def test_missed_leaves_out_a_period_not_due_yet(cli: Cli, month: GcpEnv, clock: HookClock) -> None:
    """A failed operator's run of a period is no reason to run it before its trigger does."""
    clock.advance(-3 * 3600)  # 07:00 UTC on 11-24: today's alerts slot (08:00) is upcoming, not missed
    seed(month, "alerts", at(24, 6, 30), "failed", args=["alerts", "--date", "2026-11-24"])
    alerts = backfill(cli, month, "alerts", "--env", "stage", "--missed", "--json")
    assert results(alerts.json()) == [("2026-11-18", "failed", "applied")]
    # 11-20: November's rent-warning (25th, 09:00 Sydney) is days away, so no slot of it is drawn yet.
    clock.advance(-4 * 86400)
    seed(month, "reminder", at(19, 9), "failed", args=["reminder", "rent-warning", "--period", "2026-11"])
    month.clear()
    args = ("reminder", "--type", "rent-warning", "--env", "stage", "--missed", "--json")
    result = backfill(cli, month, *args)
    assert result.code == 0, result.stdout
    assert results(result.json()) == [("2026-10", "missed", "applied")]  # October's slot had no run
    assert result.json()["details"]["not_due"] == [{"period": "2026-11", "due": "2026-11-24T22:00:00Z"}]
    assert started_args(month.run) == [["reminder", "rent-warning", "--period", "2026-10"]]
    early = backfill(cli, month, *args, "--allow-early")  # October is done now (the run above)
    assert [p[0] for p in results(early.json())] == ["2026-11"]


def test_a_prod_backfill_with_nothing_to_start_asks_nothing(cli: Cli, gcp: GcpEnv) -> None:
    """Every period already applied on Cloud Run: nothing is started, so there is nothing to confirm."""
    assert cli("create-all-jobs", "--env", "prod", "--yes", env=gcp.env).code == 0
    log_summaries(gcp.run)  # each run's job said `applied`: what history reads before nothing is started
    prod_job = "projects/cloudact-prod/locations/us-central1/jobs/housejobs-alerts-prod"
    for day in (20, 21, 22):
        gcp.run.seed_execution(prod_job, created=at(day, 8, 0, 4), outcome="succeeded")
    gcp.clear()
    done = backfill(cli, gcp, "alerts", "--env", "prod", "--from", "2026-11-20", "--to", "2026-11-22", "--json")
    assert done.code == 0, done.stdout
    assert done.json()["outcome"] == "duplicate"
    assert [p[2] for p in results(done.json())] == ["duplicate"] * 3
    assert started_args(gcp.run) == []
    # One period to start: then prod asks, and the prompt names only that one.
    asked = backfill(cli, gcp, "alerts", "--env", "prod", "--from", "2026-11-20", "--to", "2026-11-23")
    assert asked.code == 2 and ("prod not confirmed, nothing was done: this would backfill alerts for 1 period "
                                "(2026-11-23)") in asked.stdout
