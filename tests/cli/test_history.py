"""`housejobs history`: the real google-cloud-run and -scheduler clients (REST, anonymous) against the
fakes, over a month of seeded executions (tests/support/history_world.py). The engine underneath, without
any server, is tests/unit/jobs/test_slots.py.

The clock is the suite's FakeClock (2026-11-24 10:00 UTC); nothing reads the machine's date.
"""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from housejobs.jobs.slots import TOLERANCE_S
from tests.support.cli import Cli
from tests.support.clock import FakeClock
from tests.support.deploy_env import GcpEnv
from tests.support.hermetic import COLOUR_TERMINAL
from tests.support.history_world import GRACE, at, deploy, deployed_month, iso, seed, slots


@pytest.fixture
def month(cli: Cli, gcp: GcpEnv) -> GcpEnv:
    return deployed_month(cli, gcp)


def history(cli: Cli, gcp: GcpEnv, *args: str, env: dict[str, str] | None = None, **kw: Any) -> Any:
    return cli("history", "--env", "stage", *args, env={**gcp.env, **(env or {})}, **kw)


# --- every slot state, over a month ---------------------------------------------------------------
def test_a_month_of_slots_in_every_state(cli: Cli, month: GcpEnv) -> None:
    result = history(cli, month, "--json")
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["outcome"] == "skipped" and doc["exit_code"] == 0
    assert doc["counts"] == {"slots": 124, "succeeded": 111, "failed": 1, "cancelled": 1, "running": 1,
                             "pending": 0, "upcoming": 1, "missed": 9, "manual_runs": 4, "dry_runs": 0}
    assert doc["details"]["window"] == {"start": "2026-10-26T00:00:00Z", "end": "2026-11-24T10:00:00Z", "days": 30}
    assert doc["details"]["tolerance_s"] == TOLERANCE_S == 300

    reset = slots(doc, "quota-reset")
    assert len(reset) == 30
    assert reset[iso(at(3))]["state"] == "missed" and reset[iso(at(3))]["reason"] == ""
    assert reset[iso(at(3))]["period"] == "2026-11-03"
    late = reset[iso(at(5))]
    assert late["state"] == "succeeded" and late["delay_s"] == 360.0
    two = reset[iso(at(14))]
    assert two["state"] == "succeeded" and two["execution"]["state"] == "succeeded"
    assert [e["state"] for e in two["others"]] == ["failed"]  # listed, not lost

    assert slots(doc, "alerts")[iso(at(18, 8))]["state"] == "failed"
    failed = slots(doc, "alerts")[iso(at(18, 8))]["execution"]
    assert failed["log_uri"].startswith("https://console.cloud.google.com/logs/viewer?project=cloudact-testing-1")
    assert failed["duration_s"] == 30.0 and "exited with an error" in failed["failure"]
    stale = slots(doc, "stale-cleanup")
    assert stale[iso(at(8, 2))]["state"] == "cancelled"
    paused = [s for s in stale.values() if s["state"] == "missed"]
    assert [s["scheduled"][:10] for s in paused] == [f"2026-11-{d}" for d in range(18, 25)]
    assert {s["reason"] for s in paused} == {"trigger paused"}
    assert stale[iso(at(17, 2))]["state"] == "succeeded"  # before the pause
    assert slots(doc, "quota-cleanup")[iso(at(24, 1))]["state"] == "running"
    assert slots(doc, "quota-monthly")[iso(at(1, 0, 5))]["period"] == "2026-11"
    rows = {r["row"]: r for r in doc["details"]["rows"]}
    assert rows["stale-cleanup"]["trigger_state"] == "PAUSED" and rows["alerts"]["trigger_state"] == "ENABLED"
    assert rows["quota-reset"]["window_s"] == GRACE == 60 * 3 + 5 + 10 + 300


