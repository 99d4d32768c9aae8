"""Golden JSON of what reaches a database (tests/support/golden.py): migrate and migrate status through the
Supabase stand-in on a real PostgreSQL, release --local, quota-cleanup on the BigQuery emulator, and smoke
over a whole deployment. Without the emulator they skip, unless HOUSEJOBS_REQUIRE_EMULATORS=1
(tests/support/bq_fixtures.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.fakes.bqemulator import BqEmulator
from tests.fakes.supabase import FakeSupabaseApi
from tests.support.bq_fixtures import QuotaTable
from tests.support.cli import Cli
from tests.support.clock import NOW
from tests.support.deploy_env import PROJECT
from tests.support.golden import Golden
from tests.support.pg_fixtures import supabase_env
from tests.support.sandbox import SandboxHandle
from tests.support.smoke_world import smoke_world

MIGRATIONS = {
    "20260101000000_create_a.sql": "create table public.a (id int primary key);\n",
    "20260102000000_add_b.sql": "-- a comment\nalter table public.a add column b text;\n",
    "20260103000000_bad.sql": "alter table public.a add column c nonexistent_type;\n",
    "20260104000000_create_d.sql": "create table public.d (id int);\n",
}


def test_migrate(golden: Golden, supabase: FakeSupabaseApi, tmp_path: Path) -> None:
    folder = tmp_path / "migrations"
    folder.mkdir()
    env = supabase_env(supabase)
    migrate = ("migrate", "--env", "test", "--dir", str(folder))
    status = ("migrate", "status", "--env", "test", "--dir", str(folder))
    golden(*status, "--json", env=env)  # an empty folder, no history table yet
    for name in list(MIGRATIONS)[:2]:
        (folder / name).write_text(MIGRATIONS[name])
    golden(*status, "--json", env=env)
    golden(*migrate, "--dry-run", "--json", env=env)
    golden(*migrate, "--json", env=env)
    golden(*migrate, "--json", env=env)  # nothing pending
    golden(*status, "--json", env=env)
    for name in list(MIGRATIONS)[2:]:
        (folder / name).write_text(MIGRATIONS[name])
    golden(*migrate, "--json", env=env)  # the bad one fails; the one after it is not tried
    (folder / "20260103000000_bad.sql").unlink()
    (folder / "20260102000000_add_b.sql").write_text("alter table public.a add column b integer;\n")
    golden(*status, "--json", env=env)  # an applied file changed
    golden(*migrate, "--json", env=env)  # refused for it
    golden("migrate", "--dir", str(folder), "--json", env=env)  # no --env: the HOUSEJOBS_* settings (same refusal)
    golden("migrate", "--dir", str(folder), "--json", env={"HOUSEJOBS_SUPABASE_API_URL": supabase.url})  # no ref
    golden(*migrate, "--json", env={**env, "SUPABASE_ACCESS_TOKEN": "sbp_sentinel_token_x"})
    golden.check()


def test_release_local(golden: Golden, sandbox: SandboxHandle, supabase: FakeSupabaseApi) -> None:
    env = {"HOUSEJOBS_API_URL": sandbox.url, **supabase_env(supabase)}
    golden("release", "--env", "test", "--local", "--json", env=env)  # the shipped migrations, then the API
    golden("release", "--env", "test", "--local", "--json", env=env)
    golden("release", "--env", "test", "--local", "--json", env={**env, "CA_ROOT_API_KEY": "not-the-sandbox-key"})
    golden.check()


def test_quota_cleanup(golden: Golden, bq_emulator: BqEmulator, bq_table: QuotaTable) -> None:
    bq_table.insert_at_ages(NOW, [timedelta(days=d) for d in (1, 30, 89, 91, 120, 400)])
    env = {"HOUSEJOBS_BIGQUERY_API_ENDPOINT": bq_emulator.endpoint, "HOUSEJOBS_QUOTA_TABLE": bq_table.name}
    golden("quota-cleanup", "--dry-run", "--json", env=env)
    golden("quota-cleanup", "--json", env=env)
    golden("quota-cleanup", "--json", env=env)  # nothing past retention: skipped
    golden("quota-cleanup", "--days", "30", "--json", env=env)
    golden("quota-cleanup", "--days", "3", "--json", env=env)  # too short without --allow-short-retention
    golden("quota-cleanup", "--json", env={**env, "HOUSEJOBS_QUOTA_TABLE": bq_table.name + "_missing"})
    golden.check()


def test_smoke(golden: Golden, cli: Cli, sandbox: SandboxHandle, pg_db: str, bq_table: QuotaTable,
               bq_emulator: BqEmulator, tmp_path: Path) -> None:
    # The executions run side by side on the Cloud Run fake's clock, which ticks 1 ms per reading (every
    # request reads it): how long each took on it depends on how the requests interleaved.
    golden.mask(r'"duration_s": [0-9.]+', '"duration_s": "DURATION"')
    with smoke_world(cli, sandbox, pg_db, bq_table, bq_emulator, tmp_path) as world:
        golden("smoke", "--env", "stage", "--json", env=world.env)
        golden("smoke", "--env", "stage", "--only", "quota-reset", "--only", "reminder", "--json", env=world.env)
        del world.gcp.sm.secrets[(PROJECT, "scheduler-shared-secret-test")]
        golden("smoke", "--env", "stage", "--only", "reminder", "--json", env=world.env)  # red
        golden("smoke", "--env", "prod", "--json", env=world.env)  # not confirmed
    golden.check()
