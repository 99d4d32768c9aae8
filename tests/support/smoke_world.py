"""A whole deployment for `housejobs smoke`, local and real over sockets: google-cloud-run and -scheduler
(REST) against the fakes, whose executor runs the housejobs image's entrypoint in-process for every task (env
from the job spec, secrets from the Secret Manager fake, CLOUD_RUN_* set); the sandbox plays the admin API and
the bot, the Supabase stand-in serves a real PostgreSQL, and quota-cleanup reads the BigQuery emulator."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from tests.fakes.bqemulator import BqEmulator
from tests.fakes.container import HousejobsImage
from tests.fakes.supabase import FakeSupabaseApi
from tests.support.bq_fixtures import QuotaTable
from tests.support.cli import Cli
from tests.support.clock import NOW, FakeClock
from tests.support.deploy_env import PROJECT, GcpEnv, gcp_env
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import SENTINELS, assert_no_secret


@dataclass
class SmokeWorld:
    gcp: GcpEnv
    sandbox: SandboxHandle
    supabase: FakeSupabaseApi
    pg_db: str
    quota: QuotaTable
    image: HousejobsImage

    @property
    def env(self) -> dict[str, str]:
        """The operator's side: the Google fakes, and the sandbox as this env's admin API."""
        return {**self.gcp.env, "HOUSEJOBS_API_URL": self.sandbox.url}


@contextmanager
def smoke_world(cli: Cli, sandbox: SandboxHandle, pg_db: str, bq_table: QuotaTable, bq_emulator: BqEmulator,
                tmp_path: Path) -> Iterator[SmokeWorld]:
    """create-all-jobs --env stage against the fakes, three quota rows (two past retention); afterwards no
    container printed a secret and no request broke Google's schemas."""
    with gcp_env() as gcp, FakeSupabaseApi(pg_db, ref="stageprojectref00000",
                                           token=SENTINELS["SUPABASE_ACCESS_TOKEN"]) as supabase:
        gcp.add_secrets()
        # What a Cloud Run task would reach: the platform's stand-ins, and Google's for what it reads.
        reach = {"HOUSEJOBS_API_URL": sandbox.url, "HOUSEJOBS_BOT_URL": sandbox.url,
                 "HOUSEJOBS_SUPABASE_API_URL": supabase.url, "HOUSEJOBS_BIGQUERY_API_ENDPOINT": bq_emulator.endpoint,
                 "HOUSEJOBS_QUOTA_TABLE": bq_table.name, "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": gcp.sm.endpoint}
        container_cwd = tmp_path / "container"
        container_cwd.mkdir()
        image = HousejobsImage(gcp.sm, PROJECT, reach, FakeClock(NOW), container_cwd, logging=gcp.logs)
        gcp.run.executor = image
        w = SmokeWorld(gcp, sandbox, supabase, pg_db, bq_table, image)
        made = cli("create-all-jobs", "--env", "stage", env=w.env)
        assert made.code == 0, made.stdout + made.stderr
        bq_table.insert_at_ages(NOW, [timedelta(days=100), timedelta(days=120), timedelta(days=1)])
        gcp.clear()
        yield w
        for text in image.outputs():
            assert_no_secret(text, "a container's output")
        assert gcp.violations() == []
