"""The sandbox keeps the written contract (docs/api.md): every documented route and error, over HTTP."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from housejobs.orgs import ORG_SLUG_PATTERN, is_org_slug
from housejobs.sandbox.store import body_hash
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY

DOC = Path(__file__).resolve().parents[3] / "docs" / "api.md"


def call(sandbox: SandboxHandle, method: str, path: str, body: Any = None, key: str | None = "k-1",
         auth: str | None = ROOT_KEY, **params: Any) -> httpx.Response:
    headers = {}
    if auth is not None:
        headers["X-CA-Root-Key"] = auth
    if key is not None and method == "POST":
        headers["Idempotency-Key"] = key
    return httpx.request(method, sandbox.url + path, json=body, headers=headers, params=params or None,
                         timeout=10)


def code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def test_every_documented_admin_route_is_served(sandbox: SandboxHandle) -> None:
    rows = re.findall(r"^\| `(GET|POST) (/(?:admin|healthz)[^`?]*)", DOC.read_text(), re.M)
    assert len(rows) >= 8
    for method, path in rows:
        path = path.replace("{org_slug}", "org-000001")
        body = {"date": "2026-11-24", "month": "2026-11"} if method == "POST" else None
        response = call(sandbox, method, path, body, key=f"doc:{path}")
        assert response.status_code == 200, (method, path, response.text)


def test_healthz_needs_no_auth(sandbox: SandboxHandle) -> None:
    assert call(sandbox, "GET", "/healthz", auth=None).json() == {"status": "ok"}


def test_auth_required_on_admin(sandbox: SandboxHandle) -> None:
    for auth in (None, "wrong-key"):
        response = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, auth=auth)
        assert response.status_code == 401 and code(response) == "unauthorized"
    assert sandbox.counters() == {}


def test_orgs_paging(sandbox: SandboxHandle) -> None:
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"status": "active", "page_size": 10}
        if token:
            params["page_token"] = token
        page = call(sandbox, "GET", "/admin/orgs", **params).json()
        seen += [o["org_slug"] for o in page["orgs"]]
        assert all(o["status"] == "active" for o in page["orgs"])
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == sorted(seen) and len(seen) == 25
    assert code(call(sandbox, "GET", "/admin/orgs", page_size=0)) == "invalid_page_size"
    assert code(call(sandbox, "GET", "/admin/orgs", page_size=1001)) == "invalid_page_size"
    assert code(call(sandbox, "GET", "/admin/orgs", page_token="%%%")) == "invalid_page_token"


@pytest.mark.parametrize(("path", "body", "status", "slug"), [
    ("/admin/quota/reset-daily", {"date": "2026-02-30"}, 400, "invalid_date"),
    ("/admin/quota/reset-daily", {}, 400, "invalid_date"),
    ("/admin/quota/cleanup-stale", {"date": 20261124}, 400, "invalid_date"),
    ("/admin/alerts/process-all", {"date": "24-11-2026"}, 400, "invalid_date"),
    ("/admin/quota/reset-monthly", {"month": "2026-13"}, 400, "invalid_month"),
    ("/admin/orgs/Bad%20Org/sync", {"date": "2026-11-24"}, 400, "invalid_org"),
    # The slug decoded is "org-000001\n": the whole slug must match (a `$` matched before the newline).
    ("/admin/orgs/org-000001%0A/sync", {"date": "2026-11-24"}, 400, "invalid_org"),
    ("/admin/orgs/org-000001%0a/sync", {"date": "2026-11-24"}, 400, "invalid_org"),
    ("/admin/orgs/no-such-org/sync", {"date": "2026-11-24"}, 404, "org_not_found"),
    ("/admin/orgs/dormant-0001/sync", {"date": "2026-11-24"}, 409, "org_inactive"),
    ("/admin/nope", {}, 404, "not_found"),
])
def test_documented_errors(sandbox: SandboxHandle, path: str, body: Any, status: int, slug: str) -> None:
    response = call(sandbox, "POST", path, body)
    assert response.status_code == status and code(response) == slug
    assert sandbox.counters() == {}


def test_a_slug_is_read_decoded_and_documented_as_the_one_rule(sandbox: SandboxHandle) -> None:
    # %2D is "-": the slug org-000001, as any server reads a path segment.
    response = call(sandbox, "POST", "/admin/orgs/org%2D000001/sync", {"date": "2026-11-24"})
    assert response.status_code == 200 and response.json()["org_slug"] == "org-000001"
    # docs/api.md states the rule the client and the sandbox share (housejobs/orgs.py), as written there.
    assert f"Org slugs match `{ORG_SLUG_PATTERN}`" in DOC.read_text()
    assert not is_org_slug("acme\n") and not is_org_slug(["acme"]) and is_org_slug("acme")


def test_wrong_method_missing_key_bad_json_too_large(sandbox: SandboxHandle) -> None:
    assert code(call(sandbox, "GET", "/admin/quota/reset-daily")) == "method_not_allowed"
    assert code(call(sandbox, "POST", "/admin/orgs", {})) == "method_not_allowed"
    assert code(call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key=None)) == \
        "missing_idempotency_key"
    raw = httpx.post(sandbox.url + "/admin/bootstrap", content=b"[1, 2", timeout=10,
                     headers={"X-CA-Root-Key": ROOT_KEY, "Idempotency-Key": "k-json"})
    assert raw.status_code == 400 and code(raw) == "invalid_json"
    big = httpx.post(sandbox.url + "/admin/bootstrap", content=b"{" + b" " * (1 << 20) + b"}", timeout=10,
                     headers={"X-CA-Root-Key": ROOT_KEY, "Idempotency-Key": "k-big"})
    assert big.status_code == 413


def test_replay_mismatch_and_stored_4xx(sandbox: SandboxHandle) -> None:
    first = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key="K")
    again = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key="K")
    assert first.json() == again.json()
    assert "Idempotent-Replayed" not in first.headers and again.headers["Idempotent-Replayed"] == "true"
    other = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-25"}, key="K")
    assert other.status_code == 422 and code(other) == "idempotency_mismatch"
    bad = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "nope"}, key="K2")
    bad_again = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "nope"}, key="K2")
    assert bad.status_code == bad_again.status_code == 400
    assert bad_again.headers["Idempotent-Replayed"] == "true"
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}


def test_5xx_is_not_stored_so_a_retry_applies(sandbox: SandboxHandle) -> None:
    sandbox.fault(route="/admin/quota/reset-daily", statuses=[503])
    assert call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key="K").status_code == 503
    retry = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key="K")
    assert retry.status_code == 200 and "Idempotent-Replayed" not in retry.headers


def test_in_flight_is_409_then_replay(sandbox: SandboxHandle) -> None:
    body = {"date": "2026-11-24"}
    store = sandbox.server.app.store
    # A first request with this key has claimed it and is still running (claimed, not finished).
    assert store.claim("K", "/admin/quota/reset-daily", body_hash(body)).kind == "new"
    second = call(sandbox, "POST", "/admin/quota/reset-daily", body, key="K")
    assert second.status_code == 409 and code(second) == "idempotency_in_flight"
    assert sandbox.counters() == {}
    store.finish("K", lambda db: (200, {"date": "2026-11-24", "orgs_reset": 25}))
    third = call(sandbox, "POST", "/admin/quota/reset-daily", body, key="K")
    assert third.status_code == 200 and third.headers["Idempotent-Replayed"] == "true"


def test_period_keys_are_kept_for_good(sandbox: SandboxHandle) -> None:
    store = sandbox.server.app.store
    real_now = store.now
    call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"}, key="housejobs:quota-reset:2026-11-24")
    call(sandbox, "POST", "/admin/bootstrap", {}, key="housejobs:bootstrap:local-1")
    store.now = lambda: real_now() + 40 * 24 * 3600  # forty days later
    try:
        period = call(sandbox, "POST", "/admin/quota/reset-daily", {"date": "2026-11-24"},
                      key="housejobs:quota-reset:2026-11-24")
        per_run = call(sandbox, "POST", "/admin/bootstrap", {}, key="housejobs:bootstrap:local-1")
    finally:
        store.now = real_now
    assert period.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in per_run.headers  # a per-run key expires after its 24 h


def test_abandoned_in_flight_claim_is_taken_over_after_its_lease(sandbox: SandboxHandle) -> None:
    from housejobs.sandbox.store import IN_FLIGHT_LEASE_S

    body = {"date": "2026-11-24"}
    store = sandbox.server.app.store
    real_now = store.now
    stale = store.claim("K", "/admin/quota/reset-daily", body_hash(body))  # a client killed mid-request
    assert call(sandbox, "POST", "/admin/quota/reset-daily", body, key="K").status_code == 409
    store.now = lambda: real_now() + IN_FLIGHT_LEASE_S + 1
    try:
        taken = call(sandbox, "POST", "/admin/quota/reset-daily", body, key="K")
    finally:
        store.now = real_now
    assert taken.status_code == 200 and "Idempotent-Replayed" not in taken.headers
    # The dead request, were it to wake up, applies nothing: its claim is no longer held.
    status, _ = store.finish("K", lambda db: (200, {"date": "2026-11-24", "orgs_reset": 25}), stale.token)
    assert status == 409
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}
