"""org-sync-all over many shards (issue 24): the listing shards too, where the server offers it.

Against a real sandbox over sockets: ten shards sync every org exactly once with about one listing's calls;
an older server (no extensions) still gets each org synced once (every shard lists everything and filters);
a server whose shard listing misbehaves (ignores shard=, echoes another shard, lists an org of another
shard) is caught, reported, and the run falls back to the full listing, still syncing each org once.
"Exactly once" is counted at the server: sync requests per org, not only effects (which the idempotency key
would protect anyway).
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest

from housejobs.shards import shard_of
from tests.fakes.scripted import ScriptedServer
from tests.fakes.server import Request
from tests.support.cli import Cli, CliResult
from tests.support.sandbox import Sandboxes, SandboxHandle

SYNC = "/admin/orgs/{org}/sync"
DATE = "2026-11-24"
PAGE = 500


def shard_run(cli: Cli, url: str, index: int, count: int, *extra: str) -> CliResult:
    return cli("org-sync-all", "--api-url", url, "--shard", f"{index}/{count}", "--date", DATE, "--json", *extra)


def run_all(cli: Cli, sandbox: SandboxHandle, count: int) -> list[dict[str, Any]]:
    docs = []
    for index in range(count):
        result = shard_run(cli, sandbox.url, index, count)
        assert result.code == 0, result.stdout
        docs.append(result.json())
    return docs


def assert_each_org_synced_once(sandbox: SandboxHandle, orgs: int) -> None:
    effects = sandbox.counters("org-sync")
    assert len(effects) == orgs and set(effects.values()) == {1}
    assert sandbox.routes()[SYNC] == orgs  # not one sync request more: none sent twice, not even as a replay


@pytest.mark.slow
def test_ten_shards_sync_20000_orgs_exactly_once_with_one_listings_calls(cli: Cli, sandbox_factory: Sandboxes) -> None:
    sandbox = sandbox_factory("big", orgs=20_000)
    docs = run_all(cli, sandbox, 10)
    assert_each_org_synced_once(sandbox, 20_000)
    assert sum(d["counts"]["synced"] for d in docs) == 20_000
    assert all(d["details"]["listing"]["mode"] == "shard" for d in docs)
    calls = sum(d["counts"]["listing_calls"] for d in docs)
    once = math.ceil(20_000 / PAGE)  # 40 pages: the listing once
    assert calls == sandbox.routes()["/admin/orgs"] <= 1.2 * once + 10, calls
    assert sandbox.routes()["/admin/capabilities"] == 10  # one question per run


def test_without_the_extension_every_shard_lists_everything_and_the_union_is_exactly_once(
        cli: Cli, sandbox_factory: Sandboxes) -> None:
    older = sandbox_factory("older", orgs=1_200, extensions=())
    docs = run_all(cli, older, 4)
    assert_each_org_synced_once(older, 1_200)
    pages = math.ceil((1_200 + 60) / PAGE)  # every shard reads the whole listing (the inactive orgs too)
    assert [d["details"]["listing"] for d in docs] == [
        {"mode": "full", "calls": pages, "shard": f"{i}/4"} for i in range(4)]
    assert not any("shard=" in r["query"] for r in older.request_log())


@pytest.mark.parametrize("fault", ["ignore_shard", "wrong_echo", "foreign_org"])
def test_a_misbehaving_shard_listing_is_reported_and_each_org_is_still_synced_once(
        cli: Cli, sandbox_factory: Sandboxes, fault: str) -> None:
    sandbox = sandbox_factory("odd", orgs=1_200)
    sandbox.fault(route="/admin/orgs", shard_fault=fault)
    docs = run_all(cli, sandbox, 4)
    assert_each_org_synced_once(sandbox, 1_200)
    for doc in docs:
        listing = doc["details"]["listing"]
        assert listing["fell_back"] is True and listing["mode"] == "full", listing
        assert "the server's shard listing misbehaved" in doc["message"]
        assert doc["counts"]["repeated"] == 0  # what the sharded page gave was not taken again
    problems = [d["details"]["listing"]["problems"][0] for d in docs]
    if fault == "ignore_shard":
        assert problems[1] == "asked for shard 1/4, the page named no shard (the server ignored shard=)"
    elif fault == "wrong_echo":
        assert problems[1] == "asked for shard 1/4, the page is for shard '2/4'"
    else:
        assert problems[1].startswith("shard 1/4 listed 1 org of another shard (org-")
        assert all(d["counts"]["wrong_shard"] == 1 for d in docs)


def test_the_misbehaviour_is_logged(cli: Cli, sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/admin/orgs", shard_fault="wrong_echo")
    result = shard_run(cli, sandbox.url, 0, 2)
    warned = [r for r in result.log_records() if r.get("event") == "listing_misbehaved"]
    assert len(warned) == 1 and warned[0]["severity"] == "WARNING" and warned[0]["fell_back"] is True


def test_a_page_gone_wrong_midway_falls_back_without_taking_an_org_twice(cli: Cli) -> None:
    # Shard 0 of 2 over a scripted server: its first sharded page is right, its second names no shard.
    orgs = [f"org-{i:03d}" for i in range(40)]
    mine = [o for o in orgs if shard_of(o, 2) == 0]

    def listing(request: Request) -> tuple[int, Any]:
        if request.path == "/admin/capabilities":
            return 200, {"extensions": ["listing-shards"]}
        if request.path.endswith("/sync"):
            return 200, {"org_slug": request.path.split("/")[3], "datasets_synced": 1}
        if request.param("shard") is None:  # the fallback: everything, in two pages
            page = orgs[:20] if request.param("page_token") is None else orgs[20:]
            return 200, {"orgs": [{"org_slug": o, "status": "active"} for o in page],
                         "next_page_token": "full-2" if request.param("page_token") is None else None}
        if request.param("page_token") is None:
            return 200, {"orgs": [{"org_slug": o, "status": "active"} for o in mine[:5]], "shard": "0/2",
                         "next_page_token": "shard-2"}
        return 200, {"orgs": [{"org_slug": o, "status": "active"} for o in mine[5:]], "next_page_token": None}

    with ScriptedServer(listing) as api:
        result = cli("org-sync-all", "--api-url", api.url, "--shard", "0/2", "--json")
        syncs = Counter(r.path for r in api.requests("POST"))
        shards = [r.param("shard") for r in api.requests("GET", "/admin/orgs")]
    doc = result.json()
    assert result.code == 0 and doc["outcome"] == "applied", result.stdout
    assert syncs == Counter(f"/admin/orgs/{o}/sync" for o in mine)
    assert shards == ["0/2", "0/2", None, None]
    assert doc["counts"]["listing_calls"] == 4 and doc["counts"]["repeated"] == 0


def test_a_dry_run_of_one_shard_lists_only_that_shard(cli: Cli, sandbox_factory: Sandboxes) -> None:
    sandbox = sandbox_factory("dry", orgs=3_000)
    doc = shard_run(cli, sandbox.url, 3, 10, "--dry-run").json()
    mine = sum(shard_of(f"org-{i:06d}", 10) == 3 for i in range(1, 3_001))
    assert doc["outcome"] == "dry-run" and doc["counts"]["would_sync"] == mine
    assert doc["details"]["listing"] == {"mode": "shard", "calls": 1, "shard": "3/10"}
    assert sandbox.routes()["/admin/orgs"] == 1 and sandbox.counters() == {}


def test_a_sharded_run_with_a_wrong_key_syncs_nothing(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("org-sync-all", "--api-url", sandbox.url, "--shard", "1/3", "--date", DATE,
                 env={"CA_ROOT_API_KEY": "sentinel-root-key-wrong"})
    assert result.code == 2
    assert [r["path"] for r in sandbox.request_log()] == ["/admin/capabilities"] and sandbox.counters() == {}


def test_more_shards_than_a_server_lists_are_filtered_here(cli: Cli, sandbox: SandboxHandle) -> None:
    result = shard_run(cli, sandbox.url, 5, 200_000)
    assert result.code == 0, result.stdout
    assert result.json()["details"]["listing"] == {"mode": "full", "calls": 1, "shard": "5/200000"}
    assert not any("shard=" in r["query"] for r in sandbox.request_log())
