"""Shared fixtures: a real sandbox server, a fake clock, an in-process CLI runner, and a leak check.

Every secret the project knows is set to a sentinel value for every test (notification sink URLs only
where a test sets them), and an autouse check fails any test whose output (captured file descriptors
and every CLI run) contains one.
"""

from __future__ import annotations

import io
import json
import os
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from housejobs.cli.main import run_cli
from housejobs.runtime import Runtime
from housejobs.sandbox.app import SandboxServer, make_server

pytest_plugins = ["tests.conftest_bq", "tests.conftest_pg"]

SENTINELS = {
    "CA_ROOT_API_KEY": "sentinel-root-key-5f1e0c9a7b",
    "SCHEDULER_SHARED_SECRET": "sentinel-scheduler-secret-2d8c4e",
    "SUPABASE_ACCESS_TOKEN": "sbp_sentinel_token_9a7c3e1f",
}
# The notification sink URLs embed tokens too, but are not set for every test: every job run would then
# ping a sink (and wait on it). tests/test_notify.py puts these tokens into the URLs of its local sink
# servers; the leak check below looks for them in every test's output all the same.
NOTIFY_TOKENS = {
    "HOUSEJOBS_NOTIFY_URL": "sentinel-hook-token-4b2a",
    "HOUSEJOBS_HEALTHCHECK_URL": "sentinel-check-uuid-7e6d",
}
# A developer's own sink settings must not reach a test run.
NOTIFY_VARS = ("HOUSEJOBS_NOTIFY_URL", "HOUSEJOBS_NOTIFY_URL_SECRET", "HOUSEJOBS_NOTIFY_FORMAT", "HOUSEJOBS_NOTIFY_ON",
               "HOUSEJOBS_HEALTHCHECK_URL", "HOUSEJOBS_HEALTHCHECK_URL_SECRET", "HOUSEJOBS_NOTIFY_TIMEOUT",
               "HOUSEJOBS_MAX_RETRIES", "HOUSEJOBS_SANDBOX_FAULTS")
# Nor a developer's proxy and CA settings: tests that want them set them in the run's environment.
NETWORK_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
                "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR")
# The distinctive parts of each sentinel: a leak of any of them counts, even inside a longer text.
SENTINEL_MARKERS = ("sentinel-root-key", "sentinel-scheduler-secret", "sbp_sentinel_token",
                    "sentinel-hook-token", "sentinel-check-uuid")
ROOT_KEY = SENTINELS["CA_ROOT_API_KEY"]
NOW = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)

_outputs: list[str] = []


def assert_no_secret(text: str, where: str = "output") -> None:
    for marker in SENTINEL_MARKERS:
        assert marker not in text, f"secret sentinel {marker!r} leaked into {where}"


@pytest.fixture(autouse=True)
def _sentinel_secrets(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
                      tmp_path: Path) -> Iterator[None]:
    for key, value in SENTINELS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOUSEJOBS_STATE_DIR", str(tmp_path / "state"))
    for var in ("HOUSEJOBS_ENV", "CLOUD_RUN_JOB", "CLOUD_RUN_EXECUTION", "CLOUD_RUN_TASK_INDEX",
                "CLOUD_RUN_TASK_COUNT", "CLOUD_RUN_TASK_ATTEMPT", "GOOGLE_APPLICATION_CREDENTIALS",
                "HOUSEJOBS_API_URL", "HOUSEJOBS_JOBS_DIR", *NOTIFY_VARS, *NETWORK_VARS):
        monkeypatch.delenv(var, raising=False)
    _outputs.clear()
    yield
    out, err = capfd.readouterr()
    for text in (out, err, *_outputs):
        assert_no_secret(text)


class FakeClock:
    """Time that passes only when the code under test sleeps (or a test moves it)."""

    def __init__(self, now: datetime = NOW) -> None:
        self._now = now
        self._mono = 1000.0
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


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


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path / "sandbox.db")
    yield handle
    handle.server.stop()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str
    sleeps: list[float] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.stdout)

    def log_records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stderr.splitlines() if line.strip()]


class Cli:
    """Runs the real CLI in this process with an injected runtime (streams, environment, clock)."""

    def __init__(self, clock: FakeClock, tmp_path: Path) -> None:
        self.clock = clock
        self.cwd = tmp_path

    def __call__(self, *argv: str, env: dict[str, str] | None = None, stdin: str = "",
                 tty: bool = False, unset: tuple[str, ...] = ()) -> CliResult:
        environ = dict(os.environ)
        environ.update(env or {})
        for key in unset:
            environ.pop(key, None)
        out, err = io.StringIO(), io.StringIO()
        before = len(self.clock.sleeps)
        rt = Runtime(environ=environ, stdin=io.StringIO(stdin), stdout=out, stderr=err, stdin_tty=tty,
                     stdout_tty=tty, stderr_tty=tty, clock=self.clock, cwd=self.cwd, terminal=None)
        code = run_cli(list(argv), rt)
        result = CliResult(code, out.getvalue(), err.getvalue(), self.clock.sleeps[before:])
        _outputs.extend([result.stdout, result.stderr])
        assert "Traceback" not in result.stderr, result.stderr
        return result


@pytest.fixture
def cli(clock: FakeClock, tmp_path: Path) -> Cli:
    return Cli(clock, tmp_path)
