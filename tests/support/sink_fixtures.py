"""Pytest plugin: local notification sinks (tests/fakes/sinks.py), and the URLs a run is given for them.

Registered from the main conftest. Fixtures:

    sinks   function: `sinks["ok"]`, `sinks["error"]`, `sinks["hang"]` start a SinkServer in that mode on first
            use; all are stopped after the test

The URLs embed the sentinel tokens (tests/support/sentinels.py), so the leak check sees any that escape.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.sinks import SinkServer
from tests.support.sentinels import NOTIFY_TOKENS

HOOK_TOKEN = NOTIFY_TOKENS["HOUSEJOBS_NOTIFY_URL"]
CHECK_TOKEN = NOTIFY_TOKENS["HOUSEJOBS_HEALTHCHECK_URL"]


@pytest.fixture
def sinks() -> Iterator[dict[str, SinkServer]]:
    started: dict[str, SinkServer] = {}

    class Factory(dict[str, SinkServer]):
        def __missing__(self, mode: str) -> SinkServer:
            server = started[mode] = SinkServer(mode).start()
            return server

    yield Factory()
    for server in started.values():
        server.stop()


def hook_url(server: SinkServer) -> str:
    return f"{server.url}/services/T000/B000/{HOOK_TOKEN}"


def check_url(server: SinkServer, suffix: str = "") -> str:
    return f"{server.url}/ping/{CHECK_TOKEN}{suffix}"
