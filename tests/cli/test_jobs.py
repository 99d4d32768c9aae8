"""The CLI end to end, in-process, against a real sandbox server over HTTP."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.clock import FakeClock
from tests.support.fuzz import refused_line, usage_error_line
from tests.support.hermetic import COLOUR_TERMINAL
from tests.support.sandbox import SandboxHandle

API = ("--api-url",)
JOBS = Path(__file__).resolve().parents[2] / "jobs"


def url(sandbox: SandboxHandle) -> tuple[str, str]:
    return ("--api-url", sandbox.url)


# --- the quickstart: embedded sandbox, applied then duplicate ---------------------------------------
def test_embedded_sandbox_applied_then_duplicate(cli: Cli) -> None:
    first = cli("quota-reset")
    assert first.code == 0, first.stderr
    assert "target: embedded sandbox" in first.stdout and "outcome: applied" in first.stdout
    second = cli("quota-reset")
    assert second.code == 0
    assert "outcome: duplicate (already applied for 2026-11-24)" in second.stdout


def test_cloud_run_without_env_is_refused_not_sent_to_sandbox(cli: Cli, tmp_path: Path) -> None:
    result = cli("quota-reset", env={"CLOUD_RUN_JOB": "housejobs-quota-reset-stage",
                                     "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-abc"})
    assert result.code == 2
    assert "HOUSEJOBS_ENV" in result.stderr
    assert not (tmp_path / "state" / "sandbox.db").exists()


# --- period jobs ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("job", "counts"), [
    ("quota-reset", {"orgs_reset": 25}),
    ("stale-cleanup", {"counters_fixed": 4}),
    ("alerts", {"orgs_processed": 25, "alerts_sent": 3}),
    ("quota-monthly", {"orgs_reset": 25}),
])
def test_period_jobs_apply_once(cli: Cli, sandbox: SandboxHandle, job: str, counts: dict[str, int]) -> None:
    first = cli(job, *url(sandbox), "--json")
    assert first.code == 0, first.stderr
    doc = first.json()
    assert doc["outcome"] == "applied" and doc["counts"] == counts
    for field in ("job", "env", "target", "outcome", "exit_code", "attempts", "duration_ms"):
        assert field in doc
    assert doc["job"] == job and doc["exit_code"] == 0 and doc["attempts"] == 1
    second = cli(job, *url(sandbox), "--json")
    assert second.json()["outcome"] == "duplicate"
    period = "2026-11" if job == "quota-monthly" else "2026-11-24"
    assert sandbox.counters(job) == {f"{job}:{period}": 1}


def test_same_date_two_days_later_is_still_duplicate(cli: Cli, sandbox: SandboxHandle, clock: FakeClock) -> None:
    assert cli("quota-reset", *url(sandbox), "--date", "2026-11-24").code == 0
    clock.advance(timedelta(days=2).total_seconds())
    again = cli("quota-reset", *url(sandbox), "--date", "2026-11-24", "--json")
    assert again.json()["outcome"] == "duplicate"
    # and the default date has moved on with the clock
    assert cli("quota-reset", *url(sandbox), "--json").json()["details"]["period"] == "2026-11-26"


def test_same_month_two_months_later_is_still_duplicate(cli: Cli, sandbox: SandboxHandle, clock: FakeClock) -> None:
    assert cli("quota-monthly", *url(sandbox)).code == 0
    clock.advance(timedelta(days=62).total_seconds())
    again = cli("quota-monthly", *url(sandbox), "--month", "2026-11", "--json")
    assert again.json()["outcome"] == "duplicate"
    assert sandbox.counters("quota-monthly") == {"quota-monthly:2026-11": 1}


def test_dry_run_sends_nothing_mutating(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", *url(sandbox), "--dry-run")
    assert result.code == 0
    assert "would POST /admin/quota/reset-daily" in result.stdout
    assert "Idempotency-Key: housejobs:quota-reset:2026-11-24" in result.stdout
    # Its calls: the capabilities, and the server's own dry run of the reset (tests/cli/test_dry_run.py).
    assert sandbox.counters() == {} and sandbox.routes() == {"/admin/capabilities": 1,
                                                             "/admin/quota/reset-daily (dry run)": 1}


# --- exit codes and error lines -----------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "code", "text"), [
    ({"statuses": [401]}, 2, "401"),
    ({"statuses": [403]}, 2, "403"),
    ({"statuses": [400]}, 1, "400"),
    ({"statuses": [404]}, 1, "404"),
    ({"statuses": [422]}, 1, "422"),
    ({"statuses": [500] * 20}, 1, "500"),
    ({"malformed": 1}, 1, "not valid JSON"),
    ({"truncated": 1}, 1, "not valid JSON"),
])
def test_failures_are_one_line_with_exit_code(cli: Cli, sandbox: SandboxHandle, spec: dict[str, object],
                                              code: int, text: str) -> None:
    sandbox.fault(route="/admin/quota/reset-daily", **spec)
    result = cli("quota-reset", *url(sandbox), "--deadline", "10")
    assert result.code == code, result.stdout + result.stderr
    assert text in result.stdout
    records = result.log_records()
    errors = [r for r in records if r["severity"] == "ERROR" and r.get("event") != "run_summary"]
    assert len(errors) == 1 and text in errors[0]["message"]


def test_deadline_exhausted_names_attempts_and_time(cli: Cli, sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[503] * 100)
    result = cli("quota-reset", *url(sandbox), "--deadline", "4", "--json")
    doc = result.json()
    assert result.code == 1 and doc["outcome"] == "failed"
    assert re.search(r"failed after \d+ attempts in [\d.]+ s \(deadline 4 s\)", doc["message"])
    assert sum(result.sleeps) <= 4


def test_wrong_key_refused_and_key_not_shown(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", *url(sandbox), env={"CA_ROOT_API_KEY": "sentinel-root-key-but-wrong"})
    assert result.code == 2
    assert "401" in result.stdout and "CA_ROOT_API_KEY" in result.stdout


def test_unreachable_api_is_failed(cli: Cli) -> None:
    result = cli("quota-reset", "--api-url", "http://127.0.0.1:9", "--deadline", "2")
    assert result.code == 1 and "failed after" in result.stdout


@pytest.mark.parametrize(("argv", "text"), [
    (("quota-reset", "--env", "local"), "unknown environment 'local'"),
    (("quota-reset", "--env", ""), "unknown environment ''"),
    (("quota-reset", "--date", "2026-13-01"), "not a calendar date"),
    (("quota-reset", "--date", "24/11/2026"), "not a date"),
    (("quota-monthly", "--month", "2026-13"), "not a month"),
    (("quota-monthly", "--month", "2026"), "not a month"),
    (("quota-reset", "--api-url", "ftp://x"), "not an http(s) URL"),
    (("quota-reset", "--deadline", "0"), "--deadline must be above 0"),
    (("org-sync-all", "--org", "Bad Org"), "org id 'Bad Org' is not valid"),
    (("org-sync-all", "--org", ""), "org id '' is not valid"),
    (("org-sync-all", "--org", "acme\n"), "org id 'acme\\n' is not valid"),  # the whole slug must match
    (("org-sync-all", "--shard", "4/4"), "--shard '4/4'"),
])
def test_bad_input_exit_2_before_any_call(cli: Cli, sandbox: SandboxHandle, argv: tuple[str, ...],
                                          text: str) -> None:
    extra = () if "--api-url" in argv else url(sandbox)
    result = cli(*argv, *extra)
    assert result.code == 2, result.stdout + result.stderr
    assert text in result.stdout + result.stderr
    assert sandbox.requests == 0


# The FakeClock's today is 2026-11-24: periods run from 2000-01-01 (a fixed floor) to 2027-11-24.
@pytest.mark.parametrize(("argv", "text"), [
    (("quota-reset", "--date", "9999-12-31"), "more than a year after today (2026-11-24)"),
    (("quota-reset", "--date", "2027-11-25"), "more than a year after today"),
    (("quota-reset", "--date", "0001-01-01"), "is before 2000-01-01"),
    (("quota-reset", "--date", "1969-12-31"), "is before 2000-01-01"),
    (("alerts", "--date", "1999-12-31"), "is before 2000-01-01"),
    (("org-sync-all", "--date", "9999-12-31"), "more than a year after today"),
    (("quota-monthly", "--month", "9999-12"), "more than a year after today"),
    (("quota-monthly", "--month", "2027-12"), "more than a year after today"),
    (("quota-monthly", "--month", "1999-12"), "is before 2000-01-01"),
    (("reminder", "utilities", "--period", "9999-12"), "--period '9999-12' is more than a year after today"),
    (("reminder", "rent-due", "--period", "0001-01"), "--period '0001-01' is before 2000-01-01"),
])
def test_period_out_of_range_is_refused(cli: Cli, sandbox: SandboxHandle, argv: tuple[str, ...], text: str) -> None:
    where = ("--bot-url", sandbox.url) if argv[0] == "reminder" else url(sandbox)
    line = refused_line(cli(*argv, *where, "--json"))
    assert text in line and "check the year" in line, line
    assert sandbox.requests == 0


@pytest.mark.parametrize("argv", [
    ("quota-reset", "--date", "2000-01-01"), ("quota-reset", "--date", "2027-11-24"),
    ("quota-monthly", "--month", "2000-01"), ("quota-monthly", "--month", "2027-11"),
    ("reminder", "utilities", "--period", "2027-11"),
])
def test_period_at_the_edge_of_the_range_runs(cli: Cli, sandbox: SandboxHandle, argv: tuple[str, ...]) -> None:
    where = ("--bot-url", sandbox.url) if argv[0] == "reminder" else url(sandbox)
    result = cli(*argv, *where, "--json")
    assert result.code == 0 and result.json()["outcome"] == "applied", result.stdout


def test_period_range_follows_the_clock(cli: Cli, sandbox: SandboxHandle, clock: FakeClock) -> None:
    assert cli("quota-reset", "--date", "2028-01-10", *url(sandbox)).code == 2
    clock.advance(timedelta(days=60).total_seconds())  # today 2027-01-23: 2028-01-10 is within a year
    assert cli("quota-reset", "--date", "2028-01-10", *url(sandbox)).code == 0


def test_unknown_command_and_option_are_usage_errors(cli: Cli) -> None:
    assert cli("no-such-job").code == 2
    result = cli("quota-reset", "--no-such-option")
    assert result.code == 2
    assert result.stderr == "error: unknown option '--no-such-option'\nhint: see `housejobs quota-reset --help`\n"


@pytest.mark.parametrize(("argv", "suggestion"), [
    (("org-sync",), "did you mean 'org-sync-all'? see `housejobs --help`"),
    (("migrate", "stats"), "did you mean 'status'? see `housejobs migrate --help`"),
    (("config", "shwo"), "did you mean 'show'? see `housejobs config --help`"),
])
def test_a_close_command_name_is_suggested_once(cli: Cli, argv: tuple[str, ...], suggestion: str) -> None:
    result = cli(*argv)
    assert result.code == 2
    assert result.stderr == f"error: unknown command {argv[-1]!r}\nhint: {suggestion}\n", result.stderr


def test_env_var_env_name_is_checked(cli: Cli) -> None:
    result = cli("quota-reset", env={"HOUSEJOBS_ENV": "production"})
    assert result.code == 2 and "$HOUSEJOBS_ENV" in result.stderr


def test_missing_credentials_file_is_named(cli: Cli, tmp_path: Path) -> None:
    result = cli("quota-reset", "--env", "stage", env={"GOOGLE_APPLICATION_CREDENTIALS": "~/nope/key.json"})
    assert result.code == 2
    assert "nope/key.json" in result.stderr and "does not exist" in result.stderr


def test_missing_api_key_for_url_target(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", *url(sandbox), unset=("CA_ROOT_API_KEY",))
    assert result.code == 2 and "CA_ROOT_API_KEY is not set" in result.stdout
    assert sandbox.requests == 0


# --- output contract --------------------------------------------------------------------------------
def test_off_terminal_stderr_is_json_lines_ending_with_summary(cli: Cli, sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[503])
    result = cli("quota-reset", *url(sandbox))
    assert "\x1b[" not in result.stdout + result.stderr
    records = result.log_records()
    assert all("severity" in r and "message" in r and "time" in r for r in records)
    summary = records[-1]
    assert summary["event"] == "run_summary"
    assert summary["outcome"] == "applied" and summary["attempts"] == 2
    assert {"counts", "duration_ms", "exit_code"} <= set(summary)
    assert summary["logging.googleapis.com/labels"]["job"] == "quota-reset"


def test_terminal_output_is_readable(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", *url(sandbox), tty=True, stdin="", env=COLOUR_TERMINAL)
    assert result.code == 0
    assert not result.stderr.lstrip().startswith("{")
    assert "outcome: \x1b[32mapplied" in result.stdout


# --- prod confirmation ----------------------------------------------------------------------------------
def prod(sandbox: SandboxHandle) -> dict[str, str]:
    return {"HOUSEJOBS_API_URL": sandbox.url}


def test_prod_refused_without_confirmation(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", "--env", "prod", env=prod(sandbox))
    assert result.code == 2 and "prod not confirmed" in result.stdout
    assert sandbox.requests == 0


def test_prod_refused_on_wrong_answer(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", "--env", "prod", env=prod(sandbox), stdin="y\n", tty=True)
    assert result.code == 2 and sandbox.requests == 0
    assert "Type yes" in result.stderr


@pytest.mark.parametrize(("argv", "stdin", "env"), [
    ((), "yes\n", {}),
    (("--yes",), "", {}),
    ((), "", {"CLOUD_RUN_JOB": "housejobs-quota-reset-prod", "CLOUD_RUN_EXECUTION": "x-1"}),
])
def test_prod_confirmed(cli: Cli, sandbox: SandboxHandle, argv: tuple[str, ...], stdin: str,
                        env: dict[str, str]) -> None:
    result = cli("quota-reset", "--env", "prod", *argv, env={**prod(sandbox), **env}, stdin=stdin)
    assert result.code == 0, result.stdout + result.stderr
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}


def test_prod_dry_run_needs_no_confirmation(cli: Cli, sandbox: SandboxHandle) -> None:
    assert cli("quota-reset", "--env", "prod", "--dry-run", env=prod(sandbox)).code == 0


# --- bootstrap ------------------------------------------------------------------------------------------
def test_bootstrap_fresh_then_sync(cli: Cli, sandbox: SandboxHandle) -> None:
    first = cli("bootstrap", *url(sandbox), "--json").json()
    assert first["outcome"] == "applied" and first["details"]["mode"] == "fresh"
    assert first["counts"] == {"tables_created": 5, "columns_added": 0}
    sandbox._call("POST", "/_sandbox/schema", {"add_columns": 2})
    second = cli("bootstrap", *url(sandbox), "--json").json()
    assert second["outcome"] == "applied" and second["details"]["mode"] == "sync"
    assert second["counts"] == {"tables_created": 0, "columns_added": 2}
    assert "added 2 columns" in second["message"]


def test_bootstrap_task_retry_replays(cli: Cli, sandbox: SandboxHandle) -> None:
    env = {"CLOUD_RUN_JOB": "housejobs-bootstrap-stage", "CLOUD_RUN_EXECUTION": "housejobs-bootstrap-stage-x7",
           "HOUSEJOBS_ENV": "stage"}
    assert cli("bootstrap", *url(sandbox), env=env).code == 0
    again = cli("bootstrap", *url(sandbox), "--json", env=env).json()
    assert again["outcome"] == "duplicate"
    assert sandbox.counters("bootstrap") == {"bootstrap:run": 1}


# --- info commands ---------------------------------------------------------------------------------------
def test_list_jobs_shows_the_catalog(cli: Cli) -> None:
    result = cli("list-jobs")
    assert result.code == 0
    for job in ("migrate", "bootstrap", "org-sync-all", "quota-reset", "quota-cleanup", "stale-cleanup",
                "alerts", "quota-monthly", "reminder"):
        assert re.search(rf"^{job}\s", result.stdout, re.M), job
    jobs = {j["name"]: j for j in json.loads(cli("list-jobs", "--json").stdout)["jobs"]}
    assert jobs["quota-monthly"]["schedule"].startswith("5 0 1 * *")


def test_config_show_masks_secrets_and_names_sources(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HOUSEJOBS_DEADLINE=42\n# comment\nexport HOUSEJOBS_TIMEOUT='7'\n")
    result = cli("config", "show", "--env", "stage", "--json", env={"HOUSEJOBS_REGION": "europe-west1"})
    assert result.code == 0
    rows = {r["key"]: r for r in result.json()["settings"]}
    assert rows["project"] == {**rows["project"], "value": "cloudact-testing-1",
                               "source": "environments.toml [stage]"}
    assert rows["secret_suffix"]["value"] == "-test"
    assert rows["region"]["source"] == "$HOUSEJOBS_REGION" and rows["region"]["value"] == "europe-west1"
    assert rows["deadline"] == {**rows["deadline"], "value": "42", "source": ".env"}
    assert rows["timeout"]["value"] == "7"
    assert rows["ca_root_api_key"]["value"] == "****"
    assert rows["jobs_dir"]["source"] == "checkout"
    prod = {r["key"]: r for r in cli("config", "show", "--env", "prod", "--json").json()["settings"]}
    assert prod["project"]["value"] == "cloudact-prod" and prod["secret_suffix"]["value"] == "-prod"
    assert prod["api_url"]["value"] == "https://api.cloudact.ai"


def test_bad_dotenv_line_is_named_not_shown(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("this line has sentinel-root-key-5f1e0c9a7b but no equals\n")
    result = cli("config", "show")
    assert result.code == 2 and ".env line 1 is not KEY=value" in result.stderr


# --- config and local state the user must fix: refused (2) by name, never an internal error (1) ------------------
def test_catalog_nested_too_deeply_is_refused(cli: Cli, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    shutil.copytree(JOBS, jobs)
    (jobs / "catalog.toml").write_text("a = " + "[" * 100_000 + "]" * 100_000 + "\n")
    env = {"HOUSEJOBS_JOBS_DIR": str(jobs), "HOUSEJOBS_RUN_API_ENDPOINT": "http://127.0.0.1:9"}
    line = usage_error_line(cli("list-jobs", env=env))
    assert "catalog.toml nests arrays or tables too deeply" in line and str(jobs) in line
    assert "catalog.toml nests" in refused_line(cli("run", "quota-reset", "--env", "stage", "--json", env=env))


def test_environments_nested_too_deeply_is_refused(cli: Cli, sandbox: SandboxHandle, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    shutil.copytree(JOBS, jobs)
    (jobs / "environments.toml").write_text("a = " + "{a = " * 100_000 + "1" + "}" * 100_000 + "\n")
    result = cli("quota-reset", "--env", "stage", *url(sandbox), "--json", env={"HOUSEJOBS_JOBS_DIR": str(jobs)})
    assert "environments.toml nests arrays or tables too deeply" in refused_line(result)
    assert sandbox.requests == 0


def test_state_dir_sqlite_cannot_use_is_refused(cli: Cli) -> None:
    result = cli("quota-reset", "--json", env={"HOUSEJOBS_STATE_DIR": "/proc/self"})
    line = refused_line(result)
    assert "cannot open /proc/self/sandbox.db" in line and "HOUSEJOBS_STATE_DIR" in line, line


def test_state_file_that_is_not_a_database_is_refused_and_kept(cli: Cli, tmp_path: Path) -> None:
    state = tmp_path / "broken-state"
    state.mkdir()
    garbage = b"not sqlite at all\n" * 100
    (state / "sandbox.db").write_bytes(garbage)
    line = refused_line(cli("quota-reset", "--json", env={"HOUSEJOBS_STATE_DIR": str(state)}))
    assert f"cannot use {state / 'sandbox.db'}" in line and "move the file away" in line, line
    assert (state / "sandbox.db").read_bytes() == garbage  # the user's file, untouched


@pytest.mark.parametrize("spec", ['{"statuses": [1e400]}', "[" * 100_000 + "]" * 100_000])
def test_sandbox_faults_that_break_the_reader_are_refused(cli: Cli, spec: str) -> None:
    line = refused_line(cli("quota-reset", "--json", env={"HOUSEJOBS_SANDBOX_FAULTS": spec}))
    assert "HOUSEJOBS_SANDBOX_FAULTS is not a fault spec" in line


# .env as python-dotenv and docker compose read it.
@pytest.mark.parametrize(("line", "value"), [
    ('HOUSEJOBS_PROJECT="proj-a" # the project', "proj-a"),
    ("HOUSEJOBS_PROJECT='proj-b' # c", "proj-b"),
    ("HOUSEJOBS_PROJECT='proj-b'# c", "proj-b"),
    ("HOUSEJOBS_PROJECT=proj-c # c", "proj-c"),
    ("HOUSEJOBS_PROJECT=proj-c\t# c", "proj-c"),
    ("HOUSEJOBS_PROJECT=proj#d", "proj#d"),
    ("HOUSEJOBS_PROJECT= # only a comment", ""),
    ('HOUSEJOBS_PROJECT="a # not a comment"', "a # not a comment"),
    ("HOUSEJOBS_PROJECT='a # not a comment'", "a # not a comment"),
    (r'HOUSEJOBS_PROJECT="two\nlines, a \"quote\", a back\\slash, a \d"',
     'two\nlines, a "quote", a back\\slash, a \\d'),
    (r"HOUSEJOBS_PROJECT='it\'s literal: \n \\'", "it's literal: \\n \\"),
    ("export HOUSEJOBS_PROJECT=proj-e", "proj-e"),
    ("  export   HOUSEJOBS_PROJECT = 'proj-f'  ", "proj-f"),
    ('HOUSEJOBS_PROJECT=say "hi"', 'say "hi"'),
])
def test_dotenv_values_read_as_dotenv_and_compose_do(cli: Cli, tmp_path: Path, line: str, value: str) -> None:
    (tmp_path / ".env").write_text(line + "\n")
    result = cli("config", "show", "--json")
    assert result.code == 0, result.stderr
    rows = {r["key"]: r for r in result.json()["settings"]}
    assert rows["project"]["value"] == value and rows["project"]["source"] == ".env"


@pytest.mark.parametrize("line", ['HOUSEJOBS_PROJECT="open', 'HOUSEJOBS_PROJECT="a" b', "HOUSEJOBS_PROJECT='a'b",
                                  r'HOUSEJOBS_PROJECT="a\"', "HOUSEJOBS_PROJECT='sentinel-root-key-5f1e0c9a7b"])
def test_dotenv_broken_quotes_are_refused_by_line(cli: Cli, tmp_path: Path, line: str) -> None:
    (tmp_path / ".env").write_text("# first\n" + line + "\n")
    line_out = usage_error_line(cli("config", "show"))
    assert ".env line 2 has a quote that is not closed, or text after it" in line_out


def test_home_in_path_settings_is_expanded(cli: Cli, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    (home / "keys" / "sa.json").write_text("{}")
    (tmp_path / ".env").write_text("HOUSEJOBS_STATE_DIR='~/x'\nGOOGLE_APPLICATION_CREDENTIALS=\"~/keys/sa.json\"\n")
    env = {"HOME": str(home)}
    shown = cli("config", "show", "--json", env=env, unset=("HOUSEJOBS_STATE_DIR",))
    rows = {r["key"]: r for r in shown.json()["settings"]}
    assert rows["state_dir"]["value"] == str(home / "x")
    assert rows["credentials"]["value"] == str(home / "keys" / "sa.json")
    result = cli("quota-reset", env=env, unset=("HOUSEJOBS_STATE_DIR",))
    assert result.code == 0, result.stdout
    assert (home / "x" / "sandbox.db").is_file() and not (tmp_path / "~").exists()


# --- numbers: ASCII digits only, for every numeric option and setting; settings within their ranges -----------
# Each refused value is followed by one that the old code would have refused instead (or by a run), so the
# line must name this option for the reason of its digits.
@pytest.mark.parametrize(("argv", "option"), [
    (("org-sync-all", "--concurrency", "３", "--api-url", "http://127.0.0.1:9"), "--concurrency"),
    (("quota-cleanup", "--days", "３０"), "--days"),
    (("run", "quota-reset", "--env", "stage", "--tasks", "３", "--follow", "x"), "--tasks"),
    (("quota-reset", "--deadline", "３", "--env", "bogus"), "--deadline"),
    (("reminder", "utilities", "--deadline", "٣", "--env", "bogus"), "--deadline"),
    (("doctor", "--deadline", "３", "--env", "bogus"), "--deadline"),
    (("sandbox", "--port", "８７６５", "--orgs", "-1"), "--port"),
    (("sandbox", "--orgs", "３", "--port", "99999"), "--orgs"),
    (("sandbox", "--latency-ms", "３", "--port", "99999"), "--latency-ms"),
    (("sandbox", "--error-rate", "０.５", "--port", "99999"), "--error-rate"),
    (("org-sync-all", "--concurrency", "1_6", "--api-url", "http://127.0.0.1:9"), "--concurrency"),
    (("history", "--days", "３", "--env", "bogus"), "--days"),
    (("backfill", "quota-reset", "--concurrency", "３", "--env", "bogus"), "--concurrency"),
])
def test_numeric_options_take_ascii_digits_only(cli: Cli, argv: tuple[str, ...], option: str) -> None:
    line = usage_error_line(cli(*argv, env={"HOUSEJOBS_RUN_API_ENDPOINT": "http://127.0.0.1:9"}))
    assert f"'{option}'" in line and "in ASCII digits" in line, line


@pytest.mark.parametrize(("var", "value", "text"), [
    ("HOUSEJOBS_TIMEOUT", "３", "timeout must be a number above 0, got '３' from $HOUSEJOBS_TIMEOUT"),
    ("HOUSEJOBS_DEADLINE", "６０", "deadline must be a number above 0"),
    ("HOUSEJOBS_RETRY_AFTER_CAP", "-0.5", "retry_after_cap must be a number 0 or more"),
    ("HOUSEJOBS_MAX_ATTEMPTS", "1e3", "max_attempts must be a whole number from 1 to 100, got '1e3'"),
    ("HOUSEJOBS_MAX_ATTEMPTS", "0.5", "max_attempts must be a whole number from 1 to 100"),
    ("HOUSEJOBS_MAX_ATTEMPTS", "101", "max_attempts must be a whole number from 1 to 100"),
    ("HOUSEJOBS_MAX_RETRIES", "abc", "max_retries must be a whole number from 0 to 10, got 'abc' from $HOUSEJOBS_MAX"),
    ("HOUSEJOBS_MAX_RETRIES", "３", "max_retries must be a whole number from 0 to 10"),
    ("HOUSEJOBS_MAX_RETRIES", "11", "max_retries must be a whole number from 0 to 10"),
])
def test_numeric_settings_out_of_rule_are_refused(cli: Cli, sandbox: SandboxHandle, var: str, value: str,
                                                  text: str) -> None:
    line = refused_line(cli("quota-reset", *url(sandbox), "--json", env={var: value}))
    assert text in line, line
    assert sandbox.requests == 0


@pytest.mark.parametrize("value", ["0", "-1", "0.5", "1e3", "３", ""])
@pytest.mark.parametrize("tty", [False, True])
def test_progress_every_out_of_rule_is_refused(cli: Cli, sandbox: SandboxHandle, tmp_path: Path, value: str,
                                               tty: bool) -> None:
    (tmp_path / ".env").write_text(f"HOUSEJOBS_PROGRESS_EVERY={value}\n")
    result = cli("org-sync-all", *url(sandbox), tty=tty)
    assert result.code == 2, result.stdout + result.stderr
    assert "progress_every must be a whole number from 1 to 1000000" in result.stdout
    assert "from .env" in result.stdout and sandbox.routes().get("/admin/orgs/{org}/sync", 0) == 0


def test_cloud_run_task_index_takes_ascii_digits_only(cli: Cli, sandbox: SandboxHandle) -> None:
    env = {"CLOUD_RUN_JOB": "housejobs-org-sync-all-stage", "CLOUD_RUN_EXECUTION": "e-1", "HOUSEJOBS_ENV": "stage",
           "CLOUD_RUN_TASK_INDEX": "１", "CLOUD_RUN_TASK_COUNT": "３"}
    result = cli("org-sync-all", *url(sandbox), env=env)
    assert result.code == 2 and "CLOUD_RUN_TASK_INDEX='１' is not a whole number" in result.stdout
    assert sandbox.requests == 0


def test_max_retries_from_cloud_run_is_read_as_a_whole_number(cli: Cli, sandbox: SandboxHandle) -> None:
    env = {"CLOUD_RUN_JOB": "housejobs-quota-reset-stage", "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-x",
           "HOUSEJOBS_ENV": "stage", "HOUSEJOBS_MAX_RETRIES": "3"}
    assert cli("quota-reset", *url(sandbox), env=env).code == 0
    refused = cli("quota-reset", *url(sandbox), env={**env, "HOUSEJOBS_MAX_RETRIES": "three"})
    assert refused.code == 2 and "max_retries must be a whole number" in refused.stderr


def test_version(cli: Cli) -> None:
    result = cli("--version")
    assert result.code == 0 and result.stdout.startswith("housejobs ")


def test_env_and_api_url_from_dotenv_and_environment(cli: Cli, sandbox: SandboxHandle, tmp_path: Path) -> None:
    # $HOUSEJOBS_API_URL alone targets that API, never silently the embedded sandbox.
    result = cli("quota-reset", "--json", env={"HOUSEJOBS_API_URL": sandbox.url})
    assert result.json()["target"] == sandbox.url
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}
    # HOUSEJOBS_ENV in ./.env selects the environment like the variable does.
    (tmp_path / ".env").write_text(f"HOUSEJOBS_ENV=stage\nHOUSEJOBS_API_URL={sandbox.url}\n")
    doc = cli("quota-reset", "--json", "--date", "2026-11-25").json()
    assert doc["env"] == "stage" and doc["outcome"] == "applied"
    (tmp_path / ".env").write_text("HOUSEJOBS_ENV=production\n")
    refused = cli("quota-reset")
    assert refused.code == 2 and ".env HOUSEJOBS_ENV" in refused.stdout


def test_usage_error_inside_cloud_run_goes_through_the_boundary(cli: Cli) -> None:
    env = {"CLOUD_RUN_JOB": "housejobs-quota-reset-stage", "CLOUD_RUN_EXECUTION": "housejobs-quota-reset-stage-x",
           "HOUSEJOBS_ENV": "stage"}
    result = cli("quota-reset", "--no-such-option", env=env)
    assert result.code == 2
    records = result.log_records()
    assert records[-1]["event"] == "run_summary" and records[-1]["outcome"] == "refused"
    assert any(r["severity"] == "ERROR" and "--no-such-option" in r["message"] for r in records)


def test_usage_error_never_echoes_a_secret(cli: Cli) -> None:
    result = cli("quota-reset", "--deadline", "sentinel-root-key-5f1e0c9a7b")
    assert result.code == 2 and "****" in result.stderr
