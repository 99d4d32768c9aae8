"""A forwarding HTTP proxy on 127.0.0.1, behaving as a corporate proxy does for the clients under test.

- Absolute-form requests (`POST http://host:port/path HTTP/1.1`) are forwarded to the origin in origin
  form, minus the hop-by-hop headers, and the answer is relayed.
- `CONNECT host:port` opens a TCP tunnel (what an https URL uses): the proxy answers 200 and then only
  copies bytes, so TLS stays end to end between the client and the origin.
- With `credentials`, a request without the matching `Proxy-Authorization: Basic ...` gets 407.
- With `quote_credentials`, a hostile proxy: every forwarded request is answered 400 with an error message
  (the admin API contract's shape) quoting the `Proxy-Authorization` header it received.

It records every request line it receives (`seen`); nothing is faked on the client's side.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import selectors
import socket
import threading
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit

from tests.fakes.server import LocalServer, QuietHandler

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
                        "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"})


@dataclass(frozen=True)
class Seen:
    method: str
    target: str  # the absolute URL, or host:port for CONNECT
    proxy_authorization: str | None


@dataclass
class ForwardingProxy:
    credentials: tuple[str, str] | None = None
    quote_credentials: bool = False
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: LocalServer | None = None
    _tunnels: set[socket.socket] = field(default_factory=set)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the proxy first"
        return self._server.url

    def url_with(self, user: str, password: str) -> str:
        return self.url.replace("http://", f"http://{user}:{password}@")

    def requests(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    def start(self) -> Self:
        handler = type("Handler", (_ProxyHandler,), {"owner": self})
        self._server = LocalServer(handler, name="forwarding-proxy").start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.stop()  # ends the client ends of open tunnels too
        with self._lock:
            tunnels = list(self._tunnels)
        for sock in tunnels:  # the upstream ends of open tunnels: their pumps end when these close
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


class _ProxyHandler(QuietHandler):
    owner: ForwardingProxy
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _admitted(self) -> bool:
        given = self.headers.get("Proxy-Authorization")
        with self.owner._lock:
            self.owner.seen.append(Seen(self.command, self.path, given))
        if self.owner.credentials is None:
            return True
        expected = "Basic " + base64.b64encode(":".join(self.owner.credentials).encode()).decode()
        if given == expected:
            return True
        self._answer(407, b"", [("Proxy-Authenticate", 'Basic realm="test proxy"')])
        return False

    def _answer(self, status: int, body: bytes, headers: list[tuple[str, str]] | None = None) -> None:
        self.send_response(status)
        for name, value in headers or []:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_CONNECT(self) -> None:
        self.close_connection = True  # after a tunnel, this connection belongs to the tunnel
        if not self._admitted():
            return
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=5)
        except (OSError, ValueError):
            self._answer(502, b"cannot reach the origin")
            return
        with self.owner._lock:
            self.owner._tunnels.add(upstream)
        try:
            self.send_response(200, "Connection established")
            self.end_headers()
            self.wfile.flush()
            _pump(self.connection, upstream)
        finally:
            with self.owner._lock:
                self.owner._tunnels.discard(upstream)
            upstream.close()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if not self._admitted():
            return
        if self.owner.quote_credentials:
            quoted = f"proxy refused: got Proxy-Authorization: {self.headers.get('Proxy-Authorization')}"
            self._answer(400, json.dumps({"error": {"code": "proxy_refused", "message": quoted}}).encode(),
                         [("Content-Type", "application/json")])
            return
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self._answer(400, b"a forwarding proxy wants an absolute http:// URL")
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        origin = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=10)
        try:
            origin.request(self.command, (target.path or "/") + (f"?{target.query}" if target.query else ""),
                           body=body, headers=headers)
            answer = origin.getresponse()
            data = answer.read()
        except OSError:
            self._answer(502, b"cannot reach the origin")
            return
        finally:
            origin.close()
        relayed = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP | {"content-length"}]
        self._answer(answer.status, data, relayed)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _forward


def _pump(a: socket.socket, b: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    with selectors.DefaultSelector() as sel:
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        while True:
            for key, _ in sel.select(timeout=10):
                source: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    data = source.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                except OSError:
                    return
