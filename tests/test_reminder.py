"""The reminder: the bot runtime's scheduler endpoint in the sandbox, and the CLI job, over real HTTP."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from housejobs.sandbox.app import make_server
from tests.support.cli import Cli
from tests.support.clock import FakeClock
from tests.support.sandbox import SandboxHandle, start_sandbox
from tests.support.sentinels import ROOT_KEY, SENTINELS, assert_no_secret

SECRET = SENTINELS["SCHEDULER_SHARED_SECRET"]
RIGHT = {"x-household-scheduler-secret": SECRET}
FIVE = ("jobId", "dedupeKey", "outcome", "reminderType", "period")


def post(sandbox: SandboxHandle, reminder_type: str, body: Any = None, *, headers: dict[str, str] | None = None,
         raw: bytes | None = None) -> httpx.Response:
    content = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
    return httpx.post(f"{sandbox.url}/jobs/reminder/{reminder_type}", content=content,
                      headers=RIGHT if headers is None else headers, timeout=10)


def ledger(sandbox: SandboxHandle) -> list[tuple[str, str, str, str, str]]:
    store = sandbox.server.app.store
    with store.lock:
        rows = store.db.execute("SELECT household_id, dedupe_key, job_id, reminder_type, period "
                                "FROM processed_bot_messages ORDER BY dedupe_key").fetchall()
    return [tuple(r) for r in rows]


def bot_log(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    records = sandbox._call("GET", "/_sandbox/bot-log")["records"]
    assert_no_secret(json.dumps(records), "the bot log")
    return list(records)


def no_secret(response: httpx.Response) -> None:
    assert_no_secret(response.text, "the response body")
    assert_no_secret(json.dumps(dict(response.headers)), "the response headers")


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[SandboxHandle]:
    """A runtime with no scheduler secret configured."""
    server = make_server(tmp_path / "bare.db", api_key=ROOT_KEY, scheduler_secret=None).start()
    yield SandboxHandle(server, server.url)
    server.stop()


# --- auth -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("headers", [
    {},
    {"x-household-scheduler-secret": ""},
    {"x-household-scheduler-secret": "sentinel-scheduler-secret-but-wrong"},
    {"Authorization": "Bearer sentinel-scheduler-secret-but-wrong"},
    {"Authorization": f"Basic {SECRET}"},  # the right value under the wrong scheme
    {"Authorization": "Bearer"},
], ids=["none", "empty", "wrong-header", "wrong-bearer", "basic-scheme", "bearer-without-token"])
def test_missing_or_wrong_secret_is_401(sandbox: SandboxHandle, headers: dict[str, str]) -> None:
    response = post(sandbox, "utilities", {"period": "2026-11"}, headers=headers)
    assert response.status_code == 401
    assert response.json()["ok"] is False and response.json()["error"]["code"] == "unauthorized"
    no_secret(response)
    assert ledger(sandbox) == []
    (record,) = bot_log(sandbox)
    assert record["outcome"] == "unauthorized" and record["status"] == 401
    assert record["reminderType"] == "utilities" and record["jobId"] is None  # the body is not read


@pytest.mark.parametrize("headers", [
    {"x-household-scheduler-secret": SECRET},
    {"X-Household-Scheduler-Secret": SECRET},
    {"Authorization": f"Bearer {SECRET}"},
    {"Authorization": f"bearer {SECRET}"},
], ids=["header", "header-capitalised", "bearer", "bearer-lowercase"])
def test_right_secret_in_either_header_form_is_accepted(sandbox: SandboxHandle, headers: dict[str, str]) -> None:
    response = post(sandbox, "rent-due", {"period": "2026-12", "jobId": "run-1"}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "claimed"
    no_secret(response)


def test_no_secret_configured_means_no_routes(bare: SandboxHandle) -> None:
    response = post(bare, "utilities", {"period": "2026-11"})
    assert response.status_code == 404
    # the same answer as any path the runtime does not serve
    assert response.json() == httpx.post(f"{bare.url}/jobs/nothing-here", timeout=10).json()
    no_secret(response)
    assert ledger(bare) == [] and bare.counters("reminder") == {}


# --- validation ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("reminder_type", "body", "code"), [
    ("utilities", {"period": "2026-13"}, "invalid_period"),
    ("utilities", {"period": "2026-1"}, "invalid_period"),
    ("utilities", {"period": "26-11"}, "invalid_period"),
    ("utilities", {"period": 202611}, "invalid_period"),
    ("utilities", {"period": ""}, "invalid_period"),
    ("utilities", {"period": SECRET}, "invalid_period"),  # a pasted secret is refused, never echoed
    ("groceries", {"period": "2026-11"}, "unknown_reminder_type"),
    ("", {"period": "2026-11"}, "unknown_reminder_type"),
    ("utilities", {"jobId": ""}, "invalid_job_id"),
    ("utilities", {"jobId": 7}, "invalid_job_id"),
    ("utilities", {"dryRun": "yes"}, "invalid_dry_run"),
    ("utilities", [1, 2], "invalid_json"),
])
def test_malformed_request_is_400_without_secret(sandbox: SandboxHandle, reminder_type: str, body: Any,
                                                 code: str) -> None:
    response = post(sandbox, reminder_type, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    no_secret(response)
    assert ledger(sandbox) == []
    (record,) = bot_log(sandbox)
    assert record["outcome"] == "rejected" and record["error"] == code and record["status"] == 400
    assert set(FIVE) <= set(record)


def test_body_that_is_not_json_is_400(sandbox: SandboxHandle) -> None:
    response = post(sandbox, "utilities", raw=b'{"period": "2026-11"')
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_json"
    assert ledger(sandbox) == []


# --- the ledger ----------------------------------------------------------------------------------------
def test_claim_then_replay_is_duplicate_with_one_row(sandbox: SandboxHandle) -> None:
    first = post(sandbox, "utilities", {"period": "2026-11", "jobId": "exec-1"})
    assert first.json() == {"ok": True, "jobId": "exec-1", "reminderType": "utilities", "period": "2026-11",
                            "dedupeKey": "2026-11:utilities", "outcome": "claimed", "dryRun": False}
    again = post(sandbox, "utilities", {"period": "2026-11", "jobId": "exec-2"})
    assert again.status_code == 200
    assert again.json() == {**first.json(), "jobId": "exec-2", "outcome": "duplicate"}
    assert ledger(sandbox) == [("household-demo", "2026-11:utilities", "exec-1", "utilities", "2026-11")]
    assert sandbox.counters("reminder") == {"reminder:2026-11:utilities": 1}
    # another type or another month is its own claim
    assert post(sandbox, "rent-due", {"period": "2026-11"}).json()["outcome"] == "claimed"
    assert post(sandbox, "utilities", {"period": "2026-12"}).json()["outcome"] == "claimed"
    assert len(ledger(sandbox)) == 3


def test_dry_run_writes_no_row_and_returns_the_payload(sandbox: SandboxHandle) -> None:
    response = post(sandbox, "rent-warning", {"period": "2026-11", "jobId": "plan-1", "dryRun": True})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "jobId": "plan-1", "reminderType": "rent-warning",
                               "period": "2026-11", "dedupeKey": "2026-11:rent-warning", "outcome": "dry-run",
                               "dryRun": True}
    assert ledger(sandbox) == [] and sandbox.counters("reminder") == {}
    # the dry run claimed nothing, so the real dispatch still claims
    assert post(sandbox, "rent-warning", {"period": "2026-11"}).json()["outcome"] == "claimed"


@pytest.mark.parametrize("raw", [b"", b"{}", b'{"period": null}'])
def test_empty_body_means_the_current_utc_month(sandbox: SandboxHandle, raw: bytes) -> None:
    before = datetime.now(UTC).strftime("%Y-%m")
    response = post(sandbox, "utilities", raw=raw)
    after = datetime.now(UTC).strftime("%Y-%m")
    body = response.json()
    assert response.status_code == 200 and body["period"] in (before, after)
    assert body["dedupeKey"] == f"{body['period']}:utilities" and body["outcome"] == "claimed"
    assert body["jobId"] and body["dryRun"] is False
    assert [row[4] for row in ledger(sandbox)] == [body["period"]]


def test_claims_are_scoped_by_household(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    for household, expected in (("household-a", "claimed"), ("household-b", "claimed"),
                                ("household-a", "duplicate")):
        server = make_server(db, api_key=ROOT_KEY, scheduler_secret=SECRET, household_id=household).start()
        try:
            handle = SandboxHandle(server, server.url)
            assert post(handle, "utilities", {"period": "2026-11"}).json()["outcome"] == expected
        finally:
            server.stop()


def test_eight_concurrent_identical_dispatches_claim_once(sandbox: SandboxHandle) -> None:
    barrier = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def dispatch() -> None:
        with httpx.Client(timeout=10) as client:
            barrier.wait()
            response = client.post(f"{sandbox.url}/jobs/reminder/rent-due", headers=RIGHT,
                                   json={"period": "2026-12", "jobId": "sched-1"})
        with lock:
            outcomes.append(response.json()["outcome"])

    threads = [threading.Thread(target=dispatch) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(15)
    assert sorted(outcomes) == ["claimed"] + ["duplicate"] * 7
    assert ledger(sandbox) == [("household-demo", "2026-12:rent-due", "sched-1", "rent-due", "2026-12")]
    assert sandbox.counters("reminder") == {"reminder:2026-12:rent-due": 1}


# --- the log --------------------------------------------------------------------------------------------
def test_one_log_record_per_request_with_the_five_fields(sandbox: SandboxHandle) -> None:
    forwarded: list[dict[str, Any]] = []
    sandbox.server.app.log = forwarded.append  # what `housejobs sandbox` prints as JSON lines
    post(sandbox, "utilities", {"period": "2026-11", "jobId": "a"})
    post(sandbox, "utilities", {"period": "2026-11", "jobId": "b"})
    post(sandbox, "utilities", {"period": "2026-11", "jobId": "c", "dryRun": True})
    post(sandbox, "utilities", {"period": "2026-11"}, headers={})
    post(sandbox, "utilities", {"period": "2026-13", "jobId": "d"})
    post(sandbox, "mystery", {"period": "2026-11"})
    records = bot_log(sandbox)
    assert len(records) == len(forwarded) == 6
    for record in records:
        assert set(FIVE) <= set(record)
        assert {"severity", "message", "time"} <= set(record)
        json.dumps(record)  # one JSON object per line
    got = [tuple(r[k] for k in FIVE) for r in records]
    assert got == [
        ("a", "2026-11:utilities", "claimed", "utilities", "2026-11"),
        ("b", "2026-11:utilities", "duplicate", "utilities", "2026-11"),
        ("c", "2026-11:utilities", "dry-run", "utilities", "2026-11"),
        (None, None, "unauthorized", "utilities", None),
        ("d", None, "rejected", "utilities", None),
        (None, None, "rejected", None, None),
    ]
    assert [r["severity"] for r in records] == ["INFO"] * 3 + ["WARNING"] * 3
    assert forwarded[0]["jobId"] == "a" and forwarded[0]["event"] == "reminder_dispatch"


def test_a_secret_sent_as_job_id_is_masked_everywhere(sandbox: SandboxHandle) -> None:
    response = post(sandbox, "utilities", {"period": "2026-11", "jobId": SECRET})
    assert response.status_code == 200 and response.json()["jobId"] == "****"
    no_secret(response)
    bot_log(sandbox)  # asserts the log holds no secret


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