def test_the_tolerance_edge(cli: Cli, month: GcpEnv) -> None:
    """A run created 1 s before the window closes is the slot's; at the close it is not (a manual run)."""
    doc = history(cli, month, "--json", "--job", "quota-reset", "--job", "quota-reset").json()  # named twice
    reset = slots(doc, "quota-reset")
    inside = reset[iso(at(11))]
    assert inside["state"] == "succeeded" and inside["delay_s"] == GRACE - 1
    outside = reset[iso(at(10))]
    assert outside["state"] == "missed" and outside["execution"] is None
    manual = {r["execution"]["created"]: r for r in doc["details"]["manual_runs"]}
    late = manual[iso(at(10) + timedelta(seconds=GRACE))]
    # The too-late run still applied its day: the period is named, so backfill knows it is done.
    assert late["row"] == "quota-reset" and late["period"] == "2026-11-10"
    assert doc["details"]["window"]["days"] == 30 and [r["row"] for r in doc["details"]["rows"]] == ["quota-reset"]


def test_manual_runs_and_manual_jobs(cli: Cli, month: GcpEnv) -> None:
    doc = history(cli, month, "--json").json()
    runs = doc["details"]["manual_runs"]
    assert [(r["row"], r["execution"]["created"][:16], r["execution"]["state"], r["period"]) for r in runs] == [
        ("quota-reset", "2026-11-10T00:08", "succeeded", "2026-11-10"),
        ("quota-reset", "2026-11-12T14:03", "succeeded", "2026-11-12"),
        ("migrate", "2026-11-15T09:20", "failed", None),
        ("bootstrap", "2026-11-15T09:30", "succeeded", None),
    ]
    assert not [s for s in doc["details"]["slots"] if s["job"] in ("migrate", "bootstrap", "org-sync-all")]


def test_pending_while_the_window_is_open(cli: Cli, gcp: GcpEnv, clock: FakeClock) -> None:
    deploy(cli, gcp)
    clock.advance(-2 * 3600 + 180)  # 08:03 UTC: alerts' 08:00 run may still come
    seed(gcp, "alerts", at(23, 8, 0, 4))
    doc = history(cli, gcp, "--json", "--job", "alerts", "--days", "2").json()
    alerts = slots(doc, "alerts")
    assert alerts[iso(at(24, 8))]["state"] == "pending"
    assert alerts[iso(at(24, 8))]["reason"] == "its window is still open"
    assert alerts[iso(at(23, 8))]["state"] == "succeeded"
    clock.advance(GRACE)  # the window has closed with nothing in it
    later = history(cli, gcp, "--json", "--job", "alerts", "--days", "2").json()
    assert slots(later, "alerts")[iso(at(24, 8))]["state"] == "missed"


# --- DST: the reminder's triggers run on Sydney's wall clock ------------------------------------------
# 09:00 and 10:00 in Sydney, in UTC, worked out by hand: AEDT (UTC+11) until 2026-04-05 03:00 and from
# 2026-10-04 02:00; AEST (UTC+10) between.
SYDNEY_SLOTS = {
    "reminder rent-due": ["2026-03-31T22:00:00Z", "2026-04-30T23:00:00Z", "2026-05-31T23:00:00Z",
                          "2026-06-30T23:00:00Z", "2026-07-31T23:00:00Z", "2026-08-31T23:00:00Z",
                          "2026-09-30T23:00:00Z", "2026-10-31T22:00:00Z"],
    "reminder utilities": ["2026-03-31T23:00:00Z", "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z",
                           "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z", "2026-09-01T00:00:00Z",
                           "2026-10-01T00:00:00Z", "2026-10-31T23:00:00Z"],
    "reminder rent-warning": ["2026-04-24T23:00:00Z", "2026-05-24T23:00:00Z", "2026-06-24T23:00:00Z",
                              "2026-07-24T23:00:00Z", "2026-08-24T23:00:00Z", "2026-09-24T23:00:00Z",
                              "2026-10-24T22:00:00Z"],
}


