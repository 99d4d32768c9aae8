"""A local stand-in for the Supabase Management API's SQL endpoint, backed by a real PostgreSQL.

    POST /v1/projects/{ref}/database/query   {"query": "<sql>"}   Authorization: Bearer <token>

What it keeps from the real service (recorded responses in supabase/cli apps/cli-e2e/fixtures, and
error bodies users have posted):

- 201 with a JSON array of row objects, `[]` for DDL/DML; the rows of the query's last statement.
- The whole string runs as one simple-protocol query on a fresh session: an implicit transaction
  unless the text has BEGIN/COMMIT. A failed request leaves nothing behind (the session is closed,
  which rolls back an open transaction).
- A database error is 400 `{"message": "Failed to run sql query: ERROR:  23505: duplicate key value
  violates unique constraint \\"...\\"\\nDETAIL:  Key (...)=(...) already exists.\\n"}`, psql's verbose
  layout: `ERROR:  <sqlstate>: <message>`, then LINE/DETAIL/HINT/CONTEXT lines when present.
- 401 `{"message": "Unauthorized"}` without the right bearer token; 404 for another project ref.
- `x-ratelimit-limit: 120`, `x-ratelimit-remaining`, `x-ratelimit-reset` (seconds until the window
  resets) on every answer; `rate_limit_next(n)` makes the next n requests 429 with those headers and
  Retry-After. The 429 body text is a guess (the service is NestJS; its throttler's default message).

Fault hooks: `rate_limit_next`, and `before_query`, a callable run in the request's thread before the
SQL executes (block on a threading.Barrier or Event there to stage a race; no sleeping needed), and
`fault(...)`, the sandbox's fault rules (docs/api.md) for the queries containing a given text: scripted
statuses (with Retry-After), latency, a connection dropped before or after the SQL commits, a malformed
or truncated 201 after it commits, and scripted answers (`answers=[(200, {})]`: a well-formed answer
that is not the contract's, sent instead of running the SQL). `clear_faults()` forgets them.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import psycopg

from tests.fakes.server import LocalServer, QuietHandler

_PATH = re.compile(r"^/v1/projects/([^/]+)/database/query/?$")
RATE_LIMIT = 120
TEST_TOKEN = "sbp_test_token_0000"


def _error_text(exc: psycopg.Error, query: str) -> str:
    """The error the way the API words it: psql's verbose format after a fixed prefix."""
    diag = exc.diag
    if diag.sqlstate is None or diag.message_primary is None:
        return f"Failed to run sql query: {exc}"
    lines = [f"ERROR:  {diag.sqlstate}: {diag.message_primary}"]
    if diag.statement_position:
        position = int(diag.statement_position)  # 1-based, in characters, over the whole query
        before = query[: position - 1]
        line_no = before.count("\n") + 1
        line_start = before.rfind("\n") + 1
        line_end = query.find("\n", line_start)
        line = query[line_start: None if line_end < 0 else line_end]
        prefix = f"LINE {line_no}: "
        lines.append(prefix + line)
        lines.append(" " * (len(prefix) + len(before) - line_start) + "^")
    for label, value in (("DETAIL", diag.message_detail), ("HINT", diag.message_hint),
                         ("CONTEXT", diag.context)):
        if value:
            lines.append(f"{label}:  {value}")
    return "Failed to run sql query: " + "\n".join(lines) + "\n"


def _run(db_uri: str, query: str) -> list[dict[str, Any]]:
    # autocommit: the text's own BEGIN/COMMIT govern, as on the real endpoint. No params, so psycopg
    # sends the string as one simple-protocol query, which allows many statements.
    with psycopg.connect(db_uri, autocommit=True) as conn:
        cur = conn.execute(cast(Any, query))
        rows: list[dict[str, Any]] = []
        while True:
            if cur.description is not None:
                names = [col.name for col in cur.description]
                rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
            else:
                rows = []
            if not cur.nextset():
                return rows


@dataclass
class _Fault:
    match: str | None
    statuses: deque[int] = field(default_factory=deque)
    retry_after: int | None = None
    latency_s: float = 0.0
    actions: deque[str] = field(default_factory=deque)  # drop_before_commit, drop_after_commit, ...
    answers: deque[tuple[int, Any]] = field(default_factory=deque)  # (status, JSON body), SQL not run


class _Server(LocalServer):
    fake: FakeSupabaseApi


