"""Which business period a job applies when it runs at a given instant: the one table history and
backfill both read.

    job                                  period   default when run at instant t      passed as
    quota-reset, stale-cleanup, alerts   date     t's UTC date                       --date
    quota-cleanup                        date     t's UTC date                       (none: retention)
    quota-monthly                        month    t's UTC month                      --month
    org-sync-all                         date     t's UTC date                       --date
    reminder TYPE                        month    t's month in household_time_zone   --period

The rules themselves live in the job registry (jobs/registry.py), and the defaults are the parsers the
commands themselves use (`parse_date(None, now)`, `parse_month(None, now)`), so a job run
at t and history's idea of what that run applied cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from housejobs import periods
from housejobs.errors import UsageError
from housejobs.jobs.registry import DRY_RUN_FLAG, HOUSEHOLD, MONTH, REGISTRY, PeriodRule


def rule_for(job: str) -> PeriodRule | None:
    """The job's period rule, or None for a job with no business period (migrate, bootstrap)."""
    found = REGISTRY.get(job)
    return found.period if found is not None else None


def period_at(rule: PeriodRule, instant: datetime, household: ZoneInfo) -> str:
    """The period a run of the job at `instant` applies when it is given none."""
    return periods.period_at(rule.unit, instant, household if rule.zone == HOUSEHOLD else UTC)


def period_of_run(rule: PeriodRule, instant: datetime, args: Sequence[str] | None,
                  household: ZoneInfo) -> str:
    """What a run applied (or, for a dry run, would have): the period its arguments name, else `period_at`."""
    named = read_args(args, rule.option).period
    return named if named is not None else period_at(rule, instant, household)


@dataclass(frozen=True)
class RunArgs:
    """What a run's container args say about it."""

    period: str | None  # the period its option names (None: the job's default for when it ran)
    dry_run: bool  # it ran with --dry-run: it changed nothing, so it is no period's and no slot's run


def read_args(args: Sequence[str] | None, option: str | None) -> RunArgs:
    """Read a run's args as the command reads them: `--date X` or `--date=X` (the last one wins), the
    `--dry-run` flag, and nothing after a bare `--` (click's end of options). `option` is the job's
    period option (its PeriodRule's), None for a job without one."""
    period, dry_run = None, False
    items = list(args or ())
    i = 0
    while i < len(items):
        arg = items[i]
        if arg == "--":
            break
        if option is not None and arg == option:
            period = items[i + 1] if i + 1 < len(items) else period
            i += 2
            continue
        if option is not None and arg.startswith(option + "="):
            period = arg.split("=", 1)[1]
        elif arg == DRY_RUN_FLAG:
            dry_run = True
        i += 1
    return RunArgs(period, dry_run)


def is_dry_run(job: str, args: Sequence[str] | None) -> bool:
    """Did a run of `job` with these container args run with --dry-run?"""
    rule = rule_for(job)
    return read_args(args, rule.option if rule is not None else None).dry_run


def period_args(rule: PeriodRule, period: str) -> tuple[str, ...]:
    """The arguments that make the job apply `period` (appended to its catalog args)."""
    if rule.option is None:
        raise UsageError(f"{rule.job} takes no business period")
    return (rule.option, period)


def parse_period(rule: PeriodRule, value: str, option: str, now: datetime) -> str:
    """A --from/--to value in the rule's unit, refused in one line otherwise: the same parsers, and the
    same range (periods.py), as the jobs' own --date/--month."""
    return periods.parse_period(rule.unit, value, now, option)


def period_start(rule: PeriodRule, period: str) -> datetime:
    """The start of `period` (a parsed one), as UTC midnight of its first day."""
    first = date.fromisoformat(period + "-01" if rule.unit == MONTH else period)
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


def periods_between(rule: PeriodRule, first: str, last: str) -> list[str]:
    """Every period from `first` to `last`, both included, oldest first ([] if last < first)."""
    out: list[str] = []
    if rule.unit == MONTH:
        year, month = int(first[:4]), int(first[5:7])
        while f"{year:04d}-{month:02d}" <= last:
            out.append(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out
    day, end = date.fromisoformat(first), date.fromisoformat(last)
    while day <= end:
        out.append(day.isoformat())
        day = date.fromordinal(day.toordinal() + 1)
    return out


def count_between(rule: PeriodRule, first: str, last: str) -> int:
    """How many periods `periods_between` would list, without listing them (to refuse huge windows)."""
    if rule.unit == MONTH:
        return (int(last[:4]) * 12 + int(last[5:7])) - (int(first[:4]) * 12 + int(first[5:7])) + 1
    return date.fromisoformat(last).toordinal() - date.fromisoformat(first).toordinal() + 1
