"""`history` gives each execution the job's own outcome, read in batches: ONE Cloud Logging query per job.

The test month of tests/support/history_world.py, each task of each execution logging its run_summary into
the Cloud Logging fake as it finishes (tests/support/cloud_run.log_summaries): `duplicate` for the runs of
2026-11-12, `applied` for the others, `failed` for a failed task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.support.cli import Cli
from tests.support.cloud_run import log_summaries
from tests.support.deploy_env import PROJECT, GcpEnv
from tests.support.history_world import at, deploy, iso, seed_month, slots


def _word(ex: dict[str, Any]) -> str:
    return "duplicate" if ex["createTime"].startswith("2026-11-12") else "applied"


def month_with_summaries(cli: Cli, gcp: GcpEnv) -> None:
    deploy(cli, gcp)
    log_summaries(gcp.run, _word)
    seed_month(cli, gcp)


def test_each_execution_has_the_jobs_own_outcome(cli: Cli, gcp: GcpEnv, tmp_path: Path) -> None:
    month_with_summaries(cli, gcp)
    result = cli("history", "--env", "stage", "--days", "30", "--json", env=gcp.env)
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    reset = slots(doc, "quota-reset")
    assert reset[iso(at(11))]["execution"]["outcome"] == "applied"
    assert reset[iso(at(12))]["execution"]["outcome"] == "duplicate"
    assert reset[iso(at(12))]["execution"]["summary"] == "quota-reset duplicate"
    assert slots(doc, "alerts")[iso(at(18, 8))]["execution"]["outcome"] == "failed"
    assert slots(doc, "stale-cleanup")[iso(at(8, 2))]["execution"]["outcome"] is None  # cancelled: no word
    assert slots(doc, "quota-cleanup")[iso(at(24, 1))]["execution"]["outcome"] is None  # still running
    manual = {r["execution"]["created"]: r["execution"]["outcome"] for r in doc["details"]["manual_runs"]}
    assert manual[iso(at(12, 14, 3))] == "duplicate" and manual[iso(at(15, 9, 30))] == "applied"

    # One query per job with executions in the window (org-sync-all has none): 8 for the whole catalog.
    calls = gcp.logs.list_calls()
    assert len(calls) == 8
    jobs = sorted(c.body["filter"].split('job_name="')[1].split('"')[0] for c in calls)
    assert len(set(jobs)) == 8 and all('jsonPayload.event="run_summary"' in c.body["filter"] for c in calls)

    # The grid draws a success that changed nothing apart from one that applied.
    grid = cli("history", "--env", "stage", "--job", "quota-reset", env={**gcp.env, "TERM": "dumb",
                                                                        "NO_COLOR": "1", "COLUMNS": "80"})
    row = next(line for line in grid.stdout.splitlines() if line.startswith("quota-reset "))
    cells = row[len("quota-reset "):].split()
    assert cells[6 + 12 - 1] == "=" and cells[6 + 11 - 1] == "✓"  # Nov 12 and Nov 11 (Oct 26-31 come first)
    assert "= succeeded, changed nothing (duplicate, skipped)" in grid.stdout
    page = tmp_path / "history.html"
    html = cli("history", "--env", "stage", "--html", str(page), env=gcp.env)
    assert html.code == 0 and "changed nothing" in page.read_text()


def test_unreadable_logs_leave_cloud_runs_word(cli: Cli, gcp: GcpEnv) -> None:
    month_with_summaries(cli, gcp)
    gcp.logs.deny(PROJECT)
    result = cli("history", "--env", "stage", "--json", env=gcp.env)
    assert result.code == 0
    assert all(s["execution"] is None or s["execution"]["outcome"] is None for s in result.json()["details"]["slots"])
    warning = next(r for r in result.log_records() if r.get("event") == "history_outcomes_unread")
    assert "roles/logging.viewer" in warning["message"]
