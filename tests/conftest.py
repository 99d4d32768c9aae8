"""Shared fixtures: a real sandbox server, a fake clock, an in-process CLI runner, and a leak check.

Every secret the project knows is set to a sentinel value for every test (notification sink URLs only
where a test sets them), and an autouse check fails any test whose output (captured file descriptors
and every CLI run) contains one. The helpers behind these fixtures live in tests/support/; the fixture
plugins registered below (BigQuery emulator, PostgreSQL, notification sinks) are reachable from every
folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import OUTPUTS, Cli
from tests.support.clock import FakeClock, HookClock
from tests.support.sandbox import Sandboxes, SandboxHandle
from tests.support.sentinels import NETWORK_VARS, NOTIFY_VARS, SENTINELS, assert_no_secret

pytest_plugins = ["tests.support.bq_fixtures", "tests.support.pg_fixtures", "tests.support.sink_fixtures",
                  "tests.support.gcp_fixtures"]


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
    OUTPUTS.clear()
    yield
    out, err = capfd.readouterr()
    for text in (out, err, *OUTPUTS):
        assert_no_secret(text)


@pytest.fixture
def clock() -> HookClock:
    """The FakeClock; tests that act on the n-th sleep (a signal mid-retry, an execution finishing) set
    `clock.hooks`."""
    return HookClock()


@pytest.fixture
def sandbox_factory(tmp_path: Path) -> Iterator[Sandboxes]:
    """Starts sandboxes on tmp_path (tests/support/sandbox.py Sandboxes) and stops them after the test."""
    started = Sandboxes(tmp_path)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def sandbox(sandbox_factory: Sandboxes) -> SandboxHandle:
    return sandbox_factory("sandbox")


@pytest.fixture
def bare(sandbox_factory: Sandboxes) -> SandboxHandle:
    """A runtime with no scheduler secret configured."""
    return sandbox_factory("bare", scheduler_secret=None)


@pytest.fixture
def cli(clock: FakeClock, tmp_path: Path) -> Cli:
    return Cli(clock, tmp_path)
