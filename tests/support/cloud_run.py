"""Jobs seeded in the Cloud Run v2 fake the way create-all-jobs provisions them, and what a test reads back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from tests.fakes._http import RecordedRequest
from tests.fakes.cloudlogging import CloudLoggingFake
from tests.fakes.cloudrun import CloudRunFake, TaskRun
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
    """The settings that point housejobs at the Cloud Run fake and the Cloud Logging fake its jobs log to."""
    env = {"HOUSEJOBS_RUN_API_ENDPOINT": run.endpoint}
    if run.logging is not None:
        env["HOUSEJOBS_LOGGING_API_ENDPOINT"] = run.logging.endpoint
    return env


@contextmanager
def seeded_run(clock: FakeClock, jobs: Iterable[str]) -> Iterator[CloudRunFake]:
    """The Cloud Run fake on the test's clock with `jobs` seeded in test, and its Cloud Logging (`.logging`,
    same clock); when the block ends, neither must have seen a request off the published schema, nor an
    output-only field sent."""
    with CloudRunFake(clock=clock.now) as fake, CloudLoggingFake(clock=clock.now) as logs:
        fake.logging = logs
        for job in jobs:
            seed(fake, job)
        yield fake
        assert fake.schema_violations == [] and logs.schema_violations == []
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


def summary_line(job: str, outcome: str, *, exit_code: int, at: datetime, execution: str,
                 counts: dict[str, int] | None = None, detail: str = "") -> str:
    """A run_summary record as the runner writes it off a terminal (runner.py)."""
    record = {"severity": "INFO" if exit_code == 0 else "ERROR", "message": f"{job} {outcome}",
              "time": at.isoformat().replace("+00:00", "Z"),
              "logging.googleapis.com/labels": {"job": job, "env": "test", "execution": execution},
              "event": "run_summary", "outcome": outcome, "exit_code": exit_code, "counts": counts or {},
              "attempts": 1, "duration_ms": 5, "target": "stand-in"}
    if detail:
        record["detail"] = detail
    return json.dumps(record)


def log_summaries(run: CloudRunFake, outcome: str | Callable[[dict[str, Any]], str] = "applied", *,
                  delay_s: float = 0.0) -> None:
    """Stand in for the containers of executions no executor runs: as one finishes, each task that succeeded
    logs a run_summary with `outcome` (a word, `dry-run` for a dry run; or the execution → a word) (exit 0),
    each that failed one with `failed` (exit 1), into the Cloud Logging fake, `delay_s` before it shows."""

    def write(ex: dict[str, Any], succeeded: int, failed: int) -> None:
        args = ex["template"]["containers"][0].get("args") or []
        word = outcome(ex) if callable(outcome) else ("dry-run" if "--dry-run" in args else outcome)
        job, ex_id = ex["job"], ex["name"].rsplit("/", 1)[-1]
        job_word = job.removeprefix("housejobs-").rsplit("-", 1)[0]
        project, location = ex["name"].split("/")[1], ex["name"].split("/")[3]
        for index in range(succeeded + failed):
            ok = index < succeeded
            line = summary_line(job_word, word if ok else "failed", exit_code=0 if ok else 1,
                                at=run.clock(), execution=ex_id)
            task = TaskRun(job, ex_id, index, ex["taskCount"], 0, "", [], [])
            run.logging.ingest(task, project=project, location=location, stderr=line, delay_s=delay_s)

    run.finish_hooks.append(write)
