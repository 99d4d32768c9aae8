"""Secrets never leave: sentinel values through --debug runs, refusals, bad config and internal errors.

The autouse check in conftest.py fails any test whose captured output or CLI run carries a sentinel.
Redaction masks the values it has been told about, and that registry lives for the whole process, so
an in-process test here starts from an empty one (`fresh_redaction`): a value masked only because an
earlier test happened to register it would hide a leak. Real processes start empty anyway.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from housejobs import redact
from tests.fakes.scripted import ScriptedServer
from tests.fakes.secretmanager import SecretManagerFake
from tests.fakes.server import Request
from tests.fakes.supabase import FakeSupabaseApi
from tests.support.cli import Cli
from tests.support.process import check_period, run_cli_process
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import SENTINEL_MARKERS, SENTINELS, assert_no_secret
from tests.support.sink_fixtures import Sinks, check_url, hook_url

DATE = "2026-11-24"

ROOT = SENTINELS["CA_ROOT_API_KEY"]
BOT = SENTINELS["SCHEDULER_SHARED_SECRET"]
TOKEN = SENTINELS["SUPABASE_ACCESS_TOKEN"]


@pytest.fixture(autouse=True)
def fresh_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_values", set())


@pytest.fixture
def supabase(pg_db: str, tmp_path: Path) -> Iterator[tuple[FakeSupabaseApi, dict[str, str], Path]]:
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "20260101000000_create_a.sql").write_text("create table public.a (id int);\n")
    with FakeSupabaseApi(pg_db, token=TOKEN) as api:
        yield api, {"HOUSEJOBS_SUPABASE_API_URL": api.url, "HOUSEJOBS_SUPABASE_PROJECT_REF": api.ref}, folder


def no_secret(*texts: str) -> None:
    for text in texts:
        assert_no_secret(text)


# --- --debug runs of every job ------------------------------------------------------------------------------
@pytest.mark.parametrize("argv", [
    ("quota-reset",), ("stale-cleanup",), ("alerts",), ("quota-monthly",), ("bootstrap",),
    ("org-sync-all", "--concurrency", "4"),
], ids=lambda argv: argv[0])
def test_debug_admin_runs_show_no_secret(cli: Cli, sandbox: SandboxHandle, argv: tuple[str, ...]) -> None:
    for extra in ((), ("--json",), ("--dry-run",)):
        result = cli(*argv, "--api-url", sandbox.url, "--debug", *extra)
        assert result.code == 0, result.stdout + result.stderr
        no_secret(result.stdout, result.stderr)


def test_debug_reminder_shows_no_secret(cli: Cli, sandbox: SandboxHandle) -> None:
    for extra in ((), ("--json",), ("--dry-run",)):
        result = cli("reminder", "utilities", "--bot-url", sandbox.url, "--debug", *extra)
        assert result.code == 0, result.stdout + result.stderr
        no_secret(result.stdout, result.stderr)


def test_debug_migrate_shows_no_secret(cli: Cli, supabase: tuple[FakeSupabaseApi, dict[str, str], Path]) -> None:
    _, env, folder = supabase
    for argv in (("migrate", "--dry-run"), ("migrate",), ("migrate", "--json"), ("migrate", "status")):
        result = cli(*argv, "--env", "test", "--dir", str(folder), "--debug", env=env)
        assert result.code == 0, result.stdout + result.stderr
        no_secret(result.stdout, result.stderr)


# --- refusals: a wrong secret is named, never shown -------------------------------------------------------------
def test_wrong_admin_key_is_refused_by_name(cli: Cli, sandbox: SandboxHandle) -> None:
    wrong = ROOT + "-but-wrong"
    result = cli("quota-reset", "--api-url", sandbox.url, "--debug", env={"CA_ROOT_API_KEY": wrong})
    assert result.code == 2 and "401" in result.stdout and "CA_ROOT_API_KEY" in result.stdout
    assert wrong not in result.stdout + result.stderr


def test_wrong_scheduler_secret_is_refused_by_name(cli: Cli, sandbox: SandboxHandle) -> None:
    wrong = BOT + "-but-wrong"
    result = cli("reminder", "utilities", "--bot-url", sandbox.url, "--debug", env={"SCHEDULER_SHARED_SECRET": wrong})
    assert result.code == 2 and "SCHEDULER_SHARED_SECRET" in result.stdout
    assert wrong not in result.stdout + result.stderr


def test_wrong_supabase_token_is_refused_by_name(cli: Cli,
                                                  supabase: tuple[FakeSupabaseApi, dict[str, str], Path]) -> None:
    _, env, folder = supabase
    wrong = TOKEN + "_but_wrong"
    result = cli("migrate", "--env", "test", "--dir", str(folder), "--debug",
                 env={**env, "SUPABASE_ACCESS_TOKEN": wrong})
    assert result.code == 2 and "SUPABASE_ACCESS_TOKEN" in result.stdout
    assert wrong not in result.stdout + result.stderr


# --- a secret pasted into the wrong setting: the settings checks (the project's own lines) echo values --------------
PASTED = [
    ("HOUSEJOBS_ENV", ROOT, ("quota-reset",), "unknown environment"),
    ("HOUSEJOBS_TIMEOUT", ROOT, ("quota-reset", "--api-url", "{url}"), "timeout must be a number"),
    ("HOUSEJOBS_DEADLINE", BOT, ("reminder", "utilities", "--bot-url", "{url}"), "deadline must be a number"),
    ("HOUSEJOBS_MAX_ATTEMPTS", TOKEN, ("org-sync-all", "--api-url", "{url}"), "max_attempts must be a whole number"),
    ("HOUSEJOBS_MAX_RETRIES", ROOT, ("quota-reset", "--api-url", "{url}"), "max_retries must be a whole number"),
    ("HOUSEJOBS_PROGRESS_EVERY", BOT, ("org-sync-all", "--api-url", "{url}"), "progress_every must be a whole"),
    ("HOUSEJOBS_BOT_URL", BOT, ("reminder", "utilities", "--env", "stage"), "is not an http(s) URL"),
    ("HOUSEJOBS_HOUSEHOLD_TIME_ZONE", BOT, ("reminder", "utilities", "--bot-url", "{url}"), "not an IANA time zone"),
    ("HOUSEJOBS_SUPABASE_PROJECT_REF", TOKEN, ("migrate", "--env", "test"), "is not a Supabase project ref"),
    ("GOOGLE_APPLICATION_CREDENTIALS", "/keys/" + ROOT, ("quota-reset", "--env", "stage"), "does not exist"),
]


# The environment is chosen from the process environment only, so HOUSEJOBS_ENV is not read from .env.
PASTED_CASES = [pytest.param(*case, source, id=f"{case[0]}-{source}") for case in PASTED
                for source in ("environment", ".env") if (case[0], source) != ("HOUSEJOBS_ENV", ".env")]


@pytest.mark.parametrize(("var", "value", "argv", "text", "source"), PASTED_CASES)
def test_secret_pasted_into_another_setting_is_masked(cli: Cli, sandbox: SandboxHandle, tmp_path: Path,
                                                      var: str, value: str, argv: tuple[str, ...], text: str,
                                                      source: str) -> None:
    env: dict[str, str] = {}
    if source == "environment":
        env[var] = value
    else:
        (tmp_path / ".env").write_text(f"{var}={value}\n")
    result = cli(*(a.format(url=sandbox.url) for a in argv), "--debug", env=env)
    assert result.code == 2, result.stdout + result.stderr
    assert text in result.stdout and "****" in result.stdout
    no_secret(result.stdout, result.stderr)
    assert sandbox.requests == 0


# --- secrets a header cannot carry -------------------------------------------------------------------------------
@pytest.mark.parametrize(("var", "argv"), [
    ("CA_ROOT_API_KEY", ("quota-reset", "--api-url", "{url}")),
    ("SCHEDULER_SHARED_SECRET", ("reminder", "utilities", "--bot-url", "{url}")),
])
@pytest.mark.parametrize(("suffix", "code"), [
    ("\n", 0),  # a pasted newline: dropped, as Secret Manager values are stripped
    ("  ", 0),
    ("\r\nX-Injected: 1", 2),  # refused by name before anything is sent, never echoed
    ("\x00", 2),
    ("é", 2),  # was an internal error (UnicodeEncodeError) in httpx
])
def test_secret_a_header_cannot_carry(cli: Cli, sandbox: SandboxHandle, var: str, argv: tuple[str, ...],
                                      suffix: str, code: int) -> None:
    result = cli(*(a.format(url=sandbox.url) for a in argv), "--debug", "--json",
                 env={var: SENTINELS[var] + suffix})
    assert result.code == code, result.stdout + result.stderr
    if code:
        assert f"{var} has characters an HTTP header cannot carry" in result.json()["message"]
        assert sandbox.requests == 0
    no_secret(result.stdout, result.stderr)


def test_secret_manager_value_a_header_cannot_carry_is_refused(cli: Cli, sandbox: SandboxHandle) -> None:
    with SecretManagerFake() as sm:
        sm.add_secret("cloudact-testing-1", "ca-root-api-key-test", (ROOT + "\x07bell").encode())
        result = cli("quota-reset", "--env", "stage", "--debug", unset=("CA_ROOT_API_KEY",),
                     env={"HOUSEJOBS_API_URL": sandbox.url, "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": sm.endpoint})
    assert result.code == 2 and "ca-root-api-key-test has characters" in result.stdout
    assert sandbox.requests == 0


def test_escaped_forms_of_a_secret_are_masked() -> None:
    redact.register(ROOT + "\n")
    for text in (f"Illegal header value b'{ROOT}\\n'", f"value {ROOT!r}".replace(ROOT, ROOT + "\\n")):
        assert_no_secret(redact.redact(text))


# --- real processes: a fresh registry, --debug, and an internal error's traceback -----------------------------------
def leaks(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [m for m in SENTINEL_MARKERS if m in done.stdout + done.stderr]


# An error no part of the code understands, quoting the key: a transport (the Runtime's seam for one) that
# raises something httpx never would. Run in a fresh process, so only the run itself registers secrets.
EXPLODING = """
import sys
import httpx
from housejobs.cli.main import run_cli
from housejobs.runtime import Runtime