class FakeSupabaseApi:
    """`with FakeSupabaseApi(db_uri) as api:` serves on api.url until the block ends."""

    def __init__(self, db_uri: str, *, ref: str = "testprojectref000000",
                 token: str = TEST_TOKEN) -> None:
        self.db_uri = db_uri
        self.ref = ref
        self.token = token
        self.before_query: Callable[[str], None] | None = None
        self.request_count = 0  # every request, whatever its answer
        self.queries: list[str] = []  # SQL that reached the database, in arrival order
        self._lock = threading.Lock()
        self._limited = 0
        self._retry_after = 1
        self._faults: list[_Fault] = []
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return self._server.url

    @property
    def query_url(self) -> str:
        return f"{self.url}/v1/projects/{self.ref}/database/query"

    def rate_limit_next(self, n: int, retry_after: int = 1) -> None:
        with self._lock:
            self._limited = n
            self._retry_after = retry_after

    def fault(self, *, match: str | None = None, statuses: Sequence[int] = (), retry_after: int | None = None,
              latency_ms: float = 0.0, drop_before_commit: int = 0, drop_after_commit: int = 0,
              malformed: int = 0, truncated: int = 0, answers: Sequence[tuple[int, Any]] = ()) -> None:
        """Script failures for requests whose SQL contains `match` (every request when None).

        Statuses are answered first, in order, before the SQL runs; latency applies to every matching
        request; then each action is taken once: close the connection without running the SQL
        (`drop_before_commit`), run it and close without an answer (`drop_after_commit`), run it and
        answer 201 with a body that is not JSON (`malformed`) or with half the JSON (`truncated`). Then
        `answers`, in order: that status and JSON body, the SQL not run (a proxy or an API version that
        answers something else than the rows).
        """
        actions = (["drop_before_commit"] * drop_before_commit + ["drop_after_commit"] * drop_after_commit
                   + ["malformed"] * malformed + ["truncated"] * truncated)
        with self._lock:
            self._faults.append(_Fault(match, deque(statuses), retry_after, latency_ms / 1000, deque(actions),
                                       deque(answers)))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _take_fault(self, query: str) -> tuple[float, int | None, int | None, str | None, tuple[int, Any] | None]:
        """(latency, status, retry_after, action, answer) for this request."""
        latency, status, retry_after, action, answer = 0.0, None, None, None, None
        with self._lock:
            for rule in self._faults:
                if rule.match is not None and rule.match not in query:
                    continue
                latency = max(latency, rule.latency_s)
                if status is None and action is None and answer is None:
                    if rule.statuses:
                        status, retry_after = rule.statuses.popleft(), rule.retry_after
                    elif rule.actions:
                        action = rule.actions.popleft()
                    elif rule.answers:
                        answer = rule.answers.popleft()
        return latency, status, retry_after, action, answer

    def start(self) -> FakeSupabaseApi:
        server = _Server(_Handler, name="fake-supabase")
        server.fake = self
        self._server = server.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> FakeSupabaseApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # Called from request threads.
    def _take_rate_limit(self) -> int | None:
        with self._lock:
            self.request_count += 1
            if self._limited > 0:
                self._limited -= 1
                return self._retry_after
            return None

    def _record(self, query: str) -> None:
        with self._lock:
            self.queries.append(query)


class _Handler(QuietHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx expects from a real API
    server: _Server

    @property
    def fake(self) -> FakeSupabaseApi:
        return self.server.fake

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(body, default=str).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.send_header("X-RateLimit-Limit", str(RATE_LIMIT))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._drain()
        self._send(404, {"message": "Not Found"})

    def do_POST(self) -> None:
        raw = self._drain()
        fake = self.fake
        retry_after = fake._take_rate_limit()
        if retry_after is not None:
            self._send(429, {"message": "ThrottlerException: Too Many Requests"}, {
                "Retry-After": str(retry_after),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(retry_after),
            })
            return
        limits = {"X-RateLimit-Remaining": str(RATE_LIMIT - 1), "X-RateLimit-Reset": "60"}
        if self.headers.get("Authorization") != f"Bearer {fake.token}":
            self._send(401, {"message": "Unauthorized"}, limits)
            return
        match = _PATH.match(self.path.split("?", 1)[0])
        if match is None:
            self._send(404, {"message": "Not Found"}, limits)
            return
        if match.group(1) != fake.ref:
            self._send(404, {"message": "Project not found"}, limits)
            return
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            self._send(400, {"message": "Invalid JSON body"}, limits)
            return
        query = body.get("query") if isinstance(body, dict) else None
        if not isinstance(query, str) or not query.strip():
            self._send(400, {"message": "query must be a non-empty string"}, limits)
            return
        latency, status, retry_after, action, answer = fake._take_fault(query)
        if latency:
            time.sleep(latency)
        if status is not None:
            message = "Unauthorized" if status == 401 else "injected fault"
            extra = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            self._send(status, {"message": message}, {**limits, **extra})
            return
        if answer is not None:
            self._send(answer[0], answer[1], limits)
            return
        if action == "drop_before_commit":
            self._drop()
            return
        if fake.before_query is not None:
            try:
                fake.before_query(query)
            except Exception as exc:  # a broken staging hook must not hang the client
                self._send(500, {"message": f"before_query hook failed: {exc!r}"}, limits)
                return
        fake._record(query)
        try:
            rows = _run(fake.db_uri, query)
        except psycopg.Error as exc:
            self._send(400, {"message": _error_text(exc, query)}, limits)
            return
        if action == "drop_after_commit":
            self._drop()
        elif action == "malformed":
            self._send(201, None, limits, raw=b"<html>upstream error</html>")
        elif action == "truncated":
            data = json.dumps(rows, default=str).encode()
            self._send(201, None, limits, raw=data[: max(1, len(data) // 2)])
        else:
            self._send(201, rows, limits)

    def _drop(self) -> None:
        # Close without a byte of answer, as a crashed proxy would.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _drain(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""
