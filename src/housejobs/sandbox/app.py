"""The sandbox: the admin API contract (docs/api.md) served on 127.0.0.1 from a SQLite store.

A stdlib threading HTTP server: it starts in milliseconds in-process, needs nothing installed, and can
do what fault injection needs (drop a connection after committing, answer half a body).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from housejobs.api.capabilities import KNOWN as EXTENSIONS
from housejobs.api.capabilities import PATH as CAPABILITIES
from housejobs.errors import ConfigError
from housejobs.orgs import is_org_slug
from housejobs.sandbox import extensions
from housejobs.sandbox.bot import register_bot_routes
from housejobs.sandbox.extensions import IN_FLIGHT_RETRY_AFTER_S
from housejobs.sandbox.faults import Faults
from housejobs.sandbox.service import NOTIFICATIONS, Answer, ApiProblem, Sandbox, error
from housejobs.sandbox.store import Store, body_hash

MAX_BODY = 1 << 20

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, the client's delayed ACK adds ~40 ms.
    disable_nagle_algorithm = True
    server: SandboxServer
    hold_s = 0.0  # the fault rules' hold_ms for the request being handled
    error_content_type = "application/json"

    def log_message(self, format: str, *args: Any) -> None:
        return  # the sandbox logs structured records itself

    # -- plumbing ----------------------------------------------------------------------------------
    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None:
        payload = raw if raw is not None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    def _drop(self) -> None:
        # Close without a byte of answer: the client sees the connection end, as after a crash.
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(2)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True  # the unread body would be parsed as the next request
            raise ApiProblem(413, "body_too_large", "request body too large")
        return self.rfile.read(length) if length else b""

    def _json_body(self, raw: bytes) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiProblem(400, "invalid_json", "body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiProblem(400, "invalid_json", "body must be a JSON object")
        return body

    def _authorised(self) -> bool:
        given = self.headers.get("X-CA-Root-Key") or ""
        return hmac.compare_digest(given.encode(), self.server.app.api_key.encode())

    # -- verbs -------------------------------------------------------------------------------------
    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        try:
            self._route(method)
        except ApiProblem as exc:
            self._send(*error(exc.status, exc.code, exc.message))
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must still answer like an API would
            self.server.app.log({"event": "internal_error", "error": exc.__class__.__name__})
            self._send(*error(500, "internal_error", exc.__class__.__name__))

    def _route(self, method: str) -> None:
        app = self.server.app
        url = urlsplit(self.path)
        path, query = url.path, parse_qs(url.query)
        raw = self._read_body() if method != "GET" else b""
        if path == "/healthz" and method == "GET":
            return self._send(200, {"status": "ok"})
        if path.startswith("/_sandbox/"):
            return self._control(method, path, query, raw)
        for _name, pattern, handler in app.extra_routes:
            m = pattern.match(path)
            if m:
                reply = handler(self, method, m, raw)
                # None: the handler answered (or dropped the connection) itself, as a fault asked.
                return None if reply is None else self._send(*reply)
        if not path.startswith("/admin/"):
            return self._send(*error(404, "not_found", "no such route"))
        app.record(method, path, url.query)
        # Authenticated before routed: a wrong key gets 401 even where a route is unknown (an older
        # server's missing /admin/capabilities), so a client's first call proves the key either way.
        if not self._authorised():
            app.count("unauthorised")
            return self._send(*error(401, "unauthorized", "missing or wrong X-CA-Root-Key"))
        if path == CAPABILITIES and app.extensions:
            if method != "GET":
                return self._send(*error(405, "method_not_allowed", "use GET"))
            app.count(CAPABILITIES)
            if self._faults_before(CAPABILITIES) == "done":
                return None
            return extensions.capabilities(self, app)
        if path == "/admin/orgs":
            if method != "GET":
                return self._send(*error(405, "method_not_allowed", "use GET"))
            return extensions.list_orgs(self, app, query)
        if path == NOTIFICATIONS and method == "GET":
            return self._notifications(query)
        for name, pattern, effect in app.keyed_routes():
            m = pattern.match(path)
            if m:
                if method != "POST":
                    return self._send(*error(405, "method_not_allowed", "use POST"))
                return self._keyed(name, effect, m.groupdict(), raw, extensions.is_dry_run(app, query))
        return self._send(*error(404, "not_found", "no such route"))

    def _faults_before(self, route: str) -> str | None:
        """Apply latency and scripted failures; return an action for after the effect, or 'done'."""
        decision = self.server.app.faults.before(route)
        self.hold_s = decision.hold_s
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.status is not None:
            headers = {"Retry-After": decision.retry_after} if decision.retry_after else None
            if decision.status == 401:
                self._send(*error(401, decision.code or "unauthorized", decision.message or "key revoked"),
                           headers=headers)
            else:
                self._send(*error(decision.status, decision.code or "injected", decision.message or "injected fault"),
                           headers=headers)
            return "done"
        return decision.action

    def _notifications(self, query: dict[str, list[str]]) -> None:
        app = self.server.app
        app.count(NOTIFICATIONS)
        try:
            limit = int(query.get("limit", ["100"])[0])
        except ValueError:
            limit = 0
        if not 1 <= limit <= 1000:
            return self._send(*error(400, "invalid_limit", "limit must be 1..1000"))
        return self._send(200, {"notifications": app.store.list_notifications(limit)})

    def _keyed(self, route: str, effect: Callable[..., Answer], params: dict[str, str], raw: bytes,
               dry: bool = False) -> None:
        app = self.server.app
        app.count(f"{route} (dry run)" if dry else route)
        key = self.headers.get("Idempotency-Key")
        if not key:
            return self._send(*error(400, "missing_idempotency_key", "Idempotency-Key header is required"))
        body = self._json_body(raw)
        if "org" in params:
            # The slug is the path segment decoded, as any server reads it: `acme%0A` is "acme\n", refused.
            org = params["org"] = unquote(params["org"])
            if not is_org_slug(org):
                return self._send(*error(400, "invalid_org", "org slug does not match the id pattern"))
            failure = app.faults.org_failure(org)
        else:
            failure = None
        action = self._faults_before(route)
        if action == "done":
            return None
        if action == "drop_before_commit":
            return self._drop()
        if route == NOTIFICATIONS:
            params = {**params, "key": key}  # the one effect that records the key it came with

        def apply(db: Any) -> Answer:
            try:
                return effect(db, body, **params)
            except ApiProblem as exc:
                return error(exc.status, exc.code, exc.message)

        if dry:
            return extensions.dry_run(self, app, key, body, apply, failure, action)
        origin = self.headers.get("Idempotency-Origin")
        origin = origin if origin and len(origin) <= 200 and origin.isprintable() else None
        claim = app.store.claim(key, route, body_hash(body), origin)
        if claim.kind == "mismatch":
            return self._send(*error(422, "idempotency_mismatch",
                                     "this Idempotency-Key was used with a different body"))
        if claim.kind == "in_flight":
            return self._send(*error(409, "idempotency_in_flight",
                                     "a request with this Idempotency-Key is still running"),
                              {"Retry-After": str(IN_FLIGHT_RETRY_AFTER_S)})
        if claim.kind == "replay":
            replay_headers = {"Idempotent-Replayed": "true"}
            if claim.origin:
                replay_headers["Idempotency-Origin"] = claim.origin
            return self._send(claim.status, claim.response, replay_headers)
        if failure is not None:
            app.store.release(key)
            return self._send(*error(failure, "org_sync_failed", "injected failure for this org"))
        if self.hold_s:
            time.sleep(self.hold_s)  # the key stays in flight meanwhile: a concurrent twin gets 409
        try:
            status, response = app.store.finish(key, apply, claim.token)
        except Exception:
            app.store.release(key)
            raise
        return self._after_commit(action, status, response)

    def _after_commit(self, action: str | None, status: int, response: Any,
                      headers: dict[str, str] | None = None) -> None:
        """Answer an applied (or dry-run) request, or fail to, as the fault rule's action says."""
        if action == "drop_after_commit":
            return self._drop()
        if action == "malformed":
            return self._send(200, None, raw=b"<html>upstream error</html>")
        if action == "truncated":
            encoded = json.dumps(response).encode()
            return self._send(200, None, raw=encoded[: max(1, len(encoded) // 2)])
        return self._send(status, response, headers)

    def _control(self, method: str, path: str, query: dict[str, list[str]], raw: bytes) -> None:
        app = self.server.app
        if path == "/_sandbox/bot-log" and method == "GET":
            with app._lock:
                records = list(app.bot_log)
            return self._send(200, {"records": records})
        if path == "/_sandbox/requests" and method == "GET":
            with app._lock:
                return self._send(200, {"requests": list(app.request_log)})
        if path == "/_sandbox/counters" and method == "GET":
            effect = query.get("effect", [None])[0]
            return self._send(200, {"effects": app.store.counters(effect), "requests": app.requests,
                                    "routes": dict(app.route_hits)})
        if path == "/_sandbox/faults" and method == "POST":
            try:
                app.faults.configure(self._json_body(raw))
            except (ValueError, TypeError, KeyError, OverflowError) as exc:
                return self._send(*error(400, "invalid_fault", f"not a fault rule ({exc.__class__.__name__})"))
            return self._send(200, {"ok": True})
        if path == "/_sandbox/faults" and method == "DELETE":
            app.faults.clear()
            return self._send(200, {"ok": True})
        if path == "/_sandbox/orgs" and method == "POST":
            body = self._json_body(raw)
            app.store.add_org(str(body["org_slug"]), str(body.get("status", "active")))
            return self._send(200, {"ok": True})
        if path == "/_sandbox/schema" and method == "POST":
            app.schema_columns += int(self._json_body(raw).get("add_columns", 0))
            return self._send(200, {"schema_columns": app.schema_columns})
        return self._send(*error(404, "not_found", "no such sandbox control route"))


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, app: Sandbox, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        super().__init__((host, port), Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is normal here (fault tests do it on purpose); the
        # stdlib default prints a traceback to stderr.
        self.app.log({"event": "connection_error", "client": str(client_address)})

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SandboxServer:
        # A short poll interval: shutdown() waits up to one interval, and the embedded sandbox stops
        # at the end of every command.
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02},
                                  name="housejobs-sandbox", daemon=True)
        thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.app.store.close()


def make_server(db_path: Path | str, *, api_key: str, orgs: int = 25, port: int = 0,
                scheduler_secret: str | None = None, household_id: str = "household-demo",
                seed: int | None = None, extensions: Iterable[str] = EXTENSIONS) -> SandboxServer:
    """A sandbox on `db_path`; `extensions` are the contract extensions it offers (none: an older server)."""
    store = Store(db_path)
    store.seed_orgs(orgs)
    app = Sandbox(store, api_key=api_key, scheduler_secret=scheduler_secret, household_id=household_id,
                  faults=Faults(seed), extensions=extensions)
    register_bot_routes(app)  # the household bot runtime's reminder routes, which the sandbox plays too
    return SandboxServer(app, port=port)


def state_db(folder: Path) -> Path:
    """The sandbox database in the state folder `folder`, the folder made if need be; a folder that cannot
    be made is refused by name (ConfigError), like every local state problem."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create state dir {folder}: {exc.strerror}",
                          hint="set HOUSEJOBS_STATE_DIR to a writable folder") from None
    return folder / "sandbox.db"


def open_sandbox(db: Path, *, where: str, **server: Any) -> SandboxServer:
    """`make_server` on the database `db`, refusing what the user can fix by name, never as an internal
    error: a folder SQLite cannot make a database in (/proc/self), a file there that is not a database
    (kept: it is the user's), a port that is taken. `where` says where the path came from."""
    import sqlite3

    try:
        return make_server(db, **server)
    except sqlite3.OperationalError as exc:
        raise ConfigError(f"the sandbox cannot open {db}: {exc} ({where})",
                          hint="set HOUSEJOBS_STATE_DIR to a writable folder") from None
    except sqlite3.Error as exc:
        raise ConfigError(f"the sandbox cannot use {db}: {exc} ({where})",
                          hint="move the file away (a new one is made) or set HOUSEJOBS_STATE_DIR to "
                               "another folder") from None
    except OSError as exc:
        raise ConfigError(f"the sandbox cannot serve on 127.0.0.1:{server.get('port', 0)}: {exc.strerror}",
                          hint="pick another --port") from None
