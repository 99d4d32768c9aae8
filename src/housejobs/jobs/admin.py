"""The admin API's single-call jobs: the period jobs and bootstrap, and their specs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from housejobs.api.capabilities import DRY_RUN
from housejobs.errors import ApiProtocolError, HousejobsError, one_line
from housejobs.jobs import dry_runs
from housejobs.jobs.spec import DATE, MONTH, JobSpec, NoRequest, PeriodRequest, PeriodRule
from housejobs.periods import parse_period
from housejobs.results import JobResult, Outcome, PlannedCall

if TYPE_CHECKING:
    from housejobs.api.client import ApiResponse
    from housejobs.context import Context


@dataclass(frozen=True)
class PeriodJob:
    """An admin period job as data: the endpoint it calls (docs/api.md), the period it is keyed by, and
    the counters its answer carries."""

    name: str
    path: str
    period: str  # DATE or MONTH: also the body's field name
    counts: tuple[str, ...]
    echoes: bool = False  # the answer names the period it applied to (docs/api.md)

    async def __call__(self, ctx: Context, req: PeriodRequest) -> JobResult:
        return await run_period_job(ctx, self, req.period)

    def spec(self) -> JobSpec[PeriodRequest]:
        unit, name = self.period, self.name
        month = " --month 2026-11" if unit == MONTH else ""
        return JobSpec(
            name=name,
            help=f"Calls `POST {self.path}` once per {unit}, keyed `housejobs:{name}:<{unit}>`: re-running the "
                 f"same {unit} reports `duplicate`. Its schedule is in the catalog (`housejobs list-jobs`).\n\n"
                 f"Example: housejobs {name} --env stage{month}",
            uses=("admin",), request=PeriodRequest, run=self, confirm=f"run {name}",
            period=PeriodRule(unit, option="--date" if unit == DATE else "--month"))


def counts_from(data: Any, keys: tuple[str, ...], what: str) -> dict[str, int]:
    """Read the contract's counters from an answer, refusing anything else (never a silent zero)."""
    if not isinstance(data, dict):
        raise ApiProtocolError(f"{what}: unexpected answer (not a JSON object)")
    counts: dict[str, int] = {}
    for key in keys:
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ApiProtocolError(f"{what}: unexpected answer ({key} is missing or not a count)")
        counts[key] = value
    return counts


async def run_period_job(ctx: Context, spec: PeriodJob, given: str | None) -> JobResult:
    """Apply the job for `given` (None: today or this month, UTC, on the run's clock)."""
    now = ctx.clock.now()
    period = parse_period(spec.period, given, now)
    try:
        result = await _apply_period(ctx, spec, period)
    except HousejobsError as exc:
        exc.period = period  # a failure's summary and notification still name its period
        raise
    result.period = period
    return result


async def _apply_period(ctx: Context, spec: PeriodJob, period: str) -> JobResult:
    key = f"housejobs:{spec.name}:{period}"
    body = {spec.period: period}
    details: dict[str, Any] = {"period": period, "idempotency_key": key}
    api = ctx.admin_client()
    if ctx.options.dry_run:
        planned = [PlannedCall("POST", spec.path, key, body)]
        offered = await api.capabilities()  # proves the key and the API, as a real run would
        details.update(dry_runs.details(offered))
        if not offered.offers(DRY_RUN):
            return JobResult(Outcome.DRY_RUN, f"would apply {spec.name} for {period}; {dry_runs.note(offered)}",
                             details=details, planned=planned)
        response = await api.post_dry_run(spec.path, body, idempotency_key=key)
        counts = _period_counts(spec, period, response)
        what = f"already applied for {period}, a run would report duplicate" if response.replayed else \
            f"would apply {spec.name} for {period}"
        return JobResult(Outcome.DRY_RUN, f"{what}; {dry_runs.note(offered)}", counts=counts, details=details,
                         planned=planned)
    response = await api.post(spec.path, body, idempotency_key=key)
    counts = _period_counts(spec, period, response)
    if response.replayed_own:
        # The server's replay names this run as the one whose request applied it: an attempt timed out
        # here while the server went on. The effect is this run's own.
        return JobResult(Outcome.APPLIED, f"for {period} (confirmed by the server's replay after a lost answer)",
                         counts=counts, details=details)
    if response.replayed:
        why = " (an earlier attempt's answer was lost: possibly by this run)" if response.lost_answer else ""
        return JobResult(Outcome.DUPLICATE, f"already applied for {period}{why}", counts=counts, details=details)
    return JobResult(Outcome.APPLIED, f"for {period}", counts=counts, details=details)


