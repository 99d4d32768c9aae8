"""Settings on pydantic-settings: every source in its place, what `config show` says of each, secrets_dir,
eager checking, the lenient mode a refusal's notification reads with, and what pydantic costs whom.

    command line > the run's environment > ./.env > secrets_dir > environments.toml [env] > default
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from housejobs.errors import ConfigError
from housejobs.settings import SETTINGS, Number, Setting, SettingDef, SettingsFiles, Value, number_refused
from housejobs.settings_model import resolve
from tests.support.cli import Cli
from tests.support.process import check_period, spawn_cli
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY
from tests.support.sink_fixtures import Sinks, hook_url

REPO = Path(__file__).resolve().parents[2]


def rows(result: Any) -> dict[str, dict[str, Any]]:
    assert result.code == 0, result.stdout + result.stderr
    return {r["key"]: r for r in result.json()["settings"]}


def error_line(result: Any) -> str:
    """What a refused run says: `error: ...` (and its `hint: ...`) on stderr before any job, else its summary
    (the summary line, then the message and the fix on lines of their own)."""
    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    if result.stderr.startswith("error: "):
        return str(result.stderr)
    return str(result.stdout)


# --- precedence and provenance -----------------------------------------------------------------------------
def test_each_source_in_its_place_and_named(cli: Cli, tmp_path: Path) -> None:
    # HOUSEJOBS_PROJECT can come from every source but a flag; HOUSEJOBS_API_URL from a flag too. Each
    # level is taken away in turn, and the next one down shows through, named as config show names it.
    secrets = tmp_path / "mounted"
    secrets.mkdir()
    (secrets / "CA_ROOT_API_KEY").write_text(ROOT_KEY + "\n")
    dotenv = tmp_path / ".env"
    dotenv.write_text(f"HOUSEJOBS_PROJECT=from-dotenv\nHOUSEJOBS_API_URL=http://127.0.0.1:2/\n"
                      f"HOUSEJOBS_SECRETS_DIR={secrets}\n")
    env = {"HOUSEJOBS_PROJECT": "from-environment", "HOUSEJOBS_API_URL": "http://127.0.0.1:3/"}
    show = ("config", "show", "--env", "stage", "--json")

    flagged = resolve(SettingsFiles({**os.environ, **env}, tmp_path), "stage", "--env",
                      overrides={Setting.api_url: "http://127.0.0.1:4/"})
    assert (flagged.api_url, flagged.given(Setting.api_url).source) == ("http://127.0.0.1:4/", "command line")
    top = rows(cli(*show, env=env))
    assert (top["api_url"]["value"], top["api_url"]["source"]) == ("http://127.0.0.1:3/", "$HOUSEJOBS_API_URL")
    assert (top["project"]["value"], top["project"]["source"]) == ("from-environment", "$HOUSEJOBS_PROJECT")
    assert top["secrets_dir"]["source"] == ".env"
    assert top["deadline"] == {**top["deadline"], "value": "60", "source": "default"}

    # Without the environment's CA_ROOT_API_KEY, the mounted file gives it; masked, named by its folder.
    mounted = rows(cli(*show, env=env, unset=("CA_ROOT_API_KEY",)))
    assert mounted["ca_root_api_key"] == {**mounted["ca_root_api_key"], "value": "****",
                                          "source": f"secrets_dir {secrets}"}
    environment = rows(cli(*show, env=env))
    assert environment["ca_root_api_key"]["source"] == "$CA_ROOT_API_KEY"

    middle = rows(cli(*show))
    assert (middle["project"]["value"], middle["project"]["source"]) == ("from-dotenv", ".env")
    assert middle["api_url"]["source"] == ".env"

    dotenv.unlink()
    bottom = rows(cli(*show))
    assert (bottom["project"]["value"], bottom["project"]["source"]) == ("cloudact-testing-1",
                                                                         "environments.toml [stage]")
    assert bottom["secrets_dir"] == {**bottom["secrets_dir"], "value": None, "source": "unset"}
    assert set(bottom) == {d.key for d in SETTINGS} | {"jobs_dir"}  # the JSON shape: one row a setting


def test_resolve_gives_typed_values_and_where_each_came_from(tmp_path: Path) -> None:
    environ = {"HOUSEJOBS_DEADLINE": "2.5", "HOUSEJOBS_MAX_RETRIES": "+3", "HOUSEJOBS_NOTIFY_URL": "https://h.example/x",
               "HOME": str(tmp_path), "HOUSEJOBS_STATE_DIR": "~/state", "HOUSEJOBS_ENV": "prod"}
    s = resolve(SettingsFiles(environ, tmp_path), "test", "--env", overrides={Setting.api_url: None})
    assert s.deadline == 2.5 and s.given(Setting.deadline).value == "2.5"  # the text as given, for config show
    assert (s.max_retries, s.max_attempts, s.given(Setting.max_retries).value) == (3, 6, "+3")
    assert type(s.deadline) is float and type(s.max_attempts) is int and type(s.progress_every) is int
    assert s.state_dir == f"{tmp_path}/state" and s.given(Setting.state_dir).source == "$HOUSEJOBS_STATE_DIR"
    assert s.given(Setting.api_url).source == "environments.toml [test]" and s.require(Setting.api_url, "this")
    # The environment is the one chosen (select_env), never re-read from $HOUSEJOBS_ENV by the model.
    assert (s.env, s.given(Setting.env).source) == ("test", "--env")
    assert isinstance(s.notify_url, SecretStr)
    url = s.secret(Setting.notify_url)
    assert url is not None and url.reveal() == "https://h.example/x" and url.source == "$HOUSEJOBS_NOTIFY_URL"
    assert s.secret(Setting.healthcheck_url) is None and s.given(Setting.healthcheck_url).source == "unset"
    assert "https://h.example" not in repr(s.given(Setting.notify_url)) + repr(s)
    with pytest.raises(ConfigError, match="run_api_endpoint is not set, and this needs it"):
        s.require(Setting.run_api_endpoint, "this")


def test_numbers_are_checked_by_the_tables_rule(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as deadline:
        resolve(SettingsFiles({"HOUSEJOBS_DEADLINE": "soon"}, tmp_path))
    assert deadline.value.line() == ("deadline must be a number above 0, got 'soon' from $HOUSEJOBS_DEADLINE; "
                                     "set HOUSEJOBS_DEADLINE to a number above 0")
    (tmp_path / ".env").write_text("HOUSEJOBS_MAX_ATTEMPTS=３\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"max_attempts must be a whole number from 1 to 100, got '３' from \.env"):
        resolve(SettingsFiles({}, tmp_path))
    # The notifier's own is checked where it is read: None here, and the notifier warns.
    s = resolve(SettingsFiles({"HOUSEJOBS_NOTIFY_TIMEOUT": "soon"}, tmp_path / "elsewhere"))
    assert s.notify_timeout is None and s.given(Setting.notify_timeout).value == "soon"
    # A secret's value is never part of the line, whatever it holds.
    secret = SettingDef("PIN", secret=True, number=Number(0, 9999, whole=True), key="pin")
    assert "1234x" not in number_refused(secret, "1234x", "$PIN").line()


# --- eager: every value is checked as the settings resolve ---------------------------------------------------
def test_a_bad_number_refuses_a_job_that_does_not_read_it(cli: Cli, sandbox: SandboxHandle, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HOUSEJOBS_BIGQUERY_TIMEOUT=an hour\n")
    result = cli("quota-reset", "--api-url", sandbox.url)
    assert "bigquery_timeout must be a number above 0, got 'an hour' from .env" in error_line(result)
    assert sandbox.requests == 0
    # The first bad value in the table's order is the one named.
    result = cli("quota-reset", "--api-url", sandbox.url, env={"HOUSEJOBS_TIMEOUT": "0"})
    assert "timeout must be a number above 0, got '0' from $HOUSEJOBS_TIMEOUT" in error_line(result)


def test_the_notifiers_own_timeout_only_warns(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", "--api-url", sandbox.url, env={"HOUSEJOBS_NOTIFY_TIMEOUT": "soon"})
    assert result.code == 0, result.stdout + result.stderr
    assert rows(cli("config", "show", "--json", env={"HOUSEJOBS_NOTIFY_TIMEOUT": "soon"}))["notify_timeout"][
        "value"] == "soon"


# --- secrets_dir -------------------------------------------------------------------------------------------
def test_a_job_runs_with_its_key_from_a_mounted_file(cli: Cli, sandbox: SandboxHandle, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    (second / "CA_ROOT_API_KEY").write_text("sentinel-root-key-but-not-the-one\n")
    (first / "CA_ROOT_API_KEY").write_text(f"{ROOT_KEY}\n")  # an editor's newline: stripped
    (first / "HOUSEJOBS_API_URL").write_text("http://127.0.0.1:9/")  # not a secret: not read from here
    # Relative to the run's folder; several folders, the first that has the file wins.
    env = {"HOUSEJOBS_SECRETS_DIR": "a:b"}
    result = cli("quota-reset", "--api-url", sandbox.url, "--json", env=env, unset=("CA_ROOT_API_KEY",))
    assert result.code == 0, result.stdout + result.stderr
    assert sandbox.counters() == {"quota-reset:2026-11-24": 1}
    shown = rows(cli("config", "show", "--json", env=env, unset=("CA_ROOT_API_KEY",)))
    assert shown["ca_root_api_key"]["source"] == f"secrets_dir {first}"
    assert shown["api_url"]["source"] == "unset"


def link_out(folder: Path) -> None:
    folder.mkdir()
    (folder.parent / "elsewhere").write_text(ROOT_KEY)
    (folder / "CA_ROOT_API_KEY").symlink_to(folder.parent / "elsewhere")


def link_loop(folder: Path) -> None:
    folder.mkdir()
    (folder / "CA_ROOT_API_KEY").symlink_to(folder / "CA_ROOT_API_KEY")


NOT_A_FILE = "CA_ROOT_API_KEY in secrets_dir {d} is not a file in that folder"


@pytest.mark.parametrize(("make", "said"), [
    pytest.param(lambda d: None, "secrets_dir {d} is not a folder", id="missing"),
    pytest.param(lambda d: d.write_text("x"), "secrets_dir {d} is not a folder", id="a-file"),
    pytest.param(lambda d: (d / "CA_ROOT_API_KEY").mkdir(parents=True), NOT_A_FILE, id="folder-for-a-file"),
    pytest.param(link_out, NOT_A_FILE, id="link-out-of-the-folder"),
    pytest.param(link_loop, NOT_A_FILE, id="link-loop"),
    pytest.param(lambda d: (d.mkdir(), (d / "CA_ROOT_API_KEY").write_bytes(b"sentinel-root-key\xff\n")),
                 "cannot read CA_ROOT_API_KEY in secrets_dir {d}: UnicodeDecodeError", id="not-utf8"),
])
def test_a_secrets_dir_that_cannot_be_used_is_refused_by_name(cli: Cli, sandbox: SandboxHandle, tmp_path: Path,
                                                               make: Any, said: str) -> None:
    folder = tmp_path / "mounted"
    make(folder)
    result = cli("quota-reset", "--api-url", sandbox.url, env={"HOUSEJOBS_SECRETS_DIR": str(folder)})
    assert said.format(d=folder) in error_line(result)
    assert sandbox.requests == 0


def test_a_mounted_secret_is_masked_wherever_it_is_pasted(cli: Cli, tmp_path: Path) -> None:
    # Known to redaction as soon as it is read: pasted into a number setting, its refusal shows it masked.
    folder = tmp_path / "mounted"
    folder.mkdir()
    secret = "sentinel-root-key-mounted-41"
    (folder / "CA_ROOT_API_KEY").write_text(secret)
    result = cli("quota-reset", "--debug", env={"HOUSEJOBS_SECRETS_DIR": str(folder), "HOUSEJOBS_TIMEOUT": secret},
                 unset=("CA_ROOT_API_KEY",))
    line = error_line(result)
    assert "timeout must be a number above 0, got '****' from $HOUSEJOBS_TIMEOUT" in line
    assert secret not in result.stdout + result.stderr


# --- lenient: what a refusal's notification reads its sinks from -------------------------------------------
def test_lenient_resolve_skips_what_it_cannot_use(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HOUSEJOBS_PROJECT=p\nnot a setting\n")
    environ = {"HOUSEJOBS_NOTIFY_URL": "https://h.example/x", "HOUSEJOBS_SECRETS_DIR": str(tmp_path / "none"),
               "GOOGLE_APPLICATION_CREDENTIALS": str(tmp_path / "sa.json"), "HOUSEJOBS_MAX_RETRIES": "eleven",
               "HOUSEJOBS_JOBS_DIR": str(tmp_path)}
    with pytest.raises(ConfigError, match=r"has no catalog\.toml"):
        resolve(SettingsFiles(environ, tmp_path), "stage")
    with pytest.raises(ConfigError, match=r"\.env line 2 is not KEY=value"):
        resolve(SettingsFiles({**environ, "HOUSEJOBS_JOBS_DIR": str(REPO / "jobs")}, tmp_path), "stage")
    s = resolve(SettingsFiles(environ, tmp_path), "stage", strict=False)
    assert s.given(Setting.notify_url) == Value("https://h.example/x", "$HOUSEJOBS_NOTIFY_URL")
    assert s.project is None  # .env and the env's table were skipped
    assert s.max_retries is None and s.given(Setting.max_retries).source == "unset"  # refused: left to its default
    assert s.credentials is None
    assert [line.split(" ")[0] for line in s.skipped] == [
        f"HOUSEJOBS_JOBS_DIR={tmp_path}", ".env", "secrets_dir", "max_retries", "GOOGLE_APPLICATION_CREDENTIALS"]


@pytest.mark.parametrize(("env", "said"), [
    pytest.param({"HOUSEJOBS_SECRETS_DIR": "/nonexistent/secrets"}, "secrets_dir /nonexistent/secrets is not a folder",
                 id="secrets-dir"),
    pytest.param({"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/sa.json"}, "GOOGLE_APPLICATION_CREDENTIALS points",
                 id="credentials"),
    pytest.param({"HOUSEJOBS_PROGRESS_EVERY": "often"}, "progress_every must be a whole number", id="number"),
])
def test_a_refusal_before_the_context_still_reaches_a_sink_in_the_environment(
        cli: Cli, sinks: Sinks, env: dict[str, str], said: str) -> None:
    hook = sinks["ok"]
    cloud_run = {"CLOUD_RUN_JOB": "housejobs-quota-reset-stage", "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-x",
                 "HOUSEJOBS_ENV": "stage", "HOUSEJOBS_NOTIFY_URL": hook_url(hook), "HOUSEJOBS_NOTIFY_TIMEOUT": "5"}
    result = cli("quota-reset", env={**cloud_run, **env})
    assert result.code == 2
    [event] = [r.json() for r in hook.requests]
    assert event["outcome"] == "refused" and said in event["message"] and event["env"] == "stage"
    warning = [r["message"] for r in result.log_records() if r["message"].startswith("notifications:")]
    assert len(warning) == 1 and said in warning[0], result.stderr


# --- import cost: pydantic only where settings resolve ------------------------------------------------------
PROBE = """
import io, json, sys
from housejobs.cli.main import run_cli
from housejobs.runtime import Runtime
code = run_cli(sys.argv[1:], Runtime(stdout=io.StringIO(), stderr=io.StringIO()))
print(json.dumps({"code": code, "pydantic": sorted(m for m in sys.modules if m.split(".")[0].startswith("pydantic"))}))
"""


def loads_pydantic(*argv: str, cwd: Path) -> bool:
    check_period(list(argv))  # a spawned process runs on the real clock: its period must be given
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, cwd=cwd)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["code"] == 0, (argv, done.stderr)
    return bool(result["pydantic"])


def test_help_and_list_jobs_do_not_load_pydantic(tmp_path: Path) -> None:
    for argv in (["--help"], ["list-jobs"], ["list-jobs", "--json"], ["config", "--help"], ["quota-reset", "--help"]):
        assert not loads_pydantic(*argv, cwd=tmp_path), argv
    # The probe sees it where it is used.
    assert loads_pydantic("config", "show", cwd=tmp_path)
    assert loads_pydantic("quota-reset", "--date", "2026-11-24", "--dry-run", cwd=tmp_path)


def test_the_sandbox_does_not_load_pydantic(tmp_path: Path) -> None:
    # PYTHONPROFILEIMPORTTIME is `-X importtime`: every module the process imports, on stderr.
    proc = spawn_cli(["sandbox", "--port", "0", "--db", str(tmp_path / "sb.db")], cwd=tmp_path,
                     extra_env={"PYTHONPROFILEIMPORTTIME": "1"})
    try:
        assert proc.stdout is not None
        assert "serving on" in proc.stdout.readline()  # it is up: everything it needs to serve is imported
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    imported = [line.rsplit("|", 1)[-1].strip() for line in stderr.splitlines() if line.startswith("import time:")]
    assert "housejobs.sandbox.app" in imported
    assert not [m for m in imported if m.startswith("pydantic")]
