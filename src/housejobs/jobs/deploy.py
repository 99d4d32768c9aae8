"""Deployment jobs: create-all-jobs, pause, resume, and the list-jobs --env report.

create-all-jobs, pause and resume are runs like any job (one result, one summary, prod confirmed);
list-jobs --env is a report (its view and its JSON document). The Google libraries load only once one of
these runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from housejobs.context import Context
from housejobs.errors import HousejobsError, UsageError, choices_hint
from housejobs.results import JobResult, Lines, Outcome, Table, View
from housejobs.threads import in_thread

if TYPE_CHECKING:
    from housejobs.provision.desired import Desired


# --- create-all-jobs ------------------------------------------------------------------------------
async def create_all_jobs(ctx: Context, *, plan_only: bool, only: str | None, prune: bool,
                          image: str | None, prune_foreign: tuple[str, ...] = ()) -> JobResult:
    from housejobs.jobs import registry
    from housejobs.provision.desired import build_desired

    desired = build_desired(ctx, registry.lookup(ctx.settings.jobs_dir), only=only, image=image)
    where = f"Cloud Run + Scheduler {desired.parent} ({desired.env})"
    try:
        result = await _create_all_jobs(ctx, desired, plan_only=plan_only, prune=prune, prune_foreign=prune_foreign)
    except HousejobsError as exc:
        exc.target = where
        raise
    result.target = where
    return result


async def _create_all_jobs(ctx: Context, desired: Desired, *, plan_only: bool, prune: bool,
                           prune_foreign: tuple[str, ...]) -> JobResult:
    from housejobs.provision.apply import apply_plan
    from housejobs.provision.plan import compute_plan

    plan = await in_thread(compute_plan, ctx, desired, prune=prune, prune_foreign=prune_foreign)
    counts = plan.counts()
    # The plan as views; the CLI adds their text to the JSON document (`lines`), as it always had them.
    details: dict[str, Any] = {"plan": plan.as_dict()}
    views = plan.views()
    pending = {k: v for k, v in counts.items() if k != "unchanged" and v}
    summary = ", ".join(f"{v} to {k}" for k, v in pending.items()) or "no changes"
    # A double trigger is no change of housejobs' own, but the one line everyone reads must not hide it.
    warning = ""
    if plan.warnings:
        n = len(plan.warnings)
        verb = "triggers also start" if n > 1 else "trigger also starts"
        warning = f"; warning: {n} other {verb} a housejobs job (see the plan)"
    if plan_only:
        return JobResult(Outcome.DRY_RUN, f"plan: {summary}{warning}", counts, details, views=views)
    if plan.in_sync:
        return JobResult(Outcome.SKIPPED, f"no changes: every job and trigger is in sync{warning}", counts, details,
                         views=views)
    report = await in_thread(apply_plan, ctx, plan, should_stop=ctx.stop.is_set)
    done = len(report.applied)
    details["applied"] = [f"{c.action} {c.kind} {c.id}" for c in report.applied]
    counts = {**counts, "applied": done}
    if report.failed is not None:
        failure = {"unit": f"{report.failed.action} {report.failed.kind} {report.failed.id}",
                   "reason": report.error}
        left = len(plan.writes) - done
        message = f"{done} of {len(plan.writes)} changes applied; {left} left for a rerun"
        return JobResult(Outcome.PARTIAL if done else Outcome.FAILED, message, counts, details,
                         failures=[failure], views=views)
    if report.stopped:
        return JobResult(Outcome.INTERRUPTED, f"stopped after {done} of {len(plan.writes)} changes; a rerun "
                         "applies the rest", counts, details, signal=ctx.stop.signal, views=views)
    past = {"create": "created", "update": "updated", "grant": "granted", "prune": "pruned"}
    return JobResult(Outcome.APPLIED, ", ".join(f"{v} {past[k]}" for k, v in pending.items()) + warning, counts,
                     details, views=views)


# --- pause / resume -------------------------------------------------------------------------------
async def set_paused(ctx: Context, *, job: str, trigger: str | None, pause: bool) -> JobResult:
    result = await in_thread(_set_paused, ctx, job, trigger, pause)
    from housejobs.target import project_region

    result.target = f"Cloud Scheduler {project_region(ctx.settings)} ({ctx.env})"
    return result


def _set_paused(ctx: Context, job: str, trigger: str | None, pause: bool) -> JobResult:
    from housejobs.gcp.clients import Gcp
    from housejobs.gcp.errors import google_errors
    from housejobs.gcp.protos import to_dict
    from housejobs.jobs import registry
    from housejobs.provision.desired import build_desired

    desired = build_desired(ctx, registry.lookup(ctx.settings.jobs_dir), only=job)
    triggers = [t for t in desired.triggers if trigger is None or t.trigger == trigger]
    if not desired.triggers:
        raise UsageError(f"{job} is a manual job: it has no triggers to pause or resume")
    if not triggers:
        raise UsageError(f"{job} has no trigger {trigger!r}",
                         hint=choices_hint(trigger or "", [t.trigger for t in desired.triggers]))
    gcp = Gcp(ctx.settings)
    verb, want = ("pause", "PAUSED") if pause else ("resume", "ENABLED")
    changed, already = [], []
    for t in triggers:
        missing = UsageError(f"trigger {t.id} does not exist in {desired.env}",
                             hint=f"create it with `housejobs create-all-jobs --env {desired.env}`")
        with google_errors(f"{verb} trigger {t.id}", not_found=missing):
            state = to_dict(gcp.scheduler.get_job(name=t.name, timeout=60)).get("state", "")
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
async def list_jobs_env(ctx: Context) -> JobResult:
    """A report: each job's and trigger's state against the catalog, the double triggers, the last runs."""
    from housejobs.catalog import load_catalog
    from housejobs.jobs import registry
    from housejobs.provision.desired import build_desired
    from housejobs.provision.plan import compute_plan, sync_state

    env = ctx.env or ""
    desired = build_desired(ctx, registry.lookup(ctx.settings.jobs_dir))
    plan = await in_thread(compute_plan, ctx, desired, iam=False)

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
                             "time_zone": body["timeZone"], "sync": sync_state(tc.action),
                             "state": (tc.actual or {}).get("state", "missing")})
        sync = sync_state(change.action)
        if sync == "in sync" and any(t["sync"] != "in sync" for t in triggers):
            sync = "drift"
        # Triggers outside the catalog that start this job too: it runs more often than the catalog says.
        foreign = [f.as_dict() for f in plan.foreign if f.target == job.id]
        rows.append({"name": job.job, "id": job.id, "kind": catalog[job.job].kind, "state": sync,
                     "triggers": triggers, "foreign_triggers": foreign,
                     "last_execution": _last_execution(change.actual)})
    # Those on a labelled job that left the catalog have no row of their own.
    orphans = [f for f in plan.foreign if f.target not in {j.id for j in plan.desired.jobs}]
    document = {"env": env, "project": plan.desired.project, "region": plan.desired.region, "jobs": rows,
                "foreign_triggers": [f.as_dict() for f in plan.foreign]}
    # One row per trigger (reminder has three); the job's own cells only on its first row. A warning is a
    # note under them (a shorter row): it runs on from the trigger column and widens none, since a long
    # warning would push every row's last-execution cell off the screen.
    table: list[tuple[str, ...]] = []
    for r in rows:
        last = r["last_execution"]
        shown = [(f"{t['name']}: " if t["name"] != "schedule" else "") + f"{t['schedule']} {t['time_zone']} "
                 + t["state"] + ("" if t["sync"] == "in sync" else f" ({t['sync']})") for t in r["triggers"]]
        shown = shown or ["—"]
        table.append((r["name"], r["kind"], r["state"], shown[0],
                      f"{last['status']} {last['time']}" if last else "—"))
        table += [("", "", "", more, "") for more in shown[1:]]
        # `!` a double trigger; `·` a paused one, which starts nothing now.
        table += [("", "", "", f"{'!' if f['active'] else '·'} {f['warning']}") for f in r["foreign_triggers"]]
    views: list[View] = [Table(("NAME", "KIND", "STATE", "TRIGGER", "LAST EXECUTION"), tuple(table),
                               title=f"{env} · project {plan.desired.project} · region {plan.desired.region}")]
    if orphans:
        views.append(Lines(tuple(f"{'!' if f.active else '·'} {f.target}: {f.warning()}" for f in orphans)))
    return JobResult(Outcome.SKIPPED, f"{len(rows)} jobs", views=views, document=document)


def _last_execution(job: dict[str, Any] | None) -> dict[str, str] | None:
    ref = (job or {}).get("latestCreatedExecution") or {}
    if not ref.get("name"):
        return None
    status = str(ref.get("completionStatus", "")).removeprefix("EXECUTION_").lower().replace("_", " ")
    if not status or status == "completion status unspecified":
        status = "running" if not ref.get("completionTime") else "unknown"
    return {"name": ref["name"].rsplit("/", 1)[-1], "status": status,
            "time": ref.get("completionTime") or ref.get("createTime", "")}
