"""`housejobs history`: read what ran (Cloud Run executions, Scheduler trigger states) and lay it over
what should have run (the catalog's cron schedules), as slots; see jobs/slots.py for the rules.

History changes nothing, so its outcome is `skipped` (exit 0: the outcome table's "nothing to do")
however many slots were missed; it is a report. With `--fail-on missed,failed` it is a check: the
outcome is `failed` (exit 1) when any slot is in one of those states, for a monitoring step in CI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING

from housejobs.catalog import JobDef, load_catalog, run_job_id, trigger_id
from housejobs.clock import iso_z
from housejobs.context import Context
from housejobs.errors import ApiError, HousejobsError, UsageError, choices_hint, unknown_name
from housejobs.gcp.executions import job_path
from housejobs.gcp.records import (
    CANCELLED,
    FAILED,
    MISSED,
    NOT_PROVISIONED,
    RUNNING,
    SLOT_STATES,
    UNKNOWN,
    ExecutionRecord,
    TriggerState,
)
from housejobs.jobs import registry
from housejobs.jobs.cloud_run import project_region
from housejobs.jobs.period_rules import household_zone, period_at
from housejobs.jobs.slots import TOLERANCE_S, History, RunOf, build_history
from housejobs.jobs.spec import RunArgs
from housejobs.results import JobResult, Outcome

if TYPE_CHECKING:
    from housejobs.gcp.execution_reader import ExecutionReader
    from housejobs.gcp.log_query import LogLine

DEFAULT_DAYS, MAX_DAYS = 30, 400
FAIL_ON_STATES = (MISSED, FAILED, CANCELLED)


@dataclass(frozen=True)
class HistoryRequest:
    env: str
    days: int = DEFAULT_DAYS
    jobs: tuple[str, ...] = ()
    fail_on: tuple[str, ...] = ()


def parse_fail_on(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    states = tuple(dict.fromkeys(s.strip() for s in text.split(",") if s.strip()))
    bad = [s for s in states if s not in FAIL_ON_STATES]
    if bad or not states:
        raise UsageError(f"--fail-on {text!r}: {', '.join(bad) or 'nothing'} is not a slot state it can fail on",
                         hint=choices_hint(bad[0] if bad else "", FAIL_ON_STATES) + ", as a comma list")
    return states


def check_history(req: HistoryRequest, catalog: Iterable[str]) -> None:
    names = list(catalog)
    if not 1 <= req.days <= MAX_DAYS:
        raise UsageError(f"--days {req.days} is outside 1-{MAX_DAYS}")
    for job in req.jobs:
        if job not in names:
            raise unknown_name("job", job, sorted(names))


def window_start(now: datetime, days: int) -> datetime:
    """`days` whole UTC days ending with today's: the grid's columns are UTC dates."""
    today = now.astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=days - 1), time(0, 0), tzinfo=UTC)


def where(ctx: Context) -> str:
    """What history reads, as the summary names it."""
    return f"Cloud Run + Scheduler {ctx.settings.project}/{ctx.settings.region}"


async def read_history(ctx: Context, req: HistoryRequest, *, now: datetime | None = None) -> History:
    """What ran against what should have, for the last `req.days` days up to `now` (default: the clock)."""
    from housejobs.gcp.execution_reader import ExecutionReader

    catalog = load_catalog(ctx.settings.jobs_dir)
    check_history(req, catalog)
    project, region = project_region(ctx, "history")
    now = now or ctx.clock.now()
    start = window_start(now, req.days)
    selected = list(dict.fromkeys(req.jobs)) or list(catalog)
    reader = ExecutionReader(ctx.settings, clock=ctx.clock, policy=ctx.retry_policy())
    # An execution made just before the window can still be the first slot's (EARLY_S); a day covers it.
    since = start - timedelta(days=1)
    found = await asyncio.gather(*(reader.executions(job_path(project, region, job, req.env), since)
                                   for job in selected))
    found = await _with_outcomes(ctx, project, region, req.env, selected, found, since)
    states = await _trigger_states(ctx, reader, catalog, selected, req.env, f"projects/{project}/locations/{region}")
    history = build_history(catalog, dict(zip(selected, found, strict=True)), start=start, now=now,
                            read_run=run_reader(ctx), triggers=states, jobs=selected)
    spec_of = registry.lookup(ctx.settings.jobs_dir)
    history.backfill = {job: spec.variants is not None for job in selected if (spec := spec_of(job)).backfillable}
    return history


def run_reader(ctx: Context) -> RunOf:
    """What a run of a job at an instant with these args did (history's slots and runs, and backfill's
    idea of when a period is due): the period its args name, else its job's default for that instant,
    and whether it was a dry run. Each job's spec reads its args (JobSpec.read_args)."""
    household = household_zone(ctx)
    spec_of = registry.lookup(ctx.settings.jobs_dir)

    def read(job: str, at: datetime, args: Sequence[str] | None) -> RunArgs:
        spec = spec_of(job)
        said = spec.read_args(args)
        if spec.period is None:
            return RunArgs(None, said.dry_run)
        return RunArgs(said.period if said.period is not None else period_at(spec.period, at, household),
                       said.dry_run)

    return read


