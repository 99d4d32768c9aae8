"""`housejobs migrate` end to end: the real CLI, over HTTP, to the Management API stand-in, on PostgreSQL."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path

import psycopg
import pytest

from tests.fakes.supabase import FakeSupabaseApi
from tests.support.cli import Cli
from tests.support.pg_fixtures import supabase_env

FILES = {
    "20260101000000_create_a.sql": "create table public.a (id int primary key);\n",
    "20260102000000_add_b.sql": "-- a comment\nalter table public.a add column b text;\n",
    "20260103000000_bad.sql": "alter table public.a add column c nonexistent_type;\n",
    "20260104000000_create_d.sql": "create table public.d (id int);\n",
    "20260105000000_create_e.sql": "create table public.e (id int);\n",
}


def write(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_text(FILES[name])
    return folder


@pytest.fixture
def api(supabase: FakeSupabaseApi) -> FakeSupabaseApi:
    return supabase


def ledger(db: str) -> list[str]:
    with psycopg.connect(db) as conn:
        return [r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations "
                                           "order by version")]


def tables(db: str) -> set[str]:
    with psycopg.connect(db) as conn:
        return {r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'public'")}


GOOD = ["20260101000000_create_a.sql", "20260102000000_add_b.sql"]


def test_apply_then_rerun_is_skipped(cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD)
    first = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api))
    assert first.code == 0, first.stdout + first.stderr
    assert first.json()["outcome"] == "applied" and first.json()["counts"]["applied"] == 2
    assert ledger(pg_db) == ["20260101000000", "20260102000000"]
    again = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api))
    assert again.code == 0 and again.json()["outcome"] == "skipped"
    status = cli("migrate", "status", "--env", "test", "--dir", str(folder), env=supabase_env(api))
    assert status.code == 0 and status.stdout.count("applied") >= 2


def test_status_on_a_terminal_shows_every_migration(cli: Cli, api: FakeSupabaseApi, tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD)
    assert cli("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api)).code == 0
    write(tmp_path, ["20260104000000_create_d.sql"])
    expected = [("20260101000000", "create_a", "applied"), ("20260102000000", "add_b", "applied"),
                ("20260104000000", "create_d", "pending")]
    status = cli("migrate", "status", "--env", "test", "--dir", str(folder), env=supabase_env(api), tty=True)
    assert status.code == 0, status.stdout + status.stderr
    lines = [line.split() for line in status.stdout.splitlines()]
    assert ["VERSION", "NAME", "STATUS"] in lines
    for row in expected:
        assert list(row) in lines, status.stdout
    # Scripts read the same rows from --json, in the shape they always had.
    doc = cli("migrate", "status", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api)).json()
    assert doc["details"]["migrations"] == [{"version": v, "name": n, "status": s} for v, n, s in expected]
    assert doc["counts"] == {"applied": 2, "pending": 1}
    # A refusal still names its migration on the terminal, beside the table.
    (folder / GOOD[1]).unlink()
    refused = cli("migrate", "status", "--env", "test", "--dir", str(folder), env=supabase_env(api), tty=True)
    assert refused.code == 2
    assert ["20260102000000", "add_b", "missing"] in [line.split() for line in refused.stdout.splitlines()]
    assert "in the history but no local file" in refused.stdout


def test_third_of_five_fails_leaves_no_trace(cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    folder = write(tmp_path, list(FILES))
    result = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api))
    assert result.code == 1
    doc = result.json()
    assert "20260103000000" in doc["message"] and "nonexistent_type" in doc["message"]
    assert ledger(pg_db) == ["20260101000000", "20260102000000"]
    assert tables(pg_db) == {"a"}


def test_edited_applied_file_refused(cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD)
    assert cli("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api)).code == 0
    (folder / GOOD[1]).write_text("alter table public.a add column b integer;\n")
    (folder / "20260104000000_create_d.sql").write_text(FILES["20260104000000_create_d.sql"])
    result = cli("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api))
    assert result.code == 2 and "20260102000000" in result.stdout
    assert ledger(pg_db) == ["20260101000000", "20260102000000"] and "d" not in tables(pg_db)


def test_out_of_order_refused_then_include_all(cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    folder = write(tmp_path, ["20260101000000_create_a.sql", "20260104000000_create_d.sql"])
    assert cli("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api)).code == 0
    write(tmp_path, ["20260102000000_add_b.sql"])
    refused = cli("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api))
    assert refused.code == 2 and "20260102000000" in refused.stdout
    ok = cli("migrate", "--env", "test", "--dir", str(folder), "--include-all", env=supabase_env(api))
    assert ok.code == 0
    assert ledger(pg_db) == ["20260101000000", "20260102000000", "20260104000000"]


def test_dry_run_applies_nothing(cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD)
    result = cli("migrate", "--env", "test", "--dir", str(folder), "--dry-run", env=supabase_env(api))
    assert result.code == 0 and "would apply 20260101000000_create_a" in result.stdout
    assert tables(pg_db) == set()


def test_429_waits_and_succeeds(cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD)
    api.rate_limit_next(2, retry_after=3)
    result = cli("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api))
    assert result.code == 0
    assert result.sleeps == [3.0, 3.0]
    assert ledger(pg_db) == ["20260101000000", "20260102000000"]


def test_two_processes_at_once_apply_each_migration_once(api: FakeSupabaseApi, pg_db: str, tmp_path: Path,
                                                         clock: object) -> None:
    from tests.support.cli import Cli as CliRunner
    from tests.support.clock import FakeClock

    folder = write(tmp_path, ["20260101000000_create_a.sql", "20260102000000_add_b.sql",
                              "20260104000000_create_d.sql"])
    gate = threading.Barrier(2)
    applies = threading.local()

    def hold(sql: str) -> None:
        # Line both runs up on their first migration so they race for the advisory lock.
        if "pg_advisory_xact_lock" in sql and not getattr(applies, "seen", False):
            applies.seen = True
            with contextlib.suppress(threading.BrokenBarrierError):
                gate.wait(timeout=5)

    api.before_query = hold
    results: list[int] = []

    def run() -> None:
        runner = CliRunner(FakeClock(), tmp_path)
        results.append(runner("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api)).code)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [0, 0]
    assert ledger(pg_db) == ["20260101000000", "20260102000000", "20260104000000"]
    assert tables(pg_db) == {"a", "d"}


def test_a_bad_token_is_refused(cli: Cli, api: FakeSupabaseApi, tmp_path: Path) -> None:
    # (without --env migrate runs from HOUSEJOBS_* variables: test_without_an_env_the_variables_are_the_settings)
    folder = write(tmp_path, GOOD)
    bad = cli("migrate", "--env", "test", "--dir", str(folder), env={**supabase_env(api),
                                                                     "SUPABASE_ACCESS_TOKEN": "sbp_sentinel_token_x"})
    assert bad.code == 2 and "SUPABASE_ACCESS_TOKEN" in bad.stdout


def test_prod_needs_confirmation(cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    folder = write(tmp_path, GOOD)
    refused = cli("migrate", "--env", "prod", "--dir", str(folder), env=supabase_env(api))
    assert refused.code == 2 and api.request_count == 0
    assert cli("migrate", "--env", "prod", "--dir", str(folder), "--yes", env=supabase_env(api)).code == 0


# --- an answer that is not the rows (issue 21, finding 7) ---------------------------------------------------
# The Management API answers 201 with a JSON array of row objects, `[]` for DDL and a transaction ending in
# COMMIT; `200 {}` (a proxy, an error page turned JSON, another API version) says nothing was run.
NOT_ROWS = [(200, {}), (201, None), (201, {"result": []}), (201, ["not", "rows"])]


@pytest.mark.parametrize("answer", NOT_ROWS, ids=["empty-object", "null", "wrapped", "strings"])
def test_an_answer_that_is_not_rows_is_a_failure_not_applied(cli: Cli, api: FakeSupabaseApi, pg_db: str,
                                                           tmp_path: Path, answer: tuple[int, object]) -> None:
    folder = write(tmp_path, [*GOOD, "20260104000000_create_d.sql"])
    api.fault(answers=[answer] * 20)  # every request: the ledger table's DDL first
    result = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api))
    assert result.code == 1, result.stdout
    doc = result.json()
    assert doc["outcome"] == "failed" and "unexpected answer (not a JSON array of rows)" in doc["message"]
    assert "applied" not in doc["counts"] or doc["counts"]["applied"] == 0
    assert tables(pg_db) == set()


@pytest.mark.parametrize("answer", NOT_ROWS, ids=["empty-object", "null", "wrapped", "strings"])
def test_a_ledger_read_that_is_not_rows_is_a_failure_not_an_empty_ledger(
        cli: Cli, api: FakeSupabaseApi, pg_db: str, tmp_path: Path, answer: tuple[int, object]) -> None:
    folder = write(tmp_path, GOOD)
    assert cli("migrate", "--env", "test", "--dir", str(folder), env=supabase_env(api)).code == 0
    api.fault(match="FROM supabase_migrations.schema_migrations", answers=[answer] * 3)
    status = cli("migrate", "status", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api))
    assert status.code == 1 and "unexpected answer" in status.json()["message"], status.stdout
    again = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api))
    assert again.code == 1 and "unexpected answer" in again.json()["message"]
    assert ledger(pg_db) == ["20260101000000", "20260102000000"]  # nothing was applied a second time


def test_an_apply_answered_with_no_rows_is_a_failure(cli: Cli, api: FakeSupabaseApi, pg_db: str,
                                                     tmp_path: Path) -> None:
    """The DDL and the ledger read are answered; the first migration's request is answered `200 {}`
    without running: the run stops there, failed, never `applied`."""
    folder = write(tmp_path, GOOD)
    api.fault(match="INSERT INTO supabase_migrations", answers=[(200, {})])
    result = cli("migrate", "--env", "test", "--dir", str(folder), "--json", env=supabase_env(api))
    assert result.code == 1 and result.json()["outcome"] == "failed", result.stdout
    assert "unexpected answer" in result.json()["message"]
    assert ledger(pg_db) == []


# --- without an env: the HOUSEJOBS_* variables a CI pipeline for one Supabase project sets -----------------
def test_without_an_env_the_variables_are_the_settings(cli: Cli, api: FakeSupabaseApi, pg_db: str,
                                                       tmp_path: Path) -> None:
    # What `migrate --help` says: no --env, no HOUSEJOBS_ENV, the project and token from the environment.
    folder = write(tmp_path, GOOD)
    done = cli("migrate", "--dir", str(folder), "--json", env=supabase_env(api))
    assert done.code == 0, done.stdout + done.stderr
    doc = done.json()
    assert doc["outcome"] == "applied" and doc["env"] is None
    assert doc["target"] == f"Supabase project {api.ref}"
    assert ledger(pg_db) == ["20260101000000", "20260102000000"]
    status = cli("migrate", "status", "--dir", str(folder), env=supabase_env(api))
    assert status.code == 0 and status.stdout.startswith(f"migrate-status · target: Supabase project {api.ref} ·")


def test_without_an_env_or_a_project_ref_it_is_refused_by_name(cli: Cli, tmp_path: Path) -> None:
    # Never the sandbox, never `None`: the setting that is missing, and how to set it.
    result = cli("migrate", "--dir", str(write(tmp_path, GOOD)), "--json")
    assert result.code == 2
    doc = result.json()
    assert doc["message"] == "supabase_project_ref is not set, and migrate needs it"
    assert doc["hint"].startswith("set HOUSEJOBS_SUPABASE_PROJECT_REF")
    assert doc["target"] == "Supabase project, ref not set"
    assert "None" not in result.stdout + result.stderr
