"""A small threaded HTTP server that the Google API fakes share.

Each fake subclasses `FakeServer`, declares its routes, and gets: a real socket on 127.0.0.1 with a
free port (a LocalServer, tests/fakes/server.py), JSON in and out, Google's error shape, a record of every
request, schema-violation bookkeeping and one-shot fault injection. The Google client libraries talk to it
with `requests` over HTTP/1.1 keep-alive, exactly as they talk to googleapis.com.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from tests.fakes.discovery import Discovery
from tests.fakes.server import LocalServer, QuietHandler

T = TypeVar("T")

# google.rpc.Code names → the HTTP status Google's REST front end answers with.
HTTP_FOR_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ABORTED": 409,
    "ALREADY_EXISTS": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "NOT_IMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}

# google.rpc.Code numbers, for the `error` of a failed long-running operation.
RPC_CODE = {
    "OK": 0,
    "CANCELLED": 1,
    "UNKNOWN": 2,
    "INVALID_ARGUMENT": 3,
    "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5,
    "ALREADY_EXISTS": 6,
    "PERMISSION_DENIED": 7,
    "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9,
    "ABORTED": 10,
    "OUT_OF_RANGE": 11,
    "UNIMPLEMENTED": 12,
    "INTERNAL": 13,
    "UNAVAILABLE": 14,
    "DATA_LOSS": 15,
    "UNAUTHENTICATED": 16,
}


class GoogleError(Exception):
    """Raised by a handler; the server turns it into Google's JSON error response."""

    def __init__(self, status: str, message: str, *, http: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.http = http if http is not None else HTTP_FOR_STATUS.get(status, 500)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.http, "message": self.message, "status": self.status}}


def not_found(what: str) -> GoogleError:
    return GoogleError("NOT_FOUND", f"Resource '{what}' was not found")


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]
    status: int = 0
    # True for non-GET calls that change nothing (LRO :wait); set by the route, see `Route.read`.
    read: bool = False

    @property
    def is_write(self) -> bool:
        return self.method != "GET" and not self.read

    def param(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[-1] if values else default

    @property
    def int_enums(self) -> bool:
        # Google's REST clients ask for numeric enums with `$alt=json;enum-encoding=int`; a
        # real server answers in the encoding asked for, and names otherwise.
        return "enum-encoding=int" in self.param("$alt")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Callable[..., Any]
    # The discovery method id (e.g. "run.projects.locations.jobs.create") whose query parameters
    # and request schema this route checks.
    method_id: str | None = None
    body_schema: str | None = None
    read: bool = False


def route(
    method: str,
    pattern: str,
    handler: Callable[..., Any],
    *,
    method_id: str | None = None,
    body_schema: str | None = None,
    read: bool = False,
) -> Route:
    # Path segments are [^/]+ except that a ":verb" suffix must not be swallowed by the last one.
    regex = pattern.replace("{", "(?P<").replace("}", ">[^/:]+)")
    return Route(method, re.compile(f"^{regex}$"), handler, method_id, body_schema, read)


@dataclass
class Fault:
    status: str
    message: str
    times: int
    method: str | None
    path_contains: str | None
    http: int | None = None

    def matches(self, req: RecordedRequest) -> bool:
        return (self.method is None or self.method == req.method) and (
            self.path_contains is None or self.path_contains in req.path
        )


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


FAKE_T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def ticking_clock(start: datetime = FAKE_T0) -> Callable[[], datetime]:
    """A fake's clock when the test gives none: each reading 1 ms after the last, from `start`. Server
    timestamps come out ordered, as real ones do, and no test depends on the machine's date."""
    ticks = itertools.count()
    return lambda: start + timedelta(milliseconds=next(ticks))


@dataclass
class _State:
    requests: list[RecordedRequest] = field(default_factory=list)
    schema_violations: list[str] = field(default_factory=list)
    output_only_sent: list[str] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)


