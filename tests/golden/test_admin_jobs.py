"""Golden JSON of the jobs that call the admin API and the bot (tests/support/golden.py), against a real
sandbox (`--api-url` / `--bot-url`) and the embedded one: each job applied then duplicate, its dry runs on a
current and an older server, and the refusals, failures, partial and interrupted runs."""

from __future__ import annotations

import os
import signal

import pytest

from tests.support.clock import HookClock
from tests.support.golden import Golden
from tests.support.sandbox import Sandboxes, SandboxHandle

DATE, MONTH = "2026-11-24", "2026-11"
PERIOD_JOBS = ["quota-reset", "stale-cleanup", "alerts", "quota-monthly"]
ADMIN_JOBS = [*PERIOD_JOBS, "bootstrap", "org-sync-all"]
WRONG_KEY = {"CA_ROOT_API_KEY": "sentinel-root-key-wrong"}
# One attempt per call: a scripted 5xx fails at once, with no jittered wait (its length is random) in the text.
ONE_ATTEMPT = {"HOUSEJOBS_MAX_ATTEMPTS": "1"}


def period(job: str) -> tuple[str, ...]:
    return ("--month", MONTH) if job == "quota-monthly" else () if job == "bootstrap" else ("--date", DATE)


@pytest.fixture
def small(sandbox_factory: Sandboxes) -> SandboxHandle:
    """Five orgs: every org shows in org-sync-all's documents, and they stay short."""
    return sandbox_factory("small", orgs=5)


@pytest.fixture
def older(sandbox_factory: Sandboxes) -> SandboxHandle:
    """A server from before the contract extensions: no /admin/capabilities, dry_run= and shard= ignored."""
    return sandbox_factory("older", orgs=5, extensions=())


@pytest.mark.parametrize("job", PERIOD_JOBS)
def test_period_job_applied_then_duplicate(golden: Golden, sandbox: SandboxHandle, job: str) -> None:
    golden(job, "--api-url", sandbox.url, *period(job), "--json")
    golden(job, "--api-url", sandbox.url, *period(job), "--json")
    golden(job, "--api-url", sandbox.url, *period(job), "--dry-run", "--json")  # says a run would be duplicate
    golden.check()


@pytest.mark.parametrize("job", ADMIN_JOBS)
def test_dry_run(golden: Golden, small: SandboxHandle, older: SandboxHandle, job: str) -> None:
    golden(job, "--api-url", small.url, *period(job), "--dry-run", "--json")  # the server's own dry run
    golden(job, "--api-url", older.url, *period(job), "--dry-run", "--json")  # client-side: an older server
    golden(job, "--api-url", small.url, *period(job), "--dry-run", "--json", env=WRONG_KEY)  # refused
    golden.check()


def test_embedded_sandbox_applied_then_duplicate(golden: Golden) -> None:
    golden("quota-reset", "--json")
    golden("quota-reset", "--json")
    golden.check()


def test_bootstrap_fresh_up_to_date_then_sync(golden: Golden, sandbox: SandboxHandle) -> None:
    golden("bootstrap", "--api-url", sandbox.url, "--json")
    golden("bootstrap", "--api-url", sandbox.url, "--json")
    sandbox._call("POST", "/_sandbox/schema", {"add_columns": 2})
    golden("bootstrap", "--api-url", sandbox.url, "--json")
    # Inside Cloud Run the key is the execution's: a task retry replays.
    env = {"CLOUD_RUN_JOB": "housejobs-bootstrap-stage", "CLOUD_RUN_EXECUTION": "housejobs-bootstrap-stage-x7",
           "HOUSEJOBS_ENV": "stage"}
    golden("bootstrap", "--api-url", sandbox.url, "--json", env=env)
    golden("bootstrap", "--api-url", sandbox.url, "--json", env=env)
    golden.check()


def test_org_sync_all(golden: Golden, small: SandboxHandle, older: SandboxHandle) -> None:
    golden("org-sync-all", "--api-url", small.url, "--date", DATE, "--json")
    golden("org-sync-all", "--api-url", small.url, "--date", DATE, "--json")
    golden("org-sync-all", "--api-url", small.url, "--date", "2026-11-23", "--org", "org-000002", "--org",
           "org-000004", "--org", "org-000002", "--json")
    golden("org-sync-all", "--api-url", small.url, "--date", "2026-11-22", "--shard", "1/3", "--json")
    golden("org-sync-all", "--api-url", older.url, "--date", "2026-11-22", "--shard", "1/3", "--json")
    golden("org-sync-all", "--api-url", small.url, "--date", "2026-11-21", "--shard", "0/3", "--dry-run", "--json")
    golden.check()


