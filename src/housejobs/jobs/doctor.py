"""The deployment checks `doctor` prints and `smoke` starts with: one list, one copy of each check.

    config resolves                 the environment's settings and the catalog build a deployment
    Google credentials usable       application default credentials refresh (or every endpoint is a fake)
    network                         the CA bundle in effect, and the proxy (masked) each client's URL takes
    secret NAME readable            each secret the jobs reference, from Secret Manager
    API health / API auth           GET /healthz, then GET /admin/orgs with the root key
    jobs and triggers in sync       Cloud Run jobs and Scheduler triggers match the catalog
    no other trigger starts a job   no Scheduler job outside the catalog starts one of this env's jobs
    IAM bindings on the jobs        the scheduler account's roles on the triggered jobs

Every check reads; none changes anything. A check that raises a housejobs error fails with its one
line; one broken check never hides the others. The Google libraries load only inside the checks.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from housejobs.errors import ConfigError, HousejobsError, SecretError
from housejobs.results import EXIT_CODES, Check, JobResult, Lines, Outcome
from housejobs.results import Checklist as ChecklistView
from housejobs.settings import CHECK_DEADLINE_S
from housejobs.threads import in_thread

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.gcp.clients import Gcp
    from housejobs.provision.desired import Desired
    from housejobs.provision.plan import Plan


@dataclass
class Checklist:
    checks: list[Check] = field(default_factory=list)
    config_error: bool = False  # the configuration did not resolve: nothing else could be checked

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def exit_code(self) -> int:
        return 2 if self.config_error else (1 if self.failed else 0)

    def summary(self, env: str) -> str:
        return f"doctor {env}: {len(self.checks) - len(self.failed)} of {len(self.checks)} checks passed"


async def run_checks(ctx: Context) -> Checklist:
    """Every check, in order. Blocking Google calls run in worker threads, so a caller's event loop
    (smoke's, which follows executions meanwhile) is never held."""
    from housejobs.jobs import registry
    from housejobs.provision.desired import build_desired

    try:
        desired = build_desired(ctx, registry.lookup(ctx.settings.jobs_dir))
    except HousejobsError as exc:
        return Checklist([Check("config resolves", False, exc.line())], config_error=True)
    out = Checklist([Check("config resolves", True,
                           f"project {desired.project}, region {desired.region}, image {desired.image}, "
                           f"{len(desired.jobs)} jobs, {len(desired.triggers)} triggers")])
    out.checks.append(await _run("Google credentials usable", lambda: _credentials(ctx)))
    out.checks.append(_network(ctx))
    secrets = sorted({b.resource.rsplit("/", 1)[-1] for b in desired.bindings if b.kind == "secret"})
    for name in secrets:
        out.checks.append(await _run(f"secret {name} readable", functools.partial(_read_secret, ctx, name)))
    out.checks += await _api_checks(ctx)
    deployment = _Deployment(ctx, desired)
    out.checks.append(await _run("jobs and triggers in sync", deployment.in_sync))
    out.checks.append(await _run("no other trigger starts these jobs", deployment.no_double_triggers))
    out.checks.append(await _run("IAM bindings on the jobs", deployment.bindings))
    out.checks.append(await _logs_readable(ctx, desired.project, desired.region))
    return out


async def _logs_readable(ctx: Context, project: str, region: str) -> Check:
    """Whether the caller can read the jobs' logs: where `run`, `logs`, `history` and `smoke` read what each
    execution did. One entries:list of one entry; a 403 names roles/logging.viewer."""
    from datetime import timedelta

    from housejobs.gcp.cloud_logging import LogEntries
    from housejobs.gcp.log_query import quoted, stamp

    name = "jobs' logs readable (Cloud Logging)"
    logs = LogEntries(ctx.settings, project, clock=ctx.clock, policy=ctx.retry_policy())
    query = (f'resource.type="cloud_run_job" AND resource.labels.location={quoted(region)} AND '
             f"timestamp>={quoted(stamp(ctx.clock.now() - timedelta(days=1)))}")
    try:
        await logs.page(query, page_size=1)
    except HousejobsError as exc:
        return Check(name, False, exc.line())
    finally:
        logs.close()
    return Check(name, True, f"entries:list on projects/{project} answered")


async def _run(name: str, fn: Callable[[], str]) -> Check:
    try:
        return Check(name, True, str(await in_thread(fn)))
    except HousejobsError as exc:
        return Check(name, False, exc.line())
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        return Check(name, False, f"internal error: {exc.__class__.__name__}")


def _network(ctx: Context) -> Check:
    """What `config show` says too (housejobs.network.report): fails on a bad CA path or proxy value."""
    from housejobs.api.network import report

    found = report(ctx.runtime.environ, ctx.settings, ctx.env)
    problems = [found["ca_error"]] if found["ca_error"] else []
    problems += [f"{c['client']}: {c['error']}" for c in found["clients"] if c["error"]]
    if problems:
        return Check("network", False, "; ".join(problems))
    return Check("network", True, "; ".join([f"CA bundle {found['ca_bundle']}"] + [
        f"{c['client']} {c['route']}" for c in found["clients"] if c["url"]]))


def _credentials(ctx: Context) -> str:
    s = ctx.settings
    if s.run_api_endpoint and s.scheduler_api_endpoint and s.secretmanager_api_endpoint and s.logging_api_endpoint:
        return "anonymous: every Google API endpoint is overridden (HOUSEJOBS_*_API_ENDPOINT)"
    from housejobs.gcp.clients import default_credentials

    return f"application default credentials ({default_credentials()})"


def _read_secret(ctx: Context, name: str) -> str:
    from housejobs.gcp.secrets import read_secret

    # Always Secret Manager, even when the value is also in this shell's environment: that is where
    # the Cloud Run Jobs read it from.
    reader = ctx.runtime.secret_reader or read_secret
    try:
        reader(ctx.settings, name)
    except SecretError as exc:
        raise SecretError(exc.message, hint="the Cloud Run Jobs read it from Secret Manager") from None
    return "latest version accessible"


async def _api_checks(ctx: Context) -> list[Check]:
    out: list[Check] = []
    try:
        # One bound for a check, wherever it runs (doctor, or the checks smoke starts with): --deadline,
        # else CHECK_DEADLINE_S, never the 60 s a job's own calls get.
        client = ctx.admin_client(default_deadline=CHECK_DEADLINE_S)
    except HousejobsError as exc:
        return [Check("API health", False, exc.line()), Check("API auth", False, exc.line())]
    try:
        health = await client.get("/healthz")
        ok = isinstance(health.data, dict) and health.data.get("status") == "ok"
        out.append(Check("API health", ok, f"GET {ctx.api_target.url}/healthz → {health.status} "
                         + json.dumps(health.data)))
    except HousejobsError as exc:
        out.append(Check("API health", False, exc.line()))
    try:
        orgs = await client.get("/admin/orgs", params={"status": "active", "page_size": 1})
        out.append(Check("API auth", True, f"GET /admin/orgs?page_size=1 → {orgs.status} with the root key"))
    except HousejobsError as exc:
        out.append(Check("API auth", False, exc.line()))
    finally:
        await client.aclose()  # on this loop: doctor runs the checks in a loop of their own
    return out


class _Deployment:
    """The three checks about what is deployed: one read of the jobs and triggers (with the IAM policies
    of the jobs found, for the last check) serves them all."""

    def __init__(self, ctx: Context, desired: Desired) -> None:
        self.ctx, self.desired = ctx, desired
        self._gcp: Gcp | None = None
        self._plan: Plan | None = None

    def plan(self) -> tuple[Gcp, Plan]:
        from housejobs.gcp.clients import Gcp
        from housejobs.provision.plan import compute_plan

        self._gcp = self._gcp or Gcp(self.ctx.settings)
        if self._plan is None:
            # IAM is read by its own check: a policy that cannot be read fails only that one.
            self._plan = compute_plan(self.ctx, self.desired, gcp=self._gcp, iam=False)
        return self._gcp, self._plan

    def in_sync(self) -> str:
        from housejobs.provision.plan import sync_state

        _, plan = self.plan()
        # IAM grants are another check's business; this one is about the jobs and triggers themselves.
        off = [f"{c.kind} {c.id} {sync_state(c.action)}" for c in plan.writes if c.kind != "iam"]
        if off:
            raise ConfigError("out of sync: " + ", ".join(off),
                              hint=f"see `housejobs create-all-jobs --env {self.ctx.env} --plan`")
        return (f"{sum(c.kind == 'job' for c in plan.changes)} jobs and "
                f"{sum(c.kind == 'trigger' for c in plan.changes)} triggers match the catalog")

    def no_double_triggers(self) -> str:
        _, plan = self.plan()
        running = [f for f in plan.foreign if f.active]
        if running:
            raise ConfigError("; ".join(f"{f.target} {f.warning()}" for f in running),
                              hint=f"see `housejobs create-all-jobs --env {self.ctx.env} --plan`")
        # A paused one starts nothing now: noted, not failed.
        paused = ", ".join(f"{f.id} on {f.target}" for f in plan.foreign if not f.active)
        return (f"no Scheduler job outside the catalog starts a housejobs job of {self.ctx.env}"
                + (f" (paused, so not running: {paused})" if paused else ""))

    def bindings(self) -> str:
        """The scheduler account's roles on the jobs, as create-all-jobs plans them (plan.iam_changes)."""
        from housejobs.provision.plan import iam_changes

        gcp, plan = self.plan()
        live = plan.live_jobs
        changes = iam_changes(gcp, self.desired, live)
        problems = [f"{c.id}: {c.binding.member} lacks {c.binding.role}" if c.name in live else
                    f"{c.id}: job missing, so {c.binding.member} has no {c.binding.role} on it"
                    for c in changes if c.action == "grant" and c.binding is not None]
        if problems:
            raise ConfigError("; ".join(problems),
                              hint=f"`housejobs create-all-jobs --env {self.ctx.env}` grants them")
        return (f"{len(changes)} scheduler bindings present on the jobs (secret and BigQuery bindings are listed "
                "by create-all-jobs --plan; their policies are not read here)")


# --- doctor, the report -----------------------------------------------------------------------------------
async def doctor(ctx: Context) -> JobResult:
    """The checklist as a report: exit 0 only if every check passes, 1 if one fails, 2 if the configuration
    does not resolve."""
    return checklist_result(ctx.env or "", await run_checks(ctx))


def config_refused(env: str) -> Callable[[HousejobsError], JobResult]:
    """When the context itself cannot be built (an unknown env, a broken catalog): still a checklist."""
    def result(exc: HousejobsError) -> JobResult:
        return checklist_result(env, Checklist([Check("config resolves", False, exc.line())], config_error=True))

    return result


def checklist_result(env: str, checklist: Checklist) -> JobResult:
    outcome = Outcome.REFUSED if checklist.config_error else (Outcome.FAILED if checklist.failed else Outcome.SKIPPED)
    summary = checklist.summary(env)
    document = {"env": env, "ok": not checklist.failed, "exit_code": EXIT_CODES[outcome],
                "checks": [c.as_dict() for c in checklist.checks]}
    return JobResult(outcome, summary, views=[ChecklistView(tuple(checklist.checks)), Lines((summary,))],
                     document=document)

