"""Secrets from Secret Manager: the real client library against a local fake of the v1 REST API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.secretmanager import SecretManagerFake
from tests.support.cli import Cli
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY

PROJECT = "cloudact-testing-1"


@pytest.fixture
def secrets() -> Iterator[SecretManagerFake]:
    with SecretManagerFake() as fake:
        yield fake


def env(sandbox: SandboxHandle, fake: SecretManagerFake) -> dict[str, str]:
    return {"HOUSEJOBS_API_URL": sandbox.url, "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": fake.endpoint}


def test_key_read_from_secret_manager_with_env_suffix(cli: Cli, sandbox: SandboxHandle,
                                                      secrets: SecretManagerFake) -> None:
    secrets.add_secret(PROJECT, "ca-root-api-key-test", ROOT_KEY.encode() + b"\n")
    result = cli("quota-reset", "--env", "stage", env=env(sandbox, secrets), unset=("CA_ROOT_API_KEY",))
    assert result.code == 0, result.stdout + result.stderr
    assert sandbox.counters("quota-reset") == {"quota-reset:2026-11-24": 1}


@pytest.mark.parametrize(("setup", "text"), [
    ("missing", "secret ca-root-api-key-test not found in project cloudact-testing-1"),
    ("corrupt", "CRC32C mismatch"),
    ("denied", "no access to secret ca-root-api-key-test"),
])
def test_secret_problems_refuse_before_any_call(cli: Cli, sandbox: SandboxHandle, secrets: SecretManagerFake,
                                                setup: str, text: str) -> None:
    if setup != "missing":
        secrets.add_secret(PROJECT, "ca-root-api-key-test", ROOT_KEY.encode())
    if setup == "corrupt":
        secrets.corrupt_crc = True
    if setup == "denied":
        secrets.deny(PROJECT, "ca-root-api-key-test")
    result = cli("quota-reset", "--env", "test", env=env(sandbox, secrets), unset=("CA_ROOT_API_KEY",))
    assert result.code == 2
    assert text in result.stdout
    assert sandbox.requests == 0


def test_environment_value_wins_over_secret_manager(cli: Cli, sandbox: SandboxHandle,
                                                    secrets: SecretManagerFake) -> None:
    result = cli("quota-reset", "--env", "stage", env=env(sandbox, secrets))
    assert result.code == 0
    assert secrets.access_count == 0


def test_a_secret_manager_outage_fails_and_may_be_rerun(cli: Cli, sandbox: SandboxHandle,
                                                       secrets: SecretManagerFake) -> None:
    # gcp/errors.py's rule: a 5xx passes with time, so the run ends `failed` (exit 1, Cloud Run retries the
    # task), not `refused` as a missing or denied secret does. (Secret Manager's library retries 503 itself.)
    secrets.add_secret(PROJECT, "ca-root-api-key-test", ROOT_KEY.encode())
    secrets.fail_next("INTERNAL", message="backend error")
    result = cli("quota-reset", "--env", "test", env=env(sandbox, secrets), unset=("CA_ROOT_API_KEY",))
    assert result.code == 1
    assert "secret ca-root-api-key-test in project cloudact-testing-1: 500 backend error" in result.stdout
    assert sandbox.requests == 0
