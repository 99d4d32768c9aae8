"""Prod is never reached without a yes: the confirmation follows where calls go, not the env's name.

A jobs dir whose `[prod]` table points at local servers stands in for a deployment: the sandbox plays
prod's admin API and bot runtime, so a run that slipped through would show as a request on it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import termios
import time
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.process import cli_command
from tests.support.sandbox import SandboxHandle

REPO = Path(__file__).resolve().parents[2]
DATE = "2026-11-24"
CLOUD_RUN = {"CLOUD_RUN_JOB": "housejobs-quota-reset-stage", "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-x1"}


@pytest.fixture
def prod_at(tmp_path: Path, sandbox: SandboxHandle) -> dict[str, str]:
    """HOUSEJOBS_JOBS_DIR for a deployment whose prod admin API and bot runtime are the local sandbox."""
    jobs = tmp_path / "jobs"
    shutil.copytree(REPO / "jobs", jobs)
    envs = jobs / "environments.toml"
    text = envs.read_text()
    text = text.replace('api_url = "https://api.cloudact.ai"', f'api_url = "{sandbox.url}/"')
    text = text.replace('bot_url = "https://bot.cloudact.example"', f'bot_url = "{sandbox.url}"')
    envs.write_text(text)
    return {"HOUSEJOBS_JOBS_DIR": str(jobs)}


def refused_for_prod(result: object, sandbox: SandboxHandle) -> dict[str, object]:
    doc = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert result.code == 2, doc  # type: ignore[attr-defined]
    assert doc["outcome"] == "refused" and doc["message"].startswith("prod not confirmed, nothing was done")
    assert sandbox.requests == 0
    return doc


# --- the confirmation follows the target ------------------------------------------------------------------------
@pytest.mark.parametrize("how", ["api-url-no-env", "api-url-with-stage", "env-var-with-test", "dotenv-with-test"])
def test_a_prod_api_url_needs_the_prod_confirmation_however_it_is_reached(
        cli: Cli, sandbox: SandboxHandle, prod_at: dict[str, str], tmp_path: Path, how: str) -> None:
    url = sandbox.url.upper().replace("HTTP://", "http://")  # the same place, spelled differently
    argv = ["quota-reset", "--date", DATE, "--json"]
    env = dict(prod_at)
    if how == "api-url-no-env":
        argv += ["--api-url", url]
    elif how == "api-url-with-stage":
        argv += ["--env", "stage", "--api-url", url]
    elif how == "env-var-with-test":
        argv += ["--env", "test"]
        env["HOUSEJOBS_API_URL"] = url
    else:
        argv += ["--env", "test"]
        (tmp_path / ".env").write_text(f"HOUSEJOBS_API_URL={url}\n")
    doc = refused_for_prod(cli(*argv, env=env), sandbox)
    assert f"the admin API {url} is prod's" in str(doc["message"])
    confirmed = cli(*argv, "--yes", env=env)
    assert confirmed.code == 0 and confirmed.json()["outcome"] == "applied"
    piped = cli(*argv, env=env, stdin="yes\n")
    assert piped.code == 0 and piped.json()["outcome"] == "duplicate"


def test_a_url_that_is_not_prods_needs_no_confirmation(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", "--env", "stage", "--api-url", sandbox.url, "--date", DATE, "--json")
    assert result.code == 0 and result.json()["outcome"] == "applied"


def test_a_prod_bot_url_needs_the_prod_confirmation(cli: Cli, sandbox: SandboxHandle, prod_at: dict[str, str]) -> None:
    doc = refused_for_prod(cli("reminder", "utilities", "--bot-url", sandbox.url, "--period", "2026-11", "--json",
                               env=prod_at), sandbox)
    assert doc["target"] == sandbox.url  # the bot it would have called, not the admin API


@pytest.mark.parametrize(("argv", "env", "target"), [
    (["migrate", "--env", "stage"], {"HOUSEJOBS_SUPABASE_PROJECT_REF": "prodprojectref000000"},
     "Supabase project prodprojectref000000 (stage)"),
    # migrate without an env (its settings from HOUSEJOBS_* variables) still knows prod's project.
    (["migrate"], {"HOUSEJOBS_SUPABASE_PROJECT_REF": "prodprojectref000000"},
     "Supabase project prodprojectref000000"),
    (["quota-cleanup", "--env", "test"], {"HOUSEJOBS_QUOTA_TABLE": "cloudact-prod.quota.quota_usage"},
     "BigQuery cloudact-prod.quota.quota_usage"),
    (["create-all-jobs", "--env", "stage"], {"HOUSEJOBS_PROJECT": "cloudact-prod"},
     "Cloud Run cloudact-prod/us-central1"),
], ids=["supabase-project", "supabase-project-no-env", "bigquery-table", "gcp-project"])
def test_prod_resources_named_in_another_env_need_the_confirmation(cli: Cli, sandbox: SandboxHandle,
                                                                   argv: list[str], env: dict[str, str],
                                                                   target: str) -> None:
    doc = refused_for_prod(cli(*argv, "--json", env=env), sandbox)
    assert doc["target"] == target and "is prod's" in str(doc["message"])


@pytest.mark.parametrize(("argv", "target"), [
    (["reminder", "utilities", "--env", "prod", "--bot-url", "http://127.0.0.1:9", "--period", "2026-11"],
     "http://127.0.0.1:9"),
    (["create-all-jobs", "--env", "prod"], "Cloud Run cloudact-prod/us-central1"),
    (["pause", "alerts", "--env", "prod"], "Cloud Run cloudact-prod/us-central1"),
    (["resume", "alerts", "--env", "prod"], "Cloud Run cloudact-prod/us-central1"),
    (["run", "alerts", "--env", "prod"], "Cloud Run cloudact-prod/us-central1"),
    (["release", "--env", "prod"], "Cloud Run cloudact-prod/us-central1"),
    (["quota-cleanup", "--env", "prod"], "BigQuery cloudact-prod.quota.quota_usage"),
    (["migrate", "--env", "prod"], "Supabase project prodprojectref000000 (prod)"),
])
def test_prod_refusals_name_what_the_command_would_have_touched(cli: Cli, sandbox: SandboxHandle,
                                                                argv: list[str], target: str) -> None:
    doc = refused_for_prod(cli(*argv, "--json"), sandbox)
    assert doc["target"] == target
    assert "was not run" not in str(doc["message"])


# --- empty URLs are refused, never the sandbox ----------------------------------------------------------------
@pytest.mark.parametrize(("argv", "env", "dotenv", "named"), [
    (["quota-reset", "--api-url", ""], {}, "", "--api-url is empty"),
    (["quota-reset", "--api-url", "  "], {}, "", "--api-url is empty"),
    (["quota-reset"], {"HOUSEJOBS_API_URL": ""}, "", "api_url from $HOUSEJOBS_API_URL is empty"),
    (["quota-reset"], {}, "HOUSEJOBS_API_URL=\n", "api_url from .env is empty"),
    (["quota-reset", "--env", "stage"], {"HOUSEJOBS_API_URL": ""}, "", "api_url from $HOUSEJOBS_API_URL is empty"),
    (["reminder", "utilities", "--bot-url", ""], {}, "", "--bot-url is empty"),
    (["reminder", "utilities"], {"HOUSEJOBS_BOT_URL": ""}, "", "bot_url from $HOUSEJOBS_BOT_URL is empty"),
])
def test_an_empty_url_that_was_given_is_refused(cli: Cli, tmp_path: Path, argv: list[str], env: dict[str, str],
                                                dotenv: str, named: str) -> None:
    if dotenv:
        (tmp_path / ".env").write_text(dotenv)
    period = ["--period", "2026-11"] if argv[0] == "reminder" else ["--date", DATE]
    result = cli(*argv, *period, "--json", env=env)
    assert result.code == 2, result.stdout
    assert named in result.json()["message"]
    assert "embedded sandbox on" not in result.stderr  # nothing was started, nothing was called


# --- inside Cloud Run: the execution's env is the env ----------------------------------------------------------
def test_inside_cloud_run_an_explicit_env_other_than_the_jobs_is_refused(cli: Cli, sandbox: SandboxHandle) -> None:
    env = {**CLOUD_RUN, "HOUSEJOBS_ENV": "stage", "HOUSEJOBS_API_URL": sandbox.url}
    result = cli("quota-reset", "--env", "prod", "--date", DATE, "--json", env=env)
    assert result.code == 2 and "differs from this Cloud Run job's HOUSEJOBS_ENV=stage" in result.json()["message"]
    assert sandbox.requests == 0
    same = cli("quota-reset", "--env", "stage", "--api-url", sandbox.url, "--date", DATE, "--json", env=env)
    assert same.code == 0


def test_inside_cloud_run_a_prod_target_in_a_stage_job_is_refused(cli: Cli, sandbox: SandboxHandle,
                                                                   prod_at: dict[str, str]) -> None:
    env = {**CLOUD_RUN, **prod_at, "HOUSEJOBS_ENV": "stage"}
    result = cli("quota-reset", "--api-url", sandbox.url, "--date", DATE, "--json", env=env)
    assert result.code == 2 and "runs in stage, but the admin API" in result.json()["message"]
    assert sandbox.requests == 0


@pytest.mark.parametrize("arg", ["--env", "--env=prod", "--api-url", "--bot-url=http://x"])
def test_run_refuses_operator_args_that_change_the_env_or_target(cli: Cli, arg: str) -> None:
    extra = [arg, "prod"] if "=" not in arg else [arg]
    result = cli("run", "quota-reset", "--env", "stage", "--json", "--", *extra)
    assert result.code == 2
    assert "cannot be passed to a Cloud Run job" in result.json()["message"]


# --- the prompt is seen where the person is -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("answer", "code"), [("yes", 0), ("no", 2)])
def test_the_prompt_goes_to_the_terminal_when_stdout_and_stderr_are_files(sandbox: SandboxHandle, tmp_path: Path,
                                                                          answer: str, code: int) -> None:
    """stdin is a terminal, stdout and stderr go to files: the question must reach the terminal (it used to
    be written to the stderr file while the run waited unseen)."""
    master, slave = os.openpty()

    def own_the_terminal() -> None:  # a new session whose controlling terminal is the pty: /dev/tty
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    out, err = (tmp_path / "out.json").open("w"), (tmp_path / "err.log").open("w")
    argv = cli_command("quota-reset", "--env", "prod", "--api-url", sandbox.url, "--date", DATE, "--json")
    proc = subprocess.Popen(argv, stdin=slave, stdout=out, stderr=err, start_new_session=True,
                            preexec_fn=own_the_terminal, env={**os.environ})
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + 30
    while b"Type yes to continue" not in seen:
        remaining = deadline - time.monotonic()
        assert remaining > 0 and proc.poll() is None, seen
        # select, not a bare read: a child that goes quiet must not outlast the bound
        readable, _, _ = select.select([master], [], [], remaining)
        if readable:
            seen += os.read(master, 4096)
    os.write(master, answer.encode() + b"\n")
    assert proc.wait(timeout=30) == code
    os.close(master)
    out.close()
    err.close()
    assert re.search(rb"This will run quota-reset in prod\. Type yes to continue", seen)
    assert "Type yes" not in (tmp_path / "err.log").read_text()
    doc = json.loads((tmp_path / "out.json").read_text())
    assert doc["outcome"] == ("applied" if answer == "yes" else "refused")
