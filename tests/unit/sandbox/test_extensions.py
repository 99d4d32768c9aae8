"""The contract's extensions as the sandbox serves them (docs/api.md, Extensions), over HTTP: capabilities,
the server-side dry run of every keyed route, the sharded org listing; and the same sandbox playing an
older server (no extensions), which ignores both parameters."""

from __future__ import annotations

import hashlib
import sqlite3
import urllib.error
from pathlib import Path
from typing import Any

import pytest

from housejobs.sandbox.store import Store
from tests.support.sandbox import Sandboxes, SandboxHandle
from tests.unit.sandbox.test_contract import call, code

KEYED = [
    ("/admin/bootstrap", {}, "bootstrap"),
    ("/admin/quota/reset-daily", {"date": "2026-11-24"}, "quota-reset"),
    ("/admin/quota/cleanup-stale", {"date": "2026-11-24"}, "stale-cleanup"),
    ("/admin/alerts/process-all", {"date": "2026-11-24"}, "alerts"),
    ("/admin/quota/reset-monthly", {"month": "2026-11"}, "quota-monthly"),
    ("/admin/orgs/org-000003/sync", {"date": "2026-11-24"}, "org-sync"),
]


def shard(slug: str, count: int) -> int:
    """The contract's rule, written out here independently of housejobs.shards."""
    return int.from_bytes(hashlib.sha256(slug.encode()).digest()[:8], "big") % count


def ledger(sandbox: SandboxHandle) -> int:
    with sandbox.server.app.store.lock:
        return int(sandbox.server.app.store.db.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0])


