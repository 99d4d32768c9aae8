"""Applying a plan: each write in order (jobs, grants, triggers, then prunes), stopping at the first
failure so that a rerun picks up the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from housejobs.errors import ApiAuthError, ApiStatusError, ApiUnavailable, ConfigError
from housejobs.gcp import protos, specs
from housejobs.gcp.clients import Gcp
from housejobs.gcp.errors import google_errors
from housejobs.provision.desired import Binding, Desired, DesiredJob, DesiredTrigger
from housejobs.provision.plan import TIMEOUT_S, Change, Plan, has_binding

if TYPE_CHECKING:
    from housejobs.context import Context

OPERATION_TIMEOUT_S = 600.0


@dataclass
class ApplyReport:
    applied: list[Change] = field(default_factory=list)
    failed: Change | None = None
    error: str = ""
    stopped: bool = False  # a stop was requested; the rest is left for a rerun


def apply_plan(ctx: Context, plan: Plan, *, gcp: Gcp | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> ApplyReport:
    """Make the plan's writes in order, stopping at the first failure (a rerun picks up the rest)."""
    gcp = gcp or Gcp(ctx.settings)
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
    what = f"{change.action} {change.kind} {change.id}"
    with google_errors(what):
        if change.kind == "job" and change.action == "create":
            assert isinstance(change.desired, DesiredJob)
            op = gcp.jobs.create_job(parent=desired.parent, job=protos.run_job(change.desired.body),
                                     job_id=change.id, timeout=TIMEOUT_S)
            op.result(timeout=OPERATION_TIMEOUT_S)
        elif change.kind == "job" and change.action == "update":
            assert isinstance(change.desired, DesiredJob) and change.actual is not None
            body = specs.run_update_body(change.desired.body, change.actual)
            job = protos.run_job({**body, "name": change.name})
            gcp.jobs.update_job(job=job, timeout=TIMEOUT_S).result(timeout=OPERATION_TIMEOUT_S)
        elif change.kind == "job" and change.action == "prune":
            gcp.jobs.delete_job(name=change.name, timeout=TIMEOUT_S).result(timeout=OPERATION_TIMEOUT_S)
        elif change.kind == "iam":
            assert change.binding is not None
            _grant(gcp, change.binding)
        elif change.kind == "trigger" and change.action == "create":
            assert isinstance(change.desired, DesiredTrigger)
            gcp.scheduler.create_job(parent=desired.parent, job=protos.scheduler_job(change.desired.body),
                                     timeout=TIMEOUT_S)
        elif change.kind == "trigger" and change.action == "update":
            assert isinstance(change.desired, DesiredTrigger)
            # A mask of the fields housejobs manages: anything else on the job is left alone.
            mask = protos.field_mask(["description", "schedule", "time_zone", "http_target", "retry_config",
                                      "attempt_deadline"])
            gcp.scheduler.update_job(job=protos.scheduler_job(change.desired.body), update_mask=mask,
                                     timeout=TIMEOUT_S)
        elif change.kind == "trigger" and change.action == "prune":
            gcp.scheduler.delete_job(name=change.name, timeout=TIMEOUT_S)


def _grant(gcp: Gcp, binding: Binding) -> None:
    """Read-modify-write with the policy's etag: other members and roles on the job are kept, and a
    concurrent change makes this fail (409) rather than be overwritten."""
    policy = gcp.jobs.get_iam_policy(request={"resource": binding.resource}, timeout=TIMEOUT_S)
    if has_binding(policy, binding):
        return
    protos.add_member(policy, binding.role, binding.member)
    gcp.jobs.set_iam_policy(request={"resource": binding.resource, "policy": policy}, timeout=TIMEOUT_S)

