"""Stand-ins for a chat webhook and a Healthchecks.io-style cron monitor: record every request, answer as told."""

from __future__ import annotations

import threading
from typing import Any

from tests.fakes.server import LocalServer, QuietHandler, Request

HANG_S = 3.0  # how long the hanging sink sleeps (bounded; it wakes when the test stops it)


class _SinkHandler(QuietHandler):
    protocol_version = "HTTP/1.1"
    server: SinkServer

    def do_POST(self) -> None:
        request = Request.read(self)
        with self.server.lock:
            self.server.seen.append(request)
            scripted = self.server.answers.pop(0) if self.server.answers else None
        if scripted is None and self.server.mode == "hang":
            self.server.stopping.wait(HANG_S)
            self.close_connection = True
            return
        status = 500 if self.server.mode == "error" else self.server.status
        payload = b"OK" if status < 300 else b"broken"
        headers: dict[str, str] = {}
        if scripted is not None:
            status, headers, payload = scripted
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(payload))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class SinkServer(LocalServer):
    """Records every request; answers 200, or 500 (mode "error"), or nothing for a while (mode "hang").
    `answers` (status, headers, body) are given first, one a request, whatever the mode."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.status = 200
        self.answers: list[tuple[int, dict[str, str], bytes]] = []
        self.seen: list[Request] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        super().__init__(_SinkHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a hung request's client is long gone when it answers

    def stop(self) -> None:
        self.stopping.set()  # a hanging request wakes now
        super().stop()

    @property
    def requests(self) -> list[Request]:
        with self.lock:
            return list(self.seen)
