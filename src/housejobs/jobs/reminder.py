"""The reminder job: ask the household bot's runtime to dispatch one reminder, once per billing period.

`POST /jobs/reminder/<type>` on the bot runtime (not the admin API), authenticated with the scheduler
shared secret. The bot dedupes on `<period>:<type>`, so every retry and every rerun is safe; the client
still sends an Idempotency-Key so the core retry policy treats the call as replayable.

The period is always sent, computed in the household's time zone: the 09:00 trigger on the 1st in
Sydney runs on the previous UTC day, where the bot's own UTC default would name last month.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from housejobs.errors import (
    ApiProtocolError,
    ApiStatusError,
    ConfigError,
    HousejobsError,
    UsageError,
    one_line,
    unknown_name,
)
from housejobs.jobs.period_rules import household_zone
from housejobs.jobs.spec import HOUSEHOLD, MONTH, JobSpec, Opt, PeriodRule, Variants
from housejobs.periods import parse_month, period_at
from housejobs.redact import Secret
from housejobs.results import JobResult, Outcome, PlannedCall
from housejobs.settings import Setting
from housejobs.target import Target

if TYPE_CHECKING:
    from housejobs.api.client import ApiResponse
    from housejobs.context import Context

REMINDER_TYPES = ("utilities", "rent-warning", "rent-due")
OUTCOMES = {"claimed": Outcome.APPLIED, "duplicate": Outcome.DUPLICATE, "dry-run": Outcome.DRY_RUN}
# What the bot accepts as a jobId; Cloud Run execution names and uuids both fit.
JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}\Z")


@dataclass(frozen=True)
class ReminderRequest:
    reminder_type: str | None = None  # the command's TYPE
    period: str | None = None  # None: the current month in the household's time zone
    job_id: str | None = None  # None: the Cloud Run execution, else a fresh id


def check_reminder(req: ReminderRequest, now: datetime) -> None:
    """Refuse a bad type, period or job id before anything is resolved or called (exit 2)."""
    if req.reminder_type is None:
        raise UsageError("the reminder needs its type", hint=" | ".join(REMINDER_TYPES))
    if req.reminder_type not in REMINDER_TYPES:
        raise unknown_name("reminder type", req.reminder_type, REMINDER_TYPES)
    if req.period is not None:
        parse_month(req.period, now, option="--period")
    if req.job_id is not None and not JOB_ID.match(req.job_id):
        raise UsageError(f"--job-id {req.job_id!r} is not a job id",
                         hint="1-200 letters, digits and ._:@/- starting with a letter or digit")


def household_period(ctx: Context) -> str:
    """The current month where the household lives (the rule history and backfill read too)."""
    return period_at(MONTH, ctx.clock.now(), household_zone(ctx))


def bot_target(ctx: Context) -> tuple[Target, Secret]:
    """Where the reminder goes (decided by the context: --bot-url, the env's bot_url, or the sandbox) and
    the secret it carries. The embedded sandbox starts only here, when it is the target."""
    target = ctx.bot_target
    if target is None:
        raise ConfigError("this command does not call the bot runtime")
    if target.kind != "sandbox":
        return target, _secret(ctx)
    server = ctx.embedded_sandbox()
    if not server.app.scheduler_secret:
        raise ConfigError("the embedded sandbox has no scheduler secret")
    return Target("sandbox", server.url, "embedded sandbox"), Secret(server.app.scheduler_secret, "embedded sandbox")


def _secret(ctx: Context) -> Secret:
    return ctx.secret(Setting.scheduler_shared_secret)


async def run_reminder(ctx: Context, req: ReminderRequest) -> JobResult:
    check_reminder(req, ctx.clock.now())
    # The time zone is checked even when --period makes it unnecessary: a malformed setting fails closed.
    household = household_period(ctx)
    period = req.period or household
    job_id = req.job_id or ctx.runtime.execution or str(uuid.uuid4())
    dry_run = ctx.options.dry_run
    path = f"/jobs/reminder/{req.reminder_type}"
    # No Idempotency-Key: the bot dedupes on <period>:<type> itself, and the body's jobId differs from
    # run to run, so a key would read as "same key, different body". Retries stay safe (replay_safe).
    body: dict[str, Any] = {"period": period, "jobId": job_id, "dryRun": dry_run}
    details: dict[str, Any] = {"reminderType": req.reminder_type, "period": period,
                               "dedupeKey": f"{period}:{req.reminder_type}", "jobId": job_id,
                               "dryRun": dry_run}

    try:
        response, target = await _dispatch(ctx, path, body)
    except HousejobsError as exc:
        exc.period = period  # a failure's summary and notification still name its period
        raise
    outcome = _read_answer(response.data, f"POST {path}", str(req.reminder_type), period, dry_run)
    details.update(dedupeKey=response.data["dedupeKey"], jobId=response.data["jobId"])
    planned = [PlannedCall("POST", path, None, body)] if outcome is Outcome.DRY_RUN else []
    messages = {
        Outcome.APPLIED: f"{req.reminder_type} reminder for {period} dispatched",
        Outcome.DUPLICATE: f"{req.reminder_type} reminder for {period} was already dispatched",
        Outcome.DRY_RUN: f"the bot would dispatch the {req.reminder_type} reminder for {period}; "
                         "its own dry run claimed nothing",
    }
    ctx.logger.info(f"reminder {response.data['outcome']}", **details)
    return JobResult(outcome, messages[outcome], details=details, planned=planned, target=target.label,
                     period=period)


async def _dispatch(ctx: Context, path: str, body: dict[str, Any]) -> tuple[ApiResponse, Target]:
    target, secret = bot_target(ctx)
    client = ctx.client(target.url, headers={"x-household-scheduler-secret": secret.reveal()},
                        embedded=target.kind == "sandbox",
                        auth_hint="check SCHEDULER_SHARED_SECRET for this environment")
    try:
        return await client.request("POST", path, json_body=body, replay_safe=True), target
    except ApiStatusError as exc:
        if exc.status == 404:
            raise ConfigError(f"POST {path}: 404: the bot runtime at {target.url} has no reminder routes",
                              hint="the runtime mounts them only when SCHEDULER_SHARED_SECRET is set on it; "
                                   "also check the bot URL") from None
        raise


def _read_answer(data: Any, what: str, reminder_type: str, period: str, dry_run: bool) -> Outcome:
    """The bot's answer, checked against what was asked (never trust a mismatched claim)."""
    if not isinstance(data, dict) or data.get("ok") is not True:
        raise ApiProtocolError(f"{what}: unexpected answer (not an ok JSON object)")
    outcome = OUTCOMES.get(str(data.get("outcome")))
    if outcome is None:
        raise ApiProtocolError(f"{what}: unexpected outcome {one_line(str(data.get('outcome')), 40)!r}")
    if data.get("reminderType") != reminder_type or data.get("period") != period:
        raise ApiProtocolError(f"{what}: the answer names another reminder or period than was asked")
    if data.get("dedupeKey") != f"{period}:{reminder_type}" or not isinstance(data.get("jobId"), str):
        raise ApiProtocolError(f"{what}: unexpected answer (dedupeKey or jobId)")
    if (outcome is Outcome.DRY_RUN) != dry_run:
        asked = "a dry run" if dry_run else "a dispatch"
        raise ApiProtocolError(f"{what}: asked for {asked}, the bot answered {data['outcome']!r}")
    return outcome


SPEC = JobSpec(
    name="reminder",
    help="TYPE is utilities, rent-warning or rent-due. Calls the bot runtime's `POST /jobs/reminder/TYPE` with "
         "the period, a job id and the scheduler secret (SCHEDULER_SHARED_SECRET, else Secret Manager "
         "scheduler-shared-secret<suffix>). The bot dedupes on `<period>:TYPE`: the first run reports "
         "`applied`, every later one `duplicate`.\n\n"
         "Example: housejobs reminder rent-due --env stage --period 2026-12",
    uses=("bot",), request=ReminderRequest, run=run_reminder, check=check_reminder,
    confirm=lambda req: f"dispatch the {req.reminder_type} reminder",
    variants=Variants(REMINDER_TYPES, dest="reminder_type", what="reminder type"),
    period=PeriodRule(MONTH, zone=HOUSEHOLD, option="--period",
                      help="Billing month [default: this month in the household's time zone]."),
    options=(Opt("--job-id", "job_id", "Job id the bot logs [default: the Cloud Run execution, else a fresh id].",
                 metavar="ID", show_default=False),),
    dry_run_help="Ask for the bot's own dry run: it answers in full and claims nothing.",
)
