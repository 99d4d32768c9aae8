"""migrate stops cleanly: a signal takes no new migration, and an API failure after some migrations says
what was applied (auth lost mid-run is `partial`, never `refused`). Found by the fault matrix."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from housejobs.errors import ApiAuthError
from housejobs.migrations.files import Migration, load_dir
from housejobs.migrations.ledger import ledger_query
from housejobs.migrations.run import ApplyStopped, run_migrations
from tests.fakes.supabase import FakeSupabaseApi
from tests.support.cli import Cli
from tests.support.sentinels import SENTINELS

FILES = {
    "20260101000000_a.sql": "create table public.a (id int);\n",
    "20260102000000_b.sql": "create table public.b (id int);\n",
    "20260103000000_c.sql": "create table public.c (id int);\n",
}


def local(tmp_path: Path) -> tuple[list[Migration], Path]:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for name, sql in FILES.items():
        (folder / name).write_text(sql)
    migrations, _ = load_dir(folder)
    return migrations, folder


class Database:
    """The injected query function over an in-memory ledger: enough for the orchestration."""

    def __init__(self, migrations: list[Migration], fail_on: str | None = None,
                 error: Exception | None = None) -> None:
        self.known = {m.version: m for m in migrations}
        self.ledger: list[str] = []
        self.fail_on, self.error = fail_on, error

    async def __call__(self, sql: str) -> list[dict[str, object]]:
        if sql == ledger_query():
            return [{"version": v, "name": self.known[v].name, "statements": list(self.known[v].statements)}
                    for v in self.ledger]
        insert = INSERT.search(sql)
        if insert:
            version = insert.group(2)
            if version == self.fail_on and self.error is not None:
                raise self.error
            self.ledger.append(version)
        return []


INSERT = re.compile(r"INSERT INTO supabase_migrations\.schema_migrations .*?VALUES \((\$\w+\$)(\d+)\1")


def test_stop_takes_no_new_migration(tmp_path: Path) -> None:
    migrations, _ = local(tmp_path)
    db = Database(migrations)
    result = asyncio.run(run_migrations(db, migrations, stop=lambda: len(db.ledger) >= 1))
    assert result.stopped and result.outcome == "interrupted"
    assert result.applied == ("20260101000000",) and db.ledger == ["20260101000000"]


def test_other_errors_while_applying_say_what_was_applied(tmp_path: Path) -> None:
    migrations, _ = local(tmp_path)
    lost = ApiAuthError("POST /v1/projects/x/database/query: 401", status=401)
    db = Database(migrations, fail_on="20260102000000", error=lost)
    with pytest.raises(ApplyStopped) as caught:
        asyncio.run(run_migrations(db, migrations))
    assert caught.value.version == "20260102000000" and caught.value.applied == ("20260101000000",)
    assert caught.value.__cause__ is lost


@pytest.mark.parametrize(("status", "code", "outcome"), [(401, 3, "partial"), (403, 3, "partial")])
def test_auth_lost_after_a_migration_is_partial(cli: Cli, pg_db: str, tmp_path: Path, status: int, code: int,
                                                outcome: str) -> None:
    _, folder = local(tmp_path)
    with FakeSupabaseApi(pg_db, token=SENTINELS["SUPABASE_ACCESS_TOKEN"]) as api:
        api.fault(match="create table public.b", statuses=[status])
        env = {"HOUSEJOBS_SUPABASE_API_URL": api.url, "HOUSEJOBS_SUPABASE_PROJECT_REF": api.ref}
        result = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=env)
    doc = result.json()
    assert result.code == code and doc["outcome"] == outcome, result.stdout
    assert "applied before it: 20260101000000" in doc["message"] and "SUPABASE_ACCESS_TOKEN" in doc["message"]
    assert doc["details"]["failed"] == "20260102000000"


def test_auth_refused_before_any_migration_is_still_refused(cli: Cli, pg_db: str, tmp_path: Path) -> None:
    _, folder = local(tmp_path)
    with FakeSupabaseApi(pg_db, token=SENTINELS["SUPABASE_ACCESS_TOKEN"]) as api:
        api.fault(match="create table public.a", statuses=[401])  # the ledger setup went through
        env = {"HOUSEJOBS_SUPABASE_API_URL": api.url, "HOUSEJOBS_SUPABASE_PROJECT_REF": api.ref}
        result = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=env)
    assert result.code == 2 and result.json()["outcome"] == "refused"
