"""Shared fixtures: a known environment, a real sandbox server, a fake clock, an in-process CLI runner, and a
leak check.

Every test starts from a known environment (tests/support/hermetic.py lists what is removed and set, so
the user's terminal, locale, HOUSEJOBS_*, Google and proxy settings cannot change a result), with every
secret the project knows set to a sentinel value (notification sink URLs only where a test sets them), a
state directory and a HOME of its own; an autouse check fails any test whose output (captured file
descriptors and every CLI run) contains a secret. The helpers behind these fixtures live in tests/support/;
the fixture plugins registered below (BigQuery emulator, PostgreSQL, notification sinks) are reachable from
every folder.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from housejobs import redact
from tests.support.cli import OUTPUTS, Cli
from tests.support.clock import FakeClock, HookClock
from tests.support.hermetic import SET, apply, removals
from tests.support.sandbox import Sandboxes, SandboxHandle
from tests.support.sentinels import SENTINELS, assert_no_secret

pytest_plugins = ["tests.support.bq_fixtures", "tests.support.pg_fixtures", "tests.support.sink_fixtures",
                  "tests.support.gcp_fixtures"]


_SESSION_HOME = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    # The known environment from the start, so the servers session fixtures start (PostgreSQL, the BigQuery
    # emulator) and anything read at import time see it too; HOME here is the session's, each test gets its own.
    home = Path(tempfile.mkdtemp(prefix="housejobs-tests-home-"))
    config.stash[_SESSION_HOME] = home
    apply(os.environ, home)


def pytest_unconfigure(config: pytest.Config) -> None:
    home = config.stash.get(_SESSION_HOME, None)
    if home is not None:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(autouse=True)
def _test_environment(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str],
                      tmp_path: Path) -> Iterator[None]:
    # Again for each test (whatever an earlier test left in os.environ), then this test's own: sentinel
    # secrets, a state directory and a HOME.
    for name in removals(os.environ):
        monkeypatch.delenv(name)
    for name, value in SET.items():
        monkeypatch.setenv(name, value)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for key, value in SENTINELS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOUSEJOBS_STATE_DIR", str(tmp_path / "state"))
    # The secrets redaction knows are the process's (housejobs.redact): a CLI process is one run, this one
    # process runs many, so each test starts with none registered, as a fresh process would.
    monkeypatch.setattr(redact, "_values", set())
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
