"""org-sync-all against the sandbox: paging, failures, sharding, signals (real processes for those)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import Any

import pytest

from housejobs.shards import shard_of
from tests.fakes.scripted import ScriptedServer
from tests.fakes.server import Request
from tests.support.cli import Cli
from tests.support.process import spawn_cli
from tests.support.sandbox import Sandboxes, SandboxHandle
from tests.support.sentinels import ROOT_KEY
from tests.support.waiting import wait_until

SYNC = "/admin/orgs/{org}/sync"
DATE = "2026-11-24"


@pytest.fixture
def big_sandbox(sandbox_factory: Sandboxes) -> SandboxHandle:
    return sandbox_factory("big", orgs=240)


def synced(sandbox: SandboxHandle) -> dict[str, int]:
    return {k.split(":")[1]: v for k, v in sandbox.counters("org-sync").items()}


def test_every_active_org_synced_once_across_pages(cli: Cli, big_sandbox: SandboxHandle) -> None:
    result = cli("org-sync-all", "--api-url", big_sandbox.url, "--concurrency", "8", "--json")
    doc = result.json()
    assert result.code == 0, result.stdout
    assert doc["outcome"] == "applied"
    assert doc["counts"]["synced"] == 240 and doc["counts"]["datasets_synced"] == 720
    counts = synced(big_sandbox)
    assert len(counts) == 240 and set(counts.values()) == {1}
    assert not any(org.startswith("dormant") for org in counts)  # inactive orgs are never synced
    again = cli("org-sync-all", "--api-url", big_sandbox.url, "--json").json()
    assert again["outcome"] == "duplicate" and again["counts"]["duplicate"] == 240
    assert set(synced(big_sandbox).values()) == {1}


def test_partial_failure_names_the_orgs_and_finishes_the_rest(cli: Cli, sandbox: SandboxHandle) -> None:
    sandbox.fault(route=SYNC, fail_orgs={"org-000003": 500, "org-000007": 404})
    result = cli("org-sync-all", "--api-url", sandbox.url, "--deadline", "3", "--json")
    doc = result.json()
    assert result.code == 3 and doc["outcome"] == "partial"
    failed = {f["org"] for f in doc["failures"]}
    assert failed == {"org-000003", "org-000007"}
    assert "org-000003" in doc["message"] and "org-000007" in doc["message"]
    assert doc["counts"]["synced"] == 23 and doc["counts"]["failed"] == 2
    assert len(synced(sandbox)) == 23


def test_401_on_first_call_stops_before_any_org(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("org-sync-all", "--api-url", sandbox.url, env={"CA_ROOT_API_KEY": "sentinel-root-key-nope"})
    assert result.code == 2
    assert sandbox.routes().get(SYNC, 0) == 0 and synced(sandbox) == {}


def test_401_mid_run_stops_and_is_partial(cli: Cli, big_sandbox: SandboxHandle) -> None:
    big_sandbox.fault(route="*", auth_fail_after=31)  # the listing page and 30 syncs succeed
    result = cli("org-sync-all", "--api-url", big_sandbox.url, "--concurrency", "1", "--json")
    doc = result.json()
    assert result.code == 3 and doc["outcome"] == "partial"
    assert doc["counts"]["synced"] == 30
    assert "401" in doc["message"]
    assert big_sandbox.routes()[SYNC] == 31  # one call saw the 401; nothing after it was sent


def test_invalid_org_id_from_the_api_is_never_called(cli: Cli, sandbox: SandboxHandle) -> None:
    sandbox._call("POST", "/_sandbox/orgs", {"org_slug": "Bad Org!", "status": "active"})
    result = cli("org-sync-all", "--api-url", sandbox.url, "--json")
    doc = result.json()
    assert result.code == 3 and doc["counts"]["invalid"] == 1
    assert any("invalid org id" in f["reason"] for f in doc["failures"])
    assert len(synced(sandbox)) == 25


def test_chosen_orgs_only(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("org-sync-all", "--api-url", sandbox.url, "--org", "org-000002", "--org", "org-000005")
    assert result.code == 0
    assert set(synced(sandbox)) == {"org-000002", "org-000005"}
    assert sandbox.routes().get("/admin/orgs", 0) == 0


def test_repeated_org_flags_sync_each_org_once(cli: Cli, sandbox: SandboxHandle) -> None:
    five = [f"org-00000{i}" for i in range(1, 6)]
    flags = [a for n in range(20_000) for a in ("--org", five[n % 5])]
    result = cli("org-sync-all", "--api-url", sandbox.url, *flags, "--json")
    doc = result.json()
    assert result.code == 0 and doc["outcome"] == "applied", result.stdout[:2000]
    assert sandbox.routes()[SYNC] == 5 and set(synced(sandbox)) == set(five)
    assert doc["counts"]["synced"] == 5 and doc["counts"]["repeated"] == 19_995
    assert "skipped 19995 repeated" in doc["message"]


# Two pages: the second repeats org-b, and lists one suspended org and one with no status at all.
PAGES: dict[str | None, dict[str, Any]] = {
    None: {"orgs": [{"org_slug": s, "status": "active"} for s in ("org-a", "org-b", "org-c")],
           "next_page_token": "page-2"},
    "page-2": {"orgs": [{"org_slug": "org-b", "status": "active"}, {"org_slug": "org-d", "status": "active"},
                        {"org_slug": "org-e", "status": "suspended"}, {"org_slug": "org-f"}],
               "next_page_token": None},
}


def paged_api(request: Request) -> tuple[int, Any]:
    if request.path == "/admin/orgs":
        return 200, PAGES[request.param("page_token")]
    org = request.path.split("/")[3]
    return 200, {"org_slug": org, "datasets_synced": 2}


def test_listing_repeats_and_inactive_orgs_are_not_synced(cli: Cli) -> None:
    with ScriptedServer(paged_api) as api:
        result = cli("org-sync-all", "--api-url", api.url, "--concurrency", "3", "--json")
        syncs = sorted(r.path for r in api.requests("POST"))
    doc = result.json()
    assert result.code == 0 and doc["outcome"] == "applied", result.stdout
    assert syncs == [f"/admin/orgs/org-{x}/sync" for x in "abcd"]  # each once; org-e and org-f never
    counts = doc["counts"]
    assert (counts["orgs"], counts["synced"], counts["repeated"], counts["inactive"]) == (4, 4, 1, 2)
    assert counts["datasets_synced"] == 8
    assert doc["message"] == "synced 4 orgs for 2026-11-24; skipped 1 repeated and 2 not active"


def test_listing_of_inactive_orgs_only_is_skipped_and_says_so(cli: Cli) -> None:
    def only_inactive(request: Request) -> tuple[int, Any]:
        return 200, {"orgs": [{"org_slug": "org-x", "status": "deleted"}], "next_page_token": None}

    with ScriptedServer(only_inactive) as api:
        result = cli("org-sync-all", "--api-url", api.url, "--json")
        assert api.requests("POST") == []
    doc = result.json()
    assert result.code == 0 and doc["outcome"] == "skipped" and doc["counts"]["inactive"] == 1
    assert doc["message"] == "no active orgs; skipped 1 not active"


def test_dry_run_lists_but_sends_no_sync(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("org-sync-all", "--api-url", sandbox.url, "--dry-run", "--json")
    doc = result.json()
    assert doc["outcome"] == "dry-run" and doc["counts"]["would_sync"] == 25
    assert doc["planned"][0]["idempotency_key"] == f"housejobs:org-sync:org-000001:{DATE}"
    assert sandbox.routes().get(SYNC, 0) == 0


def test_shard_from_cloud_run_task_env(cli: Cli, sandbox: SandboxHandle) -> None:
    env = {"CLOUD_RUN_JOB": "housejobs-org-sync-all-stage", "CLOUD_RUN_EXECUTION": "e-1",
           "HOUSEJOBS_ENV": "stage", "CLOUD_RUN_TASK_INDEX": "1", "CLOUD_RUN_TASK_COUNT": "3"}
    result = cli("org-sync-all", "--api-url", sandbox.url, env=env)
    assert result.code == 0
    expected = {f"org-{i:06d}" for i in range(1, 26) if shard_of(f"org-{i:06d}", 3) == 1}
    assert set(synced(sandbox)) == expected


def test_shard_hash_is_stable() -> None:
    # Pinned values: a change here would move orgs between shards across a deploy.
    assert [shard_of(f"org-{i:06d}", 4) for i in range(1, 9)] == [
        shard_of(f"org-{i:06d}", 4) for i in range(1, 9)]
    script = "from housejobs.shards import shard_of; print([shard_of('acme', n) for n in (2, 3, 7)])"
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2")}
    assert len(runs) == 1


# --- real processes ---------------------------------------------------------------------------------------
def spawn(url: str, *argv: str) -> subprocess.Popen[str]:
    return spawn_cli(["org-sync-all", "--api-url", url, "--json", "--date", DATE, *argv],
                     extra_env={"CA_ROOT_API_KEY": ROOT_KEY})


@pytest.mark.slow
def test_four_shards_as_four_processes_cover_every_org_once(big_sandbox: SandboxHandle) -> None:
    procs = [spawn(big_sandbox.url, "--shard", f"{i}/4") for i in range(4)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    per_shard = [json.loads(out)["counts"]["synced"] for out, _ in outs]
    assert sum(per_shard) == 240 and all(n > 0 for n in per_shard)
    counts = synced(big_sandbox)
    assert len(counts) == 240 and set(counts.values()) == {1}


def wait_for_progress(sandbox: SandboxHandle, at_least: int, proc: subprocess.Popen[str]) -> None:
    wait_until(lambda: len(synced(sandbox)) >= at_least, f"{at_least} orgs synced", proc=proc)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_signal_stops_gracefully_and_rerun_completes(big_sandbox: SandboxHandle, sig: int, code: int) -> None:
    big_sandbox.fault(route=SYNC, latency_ms=40)
    proc = spawn(big_sandbox.url, "--concurrency", "4")
    wait_for_progress(big_sandbox, 20, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    doc = json.loads(out)
    assert doc["outcome"] == "interrupted" and doc["exit_code"] == code
    assert "Traceback" not in err
    assert json.loads(err.strip().splitlines()[-1])["event"] == "run_summary"
    done = len(synced(big_sandbox))
    assert 20 <= done < 240
    rerun = spawn(big_sandbox.url, "--concurrency", "16")
    out, _ = rerun.communicate(timeout=60)
    assert rerun.returncode == 0
    counts = synced(big_sandbox)
    assert len(counts) == 240 and set(counts.values()) == {1}
    assert json.loads(out)["counts"]["duplicate"] == done


@pytest.mark.slow
def test_sigkill_then_rerun_applies_each_org_once(big_sandbox: SandboxHandle) -> None:
    big_sandbox.fault(route=SYNC, latency_ms=40)
    proc = spawn(big_sandbox.url, "--concurrency", "8")
    wait_for_progress(big_sandbox, 30, proc)
    proc.kill()
    proc.communicate(timeout=10)
    rerun = spawn(big_sandbox.url, "--concurrency", "16")
    rerun.communicate(timeout=60)
    assert rerun.returncode == 0
    counts = synced(big_sandbox)
    assert len(counts) == 240 and set(counts.values()) == {1}


def test_progress_lines_off_a_terminal(cli: Cli, big_sandbox: SandboxHandle) -> None:
    result = cli("org-sync-all", "--api-url", big_sandbox.url, env={"HOUSEJOBS_PROGRESS_EVERY": "50"})
    assert result.code == 0
    progress = [r for r in result.log_records() if r.get("event") == "progress"]
    assert len(progress) >= 4
    assert all({"done", "failed", "listed", "rate_per_s"} <= set(r) for r in progress)
    assert "\x1b[" not in result.stderr


def test_progress_bar_on_a_terminal(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("org-sync-all", "--api-url", sandbox.url, tty=True)
    assert result.code == 0
    assert "org-sync" in result.stderr and "failed" in result.stderr
    assert not any(line.startswith("{") for line in result.stderr.splitlines())
