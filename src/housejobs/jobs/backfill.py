"""`housejobs backfill`: apply a period job's periods again, oldest first, safely.

Safe because every period's effect is keyed by its period (docs/api.md): a period that already applied
comes back `duplicate` and changes nothing. The plan comes first: each period and what `history` saw
of it. Then each period, oldest first, either

  - on Cloud Run (default): one execution of the provisioned job per period, with the period appended to
    the job's catalog args (`housejobs run JOB -- --date D`, the `run` path: refused while another
    execution of the job runs, unless --allow-concurrent). Each period is what the job itself said in its
    run_summary (read from Cloud Logging, jobs/summaries.py): applied or duplicate; `unconfirmed` when the
    container exited 0 but its summary could not be read. A period whose earlier run the job itself said
    applied (or duplicate), as history read it, is `duplicate` without starting anything.
  - or with --local, in this process, through what the job's own command runs (its spec's `run`, with
    the period in its request): the API's ledger answers applied or duplicate.

A period is not run before its scheduled time (the first slot of it that history would draw from the
catalog's schedule and time zone): its trigger is still to run it, and would then find it done. A
window that takes one is refused; --missed leaves it out; --allow-early runs it anyway.

Per period: applied, duplicate, unconfirmed, failed (with why) or refused. The run ends as the outcome table
says: every period done → applied (duplicate if none needed applying, unconfirmed if some could not be
read); some failed → partial; none done → failed; a refusal (auth, another execution running) stops at
once, and its period is `refused`, counted apart from the failed ones. When nothing is to be started
(on Cloud Run, every period's earlier run already said applied) there is nothing to confirm, in prod
too. SIGINT/SIGTERM take no new period; the one in flight finishes (in Cloud Run mode the execution
keeps running and is not followed further) and the summary says what was left for a rerun.

--concurrency N: in this process, up to N periods at once (they are independent; each is keyed). On
Cloud Run it is how many executions of the job may run at once, so more than 1 needs
--allow-concurrent (without it the second start would be refused by the running-execution check).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from housejobs.catalog import JobDef, load_catalog
from housejobs.clock import iso_z
from housejobs.errors import HousejobsError, UsageError, unknown_name
from housejobs.gcp.records import CANCELLED, FAILED, MISSED, ExecutionRecord
from housejobs.jobs import registry
from housejobs.jobs.history import DEFAULT_DAYS, MAX_DAYS, HistoryRequest, read_history, run_reader
from housejobs.jobs.period_rules import count_between, household_zone, period_at, period_start, periods_between
from housejobs.jobs.slots import History, Slot, first_slot, scheduled_text
from housejobs.jobs.spec import MONTH, JobSpec, PeriodRule
from housejobs.periods import parse_period
from housejobs.results import JobResult, Outcome

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.jobs.cloud_run import CloudRunJobs

MAX_PERIODS = 400
MAX_CONCURRENCY = 16
NOT_SEEN = "not seen"
APPLIED, DUPLICATE, PERIOD_FAILED, NOT_RUN, INTERRUPTED = "applied", "duplicate", "failed", "not run", "interrupted"
UNCONFIRMED = "unconfirmed"  # done (the container exited 0), what it did not known: its summary was not read
PERIOD_REFUSED = "refused"  # stopped before anything was tried for it (another execution running, auth)
REDO = (MISSED, FAILED, CANCELLED)  # what --missed takes


@dataclass(frozen=True)
class BackfillRequest:
    job: str
    env: str
    variant: str | None = None  # --type: for a job with variants (its spec's), the one to backfill
    first: str | None = None
    last: str | None = None
    missed: bool = False
    days: int = DEFAULT_DAYS
    local: bool = False
    concurrency: int = 1
    allow_concurrent: bool = False
    allow_early: bool = False

    @property
    def label(self) -> str:
        return f"{self.job} {self.variant}" if self.variant else self.job


@dataclass
class PeriodRun:
    period: str
    seen: str  # what history saw: succeeded, failed, missed, ... or "not seen"
    result: str = NOT_RUN
    reason: str = ""
    execution: str | None = None
    log_uri: str | None = None
    confirmed: str | None = None  # an earlier execution whose job said it applied this period (or duplicate)
    started: bool = False  # taken by a worker: in flight until its result is set

    def as_dict(self) -> dict[str, Any]:
        return {"period": self.period, "history": self.seen, "result": self.result, "reason": self.reason,
                "execution": self.execution, "log_uri": self.log_uri}


@dataclass
class BackfillPlan:
    req: BackfillRequest
    spec: JobSpec[Any]
    rule: PeriodRule
    trigger: str | None
    periods: list[PeriodRun] = field(default_factory=list)
    not_due: list[Slot] = field(default_factory=list)  # --missed left these out: their trigger runs them

    def periods_text(self) -> str:
        return compact([p.period for p in self.periods], self.rule)


def check_backfill(req: BackfillRequest, catalog: dict[str, JobDef], now: datetime,
                   spec_of: Callable[[str], JobSpec[Any]]) -> tuple[JobSpec[Any], tuple[str, str] | None]:
    """Refuse what can be refused without reading anything (exit 2, before any call or prompt). Returns
    the job's spec and, with --from/--to, the two periods parsed (None with --missed)."""
    if req.job not in catalog:
        raise unknown_name("job", req.job, [n for n in catalog if spec_of(n).backfillable])
    spec = spec_of(req.job)
    rule = spec.period
    if rule is None or not rule.backfillable:
        why = f"{rule.fixed}: run `housejobs {req.job}`" if rule is not None else "it has no business period"
        raise UsageError(f"{req.job} cannot be backfilled: {why}")
    variants = spec.variants
    if variants is not None:
        if req.variant not in variants.values:
            if req.variant is None:
                raise UsageError(f"backfill {req.job} needs --type", hint="--type " + " | ".join(variants.values))
            raise unknown_name(variants.what, req.variant, variants.values)
    elif req.variant is not None:
        takers = " or the ".join(n for n in catalog if spec_of(n).variants is not None)
        raise UsageError(f"--type is for the {takers}, not {req.job}" if takers else
                         f"--type is for a job whose command takes a TYPE; {req.job} takes none")
    ranged = req.first is not None or req.last is not None
    window: tuple[str, str] | None = None
    if ranged == req.missed:
        raise UsageError("pick the periods: --from and --to, or --missed",
                         hint=f"e.g. --from {rule.example} --to {rule.example}, or --missed")
    if ranged:
        if req.first is None or req.last is None:
            raise UsageError("--from and --to go together")
        first, last = parse_period(rule.unit, req.first, now, "--from"), parse_period(rule.unit, req.last, now, "--to")
        if last < first:
            raise UsageError(f"--to {last} is before --from {first}")
        if count_between(rule, first, last) > MAX_PERIODS:
            raise UsageError(f"--from {first} --to {last} is {count_between(rule, first, last)} periods; at most "
                             f"{MAX_PERIODS} in one backfill", hint="split it into smaller windows")
        window = (first, last)
    elif not catalog[req.job].triggers:
        raise UsageError(f"{req.job} has no schedule, so history cannot miss it: use --from and --to")
    if not 1 <= req.days <= MAX_DAYS:
        raise UsageError(f"--days {req.days} is outside 1-{MAX_DAYS}")
    if not 1 <= req.concurrency <= MAX_CONCURRENCY:
        raise UsageError(f"--concurrency {req.concurrency} is outside 1-{MAX_CONCURRENCY}")
    if req.concurrency > 1 and not req.local and not req.allow_concurrent:
        raise UsageError("--concurrency above 1 on Cloud Run runs executions of one job side by side",
                         hint="add --allow-concurrent, or use --local")
    return spec, window


