"""Jobs seeded in the Cloud Run v2 fake the way create-all-jobs provisions them, and what a test reads back."""

from __future__ import annotations

from typing import Any

from tests.fakes.cloudrun import CloudRunFake
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


def run_bodies(run: CloudRunFake) -> list[Any]:
    return [r.body for r in run.requests if r.method == "POST" and r.path.endswith(":run")]
