"""Which business period a job applies when it runs at a given instant, as history and backfill read
it. The rules today's jobs declare:

    job                                  period   default when run at instant t      passed as
    quota-reset, stale-cleanup, alerts   date     t's UTC date                       --date
    quota-cleanup                        date     t's UTC date                       (none: retention)
    quota-monthly                        month    t's UTC month                      --month
    org-sync-all                         date     t's UTC date                       --date
    reminder TYPE                        month    t's month in household_time_zone   --period

Each rule is declared in its job's spec (jobs/spec.py: PeriodRule), and the defaults are the parsers the
commands themselves use (`periods.period_at`), so a job run at t and history's idea of what that run
applied cannot disagree.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from housejobs import periods
from housejobs.jobs.spec import HOUSEHOLD, MONTH, PeriodRule
from housejobs.settings import Setting

if TYPE_CHECKING:
    from housejobs.context import Context


def household_zone(ctx: Context) -> ZoneInfo:
    """The household's time zone (household_time_zone), where a HOUSEHOLD rule's calendar is read."""
    # Its default is UTC: an empty value that was given is refused like any other bad zone.
    return periods.zone(ctx.settings.household_time_zone, ctx.settings.given(Setting.household_time_zone).source)


def period_at(rule: PeriodRule, instant: datetime, household: ZoneInfo) -> str:
    """The period a run of the job at `instant` applies when it is given none."""
    return periods.period_at(rule.unit, instant, household if rule.zone == HOUSEHOLD else UTC)


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
