"""Provisioning: desired state (catalog + environment) → plan → apply.

    desired = build_desired(ctx, only=None, image=None)     # pure: no Google call
    plan = compute_plan(ctx, desired, prune=False)          # reads: list/get jobs, triggers, job IAM
    report = apply_plan(ctx, plan)                          # writes only what the plan says

One Cloud Run Job per catalog job (`housejobs-<job>-<env>`) and one Scheduler job per trigger, every
resource name carrying the env because test and stage share a project. Both sides are reduced to the
same normalised view (gcp/specs.py) before comparing, so a second run of an unchanged catalog plans
nothing and writes nothing. Apply order: jobs, the jobs' IAM grants, triggers, then prunes (triggers
before the jobs they would start).

What housejobs grants itself is what lives on resources it owns: the scheduler service account's
roles on each triggered Cloud Run Job. Bindings on resources others own (secrets, the BigQuery
dataset, the project) are printed in the plan for an administrator, never changed.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from housejobs import ownership
from housejobs.catalog import DEFAULT_TRIGGER, SECRET_NAMES, JobDef, load_catalog, run_job_id, trigger_id
from housejobs.errors import ApiAuthError, ApiStatusError, ApiUnavailable, ConfigError, UsageError, first_line
from housejobs.gcp import specs
from housejobs.ownership import ForeignTrigger

if TYPE_CHECKING:
    from housejobs.context import Context

# mypy: disable-error-code=no-untyped-call

MANAGED_BY = {"managed-by": "housejobs"}
MANAGED_LABELS = {"managed-by", "housejobs-env", "housejobs-job"}
INVOKER = "roles/run.invoker"
# run.jobs.run plus run.jobs.runWithOverrides, which a trigger that passes args needs.
WITH_OVERRIDES = "roles/run.jobsExecutorWithOverrides"
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9.-]*(:\d+)?(/[a-z0-9._-]+)+(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$")
TIMEOUT_S = 60.0  # one Google call; a long-running operation gets OPERATION_TIMEOUT_S
OPERATION_TIMEOUT_S = 600.0

Kind = Literal["job", "iam", "trigger"]
Action = Literal["create", "update", "unchanged", "grant", "prune"]
_MARK = {"create": "+", "update": "~", "unchanged": "=", "grant": "+", "prune": "-"}


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


def sync_state(action: str) -> str:
    """What a planned action says about the live resource, in reports (list-jobs, doctor)."""
    return {"create": "missing", "update": "drift", "unchanged": "in sync"}.get(action, action)


@dataclass
class Change:
    kind: Kind
    action: Action
    id: str
    name: str
    job: str
    diff: list[str] = field(default_factory=list)
    desired: DesiredJob | DesiredTrigger | None = None
    actual: dict[str, Any] | None = None  # the live resource as REST JSON, if it exists
    binding: Binding | None = None
    foreign: ForeignTrigger | None = None  # a foreign trigger deleted because --prune-foreign named it

    @property
    def is_write(self) -> bool:
        return self.action != "unchanged"

    def lines(self) -> list[str]:
        what = self.id
        if self.binding is not None:
            what = f"{self.id}: {self.binding.role} to {self.binding.member}"
        if self.foreign is not None:
            what = f"{self.id} (not created by housejobs; starts {self.foreign.target}; asked for by --prune-foreign)"
        head = f"  {_MARK[self.action]} {self.action:<9} {self.kind:<7} {what}"
        return [head, *(f"      {d}" for d in self.diff)]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "action": self.action, "id": self.id, "name": self.name,
                               "job": self.job}
        if self.diff:
            out["diff"] = self.diff
        if self.binding is not None:
            out["binding"] = self.binding.as_dict()
        if self.foreign is not None:
            out["foreign"] = True
        return out


@dataclass(frozen=True)
class Skip:
    """A resource --prune leaves alone because housejobs cannot prove it made it (ownership.py)."""

    kind: Kind
    id: str
    name: str
    reason: str

    def line(self) -> str:
        return f"  · skip      {self.kind:<7} {self.id} ({self.reason})"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "reason": self.reason}


@dataclass
class Plan:
    desired: Desired
    changes: list[Change]
    prune: bool = False
    skipped: list[Skip] = field(default_factory=list)
    # Every trigger outside the catalog that starts one of this env's housejobs jobs.
    foreign: list[ForeignTrigger] = field(default_factory=list)

    @property
    def warnings(self) -> list[ForeignTrigger]:
        """The foreign triggers this plan leaves in place (the ones it deletes have their own line)."""
        going = {c.name for c in self.changes if c.kind == "trigger" and c.action == "prune"}
        return [f for f in self.foreign if f.name not in going]

    @property
    def writes(self) -> list[Change]:
        return [c for c in self.changes if c.is_write]

    @property
    def in_sync(self) -> bool:
        return not self.writes

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in ("create", "update", "grant", "prune", "unchanged")}
        for c in self.changes:
            out[c.action] += 1
        return out

    def find(self, kind: Kind, id: str) -> Change | None:
        return next((c for c in self.changes if c.kind == kind and c.id == id), None)

    def lines(self) -> list[str]:
        d = self.desired
        scope = f" · only {d.only}" if d.only else ""
        out = [f"plan for {d.env} · project {d.project} · region {d.region} · image {d.image}{scope}"]
        order = {"job": 0, "iam": 1, "trigger": 2}
        for change in sorted(self.changes, key=lambda c: (c.action == "prune", order[c.kind])):
            out += change.lines()
        out += [s.line() for s in self.skipped]
        out += [f"  ! warning   job     {f.target}: {f.warning()}" for f in self.warnings]
        # The bindings on the jobs are the `iam` lines above; the rest an administrator grants.
        others = [b for b in d.bindings if not b.granted_by_housejobs]
        if others:
            out.append("IAM bindings this deployment also needs (not changed by housejobs):")
            out += [f"  {b.line()}" for b in others]
        return out

    def as_dict(self) -> dict[str, Any]:
        d = self.desired
        return {"env": d.env, "project": d.project, "region": d.region, "image": d.image, "only": d.only,
                "prune": self.prune, "in_sync": self.in_sync, "counts": self.counts(),
                "changes": [c.as_dict() for c in self.changes], "bindings": [b.as_dict() for b in d.bindings],
                "skipped": [s.as_dict() for s in self.skipped], "warnings": [f.as_dict() for f in self.warnings]}


@dataclass
class ApplyReport:
    applied: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str = ""
    stopped: bool = False  # a stop was requested; the rest is left for a rerun


# --- desired state ------------------------------------------------------------------------------
def _env(ctx: Context) -> str:
    if not ctx.env:
        raise UsageError("no environment selected", hint="pass --env test, stage or prod")
    return ctx.env


def check_image(image: str) -> str:
    if not _IMAGE.match(image):
        raise UsageError(f"--image {image!r} is not a container image reference",
                         hint="e.g. us-central1-docker.pkg.dev/PROJECT/housejobs/housejobs@sha256:<digest>")
    return image


def build_desired(ctx: Context, *, only: str | None = None, image: str | None = None) -> Desired:
    """The Cloud Run Jobs, Scheduler jobs and IAM bindings the catalog asks for in ctx's env."""
    env = _env(ctx)
    s = ctx.settings
    why = f"provisioning {env}"
    project, region = s.require("project", why), s.require("region", why)
    image = check_image(image) if image is not None else s.require("image", why)
    runtime_sa = s.require("runtime_service_account", why)
    scheduler_sa = s.require("scheduler_service_account", why)
    suffix = s.get("secret_suffix") or ""
    catalog = load_catalog(s.jobs_dir)
    if only is not None and only not in catalog:
        raise UsageError(f"--only {only!r} is not a catalog job", hint="one of: " + ", ".join(catalog))
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
    bindings = _bindings(selected, env, project, region, runtime_sa, scheduler_sa, suffix,
                         s.get("quota_table"))
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


