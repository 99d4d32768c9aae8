"""The notify package's pieces, directly: check-in URLs, Slack text, the run id that pairs a task's attempts,
and what importing the package loads."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from housejobs.notify.event import RunInfo, build_event
from housejobs.notify.formats import checkin_url, slack_message
from housejobs.results import JobResult, Outcome


def test_checkin_url_keeps_an_existing_query() -> None:
    assert checkin_url("https://hc.example/ping/abc/", "/fail", "r1") == "https://hc.example/ping/abc/fail?rid=r1"
    assert checkin_url("https://hc.example/p?create=1", "", "r1") == "https://hc.example/p?create=1&rid=r1"


def test_slack_text_cannot_become_markup() -> None:
    info = RunInfo(job="alerts", env="prod", run_id="local-1")
    result = JobResult(Outcome.FAILED, "POST /x: answered <html> & gave up")
    event = build_event(info, result, duration_ms=1500, now=datetime(2026, 1, 1, tzinfo=UTC))
    text = slack_message(event)["blocks"][0]["text"]["text"]
    assert "&lt;html&gt; &amp; gave up" in text and "<html>" not in text


def test_rid_pairs_attempts_of_one_task_and_separates_tasks() -> None:
    a0 = RunInfo(job="org-sync-all", env="prod", run_id="exec-1", task_index=0, attempt=0)
    a1 = RunInfo(job="org-sync-all", env="prod", run_id="exec-1", task_index=0, attempt=1)
    t1 = RunInfo(job="org-sync-all", env="prod", run_id="exec-1", task_index=1, attempt=0)
    assert a0.rid == a1.rid != t1.rid and a0.key != t1.key
    assert RunInfo(job="j", env=None, run_id="r", attempt=1, max_retries=3).last_attempt is False
    assert RunInfo(job="j", env=None, run_id="r", attempt=3, max_retries=3).last_attempt is True


def test_notify_module_loads_no_http_library() -> None:
    code = ("import sys, housejobs.notify.event, housejobs.notify.formats, housejobs.notify.delivery, "
            "housejobs.notify.sinks, housejobs.notify.notifier, housejobs.runner; "
            "print(sorted(m for m in ('httpx', 'housejobs.api.client', 'google.cloud') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
