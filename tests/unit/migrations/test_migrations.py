"""Migrations: the splitter and plan as pure functions, then whole runs over real HTTP into a real
PostgreSQL (tests/fakes/supabase.py in front of an embedded server; fixtures in tests/support/pg_fixtures.py).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from housejobs.migrations.files import Migration, load_dir
from housejobs.migrations.ledger import LEDGER_TABLE, apply_sql, is_duplicate_error
from housejobs.migrations.plan import plan
from housejobs.migrations.run import MigrateResult, QueryError, QueryFn, run_migrations
from housejobs.migrations.sql import MigrationError, normalise, split_statements
from tests.fakes.supabase import FakeSupabaseApi

REPO = Path(__file__).resolve().parents[3]

# --------------------------------------------------------------------------------------------------
# split_statements


def test_split_simple_statements_are_trimmed_and_lose_their_semicolon() -> None:
    assert split_statements("create table a (id int);\n\n  insert into a values (1) ;\n") == [
        "create table a (id int)",
        "insert into a values (1)",
    ]


def test_split_keeps_last_statement_without_semicolon_and_drops_empty_ones() -> None:
    assert split_statements(";;select 1;;\n;select 2") == ["select 1", "select 2"]


def test_split_ignores_semicolons_in_single_quotes_with_doubled_quotes() -> None:
    sql = "insert into t values ('a;b', 'it''s; fine');select 2"
    assert split_statements(sql) == ["insert into t values ('a;b', 'it''s; fine')", "select 2"]


def test_split_ignores_semicolons_in_double_quoted_identifiers() -> None:
    sql = 'create policy "read; write" on t using (true); select "a""; b" from t'
    assert split_statements(sql) == ['create policy "read; write" on t using (true)',
                                     'select "a""; b" from t']


def test_split_honours_backslash_escapes_only_in_e_strings() -> None:
    assert split_statements(r"select E'it\'s; one'; select 'c:\'; select 3") == [
        r"select E'it\'s; one'", r"select 'c:\'", "select 3"]


def test_split_anonymous_dollar_quotes() -> None:
    sql = "do $$ begin perform 1; perform 2; end $$;\nselect 1;"
    assert split_statements(sql) == ["do $$ begin perform 1; perform 2; end $$", "select 1"]


def test_split_tagged_dollar_quotes_may_contain_other_tags() -> None:
    sql = ("create function f() returns text language plpgsql as $fn$\n"
           "begin return $$;$$; end;\n$fn$;\nselect f();")
    assert split_statements(sql) == [sql[: sql.index("$fn$;") + 4], "select f()"]


def test_split_dollar_sign_that_is_not_a_quote() -> None:
    # $1 is a parameter and a$b an identifier; neither opens a dollar quote.
    assert split_statements("prepare p as select $1; select a$b$ from t; select 2") == [
        "prepare p as select $1", "select a$b$ from t", "select 2"]


def test_split_line_comments_hide_semicolons_and_stay_with_their_statement() -> None:
    sql = "-- first; not a split\nselect 1; -- trailing; note\nselect 2;\n-- end of file\n"
    assert split_statements(sql) == [
        "-- first; not a split\nselect 1",
        "-- trailing; note\nselect 2",
        "-- end of file",  # the Supabase CLI keeps a trailing comment as its own statement too
    ]


def test_split_nested_block_comments() -> None:
    sql = "select /* a; /* nested; */ still comment; */ 1; select 2"
    assert split_statements(sql) == ["select /* a; /* nested; */ still comment; */ 1", "select 2"]


def test_split_parentheses_keep_rule_actions_together() -> None:
    sql = "create rule r as on update to t do also (notify t; select 1); select 2"
    assert split_statements(sql) == ["create rule r as on update to t do also (notify t; select 1)",
                                     "select 2"]


def test_split_begin_atomic_body_is_one_statement() -> None:
    body = ("create function add_one(a int) returns int language sql\n"
            "begin atomic\n  select a + 1;\nend")
    assert split_statements(body + ";\nselect add_one(1);") == [body, "select add_one(1)"]


def test_split_begin_atomic_counts_case_end_pairs() -> None:
    body = ("CREATE FUNCTION sign_of(a int) RETURNS int LANGUAGE sql BEGIN ATOMIC\n"
            "  SELECT CASE WHEN a > 0 THEN 1 ELSE 0 END;\n"
            "  SELECT 2;\nEND")
    assert split_statements(body + ";select 3") == [body, "select 3"]


def test_split_begin_transaction_is_not_atomic() -> None:
    assert split_statements("begin; create table t (x int); commit;") == [
        "begin", "create table t (x int)", "commit"]


@pytest.mark.parametrize("sql", ["select 'open", 'select "open', "select $$ open", "/* open",
                                 "select E'\\'"])
def test_split_rejects_unterminated_quotes_and_comments(sql: str) -> None:
    with pytest.raises(MigrationError, match="unterminated"):
        split_statements(sql)


# --------------------------------------------------------------------------------------------------
# normalise


def test_normalise_ignores_comments_whitespace_and_split_points() -> None:
    ours = ["-- notes\ncreate table notes (\n  id int,\n  body text\n)", "create index i on notes (body)"]
    theirs = ["create table notes(id int, body text); create index i on notes(body);", "-- done"]
    assert normalise(ours) == normalise(theirs) == (
        "create table notes(id int,body text);create index i on notes(body)")


def test_normalise_keeps_space_that_separates_tokens() -> None:
    assert normalise(["select  a  as  b"]) == "select a as b"
    assert normalise(["select 1 - -1"]) != normalise(["select 1 --1"])
    assert normalise(["create function f() returns int as $$select 1$$"]).endswith("as $$select 1$$")


def test_normalise_keeps_quoted_text_verbatim() -> None:
    assert normalise(["select 'a  b'"]) != normalise(["select 'a b'"])
    assert normalise(["select $$ x;  y $$"]) != normalise(["select $$ x; y $$"])


def test_normalise_a_trailing_line_comment_does_not_eat_the_next_statement() -> None:
    assert normalise(["select 1 -- note", "select 2"]) == "select 1;select 2"


# --------------------------------------------------------------------------------------------------
# load_dir, plan, apply_sql


def write(directory: Path, filename: str, sql: str) -> Path:
    path = directory / filename
    path.write_text(sql, encoding="utf-8")
    return path


def test_load_dir_sorts_by_version_and_warns_about_other_files(tmp_path: Path) -> None:
    write(tmp_path, "10_later.sql", "select 10;")
    write(tmp_path, "9_earlier.sql", "select 9; select 99;")
    write(tmp_path, "README.md", "docs")
    write(tmp_path, "draft.sql", "select 0;")
    write(tmp_path, ".gitkeep", "")
    (tmp_path / "archive").mkdir()
    migrations, warnings = load_dir(tmp_path)
    assert [(m.version, m.name, m.statements) for m in migrations] == [
        ("9", "earlier", ("select 9", "select 99")), ("10", "later", ("select 10",))]
    assert sorted(warnings) == [
        "skipped README.md: file name must match <version>_<name>.sql",
        "skipped draft.sql: file name must match <version>_<name>.sql",
    ]


def test_load_dir_refuses_duplicate_versions(tmp_path: Path) -> None:
    write(tmp_path, "20250101000000_a.sql", "select 1;")
    write(tmp_path, "20250101000000_b.sql", "select 2;")
    with pytest.raises(MigrationError, match="duplicate migration version 20250101000000"):
        load_dir(tmp_path)


def test_load_dir_refuses_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="not found"):
        load_dir(tmp_path / "nope")


def test_load_dir_names_the_file_with_an_unterminated_quote(tmp_path: Path) -> None:
    write(tmp_path, "1_bad.sql", "select 'oops;")
    with pytest.raises(MigrationError, match=r"1_bad\.sql: unterminated"):
        load_dir(tmp_path)


def migration(version: str, sql: str, name: str = "m") -> Migration:
    return Migration(version, name, Path(f"{version}_{name}.sql"), sql, tuple(split_statements(sql)))


def ledger_row(m: Migration, statements: list[str] | None = None) -> dict[str, Any]:
    return {"version": m.version, "name": m.name,
            "statements": list(m.statements) if statements is None else statements}


def test_plan_statuses() -> None:
    one, two, three = migration("1", "select 1"), migration("2", "select 2"), migration("3", "select 3")
    result = plan([one, two, three], [ledger_row(one), ledger_row(two)])
    assert [(r.version, r.status) for r in result.rows] == [("1", "applied"), ("2", "applied"),
                                                           ("3", "pending")]
    assert result.pending == (three,)
    assert result.ok


def test_plan_treats_a_ledger_row_without_statements_as_applied() -> None:
    one = migration("1", "select 1")
    assert plan([one], [ledger_row(one) | {"statements": None}]).rows[0].status == "applied"


def test_plan_refuses_mid_file_commit_but_allows_a_wrapping_transaction() -> None:
    wrapped = migration("1", "begin; create table t (x int); commit;")
    split = migration("2", "create table u (x int); commit; create table v (x int);")
    result = plan([wrapped, split], [])
    assert len(result.refusals) == 1
    assert "2_m: statement 2 is COMMIT" in result.refusals[0]


def test_apply_sql_quotes_hostile_content() -> None:
    m = migration("1", "select $q$ $hj$ ') ; drop table x; -- $q$", name="it's")
    text = apply_sql(m, tag="safe")
    assert "VALUES ($safe$1$safe$, $safe$it's$safe$, ARRAY[$safe$select $q$" in text
    assert text.startswith("BEGIN;\nSELECT pg_advisory_xact_lock(")
    assert text.endswith(m.sql + "\n;\nCOMMIT;")


@pytest.mark.parametrize("sql", ["select $t$x$t$", "select 1 as a$t"])
def test_apply_sql_refuses_a_tag_that_could_close_early(sql: str) -> None:
    # A statement ending in "a$t" followed by the closing "$t$" reads as "a" + "$t$" + "t$": the tag
    # must not even overlap the end of the text.
    with pytest.raises(ValueError, match="occurs in the migration text"):
        apply_sql(migration("1", sql), tag="t")


def test_is_duplicate_error_only_matches_the_ledger_key() -> None:
    assert is_duplicate_error('Failed to run sql query: ERROR:  23505: duplicate key value violates '
                              'unique constraint "schema_migrations_pkey"\nDETAIL:  Key (version)=(1)')
    assert not is_duplicate_error('Failed to run sql query: ERROR:  23505: duplicate key value '
                                  'violates unique constraint "users_pkey"')


# --------------------------------------------------------------------------------------------------
# Whole runs against the API stand-in and a real PostgreSQL


class Sleeps:
    """The injected sleep: records what the client was told to wait, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def http_query(api: FakeSupabaseApi, client: httpx.AsyncClient, sleep: Sleeps,
               *, attempts: int = 3) -> QueryFn:
    """The smallest real client for the query endpoint: POST, wait out 429s, raise QueryError."""

    async def query(sql: str) -> list[dict[str, Any]]:
        for _ in range(attempts):
            response = await client.post(api.query_url, json={"query": sql},
                                         headers={"Authorization": f"Bearer {api.token}"})
            if response.status_code == 429:
                await sleep(float(response.headers["Retry-After"]))
                continue
            if response.status_code >= 300:
                raise QueryError(response.status_code, response.json().get("message", response.text))
            rows: list[dict[str, Any]] = response.json()
            return rows
        raise QueryError(429, "rate limited on every attempt")

    return query