def compact(periods: Iterable[str], rule: PeriodRule) -> str:
    """2026-11-01..2026-11-03, 2026-11-07: consecutive periods as ranges (what a prompt can show)."""
    spans: list[list[str]] = []
    for period in periods:
        if spans and periods_between(rule, spans[-1][-1], period)[1:2] == [period]:
            spans[-1].append(period)
        else:
            spans.append([period])
    return ", ".join(s[0] if len(s) == 1 else f"{s[0]}..{s[-1]}" for s in spans)


async def plan_backfill(ctx: Context, req: BackfillRequest) -> BackfillPlan:
    jobs_dir = ctx.settings.jobs_dir
    catalog = load_catalog(jobs_dir)
    now = ctx.clock.now()
    spec, window = check_backfill(req, catalog, now, registry.lookup(jobs_dir))
    assert spec.period is not None  # checked: backfillable
    rule = spec.period
    trigger = next((t.name for t in catalog[req.job].triggers if req.variant and t.args == (req.variant,)), None)
    current = period_at(rule, now, household_zone(ctx))
    if window is not None and window[1] > current:
        raise UsageError(f"--to {req.last} is in the future: the current period is {current}",
                         hint="a period can be backfilled once it has begun")
    plan = BackfillPlan(req, spec, rule, trigger)
    due = None if req.allow_early else _due(ctx, catalog[req.job], rule, trigger, current, now)
    if window is not None and due is not None and window[0] <= current <= window[1]:
        raise UsageError(f"{current} is not due yet: its scheduled run is at "
                         f"{scheduled_text(due.scheduled, due.time_zone)}",
                         hint="its trigger runs it then, and would find it done if backfilled now: end the "
                         "window before it, or pass --allow-early")
    seen, confirmed = await _seen(ctx, req, catalog[req.job], trigger, now,
                                  period_start(rule, window[0]) if window else None)
    if req.missed:
        wanted = sorted(p for p, state in seen.items() if state in REDO and p <= current)
        if due is not None and current in wanted:
            wanted.remove(current)
            plan.not_due.append(due)
            ctx.logger.warning(f"backfill leaves out {current}: not due until "
                               f"{scheduled_text(due.scheduled, due.time_zone)} (--allow-early runs it now)",
                               event="backfill_not_due", period=current)
        if len(wanted) > MAX_PERIODS:
            raise UsageError(f"history found {len(wanted)} periods to redo; at most {MAX_PERIODS} in one backfill")
    else:
        assert window is not None
        wanted = periods_between(rule, *window)
    plan.periods = [PeriodRun(p, seen.get(p, NOT_SEEN), confirmed=confirmed.get(p)) for p in wanted]
    return plan