Found = list[list[ExecutionRecord] | None]


async def _with_outcomes(ctx: Context, project: str, region: str, env: str, selected: list[str], found: Found,
                         since: datetime) -> Found:
    """Each execution with the job's own outcome: ONE Cloud Logging query per job for the window (its tasks'
    run_summary lines), never one per execution. Unread logs are a warning: the grid keeps Cloud Run's word."""
    from housejobs.gcp.cloud_logging import LogEntries
    from housejobs.gcp.log_query import SKEW, job_filter, summary_of
    from housejobs.jobs.summaries import by_execution, said

    logs = LogEntries(ctx.settings, project, clock=ctx.clock, policy=ctx.retry_policy())
    wanted = [i for i, records in enumerate(found) if records]

    async def read(job: str) -> list[LogLine]:
        return await logs.lines(job_filter(run_job_id(job, env), region, since=since - SKEW, summaries=True))

    try:
        lines = await asyncio.gather(*(read(selected[i]) for i in wanted))
    except HousejobsError as exc:
        ctx.logger.warning(f"the jobs' own outcomes not read: {exc.line()}", event="history_outcomes_unread")
        return found
    finally:
        logs.close()
    out = list(found)
    for i, job_lines in zip(wanted, lines, strict=True):
        tasks = by_execution([s for s in map(summary_of, job_lines) if s is not None])
        records = []
        for record in found[i] or ():
            word = said(tasks.get(record.id, {}), record.task_count, record.cancelled) if record.state != RUNNING \
                else None
            records.append(record if word is None else replace(
                record, outcome=word[0].value, job_counts=word[1], summary=word[2]))
        out[i] = records
    return out


async def _trigger_states(ctx: Context, reader: ExecutionReader, catalog: dict[str, JobDef], selected: list[str],
                          env: str, parent: str) -> dict[tuple[str, str], TriggerState]:
    """Each trigger's Scheduler state, from one list call. It only explains missed slots (a paused
    trigger), so a failed read is a warning, not the end of the report."""
    wanted = [(job, t.name) for job in selected for t in catalog[job].triggers]
    if not wanted:
        return {}
    try:
        by_id = await reader.trigger_states(parent)
    except ApiError as exc:
        ctx.logger.warning(f"trigger states not read: {exc.line()}", event="history_triggers_unread")
        return {key: TriggerState(UNKNOWN) for key in wanted}
    return {(job, name): by_id.get(trigger_id(job, name, env), TriggerState(NOT_PROVISIONED))
            for job, name in wanted}


def history_result(history: History, req: HistoryRequest) -> JobResult:
    """The run's result: every slot and manual run as data; the outcome per --fail-on."""
    counts = history.counts()
    states = ", ".join(f"{counts[s]} {s}" for s in SLOT_STATES if counts[s])
    runs, dry = counts["manual_runs"], counts["dry_runs"]
    summary = (f"{req.days} day{'s' if req.days != 1 else ''}: {counts['slots']} scheduled slots"
               + (f" ({states})" if states else "") + f", {runs} manual run{'s' if runs != 1 else ''}"
               + (f" ({dry} dry run{'s' if dry != 1 else ''})" if dry else ""))
    details = {
        "env": req.env,
        "window": {"start": iso_z(history.start), "end": iso_z(history.now), "days": req.days},
        "tolerance_s": TOLERANCE_S,
        "fail_on": list(req.fail_on),
        "rows": [r.as_dict() for r in history.rows],
        "slots": [s.as_dict() for s in history.slots],
        "manual_runs": [r.as_dict() for r in history.manual_runs],
    }
    # Each such slot is in details (and listed under the grid); not repeated as failures.
    bad = history.with_state(req.fail_on)
    if bad:
        found = ", ".join(f"{sum(s.state == state for s in bad)} {state}" for state in req.fail_on
                          if any(s.state == state for s in bad))
        return JobResult(Outcome.FAILED, f"--fail-on {','.join(req.fail_on)}: {found}; {summary}", counts=counts,
                         details=details)
    return JobResult(Outcome.SKIPPED, f"a report, nothing changed: {summary}", counts=counts, details=details)
