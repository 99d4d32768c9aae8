"""quota-cleanup: delete quota rows past retention straight from BigQuery (a documented exception to
API-first). The cutoff is computed once from the injected clock and travels as a TIMESTAMP parameter, so
the dry-run count and the delete see the same instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from housejobs.errors import ConfigError, UsageError
from housejobs.jobs.spec import DATE, JobSpec, Opt, PeriodRule
from housejobs.results import JobResult, Outcome
from housejobs.settings import Setting
from housejobs.threads import in_thread

if TYPE_CHECKING:
    from housejobs.context import Context

DEFAULT_DAYS = 90
MIN_DAYS = 7
MAX_DAYS = 36_500  # 100 years; far more and the cutoff falls before year 1 (an OverflowError, not a refusal)


@dataclass(frozen=True)
class CleanupRequest:
    days: int = DEFAULT_DAYS
    allow_short_retention: bool = False


def check_days(days: int, allow_short: bool) -> int:
    if days < 1:
        raise UsageError(f"--days {days} must be at least 1")
    if days > MAX_DAYS:
        raise UsageError(f"--days {days} must be at most {MAX_DAYS} (100 years)")
    if days < MIN_DAYS and not allow_short:
        raise UsageError(f"--days {days} is below the {MIN_DAYS}-day safety floor",
                         hint="pass --allow-short-retention if you really mean it")
    return days


async def run_quota_cleanup(ctx: Context, req: CleanupRequest) -> JobResult:
    days = check_days(req.days, req.allow_short_retention)
    from housejobs.gcp import bigquery as bq

    raw_table = ctx.settings.require(Setting.quota_table, "quota-cleanup")
    try:
        table = bq.parse_table(raw_table)
        column = bq.validate_column(ctx.settings.quota_timestamp_column)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    cutoff = ctx.clock.now() - timedelta(days=days)
    # A retention DELETE can take minutes: the API deadline (60 s) would report `failed` while BigQuery
    # goes on and finishes. --deadline still wins when given.
    # (--deadline is validated: above 0 and finite.)
    timeout = ctx.retry_policy().deadline if ctx.options.deadline is not None else ctx.settings.bigquery_timeout
    details: dict[str, Any] = {"table": str(table), "column": column, "days": days,
                               "cutoff": cutoff.isoformat()}
    try:
        client = await in_thread(bq.make_client, table.project, ctx.settings.bigquery_api_endpoint)
        if ctx.options.dry_run:
            report = await in_thread(bq.count_older_than, client, table, column, cutoff, timeout,
                                      clock=ctx.clock)
        else:
            report = await in_thread(bq.delete_older_than, client, table, column, cutoff, timeout,
                                      clock=ctx.clock)
    except bq.BigQueryError as exc:
        ctx.logger.error(exc.message, table=str(table), kind=exc.kind)
        return JobResult(exc.outcome, exc.message, details={**details, "error": exc.kind})
    details.update({"job_id": report.job_id, "location": report.location})
    counts = {"rows": report.rows}
    if report.bytes_processed is not None:
        counts["bytes_processed"] = report.bytes_processed
    if ctx.options.dry_run:
        return JobResult(Outcome.DRY_RUN, f"{report.rows} rows older than {days} days would be deleted from "
                         f"{table}", counts=counts, details=details)
    if report.rows == 0:
        return JobResult(Outcome.SKIPPED, f"no rows older than {days} days in {table}", counts=counts,
                         details=details)
    return JobResult(Outcome.APPLIED, f"deleted {report.rows} rows older than {days} days from {table}",
                     counts=counts, details=details)


SPEC = JobSpec(
    name="quota-cleanup",
    help="Runs on its catalog schedule: one parameterized `DELETE FROM <quota_table> WHERE <ts> < @cutoff`, the "
         "cutoff computed once as now minus --days. --dry-run counts the rows instead and validates the DELETE "
         "with a BigQuery dry run. The table and column come from environments.toml (quota_table, "
         "quota_timestamp_column) or HOUSEJOBS_QUOTA_TABLE / HOUSEJOBS_QUOTA_TIMESTAMP_COLUMN.\n\n"
         "Example: housejobs quota-cleanup --env stage --dry-run",
    uses=("bigquery",), request=CleanupRequest, run=run_quota_cleanup, confirm="delete old quota rows",
    # Its runs are dated (history shows them by UTC date), but no run can be given another date.
    period=PeriodRule(DATE, fixed="it deletes by retention from now, not per period"),
    options=(
        Opt("--days", "days", "Retention: delete rows older than this many days.", metavar="N",
            default=DEFAULT_DAYS, kind=int),
        Opt("--allow-short-retention", "allow_short_retention", f"Allow --days below {MIN_DAYS}.", default=False,
            kind=bool),
    ),
)