def _due(ctx: Context, job: JobDef, rule: PeriodRule, trigger: str | None, period: str,
         now: datetime) -> Slot | None:
    """The current period's first scheduled slot if it is still to come (None: due, or never scheduled).
    Only the current period can be early: every earlier one, and so each of its slots, has ended."""
    start = period_start(rule, period)
    # A period's slots lie inside it, read in the trigger's zone: up to a day either side of UTC's.
    around = (start - timedelta(days=2), start + timedelta(days=34 if rule.unit == MONTH else 3))
    slot = first_slot(job, period, run_reader(ctx), around, trigger)
    return slot if slot is not None and slot.scheduled > now else None


async def _seen(ctx: Context, req: BackfillRequest, job: JobDef, trigger: str | None,
                now: datetime, start: datetime | None) -> tuple[dict[str, str], dict[str, str]]:
    """What history saw of each period: its best state over slots and earlier runs (a backfilled
    period reads succeeded). In --local mode Cloud Run may be out of reach: then the plan says so.
    `start`: where --from's first period begins (None with --missed)."""
    days = req.days
    if start is not None:
        # Reach back to the first period, as far as history goes.
        days = max(1, min(MAX_DAYS, (now - start).days + 2))
    try:
        history = await read_history(ctx, HistoryRequest(req.env, days, (req.job,)), now=now)
    except HousejobsError as exc:
        if not req.local:
            raise
        ctx.logger.warning(f"history not read, so the plan cannot say what ran: {exc.line()}",
                           event="backfill_history_unread")
        return {}, {}
    return history.period_states(job.name, trigger), _confirmed(history, job.name, trigger)


def _confirmed(history: History, job: str, trigger: str | None) -> dict[str, str]:
    """Each period an earlier execution applied by the job's own word (applied or duplicate): its id."""
    out: dict[str, str] = {}
    items: list[tuple[str | None, ExecutionRecord | None, str, str | None]] = [
        (s.period, s.execution, s.job, s.trigger) for s in history.slots]
    items += [(r.period, r.execution, r.job, r.trigger) for r in history.manual_runs if not r.dry_run]
    for period, execution, of, by in items:
        if of != job or (trigger is not None and by != trigger):
            continue
        if period is not None and execution is not None and execution.outcome in (APPLIED, DUPLICATE):
            out.setdefault(period, execution.id)
    return out


