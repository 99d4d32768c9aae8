"""The sandbox as the bot runtime: its scheduler endpoint for the reminder (auth, validation, the ledger, the
log), over real HTTP. The CLI's reminder job against it is tests/cli/test_reminder.py."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bot import FIVE, RIGHT, SECRET, bot_log, ledger, no_secret, post
from tests.support.clock import NOW
from tests.support.sandbox import SandboxHandle, start_sandbox


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
def test_empty_body_means_the_current_utc_month(sandbox: SandboxHandle, raw: bytes,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The store's clock (Store(now=...)) is what the bot reads "now" from: the suite's today, not the machine's.
    monkeypatch.setattr(sandbox.server.app.store, "now", NOW.timestamp)
    response = post(sandbox, "utilities", raw=raw)
    body = response.json()
    assert response.status_code == 200 and body["period"] == NOW.strftime("%Y-%m") == "2026-11"
    assert body["dedupeKey"] == f"{body['period']}:utilities" and body["outcome"] == "claimed"
    assert body["jobId"] and body["dryRun"] is False
    assert [row[4] for row in ledger(sandbox)] == [body["period"]]


def test_claims_are_scoped_by_household(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    for household, expected in (("household-a", "claimed"), ("household-b", "claimed"),
                                ("household-a", "duplicate")):
        handle = start_sandbox(db, household_id=household)  # one after another on one database
        try:
            assert post(handle, "utilities", {"period": "2026-11"}).json()["outcome"] == expected
        finally:
            handle.server.stop()


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
