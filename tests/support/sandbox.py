"""The sandbox (housejobs' own contract server) as a real server for a test, and its control routes."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from housejobs.sandbox.app import SandboxServer, make_server
from tests.support.sentinels import ROOT_KEY, SENTINELS


@dataclass
class SandboxHandle:
    server: SandboxServer
    url: str

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def counters(self, effect: str | None = None) -> dict[str, int]:
        suffix = f"?effect={effect}" if effect else ""
        return dict(self._call("GET", "/_sandbox/counters" + suffix)["effects"])

    def routes(self) -> dict[str, int]:
        return dict(self._call("GET", "/_sandbox/counters")["routes"])

    def fault(self, **spec: Any) -> None:
        self._call("POST", "/_sandbox/faults", spec)

    @property
    def requests(self) -> int:
        return int(self._call("GET", "/_sandbox/counters")["requests"])


def start_sandbox(path: Path, orgs: int = 25, **kwargs: Any) -> SandboxHandle:
    server = make_server(path, api_key=ROOT_KEY, orgs=orgs,
                         scheduler_secret=SENTINELS["SCHEDULER_SHARED_SECRET"], **kwargs).start()
    return SandboxHandle(server, server.url)
