"""Cron as Cloud Scheduler reads it: validate a schedule, and list the times it fires, through cronsim.

Cloud Scheduler takes unix-cron: five fields (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or
JAN-DEC, day of week 0-7 or SUN-SAT, 0 and 7 both Sunday) with `*`, ranges `a-b`, steps `/n` and lists
`a,b`; day of month and day of week match either (OR) unless one of them starts with `*`. cronsim reads
the same and more: a sixth (seconds) field, `L`, `LW`, `#` and lower-case names. Scheduler's documented
format has none of those, so they are refused here, before cronsim sees the schedule: a catalog that
passes here is one Scheduler accepts, and a deployment does not stop halfway on a schedule.

Fire times are computed in the trigger's IANA time zone and returned in UTC, so DST is right: a 09:00
Australia/Sydney trigger fires at 22:00 UTC in the southern summer and 23:00 UTC in winter. For a
wall-clock time that a DST change skips or repeats, cronsim does what Debian cron does (a skipped time
runs at the first minute after the gap, a repeated one runs once, at its first occurrence); Scheduler
documents only that such times "may observe execution anomalies", so history reads them the same way.

cronsim is imported inside the functions: `housejobs --help` never loads it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from housejobs.errors import ConfigError

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_RANGES = ("0-59", "0-23", "1-31", "1-12 or JAN-DEC", "0-7 or SUN-SAT")
_MONTHS = frozenset(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])
_DAYS = frozenset(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])
_NAMES = {3: _MONTHS, 4: _DAYS}
# What a unix-cron field is made of: numbers, names, and * - / , (no L, W, #, ?, H).
_FIELD_CHARS = re.compile(r"^[0-9A-Za-z*,/-]+\Z")
_WORD = re.compile(r"[A-Za-z]+")


def check_cron(expr: str, where: str) -> str:
    """`expr` if Cloud Scheduler accepts it and it fires at all, else one-line ConfigError."""
    if not (expr.isascii() and expr.replace("\t", " ").isprintable()):
        raise ConfigError(f"{where}: schedule {expr!r} must be printable ASCII (five fields, spaces between)")
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(f"{where}: schedule {expr!r} must have 5 cron fields (minute hour day-of-month month "
                          f"day-of-week), got {len(fields)}")
    for index, value in enumerate(fields):
        _check_field(expr, where, index, value)
    from cronsim import CronSim, CronSimError

    try:
        CronSim(expr, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        raise ConfigError(_bad_field(expr, where, fields, str(exc))) from None
    return expr


def _check_field(expr: str, where: str, index: int, value: str) -> None:
    what = f"{where}: schedule {expr!r}: {FIELDS[index]} {value!r}"
    if not _FIELD_CHARS.match(value):
        odd = next(c for c in value if not re.match(r"[0-9A-Za-z*,/-]", c))
        raise ConfigError(f"{what}: {odd!r} is not unix-cron (Cloud Scheduler takes numbers, names, * - / ,)")
    for word in _WORD.findall(value):
        names = _NAMES.get(index, frozenset())
        if word.upper() in names and word != word.upper():
            raise ConfigError(f"{what}: write {word!r} as {word.upper()!r}",
                              hint="Cloud Scheduler documents names as three capital letters")
        if word not in names:
            allowed = f"it takes {_RANGES[index]}" if names else "it takes numbers only"
            raise ConfigError(f"{what}: {word!r} is not supported by Cloud Scheduler ({allowed})")


def _bad_field(expr: str, where: str, fields: list[str], message: str) -> str:
    # cronsim says "Bad <field>"; name the field, its value and what it takes.
    for index, name in enumerate(FIELDS):
        if message.lower().endswith(name):
            return (f"{where}: schedule {expr!r}: {name} {fields[index]!r} is not valid (it takes "
                    f"{_RANGES[index]}, ranges low-high, steps /n above 0, lists a,b; and must fire at all)")
    return f"{where}: schedule {expr!r} is not valid unix-cron ({message})"


def fire_times(expr: str, zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The times `expr`, read in `zone`, fires in [start, end), as aware UTC datetimes, oldest first."""
    from cronsim import CronSim

    if end <= start:
        return []
    # cronsim yields strictly after the time it is given and works in whole seconds.
    since = start.astimezone(zone).replace(microsecond=0) - timedelta(seconds=1)
    out: list[datetime] = []
    for local in CronSim(expr, since):
        when = local.astimezone(UTC)
        if when >= end:
            break
        if when >= start:
            out.append(when)
    return out
