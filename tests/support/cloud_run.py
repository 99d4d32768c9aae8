"""Jobs seeded in the Cloud Run v2 fake the way create-all-jobs provisions them, and what a test reads back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes._http import RecordedRequest
from tests.fakes.cloudrun import CloudRunFake
from tests.support.clock import FakeClock
from tests.support.deploy_env import PARENT, PROJECT, REGION

PROD_PARENT = f"projects/cloudact-prod/locations/{REGION}"
IMAGE = f"{REGION}-docker.pkg.dev/{PROJECT}/housejobs/housejobs:latest"


def seed(fake: CloudRunFake, job: str, env: str = "test", *, parent: str = PARENT, tasks: int = 1) -> str:
    """A job shaped the way create-all-jobs provisions it (housejobs-<job>-<env>)."""
    job_id = f"housejobs-{job}-{env}"
    fake.seed_job(parent, job_id, {
        "labels": {"managed-by": "housejobs", "env": env},
        "template": {"taskCount": tasks, "template": {
            "containers": [{"name": "housejobs", "image": IMAGE, "args": [job],
                            "env": [{"name": "HOUSEJOBS_ENV", "value": env}]}],
            "maxRetries": 0}},
    })
    return f"{parent}/jobs/{job_id}"


def gcp(run: CloudRunFake) -> dict[str, str]:
    return {"HOUSEJOBS_RUN_API_ENDPOINT": run.endpoint}


@contextmanager
def seeded_run(clock: FakeClock, jobs: Iterable[str]) -> Iterator[CloudRunFake]:
    """The Cloud Run fake on the test's clock with `jobs` seeded in test; when the block ends, it must have
    seen no request off the published schema and no output-only field sent."""
    with CloudRunFake(clock=clock.now) as fake:
        for job in jobs:
            seed(fake, job)
        yield fake
        assert fake.schema_violations == []
        assert fake.output_only_sent == []


def run_calls(run: CloudRunFake) -> list[RecordedRequest]:
    """The RunJob calls, in order."""
    return [r for r in run.requests if r.method == "POST" and r.path.endswith(":run")]


def run_bodies(run: CloudRunFake) -> list[Any]:
    return [r.body for r in run_calls(run)]


def started_jobs(run: CloudRunFake, env: str = "test") -> list[str]:
    """The jobs RunJob was called for (housejobs-<job>-<env>), in order."""
    return [r.path.rsplit("/", 1)[-1].removesuffix(":run").removeprefix("housejobs-").removesuffix(f"-{env}")
            for r in run_calls(run)]


def started_args(run: CloudRunFake) -> list[list[str]]:
    """The container args of every execution a RunJob call started, in order."""
    return [body["overrides"]["containerOverrides"][0]["args"] for body in run_bodies(run)]
