"""A job's spec reads a run's container args (its period, whether it was a dry run) the way its command
reads them: history's one reader (JobSpec.read_args)."""

from __future__ import annotations

from pathlib import Path

import pytest

from housejobs.jobs.registry import spec
from housejobs.settings import find_jobs_dir

JOBS_DIR: Path = find_jobs_dir({})[0]


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
    found = spec("quota-reset", JOBS_DIR).read_args(args)
    assert (found.period, found.dry_run) == (period, dry_run)


def test_a_job_without_a_period_still_has_dry_runs() -> None:
    migrate = spec("migrate", JOBS_DIR)
    assert migrate.read_args(["migrate", "--dry-run"]).dry_run and not migrate.read_args(["migrate"]).dry_run
    reminder = spec("reminder", JOBS_DIR)
    assert reminder.read_args(["reminder", "utilities", "--dry-run"]).dry_run
    assert reminder.read_args(["reminder", "rent-due", "--period", "2026-11"]).period == "2026-11"
    # A job whose runs cannot be given a period reads none from its args.
    assert spec("quota-cleanup", JOBS_DIR).read_args(["quota-cleanup", "--date", "2026-11-01"]).period is None


def test_the_argv_for_a_period_is_what_the_reader_reads_back() -> None:
    reminder = spec("reminder", JOBS_DIR)
    argv = reminder.argv("2026-11", "rent-due")
    assert argv == ("rent-due", "--period", "2026-11")
    assert reminder.read_args(["reminder", *argv]).period == "2026-11"
    assert spec("quota-monthly", JOBS_DIR).argv("2026-11") == ("--month", "2026-11")


def test_smoke_plans_a_dry_run_per_variant_and_none_for_a_job_without_one() -> None:
    from dataclasses import replace

    from housejobs.catalog import load_catalog
    from housejobs.jobs.smoke import plan_dry_runs

    catalog = load_catalog(JOBS_DIR)
    no_dry_run = replace(spec("bootstrap", JOBS_DIR), dry_run=False)
    planned = plan_dry_runs(catalog, (), lambda name: no_dry_run if name == "bootstrap" else spec(name, JOBS_DIR))
    labels = [dry.label for dry in planned]
    assert "bootstrap" not in labels and "migrate" in labels
    assert [dry.args(catalog["reminder"]) for dry in planned if dry.job == "reminder"] == [
        ["reminder", kind, "--dry-run"] for kind in ("utilities", "rent-warning", "rent-due")]