def _bindings(jobs: list[JobDef], env: str, project: str, region: str, runtime_sa: str, scheduler_sa: str,
              suffix: str, quota_table: str | None) -> list[Binding]:
    runtime, scheduler = f"serviceAccount:{runtime_sa}", f"serviceAccount:{scheduler_sa}"
    out: list[Binding] = []
    secrets: dict[str, list[str]] = {}
    for job in jobs:
        for var in job.secrets:
            secrets.setdefault(SECRET_NAMES[var] + suffix, []).append(job.name)
    for secret, users in secrets.items():
        out.append(Binding(runtime, "roles/secretmanager.secretAccessor", f"projects/{project}/secrets/{secret}",
                           "secret", "read by " + ", ".join(users)))
    if any(j.name == "quota-cleanup" for j in jobs):
        dataset = (f"projects/{quota_table.split('.')[0]}/datasets/{quota_table.split('.')[1]}"
                   if quota_table and quota_table.count(".") == 2 else "the quota table's dataset (quota_table)")
        out.append(Binding(runtime, "roles/bigquery.dataEditor", dataset, "bigquery-dataset",
                           "quota-cleanup deletes old rows"))
        out.append(Binding(runtime, "roles/bigquery.jobUser", f"projects/{project}", "project",
                           "quota-cleanup runs query jobs"))
    for job in jobs:
        if not job.triggers:
            continue
        name = f"projects/{project}/locations/{region}/jobs/{run_job_id(job.name, env)}"
        out.append(Binding(scheduler, INVOKER, name, "run-job", "its triggers start it"))
        if any(t.args for t in job.triggers):
            out.append(Binding(scheduler, WITH_OVERRIDES, name, "run-job",
                               "its triggers pass args as container overrides (run.jobs.runWithOverrides)"))
    return out


