"""Talking to the sandbox as the bot runtime: its reminder endpoint, its ledger and its request log."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import SENTINELS, assert_no_secret

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
