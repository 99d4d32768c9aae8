"""The one way a test runs a local HTTP server: every fake and stand-in in tests/ is a `LocalServer`.

`LocalServer(Handler)` binds 127.0.0.1 on a free port and, once started (`with server:` or `.start()`),
serves from a daemon thread on `server.url` (https:// once tests/fakes/tls.py has put TLS in front). `stop()`
ends the serve loop and also every open connection, keep-alive or mid-request, so no handler thread outlives
its test. It is quiet: a client that went away (what fault tests stage) is not an error, and handlers that
subclass `QuietHandler` write no access log. What a server answers is its handler's business alone.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    """One request as a recording server kept it (the notification sinks, the scripted server): the body as
    sent. The Google API fakes keep their own record (tests/fakes/_http.py RecordedRequest: the body parsed,
    the status answered)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names as sent; header() looks one up in any case
    body: bytes

    @classmethod
    def read(cls, handler: BaseHTTPRequestHandler) -> Request:
        """The request `handler` is serving, its body read (Content-Length bytes)."""
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        url = urlsplit(handler.path)
        return cls(handler.command, url.path, parse_qs(url.query), dict(handler.headers.items()), body)

    def header(self, name: str, default: str = "") -> str:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), default)

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler without the access log: the default writes every request line to stderr, and those
    carry tokens (webhook and check-in URLs, query strings) that the leak check would see; each server records
    what its tests need instead."""

    def log_message(self, format: str, *args: Any) -> None:
        return


class LocalServer(ThreadingHTTPServer):
    """`with LocalServer(Handler) as server:` serves on `server.url` until the block ends (or start() / stop())."""

    daemon_threads = True
    # stop() waits for the serve loop to notice; a short poll keeps it fast.
    poll_interval = 0.01

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, name: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.name = name or type(self).__name__
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        scheme = "https" if isinstance(self.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{host!s}:{port}"

    def start(self) -> Self:
        if self._thread is None:
            self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": self.poll_interval},
                                            name=self.name, daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self.shutdown()  # returns once serve_forever has: never call it on a loop that never ran
        self.close_connections()
        self.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # ---- connections: tracked so stop() can end them ------------------------------------------------

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conns_lock:
            self._conns.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        # Keep-alive handler threads block reading the next request; closing their sockets lets them finish
        # now instead of lingering after the test.
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away (killed, timed out, gave up on a long answer) is what fault tests stage;
        # anything else is a bug in the server and is printed.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