def listing(sandbox: SandboxHandle, **params: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Every org of a listing, paged to the end, and its pages."""
    slugs: list[str] = []
    pages: list[dict[str, Any]] = []
    token = None
    while True:
        page = call(sandbox, "GET", "/admin/orgs", status="active", page_size=7,
                    **params, **({"page_token": token} if token else {})).json()
        pages.append(page)
        slugs += [o["org_slug"] for o in page["orgs"]]
        token = page["next_page_token"]
        if token is None:
            return slugs, pages


# --- capabilities ---------------------------------------------------------------------------------------
def test_capabilities_lists_the_extensions_and_proves_the_key(sandbox: SandboxHandle) -> None:
    answer = call(sandbox, "GET", "/admin/capabilities")
    assert answer.status_code == 200 and answer.json() == {"extensions": ["dry-run", "listing-shards"]}
    wrong = call(sandbox, "GET", "/admin/capabilities", auth="wrong-key")
    assert wrong.status_code == 401 and code(wrong) == "unauthorized"


def test_an_older_server_has_no_capabilities_but_still_checks_the_key(sandbox_factory: Sandboxes) -> None:
    older = sandbox_factory("older", extensions=())
    missing = call(older, "GET", "/admin/capabilities")
    assert missing.status_code == 404 and code(missing) == "not_found"
    assert call(older, "GET", "/admin/capabilities", auth="wrong-key").status_code == 401


# --- the server-side dry run --------------------------------------------------------------------------
@pytest.mark.parametrize(("path", "body", "effect"), KEYED)
def test_a_dry_run_answers_and_stores_nothing(sandbox: SandboxHandle, path: str, body: Any, effect: str) -> None:
    dry = call(sandbox, "POST", path, body, key="K", dry_run="true")
    assert dry.status_code == 200 and dry.json()["dry_run"] is True, dry.text
    assert "Idempotent-Replayed" not in dry.headers
    assert sandbox.counters() == {} and ledger(sandbox) == 0
    real = call(sandbox, "POST", path, body, key="K")
    assert real.status_code == 200 and "Idempotent-Replayed" not in real.headers  # the dry run held no key
    assert {k: v for k, v in dry.json().items() if k != "dry_run"} == real.json()
    assert list(sandbox.counters(effect).values()) == [1]
    # Now a run would be a replay, and a dry run says so (and still applies nothing).
    again = call(sandbox, "POST", path, body, key="K", dry_run="true")
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == {**real.json(), "dry_run": True}
    assert list(sandbox.counters(effect).values()) == [1] and ledger(sandbox) == 1
    routes = sandbox.routes()
    assert routes[f"{'/admin/orgs/{org}/sync' if effect == 'org-sync' else path} (dry run)"] == 2


def test_a_dry_run_is_validated_like_the_call(sandbox: SandboxHandle) -> None:
    bad = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-02-30"}, dry_run="true")
    assert bad.status_code == 400 and code(bad) == "invalid_date"
    for path, slug in (("/admin/orgs/no-such-org/sync", "org_not_found"), ("/admin/orgs/dormant-0001/sync",
                                                                            "org_inactive")):
        assert code(call(sandbox, "POST", path, {"date": "2026-11-24"}, dry_run="true")) == slug
    assert code(call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, dry_run="yes")) == \
        "invalid_dry_run"
    assert code(call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key=None,
                     dry_run="true")) == "missing_idempotency_key"
    unauthorised = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, auth="nope",
                        dry_run="true")
    assert unauthorised.status_code == 401
    call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key="K")
    other = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-25"}, key="K", dry_run="true")
    assert other.status_code == 422 and code(other) == "idempotency_mismatch"
    assert sandbox.counters() == {"quota-reset:2026-11-24": 1} and ledger(sandbox) == 1


def test_a_dry_run_of_a_key_in_flight_is_409(sandbox: SandboxHandle) -> None:
    from housejobs.sandbox.store import body_hash

    body = {"date": "2026-11-24"}
    sandbox.server.app.store.claim("K", "/admin/quota/reset-daily", body_hash(body))
    busy = call(sandbox, "POST", "/admin/quota/reset-daily", body, key="K", dry_run="true")
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "1"


def test_an_older_server_applies_a_dry_run_it_does_not_know(sandbox_factory: Sandboxes) -> None:
    # Why a client must never send dry_run=true unasked: the parameter means nothing to such a server.
    older = sandbox_factory("older", extensions=())
    applied = call(older, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, dry_run="true")
    assert applied.status_code == 200 and "dry_run" not in applied.json()
    assert older.counters() == {"quota-reset:2026-11-24": 1}


def test_the_request_log_shows_what_was_sent(sandbox: SandboxHandle) -> None:
    call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, dry_run="true")
    call(sandbox, "GET", "/admin/orgs", auth="nope", shard="1/3")
    assert sandbox.request_log() == [
        {"method": "POST", "path": "/admin/quota/reset-daily", "query": "dry_run=true"},
        {"method": "GET", "path": "/admin/orgs", "query": "shard=1%2F3"}]


# --- the sharded listing --------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 3, 7])
def test_the_shards_partition_the_listing(sandbox: SandboxHandle, count: int) -> None:
    whole, _ = listing(sandbox)
    union: list[str] = []
    for index in range(count):
        slugs, pages = listing(sandbox, shard=f"{index}/{count}")
        assert all(page["shard"] == f"{index}/{count}" for page in pages)
        assert slugs == sorted(slugs) and all(shard(s, count) == index for s in slugs)
        union += slugs
    assert sorted(union) == whole and len(union) == len(set(union)) == 25


def test_a_page_token_is_valid_in_its_shard_only(sandbox: SandboxHandle) -> None:
    page = call(sandbox, "GET", "/admin/orgs", status="active", page_size=2, shard="1/3").json()
    token = page["next_page_token"]
    assert call(sandbox, "GET", "/admin/orgs", page_size=2, shard="1/3", page_token=token).status_code == 200
    for elsewhere in ({"shard": "2/3"}, {"shard": "1/4"}, {}):
        assert code(call(sandbox, "GET", "/admin/orgs", page_token=token, **elsewhere)) == "invalid_page_token"
    plain = call(sandbox, "GET", "/admin/orgs", page_size=2).json()["next_page_token"]
    assert code(call(sandbox, "GET", "/admin/orgs", page_token=plain, shard="0/3")) == "invalid_page_token"


@pytest.mark.parametrize("value", ["3/3", "1/0", "-1/3", "a/b", "1", "1/200000", "0/1/2"])
def test_a_malformed_shard_is_refused(sandbox: SandboxHandle, value: str) -> None:
    assert code(call(sandbox, "GET", "/admin/orgs", shard=value)) == "invalid_shard"


def test_an_older_server_ignores_shard(sandbox_factory: Sandboxes) -> None:
    older = sandbox_factory("older", extensions=())
    slugs, pages = listing(older, shard="1/3")
    assert len(slugs) == 25 and not any("shard" in page for page in pages)


def test_a_sharded_page_is_read_from_an_index(sandbox: SandboxHandle) -> None:
    # No scan of the orgs table per request (a million orgs): the query is served by the shard's index.
    store = sandbox.server.app.store
    call(sandbox, "GET", "/admin/orgs", shard="2/10")
    from housejobs.sandbox.store import shard_expression

    with store.lock:
        plan = store.db.execute(f"EXPLAIN QUERY PLAN SELECT slug FROM orgs WHERE status=? AND "  # noqa: S608
                                f"{shard_expression(10)}=? AND slug > ? ORDER BY slug LIMIT ?",
                                ("active", 2, "", 10)).fetchall()
    assert "USING INDEX orgs_shard_10" in str(plan)


def test_shard_indexes_are_bounded(sandbox: SandboxHandle) -> None:
    for count in (2, 3, 4, 5, 6, 3):
        assert call(sandbox, "GET", "/admin/orgs", shard=f"1/{count}").status_code == 200
    with sandbox.server.app.store.lock:
        names = {r[0] for r in sandbox.server.app.store.db.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND name LIKE 'orgs_shard_%'")}
    assert names == {"orgs_shard_4", "orgs_shard_5", "orgs_shard_6", "orgs_shard_3"}


def test_an_older_sandbox_database_gets_its_shard_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE orgs (slug TEXT PRIMARY KEY, status TEXT NOT NULL)")
        db.executemany("INSERT INTO orgs VALUES (?, 'active')", [(f"org-{i}",) for i in range(40)])
    store = Store(path)
    try:
        mine = store.list_orgs("active", 100, None, (1, 4))[0]
    finally:
        store.close()
    assert mine == sorted(f"org-{i}" for i in range(40) if shard(f"org-{i}", 4) == 1)


@pytest.mark.parametrize(("fault", "check"), [
    ("ignore_shard", lambda slugs, pages: len(slugs) == 25 and all("shard" not in p for p in pages)),
    ("wrong_echo", lambda slugs, pages: all(p["shard"] == "2/3" for p in pages)
     and all(shard(s, 3) == 2 for s in slugs)),
    ("foreign_org", lambda slugs, pages: all(p["shard"] == "1/3" for p in pages)
     and any(shard(s, 3) == 2 for s in slugs) and {s for s in slugs if shard(s, 3) == 1}),
])
def test_shard_faults_make_the_listing_misbehave(sandbox: SandboxHandle, fault: str, check: Any) -> None:
    sandbox.fault(route="/admin/orgs", shard_fault=fault)
    slugs, pages = listing(sandbox, shard="1/3")
    assert check(slugs, pages), (slugs, pages)
    assert len(listing(sandbox)[0]) == 25  # without shard=, the listing is whole
    with pytest.raises(urllib.error.HTTPError, match="400"):
        sandbox.fault(route="/admin/orgs", shard_fault="sometimes")
