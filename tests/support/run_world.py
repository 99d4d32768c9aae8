"""A deployment whose Cloud Run executions really run: the housejobs image's CLI is each task's container,
its stdout and stderr land in the Cloud Logging fake as Cloud Run ships them, and the sandbox is the admin
API the containers call. The operator's CLI and Cloud Logging share the test's clock, so an entry shows
`logs.delay_s` (2 s) after it was written, as the run's clock counts; the containers read the same clock."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.cloudlogging import CloudLoggingFake
from tests.fakes.container import HousejobsImage
from tests.support.cli import Cli, CliResult
from tests.support.deploy_env import PROJECT, GcpEnv, gcp_env
from tests.support.sandbox import SandboxHandle


@dataclass
class RunWorld:
    gcp: GcpEnv
    sandbox: SandboxHandle
    image: HousejobsImage
    cli: Cli

    @property
    def logs(self) -> CloudLoggingFake:
        return self.gcp.logs

    @property
    def env(self) -> dict[str, str]:
        return {**self.gcp.env, "HOUSEJOBS_API_URL": self.sandbox.url}

    def __call__(self, *argv: str, **kw: Any) -> CliResult:
        return self.cli(*argv, env=self.env, **kw)


@contextmanager
def run_world(cli: Cli, sandbox: SandboxHandle, tmp_path: Path, *, only: str | None = None) -> Iterator[RunWorld]:
    """create-all-jobs --env stage (every job, or `only`) against the fakes, every request checked."""
    with gcp_env(logs_clock=cli.clock.now) as gcp:
        gcp.add_secrets()
        # One attempt per call inside the container: a scripted 500 fails the task at once (Cloud Run retries).
        reach = {"HOUSEJOBS_API_URL": sandbox.url, "HOUSEJOBS_BOT_URL": sandbox.url, "HOUSEJOBS_MAX_ATTEMPTS": "1",
                 "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": gcp.sm.endpoint}
        cwd = tmp_path / "container"
        cwd.mkdir(exist_ok=True)
        image = HousejobsImage(gcp.sm, PROJECT, reach, cli.clock, cwd, logging=gcp.logs)
        gcp.run.executor = image
        world = RunWorld(gcp, sandbox, image, cli)
        made = world("create-all-jobs", "--env", "stage", *(("--only", only) if only else ()))
        assert made.code == 0, made.stdout + made.stderr
        gcp.clear()
        yield world
        assert gcp.violations() == []
