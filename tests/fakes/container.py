"""The housejobs image, run by the Cloud Run fake: `housejobs <container args>` in this process.

    image = HousejobsImage(secrets=sm_fake, world={"HOUSEJOBS_API_URL": sandbox.url, ...}, clock=clock)
    run_fake.executor = image

For each task attempt it builds the environment Cloud Run would give the container: the job's plain
env values, each `secretKeyRef` resolved from the Secret Manager fake (a missing or inaccessible
secret, or a disabled version, means the container never starts: `ContainerFailed`, as Cloud Run
fails such a task), and CLOUD_RUN_JOB / CLOUD_RUN_EXECUTION / CLOUD_RUN_TASK_*; plus `world`, the
settings that point the job at the local stand-ins for what it would reach from Cloud Run (the
sandbox as the admin API and bot, the Supabase stand-in, the BigQuery emulator, Secret Manager). Nothing
comes from this process's own environment, so a secret the job spec does not reference is not there.
The CLI runs through `run_cli` with a Runtime of its own (streams, clock, working directory), exactly
as the image's entrypoint would, and its exit code is the task's; its stdout and stderr go to the Cloud
Logging fake (`logging`) as Cloud Run ships them.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housejobs.cli.main import run_cli
from housejobs.clock import Clock
from housejobs.runtime import Runtime
from tests.fakes.cloudlogging import CloudLoggingFake
from tests.fakes.cloudrun import ContainerFailed, TaskRun
from tests.fakes.secretmanager import SecretManagerFake


@dataclass(frozen=True)
class ContainerRun:
    task: TaskRun
    code: int
    stdout: str
    stderr: str


@dataclass
class HousejobsImage:
    secrets: SecretManagerFake
    project: str
    world: Mapping[str, str]
    clock: Clock
    cwd: Path
    runs: list[ContainerRun] = field(default_factory=list)
    # Where Cloud Run ships each attempt's stdout and stderr, line by line (None: nowhere).
    logging: CloudLoggingFake | None = None
    location: str = "us-central1"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, task: TaskRun) -> int:
        environ = dict(self.world)
        for var in task.env:
            ref = (var.get("valueSource") or {}).get("secretKeyRef")
            environ[var["name"]] = self._secret(ref["secret"], ref.get("version", "latest")) if ref else \
                str(var.get("value", ""))
        environ.update(task.cloud_run_env())
        out, err = io.StringIO(), io.StringIO()
        runtime = Runtime(environ=environ, stdin=io.StringIO(""), stdout=out, stderr=err, stdin_tty=False,
                          stdout_tty=False, stderr_tty=False, clock=self.clock, cwd=self.cwd)
        code = run_cli(list(task.args), runtime)
        with self._lock:
            self.runs.append(ContainerRun(task, code, out.getvalue(), err.getvalue()))
        if self.logging is not None:
            self.logging.ingest(task, project=self.project, location=self.location, stdout=out.getvalue(),
                                stderr=err.getvalue())
        return code

    def _secret(self, name: str, version: str) -> str:
        with self.secrets._lock:
            secret = self.secrets.secrets.get((self.project, name))
            if secret is None or (self.project, name) in self.secrets.denied:
                raise ContainerFailed(f"secret {name} (version {version}) was not found or is not accessible "
                                      "to the job's service account")
            found: Any = secret.versions[-1] if version == "latest" else next(
                (v for v in secret.versions if str(v.number) == version), None)
            if found is None or found.state != "ENABLED":
                raise ContainerFailed(f"secret {name} version {version} is not enabled")
            return str(found.data.decode())

    def outputs(self) -> list[str]:
        with self._lock:
            return [text for run in self.runs for text in (run.stdout, run.stderr)]

    def runs_of(self, *args: str) -> list[ContainerRun]:
        """The runs whose args begin with `args`."""
        with self._lock:
            return [r for r in self.runs if r.task.args[: len(args)] == list(args)]