class FakeServer:
    """Base class: routing, recording, validation, lifecycle. Subclasses fill `routes()`."""

    api: str = ""  # discovery document name, e.g. "run.v2"

    def __init__(self, *, clock: Callable[[], datetime] | None = None, reject_output_only: bool = False):
        self.clock = clock or ticking_clock()
        # Real Google APIs ignore output-only fields sent as input (AIP-203), so sending back a
        # resource you read is legal; strict mode turns that into a 400 to catch sloppy callers.
        self.reject_output_only = reject_output_only
        self._s = _State()
        self._lock = threading.RLock()
        self._server: LocalServer | None = None
        self._routes = self.routes()
        self.discovery = Discovery.load(self.api) if self.api else None

    # ---- what subclasses provide -------------------------------------------------------------

    def routes(self) -> list[Route]:
        raise NotImplementedError

    # ---- public inspection API ---------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        if self._server is None:
            raise RuntimeError("fake is not started; use it as a context manager or call start()")
        return self._server.url

    @property
    def requests(self) -> list[RecordedRequest]:
        return self._s.requests

    @property
    def schema_violations(self) -> list[str]:
        return self._s.schema_violations

    @property
    def output_only_sent(self) -> list[str]:
        """Output-only fields callers sent with non-default values (ignored unless strict)."""
        return self._s.output_only_sent

    @property
    def write_calls(self) -> int:
        return sum(1 for r in self._s.requests if r.is_write)

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self._s.requests if r.is_write]

    def clear_requests(self) -> None:
        with self._lock:
            self._s.requests.clear()

    def fail_next(
        self,
        status: str = "UNAVAILABLE",
        *,
        times: int = 1,
        method: str | None = None,
        path_contains: str | None = None,
        message: str = "injected fault",
        http: int | None = None,
    ) -> None:
        """Answer the next `times` matching requests with a Google error instead of serving them."""
        with self._lock:
            self._s.faults.append(Fault(status, message, times, method, path_contains, http))

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = LocalServer(handler, name=type(self).__name__).start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- helpers for subclasses --------------------------------------------------------------

    def now(self) -> str:
        return rfc3339(self.clock())

    def check(self, req: RecordedRequest, schema: str, value: Any, *, api: str | None = None) -> None:
        """Validate `value` against a discovery schema; record and raise 400 on any violation."""
        doc = Discovery.load(api) if api else self.discovery
        assert doc is not None
        report = doc.check(schema, value)
        self._record_output_only(req, report.output_only)
        if report.errors:
            self._violation(req, report.errors)

    def violation(self, req: RecordedRequest, errors: list[str], *, reject: bool = True) -> None:
        """Record a violation a schema cannot express (e.g. a semantic rule of the real API)."""
        if reject:
            self._violation(req, errors)
        else:
            with self._lock:
                self._s.schema_violations.extend(f"{req.method} {req.path}: {e}" for e in errors)

    def _violation(self, req: RecordedRequest, errors: list[str]) -> None:
        with self._lock:
            self._s.schema_violations.extend(f"{req.method} {req.path}: {e}" for e in errors)
        raise GoogleError("INVALID_ARGUMENT", "Invalid request: " + "; ".join(errors))

    def _record_output_only(self, req: RecordedRequest, fields: list[str]) -> None:
        if not fields:
            return
        with self._lock:
            self._s.output_only_sent.extend(f"{req.method} {req.path}: {f}" for f in fields)
        if self.reject_output_only:
            self._violation(req, [f"{f}: output-only field set in a request" for f in fields])

    # ---- dispatch ----------------------------------------------------------------------------

    def dispatch(self, req: RecordedRequest) -> tuple[int, Any]:
        with self._lock:
            self._s.requests.append(req)
            try:
                status, body = self._dispatch(req)
            except GoogleError as err:
                status, body = err.http, err.body()
            req.status = status
            return status, body

    def _dispatch(self, req: RecordedRequest) -> tuple[int, Any]:
        matched_path = False
        for r in self._routes:
            m = r.pattern.match(req.path)
            if m is None:
                continue
            matched_path = True
            if r.method != req.method:
                continue
            req.read = r.read
            self._inject_fault(req)
            if r.method_id and self.discovery is not None:
                errors = self.discovery.check_query(r.method_id, req.query)
                if errors:
                    self._violation(req, errors)
            if r.body_schema is not None:
                if not isinstance(req.body, dict):
                    self._violation(req, ["request body must be a JSON object"])
                self.check(req, r.body_schema, req.body)
            return 200, r.handler(req, **m.groupdict())
        if matched_path:
            raise GoogleError("NOT_IMPLEMENTED", f"Method {req.method} not allowed on {req.path}", http=405)
        raise GoogleError("NOT_FOUND", f"The requested URL {req.path} was not found on this server.")

    def _inject_fault(self, req: RecordedRequest) -> None:
        for fault in self._s.faults:
            if fault.times > 0 and fault.matches(req):
                fault.times -= 1
                raise GoogleError(fault.status, fault.message, http=fault.http)


class _Handler(QuietHandler):
    owner: FakeServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without TCP_NODELAY the client's delayed ACK adds
    # ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = None
        parse_error = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as exc:
                body = raw.decode("utf-8", "replace")
                parse_error = f"Invalid JSON payload received. {exc}"
        req = RecordedRequest(
            method=self.command,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            body=body,
            headers=dict(self.headers.items()),
        )
        if parse_error:
            with self.owner._lock:
                self.owner.requests.append(req)
                self.owner.schema_violations.append(f"{req.method} {req.path}: {parse_error}")
            err = GoogleError("INVALID_ARGUMENT", parse_error)
            req.status = err.http
            self._send(err.http, err.body())
            return
        status, payload = self.owner.dispatch(req)
        self._send(status, payload)

    def _send(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, indent=2).encode() if payload is not None else b""
        self.send_response(status, _reason(status))
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Client Closed Request" if status == 499 else ""


def paginate(
    items: list[T], req: RecordedRequest, *, default_size: int = 100, max_size: int = 1000
) -> tuple[list[T], str]:
    """Offset-based page tokens, opaque to the client as on the real APIs."""
    size_text = req.param("pageSize", "0") or "0"
    size = int(size_text) if size_text.lstrip("-").isdigit() else -1
    if size < 0:
        raise GoogleError("INVALID_ARGUMENT", f"Invalid page_size: {size_text}")
    size = min(size or default_size, max_size)
    token = req.param("pageToken")
    start = 0
    if token:
        if not token.startswith("o") or not token[1:].isdigit():
            raise GoogleError("INVALID_ARGUMENT", "Invalid page_token")
        start = int(token[1:])
    page = items[start : start + size]
    nxt = f"o{start + size}" if start + size < len(items) else ""
    return page, nxt
