"""Pytest plugin: local notification sinks (tests/fakes/sinks.py), and the URLs a run is given for them.

Registered from the main conftest. Fixtures:

    sinks   function: `sinks["ok"]`, `sinks["error"]`, `sinks["hang"]` start a SinkServer in that mode on first
            use (the test's one sink of that mode); `sinks.new(mode)` starts another each call (a webhook and a
            monitor side by side), `sinks.new(mode, tls=(cert, key))` one served over TLS. All are stopped after
            the test.

The URLs embed the sentinel tokens (tests/support/sentinels.py), so the leak check sees any that escape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.sinks import SinkServer
from tests.fakes.tls import serve_tls
from tests.support.sentinels import NOTIFY_TOKENS

HOOK_TOKEN = NOTIFY_TOKENS["HOUSEJOBS_NOTIFY_URL"]
CHECK_TOKEN = NOTIFY_TOKENS["HOUSEJOBS_HEALTHCHECK_URL"]


class Sinks(dict[str, SinkServer]):
    """The `sinks` fixture: one shared sink per mode by key, any number more through new()."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[SinkServer] = []

    def __missing__(self, mode: str) -> SinkServer:
        server = self[mode] = self.new(mode)
        return server

    def new(self, mode: str = "ok", *, tls: tuple[Path, Path] | None = None) -> SinkServer:
        """Another sink in `mode`, started; with `tls` (cert, key PEM paths), behind TLS (its url says https)."""
        server = SinkServer(mode)
        self.started.append(server)
        if tls is not None:
            serve_tls(server, *tls)
        return server.start()

    def stop(self) -> None:
        for server in self.started:
            server.stop()


@pytest.fixture
def sinks() -> Iterator[Sinks]:
    started = Sinks()
    try:
        yield started
    finally:
        started.stop()


def hook_url(server: SinkServer) -> str:
    return f"{server.url}/services/T000/B000/{HOOK_TOKEN}"


def check_url(server: SinkServer, suffix: str = "") -> str:
    return f"{server.url}/ping/{CHECK_TOKEN}{suffix}"
