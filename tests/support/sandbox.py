"""The sandbox (housejobs' own contract server) as a real server for a test, and its control routes."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from housejobs.sandbox.app import SandboxServer, make_server
from tests.fakes.tls import serve_tls
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

    def request_log(self) -> list[dict[str, str]]:
        """The /admin/* requests the sandbox received (method, path, query string), oldest first."""
        return list(self._call("GET", "/_sandbox/requests")["requests"])

    def fault(self, **spec: Any) -> None:
        self._call("POST", "/_sandbox/faults", spec)

    @property
    def requests(self) -> int:
        return int(self._call("GET", "/_sandbox/counters")["requests"])


def start_sandbox(path: Path, orgs: int = 25, *, scheduler_secret: str | None = SENTINELS["SCHEDULER_SHARED_SECRET"],
                  tls: tuple[Path, Path] | None = None, **kwargs: Any) -> SandboxHandle:
    """A running sandbox on the database at `path` with `orgs` seeded orgs, the root key ROOT_KEY and the
    sentinel scheduler secret (None: a runtime with none configured). `tls` (cert, key PEM paths) serves it
    over TLS (tests/fakes/tls.py); other keywords go to make_server (household_id, seed)."""
    server = make_server(path, api_key=ROOT_KEY, orgs=orgs, scheduler_secret=scheduler_secret, **kwargs)
    url = serve_tls(server, *tls) if tls is not None else server.url  # SandboxServer.url says http:// always
    server.start()
    return SandboxHandle(server, url)


class Sandboxes:
    """The `sandbox_factory` fixture: `sandbox_factory(name, **start_sandbox's keywords)` starts a sandbox on
    `<tmp_path>/<name>.db` (two started with one name share the database); every one is stopped after the
    test, the last started first."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[SandboxHandle] = []

    def __call__(self, name: str = "sandbox", orgs: int = 25, **kwargs: Any) -> SandboxHandle:
        handle = start_sandbox(self.folder / f"{name}.db", orgs, **kwargs)
        self.started.append(handle)
        return handle

    def stop(self) -> None:
        while self.started:
            self.started.pop().server.stop()