def test_org_sync_all_partial_and_failed(golden: Golden, small: SandboxHandle, sandbox: SandboxHandle) -> None:
    # One call in flight: the failures are listed as they come back, so more than one at a time would order
    # them by which answer came first.
    small.fault(route="/admin/orgs/{org}/sync", fail_orgs={"org-000003": 500, "org-000005": 404})
    golden("org-sync-all", "--api-url", small.url, "--date", DATE, "--concurrency", "1", "--json", env=ONE_ATTEMPT)
    sandbox.fault(route="*", auth_fail_after=3)  # the listing and two syncs, then 401: lost mid-run
    golden("org-sync-all", "--api-url", sandbox.url, "--date", DATE, "--concurrency", "1", "--json")
    small.fault(route="/admin/orgs", statuses=[500])  # the listing fails: nothing synced
    golden("org-sync-all", "--api-url", small.url, "--date", "2026-11-23", "--json", env=ONE_ATTEMPT)
    golden.check()


def test_org_sync_all_interrupted_then_rerun(golden: Golden, small: SandboxHandle, clock: HookClock) -> None:
    # The first org's sync is told to come back in 2 s; SIGTERM arrives during that wait. The call in flight
    # finishes, no new org is taken, and the rerun syncs the rest (the first answers as a replay).
    small.fault(route="/admin/orgs/{org}/sync", statuses=[429], retry_after="2")
    clock.hooks[1] = lambda: os.kill(os.getpid(), signal.SIGTERM)
    result = golden("org-sync-all", "--api-url", small.url, "--date", DATE, "--concurrency", "1", "--json")
    assert result.code == 143, result.stdout + result.stderr
    golden("org-sync-all", "--api-url", small.url, "--date", DATE, "--concurrency", "1", "--json")
    golden.check()


def test_signal_during_a_single_call(golden: Golden, sandbox: SandboxHandle, clock: HookClock) -> None:
    # One unit of work, in flight when SIGINT comes (waiting out a Retry-After): it is finished, not dropped.
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[429], retry_after="3")
    clock.hooks[1] = lambda: os.kill(os.getpid(), signal.SIGINT)
    golden("quota-reset", "--api-url", sandbox.url, "--date", DATE, "--json")
    golden.check()


@pytest.mark.parametrize("kind", ["utilities", "rent-warning", "rent-due"])
def test_reminder(golden: Golden, sandbox: SandboxHandle, kind: str) -> None:
    args = ("reminder", kind, "--bot-url", sandbox.url, "--period", "2026-12", "--job-id", f"golden-{kind}")
    golden(*args, "--dry-run", "--json")
    golden(*args, "--json")
    golden(*args, "--json")
    golden.check()


def test_reminder_defaults_and_refusals(golden: Golden, sandbox: SandboxHandle) -> None:
    # No --period: this month in the household's time zone; no --job-id: a fresh uuid (masked).
    golden("reminder", "utilities", "--bot-url", sandbox.url, "--json")
    golden("reminder", "rent-due", "--bot-url", sandbox.url, "--json",
           env={"HOUSEJOBS_HOUSEHOLD_TIME_ZONE": "Australia/Sydney"})
    golden("reminder", "utilities", "--bot-url", sandbox.url, "--period", "2026-10", "--json",
           env={"SCHEDULER_SHARED_SECRET": "sentinel-scheduler-secret-but-wrong"})
    golden("reminder", "utilities", "--bot-url", sandbox.url, "--period", "9999-12", "--json")
    golden("reminder", "utilities", "--bot-url", sandbox.url, "--json", unset=("SCHEDULER_SHARED_SECRET",))
    golden.check()


def test_refused_and_failed(golden: Golden, sandbox: SandboxHandle) -> None:
    url = ("--api-url", sandbox.url)
    golden("quota-reset", "--env", "local", "--json")
    golden("quota-reset", *url, "--date", "2026-13-01", "--json")
    golden("quota-reset", *url, "--date", "24/11/2026", "--json")
    golden("quota-reset", *url, "--date", "2027-11-25", "--json")
    golden("quota-monthly", *url, "--month", "2026-13", "--json")
    golden("quota-reset", "--api-url", "ftp://x", "--json")
    golden("org-sync-all", *url, "--org", "Bad Org", "--json")
    golden("org-sync-all", *url, "--shard", "4/4", "--json")
    golden("quota-reset", *url, "--date", DATE, "--json", env=WRONG_KEY)
    golden("quota-reset", *url, "--date", DATE, "--json", unset=("CA_ROOT_API_KEY",))
    golden("quota-reset", "--env", "prod", "--date", DATE, "--json", env={"HOUSEJOBS_API_URL": sandbox.url})
    for status in (500, 404, 422):
        sandbox.fault(route="/admin/quota/reset-daily", statuses=[status])
        golden("quota-reset", *url, "--date", DATE, "--json", env=ONE_ATTEMPT)
    sandbox.fault(route="/admin/alerts/process-all", malformed=1)
    golden("alerts", *url, "--date", DATE, "--json")
    golden("stale-cleanup", "--api-url", "http://127.0.0.1:9", "--date", DATE, "--json", env=ONE_ATTEMPT)
    golden.check()