def test_reminder_slots_follow_sydney_daylight_saving(cli: Cli, gcp: GcpEnv) -> None:
    deploy(cli, gcp)
    for row, times in SYDNEY_SLOTS.items():
        for t in times:
            created = datetime.fromisoformat(t.replace("Z", "+00:00")) + timedelta(seconds=5)
            seed(gcp, "reminder", created, args=["reminder", row.split()[1]])
    # A run at 09:00 Sydney standard time on 1 November (an hour late, as if DST were ignored) is no
    # slot's: it is a manual run, while the real slot an hour earlier has its own run.
    seed(gcp, "reminder", datetime(2026, 10, 31, 23, 0, 5, tzinfo=UTC) + timedelta(hours=1),
         args=["reminder", "rent-due"])
    result = history(cli, gcp, "--json", "--job", "reminder", "--days", "240")
    assert result.code == 0, result.stdout
    doc = result.json()
    assert doc["details"]["window"]["start"] == "2026-03-30T00:00:00Z"
    for row, times in SYDNEY_SLOTS.items():
        got = slots(doc, row)
        # 25 Nov 09:00 in Sydney is 22:00 UTC today: still to come.
        upcoming = ["2026-11-24T22:00:00Z"] if row == "reminder rent-warning" else []
        assert sorted(got) == times + upcoming, row
        assert {s["state"] for t, s in got.items() if t not in upcoming} == {"succeeded"}, row
        assert [got[t]["state"] for t in upcoming] == ["upcoming"] * len(upcoming)
    due = slots(doc, "reminder rent-due")
    # The period is the household's month: 09:00 on 1 April in Sydney is still 31 March in UTC.
    assert due["2026-03-31T22:00:00Z"]["period"] == "2026-04"
    assert due["2026-03-31T22:00:00Z"]["scheduled_local"] == "2026-04-01T09:00:00+11:00"
    assert due["2026-04-30T23:00:00Z"]["scheduled_local"] == "2026-05-01T09:00:00+10:00"
    (stray,) = doc["details"]["manual_runs"]
    assert stray["row"] == "reminder rent-due" and stray["period"] == "2026-11"


# --- --fail-on, refusals, the report --------------------------------------------------------------
def test_fail_on_makes_missed_and_failed_slots_fail_the_run(cli: Cli, month: GcpEnv) -> None:
    result = history(cli, month, "--json", "--fail-on", "missed,failed")
    assert result.code == 1
    doc = result.json()
    assert doc["outcome"] == "failed"
    assert doc["message"].startswith("--fail-on missed,failed: 9 missed, 1 failed; 30 days: 124 scheduled slots")
    clean = history(cli, month, "--json", "--fail-on", "missed", "--job", "quota-monthly")
    assert clean.code == 0 and clean.json()["outcome"] == "skipped"
    cancelled = history(cli, month, "--fail-on", "cancelled", "--job", "stale-cleanup")
    assert cancelled.code == 1 and "--fail-on cancelled: 1 cancelled" in cancelled.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["--fail-on", "missed,late"], "--fail-on 'missed,late': late is not a slot state it can fail on"),
    (["--fail-on", ","], "is not a slot state it can fail on"),
    (["--job", "nope"], "unknown job 'nope'"),
])
def test_bad_input_is_refused_in_one_line(cli: Cli, gcp: GcpEnv, args: list[str], message: str) -> None:
    result = history(cli, gcp, *args)
    assert result.code == 2
    assert message in result.stdout and "outcome: refused" in result.stdout
    assert gcp.run.requests == [] and gcp.sched.requests == []


@pytest.mark.parametrize("days", ["0", "401", "x"])
def test_days_out_of_range(cli: Cli, gcp: GcpEnv, days: str) -> None:
    result = history(cli, gcp, "--days", days)
    assert result.code == 2 and "--days" in result.stderr
    assert gcp.run.requests == []


def test_an_env_with_nothing_provisioned(cli: Cli, gcp: GcpEnv) -> None:
    deploy(cli, gcp)  # stage only; test shares the project, so its names are simply absent
    doc = cli("history", "--env", "test", "--json", "--days", "3", env=gcp.env).json()
    assert doc["outcome"] == "skipped"
    assert {s["state"] for s in doc["details"]["slots"]} == {"missed", "upcoming"}  # upcoming: later today
    assert {s["reason"] for s in doc["details"]["slots"]} == {"Cloud Run job not provisioned"}
    assert {r["trigger_state"] for r in doc["details"]["rows"] if r["trigger"]} == {"MISSING"}