class Exploding(httpx.AsyncBaseTransport):
    async def handle_async_request(self, request):
        raise RuntimeError("no idea what happened to " + request.headers["X-CA-Root-Key"])

sys.exit(run_cli(sys.argv[1:], Runtime(transport=Exploding())))
"""


@pytest.mark.slow
def test_internal_error_traceback_under_debug_shows_no_secret() -> None:
    def explode(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = ["quota-reset", "--api-url", "http://127.0.0.1:9", "--date", DATE, *extra]
        check_period(argv)  # the rule every spawned run keeps (tests/support/process.py)
        return subprocess.run([sys.executable, "-c", EXPLODING, *argv], capture_output=True, text=True,
                              timeout=60, check=False)

    debug = explode("--debug")
    assert debug.returncode == 1, debug.stdout + debug.stderr
    assert "internal error: RuntimeError: no idea what happened to ****" in debug.stdout
    assert "Traceback" in debug.stderr  # --debug asked for it
    assert json.loads(debug.stderr.strip().splitlines()[-1])["event"] == "run_summary"
    assert leaks(debug) == []
    plain = explode()
    assert plain.returncode == 1 and "Traceback" not in plain.stderr and "rerun with --debug" in plain.stdout
    assert leaks(plain) == []


@pytest.mark.slow
def test_unusable_state_is_refused_without_a_secret(tmp_path: Path) -> None:
    # Local state the code cannot use (the embedded sandbox's database is not a database): refused by name.
    state = tmp_path / "broken-state"
    state.mkdir()
    (state / "sandbox.db").write_text(f"not sqlite; the key is {ROOT}\n")
    for extra in ([], ["--debug"]):
        done = run_cli_process(["quota-reset", "--date", DATE, *extra], extra_env={"HOUSEJOBS_STATE_DIR": str(state)})
        assert done.returncode == 2, done.stdout + done.stderr
        assert "cannot use" in done.stdout and "sandbox.db" in done.stdout and "Traceback" not in done.stderr
        assert leaks(done) == []


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "env", "code"), [
    (["quota-reset", "--api-url", "{url}", "--date", DATE], {"HOUSEJOBS_ENV": ROOT}, 2),
    (["quota-reset", "--api-url", "{url}", "--date", DATE], {"CA_ROOT_API_KEY": ROOT + "\r\n"}, 0),
    (["quota-reset", "--api-url", "{url}", "--date", DATE], {"CA_ROOT_API_KEY": ROOT + "-but-wrong"}, 2),
    (["reminder", "utilities", "--bot-url", "{url}", "--period", "2026-11"], {"HOUSEJOBS_HOUSEHOLD_TIME_ZONE": BOT},
     2),
], ids=["env-name", "key-with-crlf", "wrong-key", "time-zone"])
def test_fresh_process_debug_runs_show_no_secret(sandbox: SandboxHandle, argv: list[str], env: dict[str, str],
                                                 code: int) -> None:
    done = run_cli_process([a.format(url=sandbox.url) for a in argv] + ["--debug"], extra_env=env)
    assert done.returncode == code, done.stdout + done.stderr
    assert leaks(done) == []
    assert "Traceback" not in done.stderr


# --- a secret a server quotes back, cut short: the prefix left at the cut is masked too ----------------------
# Values of their own (not the sentinels): the check is on every prefix and suffix of 6+ characters.
QUOTED = {
    "CA_ROOT_API_KEY": "ck_live_4f9a2b7c8d1e6f50a3b2c9d8",
    "SCHEDULER_SHARED_SECRET": "bot_secret_7d3e9a1c5b2f8e4d6a0c",
    "SUPABASE_ACCESS_TOKEN": "sbp_4c2e9f1a7b3d5e8c0a6f9b2d4e1c",
}


def fragments(secret: str) -> set[str]:
    """Every prefix and suffix of `secret` at least redact.MIN_PART long: what a cut could leave."""
    n = len(secret)
    return {secret[:k] for k in range(redact.MIN_PART, n + 1)} | {secret[-k:] for k in range(redact.MIN_PART, n + 1)}


def assert_no_fragment(text: str, secret: str, where: str) -> None:
    leaked = sorted((f for f in fragments(secret) if f in text), key=len, reverse=True)
    assert not leaked, f"{leaked[0]!r} of the secret leaked into {where}: {text[:2000]}"


def quoting_server(status: int, filler: int) -> ScriptedServer:
    """Answers every request `status`, with an error message (and code) quoting the credential it got."""
    def answer(request: Request) -> tuple[int, Any]:
        key = (request.header("x-ca-root-key") or request.header("x-household-scheduler-secret")
               or request.header("authorization").removeprefix("Bearer "))
        message = "x" * filler + " offending key: " + key + " (rejected)"
        if request.path.startswith("/v1/projects/"):  # Supabase's Management API: {"message": ...}
            return status, {"message": message}
        return status, {"error": {"code": "k" * 60 + "_" + key, "message": message}}
    return ScriptedServer(answer)


JOB_RUNS = {
    "quota-reset": ("CA_ROOT_API_KEY", ("quota-reset", "--api-url", "{url}")),
    "reminder": ("SCHEDULER_SHARED_SECRET", ("reminder", "utilities", "--bot-url", "{url}")),
    "migrate": ("SUPABASE_ACCESS_TOKEN", ("migrate", "--env", "test", "--dir", "{dir}", "--yes")),
    "migrate-status": ("SUPABASE_ACCESS_TOKEN", ("migrate", "status", "--env", "test", "--dir", "{dir}")),
}


@pytest.mark.parametrize("filler", [150, 172, 190])
@pytest.mark.parametrize(("status", "code"), [(401, 2), (400, 1)])
@pytest.mark.parametrize("job", sorted(JOB_RUNS))
def test_a_quoted_secret_cut_short_leaves_no_fragment(cli: Cli, tmp_path: Path, sinks: Sinks, job: str, status: int,
                                                     code: int, filler: int) -> None:
    var, argv = JOB_RUNS[job]
    secret = QUOTED[var]
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "20260101000000_create_a.sql").write_text("create table public.a (id int);\n")
    hook, monitor = sinks["ok"], sinks.new("ok")
    with quoting_server(status, filler) as api:
        env = {var: secret, "HOUSEJOBS_SUPABASE_API_URL": api.url, "HOUSEJOBS_NOTIFY_ON": "all",
               "HOUSEJOBS_NOTIFY_URL": hook_url(hook), "HOUSEJOBS_HEALTHCHECK_URL": check_url(monitor),
               "HOUSEJOBS_NOTIFY_TIMEOUT": "2"}
        command = [a.format(url=api.url, dir=folder) for a in argv]
        for fmt, extra in (("json", ("--json",)), ("slack", ()), ("google-chat", ("--debug",))):
            result = cli(*command, *extra, env={**env, "HOUSEJOBS_NOTIFY_FORMAT": fmt})
            assert result.code == code, result.stdout + result.stderr
            assert "x" * 100 in result.stdout  # the server's words are shown (the key is not: below)
            assert_no_fragment(result.stdout, secret, f"stdout of {fmt}")
            assert_no_fragment(result.stderr, secret, "the log lines")
            assert all(json.loads(line) for line in result.stderr.splitlines())
        assert api.requests(), "the job never called the server"
        bodies = [r.body.decode() for r in hook.requests]
        assert len(bodies) == 3 and all("x" * 100 in body for body in bodies)
        for body in bodies + [r.body.decode() for r in monitor.requests if r.method == "POST"]:
            assert_no_fragment(body, secret, "a notification")


SECRET_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
FILLER_CHARS = " :;,!?()[]{}<>@#%&=+~/é–"  # none of the secret's characters: a fragment is the secret's own


def touching_fragment(out: str, secret: str, *, start: bool = False, end: bool = False) -> str | None:
    """A piece of `secret`, MIN_PART or more long, that ends at a cut ("…", or the end of `out` with
    `end`) or starts at one (just after "…", or the start of `out` with `start`)."""
    marks = [i for i, c in enumerate(out) if c == redact.ELLIPSIS]
    for pos in marks + ([len(out)] if end else []):
        for size in range(redact.MIN_PART, min(pos, len(secret)) + 1):
            if out[pos - size:pos] in secret:
                return out[pos - size:pos]
    for pos in [i + 1 for i in marks] + ([0] if start else []):
        for size in range(redact.MIN_PART, min(len(out) - pos, len(secret)) + 1):
            if out[pos:pos + size] in secret:
                return out[pos:pos + size]
    return None


@settings(max_examples=300, deadline=None, database=None)
@given(secret=st.text(SECRET_CHARS, min_size=redact.MIN_PART, max_size=80),
       head=st.text(FILLER_CHARS, max_size=300), tail=st.text(FILLER_CHARS, max_size=60),
       quoted=st.integers(0, 80), limit=st.integers(1, 450))
@example(secret=QUOTED["CA_ROOT_API_KEY"], head="x" * 150, tail="", quoted=80, limit=200)
def test_cut_leaves_no_fragment_of_a_secret_at_the_cut(secret: str, head: str, tail: str, quoted: int,
                                                       limit: int) -> None:
    redact._values.clear()  # this example's secret only (the fixture gave the test a registry of its own)
    redact.register(secret)
    # The secret whole, or only its first `quoted` characters (a server that cut its own quote short).
    for text in (head + secret + tail, head + secret[:quoted] + tail, head + secret[:quoted]):
        ends_in_secret = text[-1:] != "" and text[-1] in SECRET_CHARS  # the text's end is a cut too
        out = redact.cut(text, limit)
        assert len(out) <= limit
        assert secret not in out
        assert touching_fragment(out, secret, end=ends_in_secret) is None, (text, out)
        # A cut made elsewhere, the old way (cut first, "…" appended), is caught by redact at the mark.
        naive = text if len(text) <= limit else text[: limit - 1] + redact.ELLIPSIS
        assert touching_fragment(redact.redact(naive), secret, end=ends_in_secret) is None, naive
    # The other edge: a secret's end right after a cut, or at the start of a text.
    for text in (secret[-quoted:] + tail, head + redact.ELLIPSIS + secret[-quoted:] + tail):
        assert touching_fragment(redact.redact(text), secret, start=True) is None, text
