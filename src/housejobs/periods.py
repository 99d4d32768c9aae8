"""Business periods: the date or month a run applies to, parsed strictly (fail closed).

A period must also be one a run could mean: from EARLIEST (a fixed floor, 2000-01-01) to one year
after today on the injected clock. A typo'd year (9999-12-31, 0001-01-01, 1969-12-31) would otherwise
write a permanent ledger entry for a day that never comes or long went. The floor is fixed, not
"N years ago", so tests and reruns pinned to a past date keep working as the years pass.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from housejobs.errors import ConfigError, UsageError

# ASCII digits and \Z: `\d` also takes other scripts' digits and `$` matches before a final newline, and
# either would carry a value the contract refuses into an Idempotency-Key header.
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}\Z")
EARLIEST = date(2000, 1, 1)
_RANGE_HINT = f"periods run from {EARLIEST.isoformat()} to one year after today (UTC); check the year"


def _latest(now: datetime) -> date:
    """Today a year on (28 February for a 29th)."""
    today = now.date()
    try:
        return today.replace(year=today.year + 1)
    except ValueError:
        return today.replace(year=today.year + 1, day=28)


def _in_range(first: date, now: datetime, option: str, value: str) -> None:
    """Refuse a period (by its first day) before EARLIEST or more than a year after today."""
    if first < EARLIEST:
        raise UsageError(f"{option} {value!r} is before {EARLIEST.isoformat()}", hint=_RANGE_HINT)
    if first > _latest(now):
        raise UsageError(f"{option} {value!r} is more than a year after today ({now.date().isoformat()})",
                         hint=_RANGE_HINT)


def parse_date(value: str | None, now: datetime, option: str = "--date") -> str:
    if value is None:
        return now.date().isoformat()
    if not _DATE.match(value):
        raise UsageError(f"{option} {value!r} is not a date", hint="use YYYY-MM-DD, e.g. 2026-11-24")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a calendar date", hint="use YYYY-MM-DD") from None
    _in_range(day, now, option, value)
    return day.isoformat()


def parse_month(value: str | None, now: datetime, option: str = "--month") -> str:
    if value is None:
        return f"{now.year:04d}-{now.month:02d}"
    if not _MONTH.match(value) or not 1 <= int(value[5:]) <= 12 or int(value[:4]) < 1:
        raise UsageError(f"{option} {value!r} is not a month", hint="use YYYY-MM, e.g. 2026-11")
    # By its first day: EARLIEST is a first of the month, and the month a year from now is allowed.
    _in_range(date(int(value[:4]), int(value[5:]), 1), now, option, value)
    return value


def zone(name: str, source: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise ConfigError(f"{name!r} from {source} is not an IANA time zone",
                          hint="e.g. Australia/Sydney or Etc/UTC") from None


def parse_period(unit: str, value: str | None, now: datetime, option: str | None = None) -> str:
    """`value` as a period of `unit` ("date" or "month"), or now's when None: the parser of that unit."""
    parse = parse_month if unit == "month" else parse_date
    return parse(value, now) if option is None else parse(value, now, option=option)


def period_at(unit: str, instant: datetime, where: tzinfo) -> str:
    """The period ("date" or "month") a job run at `instant` applies when given none, its calendar read
    in `where`: the one rule the jobs, history and backfill share."""
    return parse_period(unit, None, instant.astimezone(where))