def required_bindings(ctx: Context) -> list[Binding]:
    return build_desired(ctx).bindings


# --- Google calls ---------------------------------------------------------------------------------
class Gcp:
    """The two clients provisioning uses, made on first use (the libraries load only then)."""

    def __init__(self, ctx: Context) -> None:
        self.settings = ctx.settings
        self._jobs: Any = None
        self._scheduler: Any = None

    @property
    def jobs(self) -> Any:
        if self._jobs is None:
            from housejobs.gcp import clients

            with google_errors("Cloud Run client"):
                self._jobs = clients.run_jobs(self.settings)
        return self._jobs

    @property
    def scheduler(self) -> Any:
        if self._scheduler is None:
            from housejobs.gcp import clients

            with google_errors("Cloud Scheduler client"):
                self._scheduler = clients.scheduler(self.settings)
        return self._scheduler


@contextlib.contextmanager
def google_errors(what: str) -> Iterator[None]:
    """Google's exceptions → housejobs' tree, one line each (the tree lives in errors.py)."""
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    try:
        yield
    except (gexc.Unauthorized, gexc.Forbidden) as exc:
        raise ApiAuthError(f"{what}: permission denied: {first_line(exc)}",
                           hint="check the roles of the credentials in use") from None
    except auth_exc.DefaultCredentialsError:
        raise ConfigError(f"{what}: no Google credentials",
                          hint="run `gcloud auth application-default login` or set "
                               "GOOGLE_APPLICATION_CREDENTIALS") from None
    except auth_exc.GoogleAuthError as exc:
        raise ApiAuthError(f"{what}: credentials unusable: {exc.__class__.__name__}") from None
    except gexc.GoogleAPICallError as exc:
        status = int(exc.code) if isinstance(exc.code, int) else None
        line = f"{what}: {exc.code or ''} {first_line(exc)}".replace("  ", " ")
        # The same split as `run` makes (gcp/executions.py): 408/429/5xx are the service's trouble, not
        # a wrong request, so they end `failed` as unavailable rather than as a final status.
        if status in (408, 429) or (status is not None and status >= 500):
            raise ApiUnavailable(line, status=status) from None
        raise ApiStatusError(line, status=status) from None
    except gexc.GoogleAPIError as exc:  # RetryError and friends: the call never got a final answer
        raise ApiUnavailable(f"{what}: {exc.__class__.__name__}: {first_line(exc)}") from None
    except OSError as exc:  # requests' ConnectionError and timeouts are OSErrors
        raise ApiUnavailable(f"{what}: {exc.__class__.__name__}") from None


def to_dict(message: Any) -> dict[str, Any]:
    """A proto-plus message as REST JSON (camelCase, enum names, only the fields that are set)."""
    import json

    text = type(message).to_json(message, use_integers_for_enums=False, indent=None,
                                 always_print_fields_with_no_presence=False)
    out: dict[str, Any] = json.loads(text)
    return out


def _from_dict(cls: Any, body: dict[str, Any]) -> Any:
    import json

    return cls.from_json(json.dumps(body))


