"""What a new user meets on a fresh clone: bare commands, help texts, the standalone sandbox, config show."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.process import spawn_cli

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("argv", [(), ("config",)])
def test_asking_what_there_is_prints_help_on_stdout_and_exits_0(cli: Cli, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("Usage: housejobs") and "error" not in result.stderr


@pytest.mark.parametrize("path", [("migrate",), ("migrate", "status"), ("quota-cleanup",)])
def test_jobs_without_a_sandbox_do_not_promise_one(path: tuple[str, ...]) -> None:
    import typer.main

    from housejobs.cli.main import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    env = next(p for p in command.params if p.name == "env")
    assert "embedded sandbox" not in env.help and "this job has no sandbox" in env.help


def test_a_local_url_without_a_key_says_which_key_a_local_sandbox_uses(cli: Cli) -> None:
    result = cli("quota-reset", "--api-url", "http://127.0.0.1:9", "--date", "2026-11-24", "--json",
                 unset=("CA_ROOT_API_KEY",))
    assert result.code == 2
    assert result.json()["message"] == "CA_ROOT_API_KEY is not set"
    assert "sandbox-root-key" in result.json()["hint"]


def test_config_show_names_the_environment_in_effect_and_the_default_state_dir(cli: Cli) -> None:
    doc = cli("config", "show", "--env", "stage", "--json", unset=("HOUSEJOBS_STATE_DIR",),
              env={"XDG_STATE_HOME": "/var/tmp/xdg-example"}).json()
    rows = {r["key"]: r for r in doc["settings"]}
    assert doc["env"] == "stage" and (rows["env"]["value"], rows["env"]["source"]) == ("stage", "--env")
    assert rows["state_dir"]["value"] == "/var/tmp/xdg-example/housejobs"
    assert rows["state_dir"]["source"] == "default"
    text = cli("config", "show", env={"HOUSEJOBS_ENV": "test"}).stdout
    assert "environment: test" in text and "[$HOUSEJOBS_ENV]" in text.split("\nenv ")[1].splitlines()[0]


@pytest.mark.slow
def test_the_standalone_sandbox_shares_the_embedded_sandboxs_state(cli: Cli, tmp_path: Path) -> None:
    """`housejobs sandbox` with no --db serves the database the embedded sandbox wrote: a user can read the
    ledger and notifications of the runs they just made, and nothing lands in the working directory."""
    state = tmp_path / "state"
    work = tmp_path / "work"
    work.mkdir()
    # A run against the embedded sandbox first: the period is applied in state/sandbox.db.
    assert cli("quota-reset", "--date", "2026-11-24", env={"HOUSEJOBS_STATE_DIR": str(state)}).code == 0
    env = {**os.environ, "HOUSEJOBS_STATE_DIR": str(state)}
    env.pop("CA_ROOT_API_KEY")
    proc = spawn_cli(["sandbox", "--port", "0"], env=env, cwd=work)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline() + proc.stdout.readline()
        assert f"db {state / 'sandbox.db'}" in banner
        url = banner.split("serving on ")[1].split()[0]
        assert f"export HOUSEJOBS_API_URL={url} CA_ROOT_API_KEY=sandbox-root-key" in banner
        request = urllib.request.Request(url + "/_sandbox/counters")
        with urllib.request.urlopen(request, timeout=10) as response:
            counters = json.loads(response.read())
        assert counters["effects"] == {"quota-reset:2026-11-24": 1}
        # The documented way to read the inbox works as written (the key the banner printed).
        request = urllib.request.Request(url + "/admin/notifications",
                                         headers={"X-CA-Root-Key": "sandbox-root-key"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert "notifications" in json.loads(response.read())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert list(work.iterdir()) == []


def test_readme_commands_work_without_uv_on_path() -> None:
    # The quickstart installs uv privately (.tools/); `uv run` would need it on PATH.
    assert "uv run" not in README
    assert "source .venv/bin/activate" in README


def test_dev_scripts_never_take_the_newest_uv() -> None:
    for script in ("scripts/dev/_env.sh", "scripts/dev/setup-emulators.sh"):
        text = (ROOT / script).read_text()
        assert "pip install" not in text or "--require-hashes" in text, script
        assert not any(line.strip().endswith("install uv") or " install --quiet uv" in line
                       for line in text.splitlines()), script
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "dev" / "_env.sh")], check=True)