def _period_counts(spec: PeriodJob, period: str, response: ApiResponse) -> dict[str, int]:
    counts = counts_from(response.data, spec.counts, f"POST {spec.path}")
    if spec.echoes and response.data.get(spec.period) != period:
        # An answer for another period is not this period's effect: never report it applied.
        raise ApiProtocolError(f"POST {spec.path}: unexpected answer ({spec.period} "
                               f"{one_line(str(response.data.get(spec.period)), 40)!r}, asked for {period})")
    return counts


async def run_bootstrap(ctx: Context, req: NoRequest) -> JobResult:
    # One key per run: a Cloud Run task retry of the same execution replays; a new run bootstraps again.
    run_id = ctx.runtime.execution or f"local-{uuid.uuid4()}"
    key = f"housejobs:bootstrap:{run_id}"
    path = "/admin/bootstrap"
    details: dict[str, Any] = {"idempotency_key": key}
    api = ctx.admin_client()
    if ctx.options.dry_run:
        planned = [PlannedCall("POST", path, key, {})]
        offered = await api.capabilities()  # proves the key and the API, as a real run would
        details.update(dry_runs.details(offered))
        if not offered.offers(DRY_RUN):
            return JobResult(Outcome.DRY_RUN, f"would bootstrap; {dry_runs.note(offered)}", details=details,
                             planned=planned)
        response = await api.post_dry_run(path, {}, idempotency_key=key)
        counts, message = _bootstrap_answer(response, details)
        return JobResult(Outcome.DRY_RUN, f"would bootstrap: {message}; {dry_runs.note(offered)}", counts=counts,
                         details=details, planned=planned)
    response = await api.post(path, {}, idempotency_key=key)
    counts, message = _bootstrap_answer(response, details)
    if response.replayed and not response.replayed_own:
        outcome = Outcome.DUPLICATE
    elif details["mode"] == "sync" and counts["columns_added"] == 0 and counts["tables_created"] == 0:
        outcome, message = Outcome.SKIPPED, "existing install: schema already up to date"
    else:
        outcome = Outcome.APPLIED
    return JobResult(outcome, message, counts=counts, details=details)


def _bootstrap_answer(response: ApiResponse, details: dict[str, Any]) -> tuple[dict[str, int], str]:
    path = "/admin/bootstrap"
    counts = counts_from(response.data, ("tables_created", "columns_added"), f"POST {path}")
    mode = response.data.get("mode")
    if mode not in ("fresh", "sync"):
        raise ApiProtocolError(f"POST {path}: unexpected answer (mode {mode!r})")
    details["mode"] = mode
    if mode == "fresh":
        return counts, f"fresh install: created {counts['tables_created']} tables"
    return counts, f"existing install: added {counts['columns_added']} columns"


SPECS = (
    PeriodJob("quota-reset", "/admin/quota/reset-daily", DATE, ("orgs_reset",), echoes=True).spec(),
    PeriodJob("stale-cleanup", "/admin/quota/cleanup-stale", DATE, ("counters_fixed",)).spec(),
    PeriodJob("alerts", "/admin/alerts/process-all", DATE, ("orgs_processed", "alerts_sent")).spec(),
    PeriodJob("quota-monthly", "/admin/quota/reset-monthly", MONTH, ("orgs_reset",), echoes=True).spec(),
    JobSpec(
        name="bootstrap",
        help="Calls `POST /admin/bootstrap` once, keyed by the run (the Cloud Run execution inside Cloud Run, "
             "so a task retry replays). Reports the mode and the tables or columns it touched.\n\n"
             "Example: housejobs bootstrap --env stage",
        uses=("admin",), request=NoRequest, run=run_bootstrap, confirm="run bootstrap"),
)
