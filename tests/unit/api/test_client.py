"""ApiClient against the sandbox over real HTTP, and against servers described with respx routes where a
server must misbehave on cue (a respx router serves as the client's transport): retries, Retry-After,
deadlines, replays, error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx

from housejobs.api.client import ApiClient
from housejobs.api.retry import RetryPolicy, parse_retry_after
from housejobs.errors import ApiAuthError, ApiProtocolError, ApiStatusError, ApiUnavailable
from housejobs.logs import Logger
from tests.support.clock import NOW, FakeClock
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY

PATH = "/admin/quota/reset-daily"
KEY = "housejobs:quota-reset:2026-11-24"
BODY = {"date": "2026-11-24"}


class Captured(list[str]):
    def write(self, text: str) -> int:
        self.append(text)
        return len(text)

    def flush(self) -> None:
        pass


def client(url: str, clock: FakeClock, *, key: str = ROOT_KEY, logs: Captured | None = None,
           transport: httpx.AsyncBaseTransport | None = None, **policy: Any) -> ApiClient:
    logger = Logger(stream=logs if logs is not None else Captured(), clock=clock.now)  # type: ignore[arg-type]
    return ApiClient(url, clock=clock, logger=logger, policy=RetryPolicy(**policy),
                     headers={"X-CA-Root-Key": key}, transport=transport)


def described() -> respx.Router:
    """An admin API described route by route; `transport(router)` hands it to the client."""
    return respx.Router(base_url="http://api.test", assert_all_called=False)


def transport(router: respx.Router) -> httpx.MockTransport:
    return httpx.MockTransport(router.async_handler)


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())


def post(api: ApiClient, path: str = PATH, body: dict[str, Any] | None = None, key: str | None = KEY) -> Any:
    async def go() -> Any:
        try:
            return await api.post(path, body or BODY, idempotency_key=key)
        finally:
            await api.aclose()
    return run(go)


def test_503_503_200_succeeds_on_third_attempt_with_one_key(sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route=PATH, statuses=[503, 503])
    logs = Captured()
    response = post(client(sandbox.url, clock, logs=logs))
    assert response.status == 200 and response.attempts == 3 and not response.replayed
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}
    assert sandbox.routes()[PATH] == 3
    assert len(clock.sleeps) == 2  # one wait before each retry
    records = [json.loads(line) for line in logs]
    assert [r["attempt"] for r in records if "attempt" in r][:2] == [1, 2]
    assert all(r["status"] == 503 for r in records if "attempt" in r and r["attempt"] < 3)


def test_same_key_on_every_attempt(clock: FakeClock) -> None:
    api = described()
    unavailable = httpx.Response(503, json={"error": {"code": "unavailable", "message": "x"}})
    route = api.post(PATH).mock(side_effect=[unavailable, unavailable,
                                              httpx.Response(200, json={"date": "2026-11-24", "orgs_reset": 1})])
    post(client("http://api.test", clock, transport=transport(api)))
    assert [call.request.headers.get("Idempotency-Key") for call in route.calls] == [KEY, KEY, KEY]


def test_429_retry_after_is_waited_as_told(sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route=PATH, statuses=[429], retry_after="7")
    response = post(client(sandbox.url, clock))
    assert response.attempts == 2
    assert clock.sleeps == [7.0]


def test_retry_after_http_date() -> None:
    when = NOW + timedelta(seconds=42)
    assert parse_retry_after(format_datetime(when, usegmt=True), NOW) == pytest.approx(42)
    assert parse_retry_after("garbage", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_retry_after_beyond_cap_fails_fast(sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route=PATH, statuses=[429], retry_after="3600")
    with pytest.raises(ApiUnavailable) as info:
        post(client(sandbox.url, clock, retry_after_cap=30))
    assert "3600" in info.value.message and "cap of 30" in info.value.message
    assert clock.sleeps == [] and info.value.attempts == 1
    assert sandbox.counters("quota-reset") == {}


def test_retry_after_beyond_cap_on_the_last_attempt_still_fails_fast(clock: FakeClock) -> None:
    # The loop (api/retry.py) stops on a Retry-After past the cap; the client says why, whichever attempt
    # it was, rather than "failed after N attempts".
    api = described()
    api.post(PATH).mock(side_effect=[httpx.Response(503), httpx.Response(503),
                                     httpx.Response(429, headers={"Retry-After": "3600"})])
    with pytest.raises(ApiUnavailable) as info:
        post(client("http://api.test", clock, transport=transport(api), max_attempts=3, retry_after_cap=30))
    assert info.value.message == (f"POST {PATH}: server answered 429 and asked to retry after 3600 s, beyond "
                                  "the cap of 30 s; failing fast")
    assert info.value.attempts == 3 and info.value.status == 429 and len(clock.sleeps) == 2


def test_retry_after_within_cap_but_past_the_deadline_ends_at_the_deadline(clock: FakeClock) -> None:
    api = described()
    api.post(PATH).mock(return_value=httpx.Response(429, headers={"Retry-After": "20"}))
    with pytest.raises(ApiUnavailable) as info:
        post(client("http://api.test", clock, transport=transport(api), deadline=10, retry_after_cap=30))
    assert info.value.message == f"POST {PATH} failed after 1 attempt in 0.0 s (deadline 10 s): last 429"
    assert clock.sleeps == []


def test_drop_after_commit_then_retry_is_a_replay(sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route=PATH, drop_after_commit=1)
    response = post(client(sandbox.url, clock))
    assert response.replayed and response.attempts == 2
    assert response.lost_answer  # the replay may confirm this run's own first attempt
    assert response.data == {"date": "2026-11-24", "orgs_reset": 25}
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}


def test_drop_before_commit_then_retry_applies_once(sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route=PATH, drop_before_commit=1)
    response = post(client(sandbox.url, clock))
    assert not response.replayed and response.attempts == 2
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}


@pytest.mark.parametrize(("status", "exc"), [(400, ApiStatusError), (401, ApiAuthError), (403, ApiAuthError),
                                             (404, ApiStatusError), (422, ApiStatusError)])
def test_final_4xx_is_one_attempt(sandbox: SandboxHandle, clock: FakeClock, status: int, exc: type) -> None:
    sandbox.fault(route=PATH, statuses=[status])
    with pytest.raises(exc) as info:
        post(client(sandbox.url, clock))
    assert info.value.attempts == 1 and info.value.status == status
    assert clock.sleeps == []
    assert sandbox.routes()[PATH] == 1


def test_wrong_key_is_auth_error_without_the_key_in_it(sandbox: SandboxHandle, clock: FakeClock) -> None:
    with pytest.raises(ApiAuthError) as info:
        post(client(sandbox.url, clock, key="sentinel-root-key-wrong-one"))
    assert "sentinel" not in str(info.value) and info.value.status == 401


def test_deadline_bounds_the_call(sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route=PATH, statuses=[503] * 50)
    start = clock.monotonic()
    with pytest.raises(ApiUnavailable) as info:
        post(client(sandbox.url, clock, deadline=5.0, max_attempts=50, base_wait=0.5, max_wait=2.0))
    spent = clock.monotonic() - start
    assert spent <= 5.0
    assert info.value.attempts >= 3
    assert f"after {info.value.attempts} attempts" in info.value.message
    assert "deadline 5 s" in info.value.message
    assert sandbox.counters("quota-reset") == {}


def test_attempt_timeout_is_clamped_to_time_left(clock: FakeClock) -> None:
    api = described()

    def slow(request: httpx.Request) -> httpx.Response:
        clock.advance(3)  # each attempt takes 3 s of the deadline
        return httpx.Response(503)

    route = api.post(PATH).mock(side_effect=slow)
    with pytest.raises(ApiUnavailable):
        post(client("http://api.test", clock, transport=transport(api), deadline=8.0,
                    timeout=5.0, base_wait=0.01, max_wait=0.01))
    timeouts = [call.request.extensions["timeout"]["read"] for call in route.calls]
    assert timeouts[0] == 5.0
    assert timeouts[-1] < 5.0  # the last attempt only gets what the deadline leaves


def test_malformed_json_is_a_protocol_error(sandbox: SandboxHandle, clock: FakeClock) -> None:
    sandbox.fault(route=PATH, malformed=1)
    with pytest.raises(ApiProtocolError) as info:
        post(client(sandbox.url, clock))
    assert "not valid JSON" in info.value.message


def test_in_flight_409_is_retried(clock: FakeClock) -> None:
    api = described()
    api.post(PATH).mock(side_effect=[
        httpx.Response(409, json={"error": {"code": "idempotency_in_flight", "message": "busy"}}),
        httpx.Response(200, json={"ok": True}, headers={"Idempotent-Replayed": "true"})])
    response = post(client("http://api.test", clock, transport=transport(api)))
    assert response.replayed and response.attempts == 2


def test_other_409_is_not_retried(clock: FakeClock) -> None:
    api = described()
    route = api.post(PATH).respond(409, json={"error": {"code": "conflict", "message": "no"}})
    with pytest.raises(ApiStatusError):
        post(client("http://api.test", clock, transport=transport(api)))
    assert clock.sleeps == [] and route.call_count == 1


def test_transport_error_without_key_is_not_retried(clock: FakeClock) -> None:
    api = described()
    route = api.post(PATH).mock(side_effect=httpx.ReadError("connection reset"))
    with pytest.raises(ApiUnavailable) as info:
        post(client("http://api.test", clock, transport=transport(api)), key=None)
    assert route.call_count == 1 and "no idempotency key" in info.value.message


def test_transport_error_on_get_is_retried(clock: FakeClock) -> None:
    api = described()
    route = api.get("/healthz").mock(side_effect=[httpx.ConnectError("refused"),
                                                  httpx.Response(200, json={"status": "ok"})])
    healthz = client("http://api.test", clock, transport=transport(api))

    async def go() -> Any:
        async with healthz:
            return await healthz.get("/healthz")

    assert run(go).data == {"status": "ok"} and route.call_count == 2


def test_mismatched_body_same_key_is_422(sandbox: SandboxHandle, clock: FakeClock) -> None:
    post(client(sandbox.url, clock))
    with pytest.raises(ApiStatusError) as info:
        post(client(sandbox.url, clock), body={"date": "2026-11-25"})
    assert info.value.status == 422 and info.value.code == "idempotency_mismatch"


def test_unreachable_host_fails_after_retries(clock: FakeClock) -> None:
    with pytest.raises(ApiUnavailable) as info:
        post(client("http://127.0.0.1:9", clock, deadline=3.0, base_wait=0.5))
    assert info.value.attempts >= 2 and info.value.status is None


# --- a key in flight is waited out; a replay names whose request applied it --------------------------------
def _in_flight_then_replay(replay_origin: str | None, n_in_flight: int) -> tuple[httpx.MockTransport, respx.Route]:
    """A server whose key stays in flight `n_in_flight` times, then replays the stored answer."""
    api = described()
    in_flight = httpx.Response(409, json={"error": {"code": "idempotency_in_flight", "message": "running"}},
                               headers={"Retry-After": "1"})
    headers = {"Idempotent-Replayed": "true"}
    if replay_origin is not None:
        headers["Idempotency-Origin"] = replay_origin
    replay = httpx.Response(200, json={"date": "2026-11-24", "orgs_reset": 3}, headers=headers)
    route = api.post(PATH).mock(side_effect=[*([in_flight] * n_in_flight), replay])
    return transport(api), route


def test_a_key_in_flight_is_waited_out_past_max_attempts_within_the_deadline(clock: FakeClock) -> None:
    api = client("http://api.test", clock, transport=_in_flight_then_replay("run-a", 10)[0], max_attempts=3,
                 deadline=60)
    api.origin = "run-a"
    response = post(api)
    assert response.attempts == 11 and response.replayed and response.replayed_own
    assert clock.sleeps == [1.0] * 10  # the server's Retry-After, each time


def test_a_key_in_flight_past_the_deadline_fails_naming_it(clock: FakeClock) -> None:
    api = client("http://api.test", clock, transport=_in_flight_then_replay(None, 100)[0], max_attempts=3,
                 deadline=5)
    with pytest.raises(ApiUnavailable, match="409 idempotency_in_flight"):
        post(api)
    assert sum(clock.sleeps) < 5


@pytest.mark.parametrize(("origin", "own"), [("run-a", True), ("run-b", False), (None, False)])
def test_a_replay_is_this_runs_own_only_when_the_server_names_this_run(clock: FakeClock, origin: str | None,
                                                                       own: bool) -> None:
    served, route = _in_flight_then_replay(origin, 0)
    api = client("http://api.test", clock, transport=served)
    api.origin = "run-a"
    response = post(api)
    seen = [call.request.headers.get("Idempotency-Origin") for call in route.calls]
    assert seen == ["run-a"] and response.replayed and response.replayed_own is own


# --- the contract's extensions (api/capabilities.py) ---------------------------------------------------------
def test_capabilities_are_asked_once_per_client_and_retried_like_any_get(clock: FakeClock) -> None:
    api = described()
    route = api.get("/admin/capabilities").mock(side_effect=[
        httpx.Response(503, json={"error": {"code": "unavailable", "message": "x"}}),
        httpx.Response(200, json={"extensions": ["listing-shards", "from-the-future"]})])

    async def go() -> list[Any]:
        async with client("http://api.test", clock, transport=transport(api)) as c:
            return [await c.capabilities(), await c.capabilities()]

    first, second = run(go)
    assert first is second and route.call_count == 2 and len(clock.sleeps) == 1
    assert first.offers("listing-shards") and not first.offers("dry-run") and first.answered


@pytest.mark.parametrize(("answer", "error"), [
    (httpx.Response(404, json={"error": {"code": "not_found", "message": "no such route"}}), None),
    (httpx.Response(401, json={"error": {"code": "unauthorized", "message": "x"}}), ApiAuthError),
    (httpx.Response(403, json={}), ApiAuthError),
    (httpx.Response(200, json={"extensions": [1]}), ApiProtocolError),
    (httpx.Response(200, json=["dry-run"]), ApiProtocolError),
    (httpx.Response(400, json={}), ApiStatusError),
])
def test_capabilities_answers(clock: FakeClock, answer: httpx.Response, error: type[Exception] | None) -> None:
    api = described()
    api.get("/admin/capabilities").mock(return_value=answer)

    async def go() -> Any:
        async with client("http://api.test", clock, transport=transport(api)) as c:
            return await c.capabilities()

    if error is None:
        found = run(go)
        assert found.extensions == frozenset() and not found.answered  # 404: an older server, none offered
        assert "an older server" in found.lacking("dry-run")
    else:
        with pytest.raises(error):
            run(go)


def test_a_dry_run_is_never_sent_to_a_server_that_did_not_offer_it(clock: FakeClock) -> None:
    api = described()
    api.get("/admin/capabilities").mock(return_value=httpx.Response(200, json={"extensions": ["listing-shards"]}))
    reset = api.post(PATH).mock(return_value=httpx.Response(200, json={"orgs_reset": 1, "dry_run": True}))

    async def go() -> Any:
        async with client("http://api.test", clock, transport=transport(api)) as c:
            return await c.post_dry_run(PATH, BODY, idempotency_key=KEY)

    with pytest.raises(ValueError, match="does not offer dry-run"):
        run(go)
    assert reset.call_count == 0
