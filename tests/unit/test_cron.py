"""cron.py: a trigger's fire times in its IANA time zone, across daylight-saving changes (as Cloud Scheduler reads
cron). The reminder's Sydney slots end to end are in tests/cli/test_history.py."""

from __future__ import annotations

from datetime import UTC, datetime

from housejobs.cron import fire_times

ZONE_SYDNEY = "Australia/Sydney"


def test_fire_times_across_the_changes() -> None:
    sydney = __import__("zoneinfo").ZoneInfo(ZONE_SYDNEY)
    # 02:30 does not exist on 4 October (02:00 → 03:00): cronsim, like Debian cron, runs it at 03:00.
    october = fire_times("30 2 * * *", sydney, datetime(2026, 10, 2, tzinfo=UTC), datetime(2026, 10, 5, tzinfo=UTC))
    assert [t.isoformat() for t in october] == ["2026-10-02T16:30:00+00:00", "2026-10-03T16:00:00+00:00",
                                                "2026-10-04T15:30:00+00:00"]
    # 02:30 happens twice on 5 April (03:00 → 02:00): it runs once, at the first.
    april = fire_times("30 2 * * *", sydney, datetime(2026, 4, 3, tzinfo=UTC), datetime(2026, 4, 6, tzinfo=UTC))
    assert [t.isoformat() for t in april] == ["2026-04-03T15:30:00+00:00", "2026-04-04T15:30:00+00:00",
                                              "2026-04-05T16:30:00+00:00"]
