"""`housejobs history`: the real google-cloud-run and -scheduler clients (REST, anonymous) against the
fakes, over a month of seeded executions (tests/support/history_world.py). The engine underneath, without
any server, is tests/unit/jobs/test_slots.py.

The clock is the suite's FakeClock (2026-11-24 10:00 UTC); nothing reads the machine's date.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zlib
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
    assert doc["counts"] == {"slots": 123, "succeeded": 111, "failed": 1, "cancelled": 1, "running": 1,
                             "pending": 0, "missed": 9, "manual_runs": 4}
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
        assert sorted(got) == times, row
        assert {s["state"] for s in got.values()} == {"succeeded"}, row
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
    assert doc["message"].startswith("--fail-on missed,failed: 9 missed, 1 failed; 30 days: 123 scheduled slots")
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
    assert {s["state"] for s in doc["details"]["slots"]} == {"missed"}
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
    result = history(cli, month, tty=True, env=COLOUR_TERMINAL)
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


def test_off_a_terminal_the_same_as_plain_text(cli: Cli, month: GcpEnv) -> None:
    result = history(cli, month)
    assert result.code == 0
    assert "\x1b[" not in result.stdout
    assert "quota-reset            ✓  ✓  ✓  ✓  ✓  ✓  ✓  ✓  ○  ✓" in result.stdout
    assert result.stdout.splitlines()[0].startswith("history · target: Cloud Run + Scheduler cloudact-testing-1/")
    assert all(line.startswith("{") for line in result.stderr.splitlines())  # logs stay JSON lines


# --- the HTML page, in a real browser --------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def _chromium(tmp_path: Path, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    profile = tmp_path / "chromium-profile"
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                           "--no-first-run", "--disable-background-networking", "--disable-component-update",
                           "--disable-sync", f"--user-data-dir={profile}", *args, page.as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB(A) rows of an 8-bit PNG (the five PNG filters undone)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + size]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + size
    width, height = int.from_bytes(header[0:4], "big"), int.from_bytes(header[4:8], "big")
    depth, colour_type = header[8], header[9]
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    bpp = 3 if colour_type == 2 else 4
    raw, stride, rows = zlib.decompress(idat), width * bpp, []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up, corner = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line) if bpp == 3 else bytes(b for i, b in enumerate(line) if i % 4 != 3))
        previous = line
    return width, height, rows


def _count(rows: list[bytes], rgb: tuple[int, int, int]) -> int:
    needle = bytes(rgb)
    return sum(row[i:i + 3] == needle for row in rows for i in range(0, len(row), 3))


def test_the_html_page_renders_in_chromium(cli: Cli, month: GcpEnv, tmp_path: Path) -> None:
    if CHROMIUM is None:
        if os.environ.get("HOUSEJOBS_REQUIRE_BROWSER"):
            pytest.fail("HOUSEJOBS_REQUIRE_BROWSER is set but chromium is not installed")
        pytest.skip("chromium is not installed (apt-get install chromium); CI sets HOUSEJOBS_REQUIRE_BROWSER")
    page = tmp_path / "history.html"
    result = history(cli, month, "--html", "history.html", "--json")  # relative to the run's directory
    assert result.code == 0, result.stdout
    assert result.json()["details"]["html"] == str(page)
    source = page.read_text()
    # Self-contained: nothing to fetch, nothing to run.
    for banned in ("<script", "<link", "@import", "url(", " src=", "@font-face"):
        assert banned not in source.lower(), banned

    dom = _chromium(tmp_path, page, "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    cells = re.findall(r'<g class="cell" data-row="([^"]+)" data-day="([^"]+)" data-state="([^"]+)"', dom.stdout)
    assert len(cells) == 11 * 30  # 8 trigger rows and 3 manual jobs, 30 days
    state = {(row, day): s for row, day, s in cells}
    assert state[("quota-reset", "2026-11-03")] == "missed"
    assert state[("quota-reset", "2026-11-05")] == "succeeded"
    assert state[("alerts", "2026-11-18")] == "failed"
    assert state[("stale-cleanup", "2026-11-08")] == "cancelled"
    assert state[("stale-cleanup", "2026-11-24")] == "missed"
    assert state[("quota-cleanup", "2026-11-24")] == "running"
    assert state[("reminder rent-due", "2026-10-31")] == "succeeded"
    assert state[("bootstrap", "2026-11-15")] == "succeeded"
    assert state[("quota-monthly", "2026-11-02")] == "none"
    assert re.search(r"housejobs-alerts-stage-\w+ failed · 0/1 tasks · created 2026-11-18 08:00:04 UTC · "
                     r"ran 30\.0 s · .*logs: https://console\.cloud\.google\.com/", dom.stdout)
    assert 'href="https://console.cloud.google.com/logs/viewer?project=cloudact-testing-1' in dom.stdout
    assert 'stale-cleanup <tspan class="note">(trigger paused)</tspan>' in dom.stdout
    table = dom.stdout.split('<table class="problems">', 1)[1].split("</table>", 1)[0]
    problems = re.findall(r'<tr data-state="([a-z]+)">', table)
    assert sorted(problems) == ["cancelled", "failed"] + ["missed"] * 9

    shot = tmp_path / "history.png"
    done = _chromium(tmp_path, page, f"--screenshot={shot}", "--window-size=1400,900", "--hide-scrollbars")
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    width, height, rows = _png_pixels(shot)
    assert (width, height) == (1400, 900)
    assert shot.stat().st_size > 20_000  # a blank page compresses to a few hundred bytes
    # The heatmap is there: solid succeeded-green and missed-purple cells, in roughly the numbers drawn
    # (each cell is 22 x 22 px with rounded corners: ~450 px of solid fill).
    green, purple = _count(rows, (0x2E, 0x9E, 0x44)), _count(rows, (0x82, 0x50, 0xDF))
    assert green > 111 * 300 and 9 * 300 < purple < 12 * 500, (green, purple)
    assert len({row[i:i + 3] for row in rows[::7] for i in range(0, len(row), 21)}) > 10  # not one colour