async def run_backfill(ctx: Context, req: BackfillRequest) -> JobResult:
    plan = await plan_backfill(ctx, req)
    details: dict[str, Any] = {"job": req.job, "type": req.variant, "env": req.env,
                               "mode": "local" if req.local else "cloud-run", "periods": []}
    if req.missed:
        details["not_due"] = [{"period": s.period, "due": iso_z(s.scheduled)} for s in plan.not_due]
    if not plan.periods:
        where = f"in the last {req.days} days" if req.missed else "in that window"
        later = "".join(f"; {s.period} is not due until {scheduled_text(s.scheduled, s.time_zone)}"
                        for s in plan.not_due)
        return JobResult(Outcome.SKIPPED, f"nothing to backfill: history saw no missed, failed or cancelled "
                         f"period of {req.label} {where}{later}", counts={"periods": 0}, details=details)
    for p in plan.periods:
        ctx.logger.info(f"backfill plan: {req.label} {p.period} (history: {p.seen})", event="backfill_plan",
                        period=p.period, history=p.seen)
    mode = "in this process" if req.local else "as Cloud Run executions"
    if ctx.options.dry_run:
        details["periods"] = [p.as_dict() for p in plan.periods]
        return JobResult(Outcome.DRY_RUN, f"would backfill {req.label} for {len(plan.periods)} period"
                         f"{'s' if len(plan.periods) != 1 else ''} {mode}: {plan.periods_text()}",
                         counts={"periods": len(plan.periods)}, details=details)
    # Asked once, here, because only now are the periods known (--missed reads them from history), and
    # only for what will start: on Cloud Run a period whose job history read say `applied` starts nothing.
    todo = [p.period for p in plan.periods if req.local or not p.confirmed]
    if todo:
        ctx.confirm(f"backfill {req.label} for {len(todo)} period{'s' if len(todo) != 1 else ''} "
                    f"({compact(todo, plan.rule)}) {mode}")
    try:
        stopped_by = await _run_periods(ctx, plan)
    except asyncio.CancelledError:  # a second signal, or the grace's end: each period as far as it got
        stopped_by = "signal"
        for p in (p for p in plan.periods if p.started and p.result == NOT_RUN):
            p.result, p.reason = INTERRUPTED, "cut short by a second signal: a rerun says duplicate if it applied"
    details["periods"] = [p.as_dict() for p in plan.periods]
    result = _result(plan, details, stopped_by, ctx.stop.signal)
    result.period = plan.periods_text()
    return result


async def _run_periods(ctx: Context, plan: BackfillPlan) -> str | None:
    """Run the plan's periods oldest first, at most `concurrency` at once; return why it stopped early
    ("signal", "refused"), or None."""
    from housejobs.jobs.cloud_run import CloudRunJobs

    queue = list(plan.periods)
    stop: list[str] = []
    cloud = CloudRunJobs(ctx)  # one client for every period's execution (made on first use)

    async def worker() -> None:
        while queue and not stop:
            if ctx.stop.is_set():
                stop.append("signal")
                return
            item = queue.pop(0)
            item.started = True
            refused = await _one(ctx, plan, item, cloud)
            ctx.logger.log("INFO" if item.result in (APPLIED, DUPLICATE, UNCONFIRMED) else "ERROR",
                           f"backfill {plan.req.label} {item.period}: {item.result}"
                           + (f" ({item.reason})" if item.reason else ""),
                           event="backfill_period", period=item.period, result=item.result,
                           execution=item.execution or "")
            if refused:
                stop.append("refused")
            elif item.result == INTERRUPTED:
                stop.append("signal")

    await asyncio.gather(*(worker() for _ in range(plan.req.concurrency)))
    return stop[0] if stop else None


