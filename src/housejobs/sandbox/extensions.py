"""The sandbox's side of the contract extensions (docs/api.md): `GET /admin/capabilities`, the org listing
(sharded with `shard=I/N` under `listing-shards`) and the server-side dry run of every keyed route
(`?dry_run=true` under `dry-run`).

A sandbox started without an extension plays an older server: no capabilities route (404), and the query
parameters it does not know are ignored — a dry_run=true is applied like any call, a shard= lists every org.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from housejobs.api.capabilities import DRY_RUN, LISTING_SHARDS
from housejobs.sandbox.service import Answer, ApiProblem, Sandbox, error
from housejobs.sandbox.store import body_hash, decode_token, encode_token
from housejobs.shards import MAX_LISTED_SHARDS, parse_shard, shard_label

IN_FLIGHT_RETRY_AFTER_S = 1  # what a 409 idempotency_in_flight asks a client to wait


class Handler(Protocol):
    """What these routes need of the HTTP request handler (sandbox/app.py's)."""

    hold_s: float

    def _drop(self) -> None: ...

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None: ...

    def _faults_before(self, route: str) -> str | None: ...

    def _after_commit(self, action: str | None, status: int, response: Any,
                      headers: dict[str, str] | None = None) -> None: ...


def capabilities(handler: Handler, app: Sandbox) -> None:
    handler._send(200, {"extensions": sorted(app.extensions)})


def is_dry_run(app: Sandbox, query: dict[str, list[str]]) -> bool:
    """Whether a keyed request asks for the server's dry run. Only a server offering the extension reads the
    parameter; an older one never looks at it (and applies the call)."""
    if DRY_RUN not in app.extensions or "dry_run" not in query:
        return False
    value = query["dry_run"][-1]
    if value not in ("true", "false"):
        raise ApiProblem(400, "invalid_dry_run", "dry_run must be true or false")
    return value == "true"


def list_orgs(handler: Handler, app: Sandbox, query: dict[str, list[str]]) -> None:
    app.count("/admin/orgs")
    if handler._faults_before("/admin/orgs") == "done":
        return None
    status = query.get("status", ["active"])[0]
    try:
        page_size = int(query.get("page_size", ["100"])[0])
    except ValueError:
        return handler._send(*error(400, "invalid_page_size", "page_size must be an integer"))
    if not 1 <= page_size <= 1000:
        return handler._send(*error(400, "invalid_page_size", "page_size must be 1..1000"))
    shard: tuple[int, int] | None = None
    if LISTING_SHARDS in app.extensions and "shard" in query:
        shard = parse_shard(query["shard"][-1])
        if shard is None or shard[1] > MAX_LISTED_SHARDS:
            return handler._send(*error(400, "invalid_shard", f"shard must be I/N with 0 <= I < N <= "
                                                              f"{MAX_LISTED_SHARDS}"))
    # What the listing serves: the shard asked for, unless a fault makes it misbehave (sandbox/faults.py).
    fault = app.faults.shard_fault() if shard is not None else None
    served = shard
    if fault == "ignore_shard":
        served = None
    elif fault == "wrong_echo" and shard is not None:
        served = ((shard[0] + 1) % shard[1], shard[1])
    token = query.get("page_token", [""])[0]
    after = decode_token(token, served) if token else None
    if token and after is None:
        return handler._send(*error(400, "invalid_page_token", "page_token is not valid (here, or in this shard)"))
    slugs, more = app.store.list_orgs(status, page_size, after, served)
    orgs = [{"org_slug": s, "status": status} for s in slugs]
    if fault == "foreign_org" and shard is not None and shard[1] > 1:
        other = app.store.list_orgs(status, 1, after, ((shard[0] + 1) % shard[1], shard[1]))[0]
        orgs += [{"org_slug": s, "status": status} for s in other]
    page: dict[str, Any] = {"orgs": orgs, "next_page_token": encode_token(slugs[-1], served) if more else None}
    if served is not None:
        page["shard"] = shard_label(*served)
    return handler._send(200, page)


def dry_run(handler: Handler, app: Sandbox, key: str, body: dict[str, Any], apply: Callable[[Any], Answer],
            failure: int | None, action: str | None) -> None:
    """Answer what the keyed request would do, storing nothing: the ledger is read, never written, and the
    effect runs in a transaction that is rolled back. A key already applied with this body answers its
    stored answer (a run would be a replay); with another body 422; in flight 409, as for a real request."""
    claim = app.store.peek(key, body_hash(body))
    if claim.kind == "mismatch":
        return handler._send(*error(422, "idempotency_mismatch", "this Idempotency-Key was used with a different body"))
    if claim.kind == "in_flight":
        return handler._send(*error(409, "idempotency_in_flight", "a request with this Idempotency-Key is still "
                                    "running"), {"Retry-After": str(IN_FLIGHT_RETRY_AFTER_S)})
    headers: dict[str, str] = {}
    if claim.kind == "replay":
        status, response = claim.status, claim.response
        headers["Idempotent-Replayed"] = "true"
        if claim.origin:
            headers["Idempotency-Origin"] = claim.origin
    elif failure is not None:
        return handler._send(*error(failure, "org_sync_failed", "injected failure for this org"))
    else:
        if handler.hold_s:
            time.sleep(handler.hold_s)
        status, response = app.store.preview(apply)
    if status < 300 and isinstance(response, dict):
        response = {**response, "dry_run": True}
    return handler._after_commit(action, status, response, headers)
