"""Pytest plugin: a real BigQuery engine (bqemulator) for tests.

Register it from the main conftest (`pytest_plugins = ["tests.support.bq_fixtures"]`) or with
`python -m pytest -p tests.support.bq_fixtures` (plain `pytest -p` does not put the repo root on sys.path, so
`tests` would not import). Fixtures:

    bq_emulator   session: the running emulator (endpoint, project)
    bq_client     session: a real google-cloud-bigquery Client pointed at it
    bq_table      function: a fresh dataset + quota table, with helpers to insert rows by age

Tests that use them are marked `emulator` automatically. Without the emulator (scripts/dev/setup-emulators.sh
not run) they are skipped, unless HOUSEJOBS_REQUIRE_EMULATORS=1 (CI), where a missing emulator fails
them instead of hiding them.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from housejobs.gcp.bigquery import TableRef, make_client, parse_table
from tests.fakes.bqemulator import BqEmulator, find_executable, running_bqemulator

if TYPE_CHECKING:
    from google.cloud.bigquery import Client

REQUIRE_ENV = "HOUSEJOBS_REQUIRE_EMULATORS"
QUOTA_SCHEMA = (("org_slug", "STRING"), ("used", "INT64"), ("recorded_at", "TIMESTAMP"))
_BQ_FIXTURES = frozenset({"bq_emulator", "bq_client", "bq_table"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `-m "not emulator"` then skips every test that would start the emulator.
    for item in items:
        if _BQ_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.emulator)


@pytest.fixture(scope="session")
def bq_emulator() -> Iterator[BqEmulator]:
    executable = find_executable()
    if executable is None:
        message = "bqemulator not installed: run `bash scripts/dev/setup-emulators.sh`"
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{message} ({REQUIRE_ENV}=1)")
        pytest.skip(message)
    with running_bqemulator(executable) as emulator:
        yield emulator


@pytest.fixture(scope="session")
def bq_client(bq_emulator: BqEmulator) -> Iterator[Client]:
    client = make_client(bq_emulator.project, bq_emulator.endpoint)
    yield client
    client.close()  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class QuotaTable:
    """A quota table in the emulator, and the test-side ways to fill and read it."""

    client: Client
    ref: TableRef

    @property
    def name(self) -> str:
        return str(self.ref)

    def insert_at_ages(self, now: datetime, ages: Iterable[timedelta], org_slug: str = "acme") -> None:
        """Insert one row per age, recorded_at = now - age, used = its position.

        DML INSERT rather than insert_rows_json: on real BigQuery, streamed rows sit in a buffer that
        DELETE cannot touch for up to ~90 minutes, so a test written with streaming would not hold there.
        """
        from google.cloud import bigquery

        rows = [
            bigquery.StructQueryParameter(
                None,
                bigquery.ScalarQueryParameter("org_slug", "STRING", org_slug),
                bigquery.ScalarQueryParameter("used", "INT64", i),
                bigquery.ScalarQueryParameter("recorded_at", "TIMESTAMP", now - age),
            )
            for i, age in enumerate(ages)
        ]
        if not rows:
            return
        sql = (
            f"INSERT INTO `{self.ref}` (org_slug, used, recorded_at) "  # noqa: S608 - test-made names
            "SELECT r.org_slug, r.used, r.recorded_at FROM UNNEST(@rows) AS r"
        )
        config = bigquery.QueryJobConfig(query_parameters=[bigquery.ArrayQueryParameter("rows", "STRUCT", rows)])
        self.client.query(sql, job_config=config).result(timeout=30)

    def recorded_at(self) -> list[datetime]:
        """Every row's recorded_at, oldest first."""
        sql = f"SELECT recorded_at FROM `{self.ref}` ORDER BY recorded_at"  # noqa: S608 - test-made names
        return [row[0] for row in self.client.query(sql).result(timeout=30)]


@pytest.fixture
def bq_table(request: pytest.FixtureRequest, bq_client: Client, bq_emulator: BqEmulator) -> Iterator[QuotaTable]:
    """A fresh dataset and (org_slug STRING, used INT64, recorded_at TIMESTAMP) table per test. The dataset is
    named after the test (a hash of its id), so what a test prints about the table is the same every run
    (tests/golden); the emulator is this session's own, and the dataset is dropped after the test."""
    from google.cloud import bigquery

    dataset = f"{bq_emulator.project}.t_{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:12]}"
    bq_client.create_dataset(dataset)
    schema = [bigquery.SchemaField(name, kind) for name, kind in QUOTA_SCHEMA]
    table = bq_client.create_table(bigquery.Table(f"{dataset}.quota_usage", schema=schema))
    try:
        yield QuotaTable(bq_client, parse_table(f"{table.project}.{table.dataset_id}.{table.table_id}"))
    finally:
        bq_client.delete_dataset(dataset, delete_contents=True, not_found_ok=True)
