"""Business periods: the date or month a run applies to, parsed strictly (fail closed)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from housejobs.errors import ConfigError, UsageError

# ASCII digits and \Z: `\d` also takes other scripts' digits and `$` matches before a final newline, and
# either would carry a value the contract refuses into an Idempotency-Key header.
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_MONTH = re.compile(r"^[0-9]{4}-[0-9]{2}\Z")


def parse_date(value: str | None, now: datetime, option: str = "--date") -> str:
    if value is None:
        return now.date().isoformat()
    if not _DATE.match(value):
        raise UsageError(f"{option} {value!r} is not a date", hint="use YYYY-MM-DD, e.g. 2026-11-24")
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a calendar date", hint="use YYYY-MM-DD") from None


def parse_month(value: str | None, now: datetime, option: str = "--month") -> str:
    if value is None:
        return f"{now.year:04d}-{now.month:02d}"
    if not _MONTH.match(value) or not 1 <= int(value[5:]) <= 12 or int(value[:4]) < 1:
        raise UsageError(f"{option} {value!r} is not a month", hint="use YYYY-MM, e.g. 2026-11")
    return value


def zone(name: str, source: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file name
        raise ConfigError(f"{name!r} from {source} is not an IANA time zone",
                          hint="e.g. Australia/Sydney or Etc/UTC") from None
