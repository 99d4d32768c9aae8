"""What a new user meets on a fresh clone: bare commands, help texts, the standalone sandbox, config show."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Cli
from tests.support.process import faketime, run_cli_process, spawn_cli, without_faketime

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("argv", [(), ("config",)])
def test_asking_what_there_is_prints_help_on_stdout_and_exits_0(cli: Cli, argv: tuple[str, ...]) -> None:
    result = cli(*argv)
    assert result.code == 0, result.stderr
    assert result.stdout.startswith("Usage: housejobs") and "error" not in result.stderr


@pytest.mark.parametrize("path", [("migrate",), ("migrate", "status"), ("quota-cleanup",)])
def test_jobs_without_a_sandbox_do_not_promise_one(path: tuple[str, ...]) -> None:
    import click

    from housejobs.cli.main import _command

    command = _command()
    for name in path:
        found = command.get_command(click.Context(command), name)  # type: ignore[attr-defined]
        assert found is not None
        command = found
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
    banner, counters, inbox = serve_state({**os.environ, "HOUSEJOBS_STATE_DIR": str(state)}, work)
    assert f"db {state / 'sandbox.db'}" in banner
    assert counters["effects"] == {"quota-reset:2026-11-24": 1}
    assert "notifications" in inbox
    assert list(work.iterdir()) == []


def serve_state(environ: dict[str, str], work: Path) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """`housejobs sandbox` started in `work` with `environ` (no key: it uses the local one): its banner, its
    counters, and its inbox read the documented way (the key the banner printed)."""
    env = {k: v for k, v in environ.items() if k != "CA_ROOT_API_KEY"}
    proc = spawn_cli(["sandbox", "--port", "0"], env=env, cwd=work)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline() + proc.stdout.readline()
        url = banner.split("serving on ")[1].split()[0]
        assert f"export HOUSEJOBS_API_URL={url} CA_ROOT_API_KEY=sandbox-root-key" in banner
        with urllib.request.urlopen(urllib.request.Request(url + "/_sandbox/counters"), timeout=10) as response:
            counters = json.loads(response.read())
        request = urllib.request.Request(url + "/admin/notifications", headers={"X-CA-Root-Key": "sandbox-root-key"})
        with urllib.request.urlopen(request, timeout=10) as response:
            inbox = json.loads(response.read())
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0
    return banner, counters, inbox


@pytest.mark.slow
def test_the_readmes_next_command_and_the_sandbox_see_what_the_quickstart_ran(tmp_path: Path) -> None:
    """The README: `scripts/quickstart` (applied, then duplicate), then, with the venv activated,
    `housejobs quota-reset` says duplicate, and `housejobs sandbox` shows the quickstart's run. The quickstart
    once kept its state in the checkout (./.state), where neither looks. It runs as a user's shell would
    (HOME of its own, no HOUSEJOBS_STATE_DIR) at a fixed time, so its two runs cannot fall on two dates."""
    env = without_faketime({k: v for k, v in os.environ.items() if k != "HOUSEJOBS_STATE_DIR"})
    env["UV_OFFLINE"] = "1"  # its set-up finds .venv in sync (scripts/test syncs it first) and fetches nothing
    home = Path(env["HOME"])
    in_checkout = sorted((ROOT / ".state").rglob("*")) if (ROOT / ".state").exists() else []
    marks = {path: path.stat().st_mtime_ns for path in in_checkout}
    done = subprocess.run([faketime(), "2027-06-16 10:00:00 UTC", "bash", str(ROOT / "scripts" / "quickstart")],
                          env=env, capture_output=True, text=True, encoding="utf-8", timeout=300, check=False)
    assert done.returncode == 0, ("the quickstart failed (if uv wanted the network: .venv is not in sync with "
                                  "pyproject.toml and uv.lock; scripts/test syncs it)\n" + done.stdout + done.stderr)
    assert re.fullmatch(r"\$ housejobs quota-reset\n"
                        r"quota-reset · target: embedded sandbox · outcome: applied \(for 2027-06-16\) · .*\n"
                        r"  orgs_reset=25\n"
                        r"\$ housejobs quota-reset\n"
                        r"quota-reset · target: embedded sandbox · outcome: duplicate "
                        r"\(already applied for 2027-06-16\) · .*\n  orgs_reset=25\n", done.stdout), done.stdout
    assert (home / ".local" / "state" / "housejobs" / "sandbox.db").is_file()
    # The next command as the README writes it, with the venv's housejobs, from wherever the user is now.
    work = tmp_path / "elsewhere"
    work.mkdir()
    activated = {**env, "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"}
    again = run_cli_process(["quota-reset", "--date", "2027-06-16"], env=activated, cwd=work)
    assert "outcome: duplicate (already applied for 2027-06-16)" in again.stdout, again.stdout + again.stderr
    banner, counters, _ = serve_state(activated, work)
    assert f"db {home / '.local' / 'state' / 'housejobs' / 'sandbox.db'}" in banner
    assert counters["effects"] == {"quota-reset:2027-06-16": 1}
    # Nothing was written into the checkout.
    now = sorted((ROOT / ".state").rglob("*")) if (ROOT / ".state").exists() else []
    assert {path: path.stat().st_mtime_ns for path in now} == marks


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
