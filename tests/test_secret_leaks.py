"""Secrets never leave: sentinel values through --debug runs, refusals, bad config and internal errors.

The autouse check in conftest.py fails any test whose captured output or CLI run carries a sentinel.
Redaction masks the values it has been told about, and that registry lives for the whole process, so
an in-process test here starts from an empty one (`fresh_redaction`): a value masked only because an
earlier test happened to register it would hide a leak. Real processes start empty anyway.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from housejobs import redact
from tests.conftest import SENTINEL_MARKERS, SENTINELS, Cli, SandboxHandle, assert_no_secret
from tests.fakes.secretmanager import SecretManagerFake
from tests.fakes.supabase import FakeSupabaseApi
from tests.support.process import run_cli_process

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


# --- a secret pasted into the wrong setting: the settings checks (no pydantic) echo values ------------------------
PASTED = [
    ("HOUSEJOBS_ENV", ROOT, ("quota-reset",), "unknown environment"),
    ("HOUSEJOBS_TIMEOUT", ROOT, ("quota-reset", "--api-url", "{url}"), "timeout must be a number"),
    ("HOUSEJOBS_DEADLINE", BOT, ("reminder", "utilities", "--bot-url", "{url}"), "deadline must be a number"),
    ("HOUSEJOBS_MAX_ATTEMPTS", TOKEN, ("org-sync-all", "--api-url", "{url}"), "max_attempts must be a number"),
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
def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli_process(argv, env={**os.environ, **env})


def leaks(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [m for m in SENTINEL_MARKERS if m in done.stdout + done.stderr]


@pytest.mark.slow
def test_internal_error_traceback_under_debug_shows_no_secret(tmp_path: Path) -> None:
    # A local state the code cannot read: the embedded sandbox's database is not a database.
    state = tmp_path / "broken-state"
    state.mkdir()
    (state / "sandbox.db").write_text(f"not sqlite; the key is {ROOT}\n")
    env = {"HOUSEJOBS_STATE_DIR": str(state)}
    debug = run(["quota-reset", "--date", DATE, "--debug"], env)
    assert debug.returncode == 1, debug.stdout + debug.stderr
    assert "internal error: DatabaseError" in debug.stdout
    assert "Traceback" in debug.stderr  # --debug asked for it
    assert json.loads(debug.stderr.strip().splitlines()[-1])["event"] == "run_summary"
    assert leaks(debug) == []
    plain = run(["quota-reset", "--date", DATE], env)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr and "rerun with --debug" in plain.stdout
    assert leaks(plain) == []


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
    done = run([a.format(url=sandbox.url) for a in argv] + ["--debug"], env)
    assert done.returncode == code, done.stdout + done.stderr
    assert leaks(done) == []
    assert "Traceback" not in done.stderr