async def _one(ctx: Context, plan: BackfillPlan, item: PeriodRun, cloud: CloudRunJobs) -> bool:
    """Apply one period; record its result on `item`. True if the whole backfill must stop (refused)."""
    try:
        result = await (_local(ctx, plan, item.period) if plan.req.local else _cloud(ctx, plan, item, cloud))
    except HousejobsError as exc:
        result = JobResult(exc.outcome, exc.line())
    if result is None:  # Cloud Run mode, history saw it succeed: nothing started
        return False
    item.execution = result.details.get("execution") or item.execution
    item.log_uri = result.details.get("log_uri") or item.log_uri
    if result.outcome in (Outcome.APPLIED, Outcome.DRY_RUN):
        item.result = APPLIED
    elif result.outcome in (Outcome.DUPLICATE, Outcome.SKIPPED):
        item.result, item.reason = DUPLICATE, item.reason or result.message
    elif result.outcome is Outcome.UNCONFIRMED:
        item.result, item.reason = UNCONFIRMED, result.message
    elif result.outcome is Outcome.INTERRUPTED:
        item.result, item.reason = INTERRUPTED, result.message
    elif result.outcome is Outcome.REFUSED:
        item.result, item.reason = PERIOD_REFUSED, result.message
    else:
        item.result, item.reason = PERIOD_FAILED, result.message or result.outcome.value
    return result.outcome is Outcome.REFUSED


async def _cloud(ctx: Context, plan: BackfillPlan, item: PeriodRun, cloud: CloudRunJobs) -> JobResult | None:
    from housejobs.jobs.cloud_run import RunRequest, run_job

    if item.confirmed:
        item.result, item.reason = DUPLICATE, f"{item.confirmed} already applied it, as its job said; nothing started"
        return None
    args = plan.spec.argv(item.period, plan.req.variant)
    return await run_job(ctx, RunRequest(plan.req.job, plan.req.env, args=args,
                                         allow_concurrent=plan.req.allow_concurrent), cloud)


async def _local(ctx: Context, plan: BackfillPlan, period: str) -> JobResult:
    # What the job's own command runs (its spec's), with the period given.
    return await plan.spec.run(ctx, plan.spec.request_for(period=period, variant=plan.req.variant))


def _result(plan: BackfillPlan, details: dict[str, Any], stopped_by: str | None, signal: int | None) -> JobResult:
    periods = plan.periods
    tally = {k: sum(p.result == k for p in periods) for k in (APPLIED, DUPLICATE, UNCONFIRMED, PERIOD_FAILED,
                                                             PERIOD_REFUSED, INTERRUPTED, NOT_RUN)}
    counts = {"periods": len(periods), "applied": tally[APPLIED], "duplicate": tally[DUPLICATE],
              "failed": tally[PERIOD_FAILED], "refused": tally[PERIOD_REFUSED], "interrupted": tally[INTERRUPTED],
              "not_run": tally[NOT_RUN]}
    if tally[UNCONFIRMED]:
        counts["unconfirmed"] = tally[UNCONFIRMED]
    failures = [{"unit": p.period, "reason": p.reason or p.result} for p in periods
                if p.result in (PERIOD_FAILED, PERIOD_REFUSED, INTERRUPTED)]
    done = tally[APPLIED] + tally[DUPLICATE] + tally[UNCONFIRMED]
    said = ", ".join(f"{n} {k}" for k, n in tally.items() if n)
    message = f"{plan.req.label}: {said} of {len(periods)} period{'s' if len(periods) != 1 else ''}"
    left = [p.period for p in periods if p.result in (NOT_RUN, INTERRUPTED)]
    if stopped_by == "signal":
        rerun = f"; a rerun picks up {compact(left, plan.rule)}" if left else ""
        return JobResult(Outcome.INTERRUPTED, f"stopped by signal after the period in flight: {message}{rerun}",
                         counts, details, failures=failures, signal=signal)
    if stopped_by == "refused":
        first_refusal = next(p for p in periods if p.result == PERIOD_REFUSED)
        outcome = Outcome.PARTIAL if done else Outcome.REFUSED
        return JobResult(outcome, f"stopped at {first_refusal.period}: {first_refusal.reason}; {message}", counts,
                         details, failures=failures)
    if tally[PERIOD_FAILED]:
        outcome = Outcome.PARTIAL if done else Outcome.FAILED
        return JobResult(outcome, message, counts, details, failures=failures)
    outcome = Outcome.APPLIED if tally[APPLIED] else (Outcome.UNCONFIRMED if tally[UNCONFIRMED] else Outcome.DUPLICATE)
    return JobResult(outcome, message, counts, details)

