"""jobs/slots.py, the engine under `housejobs history`: scheduled slots matched to executions, without any server.

The CLI over the Google fakes is tests/cli/test_history.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from housejobs.catalog import JobDef, Trigger
from housejobs.cli.history_render import worst
from housejobs.gcp.records import PAUSED, ExecutionRecord, TriggerState
from housejobs.jobs.slots import TOLERANCE_S, backoff_s, build_history, grace_s
from housejobs.jobs.spec import RunArgs


def _job(**trigger: Any) -> JobDef:
    return JobDef("quota-reset", "daily", "", "", (Trigger("schedule", "0 0 * * *", "Etc/UTC", **trigger),))


def _record(name: str, created: datetime, state: str = "succeeded", args: tuple[str, ...] | None = None
            ) -> ExecutionRecord:
    return ExecutionRecord(f"jobs/x/executions/{name}", state, created=created, args=args)


def _build(job: JobDef, records: list[ExecutionRecord], now: datetime, start: datetime | None = None,
           **kw: Any) -> Any:
    return build_history({job.name: job}, {job.name: records}, start=start or now.replace(hour=0) - timedelta(days=1),
                         now=now, read_run=lambda job, at, args: RunArgs(at.date().isoformat(), False), **kw)


def test_backoff_and_the_window_follow_schedulers_defaults() -> None:
    assert [backoff_s(n) for n in range(7)] == [0, 5, 15, 35, 75, 155, 315]
    assert grace_s(Trigger("t", "0 0 * * *", "Etc/UTC", retry_count=0, attempt_deadline_s=180)) == 480
    assert grace_s(Trigger("t", "0 0 * * *", "Etc/UTC", retry_count=5, attempt_deadline_s=1800)) == \
        1800 * 6 + 155 + TOLERANCE_S


def test_engine_best_execution_wins_and_others_are_kept() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    records = [_record("a", now.replace(hour=0, second=3), "cancelled"),
               _record("b", now.replace(hour=0, minute=1), "running"),
               _record("c", now.replace(hour=0, minute=2), "failed")]
    found = _build(_job(), records, now)
    today = next(s for s in found.slots if s.scheduled.day == 24)
    assert today.state == "running" and today.execution.id == "b"
    assert sorted(e.id for e in today.others) == ["a", "c"]


def test_a_slot_and_a_period_take_what_got_furthest_and_a_cell_shows_the_worst() -> None:
    # Two rules, not one order read both ways (jobs/slots.FURTHEST_FIRST, cli/palette.WORST_FIRST): both
    # choose failed over cancelled and running over pending, and they differ in which group comes first.
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    records = [_record("failed", now.replace(hour=0, second=3), "failed"),
               _record("cancelled", now.replace(hour=0, minute=1), "cancelled")]
    today = next(s for s in _build(_job(), records, now).slots if s.scheduled.day == 24)
    assert today.state == "failed" and today.execution is not None and today.execution.id == "failed"
    # Today's slot is pending (its window open at 00:01) while an operator's run of its period is running;
    # yesterday's slot was missed and a run of its period failed.
    runs = [_record("op", now.replace(hour=0, minute=1), "running", ("quota-reset", "--x")),
            _record("late", now.replace(hour=3) - timedelta(days=1), "failed", ("quota-reset", "--x"))]
    found = _build(_job(), runs, now.replace(hour=0, minute=1), start=now.replace(hour=0) - timedelta(days=1))
    assert [s.state for s in found.slots] == ["missed", "pending"]
    assert found.period_states("quota-reset") == {"2026-11-23": "failed", "2026-11-24": "running"}
    assert worst(["cancelled", "failed"]) == "failed" and worst(["pending", "running", "upcoming"]) == "running"
    assert worst(["failed", "missed", "succeeded"]) == "missed" and worst(["running", "failed"]) == "failed"
    assert worst(["succeeded", "unchanged"]) == "succeeded" and worst([]) is None


def test_engine_args_decide_which_runs_are_scheduled() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    job = _job()
    records = [_record("backfill", now.replace(hour=0, second=4), args=("quota-reset", "--date", "2026-11-01")),
               _record("early", now.replace(hour=0) - timedelta(seconds=59), args=("quota-reset",))]
    found = _build(job, records, now)
    today = next(s for s in found.slots if s.scheduled.day == 24)
    assert today.execution is not None and today.execution.id == "early"  # 59 s early still counts
    assert [r.execution.id for r in found.manual_runs] == ["backfill"]  # extra args: an operator's run


def test_engine_a_paused_trigger_explains_only_slots_after_the_pause() -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    job = _job()
    found = _build(job, [], now, triggers={("quota-reset", "schedule"):
                                           TriggerState(PAUSED, datetime(2026, 11, 23, 12, tzinfo=UTC))})
    assert [(s.scheduled.day, s.label) for s in found.slots] == [(23, "missed"), (24, "missed (trigger paused)")]