# --- reading and planning -------------------------------------------------------------------------
def _read(what: str, client: Any, parent: str, names: list[str], listing: bool) -> dict[str, dict[str, Any]]:
    """What exists: one list call for the whole location, or a get per name (`--only`)."""
    from google.api_core import exceptions as gexc

    found: dict[str, dict[str, Any]] = {}
    with google_errors(f"{what}: reading jobs"):
        if listing:
            for job in client.list_jobs(parent=parent, timeout=TIMEOUT_S):
                found[job.name] = to_dict(job)
        else:
            for name in names:
                with contextlib.suppress(gexc.NotFound):
                    found[name] = to_dict(client.get_job(name=name, timeout=TIMEOUT_S))
    return found


def _read_run_jobs(gcp: Gcp, desired: Desired, listing: bool) -> dict[str, dict[str, Any]]:
    return _read("Cloud Run", gcp.jobs, desired.parent, [w.name for w in desired.jobs], listing)


def _read_triggers(gcp: Gcp, desired: Desired) -> dict[str, dict[str, Any]]:
    # Always the whole location: a trigger of any name may start one of our jobs (a double trigger).
    return _read("Cloud Scheduler", gcp.scheduler, desired.parent, [], True)


def read_policy(gcp: Gcp, job_name: str) -> Any:
    with google_errors(f"Cloud Run: reading the IAM policy of {job_name.rsplit('/', 1)[-1]}"):
        return gcp.jobs.get_iam_policy(request={"resource": job_name}, timeout=TIMEOUT_S)


def _has(policy: Any, binding: Binding) -> bool:
    return any(b.role == binding.role and binding.member in b.members for b in policy.bindings)


def compute_plan(ctx: Context, desired: Desired | None = None, *, prune: bool = False,
                 prune_foreign: tuple[str, ...] = (), gcp: Gcp | None = None, iam: bool = True) -> Plan:
    """Read what exists and compare it with `desired` (default: the whole catalog for ctx's env).
    `iam=False` skips the jobs' IAM policies (a report that shows only jobs and triggers).
    `prune_foreign` names foreign triggers (see ownership.py) to delete; any other name is refused."""
    desired = desired or build_desired(ctx)
    if prune and desired.only:
        raise UsageError("--prune works on the whole catalog, not with --only")
    gcp = gcp or Gcp(ctx)
    # One list per API reads the whole environment in a call or two; a single job is cheaper by get.
    listing = prune or len(desired.jobs) > 1
    with ThreadPoolExecutor(max_workers=2) as pool:
        run_future = pool.submit(_read_run_jobs, gcp, desired, listing)
        sched_future = pool.submit(_read_triggers, gcp, desired)
        run_jobs, triggers = run_future.result(), sched_future.result()
    changes: list[Change] = []
    for want in desired.jobs:
        actual = run_jobs.get(want.name)
        changes.append(_compare(
            "job", want.id, want.name, want.job, want,
            specs.run_job_view(want.body, MANAGED_LABELS),
            None if actual is None else specs.run_job_view(actual, MANAGED_LABELS), actual))
    if iam:
        changes += _iam_changes(gcp, desired, run_jobs)
    for trig in desired.triggers:
        actual = triggers.get(trig.name)
        changes.append(_compare(
            "trigger", trig.id, trig.name, trig.job, trig, specs.scheduler_job_view(trig.body),
            None if actual is None else specs.scheduler_job_view(actual), actual))
    ours = ownership.housejobs_jobs(run_jobs, desired.env)
    foreign = _foreign(desired, triggers, ours)
    skipped: list[Skip] = []
    if prune:
        pruned, skipped = _prune_changes(desired, run_jobs, triggers, ours)
        changes += pruned
    changes += _prune_foreign(desired, foreign, prune_foreign)
    return Plan(desired, changes, prune, skipped, foreign)


def _compare(kind: Kind, id: str, name: str, job: str, want: DesiredJob | DesiredTrigger,
             desired_view: dict[str, Any], actual_view: dict[str, Any] | None,
             actual: dict[str, Any] | None) -> Change:
    if actual_view is None:
        return Change(kind, "create", id, name, job, desired=want)
    lines = specs.diff(actual_view, desired_view)
    return Change(kind, "update" if lines else "unchanged", id, name, job, lines, want, actual)


def _iam_changes(gcp: Gcp, desired: Desired, run_jobs: dict[str, dict[str, Any]]) -> list[Change]:
    out: list[Change] = []
    policies: dict[str, Any] = {}
    for binding in desired.bindings:
        if binding.kind != "run-job":
            continue
        jid = binding.resource.rsplit("/", 1)[-1]
        job = jid.removeprefix("housejobs-").removesuffix(f"-{desired.env}")
        present = False
        if binding.resource in run_jobs:
            if binding.resource not in policies:
                policies[binding.resource] = read_policy(gcp, binding.resource)
            present = _has(policies[binding.resource], binding)
        out.append(Change("iam", "unchanged" if present else "grant", jid, binding.resource, job,
                          binding=binding))
    return out


