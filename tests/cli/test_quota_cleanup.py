"""quota-cleanup end to end: the real CLI and google-cloud-bigquery client against bqemulator."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.cli import Cli
from tests.support.clock import NOW

if TYPE_CHECKING:
    from tests.fakes.bqemulator import BqEmulator
    from tests.support.bq_fixtures import QuotaTable

AGES = [timedelta(days=d) for d in (1, 30, 89, 91, 120, 400)]


def env_for(emulator: BqEmulator, table: QuotaTable) -> dict[str, str]:
    return {"HOUSEJOBS_BIGQUERY_API_ENDPOINT": emulator.endpoint, "HOUSEJOBS_QUOTA_TABLE": table.name,
            "HOUSEJOBS_QUOTA_TIMESTAMP_COLUMN": "recorded_at"}


def test_default_retention_deletes_rows_past_90_days(cli: Cli, bq_emulator: BqEmulator,
                                                     bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)
    result = cli("quota-cleanup", "--json", env=env_for(bq_emulator, bq_table))
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["outcome"] == "applied" and doc["counts"]["rows"] == 3
    assert doc["details"]["job_id"] and doc["details"]["location"]
    left = sorted(round((NOW - ts).total_seconds() / 86400) for ts in bq_table.recorded_at())
    assert left == [1, 30, 89]
    again = cli("quota-cleanup", "--json", env=env_for(bq_emulator, bq_table)).json()
    assert again["outcome"] == "skipped" and again["counts"]["rows"] == 0


def test_days_30_on_a_fresh_table(cli: Cli, bq_emulator: BqEmulator, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)
    doc = cli("quota-cleanup", "--days", "30", "--json", env=env_for(bq_emulator, bq_table)).json()
    assert doc["counts"]["rows"] == 4  # 89, 91, 120, 400; the 30-day row sits exactly at the cutoff
    assert len(bq_table.recorded_at()) == 2


def test_dry_run_counts_and_deletes_nothing(cli: Cli, bq_emulator: BqEmulator, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)
    result = cli("quota-cleanup", "--dry-run", "--json", env=env_for(bq_emulator, bq_table))
    doc = result.json()
    assert result.code == 0 and doc["outcome"] == "dry-run" and doc["counts"]["rows"] == 3
    assert len(bq_table.recorded_at()) == 6


def test_missing_table_exit_2_naming_it(cli: Cli, bq_emulator: BqEmulator, bq_table: QuotaTable) -> None:
    env = env_for(bq_emulator, bq_table)
    env["HOUSEJOBS_QUOTA_TABLE"] = bq_table.name + "_missing"
    result = cli("quota-cleanup", env=env)
    assert result.code == 2 and bq_table.name + "_missing" in result.stdout


@pytest.mark.parametrize(("argv", "text"), [
    (("--days", "3"), "below the 7-day safety floor"),
    (("--days", "0"), "must be at least 1"),
])
def test_short_retention_refused(cli: Cli, argv: tuple[str, ...], text: str) -> None:
    result = cli("quota-cleanup", *argv, env={"HOUSEJOBS_QUOTA_TABLE": "p-roject.d.t"})
    assert result.code == 2 and text in result.stdout


def test_hostile_table_name_refused_before_any_call(cli: Cli) -> None:
    result = cli("quota-cleanup", env={"HOUSEJOBS_QUOTA_TABLE": "proj.ds.t`; DROP TABLE x; --"})
    assert result.code == 2 and "table" in result.stdout


def test_no_table_configured(cli: Cli) -> None:
    result = cli("quota-cleanup")
    assert result.code == 2 and "quota_table is not set" in result.stdout


# --- signals: a DELETE stuck in BigQuery's retries must not keep a stopped run alive ---------------------------
@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(15, 143), (2, 130)], ids=["sigterm", "sigint"])
def test_a_signal_stops_quota_cleanup_within_the_grace(tmp_path: Path, signum: int, code: int) -> None:
    """BigQuery answering 502 keeps the client library retrying for up to HOUSEJOBS_BIGQUERY_TIMEOUT; a
    SIGTERM used to be logged and then ignored for as long (the worker thread held the process)."""
    import json
    import signal
    import time

    from housejobs.runner import GRACE_S
    from tests.fakes.server import LocalServer, QuietHandler
    from tests.support.process import spawn_cli
    from tests.support.waiting import wait_until

    hits: list[str] = []

    class Failing(QuietHandler):
        def _fail(self) -> None:
            hits.append(self.path)
            body = b'{"error": {"code": 502, "message": "bad gateway", "status": "UNAVAILABLE"}}'
            self.send_response(502)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _fail

    server = LocalServer(Failing).start()
    try:
        env = {"HOUSEJOBS_STATE_DIR": str(tmp_path / "state"), "HOUSEJOBS_BIGQUERY_API_ENDPOINT": server.url,
               "HOUSEJOBS_QUOTA_TABLE": "proj-a.dataset.quota"}
        proc = spawn_cli(["quota-cleanup", "--json"], extra_env=env)
        # A second request is the client library retrying: the run is inside its retry loop now.
        wait_until(lambda: len(hits) >= 2, "BigQuery to be called again (a retry)", timeout=60, proc=proc)
        sent = time.monotonic()
        proc.send_signal(signal.Signals(signum))
        out, err = proc.communicate(timeout=GRACE_S + 20)
        took = time.monotonic() - sent
    finally:
        server.stop()
    assert proc.returncode == code, err[-2000:]
    assert took < GRACE_S + 5, took
    assert "Traceback" not in out + err
    summary = json.loads(err.strip().splitlines()[-1])
    assert summary["event"] == "run_summary" and summary["outcome"] == "interrupted"
    assert json.loads(out)["outcome"] == "interrupted"
