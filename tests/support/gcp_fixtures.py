"""The `gcp` fixture: the Cloud Run, Scheduler, Secret Manager and IAM fakes of one test (deploy_env.py),
checked afterwards for requests that broke the published schemas. A test module that needs more (doctor's
secrets) defines its own `gcp`, which takes precedence."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.deploy_env import GcpEnv, gcp_env


@pytest.fixture
def gcp() -> Iterator[GcpEnv]:
    with gcp_env() as env:
        yield env
        assert env.violations() == []
