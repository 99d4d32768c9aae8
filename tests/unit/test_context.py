"""The context is built once and read: nothing assigns to it afterwards (the runner's stop request goes
through `Stop`, what a run opens through `Connections`), and where calls go is a pure function of the
settings, the environment and the options (`choose_targets`)."""

from __future__ import annotations

import ast
import io
import signal
from pathlib import Path

import pytest

import housejobs
from housejobs.context import Context, Options
from housejobs.errors import ConfigError
from housejobs.runtime import Runtime
from housejobs.settings import Setting
from housejobs.settings_model import resolve
from housejobs.stopping import Stop
from housejobs.target import EMBEDDED, choose_targets
from tests.support.clock import FakeClock

SRC = Path(housejobs.__file__).parent


def _runtime(tmp_path: Path, **environ: str) -> Runtime:
    return Runtime(environ={"HOUSEJOBS_STATE_DIR": str(tmp_path / "state"), **environ}, stdin=io.StringIO(),
                   stdout=io.StringIO(), stderr=io.StringIO(), clock=FakeClock(), cwd=tmp_path, terminal=None)


def test_a_built_context_refuses_assignment(tmp_path: Path) -> None:
    ctx = Context(_runtime(tmp_path, HOUSEJOBS_API_URL="https://admin.example.test"), Options(), "quota-reset")
    assert ctx.target.url == "https://admin.example.test"
    with pytest.raises(AttributeError, match="not changed once built"):
        ctx.env = "prod"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="'targets'"):
        ctx.targets = ctx.targets  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ctx.options.dry_run = True  # type: ignore[misc]
    assert ctx.env is None and ctx.options.dry_run is False


def test_the_stop_request_is_taken_once_and_keeps_the_first_signal() -> None:
    stop = Stop()
    assert not stop.is_set() and stop.signal is None
    assert stop.request(int(signal.SIGTERM)) is True
    assert stop.request(int(signal.SIGINT)) is False  # the second: already stopping (the runner cuts now)
    assert stop.is_set() and stop.event.is_set() and stop.signal == int(signal.SIGTERM)


def _assigned_attributes(tree: ast.AST) -> list[tuple[str, str, int]]:
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.value, ast.Name) \
                        and part.value.id in ("ctx", "context"):
                    found.append((part.value.id, part.attr, node.lineno))
    return found


def test_no_code_assigns_to_a_context() -> None:
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        for name, attr, line in _assigned_attributes(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(SRC)}:{line}: {name}.{attr} = ...")
    assert offenders == []
    # The scan finds what it looks for.
    assert _assigned_attributes(ast.parse("ctx.stop_signal = 2\ncontext.n += 1")) == [
        ("ctx", "stop_signal", 1), ("context", "n", 2)]


def test_targets_are_a_function_of_settings_env_and_options(tmp_path: Path) -> None:
    files = _runtime(tmp_path).files
    settings = resolve(files, None, "unset", overrides={})
    def unread() -> dict[str, str]:
        raise AssertionError("environments.toml read though no target has an identifier to compare")

    local = choose_targets(("admin",), settings, None, prod=unread, in_cloud_run=False)
    assert local.api == EMBEDDED and local.first == EMBEDDED and local.prod_reasons == ()
    assert choose_targets(("admin",), settings, None, prod=unread, in_cloud_run=False) == local

    prod_url = "https://admin.prod.example.test"
    settings = resolve(files, None, "unset", overrides={Setting.api_url: prod_url})
    prod = {"api_url": prod_url}
    outside = choose_targets(("admin",), settings, None, api_url=prod_url, prod=lambda: prod,
                             in_cloud_run=False)
    assert outside.first.url == prod_url and len(outside.prod_reasons) == 1
    assert "prod" in outside.prod_reasons[0]
    with pytest.raises(ConfigError, match="runs in stage, but the admin API"):
        choose_targets(("admin",), settings, "stage", api_url=prod_url, prod=lambda: prod, in_cloud_run=True)
