"""jobs/period_rules.py: what a run's container args say (its period, whether it was a dry run), read
the way the commands read them."""

from __future__ import annotations

import pytest

from housejobs.jobs.period_rules import is_dry_run, read_args


@pytest.mark.parametrize(("args", "period", "dry_run"), [
    (["quota-reset"], None, False),
    (["quota-reset", "--dry-run"], None, True),
    (["quota-reset", "--date", "2026-11-03", "--dry-run"], "2026-11-03", True),
    (["quota-reset", "--dry-run", "--date=2026-11-03"], "2026-11-03", True),
    (["quota-reset", "--date", "2026-11-01", "--date", "2026-11-02"], "2026-11-02", False),  # the last wins
    (["quota-reset", "--", "--dry-run"], None, False),  # after `--`, not an option
    (["quota-reset", "--date"], None, False),
    (None, None, False),
])
def test_run_args_are_read_as_the_command_reads_them(args: list[str] | None, period: str | None,
                                                       dry_run: bool) -> None:
    found = read_args(args, "--date")
    assert (found.period, found.dry_run) == (period, dry_run)


def test_a_job_without_a_period_still_has_dry_runs() -> None:
    assert is_dry_run("migrate", ["migrate", "--dry-run"]) and not is_dry_run("migrate", ["migrate"])
    assert is_dry_run("reminder", ["reminder", "utilities", "--dry-run"])
    assert read_args(["reminder", "rent-due", "--period", "2026-11"], "--period").period == "2026-11"
