"""ApiClient: one logical call = attempts under a retry policy, with one Idempotency-Key.

What is retried (DESIGN.md, Retries): transport errors on GETs and on keyed requests; statuses 408,
425, 429, 500, 502, 503, 504 and 409 `idempotency_in_flight`. Never another 4xx. Waits are
exponential with full jitter, capped per wait; a `Retry-After` is honoured as told up to a cap, and past
the cap the call fails fast. The deadline bounds the logical call: it stops before a wait would cross it,
and each attempt's timeout is clamped to the time left.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any

import httpx

from housejobs import __version__
from housejobs.api.capabilities import DRY_RUN, NONE, PATH, Asked, Capabilities, from_answer
from housejobs.api.network import ssl_context
from housejobs.api.retry import (
    IN_FLIGHT,
    RetryPolicy,
    Transient,
    contract_error,
    is_transient,
    parse_retry_after,
    retrying,
)
from housejobs.api.transport import LeanTransport
from housejobs.clock import Clock
from housejobs.errors import (
    ApiAuthError,
    ApiError,
    ApiProtocolError,
    ApiStatusError,
    ApiUnavailable,
    one_line,
)
from housejobs.logs import Logger


@dataclass
class ApiResponse:
    status: int
    data: Any
    replayed: bool
    attempts: int
    elapsed_s: float
    headers: dict[str, str] = field(default_factory=dict)
    # An earlier attempt may have reached the server and lost its answer (a transport error): a replay
    # then possibly confirms this run's own effect rather than another run's.
    lost_answer: bool = False
    # The server said whose request made the stored answer (Idempotency-Origin, docs/api.md), and it was
    # this run's: the effect is this run's own, its first answer lost on the way. False when the server
    # does not say: then the replay is another run's as far as anyone can tell.
    replayed_own: bool = False


class ApiClient:
    def __init__(self, base_url: str, *, clock: Clock, logger: Logger, policy: RetryPolicy | None = None,
                 headers: dict[str, str] | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 rng: random.Random | None = None,
                 auth_hint: str = "check CA_ROOT_API_KEY for this environment",
                 origin: str | None = None, asked: Asked | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.auth_hint = auth_hint  # what a 401/403 tells the user to check (the credential it sent)
        # This run's id, sent with every keyed request so a replay can say whether the stored answer was
        # made by this run (whose first answer was lost) or by another one.
        self.origin = origin
        self.clock = clock
        self.logger = logger
        self.policy = policy or RetryPolicy()
        self.rng = rng or random.Random()
        self.total_attempts = 0
        self.calls = 0
        self._headers = {"User-Agent": f"housejobs/{__version__}", "Accept": "application/json"}
        self._headers.update(headers or {})
        # A transport, not an httpx.AsyncClient: the client layer (URL merging, cookies, auth and
        # redirect hooks, none of which a keyed server-to-server call uses) and httpcore's pool cost
        # more CPU per request than the exchange itself (housejobs.transport says more). One client
        # sends one request at a time; callers wanting more in flight use more clients. Client builders
        # pass the one housejobs.network chooses (proxy, CA bundle); tests may pass an httpx.MockTransport.
        self._transport: httpx.AsyncBaseTransport = transport or LeanTransport(ssl_context=ssl_context({}))
        self._base = httpx.URL(self.base_url)
        self._asked = asked or Asked()  # the run's answer to GET /admin/capabilities, once asked

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> ApiClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def get(self, path: str, *, params: dict[str, Any] | None = None) -> ApiResponse:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, body: dict[str, Any], *, idempotency_key: str | None) -> ApiResponse:
        return await self.request("POST", path, json_body=body, idempotency_key=idempotency_key)

    async def capabilities(self) -> Capabilities:
        """The contract extensions the server offers (api/capabilities.py), asked once per run (the clients
        of a run share `asked`): a 404 means an older server, with none. 401/403 raise ApiAuthError, so the
        answer also proves the key."""
        if self._asked.answer is None:
            try:
                response = await self.get(PATH)
            except ApiStatusError as exc:
                if exc.status != 404:
                    raise
                self._asked.answer = NONE
            else:
                self._asked.answer = from_answer(response.data)
        return self._asked.answer

    async def post_dry_run(self, path: str, body: dict[str, Any], *, idempotency_key: str | None) -> ApiResponse:
        """The call as the server's own dry run (`?dry_run=true`): validated, answered, nothing stored. Sent
        only to a server that offered `dry-run` (an older one would apply it), and its answer must say
        `"dry_run": true`, or it may have been applied."""
        offered = await self.capabilities()
        if not offered.offers(DRY_RUN):
            raise ValueError(f"POST {path}: {offered.lacking(DRY_RUN)}; a dry run must stay client-side")
        response = await self.request("POST", path, json_body=body, params={"dry_run": "true"},
                                      idempotency_key=idempotency_key)
        if not isinstance(response.data, dict) or response.data.get("dry_run") is not True:
            raise ApiProtocolError(f"POST {path}?dry_run=true: the answer does not say \"dry_run\": true, so the "
                                   "server may have applied it", status=response.status)
        return response

    async def request(self, method: str, path: str, *, json_body: dict[str, Any] | None = None,
                      params: dict[str, Any] | None = None, idempotency_key: str | None = None,
                      headers: dict[str, str] | None = None, replay_safe: bool = False) -> ApiResponse:
        policy = self.policy
        start = self.clock.monotonic()
        attempts = 0
        # A transport error after sending may mean the server acted: only a GET or a keyed request
        # may be sent again, because the key makes the second send a replay.
        # `replay_safe`: the caller knows a second send cannot apply twice without a key (a migration
        # guarded by its history row's primary key).
        safe = method == "GET" or idempotency_key is not None or replay_safe
        send_headers = dict(headers or {})
        if idempotency_key:
            send_headers["Idempotency-Key"] = idempotency_key
            if self.origin:
                send_headers["Idempotency-Origin"] = self.origin
        content = json.dumps(json_body, separators=(",", ":")).encode() if json_body is not None else None
        if content is not None:
            send_headers["Content-Type"] = "application/json"
        what = f"{method} {path}"
        self.calls += 1

        def elapsed() -> float:
            return self.clock.monotonic() - start

        lost_answer = False
        try:
            async for attempt in retrying(policy, self.clock, rng=self.rng, deadline=start + policy.deadline,
                                          logger=self.logger, what=what):
                with attempt:
                    attempts += 1
                    self.total_attempts += 1
                    left = policy.deadline - elapsed()
                    if left <= 0:
                        raise ApiUnavailable(f"{what}: deadline of {policy.deadline:g} s reached before "
                                             f"attempt {attempts}", attempts=attempts - 1, elapsed_s=elapsed())
                    try:
                        response = await self._attempt(method, path, content, params, send_headers,
                                                       timeout=min(policy.timeout, left), safe=safe, what=what)
                    except Transient as exc:
                        lost_answer = lost_answer or exc.status is None  # sent, and no answer came back
                        raise
                    accepted = self._accept(response, what, attempts, elapsed())
                    accepted.lost_answer = lost_answer
                    return accepted
        except Transient as exc:
            spent = elapsed()
            if exc.past_cap(policy):
                raise ApiUnavailable(
                    f"{what}: server answered {exc.status} and asked to retry after {exc.retry_after:g} s, "
                    f"beyond the cap of {policy.retry_after_cap:g} s; failing fast",
                    status=exc.status, code=exc.code, attempts=attempts, elapsed_s=spent) from None
            raise ApiUnavailable(
                f"{what} failed after {attempts} attempt{'s' if attempts != 1 else ''} in {spent:.1f} s "
                f"(deadline {policy.deadline:g} s): last {exc.reason}",
                status=exc.status, attempts=attempts, elapsed_s=spent) from None
        except ApiError as exc:
            exc.attempts = max(exc.attempts, attempts)
            exc.elapsed_s = elapsed()
            raise
        raise AssertionError("unreachable")  # pragma: no cover - tenacity always returns or raises

    def _url(self, path: str, params: dict[str, Any] | None) -> httpx.URL:
        url = self._base.copy_with(raw_path=(self._base.raw_path.rstrip(b"/") + path.encode()))
        return url.copy_merge_params(params) if params else url

    async def _attempt(self, method: str, path: str, content: bytes | None, params: dict[str, Any] | None,
                       headers: dict[str, str], *, timeout: float, safe: bool, what: str) -> httpx.Response:
        try:
            request = httpx.Request(method, self._url(path, params), headers={**self._headers, **headers},
                                    content=content, extensions={"timeout": httpx.Timeout(timeout).as_dict()})
            response = await self._transport.handle_async_request(request)
            try:
                await response.aread()
            finally:
                await response.aclose()
        except httpx.TransportError as exc:
            reason = f"{exc.__class__.__name__}: {one_line(str(exc)) or 'connection failed'}"
            if safe:
                raise Transient(reason) from None
            raise ApiUnavailable(f"{what}: {reason} (not retried: the request has no idempotency key)") from None
        status = response.status_code
        if 200 <= status < 300:
            return response
        if status < 400:
            # A 1xx as a final answer, or a redirect (never followed: the key and body would go elsewhere):
            # whatever its body says, it is not the contract's answer.
            raise ApiProtocolError(f"{what}: unexpected {status} answer", status=status)
        code, message = contract_error(response.content)
        code = one_line(code, 80) if code is not None else None
        if is_transient(status, code):
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.clock.now())
            if retry_after is None and status == 429:
                # Supabase's Management API gives the seconds until its window resets.
                retry_after = parse_retry_after(response.headers.get("X-RateLimit-Reset"), self.clock.now())
            # A Retry-After past the policy's cap stops the loop at once (request() says so).
            label = f"{status}" + (f" {code}" if code else "")
            raise Transient(label, status=status, code=code, retry_after=retry_after,
                            in_flight=status == 409 and code == IN_FLIGHT)
        detail = f"{status}" + (f" {code}" if code else "") + (f": {one_line(message)}" if message else "")
        if status in (401, 403):
            raise ApiAuthError(f"{what}: {detail}", status=status, code=code,
                               hint=self.auth_hint)
        raise ApiStatusError(f"{what}: {detail}", status=status, code=code)

    def _accept(self, response: httpx.Response, what: str, attempts: int, spent: float) -> ApiResponse:
        data: Any = None
        if response.content:
            try:
                data = response.json()
            except (ValueError, RecursionError):
                raise ApiProtocolError(f"{what}: answer {response.status_code} is not valid JSON",
                                       status=response.status_code) from None
        replayed = response.headers.get("Idempotent-Replayed", "").lower() == "true"
        own = replayed and bool(self.origin) and response.headers.get("Idempotency-Origin") == self.origin
        if attempts > 1:
            self.logger.info(f"{what}: succeeded on attempt {attempts}", attempts=attempts,
                             status=response.status_code)
        return ApiResponse(status=response.status_code, data=data, replayed=replayed, attempts=attempts,
                           elapsed_s=spent, headers=dict(response.headers), replayed_own=own)