def _foreign(desired: Desired, triggers: dict[str, dict[str, Any]], ours: dict[str, str]) -> list[ForeignTrigger]:
    # The jobs create-all-jobs manages here, and whatever else is labelled as this env's (a job that
    # left the catalog still runs when something starts it).
    targets = {**ours, **{j.id: j.job for j in desired.jobs}}
    return ownership.foreign_triggers(
        triggers, env=desired.env, project=desired.project, region=desired.region,
        catalog_triggers={t.name for t in desired.triggers}, targets=targets,
        catalog_jobs={j.id for j in desired.jobs}, scheduled={run_job_id(t.job, desired.env) for t in desired.triggers},
        ours=ours)


def _prune_changes(desired: Desired, run_jobs: dict[str, dict[str, Any]], triggers: dict[str, dict[str, Any]],
                   ours: dict[str, str]) -> tuple[list[Change], list[Skip]]:
    """What --prune deletes (resources proven to be housejobs' own in this env, see ownership.py), and
    the name-alikes it leaves alone, each with the reason."""
    keep_jobs = {j.name for j in desired.jobs}
    keep_triggers = {t.name for t in desired.triggers}
    out: list[Change] = []
    skipped: list[Skip] = []
    for name, trig in sorted(triggers.items()):
        tid = name.rsplit("/", 1)[-1]
        if name in keep_triggers:
            continue
        verdict = ownership.trigger_verdict(trig, env=desired.env, project=desired.project, region=desired.region,
                                            ours=ours)
        if verdict.owned:
            out.append(Change("trigger", "prune", tid, name, "", actual=trig))
        elif verdict.claimed or ownership.is_name_alike(tid, desired.env):
            skipped.append(Skip("trigger", tid, name, verdict.reason))
    for name, job in sorted(run_jobs.items()):
        jid = name.rsplit("/", 1)[-1]
        if name in keep_jobs:
            continue
        if jid in ours:
            out.append(Change("job", "prune", jid, name, ours[jid], actual=job))
        elif ownership.is_name_alike(jid, desired.env):
            skipped.append(Skip("job", jid, name, "not created by housejobs"))
    return out, skipped


def _prune_foreign(desired: Desired, foreign: list[ForeignTrigger], names: tuple[str, ...]) -> list[Change]:
    """Deletes for the foreign triggers named by --prune-foreign; refuses any other name before any write."""
    by_id = {f.id: f for f in foreign}
    out: list[Change] = []
    for asked in dict.fromkeys(names):
        found = by_id.get(asked.rsplit("/", 1)[-1])
        if found is None or (asked != found.id and asked != found.name):
            listed = ", ".join(f.id for f in foreign if not f.by_housejobs) or "none"
            raise UsageError(f"--prune-foreign {asked!r} is not a trigger outside the catalog that starts a "
                             f"housejobs job of {desired.env}",
                             hint=f"foreign triggers in {desired.parent}: {listed}")
        if found.by_housejobs:
            raise UsageError(f"--prune-foreign {asked!r} was created by housejobs",
                             hint="--prune deletes the triggers housejobs made that left the catalog")
        out.append(Change("trigger", "prune", found.id, found.name, found.job, foreign=found))
    return out