def test_unreadable_trigger_states_are_a_warning(cli: Cli, month: GcpEnv) -> None:
    month.sched.fail_next("PERMISSION_DENIED", method="GET", message="cloudscheduler.jobs.list denied")
    result = history(cli, month, "--json", "--job", "stale-cleanup")
    assert result.code == 0
    doc = result.json()
    assert doc["details"]["rows"][0]["trigger_state"] == "UNKNOWN"
    missed = [s for s in doc["details"]["slots"] if s["state"] == "missed"]
    assert len(missed) == 7 and {s["reason"] for s in missed} == {""}  # no longer known to be paused
    warning = [r for r in result.log_records() if r.get("event") == "history_triggers_unread"]
    assert warning and "cloudscheduler.jobs.list denied" in warning[0]["message"]


def test_permission_denied_on_executions_is_refused(cli: Cli, month: GcpEnv) -> None:
    month.run.fail_next("PERMISSION_DENIED", method="GET", message="Permission 'run.executions.list' denied")
    result = history(cli, month, "--job", "alerts")
    assert result.code == 2
    assert "permission denied on Cloud Run job" in result.stdout and "run.executions.list" in result.stdout


def test_transient_errors_are_retried(cli: Cli, month: GcpEnv) -> None:
    month.run.fail_next("UNAVAILABLE", method="GET", path_contains="/executions", times=2)
    result = history(cli, month, "--json", "--job", "alerts")
    assert result.code == 0 and result.json()["counts"]["failed"] == 1
    assert len(result.sleeps) == 2


# --- the terminal grid and plain text ---------------------------------------------------------------
def test_terminal_grid_has_a_glyph_and_a_colour_per_state(cli: Cli, month: GcpEnv) -> None:
    # A colour terminal wide enough for the 30 days side by side (test_the_grid_fits_an_80_column_terminal: blocks).
    result = history(cli, month, tty=True, env={**COLOUR_TERMINAL, "COLUMNS": "200"})
    assert result.code == 0
    out = result.stdout
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    lines = plain.splitlines()
    head = lines.index(next(line for line in lines if line.strip().startswith("Oct")))
    days = lines[head + 1].split()
    assert days[0] == "26" and days[6] == "01" and days[-1] == "24" and len(days) == 30
    grid = {line[:22].strip(): line[23:] for line in lines[head + 2:head + 13]}
    reset = grid["quota-reset"].split()
    assert reset[8] == "○" and reset[10] == "✓" and reset.count("○") == 2  # 11-03, 11-10
    assert grid["alerts"].split()[23] == "✗"
    stale = grid["stale-cleanup"].split()[:30]
    assert stale[13] == "⊘" and stale[-7:] == ["○"] * 7
    assert grid["stale-cleanup"].endswith("(trigger paused)")
    assert grid["quota-cleanup"].split()[-1] == "▸"
    assert grid["reminder utilities"].split()[5] == "✓"  # 10:00 on 1 Nov in Sydney is 31 Oct in UTC
    assert grid["bootstrap"].split()[20] == "✓" and grid["migrate"].split()[20] == "✗"
    # The same cells in colour: green ✓, red ✗, yellow ⊘, magenta ○, cyan ▸.
    for glyph, colour in (("✓", "32"), ("✗", "31"), ("⊘", "33"), ("○", "35"), ("▸", "36")):
        assert f"\x1b[{colour}m{glyph}\x1b[0m" in out
    assert "missed, failed and cancelled slots (11):" in plain
    assert re.search(r"2026-11-18 08:00 UTC\s+alerts\s+period 2026-11-18\s+failed\s+housejobs-alerts-stage-", plain)
    assert re.search(r"2026-11-24 02:00 UTC\s+stale-cleanup\s+period 2026-11-24\s+missed \(trigger paused\)", plain)
    assert "backfill: housejobs backfill quota-reset --env stage --missed" in plain
    assert "manual runs (4):" in plain


