"""jobs/catalog.toml: the shipped catalog, and every rule load_catalog enforces."""

from __future__ import annotations

from pathlib import Path

import pytest

from housejobs.catalog import load_catalog, run_job_id, trigger_id
from housejobs.errors import ConfigError
from housejobs.jobs.registry import specs
from housejobs.settings import ENV_NAMES, find_jobs_dir

JOBS_DIR, _ = find_jobs_dir({})


def test_every_catalog_job_names_the_module_that_declares_it() -> None:
    catalog = load_catalog(JOBS_DIR)
    declared = specs(JOBS_DIR)
    assert list(declared) == list(catalog)
    # What a job's spec says agrees with the catalog's kind: a job with a daily or monthly schedule
    # applies a business period (history and backfill read it from the spec).
    for name, job in catalog.items():
        assert declared[name].name == name and job.module is not None
        if job.kind in ("daily", "monthly", "scheduled"):
            assert declared[name].period is not None, name
        if job.kind == "monthly":
            assert declared[name].period.unit == "month", name  # type: ignore[union-attr]


def test_the_standard_set() -> None:
    catalog = load_catalog(JOBS_DIR)
    assert len(catalog) == 9
    assert sum(len(j.triggers) for j in catalog.values() if j.name != "reminder") == 5
    assert [t.args for t in catalog["reminder"].triggers] == [("utilities",), ("rent-warning",), ("rent-due",)]
    # Manual jobs are never retried by Cloud Run: an operator sees a failure once.
    assert all(j.max_retries == 0 for j in catalog.values() if j.kind == "manual")
    assert all(j.max_retries > 0 for j in catalog.values() if j.kind != "manual")
    sync = catalog["org-sync-all"]
    assert (sync.task_count, sync.parallelism) == (4, 4)
    assert catalog["quota-cleanup"].timeout_s > catalog["quota-reset"].timeout_s
    assert catalog["quota-cleanup"].secrets == ()  # BigQuery through the runtime service account
    assert catalog["migrate"].secrets == ("SUPABASE_ACCESS_TOKEN",)
    schedules = {j.name: j.triggers[0].schedule for j in catalog.values() if j.triggers}
    assert schedules["quota-reset"] == "0 0 * * *"
    assert schedules["quota-monthly"] == "5 0 1 * *"


def test_resource_names_carry_the_env() -> None:
    assert run_job_id("quota-reset", "stage") == "housejobs-quota-reset-stage"
    assert trigger_id("quota-reset", "schedule", "stage") == "housejobs-quota-reset-stage"
    assert trigger_id("reminder", "rent-due", "prod") == "housejobs-reminder-rent-due-prod"
    catalog = load_catalog(JOBS_DIR)
    for env in ENV_NAMES:
        ids = [trigger_id(j.name, t.name, env) for j in catalog.values() for t in j.triggers]
        assert len(set(ids)) == len(ids) == 8


BASE = """
[jobs.quota-reset]
kind = "daily"
{job}
[[jobs.quota-reset.triggers]]
schedule = "0 0 * * *"
{trigger}
"""


def load(tmp_path: Path, job: str = "", trigger: str = "", text: str | None = None) -> object:
    (tmp_path / "catalog.toml").write_text(text if text is not None else BASE.format(job=job, trigger=trigger))
    return load_catalog(tmp_path)


def test_defaults(tmp_path: Path) -> None:
    catalog = load(tmp_path)
    assert isinstance(catalog, dict)
    job = catalog["quota-reset"]
    assert (job.timeout_s, job.max_retries, job.task_count, job.parallelism, job.cpu, job.memory) == \
        (600, 0, 1, 1, "1", "512Mi")
    trigger = job.triggers[0]
    assert (trigger.name, trigger.time_zone, trigger.retry_count, trigger.attempt_deadline_s) == \
        ("schedule", "Etc/UTC", 0, 180)


def test_durations_take_a_unit(tmp_path: Path) -> None:
    catalog = load(tmp_path, job='timeout = "2h"', trigger='attempt_deadline = "30m"')
    assert isinstance(catalog, dict)
    assert catalog["quota-reset"].timeout_s == 7200
    assert catalog["quota-reset"].triggers[0].attempt_deadline_s == 1800


@pytest.mark.parametrize(("job", "trigger", "message"), [
    ("colour = 'red'", "", "unknown key 'colour'"),
    ("", "retries = 2", "unknown key 'retries'"),
    ("max_retries = 11", "", "max_retries must be a whole number from 0 to 10"),
    ("max_retries = -1", "", "max_retries must be a whole number from 0 to 10"),
    ("max_retries = true", "", "max_retries must be a whole number"),
    ("task_count = 0", "", "task_count must be a whole number from 1 to 10000"),
    ("task_count = 2\nparallelism = 3", "", "parallelism must be a whole number from 1 to 2"),
    ("timeout = 600", "", "timeout 600 is not a duration"),
    ("timeout = '600'", "", "is not a duration"),
    ("timeout = '169h'", "", "timeout '169h' is outside 1 s-168 h"),
    ("cpu = 'lots'", "", "cpu 'lots' is not a CPU quantity"),
    ("cpu = '16'", "", "cpu '16' is outside 0.08-8"),
    ("memory = '256Mi'", "", "memory '256Mi' is outside 512Mi-32Gi"),
    ("memory = '1GB'", "", "memory '1GB' is not a memory quantity"),
    ("secrets = ['DATABASE_URL']", "", "unknown secret 'DATABASE_URL'"),
    ("args = 'x'", "", "args must be a list of non-empty strings"),
    ("module = 'housejobs/jobs/admin.py'", "", "module 'housejobs/jobs/admin.py' is not a Python module name"),
    ("module = 3", "", "module 3 is not a Python module name"),
    ("", "retry_count = 6", "retry_count must be a whole number from 0 to 5"),
    ("", "attempt_deadline = '10s'", "attempt_deadline '10s' is outside 15 s-30 min"),
    ("", "attempt_deadline = '31m'", "is outside 15 s-30 min"),
    ("", "time_zone = 'Mars/Olympus'", "'Mars/Olympus'"),
    ("", "name = 'Bad_Name'", "name 'Bad_Name' must be lowercase"),
])
def test_bad_values_are_refused_with_the_key_named(tmp_path: Path, job: str, trigger: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, job=job, trigger=trigger)
    assert message in err.value.line()


