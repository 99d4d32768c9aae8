"""Outcome notifications and check-ins, end to end: the CLI in-process, the sandbox as the API, and small
local HTTP servers standing in for a chat webhook and a Healthchecks.io-style cron monitor
(tests/fakes/sinks.py). One delivery under the retry rule is tests/unit/notify/test_delivery.py."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from housejobs.sandbox.store import Store
from tests.fakes.secretmanager import SecretManagerFake
from tests.fakes.sinks import SinkServer
from tests.support.cli import Cli
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY, assert_no_secret
from tests.support.sink_fixtures import CHECK_TOKEN, HOOK_TOKEN, Sinks, check_url, hook_url

BUDGET_S = 0.5  # HOUSEJOBS_NOTIFY_TIMEOUT in these tests: a hanging sink costs at most this



def sink_env(webhook: SinkServer | None = None, checkin: SinkServer | None = None, **extra: str) -> dict[str, str]:
    env = {"HOUSEJOBS_NOTIFY_TIMEOUT": str(BUDGET_S)}
    if webhook is not None:
        env["HOUSEJOBS_NOTIFY_URL"] = hook_url(webhook)
    if checkin is not None:
        env["HOUSEJOBS_HEALTHCHECK_URL"] = check_url(checkin)
    env.update(extra)
    return env


def api(sandbox: SandboxHandle) -> tuple[str, ...]:
    return ("--api-url", sandbox.url, "--deadline", "10")


def fail_api(sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[500] * 20)


def pings(server: SinkServer) -> list[tuple[str, str]]:
    """(what, rid) per check-in: "start", "success", "fail" or "log"."""
    out = []
    for seen in server.requests:
        tail = seen.path.rsplit("/", 1)[-1]
        out.append((tail if tail in ("start", "fail", "log") else "success", seen.query["rid"][0]))
    return out


def no_tokens(*texts: str) -> None:
    for text in texts:
        assert_no_secret(text)
        assert HOOK_TOKEN not in text and CHECK_TOKEN not in text


# --- a failure reaches every sink, once, in its format --------------------------------------------------
@pytest.mark.parametrize("fmt", ["json", "slack", "google-chat"])
def test_failed_run_sends_one_job_failed_event_to_each_sink(cli: Cli, sandbox: SandboxHandle,
                                                             sinks: Sinks, fmt: str) -> None:
    fail_api(sandbox)
    hook, check = sinks["ok"], sinks.new("ok")
    result = cli("quota-reset", *api(sandbox),
                 env=sink_env(hook, check, HOUSEJOBS_NOTIFY_FORMAT=fmt))
    assert result.code == 1, result.stderr
    [post] = hook.requests
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["Idempotency-Key"].startswith("jobs-event:quota-reset:local-")
    assert post.headers["Idempotency-Key"].endswith(":0")
    doc = post.json()
    if fmt == "json":
        assert doc["kind"] == "job_failed" and doc["severity"] == "ERROR"
        assert doc["job"] == "quota-reset" and doc["outcome"] == "failed" and doc["exit_code"] == 1
        assert doc["period"] == "2026-11-24" and doc["counts"] == {}
        assert doc["key"] == post.headers["Idempotency-Key"]
        assert uuid.UUID(doc["event_id"])
        assert doc["execution"] is None and doc["log_uri"] is None and doc["env"] is None
        assert doc["title"] == "quota-reset failed" and "500" in doc["message"]
        assert isinstance(doc["duration_ms"], int) and doc["time"].startswith("2026-11-24T10:00:")
    elif fmt == "slack":
        assert set(doc) == {"text", "blocks"}
        assert doc["text"].startswith(":x: quota-reset failed") and "500" in doc["text"]
        assert doc["blocks"][0]["type"] == "section" and "period 2026-11-24" in doc["blocks"][1]["elements"][0]["text"]
    else:
        assert set(doc) == {"text"}
        assert doc["text"].startswith("❌ *quota-reset failed*") and "period 2026-11-24" in doc["text"]
    # the monitor: /start before the job, /fail after it, one run id pairing them
    assert [what for what, _ in pings(check)] == ["start", "fail"]
    assert len({rid for _, rid in pings(check)}) == 1
    assert b"quota-reset failed" in check.requests[1].body
    assert "event sent to webhook http://127.0.0.1:" in result.stderr and "/****" in result.stderr
    no_tokens(result.stdout, result.stderr)


def test_success_checks_in_but_sends_no_event_by_default(cli: Cli, sandbox: SandboxHandle,
                                                         sinks: Sinks) -> None:
    hook, check = sinks["ok"], sinks.new("ok")
    result = cli("quota-reset", *api(sandbox), env=sink_env(hook, check))
    assert result.code == 0
    assert hook.requests == []
    [(start, rid1), (success, rid2)] = pings(check)
    assert (start, success) == ("start", "success") and rid1 == rid2
    assert check.requests[1].path == f"/ping/{CHECK_TOKEN}"
    assert result.log_records()[-1]["event"] == "run_summary"  # the canonical line still ends the run


@pytest.mark.parametrize("notify_on", ["applied", "success", "all", "failed, APPLIED"])
def test_success_sends_one_event_when_notify_on_names_it(cli: Cli, sandbox: SandboxHandle,
                                                         sinks: Sinks, notify_on: str) -> None:
    hook = sinks["ok"]
    result = cli("quota-reset", *api(sandbox), env=sink_env(hook, HOUSEJOBS_NOTIFY_ON=notify_on))
    assert result.code == 0
    [post] = hook.requests
    event = post.json()
    assert event["kind"] == "job_completed" and event["severity"] == "INFO" and event["outcome"] == "applied"
    assert event["counts"] == {"orgs_reset": 25}


def test_notify_on_none_sends_nothing_but_still_checks_in(cli: Cli, sandbox: SandboxHandle,
                                                          sinks: Sinks) -> None:
    fail_api(sandbox)
    hook, check = sinks["ok"], sinks.new("ok")
    result = cli("quota-reset", *api(sandbox), env=sink_env(hook, check, HOUSEJOBS_NOTIFY_ON="none"))
    assert result.code == 1 and hook.requests == []
    assert [what for what, _ in pings(check)] == ["start", "fail"]


# --- Cloud Run: retries stay quiet, the last attempt speaks ------------------------------------------
def cloud_run_env(sandbox: SandboxHandle, attempt: int, **extra: str) -> dict[str, str]:
    return {"CLOUD_RUN_JOB": "housejobs-quota-reset-stage", "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-x7k2p",
            "CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_ATTEMPT": str(attempt), "HOUSEJOBS_ENV": "stage",
            "HOUSEJOBS_API_URL": sandbox.url, **extra}


def test_cloud_run_task_retries_send_no_event_the_last_attempt_does(cli: Cli, sandbox: SandboxHandle,
                                                                    sinks: Sinks) -> None:
    hook, check = sinks["ok"], sinks.new("ok")
    for attempt in (0, 1, 2):
        fail_api(sandbox)
        result = cli("quota-reset", "--deadline", "10",
                     env={**cloud_run_env(sandbox, attempt), **sink_env(hook, check, HOUSEJOBS_MAX_RETRIES="2")})
        assert result.code == 1
        assert len(hook.requests) == (1 if attempt == 2 else 0), attempt
    [post] = hook.requests
    event = post.json()
    assert post.headers["Idempotency-Key"] == "jobs-event:quota-reset:housejobs-quota-reset-stage-x7k2p:0"
    assert event["env"] == "stage" and event["title"] == "quota-reset failed in stage"
    assert event["execution"] == {"name": "housejobs-quota-reset-stage-x7k2p", "task_index": 0, "attempt": 2}
    assert event["log_uri"].startswith("https://console.cloud.google.com/logs/query;query=")
    assert "housejobs-quota-reset-stage-x7k2p" in event["log_uri"]
    assert event["log_uri"].endswith("?project=cloudact-testing-1")
    # A failed attempt that Cloud Run retries logs to the monitor without marking the check down.
    assert [what for what, _ in pings(check)] == ["start", "log", "start", "log", "start", "fail"]
    assert len({rid for _, rid in pings(check)}) == 1


def test_cloud_run_without_max_retries_counts_every_attempt_as_last(cli: Cli, sandbox: SandboxHandle,
                                                                    sinks: Sinks) -> None:
    hook = sinks["ok"]
    for attempt in (0, 1):
        fail_api(sandbox)
        cli("quota-reset", "--deadline", "10", env={**cloud_run_env(sandbox, attempt), **sink_env(hook)})
    keys = {post.headers["Idempotency-Key"] for post in hook.requests}
    assert len(hook.requests) == 2 and len(keys) == 1  # the same key: an idempotent sink keeps one


def test_refused_notifies_in_cloud_run_not_at_a_terminal(cli: Cli, sandbox: SandboxHandle,
                                                         sinks: Sinks) -> None:
    hook = sinks["ok"]
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[401])
    assert cli("quota-reset", *api(sandbox), env=sink_env(hook)).code == 2
    assert hook.requests == []
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[401])
    result = cli("quota-reset", "--deadline", "10", env={**cloud_run_env(sandbox, 0), **sink_env(hook)})
    assert result.code == 2
    [post] = hook.requests
    assert post.json()["outcome"] == "refused" and post.json()["kind"] == "job_failed"


def test_run_stopped_before_its_context_still_reports(cli: Cli, sinks: Sinks) -> None:
    # Cloud Run without HOUSEJOBS_ENV is refused before settings load; env-var sinks still hear of it.
    hook, check = sinks["ok"], sinks.new("ok")
    result = cli("quota-reset", env={"CLOUD_RUN_JOB": "housejobs-quota-reset-stage",
                                     "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-abc",
                                     **sink_env(hook, check)})
    assert result.code == 2
    [post] = hook.requests
    assert post.json()["outcome"] == "refused" and "HOUSEJOBS_ENV" in post.json()["message"]
    assert [what for what, _ in pings(check)] == ["fail"]  # no /start: the run never started


# Before the context: settings resolve the one way (environment, ./.env, the env's table), so a sink set in
# any of them hears of a run refused before its context existed.
CLOUD_RUN = {"CLOUD_RUN_JOB": "housejobs-quota-reset-stage", "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-abc"}


def write_dotenv(cli: Cli, hook: SinkServer) -> None:
    (cli.cwd / ".env").write_text(f"HOUSEJOBS_NOTIFY_URL={hook_url(hook)}\nHOUSEJOBS_NOTIFY_TIMEOUT={BUDGET_S}\n")


def jobs_dir(tmp_path: Path, environments: str | None = None, *, stage_extra: str = "") -> Path:
    jobs = tmp_path / "jobs"
    shutil.copytree(Path(__file__).resolve().parents[2] / "jobs", jobs)
    toml = (jobs / "environments.toml").read_text().replace("[stage]\n", "[stage]\n" + stage_extra)
    (jobs / "environments.toml").write_text(toml if environments is None else environments)
    return jobs


@pytest.mark.parametrize(("housejobs_env", "broken_table", "said"), [
    pytest.param(None, False, "without HOUSEJOBS_ENV", id="no-env"),
    pytest.param("staging", False, "unknown environment 'staging'", id="unknown-env"),
    # The env's own table is what failed: the event still names the env, the rest of the settings hold.
    pytest.param("stage", True, "environments.toml is not valid TOML", id="broken-table"),
])
def test_refusal_before_the_context_reaches_a_webhook_set_only_in_dotenv(
        cli: Cli, sinks: Sinks, tmp_path: Path, housejobs_env: str | None, broken_table: bool,
        said: str) -> None:
    hook = sinks["ok"]
    write_dotenv(cli, hook)
    environ = dict(CLOUD_RUN)
    if housejobs_env is not None:
        environ["HOUSEJOBS_ENV"] = housejobs_env
    if broken_table:
        environ["HOUSEJOBS_JOBS_DIR"] = str(jobs_dir(tmp_path, "[stage\n"))
    result = cli("quota-reset", env=environ)
    assert result.code == 2, result.stderr
    [post] = hook.requests
    event = post.json()
    assert event["outcome"] == "refused" and said in event["message"]
    assert event["env"] == ("stage" if broken_table else None)
    assert post.headers["Idempotency-Key"] == "jobs-event:quota-reset:housejobs-quota-reset-stage-abc:0"
    no_tokens(result.stdout, result.stderr)


def test_refusal_before_the_context_uses_the_envs_table(cli: Cli, sinks: Sinks,
                                                         tmp_path: Path) -> None:
    # The env is fine, a later check refused the run: its table's format and project apply to the event.
    hook = sinks["ok"]
    jobs = jobs_dir(tmp_path, stage_extra='notify_format = "slack"\n')
    result = cli("quota-reset", env={**CLOUD_RUN, **sink_env(hook), "HOUSEJOBS_ENV": "stage",
                                     "HOUSEJOBS_JOBS_DIR": str(jobs), "HOUSEJOBS_MAX_RETRIES": "eleven"})
    assert result.code == 2, result.stderr
    [post] = hook.requests
    assert post.json()["text"].startswith(":x: quota-reset refused in stage: max_retries must be")
    # The table's project points the message at the execution's logs.
    assert post.json()["blocks"][1]["elements"][0]["text"].endswith("?project=cloudact-testing-1|logs>")


def test_unreadable_settings_before_the_context_are_skipped_for_notifications(
        cli: Cli, sinks: Sinks) -> None:
    # A .env that cannot be read stops the run; the notification settings are read without it (lenient), so
    # the sink set in the environment still hears of the refusal, and one warning says what was skipped.
    hook = sinks["ok"]
    (cli.cwd / ".env").write_text("HOUSEJOBS_ENV=stage\nnot a setting\n")
    result = cli("quota-reset", env={**CLOUD_RUN, **sink_env(hook)})
    assert result.code == 2
    [post] = hook.requests
    assert post.json()["outcome"] == "refused" and ".env line 2 is not KEY=value" in post.json()["message"]
    assert "notifications: settings read without what could not be used: .env line 2 is not KEY=value" \
        in result.stderr
    no_tokens(result.stdout, result.stderr)


@pytest.mark.parametrize(("fmt", "live"), [("google-chat", ("<users/all>", "<https://evil")),
                                           ("slack", ("<!channel>", "<https://evil"))])
def test_a_servers_words_cannot_mention_everyone_or_disguise_a_link(cli: Cli, sandbox: SandboxHandle, sinks: Sinks,
                                                                    fmt: str, live: tuple[str, str]) -> None:
    """The message quotes the server. Google Chat reads `<users/all>` as a mention of the whole space and
    `<https://evil|console.cloud.google.com>` as a link showing another host; Slack reads `<!channel>`
    and the same link form. Neither may reach the chat live (issue 21, finding 10)."""
    hook = sinks["ok"]
    hostile = "<users/all> <!channel> see <https://evil.example/x|console.cloud.google.com>"
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[400], message=hostile)
    result = cli("quota-reset", *api(sandbox), env=sink_env(hook, HOUSEJOBS_NOTIFY_FORMAT=fmt))
    assert result.code == 1
    [post] = hook.requests
    texts = [post.json()["text"]] + ([b["text"]["text"] for b in post.json()["blocks"] if "text" in b]
                                     if fmt == "slack" else [])
    for text in texts:
        assert "400 injected" in text
        for sequence in live:
            assert sequence not in text, text
    if fmt == "google-chat":  # still readable: a space after each <
        assert "< users/all> < !channel> see < https://evil.example/x|console.cloud.google.com>" in texts[0]


def test_partial_is_a_warning(cli: Cli, sandbox: SandboxHandle, sinks: Sinks) -> None:
    hook = sinks["ok"]
    sandbox.fault(route="/admin/orgs/{org}/sync", fail_orgs=["org-000003"])
    result = cli("org-sync-all", *api(sandbox), env=sink_env(hook, HOUSEJOBS_NOTIFY_FORMAT="slack"))
    assert result.code == 3
    [post] = hook.requests
    assert post.json()["text"].startswith(":warning: org-sync-all partial")


def test_dry_run_does_not_check_in(cli: Cli, sandbox: SandboxHandle, sinks: Sinks) -> None:
    check = sinks["ok"]
    result = cli("quota-reset", *api(sandbox), "--dry-run", env=sink_env(checkin=check))
    assert result.code == 0 and check.requests == []


def test_job_placeholder_selects_a_check_per_job(cli: Cli, sandbox: SandboxHandle,
                                                 sinks: Sinks) -> None:
    check = sinks["ok"]
    env = sink_env(HOUSEJOBS_HEALTHCHECK_URL=check_url(check, "/housejobs-{job}"))
    assert cli("stale-cleanup", *api(sandbox), env=env).code == 0
    assert {seen.path for seen in check.requests} == {f"/ping/{CHECK_TOKEN}/housejobs-stale-cleanup/start",
                                                      f"/ping/{CHECK_TOKEN}/housejobs-stale-cleanup"}


# --- never in the way ---------------------------------------------------------------------------------
def timed(cli: Cli, *argv: str, env: dict[str, str]) -> tuple[Any, float]:
    began = time.monotonic()
    result = cli(*argv, env=env)
    return result, time.monotonic() - began


def test_hanging_sinks_add_at_most_their_timeout(cli: Cli, sandbox: SandboxHandle,
                                                 sinks: Sinks) -> None:
    fail_api(sandbox)
    _, baseline = timed(cli, "quota-reset", *api(sandbox), "--date", "2026-11-23", env={})
    fail_api(sandbox)
    hang = sinks["hang"]
    result, elapsed = timed(cli, "quota-reset", *api(sandbox), env=sink_env(hang, hang))
    assert result.code == 1  # unchanged
    # /start hangs in the background while the job runs; the end pings share one budget, in parallel.
    assert elapsed - baseline < BUDGET_S + 1.0, (elapsed, baseline)
    assert any(seen.path.endswith("/start") for seen in hang.requests)
    warnings = [r for r in result.log_records() if r["severity"] == "WARNING"]
    assert any("not delivered" in r["message"] for r in warnings)
    assert result.log_records()[-1]["event"] == "run_summary"
    no_tokens(result.stdout, result.stderr)


def test_sink_answering_500_is_retried_once_then_warned(cli: Cli, sandbox: SandboxHandle,
                                                        sinks: Sinks) -> None:
    fail_api(sandbox)
    broken = sinks["error"]
    result, elapsed = timed(cli, "quota-reset", *api(sandbox), "--json", env=sink_env(broken))
    assert result.code == 1 and result.json()["outcome"] == "failed"
    assert len(broken.requests) == 2  # one bounded retry
    [warning] = [r for r in result.log_records() if "not delivered" in r["message"]]
    assert "job_failed event not delivered to webhook http://127.0.0.1:" in warning["message"]
    assert "answered HTTP 500 (2 attempts)" in warning["message"]
    assert elapsed < BUDGET_S + 2.0
    no_tokens(result.stdout, result.stderr)


def test_unreachable_sink_is_a_warning(cli: Cli, sandbox: SandboxHandle) -> None:
    fail_api(sandbox)
    env = sink_env(HOUSEJOBS_NOTIFY_URL=f"http://127.0.0.1:9/hooks/{HOOK_TOKEN}")
    result = cli("quota-reset", *api(sandbox), env=env)
    assert result.code == 1
    assert "cannot connect (ConnectError)" in result.stderr
    no_tokens(result.stdout, result.stderr)


def test_debug_runs_and_error_paths_never_show_a_url(cli: Cli, sandbox: SandboxHandle,
                                                     sinks: Sinks) -> None:
    fail_api(sandbox)
    broken, ok = sinks["error"], sinks["ok"]
    result = cli("quota-reset", *api(sandbox), "--debug", env=sink_env(broken, ok))
    assert result.code == 1 and "check-in sent to http://127.0.0.1:" in result.stderr
    # A value that is no URL at all: the warning names the setting, never the value.
    bad = cli("stale-cleanup", *api(sandbox), "--debug",
              env=sink_env(HOUSEJOBS_NOTIFY_URL=f"hooks.example/{HOOK_TOKEN}", HOUSEJOBS_NOTIFY_ON="all"))
    assert bad.code == 0 and "notify_url is not an http(s) URL" in bad.stderr
    shown = cli("config", "show", env=sink_env(ok, ok))
    assert "notify_url" in shown.stdout and "healthcheck_url" in shown.stdout
    no_tokens(result.stdout, result.stderr, bad.stdout, bad.stderr, shown.stdout, shown.stderr)


@pytest.mark.parametrize(("setting", "value", "text"), [
    ("HOUSEJOBS_NOTIFY_FORMAT", "teams", "is not json, slack or google-chat"),
    ("HOUSEJOBS_NOTIFY_ON", "failed,sometimes", "ignoring 'sometimes'"),
    ("HOUSEJOBS_NOTIFY_TIMEOUT", "soon", "notify_timeout must be a number"),
])
def test_bad_notify_settings_warn_and_leave_the_outcome(cli: Cli, sandbox: SandboxHandle,
                                                        sinks: Sinks, setting: str, value: str,
                                                        text: str) -> None:
    env = sink_env(sinks["ok"])
    env[setting] = value
    result = cli("quota-reset", *api(sandbox), env=env)
    assert result.code == 0
    assert text in result.stderr


# --- the one retry rule (housejobs.api.retry), inside a sink's time ---------------------------------------
def test_retry_after_past_the_budget_is_one_warning_in_a_run(cli: Cli, sandbox: SandboxHandle,
                                                             sinks: Sinks) -> None:
    fail_api(sandbox)
    hook = sinks["ok"]
    hook.answers.append((503, {"Retry-After": "60"}, b""))
    result = cli("quota-reset", *api(sandbox), env=sink_env(hook))
    assert result.code == 1 and len(hook.requests) == 1  # before: retried at once, into the same outage
    [warning] = [r for r in result.log_records() if "not delivered" in r["message"]]
    assert "answered HTTP 503 and asked to retry after 60 s, past this sink's time" in warning["message"]
    no_tokens(result.stdout, result.stderr)


# --- URLs from Secret Manager, named in environments.toml ------------------------------------------------
def test_sink_urls_from_secret_manager_references(cli: Cli, sandbox: SandboxHandle, sinks: Sinks,
                                                  tmp_path: Path) -> None:
    hook, check = sinks["ok"], sinks.new("ok")
    jobs = tmp_path / "jobs"
    shutil.copytree(Path(__file__).resolve().parents[2] / "jobs", jobs)
    toml = (jobs / "environments.toml").read_text()
    toml = toml.replace("[stage]\n", '[stage]\nnotify_url_secret = "housejobs-notify-url"\n'
                        'healthcheck_url_secret = "housejobs-healthcheck-url"\nnotify_format = "google-chat"\n')
    (jobs / "environments.toml").write_text(toml)
    fail_api(sandbox)
    with SecretManagerFake() as secrets:
        secrets.add_secret("cloudact-testing-1", "housejobs-notify-url-test", hook_url(hook).encode())
        secrets.add_secret("cloudact-testing-1", "housejobs-healthcheck-url-test", check_url(check).encode())
        result = cli("quota-reset", "--env", "stage", "--deadline", "10",
                     env={"HOUSEJOBS_JOBS_DIR": str(jobs), "HOUSEJOBS_API_URL": sandbox.url,
                          "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": secrets.endpoint,
                          "HOUSEJOBS_NOTIFY_TIMEOUT": "5"})
    assert result.code == 1, result.stderr
    [post] = hook.requests
    assert post.json()["text"].startswith("❌ *quota-reset failed in stage*")
    assert [what for what, _ in pings(check)] == ["start", "fail"]
    no_tokens(result.stdout, result.stderr)


def test_missing_secret_is_a_warning_not_a_refusal(cli: Cli, sandbox: SandboxHandle) -> None:
    with SecretManagerFake() as secrets:
        result = cli("quota-reset", "--env", "stage", "--deadline", "10",
                     env={"HOUSEJOBS_API_URL": sandbox.url, "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": secrets.endpoint,
                          "HOUSEJOBS_NOTIFY_URL_SECRET": "housejobs-notify-url"})
    assert result.code == 0
    assert "webhook events disabled: secret housejobs-notify-url-test not found" in result.stderr


# --- the sandbox as a sink, and the embedded demo --------------------------------------------------------
def admin(sandbox: SandboxHandle, method: str, body: Any = None, *, key: str | None = "k1",
          auth: str = ROOT_KEY, path: str = "/admin/notifications") -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json", "X-CA-Root-Key": auth}
    if key:
        headers["Idempotency-Key"] = key
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(sandbox.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers.items()), json.loads(exc.read())


def test_sandbox_notifications_route(sandbox: SandboxHandle) -> None:
    event = {"kind": "job_failed", "job": "quota-reset", "event_id": "e1"}
    sandbox.fault(route="*", statuses=[503] * 5)  # the API's scripted faults leave the inbox alone
    status, _, body = admin(sandbox, "POST", event)
    assert status == 201 and body == {"id": 1, "event_id": "e1"}
    status, headers, again = admin(sandbox, "POST", event)
    assert status == 201 and again == body and headers["Idempotent-Replayed"] == "true"
    assert admin(sandbox, "POST", {**event, "job": "alerts"})[0] == 422
    assert admin(sandbox, "POST", event, key=None)[0] == 400
    assert admin(sandbox, "POST", {"kind": "hello"}, key="k2")[2]["error"]["code"] == "invalid_event"
    assert admin(sandbox, "POST", event, key="k3", auth="wrong")[0] == 401
    admin(sandbox, "POST", {**event, "event_id": "e2"}, key="k4")
    status, _, listed = admin(sandbox, "GET", key=None)
    assert status == 200
    assert [(n["id"], n["idempotency_key"], n["event"]["event_id"]) for n in listed["notifications"]] == [
        (2, "k4", "e2"), (1, "k1", "e1")]
    assert admin(sandbox, "GET", key=None, path="/admin/notifications?limit=0")[0] == 400


def test_embedded_demo_shows_a_notification_for_a_scripted_failure(cli: Cli, tmp_path: Path) -> None:
    faults = json.dumps({"route": "/admin/quota/reset-daily", "statuses": [500] * 20})
    result = cli("quota-reset", env={"HOUSEJOBS_SANDBOX_FAULTS": faults})
    assert result.code == 1
    assert "notification: job_failed event stored by the embedded sandbox as #1" in result.stderr
    store = Store(tmp_path / "state" / "sandbox.db")
    try:
        [stored] = store.list_notifications(10)
    finally:
        store.close()
    assert stored["event"]["kind"] == "job_failed" and stored["event"]["job"] == "quota-reset"
    assert stored["idempotency_key"] == stored["event"]["key"]
    # and a success stays quiet
    ok = cli("quota-reset", "--date", "2026-11-20")
    assert ok.code == 0 and "notification" not in ok.stderr


def test_bad_sandbox_fault_spec_is_refused(cli: Cli) -> None:
    result = cli("quota-reset", env={"HOUSEJOBS_SANDBOX_FAULTS": "[1, 2]"})
    assert result.code == 2 and "HOUSEJOBS_SANDBOX_FAULTS is not a fault spec" in result.stdout
