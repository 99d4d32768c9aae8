"""The `golden` fixture: a golden JSON case (tests/support/golden.py) named after its test, with the test's
tmp folder, the checkout and site-packages (certifi's CA bundle) as path placeholders; a case that ran
commands must have been checked."""

from __future__ import annotations

import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.golden import REPO, Golden, case_path


@pytest.fixture
def golden(request: pytest.FixtureRequest, cli: Cli, tmp_path: Path) -> Iterator[Golden]:
    paths = {str(tmp_path): "<tmp>", str(REPO): "<repo>", sysconfig.get_paths()["purelib"]: "<site-packages>"}
    case = Golden(cli, case_path(str(request.path), request.node.name), paths)
    yield case
    assert case.checked or not case.entries, f"{request.node.name} ran commands but never called golden.check()"