def _with_schedule(schedule: str) -> str:
    return BASE.format(job="", trigger="").replace('"0 0 * * *"', f'"{schedule}"')


@pytest.mark.parametrize(("schedule", "message"), [
    ("0 0 * *", "must have 5 cron fields (minute hour day-of-month month day-of-week), got 4"),
    ("0 0 0 * * *", "must have 5 cron fields"),  # cronsim takes a seconds field; Scheduler does not
    ("@daily", "must have 5 cron fields"),
    ("60 0 * * *", "minute '60' is not valid (it takes 0-59"),
    ("0 24 * * *", "hour '24' is not valid (it takes 0-23"),
    ("0 0 0 * *", "day-of-month '0' is not valid (it takes 1-31"),
    ("0 0 * 13 *", "month '13' is not valid (it takes 1-12 or JAN-DEC"),
    ("0 0 * * 8", "day-of-week '8' is not valid (it takes 0-7 or SUN-SAT"),
    ("*/0 * * * *", "minute '*/0' is not valid"),
    ("0 5-2 * * *", "hour '5-2' is not valid"),
    ("0 0 30 2 *", "day-of-month '30' is not valid"),  # never fires
    # cronsim extensions Cloud Scheduler's unix-cron does not have:
    ("0 0 L * *", "'L' is not supported by Cloud Scheduler"),
    ("0 0 LW * *", "'LW' is not supported by Cloud Scheduler"),
    ("0 0 * * 5L", "'L' is not supported by Cloud Scheduler"),
    ("0 0 * * 1#2", "'#' is not unix-cron"),
    ("0 0 ? * *", "'?' is not unix-cron"),
    ("0 0 * * JAN", "'JAN' is not supported by Cloud Scheduler (it takes 0-7 or SUN-SAT)"),
    ("0 0 * MON *", "'MON' is not supported by Cloud Scheduler (it takes 1-12 or JAN-DEC)"),
    ("0 9 * * mon-fri", "write 'mon' as 'MON'"),
    ("0 0 \u0661 * *", "must be printable ASCII"),
])
def test_bad_cron_is_refused(tmp_path: Path, schedule: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(tmp_path, text=_with_schedule(schedule))
    line = err.value.line()
    assert message in line
    assert "\n" not in line and line.startswith("catalog.toml jobs.quota-reset.triggers[0]: schedule ")


@pytest.mark.parametrize("schedule", [
    "0 9 * * MON-FRI",          # names in a range
    "0 0 1 JAN *",              # a month name
    "*/15 0-6,22 1,15 */2 1-5",  # steps, ranges and lists
    "0 8-18/2 * * 1,3,5",       # a step over a range
    "30 6 * JAN-MAR,OCT SAT,SUN",
    "0 0 * * 7",                # 7 is Sunday too
    "5 0 1 * *",
])
def test_good_cron_forms(tmp_path: Path, schedule: str) -> None:
    catalog = load(tmp_path, text=_with_schedule(schedule))
    assert isinstance(catalog, dict)
    assert catalog["quota-reset"].triggers[0].schedule == schedule


def test_derived_names_must_be_legal_and_unique(tmp_path: Path) -> None:
    long_name = "a" * 32
    with pytest.raises(ConfigError, match="job name must be"):
        load(tmp_path, text=f'[jobs.{long_name}x]\nkind = "manual"\n')
    # `quota` + trigger `reset` would take the Scheduler name of quota-reset's only trigger.
    clash = BASE.format(job="", trigger="") + """
[jobs.quota]
kind = "daily"
[[jobs.quota.triggers]]
name = "reset"
schedule = "0 3 * * *"
"""
    with pytest.raises(ConfigError, match=r"housejobs-quota-reset-test.*is also used by"):
        load(tmp_path, text=clash)


@pytest.mark.parametrize("name", ["a\n", "quota\n", "a\r"])
def test_a_name_ending_in_a_line_break_is_refused_in_one_line(tmp_path: Path, name: str) -> None:
    # `$` matched before a final newline, so `a\n` passed the name rule and broke the error line later
    # (found by tests/reliability/test_fuzz_config.py).
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text=f'[jobs."{name.encode("unicode_escape").decode()}"]\nkind = "manual"\n')
    assert "job name must be" in caught.value.message
    assert "\n" not in caught.value.line() and "\r" not in caught.value.line()


def test_kind_and_trigger_rules(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a manual job has no triggers"):
        load(tmp_path, text=BASE.format(job="", trigger="").replace('"daily"', '"manual"'))
    with pytest.raises(ConfigError, match="a daily job needs at least one trigger"):
        load(tmp_path, text='[jobs.alerts]\nkind = "daily"\n')
    two = BASE.format(job="", trigger="") + '[[jobs.quota-reset.triggers]]\nschedule = "0 1 * * *"\n'
    with pytest.raises(ConfigError, match="trigger names must be unique"):
        load(tmp_path, text=two)
    with pytest.raises(ConfigError, match="unknown key 'defaults'"):
        load(tmp_path, text=BASE.format(job="", trigger="") + "[defaults]\nx = 1\n")