@pytest.mark.parametrize("colours", [{"TERM": "xterm-256color"}, {"NO_COLOR": "1"}], ids=["colour", "no-colour"])
def test_the_grid_fits_an_80_column_terminal(cli: Cli, month: GcpEnv, colours: dict[str, str]) -> None:
    result = cli("history", "--env", "stage", tty=True, env={**month.env, "COLUMNS": "80", **colours})
    assert result.code == 0
    lines = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in result.stdout.splitlines()]
    # Every line fits, but a log link: whole on a line of its own, so it still opens.
    wide = [line for line in lines if len(line) > 80]
    assert wide and all(line.strip().startswith("https://") and " " not in line.strip() for line in wide), wide
    # The 30 days come in blocks that fit beside the labels and the notes, each under its day numbers.
    days = [line.split() for line in lines if line[:1] == " " and line.split() and
            all(d.isdigit() and len(d) == 2 for d in line.split())]
    assert len(days) > 1 and sum(len(d) for d in days) == 30 and days[0][0] == "26" and days[-1][-1] == "24"
    stale = [line for line in lines if line.startswith("stale-cleanup ")]
    assert len(stale) == len(days) and stale[-1].endswith("(trigger paused)")  # beside today's block


def test_off_a_terminal_the_same_as_plain_text(cli: Cli, month: GcpEnv) -> None:
    result = history(cli, month)
    assert result.code == 0
    assert "\x1b[" not in result.stdout
    assert "quota-reset            ✓  ✓  ✓  ✓  ✓  ✓  ✓  ✓  ○  ✓" in result.stdout
    assert result.stdout.splitlines()[0].startswith("history · target: Cloud Run + Scheduler cloudact-testing-1/")
    assert all(line.startswith("{") for line in result.stderr.splitlines())  # logs stay JSON lines


# --- issue 21: dry runs, upcoming slots, hints, refusals, the grid's notes ------------------------------
def test_a_dry_run_fills_no_slot_and_no_period(cli: Cli, month: GcpEnv) -> None:
    """A `--dry-run` execution (smoke's) changed nothing: it is a manual dry run, never the slot's run."""
    seed(month, "quota-reset", at(3, 0, 0, 30), args=["quota-reset", "--dry-run"])   # inside 11-03's window
    seed(month, "quota-reset", at(3, 12), args=["quota-reset", "--date=2026-11-03", "--dry-run"])
    seed(month, "migrate", at(16, 9), args=["migrate", "--dry-run"])
    doc = history(cli, month, "--json").json()
    assert slots(doc, "quota-reset")[iso(at(3))]["state"] == "missed"
    runs = [r for r in doc["details"]["manual_runs"] if r["dry_run"]]
    assert [(r["row"], r["period"], r["execution"]["created"][:16]) for r in runs] == [
        ("quota-reset", "2026-11-03", "2026-11-03T00:00"), ("quota-reset", "2026-11-03", "2026-11-03T12:00"),
        ("migrate", None, "2026-11-16T09:00")]
    assert doc["counts"]["dry_runs"] == 3 and doc["counts"]["manual_runs"] == 7
    text = history(cli, month).stdout
    assert re.search(r"2026-11-03 12:00 UTC\s+quota-reset\s+period 2026-11-03\s+succeeded\s+dry run · ", text)
    # A manual job's grid cell shows what ran, and a dry run did not: 11-16 stays empty for migrate.
    migrate = next(line for line in text.splitlines() if line.startswith("migrate "))
    assert migrate.split()[1:][21] == "·"


def test_slots_due_later_today_are_upcoming(cli: Cli, month: GcpEnv, tmp_path: Path) -> None:
    # 10:00 UTC on 11-24: rent-warning's 09:00 Sydney on 11-25 is 22:00 UTC today.
    result = history(cli, month, "--json", "--html", "h.html")
    doc = result.json()
    due = slots(doc, "reminder rent-warning")["2026-11-24T22:00:00Z"]
    assert (due["state"], due["period"], due["execution"]) == ("upcoming", "2026-11", None)
    assert doc["counts"]["upcoming"] == 1 and doc["counts"]["missed"] == 9
    assert "1 upcoming" in doc["message"]
    grid = {line[:22].strip(): line[23:] for line in history(cli, month).stdout.splitlines()}
    assert grid["reminder rent-warning"].split()[-1] == "◇"
    assert "◇ upcoming" in history(cli, month).stdout
    page = (tmp_path / "h.html").read_text()
    assert 'data-row="reminder rent-warning" data-day="2026-11-24" data-state="upcoming"' in page


