"""History: did every scheduled run happen? Pure: the catalog, the executions Cloud Run keeps, the
triggers' states and `now` in; slots out. No Google import, no I/O, no clock of its own.

For each trigger of each scheduled job, the times its cron fires in its time zone inside the window
[start, now) (`cron.fire_times`, DST-correct) are its slots. Each slot has a window in which Cloud
Scheduler's run of it must have created a Cloud Run execution:

    opens   scheduled time - EARLY_S (60 s: Scheduler's clock and Cloud Run's are not one clock)
    closes  scheduled time + attempt_deadline x (retry_count + 1)   each attempt may take its deadline
                           + Scheduler's backoff before each retry  (its defaults: 5 s, doubling)
                           + TOLERANCE_S                            (300 s, see below)
            and no later than the next fire time (Scheduler stops retrying when the next run is due)

An execution is a candidate for a trigger's slots when its container args are the trigger's (the
job's catalog args plus the trigger's; an execution without them counts for any trigger of its job).
It matches the slot whose window holds its create time (its start time if it has none) and whose
scheduled time is nearest. A slot takes the state of its best execution, succeeded > running > failed
> cancelled, and lists the others. With none it is `missed` once its window has closed (saying why
when that is known: the trigger is paused, the job or the trigger does not exist), `pending` while
the window is still open, and `upcoming` before its scheduled time (the slots later today: the grid's
last column is today's UTC date). Executions that match no slot are manual runs: an operator's `run`, a
backfill (its args name the period), or a run too late to be the scheduled one. A dry run (`--dry-run`
in its args: smoke's, an operator's) changed nothing, so it is never a slot's run nor a period's: it is
a manual run marked as a dry run. Manual jobs have no slots; their executions are their history.

TOLERANCE_S is 300 s. Scheduler starts a job within seconds of its time as a rule but documents no
bound, and a slow RunJob call or a busy region adds to that; five minutes absorbs it and stays far
below the shortest gap between two fire times in the catalog (a day), so a late run is still its own
slot's and never the next one's. A run later than its window is reported as a manual run and the slot
as missed, on purpose: nothing in Cloud Run says which scheduled time a late execution was for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from housejobs.catalog import DEFAULT_TRIGGER, JobDef, Trigger
from housejobs.clock import iso_z
from housejobs.cron import fire_times
from housejobs.gcp.records import (
    CANCELLED,
    FAILED,
    MISSED,
    NOT_PROVISIONED,
    PAUSED,
    PENDING,
    RUNNING,
    SLOT_STATES,
    SUCCEEDED,
    UNKNOWN,
    UPCOMING,
    ExecutionRecord,
    TriggerState,
)
from housejobs.gcp.specs import SCHEDULER_RETRY_DEFAULTS
from housejobs.jobs.spec import RunArgs

EARLY_S = 60
TOLERANCE_S = 300

# A slot's states (SLOT_STATES) are gcp/records.py's: an execution's, and missed and upcoming without one.
# Which of several speaks for one slot (its executions) or one period (its slots and runs): the one that got
# furthest. A success; else one still going (running: it may yet succeed; pending: its window is open;
# upcoming: not due); else one that ran and failed (its failure says why), one that ran and was cancelled;
# missed: nothing ran. This is not a severity scale read backwards: a day's grid cell shows the state a
# reader must see first (cli/palette.WORST_FIRST). The two choose alike inside a group (running over pending
# over upcoming, failed over cancelled); they differ in which group comes first (a slot is as good as its
# best attempt, a day as bad as its worst slot) and in where missed goes. One order for both would make a
# slot with a failed and a cancelled execution read cancelled (hiding the failure from --fail-on failed),
# or a day with a failed and a cancelled run show cancelled.
FURTHEST_FIRST = (SUCCEEDED, RUNNING, PENDING, UPCOMING, FAILED, CANCELLED, MISSED)
_RANK = {state: i for i, state in enumerate(FURTHEST_FIRST)}

# job, instant, container args → what a run with those args at that instant did: the business period it
# applied (its default for that instant when the args name none; None for a job without one), and whether
# it was a dry run (history's reader: jobs/history.py, from each job's spec).
RunOf = Callable[[str, datetime, Sequence[str] | None], RunArgs]


@dataclass(frozen=True)
class Row:
    """One line of the grid: a trigger of a scheduled job, or a manual job."""

    key: str  # "quota-reset", "reminder rent-due", "org-sync-all"
    job: str
    trigger: str | None
    kind: str
    schedule: str = ""
    time_zone: str = ""
    trigger_state: str = ""
    grace_s: int = 0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.key, "job": self.job, "trigger": self.trigger, "kind": self.kind,
                "schedule": self.schedule, "time_zone": self.time_zone, "trigger_state": self.trigger_state,
                "window_s": self.grace_s, "note": self.note}


@dataclass
class Slot:
    row: str
    job: str
    trigger: str
    scheduled: datetime  # UTC
    time_zone: str
    window_end: datetime
    period: str | None
    state: str
    reason: str = ""
    execution: ExecutionRecord | None = None
    others: list[ExecutionRecord] = field(default_factory=list)

    @property
    def local(self) -> datetime:
        return self.scheduled.astimezone(ZoneInfo(self.time_zone))

    @property
    def delay_s(self) -> float | None:
        at = self.execution.at if self.execution else None
        return None if at is None else (at - self.scheduled).total_seconds()

    @property
    def label(self) -> str:
        return f"{self.state} ({self.reason})" if self.reason else self.state

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "job": self.job, "trigger": self.trigger, "scheduled": iso_z(self.scheduled),
                "scheduled_local": self.local.isoformat(), "time_zone": self.time_zone,
                "window_end": iso_z(self.window_end), "period": self.period, "state": self.state,
                "reason": self.reason, "delay_s": self.delay_s,
                "execution": self.execution.as_dict() if self.execution else None,
                "others": [e.as_dict() for e in self.others]}


@dataclass
class ManualRun:
    """An execution that is no slot's: a manual job's run, an operator's run, a backfill, a late run, a
    dry run (`period` is then the one it would have applied)."""

    row: str
    job: str
    trigger: str | None
    period: str | None
    execution: ExecutionRecord
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "job": self.job, "trigger": self.trigger, "period": self.period,
                "dry_run": self.dry_run, "execution": self.execution.as_dict()}


@dataclass
class History:
    start: datetime
    now: datetime
    rows: list[Row]
    slots: list[Slot]
    manual_runs: list[ManualRun]
    # The jobs `housejobs backfill` takes, and whether with a --type (a job with variants: its triggers
    # are named by them), as their specs say (jobs/history.py fills it).
    backfill: dict[str, bool] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        counts = {state: 0 for state in SLOT_STATES}
        for slot in self.slots:
            counts[slot.state] += 1
        return {"slots": len(self.slots), **counts, "manual_runs": len(self.manual_runs),
                "dry_runs": sum(r.dry_run for r in self.manual_runs)}

    def with_state(self, states: Sequence[str]) -> list[Slot]:
        return [s for s in self.slots if s.state in states]

    def period_states(self, job: str, trigger: str | None = None) -> dict[str, str]:
        """Each period the job (one trigger of it) applied or should have, and the best state any slot
        or run of it reached: a missed slot whose period a later backfill ran reads succeeded. A dry
        run applied nothing, so it speaks for no period."""
        out: dict[str, str] = {}

        def note(period: str | None, state: str) -> None:
            if period is not None and (period not in out or _RANK[state] < _RANK[out[period]]):
                out[period] = state

        for slot in self.slots:
            if slot.job == job and (trigger is None or slot.trigger == trigger):
                note(slot.period, slot.state)
        for run in self.manual_runs:
            if run.job == job and (trigger is None or run.trigger == trigger) and not run.dry_run:
                note(run.period, run.execution.state)
        return out


def grace_s(trigger: Trigger) -> int:
    """How long after its scheduled time a slot waits for an execution (see the module docstring)."""
    return trigger.attempt_deadline_s * (trigger.retry_count + 1) + backoff_s(trigger.retry_count) + TOLERANCE_S


def backoff_s(retries: int) -> int:
    """Cloud Scheduler's waits before `retries` retries, at its defaults (the catalog sets only the
    count): from minBackoffDuration, doubling maxDoublings times, then growing linearly, capped."""
    least = _seconds(SCHEDULER_RETRY_DEFAULTS["minBackoffDuration"])
    most = _seconds(SCHEDULER_RETRY_DEFAULTS["maxBackoffDuration"])
    doublings = int(str(SCHEDULER_RETRY_DEFAULTS["maxDoublings"]))
    total = 0
    for i in range(retries):
        wait = least * 2 ** i if i <= doublings else least * 2 ** doublings * (i - doublings + 1)
        total += min(wait, most)
    return total


def _seconds(duration: object) -> int:
    return int(str(duration).rstrip("s"))


def scheduled_text(when: datetime, time_zone: str) -> str:
    """A scheduled time in UTC (history's columns are UTC dates), then in its trigger's zone if that differs."""
    utc = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    local = when.astimezone(ZoneInfo(time_zone))
    if local.utcoffset() == timedelta(0) and local.tzname() in ("UTC", "GMT"):
        return utc
    return f"{utc} ({local.strftime('%Y-%m-%d %H:%M %Z')})"


def first_slot(job: JobDef, period: str, read_run: RunOf, around: tuple[datetime, datetime],
               trigger: str | None = None) -> Slot | None:
    """When the catalog runs `period`: the earliest slot, among the job's triggers (or the one named),
    whose run applies `period`, computed as history computes slots (fire times in `around`, each with
    the period a run with the trigger's args would apply). None if no trigger schedules it there."""
    found = [Slot(row_key(job, t), job.name, t.name, when, t.time_zone, when, period, UPCOMING)
             for t in job.triggers if trigger is None or t.name == trigger
             for when in fire_times(t.schedule, ZoneInfo(t.time_zone), *around)
             if read_run(job.name, when, job.container_args(t.args)).period == period]
    return min(found, key=lambda s: s.scheduled, default=None)


def row_key(job: JobDef, trigger: Trigger | None) -> str:
    if trigger is None or (len(job.triggers) == 1 and trigger.name == DEFAULT_TRIGGER):
        return job.name
    return f"{job.name} {trigger.name}"


def build_history(catalog: Mapping[str, JobDef], executions: Mapping[str, Sequence[ExecutionRecord] | None], *,
                  start: datetime, now: datetime, read_run: RunOf,
                  triggers: Mapping[tuple[str, str], TriggerState] | None = None,
                  jobs: Sequence[str] | None = None) -> History:
    """Slots and manual runs of `jobs` (default: every catalog job) in [start, now).

    `executions[job]` is None when the job's Cloud Run Job does not exist; a job absent from it is
    shown without executions. `triggers` maps (job, trigger name) to its Scheduler state."""
    triggers = triggers or {}
    history = History(start, now, [], [], [])
    for name in jobs or list(catalog):
        job = catalog[name]
        found = executions.get(name, ())
        missing_job = found is None
        records = sorted((e for e in found or () if e.at is not None), key=lambda e: e.at or now)
        dry = {e.name for e in records if read_run(job.name, e.at or now, e.args).dry_run}
        if not job.triggers:
            history.rows.append(Row(job.name, job.name, None, job.kind,
                                    note="Cloud Run job not provisioned" if missing_job else ""))
            history.manual_runs += [ManualRun(job.name, job.name, None, read_run(job.name, e.at or now, e.args).period,
                                              e, e.name in dry) for e in records if (e.at or now) >= start]
            continue
        slots = _job_slots(job, start, now, read_run, triggers, missing_job, history.rows)
        unmatched = _match(job, slots, [e for e in records if e.name not in dry])
        for slot in slots:
            _settle(slot, now)
        history.slots += slots
        for e in sorted([*unmatched, *(e for e in records if e.name in dry)], key=lambda e: e.at or now):
            if (e.at or now) >= start:
                trigger = _owner(job, e.args)
                key = row_key(job, trigger) if trigger else job.name
                history.manual_runs.append(ManualRun(key, job.name, trigger.name if trigger else None,
                                                     read_run(job.name, e.at or now, e.args).period, e, e.name in dry))
    # Scheduled rows first (what history is about), then the manual jobs, each in catalog order.
    history.rows.sort(key=lambda r: r.trigger is None)
    history.slots.sort(key=lambda s: (s.scheduled, s.row))
    history.manual_runs.sort(key=lambda r: (r.execution.at or now, r.row))
    return history


def _job_slots(job: JobDef, start: datetime, now: datetime, read_run: RunOf,
               states: Mapping[tuple[str, str], TriggerState], missing_job: bool, rows: list[Row]) -> list[Slot]:
    slots: list[Slot] = []
    for trigger in job.triggers:
        key = row_key(job, trigger)
        grace = grace_s(trigger)
        state = states.get((job.name, trigger.name), TriggerState(UNKNOWN))
        note = "Cloud Run job not provisioned" if missing_job else (
            "trigger not provisioned" if state.state == NOT_PROVISIONED else "")
        rows.append(Row(key, job.name, trigger.name, job.kind, trigger.schedule, trigger.time_zone, state.state,
                        grace, note))
        zone = ZoneInfo(trigger.time_zone)
        # Fire times later today are upcoming slots; any later ones only close the last slots' windows
        # early (never past the next run).
        end_of_today = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)
        fires = fire_times(trigger.schedule, zone, start, max(end_of_today, now + timedelta(seconds=grace + 1)))
        args = job.container_args(trigger.args)
        for i, when in enumerate(fires):
            if when >= end_of_today:
                break
            end = when + timedelta(seconds=grace)
            if i + 1 < len(fires):
                end = min(end, fires[i + 1])
            reason = note or (
                "trigger paused" if state.state == PAUSED and (state.since is None or when >= state.since) else "")
            slots.append(Slot(key, job.name, trigger.name, when, trigger.time_zone, end,
                              read_run(job.name, when, args).period, MISSED, reason))
    return slots


def _match(job: JobDef, slots: list[Slot], records: list[ExecutionRecord]) -> list[ExecutionRecord]:
    """Give each execution to the slot it ran for; return those that ran for none."""
    unmatched: list[ExecutionRecord] = []
    for record in records:
        at = record.at
        assert at is not None
        owners = _candidates(job, record.args)
        fits = [s for s in slots if s.trigger in owners
                and s.scheduled - timedelta(seconds=EARLY_S) <= at < s.window_end]
        if not fits:
            unmatched.append(record)
            continue
        slot = min(fits, key=lambda s: abs((at - s.scheduled).total_seconds()))
        slot.others.append(record)
    return unmatched


def _settle(slot: Slot, now: datetime) -> None:
    """A slot's state from the executions matched to it (held in `others` until now), else from `now`."""
    if slot.others:
        best = min(slot.others, key=lambda e: (_RANK[e.state], e.at or now))
        slot.execution = best
        slot.others = [e for e in slot.others if e is not best]
        slot.state = best.state
        slot.reason = ""
    elif now < slot.scheduled:
        slot.state = UPCOMING  # keeping the reason: a paused trigger's upcoming slot will not run
    elif now < slot.window_end:
        slot.state, slot.reason = PENDING, "its window is still open"


def _candidates(job: JobDef, args: tuple[str, ...] | None) -> set[str]:
    """The triggers whose scheduled run an execution with these args could be."""
    if args is None:
        return {t.name for t in job.triggers}
    return {t.name for t in job.triggers if list(args) == job.container_args(t.args)}


def _owner(job: JobDef, args: tuple[str, ...] | None) -> Trigger | None:
    """The trigger a manual run was a run of: its args begin with the trigger's (the reminder's type)."""
    if args is None:
        return job.triggers[0] if len(job.triggers) == 1 else None
    for trigger in job.triggers:
        full = job.container_args(trigger.args)
        if list(args[:len(full)]) == full and (trigger.args or len(job.triggers) == 1):
            return trigger
    return None
