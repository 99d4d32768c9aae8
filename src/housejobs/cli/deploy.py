"""The deployment commands behind cli/main.py: create-all-jobs, list-jobs --env, pause, resume, doctor.

create-all-jobs, pause and resume are runs like any job (one result, one summary, prod confirmed);
list-jobs --env and doctor are reports that print a table or a checklist and set the exit code.
The Google libraries load only once one of these runs.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from housejobs.context import Context, Options, Runtime
from housejobs.errors import HousejobsError, UsageError
from housejobs.redact import redact
from housejobs.results import EXIT_CODES, JobResult, Outcome
from housejobs.target import Target


# --- create-all-jobs ------------------------------------------------------------------------------
async def create_all_jobs(ctx: Context, *, plan_only: bool, only: str | None, prune: bool,
                          image: str | None) -> JobResult:
    from housejobs.provision import apply_plan, build_desired, compute_plan

    desired = build_desired(ctx, only=only, image=image)
    ctx.target = Target("gcp", "", f"Cloud Run + Scheduler {desired.parent} ({desired.env})")
    plan = await asyncio.to_thread(compute_plan, ctx, desired, prune=prune)
    counts = plan.counts()
    details: dict[str, Any] = {"plan": plan.as_dict(), "lines": plan.lines()}
    pending = {k: v for k, v in counts.items() if k != "unchanged" and v}
    summary = ", ".join(f"{v} to {k}" for k, v in pending.items()) or "no changes"
    if plan_only:
        return JobResult(Outcome.DRY_RUN, f"plan: {summary}", counts, details)
    if plan.in_sync:
        return JobResult(Outcome.SKIPPED, "no changes: every job and trigger is in sync", counts, details)
    report = await asyncio.to_thread(apply_plan, ctx, plan, should_stop=ctx.stop_event.is_set)
    done = len(report.applied)
    details["applied"] = [f"{c.action} {c.kind} {c.id}" for c in report.applied]
    counts = {**counts, "applied": done}
    if report.failed is not None:
        failure = {"unit": f"{report.failed.action} {report.failed.kind} {report.failed.id}",
                   "reason": report.error}
        left = len(plan.writes) - done
        message = f"{done} of {len(plan.writes)} changes applied; {left} left for a rerun"
        return JobResult(Outcome.PARTIAL if done else Outcome.FAILED, message, counts, details,
                         failures=[failure])
    if report.stopped:
        return JobResult(Outcome.INTERRUPTED, f"stopped after {done} of {len(plan.writes)} changes; a rerun "
                         "applies the rest", counts, details, signal=ctx.stop_signal)
    past = {"create": "created", "update": "updated", "grant": "granted", "prune": "pruned"}
    return JobResult(Outcome.APPLIED, ", ".join(f"{v} {past[k]}" for k, v in pending.items()), counts, details)


# --- pause / resume -------------------------------------------------------------------------------
async def set_paused(ctx: Context, *, job: str, trigger: str | None, pause: bool) -> JobResult:
    return await asyncio.to_thread(_set_paused, ctx, job, trigger, pause)


def _set_paused(ctx: Context, job: str, trigger: str | None, pause: bool) -> JobResult:
    from google.api_core import exceptions as gexc

    from housejobs.provision import Gcp, build_desired, google_errors, to_dict

    desired = build_desired(ctx, only=job)
    ctx.target = Target("gcp", "", f"Cloud Scheduler {desired.parent} ({desired.env})")
    triggers = [t for t in desired.triggers if trigger is None or t.trigger == trigger]
    if not desired.triggers:
        raise UsageError(f"{job} is a manual job: it has no triggers to pause or resume")
    if not triggers:
        names = ", ".join(t.trigger for t in desired.triggers)
        raise UsageError(f"{job} has no trigger {trigger!r}", hint=f"its triggers: {names}")
    gcp = Gcp(ctx)
    verb, want = ("pause", "PAUSED") if pause else ("resume", "ENABLED")
    changed, already = [], []
    for t in triggers:
        with google_errors(f"{verb} trigger {t.id}"):
            try:
                state = to_dict(gcp.scheduler.get_job(name=t.name, timeout=60)).get("state", "")
            except gexc.NotFound:
                raise UsageError(f"trigger {t.id} does not exist in {desired.env}",
                                 hint=f"create it with `housejobs create-all-jobs --env {desired.env}`") from None
            if state == want:
                already.append(t.id)
                continue
            (gcp.scheduler.pause_job if pause else gcp.scheduler.resume_job)(name=t.name, timeout=60)
        ctx.logger.info(f"{verb}d trigger {t.id}", trigger=t.id)
        changed.append(t.id)
    details = {verb + "d": changed, "already": already}
    counts = {verb + "d": len(changed), "already": len(already)}
    if not changed:
        return JobResult(Outcome.SKIPPED, f"every trigger of {job} is already {want}", counts, details)
    return JobResult(Outcome.APPLIED, f"{verb}d " + ", ".join(changed), counts, details)


# --- list-jobs --env ------------------------------------------------------------------------------
def list_jobs_env(rt: Runtime, *, env: str, as_json: bool) -> int:
    from housejobs.provision import compute_plan

    ctx: Context | None = None
    try:
        ctx = Context(rt, Options(env=env, uses=("cloud-run",)), "list-jobs")
        plan = compute_plan(ctx, iam=False)
    except HousejobsError as exc:
        rt.stderr.write(redact(f"error: {exc.line()}") + "\n")
        return EXIT_CODES[exc.outcome]
    finally:
        if ctx is not None:
            ctx.close()
    from housejobs.catalog import load_catalog

    catalog = load_catalog(ctx.settings.jobs_dir)
    rows: list[dict[str, Any]] = []
    for job in plan.desired.jobs:
        change = plan.find("job", job.id)
        assert change is not None
        triggers: list[dict[str, Any]] = []
        for trig in (t for t in plan.desired.triggers if t.job == job.job):
            tc = plan.find("trigger", trig.id)
            assert tc is not None
            body = trig.body
            triggers.append({"name": trig.trigger, "id": trig.id, "schedule": body["schedule"],
                             "time_zone": body["timeZone"], "sync": _state(tc.action),
                             "state": (tc.actual or {}).get("state", "missing")})
        sync = _state(change.action)
        if sync == "in sync" and any(t["sync"] != "in sync" for t in triggers):
            sync = "drift"
        rows.append({"name": job.job, "id": job.id, "kind": catalog[job.job].kind, "state": sync,
                     "triggers": triggers, "last_execution": _last_execution(change.actual)})
    if as_json:
        rt.stdout.write(json.dumps({"env": env, "project": plan.desired.project, "region": plan.desired.region,
                                    "jobs": rows}) + "\n")
        return 0
    # One row per trigger (reminder has three); the job's own cells only on its first row.
    table = [("NAME", "KIND", "STATE", "TRIGGER", "LAST EXECUTION")]
    for r in rows:
        last = r["last_execution"]
        shown = [(f"{t['name']}: " if t["name"] != "schedule" else "") + f"{t['schedule']} {t['time_zone']} "
                 + t["state"] + ("" if t["sync"] == "in sync" else f" ({t['sync']})") for t in r["triggers"]]
        table.append((r["name"], r["kind"], r["state"], shown[0] if shown else "—",
                      f"{last['status']} {last['time']}" if last else "—"))
        table += [("", "", "", more, "") for more in shown[1:]]
    widths = [max(len(row[i]) for row in table) for i in range(4)]
    lines = [f"{env} · project {plan.desired.project} · region {plan.desired.region}"]
    lines += [("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4]).rstrip()
              for row in table]
    rt.stdout.write("\n".join(lines) + "\n")
    return 0


def _state(action: str) -> str:
    return {"create": "missing", "update": "drift", "unchanged": "in sync"}.get(action, action)


def _last_execution(job: dict[str, Any] | None) -> dict[str, str] | None:
    ref = (job or {}).get("latestCreatedExecution") or {}
    if not ref.get("name"):
        return None
    status = str(ref.get("completionStatus", "")).removeprefix("EXECUTION_").lower().replace("_", " ")
    if not status or status == "completion status unspecified":
        status = "running" if not ref.get("completionTime") else "unknown"
    return {"name": ref["name"].rsplit("/", 1)[-1], "status": status,
            "time": ref.get("completionTime") or ref.get("createTime", "")}


# --- doctor ---------------------------------------------------------------------------------------
@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def doctor(rt: Runtime, *, env: str, as_json: bool, deadline: float | None, debug: bool) -> int:
    """A checklist; exit 0 only if every check passes, 2 if the configuration does not resolve."""
    from housejobs.provision import build_desired

    checks: list[Check] = []
    ctx: Context | None = None
    try:
        try:
            ctx = Context(rt, Options(env=env, deadline=deadline, debug=debug, uses=("cloud-run", "admin")), "doctor")
            desired = build_desired(ctx)
        except HousejobsError as exc:
            checks.append(Check("config resolves", False, exc.line()))
            return _report(rt, env, checks, as_json, config_error=True)
        checks.append(Check("config resolves", True,
                            f"project {desired.project}, region {desired.region}, image {desired.image}, "
                            f"{len(desired.jobs)} jobs, {len(desired.triggers)} triggers"))
        checks.append(_run_check("Google credentials usable", lambda: _credentials(ctx)))
        secrets = sorted({b.resource.rsplit("/", 1)[-1] for b in desired.bindings if b.kind == "secret"})
        for name in secrets:
            checks.append(_run_check(f"secret {name} readable", lambda name=name: _read_secret(ctx, name)))
        checks += _api_checks(ctx)
        checks.append(_run_check("jobs and triggers in sync", lambda: _in_sync(ctx)))
        checks.append(_run_check("IAM bindings on the jobs", lambda: _bindings(ctx)))
        return _report(rt, env, checks, as_json, config_error=False)
    finally:
        if ctx is not None:
            ctx.close()


def _run_check(name: str, fn: Any) -> Check:
    try:
        return Check(name, True, str(fn()))
    except HousejobsError as exc:
        return Check(name, False, exc.line())
    except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others
        return Check(name, False, f"internal error: {exc.__class__.__name__}")


def _credentials(ctx: Context) -> str:
    endpoints = ("run_api_endpoint", "scheduler_api_endpoint", "secretmanager_api_endpoint")
    if all(ctx.settings.get(k) for k in endpoints):
        return "anonymous: every Google API endpoint is overridden (HOUSEJOBS_*_API_ENDPOINT)"
    import google.auth
    from google.auth import exceptions as auth_exc
    from google.auth.transport.requests import Request

    from housejobs.errors import ConfigError
    from housejobs.gcp.specs import CLOUD_PLATFORM

    try:
        creds, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
        creds.refresh(Request())  # type: ignore[no-untyped-call]
    except auth_exc.DefaultCredentialsError:
        raise ConfigError("no Google credentials", hint="run `gcloud auth application-default login`") from None
    except auth_exc.GoogleAuthError as exc:
        raise ConfigError(f"Google credentials unusable: {exc.__class__.__name__}") from None
    who = getattr(creds, "service_account_email", None) or creds.__class__.__name__
    return f"application default credentials ({who})"


def _read_secret(ctx: Context, name: str) -> str:
    from housejobs.errors import SecretError
    from housejobs.secrets import read_secret

    # Always Secret Manager, even when the value is also in this shell's environment: that is where
    # the Cloud Run Jobs read it from.
    reader = ctx.runtime.secret_reader or read_secret
    try:
        reader(ctx.settings, name)
    except SecretError as exc:
        raise SecretError(exc.message, hint="the Cloud Run Jobs read it from Secret Manager") from None
    return "latest version accessible"


def _api_checks(ctx: Context) -> list[Check]:
    async def probe() -> list[Check]:
        out: list[Check] = []
        try:
            client = ctx.admin_client()
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
            await client.aclose()
        return out

    return asyncio.run(probe())


def _in_sync(ctx: Context) -> str:
    from housejobs.errors import ConfigError
    from housejobs.provision import compute_plan

    plan = compute_plan(ctx, iam=False)
    # IAM grants are the next check's business; this one is about the jobs and triggers themselves.
    off = [f"{c.kind} {c.id} {_state(c.action)}" for c in plan.writes if c.kind != "iam"]
    if off:
        raise ConfigError("out of sync: " + ", ".join(off),
                          hint=f"see `housejobs create-all-jobs --env {ctx.env} --plan`")
    return (f"{sum(c.kind == 'job' for c in plan.changes)} jobs and "
            f"{sum(c.kind == 'trigger' for c in plan.changes)} triggers match the catalog")


def _bindings(ctx: Context) -> str:
    from housejobs.errors import ConfigError
    from housejobs.provision import check_bindings, required_bindings

    problems = check_bindings(ctx)
    if problems:
        raise ConfigError("; ".join(problems), hint=f"`housejobs create-all-jobs --env {ctx.env}` grants them")
    count = sum(b.kind == "run-job" for b in required_bindings(ctx))
    return (f"{count} scheduler bindings present on the jobs (secret and BigQuery bindings are listed by "
            "create-all-jobs --plan; their policies are not read here)")


def _report(rt: Runtime, env: str, checks: list[Check], as_json: bool, *, config_error: bool) -> int:
    failed = [c for c in checks if not c.ok]
    code = 2 if config_error else (1 if failed else 0)
    if as_json:
        doc = {"env": env, "ok": not failed, "exit_code": code,
               "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks]}
        rt.stdout.write(redact(json.dumps(doc)) + "\n")
        return code
    lines = [f"{'✓' if c.ok else '✗'} {c.name}: {c.detail}" for c in checks]
    lines.append(f"doctor {env}: {len(checks) - len(failed)} of {len(checks)} checks passed")
    rt.stdout.write(redact("\n".join(lines)) + "\n")
    return code
