"""clock.py's iso_z: the one way housejobs writes an instant (JSON, log lines, events, the sandbox's records)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from housejobs.clock import iso_z

SRC = Path(__file__).resolve().parents[2] / "src" / "housejobs"


def test_iso_z_writes_utc_with_a_z() -> None:
    assert iso_z(datetime(2026, 11, 24, 10, 0, tzinfo=UTC)) == "2026-11-24T10:00:00Z"
    assert iso_z(datetime(2026, 11, 24, 10, 0, 0, 250_000, tzinfo=UTC)) == "2026-11-24T10:00:00.250000Z"
    # Another zone's instant is the same instant in UTC, never its own offset.
    sydney_summer = timezone(timedelta(hours=11))
    assert iso_z(datetime(2026, 11, 24, 21, 0, tzinfo=sydney_summer)) == "2026-11-24T10:00:00Z"
    assert iso_z(None) is None


def test_no_module_writes_the_z_on_its_own() -> None:
    # One copy of the rule: `isoformat().replace("+00:00", "Z")` (or its strftime spelling) lives in clock.py.
    rule = re.compile(r"""replace\(\s*["']\+00:00["']\s*,\s*["']Z["']\s*\)|%SZ["']""")
    found = [f"{path.relative_to(SRC)}:{n}" for path in sorted(SRC.rglob("*.py")) if path.name != "clock.py"
             for n, line in enumerate(path.read_text().splitlines(), 1) if rule.search(line)]
    assert found == []
