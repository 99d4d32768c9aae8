"""A local HTTP server whose every answer a test scripts: `answer(request) -> (status, body)`.

For the cases no contract server would stage on request: an error that quotes the credential it was
sent, a listing that repeats an org across pages or lists an inactive one. (A sink that only records is
tests/fakes/sinks.py.) Every request is recorded (tests/fakes/server.py Request) so a test can count calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from tests.fakes.server import LocalServer, QuietHandler, Request

Answer = tuple[int, Any]  # status, and a body: bytes as they are, anything else as JSON
Script = Callable[[Request], Answer]


class _Handler(QuietHandler):
    protocol_version = "HTTP/1.1"
    server: ScriptedServer

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        request = Request.read(self)
        with self.server.lock:
            self.server.seen.append(request)
        status, payload = self.server.script(request)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ScriptedServer(LocalServer):
    """`with ScriptedServer(script) as server:` serves on server.url until the block ends."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[Request] = []
        self.lock = threading.Lock()
        super().__init__(_Handler)

    def requests(self, method: str | None = None, path_prefix: str = "") -> list[Request]:
        with self.lock:
            return [r for r in self.seen if (method is None or r.method == method) and r.path.startswith(path_prefix)]
