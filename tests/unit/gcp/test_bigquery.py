"""The BigQuery adapter, run by the real google-cloud-bigquery client against bqemulator (DuckDB)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING

import pytest

from housejobs.gcp.bigquery import (
    BigQueryError,
    TableRef,
    count_older_than,
    delete_older_than,
    make_client,
    parse_table,
    validate_column,
)
from tests.fakes.server import LocalServer, QuietHandler

if TYPE_CHECKING:
    from google.cloud.bigquery import Client

    from tests.support.bq_fixtures import QuotaTable

NOW = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
CUTOFF = NOW - timedelta(days=90)
AGES = [timedelta(days=d) for d in (1, 30, 89, 91, 120, 400)]
KEPT = sorted(NOW - age for age in AGES[:3])
TIMEOUT = 30.0


# --- against the emulator (marked `emulator` by tests.support.bq_fixtures) ----------------------------------


def test_delete_removes_exactly_the_rows_past_retention(bq_client: Client, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)

    report = delete_older_than(bq_client, bq_table.ref, "recorded_at", CUTOFF, TIMEOUT)

    assert report.rows == 3
    assert not report.dry_run
    assert report.job_id
    assert report.table == bq_table.ref
    assert report.cutoff == CUTOFF
    assert bq_table.recorded_at() == KEPT


def test_a_second_delete_finds_nothing(bq_client: Client, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)
    delete_older_than(bq_client, bq_table.ref, "recorded_at", CUTOFF, TIMEOUT)

    again = delete_older_than(bq_client, bq_table.ref, "recorded_at", CUTOFF, TIMEOUT)

    assert again.rows == 0
    assert bq_table.recorded_at() == KEPT


def test_count_reports_and_changes_nothing(bq_client: Client, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)

    report = count_older_than(bq_client, bq_table.ref, "recorded_at", CUTOFF, TIMEOUT)

    assert report.rows == 3
    assert report.dry_run
    assert len(bq_table.recorded_at()) == len(AGES)


def test_a_row_exactly_at_the_cutoff_is_kept(bq_client: Client, bq_table: QuotaTable) -> None:
    # "older than 90 days" is strict: a row recorded at the cutoff instant stays.
    bq_table.insert_at_ages(NOW, [timedelta(days=90), timedelta(days=90, microseconds=1)])

    report = delete_older_than(bq_client, bq_table.ref, "recorded_at", CUTOFF, TIMEOUT)

    assert report.rows == 1
    assert bq_table.recorded_at() == [CUTOFF]


def test_a_cutoff_in_another_zone_means_the_same_instant(bq_client: Client, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)
    tokyo = CUTOFF.astimezone(timezone(timedelta(hours=9)))

    report = delete_older_than(bq_client, bq_table.ref, "recorded_at", tokyo, TIMEOUT)

    assert report.rows == 3
    assert report.cutoff == CUTOFF
    assert report.cutoff.tzinfo is UTC


def test_an_empty_table_counts_and_deletes_zero(bq_client: Client, bq_table: QuotaTable) -> None:
    assert count_older_than(bq_client, bq_table.ref, "recorded_at", CUTOFF, TIMEOUT).rows == 0
    assert delete_older_than(bq_client, bq_table.ref, "recorded_at", CUTOFF, TIMEOUT).rows == 0


@pytest.mark.parametrize("missing", ["table", "dataset"])
def test_a_missing_table_is_not_found_and_named(bq_client: Client, bq_table: QuotaTable, missing: str) -> None:
    ref = bq_table.ref
    absent = (
        TableRef(ref.project, ref.dataset, "no_such_table")
        if missing == "table"
        else TableRef(ref.project, "no_such_dataset", ref.table)
    )

    for operation in (count_older_than, delete_older_than):
        with pytest.raises(BigQueryError) as info:
            operation(bq_client, absent, "recorded_at", CUTOFF, TIMEOUT)
        assert info.value.kind == "not_found"
        assert f"table {absent} not found" in info.value.message
        assert "\n" not in info.value.message


def test_a_missing_column_is_invalid_and_deletes_nothing(bq_client: Client, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, AGES)

    with pytest.raises(BigQueryError) as info:
        delete_older_than(bq_client, bq_table.ref, "created_at", CUTOFF, TIMEOUT)

    assert info.value.kind == "invalid"
    assert str(bq_table.ref) in info.value.message
    assert "created_at" in info.value.message
    assert len(bq_table.recorded_at()) == len(AGES)


def test_a_column_that_is_not_a_timestamp_is_invalid(bq_client: Client, bq_table: QuotaTable) -> None:
    with pytest.raises(BigQueryError) as info:
        count_older_than(bq_client, bq_table.ref, "used", CUTOFF, TIMEOUT)

    assert info.value.kind == "invalid"
    assert "TIMESTAMP" in info.value.message


# --- error mapping over the wire: a server that answers every call with one Google error -------------


class _ErrorServer(LocalServer):
    status = 500
    reason = "backendError"
    requests = 0


class _ErrorHandler(QuietHandler):
    server: _ErrorServer

    def do_GET(self) -> None:
        self.server.requests += 1
        body = json.dumps(
            {
                "error": {
                    "code": self.server.status,
                    "message": f"{self.server.reason}: nope",
                    "errors": [{"reason": self.server.reason, "message": "nope"}],
                }
            }
        )
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_POST = do_GET


@pytest.fixture
def error_server() -> Iterator[_ErrorServer]:
    with _ErrorServer(_ErrorHandler) as server:
        yield server


@pytest.mark.parametrize(
    ("status", "reason", "kind", "retried"),
    [
        (400, "invalidQuery", "invalid", False),
        (401, "unauthorized", "permission", False),
        (403, "accessDenied", "permission", False),
        (403, "rateLimitExceeded", "transient", True),
        (404, "notFound", "not_found", False),
        (503, "backendError", "transient", True),
    ],
)
def test_google_errors_map_to_kinds(
    error_server: _ErrorServer, status: int, reason: str, kind: str, retried: bool
) -> None:
    error_server.status, error_server.reason = status, reason
    client = make_client("test-project", f"http://127.0.0.1:{error_server.server_address[1]}")
    ref = parse_table("test-project.ds.quota")

    with pytest.raises(BigQueryError) as info:
        # The client's first backoff is at most 1 s (full jitter), so 1.5 s always allows a retry.
        delete_older_than(client, ref, "recorded_at", CUTOFF, timeout=1.5)

    assert info.value.kind == kind
    assert str(ref) in info.value.message
    assert "\n" not in info.value.message
    # Only what may pass with time is retried, and never past the deadline.
    assert (error_server.requests > 1) == retried


def test_an_unreachable_endpoint_is_transient_within_the_deadline() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client("test-project", f"http://127.0.0.1:{port}")

    started = time.monotonic()
    with pytest.raises(BigQueryError) as info:
        count_older_than(client, parse_table("test-project.ds.quota"), "recorded_at", CUTOFF, timeout=1.0)

    assert info.value.kind == "transient"
    assert time.monotonic() - started < 3.0


# --- input validation (no emulator needed) ----------------------------------------------------------


def test_parse_table_splits_a_valid_path() -> None:
    assert parse_table("cloudact-prod.quota_ds.daily_usage") == TableRef("cloudact-prod", "quota_ds", "daily_usage")
    # BigQuery allows Unicode letters, dashes and inner spaces in table names.
    assert parse_table("my-project-1.Quota_2024.quota usage-ñ").table == "quota usage-ñ"
    assert parse_table("cloudact-prod.d.t").sql == "`cloudact-prod.d.t`"


@pytest.mark.parametrize(
    "value",
    [
        "",
        "proj-123.ds",
        "proj-123.ds.t.extra",
        ".ds.t",
        "proj-123..t",
        "proj-123.ds.",
        "proj-123.ds.t`; DROP TABLE x; --",
        "proj-123.ds.t`",
        "proj-123.ds.t;",
        "proj-123.ds.t\\x",
        "proj-123.ds.t\nx",
        "proj-123.ds.t'x",
        'proj-123.ds.t"x',
        "proj-123.ds.t*",
        "proj-123.ds. t",
        "proj-123.ds.t ",
        "proj-123.d s.t",
        "proj-123.ds-1.t",
        "proj-123.d`s.t",
        "proj 123.ds.t",
        "Proj-123.ds.t",
        "1proj-123.ds.t",
        "proj-.ds.t",
        "proj-123-.ds.t",
        "short.ds.t",
        "p" * 31 + ".ds.t",
        "example.com:proj-123.ds.t",
        "proj-123.ds." + "t" * 1025,
        "proj-123." + "d" * 1025 + ".t",
    ],
)
def test_parse_table_rejects(value: str) -> None:
    with pytest.raises(ValueError, match="table") as info:
        parse_table(value)
    assert "\n" not in str(info.value)


def test_a_table_ref_cannot_be_built_around_the_rules() -> None:
    with pytest.raises(ValueError, match="may not contain"):
        TableRef("test-project", "ds", "t` WHERE TRUE; --")


def test_errors_name_long_values_briefly() -> None:
    with pytest.raises(ValueError, match="longer than 1024") as info:
        parse_table("proj-123.ds." + "t" * 2000)
    assert len(str(info.value)) < 300


@pytest.mark.parametrize("name", ["recorded_at", "_ts", "A1", "x" * 300])
def test_validate_column_accepts(name: str) -> None:
    assert validate_column(name) == name


@pytest.mark.parametrize("name", ["", "1st", "recorded at", "recorded_at`", "a;b", "a-b", "a.b", "x" * 301, "é"])
def test_validate_column_rejects(name: str) -> None:
    with pytest.raises(ValueError, match="column"):
        validate_column(name)


@pytest.mark.parametrize(
    ("cutoff", "timeout", "match"),
    [
        (datetime(2026, 8, 26), TIMEOUT, "timezone-aware"),
        (CUTOFF, 0.0, "timeout"),
        (CUTOFF, float("nan"), "timeout"),
    ],
)
def test_bad_arguments_are_refused_before_any_call(cutoff: datetime, timeout: float, match: str) -> None:
    # No client is needed: arguments are checked before anything touches one.
    client: Client = None  # type: ignore[assignment]
    ref = parse_table("test-project.ds.t")
    with pytest.raises(ValueError, match=match):
        delete_older_than(client, ref, "recorded_at", cutoff, timeout)
    with pytest.raises(ValueError, match=match):
        count_older_than(client, ref, "recorded_at", cutoff, timeout)
