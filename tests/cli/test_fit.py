"""Output sized to the terminal: on an 80-column terminal no line of list-jobs, of a job's summary, of a
checklist or of a plan is wider than 80 cells; refusals read as one sentence, then the fix on its own line.

The width is the terminal's: COLUMNS from the run's environment, else the size of the terminal stdout is
(a real pseudo-terminal here, its size set with TIOCSWINSZ), never rich's own look at os.environ.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.cells import cell_len

from housejobs.cli.text import column_floors, fit_widths, flow, table_lines, view_lines, wrap
from housejobs.results import Table
from housejobs.runtime import Runtime
from tests.cli.test_provision import _double_triggers, deploy
from tests.support.cli import Cli
from tests.support.deploy_env import GcpEnv
from tests.support.pty import ANSI, run_on_pty
from tests.support.sandbox import SandboxHandle

DATE = "2026-11-24"
NARROW = {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "xterm-256color"}  # an 80-column terminal, in process
PLAIN = ("FORCE_COLOR",)  # off a terminal, plain text: unless the test's own shell forces colour


def widest(text: str) -> int:
    return max((cell_len(ANSI.sub("", line)) for line in text.splitlines()), default=0)


# --- on a real terminal ---------------------------------------------------------------------------------
def test_list_jobs_fits_an_80_column_terminal() -> None:
    shown = run_on_pty(["list-jobs"])
    assert shown.code == 0, shown.stderr
    assert "\x1b[" in shown.text or shown.lines[1].startswith("─")  # drawn for a terminal, under a rule
    assert shown.lines[0].split() == ["NAME", "KIND", "SCHEDULE", "CALLS"]
    assert shown.widest() <= 80, shown.text
    # Short columns stay whole and a path is not cut when a column can hold it.
    assert any(line.split()[:3] == ["quota-cleanup", "daily", "0"] for line in shown.lines)
    assert any(line.strip() == "/v1/projects/{ref}/database/query" for line in shown.lines)


def test_list_jobs_env_fits_an_80_column_terminal(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    _double_triggers(gcp)  # warnings under the rows: notes that run on over the trigger column
    shown = run_on_pty(["list-jobs", "--env", "stage"], env=gcp.env)
    assert shown.code == 0, shown.stderr
    assert shown.widest() <= 80, shown.text
    assert shown.lines[1].split() == ["NAME", "KIND", "STATE", "TRIGGER", "LAST", "EXECUTION"]
    assert any(line.startswith("quota-reset ") and " in sync " in line for line in shown.lines), shown.text
    # The warning (a note under its row) wraps inside the trigger column.
    reset = next(i for i, line in enumerate(shown.lines) if line.startswith("quota-reset "))
    note = " ".join(line.strip() for line in shown.lines[reset + 1:reset + 8])
    assert note.startswith("! also started by quota-reset-daily (0 0 * * * UTC): runs twice per period")


def test_a_job_summary_fits_an_80_column_terminal(sandbox: SandboxHandle) -> None:
    shown = run_on_pty(["quota-reset", "--api-url", sandbox.url, "--date", DATE])
    assert shown.code == 0, shown.stderr
    assert shown.widest() <= 80, shown.text
    # The outcome in its colour, the message on a line of its own once the line would not fit.
    assert "outcome: \x1b[32mapplied\x1b[0m" in shown.text
    assert shown.lines[0].startswith(f"quota-reset · target: {sandbox.url} · outcome: applied")
    assert "  for 2026-11-24" in shown.lines


def test_a_refusal_on_an_80_column_terminal_reads_sentence_then_fix(sandbox: SandboxHandle) -> None:
    # A long target, and prod without a confirmation (stdin is no terminal and says nothing): refused.
    url = sandbox.url + "/deployments/blue-green/second-region/admin-api/v2"
    shown = run_on_pty(["quota-reset", "--env", "prod", "--api-url", url, "--date", DATE], stdin_tty=False)
    assert shown.code == 2, shown.stderr
    assert shown.widest() <= 80, shown.text
    lines = [line for line in shown.lines if line]
    assert lines[0] == "quota-reset · target:" and lines[1] == f"  {url}", shown.text
    assert lines[2].startswith("  outcome: refused · ")
    said = " ".join(line.strip() for line in lines)
    assert "prod not confirmed, nothing was done: this would run quota-reset in prod" in said
    hint = next(line for line in lines if line.startswith("  hint: "))
    assert hint.startswith("  hint: type yes at the prompt")
    assert "((" not in said and "))" not in said
    assert sandbox.requests == 0


# --- in process, on a terminal COLUMNS says is 80 wide ----------------------------------------------------
def test_doctor_checklist_fits_80_columns(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    gcp.add_secrets()
    assert cli("create-all-jobs", "--env", "stage", env={**gcp.env, "HOUSEJOBS_API_URL": sandbox.url}).code == 0
    result = cli("doctor", "--env", "stage", tty=True, env={**gcp.env, "HOUSEJOBS_API_URL": sandbox.url, **NARROW})
    assert result.code == 0, result.stdout
    assert widest(result.stdout) <= 80, result.stdout
    checks = [line for line in result.stdout.splitlines() if line[:1] in "✓✗"]
    assert len(checks) == 12 and all(line.startswith("✓ ") for line in checks)
    # A check too long for a line goes on under it, indented.
    assert any(line.startswith("  ") for line in result.stdout.splitlines())


def test_plan_fits_80_columns(cli: Cli, gcp: GcpEnv) -> None:
    result = cli("create-all-jobs", "--env", "stage", "--plan", tty=True, env={**gcp.env, **NARROW})
    assert result.code == 0, result.stdout
    assert widest(result.stdout) <= 80, result.stdout
    assert "  + create    job     housejobs-quota-reset-stage" in result.stdout.splitlines()
    # A long word (a service account) is indented less rather than cut.
    assert "  serviceAccount:housejobs-scheduler@cloudact-testing-1.iam.gserviceaccount.com" in result.stdout


def test_off_a_terminal_lines_are_whole(cli: Cli, sandbox: SandboxHandle) -> None:
    # A pipe or a file gets every line whole, whatever COLUMNS says: scripts and Cloud Logging read them.
    listed = cli("list-jobs", env={"COLUMNS": "80"}, unset=PLAIN).stdout.splitlines()
    assert widest("\n".join(listed)) > 80
    reminder = next(line for line in listed if line.startswith("reminder "))
    assert reminder.endswith("bot runtime POST /jobs/reminder/{utilities,rent-warning,rent-due}")


# --- refusals: one sentence, then the fix ---------------------------------------------------------------
def test_a_refusal_is_the_error_then_the_fix_in_every_form(cli: Cli, sandbox: SandboxHandle) -> None:
    argv = ("quota-reset", "--env", "prod", "--api-url", sandbox.url, "--date", DATE)
    plain = cli(*argv, unset=PLAIN)
    assert plain.code == 2
    head, message, hint = plain.stdout.splitlines()[:3]
    assert head.startswith("quota-reset · target: ") and head.endswith(" ms") and "(" not in head
    assert message == "  prod not confirmed, nothing was done: this would run quota-reset in prod"
    assert hint == "  hint: type yes at the prompt, pipe `echo yes |`, or pass --yes"
    # --json: the message and the fix in fields of their own; the log record carries both, on one line.
    doc = cli(*argv, "--json")
    assert (doc.json()["message"], doc.json()["hint"]) == (message.strip(), hint.strip().removeprefix("hint: "))
    error = next(r for r in doc.log_records() if r["severity"] == "ERROR" and r.get("event") != "run_summary")
    assert (error["message"], error["hint"]) == (doc.json()["message"], doc.json()["hint"])
    summary = doc.log_records()[-1]  # the run_summary a caller reads back from Cloud Logging
    assert (summary["detail"], summary["hint"]) == (doc.json()["message"], doc.json()["hint"])
    assert sandbox.requests == 0


def test_an_error_outside_a_run_is_two_lines(cli: Cli) -> None:
    result = cli("config", "show", "--env", "stag")  # a report that cannot read what it reports
    assert result.code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == ["error: unknown environment 'stag' from --env",
                                          "hint: did you mean 'stage'? one of: test, stage, prod"]


def test_list_jobs_env_without_google_credentials_is_refused_with_the_fix(cli: Cli, tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # No credentials anywhere Google's library looks: no GOOGLE_APPLICATION_CREDENTIALS (the suite unsets it),
    # no gcloud folder, and a metadata server that is not there (refused at once, never waited for).
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    for argv in (("list-jobs", "--env", "stage"), ("list-jobs", "--env", "stage", "--json")):
        result = cli(*argv, unset=PLAIN)
        assert result.code == 2 and result.stdout == ""
        assert result.stderr.splitlines() == [
            "error: Cloud Run client: no Google credentials found",
            "hint: run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"]
    # On a terminal the two lines wrap to its width, each under its own first word.
    narrow = cli("list-jobs", "--env", "stage", tty=True, env={"COLUMNS": "60"})
    assert narrow.code == 2 and narrow.stderr.splitlines() == [
        "error: Cloud Run client: no Google credentials found",
        "hint: run `gcloud auth application-default login` or set",
        "      GOOGLE_APPLICATION_CREDENTIALS"]


def test_a_run_without_a_fix_keeps_its_message_on_the_summary_line(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", "--api-url", sandbox.url, "--date", DATE, "--json")
    assert result.json()["hint"] is None  # a key every run document has, null without a fix
    plain = cli("quota-reset", "--api-url", sandbox.url, "--date", DATE, unset=PLAIN).stdout.splitlines()
    assert " · outcome: duplicate (already applied for 2026-11-24) · " in plain[0]


# --- the layout rules, by themselves --------------------------------------------------------------------
def test_wrap_breaks_between_words_keeps_links_whole_and_cuts_other_long_words() -> None:
    link = "https://console.cloud.google.com/logs/viewer?project=p&advancedFilter=" + "x" * 60
    lines = wrap(f"see {link} and " + "y" * 30, 20, len, indent="  ", hang="    ")
    assert lines == ["  see", f"    {link}", "    and", "    " + "y" * 16, "    " + "y" * 14]
    assert wrap("a  b   c", 80, len) == ["a  b   c"]  # the spaces inside a line are kept (aligned columns)


def test_flow_breaks_the_summary_between_its_parts() -> None:
    parts = ["quota-reset", "target: prod (https://api.example.com)", "outcome: refused", "3 ms"]
    assert flow(parts, 60, len) == ["quota-reset · target: prod (https://api.example.com)",
                                    "  outcome: refused · 3 ms"]
    assert flow(["quota-reset", "target: " + "x" * 70, "3 ms"], 60, len) == [
        "quota-reset · target:", "  " + "x" * 58, "  " + "x" * 12 + " · 3 ms"]
    assert flow(parts, 200, len) == [" · ".join(parts)]


def test_columns_give_way_widest_first_and_never_below_a_link() -> None:
    columns = ("NAME", "CALLS")
    rows = [("quota-reset", "POST /admin/quota/reset-daily and more words here to wrap")]
    floors = column_floors(columns, rows, len, 40)
    assert floors is not None
    assert fit_widths([11, 56], floors, 40) == [11, 29]  # the name stays whole; the calls wrap
    linked = [("quota-reset", "https://console.cloud.google.com/" + "x" * 60)]
    assert column_floors(columns, linked, len, 40) is None  # the link cannot fit: plain lines instead


def test_an_aligned_list_keeps_its_columns_where_it_says() -> None:
    # No header; a fixed column is that wide whatever its cells (a longer one pushes its row on, as a plan's
    # `unchanged` would past a narrower column); a natural one is its widest cell's; a note (a shorter row)
    # runs on from its column and widens none.
    table = Table(("", "ACTION", "KIND", "RESOURCE"), (("+", "create", "job", "a"), ("", "  field: 1 → 2"),
                                                       ("=", "unchanged!", "trigger", "b")),
                  header=False, widths=(1, 9, 0, 0), indent="  ", gap=" ", title="plan")
    assert table_lines(table) == ["  + create    job     a", "      field: 1 → 2", "  = unchanged! trigger b"]
    assert view_lines(table) == ["plan", *table_lines(table)]
    headed = Table(("NAME", "KIND"), (("quota-reset", "daily"), ("a note that widens nothing",)))
    assert table_lines(headed) == ["NAME         KIND", "quota-reset  daily", "a note that widens nothing"]


@pytest.mark.parametrize(("environ", "columns"), [({"COLUMNS": "132"}, 132), ({"COLUMNS": "0"}, 80),
                                                  ({"COLUMNS": "wide"}, 80), ({}, 80)])
def test_the_width_is_the_runs_columns_else_the_terminals_else_80(environ: dict[str, str], columns: int) -> None:
    # A buffer is no terminal: without a usable COLUMNS the width is 80, never the test runner's terminal.
    assert Runtime(environ=environ, stdout=io.StringIO(), stderr=io.StringIO()).columns == columns
