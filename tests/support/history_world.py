"""A month of Cloud Run history for `housejobs history` and `backfill` tests.

The catalog is deployed to stage with create-all-jobs (Cloud Run and Scheduler fakes), then executions
are seeded at past times, the way Scheduler's triggers would have made them. `now` is the suite's NOW,
2026-11-24 10:00 UTC; the 30-day window is the UTC days 2026-10-26 to 2026-11-24.

    quota-reset    every day 00:00:04 succeeded, except
                   11-03 nothing (missed)
                   11-05 created 6 min late (inside its window: succeeded, 360 s late)
                   11-10 created at exactly the window's end (outside: missed, and a manual run)
                   11-11 created 1 s before the window's end (inside: succeeded)
                   11-12 plus an operator's run at 14:03 (a manual run)
                   11-14 a failed execution, then a succeeded one in the same window
    quota-cleanup  every day 01:00:04 succeeded; today's is still running
    stale-cleanup  every day 02:00:04 succeeded; 11-08 cancelled; trigger paused 11-17 12:00, so
                   11-18 to 11-24 have no execution (missed, trigger paused)
    alerts         every day 08:00:04 succeeded; 11-18 failed
    quota-monthly  11-01 00:05:04 succeeded
    reminder       11-01 utilities (10:00 AEDT = 10-31 23:00Z) and rent-due (09:00 AEDT = 10-31 22:00Z)
    bootstrap      one run 11-15 09:30 (manual job); migrate one failed run 11-15 09:20
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from housejobs.catalog import load_catalog
from housejobs.jobs.slots import grace_s
from housejobs.settings import find_jobs_dir
from tests.support.cli import Cli
from tests.support.cloud_run import log_summaries
from tests.support.deploy_env import PARENT, GcpEnv

DAY0 = datetime(2026, 10, 26, tzinfo=UTC)
DAYS = 30
PAUSED_AT = datetime(2026, 11, 17, 12, 0, tzinfo=UTC)
CATALOG = load_catalog(find_jobs_dir({})[0])
# 60 s deadline x 3 attempts + 5 s + 10 s backoff + 300 s tolerance: the daily triggers' window.
GRACE = grace_s(CATALOG["quota-reset"].triggers[0])
DAILY = {"quota-reset": 0, "quota-cleanup": 1, "stale-cleanup": 2, "alerts": 8}


def job_name(job: str, env: str = "stage") -> str:
    return f"{PARENT}/jobs/housejobs-{job}-{env}"


def deploy(cli: Cli, gcp: GcpEnv) -> None:
    done = cli("create-all-jobs", "--env", "stage", env=gcp.env)
    assert done.code == 0, done.stdout + done.stderr
    gcp.clear()


def deployed_month(cli: Cli, gcp: GcpEnv) -> GcpEnv:
    """The catalog deployed to stage and the month above seeded (the `month` fixtures); returns `gcp`."""
    deploy(cli, gcp)
    seed_month(cli, gcp)
    return gcp


def running_month(cli: Cli, gcp: GcpEnv) -> GcpEnv:
    """The deployed month, with executions that run: each new one succeeds on its first poll, and each task
    logs a run_summary saying `applied` (or `failed`) as it ends, seeded ones included (backfill's world)."""
    log_summaries(gcp.run)
    deployed_month(cli, gcp).run.auto_complete = "succeeded"
    return gcp


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Day `day` of November 2026 (0 and below count back into October)."""
    return datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=day - 1, hours=hour, minutes=minute, seconds=second)


def seed(gcp: GcpEnv, job: str, created: datetime, outcome: Any = "succeeded", **kw: Any) -> dict[str, Any]:
    return gcp.run.seed_execution(job_name(job), created=created, outcome=outcome, **kw)


def pause(cli: Cli, gcp: GcpEnv, job: str, when: datetime) -> None:
    clock = gcp.sched.clock
    gcp.sched.clock = lambda: when  # Scheduler stamps userUpdateTime with the time of the pause
    try:
        done = cli("pause", job, "--env", "stage", env=gcp.env)
    finally:
        gcp.sched.clock = clock
    assert done.code == 0, done.stdout + done.stderr


def seed_month(cli: Cli, gcp: GcpEnv) -> None:
    for i in range(DAYS):
        day = DAY0 + timedelta(days=i)
        for job, hour in DAILY.items():
            scheduled = day + timedelta(hours=hour)
            if job == "quota-reset" and day.day in (3, 5, 10, 11, 14):
                continue
            if job == "stale-cleanup" and scheduled > PAUSED_AT:
                continue
            outcome: Any = "succeeded"
            if (job, day.month, day.day) == ("alerts", 11, 18):
                outcome = "failed"
            elif (job, day.month, day.day) == ("stale-cleanup", 11, 8):
                outcome = "cancelled"
            elif (job, day.month, day.day) == ("quota-cleanup", 11, 24):
                outcome = None  # still running
            seed(gcp, job, scheduled + timedelta(seconds=4), outcome)
    seed(gcp, "quota-reset", at(5, 0, 6))                                 # late, inside the window
    seed(gcp, "quota-reset", at(10) + timedelta(seconds=GRACE))            # just outside
    seed(gcp, "quota-reset", at(11) + timedelta(seconds=GRACE - 1))        # just inside
    seed(gcp, "quota-reset", at(12, 14, 3))                               # an operator's run
    seed(gcp, "quota-reset", at(14, 0, 0, 4), "failed")                   # two in one window:
    seed(gcp, "quota-reset", at(14, 0, 3, 20))                            # the succeeded one wins
    seed(gcp, "quota-monthly", at(1, 0, 5, 4))
    seed(gcp, "reminder", at(0, 23, 0, 4), args=["reminder", "utilities"])
    seed(gcp, "reminder", at(0, 22, 0, 4), args=["reminder", "rent-due"])
    seed(gcp, "bootstrap", at(15, 9, 30))
    seed(gcp, "migrate", at(15, 9, 20), "failed")
    pause(cli, gcp, "stale-cleanup", PAUSED_AT)
    gcp.clear()


def slots(doc: dict[str, Any], row: str) -> dict[str, dict[str, Any]]:
    """A history document's slots of one row, by scheduled time (ISO, Z)."""
    return {s["scheduled"]: s for s in doc["details"]["slots"] if s["row"] == row}


def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")