def test_the_printed_backfill_hint_reproduces_the_window(cli: Cli, month: GcpEnv) -> None:
    """History over 40 days sees quota-reset missed on 10-16..10-25 as well: the hint must find them too."""
    text = history(cli, month, "--days", "40", "--job", "quota-reset").stdout
    (hint,) = [line.strip() for line in text.splitlines() if line.strip().startswith("backfill: ")]
    assert hint == "backfill: housejobs backfill quota-reset --env stage --missed --days 40"
    argv = shlex.split(hint.removeprefix("backfill: "))[1:]
    planned = cli(*argv, "--dry-run", "--json", env=month.env).json()
    missed = sorted({s["period"] for s in history(cli, month, "--days", "40", "--job", "quota-reset", "--json")
                     .json()["details"]["slots"] if s["state"] == "missed" and s["period"] != "2026-11-10"})
    assert [p["period"] for p in planned["details"]["periods"]] == missed
    assert missed[:2] == ["2026-10-16", "2026-10-17"] and missed[-1] == "2026-11-03"


def test_an_empty_fail_on_is_refused(cli: Cli, gcp: GcpEnv) -> None:
    result = history(cli, gcp, "--fail-on", "")
    assert result.code == 2 and "outcome: refused" in result.stdout
    assert "--fail-on '': nothing is not a slot state it can fail on" in result.stdout
    assert gcp.run.requests == []


def test_a_row_note_is_printed_once_however_the_grid_wraps(cli: Cli, month: GcpEnv) -> None:
    lines = history(cli, month, "--days", "45", "--job", "stale-cleanup").stdout.splitlines()
    rows = [line for line in lines if line.startswith("stale-cleanup ")]
    assert len(rows) == 2  # 45 days: two blocks of the grid
    assert [row.endswith("(trigger paused)") for row in rows] == [False, True]  # the block with today


def test_scheduled_times_are_utc_first_with_the_local_time_beside(cli: Cli, gcp: GcpEnv, tmp_path: Path) -> None:
    """The grid's columns are UTC dates, so every time shown says UTC; a trigger in another zone adds its
    wall-clock time (the reminder's 09:00 on 1 Nov in Sydney sits in the 31 Oct column)."""
    deploy(cli, gcp)
    result = history(cli, gcp, "--job", "reminder", "--days", "30", "--html", "h.html")
    assert re.search(r"2026-10-31 22:00 UTC \(2026-11-01 09:00 AEDT\)\s+reminder rent-due\s+period 2026-11\s+missed",
                     result.stdout)
    page = (tmp_path / "h.html").read_text()
    cell = page.split('data-row="reminder rent-due" data-day="2026-10-31"', 1)[1].split("</g>", 1)[0]
    assert "scheduled 2026-10-31 22:00 UTC (2026-11-01 09:00 AEDT)" in cell


def test_a_long_window_wraps_the_html_heatmap_with_its_labels(cli: Cli, month: GcpEnv, tmp_path: Path) -> None:
    assert history(cli, month, "--days", "79", "--html", "h.html").code == 0
    page = (tmp_path / "h.html").read_text()
    blocks = re.findall(r'<svg class="heatmap"[^>]* width="(\d+)"', page)
    assert len(blocks) == 3 and max(int(w) for w in blocks) <= 1100  # 31 + 31 + 17 days, never 2,300 px
    for block in page.split('<svg class="heatmap"')[1:]:
        assert ">quota-reset<" in block and ">org-sync-all<" in block  # every block has its row labels
    assert len(re.findall(r'<g class="cell"', page)) == 11 * 79


def test_a_failing_report_on_an_env_does_not_notify_the_embedded_sandbox(cli: Cli, month: GcpEnv) -> None:
    """`history --env stage --fail-on missed` fails; with no sink configured it notifies nobody. It used to
    start the embedded sandbox and file a job_failed event in its inbox (issue 21, finding 10)."""
    result = history(cli, month, "--fail-on", "missed", "--json")
    assert result.code == 1
    assert "embedded sandbox" not in result.stderr
    assert not any("notification" in r["message"] for r in result.log_records())
