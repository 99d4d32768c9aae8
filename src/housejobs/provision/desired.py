"""What the catalog and the environment ask for: the Cloud Run Jobs, Scheduler triggers and IAM bindings
of one env, as REST JSON bodies (gcp/specs.py builds them). Pure: no Google call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from housejobs.catalog import DEFAULT_TRIGGER, SECRET_NAMES, JobDef, load_catalog, run_job_id, trigger_id
from housejobs.errors import UsageError, choices_hint
from housejobs.gcp import specs
from housejobs.provision import ownership
from housejobs.settings import Setting

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.jobs.spec import JobSpec
    from housejobs.target import Use

MANAGED_BY = {"managed-by": "housejobs"}
MANAGED_LABELS = {"managed-by", "housejobs-env", "housejobs-job"}
INVOKER = "roles/run.invoker"
# run.jobs.run plus run.jobs.runWithOverrides, which a trigger that passes args needs.
WITH_OVERRIDES = "roles/run.jobsExecutorWithOverrides"
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9.-]*(:\d+)?(/[a-z0-9._-]+)+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")


@dataclass(frozen=True)
class Binding:
    member: str  # e.g. serviceAccount:housejobs-scheduler@p.iam.gserviceaccount.com
    role: str
    resource: str  # full resource name, or a description when it cannot be named
    kind: Literal["run-job", "secret", "bigquery-dataset", "project"]
    why: str

    @property
    def granted_by_housejobs(self) -> bool:
        return self.kind == "run-job"

    def line(self) -> str:
        return f"{self.member} needs {self.role} on {self.resource} ({self.why})"

    def as_dict(self) -> dict[str, Any]:
        return {"member": self.member, "role": self.role, "resource": self.resource, "kind": self.kind,
                "why": self.why, "granted_by_housejobs": self.granted_by_housejobs}


@dataclass(frozen=True)
class DesiredJob:
    job: str
    id: str
    name: str  # projects/P/locations/R/jobs/ID
    body: dict[str, Any]


@dataclass(frozen=True)
class DesiredTrigger:
    job: str
    trigger: str
    id: str
    name: str
    body: dict[str, Any]
    overrides: bool


@dataclass(frozen=True)
class Desired:
    env: str
    project: str
    region: str
    image: str
    jobs: list[DesiredJob]
    triggers: list[DesiredTrigger]
    bindings: list[Binding]
    only: str | None = None

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"


def _env(ctx: Context) -> str:
    if not ctx.env:
        raise UsageError("no environment selected", hint="pass --env test, stage or prod")
    return ctx.env


def check_image(image: str) -> str:
    if not _IMAGE.match(image):
        raise UsageError(f"--image {image!r} is not a container image reference",
                         hint="e.g. us-central1-docker.pkg.dev/PROJECT/housejobs/housejobs@sha256:<digest>")
    return image


def build_desired(ctx: Context, spec_of: Callable[[str], JobSpec[Any]], *, only: str | None = None,
                  image: str | None = None) -> Desired:
    """The Cloud Run Jobs, Scheduler jobs and IAM bindings the catalog asks for in ctx's env; a job's spec
    (`spec_of(name)`: jobs/registry.py) says what it calls, and so what it needs."""
    env = _env(ctx)
    s = ctx.settings
    why = f"provisioning {env}"
    project, region = s.require(Setting.project, why), s.require(Setting.region, why)
    image = check_image(image) if image is not None else s.require(Setting.image, why)
    runtime_sa = s.require(Setting.runtime_service_account, why)
    scheduler_sa = s.require(Setting.scheduler_service_account, why)
    suffix = s.secret_suffix
    catalog = load_catalog(s.jobs_dir)
    if only is not None and only not in catalog:
        raise UsageError(f"--only {only!r} is not a catalog job", hint=choices_hint(only, catalog))
    parent = f"projects/{project}/locations/{region}"
    jobs, triggers = [], []
    for job in catalog.values():
        if only is not None and job.name != only:
            continue
        jid = run_job_id(job.name, env)
        run_name = f"{parent}/jobs/{jid}"
        jobs.append(DesiredJob(job.name, jid, run_name, _run_job(job, env, image, runtime_sa, suffix)))
        for t in job.triggers:
            tid = trigger_id(job.name, t.name, env)
            args = job.container_args(t.args) if t.args else None
            label = job.name if t.name == DEFAULT_TRIGGER else f"{job.name} ({t.name})"
            # The marker is how a later run (and --prune) proves this trigger is housejobs' own.
            description = ownership.with_marker(f"housejobs {label} in {env}: {job.description}",
                                                ownership.Marker(env, job.name, t.name))
            body = specs.scheduler_job_body(
                name=f"{parent}/jobs/{tid}", description=description,
                schedule=t.schedule, time_zone=t.time_zone, run_job=run_name,
                run_request=specs.run_request_body(args), service_account=scheduler_sa,
                retry_count=t.retry_count, attempt_deadline_s=t.attempt_deadline_s)
            triggers.append(DesiredTrigger(job.name, t.name, tid, f"{parent}/jobs/{tid}", body, bool(t.args)))
    selected = [j for j in catalog.values() if only is None or j.name == only]
    uses = {job.name: spec_of(job.name).uses for job in selected}
    bindings = _bindings(selected, uses, env, project, region, runtime_sa, scheduler_sa, suffix,
                         s.quota_table)
    return Desired(env, project, region, image, jobs, triggers, bindings, only)


def _run_job(job: JobDef, env: str, image: str, service_account: str, suffix: str) -> dict[str, Any]:
    # The image's ENTRYPOINT is `housejobs`, so args start with the job's command.
    # HOUSEJOBS_MAX_RETRIES tells a task whether Cloud Run will retry it (notify reports the last one).
    env_vars = [{"name": "HOUSEJOBS_ENV", "value": env},
                {"name": "HOUSEJOBS_MAX_RETRIES", "value": str(job.max_retries)}]
    env_vars += [specs.secret_env(var, SECRET_NAMES[var] + suffix) for var in sorted(job.secrets)]
    labels = {**MANAGED_BY, "housejobs-env": env, "housejobs-job": job.name}
    return specs.run_job_body(image=image, args=job.container_args(), env=env_vars, labels=labels,
                              service_account=service_account, max_retries=job.max_retries,
                              timeout_s=job.timeout_s, task_count=job.task_count, parallelism=job.parallelism,
                              cpu=job.cpu, memory=job.memory)


def _bindings(jobs: list[JobDef], uses: Mapping[str, tuple[Use, ...]], env: str, project: str, region: str,
              runtime_sa: str, scheduler_sa: str, suffix: str, quota_table: str | None) -> list[Binding]:
    runtime, scheduler = f"serviceAccount:{runtime_sa}", f"serviceAccount:{scheduler_sa}"
    out: list[Binding] = []
    secrets: dict[str, list[str]] = {}
    for job in jobs:
        for var in job.secrets:
            secrets.setdefault(SECRET_NAMES[var] + suffix, []).append(job.name)
    for secret, users in secrets.items():
        out.append(Binding(runtime, "roles/secretmanager.secretAccessor", f"projects/{project}/secrets/{secret}",
                           "secret", "read by " + ", ".join(users)))
    # A job that uses `bigquery` (the quota table: housejobs.target) deletes its old rows with query jobs:
    # that takes editing the table's dataset, and running jobs in the project.
    querying = ", ".join(j.name for j in jobs if "bigquery" in uses[j.name])
    if querying:
        dataset = (f"projects/{quota_table.split('.')[0]}/datasets/{quota_table.split('.')[1]}"
                   if quota_table and quota_table.count(".") == 2 else "the quota table's dataset (quota_table)")
        out.append(Binding(runtime, "roles/bigquery.dataEditor", dataset, "bigquery-dataset",
                           f"{querying} deletes old rows"))
        out.append(Binding(runtime, "roles/bigquery.jobUser", f"projects/{project}", "project",
                           f"{querying} runs query jobs"))
    for job in jobs:
        if not job.triggers:
            continue
        name = f"projects/{project}/locations/{region}/jobs/{run_job_id(job.name, env)}"
        out.append(Binding(scheduler, INVOKER, name, "run-job", "its triggers start it"))
        if any(t.args for t in job.triggers):
            out.append(Binding(scheduler, WITH_OVERRIDES, name, "run-job",
                               "its triggers pass args as container overrides (run.jobs.runWithOverrides)"))
    return out
