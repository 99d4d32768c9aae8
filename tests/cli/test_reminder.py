"""The reminder job: the CLI against the sandbox as the bot runtime, over real HTTP. The runtime's endpoint
itself is tests/unit/sandbox/test_bot.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.support.bot import SECRET, bot_log, ledger, post
from tests.support.cli import Cli
from tests.support.clock import FakeClock
from tests.support.sandbox import SandboxHandle, start_sandbox


# --- the CLI ------------------------------------------------------------------------------------------
def bot(sandbox: SandboxHandle) -> tuple[str, str]:
    return ("--bot-url", sandbox.url)


def test_embedded_sandbox_works_out_of_the_box(cli: Cli) -> None:
    first = cli("reminder", "utilities")
    assert first.code == 0, first.stdout + first.stderr
    assert "target: embedded sandbox" in first.stdout and "outcome: applied" in first.stdout
    second = cli("reminder", "utilities", "--json")
    assert second.code == 0 and second.json()["outcome"] == "duplicate"
    assert second.json()["details"]["dedupeKey"] == "2026-11:utilities"


def test_cli_outcomes_exit_codes_and_json(cli: Cli, sandbox: SandboxHandle) -> None:
    dry = cli("reminder", "rent-warning", *bot(sandbox), "--period", "2026-12", "--dry-run", "--json")
    assert dry.code == 0 and dry.json()["outcome"] == "dry-run"
    assert ledger(sandbox) == []
    applied = cli("reminder", "rent-warning", *bot(sandbox), "--period", "2026-12", "--json")
    duplicate = cli("reminder", "rent-warning", *bot(sandbox), "--period", "2026-12", "--json")
    for result, outcome in ((dry, "dry-run"), (applied, "applied"), (duplicate, "duplicate")):
        doc = result.json()
        assert result.code == 0 and doc["exit_code"] == 0 and doc["outcome"] == outcome
        assert doc["details"]["dedupeKey"] == "2026-12:rent-warning"
        assert doc["details"]["period"] == "2026-12"
        assert doc["target"] == sandbox.url and doc["attempts"] == 1
    assert len(ledger(sandbox)) == 1
    # the bot's log saw the job ids the CLI sent
    assert [r["outcome"] for r in bot_log(sandbox)] == ["dry-run", "claimed", "duplicate"]
    assert bot_log(sandbox)[1]["jobId"] == applied.json()["details"]["jobId"]


def test_cli_logs_the_reminder_fields(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("reminder", "utilities", *bot(sandbox), "--period", "2026-11")
    (record,) = [r for r in result.log_records() if r["message"] == "reminder claimed"]
    assert record["dedupeKey"] == "2026-11:utilities" and record["period"] == "2026-11"
    assert result.log_records()[-1]["event"] == "run_summary"


def test_wrong_secret_is_refused_and_names_the_setting(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("reminder", "utilities", *bot(sandbox),
                 env={"SCHEDULER_SHARED_SECRET": "sentinel-scheduler-secret-but-wrong"})
    assert result.code == 2, result.stdout
    assert "401" in result.stdout and "SCHEDULER_SHARED_SECRET" in result.stdout
    assert ledger(sandbox) == []


def test_missing_secret_is_refused_before_any_call(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("reminder", "utilities", *bot(sandbox), unset=("SCHEDULER_SHARED_SECRET",))
    assert result.code == 2 and "SCHEDULER_SHARED_SECRET is not set" in result.stdout
    assert sandbox.requests == 0


def test_runtime_without_reminder_routes_is_refused(cli: Cli, bare: SandboxHandle) -> None:
    result = cli("reminder", "utilities", *bot(bare))
    assert result.code == 2 and "has no reminder routes" in result.stdout


def test_transient_failures_are_retried_and_claim_once(cli: Cli, sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/jobs/reminder/{type}", statuses=[503, 429])
    result = cli("reminder", "utilities", *bot(sandbox), "--json")
    assert result.code == 0 and result.json()["outcome"] == "applied"
    assert result.json()["attempts"] == 3 and len(result.sleeps) == 2
    assert sandbox.counters("reminder") == {"reminder:2026-11:utilities": 1}


def test_exhausted_retries_fail_with_exit_1(cli: Cli, sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/jobs/reminder/{type}", statuses=[503] * 50)
    result = cli("reminder", "utilities", *bot(sandbox), "--deadline", "5", "--json")
    assert result.code == 1 and result.json()["outcome"] == "failed"
    assert ledger(sandbox) == []


@pytest.mark.parametrize(("argv", "text"), [
    (("reminder", "groceries"), "unknown reminder type 'groceries'"),
    (("reminder", ""), "unknown reminder type ''"),
    (("reminder", "utilities", "--period", "2026-13"), "--period '2026-13' is not a month"),
    (("reminder", "utilities", "--period", "2026-1"), "--period '2026-1' is not a month"),
    (("reminder", "utilities", "--period", "Dec"), "--period 'Dec' is not a month"),
    (("reminder", "utilities", "--job-id", ""), "--job-id '' is not a job id"),
    (("reminder", "utilities", "--job-id", "a b"), "--job-id 'a b' is not a job id"),
    (("reminder", "utilities", "--bot-url", "ftp://bot"), "not an http(s) URL"),
])
def test_bad_input_exits_2_before_any_call(cli: Cli, sandbox: SandboxHandle, argv: tuple[str, ...],
                                           text: str) -> None:
    extra = () if "--bot-url" in argv else bot(sandbox)
    result = cli(*argv, *extra, "--json")
    assert result.code == 2, result.stdout + result.stderr
    assert result.json()["outcome"] == "refused" and text in result.json()["message"]
    assert sandbox.requests == 0


def test_bad_type_in_prod_is_refused_without_a_prompt(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("reminder", "groceries", "--env", "prod", env={"HOUSEJOBS_BOT_URL": sandbox.url}, tty=True)
    assert result.code == 2 and "Type yes" not in result.stderr
    assert sandbox.requests == 0


def test_prod_asks_for_confirmation(cli: Cli, sandbox: SandboxHandle) -> None:
    env = {"HOUSEJOBS_BOT_URL": sandbox.url}
    refused = cli("reminder", "rent-due", "--env", "prod", env=env)
    assert refused.code == 2 and "prod not confirmed" in refused.stdout and sandbox.requests == 0
    assert cli("reminder", "rent-due", "--env", "prod", "--dry-run", env=env).code == 0
    confirmed = cli("reminder", "rent-due", "--env", "prod", env=env, stdin="yes\n", tty=True)
    assert confirmed.code == 0 and "This will dispatch the rent-due reminder in prod" in confirmed.stderr
    assert len(ledger(sandbox)) == 1


# --- the period and the job id ---------------------------------------------------------------------------
SYDNEY_FIRST = datetime(2026, 11, 30, 22, 0, tzinfo=UTC)  # 09:00 on 1 December in Sydney


@pytest.mark.parametrize(("argv", "env"), [
    (("--env", "stage"), {}),  # the household time zone from environments.toml
    ((), {"HOUSEJOBS_HOUSEHOLD_TIME_ZONE": "Australia/Sydney"}),
])
def test_default_period_is_the_household_month(sandbox: SandboxHandle, tmp_path: Path, argv: tuple[str, ...],
                                               env: dict[str, str]) -> None:
    cli = Cli(FakeClock(SYDNEY_FIRST), tmp_path)
    result = cli("reminder", "utilities", *argv, *bot(sandbox), "--json", env=env)
    assert result.code == 0, result.stdout + result.stderr
    assert result.json()["details"]["period"] == "2026-12"
    assert result.json()["details"]["dedupeKey"] == "2026-12:utilities"
    assert [row[1] for row in ledger(sandbox)] == ["2026-12:utilities"]
    assert bot_log(sandbox)[0]["period"] == "2026-12"


def test_default_period_in_utc_is_still_november(sandbox: SandboxHandle, tmp_path: Path) -> None:
    cli = Cli(FakeClock(SYDNEY_FIRST), tmp_path)
    result = cli("reminder", "utilities", *bot(sandbox), "--json")
    assert result.json()["details"]["period"] == "2026-11"


def test_bad_household_time_zone_is_refused(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("reminder", "utilities", *bot(sandbox), env={"HOUSEJOBS_HOUSEHOLD_TIME_ZONE": "Mars/Olympus"})
    assert result.code == 2 and "'Mars/Olympus'" in result.stdout and "not an IANA time zone" in result.stdout
    assert sandbox.requests == 0


def test_job_id_is_the_cloud_run_execution(cli: Cli, sandbox: SandboxHandle) -> None:
    env = {"CLOUD_RUN_JOB": "housejobs-reminder-prod", "CLOUD_RUN_EXECUTION": "housejobs-reminder-prod-x7k2p",
           "HOUSEJOBS_ENV": "prod", "HOUSEJOBS_BOT_URL": sandbox.url}
    result = cli("reminder", "rent-due", "--json", env=env)  # no prompt inside Cloud Run
    assert result.code == 0, result.stdout + result.stderr
    assert result.json()["details"]["jobId"] == "housejobs-reminder-prod-x7k2p"
    assert ledger(sandbox)[0][2] == "housejobs-reminder-prod-x7k2p"
    retry = cli("reminder", "rent-due", "--json", env=env)  # Cloud Run retrying the task
    assert retry.code == 0 and retry.json()["outcome"] == "duplicate"


def test_job_id_is_fresh_outside_cloud_run_unless_given(cli: Cli, sandbox: SandboxHandle) -> None:
    one = cli("reminder", "utilities", *bot(sandbox), "--dry-run", "--json").json()["details"]["jobId"]
    two = cli("reminder", "utilities", *bot(sandbox), "--dry-run", "--json").json()["details"]["jobId"]
    assert one != two and re.fullmatch(r"[0-9a-f-]{36}", one)
    given = cli("reminder", "utilities", *bot(sandbox), "--job-id", "manual-42", "--json")
    assert given.json()["details"]["jobId"] == "manual-42" and ledger(sandbox)[0][2] == "manual-42"


def test_secret_from_secret_manager(cli: Cli, sandbox: SandboxHandle) -> None:
    from tests.fakes.secretmanager import SecretManagerFake

    with SecretManagerFake() as sm:
        sm.add_secret("cloudact-testing-1", "scheduler-shared-secret-test", SECRET.encode())
        result = cli("reminder", "utilities", "--env", "stage", "--json", unset=("SCHEDULER_SHARED_SECRET",),
                     env={"HOUSEJOBS_BOT_URL": sandbox.url, "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": sm.endpoint})
    assert result.code == 0, result.stdout + result.stderr
    assert result.json()["outcome"] == "applied" and result.json()["target"].startswith("stage bot (")


def test_cli_help_documents_the_command(cli: Cli, capfd: pytest.CaptureFixture[str]) -> None:
    assert cli("reminder", "--help").code == 0
    text = capfd.readouterr().out  # click prints help itself, to the process's stdout
    assert "Example: housejobs reminder" in text and "utilities, rent-warning or rent-due" in text
    for option in ("--period", "--job-id", "--bot-url", "--dry-run", "--env"):
        assert option in text


def test_start_sandbox_helper_serves_the_bot(tmp_path: Path) -> None:
    handle = start_sandbox(tmp_path / "s.db", orgs=1)
    try:
        assert post(handle, "utilities", {"period": "2026-11"}).json()["outcome"] == "claimed"
    finally:
        handle.server.stop()


def test_reminder_with_env_needs_no_admin_api_url(cli: Cli, sandbox: SandboxHandle) -> None:
    # The reminder only calls the bot: an environment without an admin API URL must not stop it.
    result = cli("reminder", "utilities", "--env", "stage", "--bot-url", sandbox.url, "--json",
                 env={"HOUSEJOBS_API_URL": ""})
    assert result.code == 0, result.stdout + result.stderr
    assert result.json()["outcome"] == "applied"