def migrate(api: FakeSupabaseApi, directory: Path, sleep: Sleeps | None = None,
            **options: Any) -> MigrateResult:
    local, _ = load_dir(directory)

    async def main() -> MigrateResult:
        async with httpx.AsyncClient(timeout=30) as client:
            return await run_migrations(http_query(api, client, sleep or Sleeps()), local, **options)

    return asyncio.run(main())


def rows(uri: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(uri) as conn:
        return conn.execute(sql).fetchall()


def ledger(uri: str) -> list[tuple[Any, ...]]:
    return rows(uri, "select version, name, statements from supabase_migrations.schema_migrations "
                     "order by version")


def table_exists(uri: str, name: str) -> bool:
    return rows(uri, f"select to_regclass('{name}') is not null")[0][0] is True


def apply_requests(api: FakeSupabaseApi) -> int:
    return sum(1 for q in api.queries if f"INSERT INTO {LEDGER_TABLE}" in q)


FIVE = {
    "20250101000001_create_a.sql": "create table a (id int primary key);\n",
    "20250101000002_a_note.sql": "-- a note column\nalter table a add column note text;\n",
    "20250101000003_broken.sql": "create table c (id int);\ninsert into does_not_exist values (1);\n",
    "20250101000004_create_d.sql": "create table d (id int);\n",
    "20250101000005_create_e.sql": "create table e (id int);\n",
}


def five(directory: Path, *, fix_third: bool = True) -> Path:
    for filename, sql in FIVE.items():
        write(directory, filename, sql)
    if fix_third:
        write(directory, "20250101000003_broken.sql", "create table c (id int);\n")
    return directory


def test_shipped_examples_apply_to_an_empty_database(supabase_api: FakeSupabaseApi, pg_db: str) -> None:
    result = migrate(supabase_api, REPO / "jobs" / "migrations")
    assert result.outcome == "applied"
    assert len(result.applied) == 3
    assert table_exists(pg_db, "housejobs.heartbeat")


def test_empty_database_gets_every_migration_and_a_cli_compatible_ledger(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    local, _ = load_dir(five(tmp_path))
    result = migrate(supabase_api, tmp_path)
    assert result.outcome == "applied"
    assert result.applied == tuple(m.version for m in local)
    assert ledger(pg_db) == [(m.version, m.name, list(m.statements)) for m in local]
    assert ledger(pg_db)[1] == ("20250101000002", "a_note",
                                 ["-- a note column\nalter table a add column note text"])
    assert all(table_exists(pg_db, t) for t in "acde")
    assert apply_requests(supabase_api) == 5  # one request per migration


def test_rerun_after_success_applies_nothing(supabase_api: FakeSupabaseApi, tmp_path: Path) -> None:
    five(tmp_path)
    migrate(supabase_api, tmp_path)
    before = apply_requests(supabase_api)
    result = migrate(supabase_api, tmp_path)
    assert result.outcome == "skipped"
    assert result.applied == ()
    assert apply_requests(supabase_api) == before
    assert {row.status for row in result.plan.rows} == {"applied"}


def test_an_edited_applied_file_is_refused_and_nothing_changes(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    five(tmp_path)
    migrate(supabase_api, tmp_path)
    before = ledger(pg_db)
    write(tmp_path, "20250101000002_a_note.sql", "alter table a add column note varchar(10);\n")
    write(tmp_path, "20250101000006_create_f.sql", "create table f (id int);\n")
    result = migrate(supabase_api, tmp_path)
    assert result.outcome == "refused"
    assert any("20250101000002_a_note" in r and "changed" in r for r in result.refusals)
    assert [r.status for r in result.plan.rows if r.version == "20250101000002"] == ["changed"]
    assert ledger(pg_db) == before
    assert not table_exists(pg_db, "f")


def test_a_formatting_only_edit_is_not_a_change(supabase_api: FakeSupabaseApi, tmp_path: Path) -> None:
    five(tmp_path)
    migrate(supabase_api, tmp_path)
    # Comments and whitespace only; keyword case is compared as written, so ALTER would be "changed".
    write(tmp_path, "20250101000002_a_note.sql",
          "/* reformatted */\nalter table a\n    add column note text ;  -- still the same\n")
    assert migrate(supabase_api, tmp_path).outcome == "skipped"


def test_third_of_five_fails_leaving_no_trace_of_it(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    five(tmp_path, fix_third=False)
    result = migrate(supabase_api, tmp_path)
    assert result.outcome == "failed"  # what `migrate` exits with (1): the release must stop here
    assert result.applied == ("20250101000001", "20250101000002")
    assert result.failed == "20250101000003"
    assert result.error is not None
    assert 'ERROR:  42P01: relation "does_not_exist" does not exist' in result.error
    assert [v for v, *_ in ledger(pg_db)] == ["20250101000001", "20250101000002"]
    assert not table_exists(pg_db, "c")  # created earlier in the same transaction, rolled back
    assert not table_exists(pg_db, "d")  # nothing after the failure was attempted
    assert apply_requests(supabase_api) == 3


def test_two_concurrent_runs_apply_each_migration_exactly_once(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    five(tmp_path)
    # Hold the first two apply requests until both have arrived, so both runs planned the same first
    # migration before either applied it; the database's advisory lock then decides.
    barrier = threading.Barrier(2, timeout=30)
    arrived = [0]
    lock = threading.Lock()

    def stage(sql: str) -> None:
        if f"INSERT INTO {LEDGER_TABLE}" not in sql:
            return
        with lock:
            arrived[0] += 1
            first_two = arrived[0] <= 2
        if first_two:
            barrier.wait()

    supabase_api.before_query = stage
    local, _ = load_dir(tmp_path)

    async def both() -> list[MigrateResult]:
        async with httpx.AsyncClient(timeout=30) as one, httpx.AsyncClient(timeout=30) as two:
            return list(await asyncio.gather(
                run_migrations(http_query(supabase_api, one, Sleeps()), local),
                run_migrations(http_query(supabase_api, two, Sleeps()), local)))

    first, second = asyncio.run(both())
    assert (first.failed, second.failed) == (None, None)
    assert (first.refusals, second.refusals) == ((), ())
    applied = first.applied + second.applied
    assert sorted(applied) == [m.version for m in local]  # each exactly once, between them
    assert first.duplicates or second.duplicates
    assert {first.outcome, second.outcome} <= {"applied", "duplicate"}
    assert [v for v, *_ in ledger(pg_db)] == [m.version for m in local]


def test_a_ledger_written_by_the_supabase_cli_reads_as_applied(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    notes = write(tmp_path, "20240101000000_notes.sql", (
        "-- notes: the table and its index\n"
        "create table notes (\n  id bigint primary key,\n  body text\n);\n\n"
        "create index notes_body_idx on notes (body);\n-- end\n"))
    sign = write(tmp_path, "20240102000000_sign.sql", (
        "create function sign_of(a int) returns int language sql\nbegin atomic\n"
        "  select case when a > 0 then 1 else 0 end;\nend;\n"))
    # What the CLI stores: statements cut by its own parser (its atomic body ends at the CASE's END,
    # so this file is two pieces), comments kept, formatting as found; plus a hand-repaired row.
    cli_rows = [
        ("20240101000000", "notes", ["-- notes: the table and its index\ncreate table notes(id bigint "
                                     "primary key, body text)", "create index notes_body_idx on notes "
                                     "(body)", "-- end"]),
        ("20240102000000", "sign", ["create function sign_of(a int) returns int language sql\nbegin "
                                    "atomic\n  select case when a > 0 then 1 else 0 end", "end"]),
    ]
    with psycopg.connect(pg_db, autocommit=True) as conn:
        conn.execute("create schema supabase_migrations")
        conn.execute("create table supabase_migrations.schema_migrations (version text not null "
                     "primary key, statements text[], name text)")
        for version, name, statements in cli_rows:
            # Bound as a text[] parameter, the way the CLI's pgx batch sends it.
            conn.execute("insert into supabase_migrations.schema_migrations (version, name, statements) "
                         "values (%s, %s, %s)", (version, name, statements))
    assert split_statements(sign.read_text()) != cli_rows[1][2]  # the splitters do disagree here
    assert notes.exists()
    result = migrate(supabase_api, tmp_path)
    assert [row.status for row in result.plan.rows] == ["applied", "applied"]
    assert result.outcome == "skipped"
    assert apply_requests(supabase_api) == 0


def test_out_of_order_file_is_refused_unless_include_all(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    write(tmp_path, "1_one.sql", "create table one (id int);")
    write(tmp_path, "3_three.sql", "create table three (id int);")
    migrate(supabase_api, tmp_path)
    write(tmp_path, "2_two.sql", "create table two (id int);")
    refused = migrate(supabase_api, tmp_path)
    assert refused.outcome == "refused"
    assert [(r.version, r.status) for r in refused.plan.rows] == [
        ("1", "applied"), ("2", "out-of-order"), ("3", "applied")]
    assert "2_two: older than the newest applied migration 3" in refused.refusals[0]
    assert not table_exists(pg_db, "two")
    allowed = migrate(supabase_api, tmp_path, include_all=True)
    assert allowed.applied == ("2",)
    assert table_exists(pg_db, "two")


def test_missing_file_is_refused(supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    write(tmp_path, "1_one.sql", "create table one (id int);")
    write(tmp_path, "2_two.sql", "create table two (id int);")
    migrate(supabase_api, tmp_path)
    (tmp_path / "1_one.sql").unlink()
    write(tmp_path, "3_three.sql", "create table three (id int);")
    result = migrate(supabase_api, tmp_path)
    assert result.outcome == "refused"
    assert ("1", "one", "missing") in [(r.version, r.name, r.status) for r in result.plan.rows]
    assert any(r.startswith("1 one: in the history but no local file") for r in result.refusals)
    assert not table_exists(pg_db, "three")


def test_rate_limited_once_waits_as_told_and_succeeds(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    five(tmp_path)
    supabase_api.rate_limit_next(1, retry_after=7)
    sleep = Sleeps()
    result = migrate(supabase_api, tmp_path, sleep)
    assert result.outcome == "applied"
    assert sleep.waits == [7.0]
    # table setup + ledger read + five applies, plus the one refused attempt
    assert supabase_api.request_count == 1 + 1 + 5 + 1
    assert len(ledger(pg_db)) == 5


def test_dry_run_plans_without_creating_anything(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    five(tmp_path)
    result = migrate(supabase_api, tmp_path, dry_run=True)
    assert result.outcome == "dry-run"
    assert [r.status for r in result.plan.rows] == ["pending"] * 5
    assert not table_exists(pg_db, LEDGER_TABLE)


def test_hostile_migration_text_is_stored_verbatim(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    sql = ("create function hostile() returns text language sql as\n"
           "$body$ select $x$'); drop table supabase_migrations.schema_migrations; --$x$ $body$;\n"
           "comment on function hostile() is 'it''s 100% $$ fine';\n")
    write(tmp_path, "1_it's.sql", sql)
    result = migrate(supabase_api, tmp_path)
    assert result.outcome == "applied"
    assert ledger(pg_db) == [("1", "it's", split_statements(sql))]
    assert rows(pg_db, "select hostile()") == [("'); drop table supabase_migrations.schema_migrations; --",)]


def test_api_error_body_looks_like_the_real_one(supabase_api: FakeSupabaseApi) -> None:
    response = httpx.post(supabase_api.query_url, json={"query": "select 1;\nselect nope;"},
                          headers={"Authorization": f"Bearer {supabase_api.token}"})
    assert response.status_code == 400
    assert response.json() == {"message": 'Failed to run sql query: ERROR:  42703: column "nope" does '
                                          'not exist\nLINE 2: select nope;\n               ^\n'}


def test_api_auth_and_project_ref(supabase_api: FakeSupabaseApi) -> None:
    body = {"query": "select 1 as one"}
    assert httpx.post(supabase_api.query_url, json=body).status_code == 401
    ok = httpx.post(supabase_api.query_url, json=body,
                    headers={"Authorization": f"Bearer {supabase_api.token}"})
    assert (ok.status_code, ok.json(), ok.headers["x-ratelimit-limit"]) == (201, [{"one": 1}], "120")
    other = supabase_api.query_url.replace(supabase_api.ref, "otherref")
    assert httpx.post(other, json=body,
                      headers={"Authorization": f"Bearer {supabase_api.token}"}).status_code == 404


def test_a_file_wrapped_in_its_own_transaction_applies_atomically(
        supabase_api: FakeSupabaseApi, pg_db: str, tmp_path: Path) -> None:
    # The inner BEGIN only warns inside ours, and the file's COMMIT commits the ledger row with it.
    write(tmp_path, "1_wrapped.sql", "begin;\ncreate table w (id int);\ncommit;\n")
    write(tmp_path, "2_split.sql", "create table x (id int);\ncommit;\ncreate table y (id int);\n")
    refused = migrate(supabase_api, tmp_path)
    assert refused.outcome == "refused"
    assert not table_exists(pg_db, "w")
    (tmp_path / "2_split.sql").unlink()
    assert migrate(supabase_api, tmp_path).applied == ("1",)
    assert table_exists(pg_db, "w")
    assert [v for v, *_ in ledger(pg_db)] == ["1"]