# --- applying -------------------------------------------------------------------------------------
def apply_plan(ctx: Context, plan: Plan, *, gcp: Gcp | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> ApplyReport:
    """Make the plan's writes in order, stopping at the first failure (a rerun picks up the rest)."""
    gcp = gcp or Gcp(ctx)
    report = ApplyReport()
    rank = {("job", False): 0, ("iam", False): 1, ("trigger", False): 2, ("trigger", True): 3, ("job", True): 4}
    for change in sorted(plan.writes, key=lambda c: rank[(c.kind, c.action == "prune")]):
        if should_stop():
            report.stopped = True
            break
        try:
            _apply(gcp, plan.desired, change)
        except (ApiAuthError, ApiStatusError, ApiUnavailable, ConfigError) as exc:
            report.failed, report.error = change, exc.line()
            ctx.logger.error(f"{change.action} {change.kind} {change.id} failed: {exc.line()}",
                             action=change.action, kind=change.kind, resource=change.id)
            break
        report.applied.append(change)
        ctx.logger.info(f"{change.action} {change.kind} {change.id}", action=change.action, kind=change.kind,
                        resource=change.id)
    return report


def _apply(gcp: Gcp, desired: Desired, change: Change) -> None:
    from google.cloud import run_v2, scheduler_v1
    from google.protobuf import field_mask_pb2

    what = f"{change.action} {change.kind} {change.id}"
    with google_errors(what):
        if change.kind == "job" and change.action == "create":
            assert isinstance(change.desired, DesiredJob)
            op = gcp.jobs.create_job(parent=desired.parent, job=_from_dict(run_v2.Job, change.desired.body),
                                     job_id=change.id, timeout=TIMEOUT_S)
            op.result(timeout=OPERATION_TIMEOUT_S)
        elif change.kind == "job" and change.action == "update":
            assert isinstance(change.desired, DesiredJob) and change.actual is not None
            body = specs.run_update_body(change.desired.body, change.actual)
            job = _from_dict(run_v2.Job, {**body, "name": change.name})
            gcp.jobs.update_job(job=job, timeout=TIMEOUT_S).result(timeout=OPERATION_TIMEOUT_S)
        elif change.kind == "job" and change.action == "prune":
            gcp.jobs.delete_job(name=change.name, timeout=TIMEOUT_S).result(timeout=OPERATION_TIMEOUT_S)
        elif change.kind == "iam":
            assert change.binding is not None
            _grant(gcp, change.binding)
        elif change.kind == "trigger" and change.action == "create":
            assert isinstance(change.desired, DesiredTrigger)
            gcp.scheduler.create_job(parent=desired.parent, job=_from_dict(scheduler_v1.Job, change.desired.body),
                                     timeout=TIMEOUT_S)
        elif change.kind == "trigger" and change.action == "update":
            assert isinstance(change.desired, DesiredTrigger)
            # A mask of the fields housejobs manages: anything else on the job is left alone.
            mask = field_mask_pb2.FieldMask(paths=["description", "schedule", "time_zone", "http_target",
                                                   "retry_config", "attempt_deadline"])
            gcp.scheduler.update_job(job=_from_dict(scheduler_v1.Job, change.desired.body), update_mask=mask,
                                     timeout=TIMEOUT_S)
        elif change.kind == "trigger" and change.action == "prune":
            gcp.scheduler.delete_job(name=change.name, timeout=TIMEOUT_S)


def _grant(gcp: Gcp, binding: Binding) -> None:
    """Read-modify-write with the policy's etag: other members and roles on the job are kept, and a
    concurrent change makes this fail (409) rather than be overwritten."""
    from google.iam.v1 import policy_pb2

    policy = gcp.jobs.get_iam_policy(request={"resource": binding.resource}, timeout=TIMEOUT_S)
    if _has(policy, binding):
        return
    for b in policy.bindings:
        if b.role == binding.role and not b.HasField("condition"):
            b.members.append(binding.member)
            break
    else:
        policy.bindings.append(policy_pb2.Binding(role=binding.role, members=[binding.member]))
    gcp.jobs.set_iam_policy(request={"resource": binding.resource, "policy": policy}, timeout=TIMEOUT_S)


def check_bindings(ctx: Context, gcp: Gcp | None = None) -> list[str]:
    """What is missing of the bindings on Cloud Run Jobs (job-level policies). Secret, BigQuery and
    project bindings are not read here: see `required_bindings` for those."""
    gcp = gcp or Gcp(ctx)
    problems: list[str] = []
    policies: dict[str, Any] = {}
    for binding in required_bindings(ctx):
        if binding.kind != "run-job":
            continue
        jid = binding.resource.rsplit("/", 1)[-1]
        if binding.resource not in policies:
            try:
                policies[binding.resource] = read_policy(gcp, binding.resource)
            except ApiStatusError as exc:
                if exc.status != 404:
                    raise
                policies[binding.resource] = None
        policy = policies[binding.resource]
        if policy is None:
            problems.append(f"{jid}: job missing, so {binding.member} has no {binding.role} on it")
        elif not _has(policy, binding):
            problems.append(f"{jid}: {binding.member} lacks {binding.role}")
    return problems
