"""Shell completion: Typer's --show-completion / --install-completion and the `_HOUSEJOBS_COMPLETE`
protocol a completion script calls back with, checked in a real bash where that matters."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.cli import Cli
from tests.support.process import run_cli_process

BIN = Path(sys.executable).parent  # where the venv's `housejobs` console script lives
needs_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="no bash on this machine")


def test_show_completion_prints_a_bash_script_in_process(cli: Cli) -> None:
    result = cli("--show-completion", "bash")
    assert result.code == 0, result.stderr
    assert "_HOUSEJOBS_COMPLETE=complete_bash" in result.stdout  # what the script calls back with
    assert result.stdout.rstrip().endswith("complete -o default -F _housejobs_completion housejobs")


@pytest.mark.parametrize(("shell", "marker"), [("zsh", "#compdef housejobs"), ("fish", "complete --command housejobs"),
                                               ("pwsh", "Register-ArgumentCompleter -Native -CommandName housejobs")])
def test_show_completion_for_the_shell_named(cli: Cli, shell: str, marker: str) -> None:
    # Typer's own option ignores a shell named after it wherever it can detect one (it printed bash's script
    # here); this one prints the named shell's.
    result = cli("--show-completion", shell)
    assert result.code == 0 and marker in result.stdout and "complete_bash" not in result.stdout


def test_unknown_shell_is_one_line_exit_2(cli: Cli) -> None:
    result = cli("--show-completion", "tcsh")
    assert result.code == 2 and result.stdout == ""
    assert result.stderr == "error: unknown shell 'tcsh'\nhint: one of: bash, zsh, fish, powershell, pwsh\n"


def test_help_lists_the_completion_options_and_jobs_still_run(cli: Cli) -> None:
    assert "--install-completion" in _help()
    result = cli("quota-reset", "--date", "2026-11-24", "--json")  # the options do not disturb a run
    assert result.code == 0 and result.json()["outcome"] == "applied"


def _help() -> str:
    done = run_cli_process(["--help"])
    assert done.returncode == 0, done.stderr
    return done.stdout


def _bash(script: str, env: dict[str, str] | None = None) -> str:
    environ = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True, text=True,
                          env=environ, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_bash
def test_the_sourced_script_completes_commands_and_options_in_bash() -> None:
    # The script from the env-var protocol, sourced into bash, then asked as bash asks it on <TAB>.
    out = _bash('eval "$(_HOUSEJOBS_COMPLETE=source_bash housejobs)"\n'
                "COMP_WORDS=(housejobs re); COMP_CWORD=1; _housejobs_completion housejobs\n"
                'printf "%s\\n" "${COMPREPLY[@]}"; echo ---\n'
                "COMP_WORDS=(housejobs quota-reset --da); COMP_CWORD=2; _housejobs_completion housejobs\n"
                'printf "%s\\n" "${COMPREPLY[@]}"\n')
    commands, options = out.split("---\n")
    assert commands.split() == ["reminder", "release", "resume"]
    assert options.split() == ["--date"]


@needs_bash
def test_install_completion_writes_the_script_and_sources_it(tmp_path: Path) -> None:
    # HOME is the test's own folder: nothing outside it is touched.
    said = _bash("housejobs --install-completion bash", env={"HOME": str(tmp_path), "SHELL": "/bin/bash"})
    script = tmp_path / ".bash_completions" / "housejobs.sh"
    assert said.startswith(f"bash completion installed in {script}")
    assert "_HOUSEJOBS_COMPLETE=complete_bash" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    # and a new shell that reads that .bashrc completes with it
    out = _bash(f"source {tmp_path / '.bashrc'}; COMP_WORDS=(housejobs list-j); COMP_CWORD=1; "
                '_housejobs_completion housejobs; printf "%s\\n" "${COMPREPLY[@]}"', env={"HOME": str(tmp_path)})
    assert out.split() == ["list-jobs"]


def test_help_and_completion_load_neither_httpx_nor_google() -> None:
    probe = ("import io, json, sys\n"
             "from housejobs.cli.main import run_cli\n"
             "from housejobs.context import Runtime\n"
             "codes = [run_cli(argv, Runtime(stdout=io.StringIO(), stderr=io.StringIO()))\n"
             "         for argv in (['--help'], ['--show-completion', 'bash'])]\n"
             # housejobs registers a stand-in for httpx's own CLI module (no file): that is not httpx loaded.
             "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'google')\n"
             "               and m != 'httpx._main')\n"
             "print(json.dumps({'codes': codes, 'heavy': heavy}))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"codes": [0, 0], "heavy": []}


# --- values: env names, job names, reminder types, --fail-on states ---------------------------------------
def complete(args: list[str], incomplete: str, environ: dict[str, str] | None = None) -> list[str]:
    """What <TAB> offers after `housejobs ARGS INCOMPLETE`, through click's completion API (what the
    `_HOUSEJOBS_COMPLETE` protocol calls), with a runtime of the test's own."""
    from click.shell_completion import ShellComplete

    from housejobs.cli.app import drop_runtime, use_runtime
    from housejobs.cli.main import _command
    from housejobs.runtime import Runtime

    token = use_runtime(Runtime(environ=environ if environ is not None else {}))
    try:
        found = ShellComplete(_command(), {}, "housejobs", "_HOUSEJOBS_COMPLETE").get_completions(args, incomplete)
    finally:
        drop_runtime(token)
    return [item.value for item in found]


CATALOG = ["migrate", "bootstrap", "org-sync-all", "quota-reset", "quota-cleanup", "stale-cleanup", "alerts",
           "quota-monthly", "reminder"]


@pytest.mark.parametrize(("args", "incomplete", "offered"), [
    (["quota-reset", "--env"], "", ["test", "stage", "prod"]),
    (["quota-reset", "--env"], "s", ["stage"]),
    (["list-jobs", "--env"], "p", ["prod"]),
    (["history", "--env"], "", ["test", "stage", "prod"]),
    (["migrate", "status", "--env"], "t", ["test"]),
    (["run"], "", CATALOG),
    (["run"], "quota-", ["quota-reset", "quota-cleanup", "quota-monthly"]),
    (["history", "--env", "stage", "--job"], "re", ["reminder"]),
    (["smoke", "--env", "stage", "--only"], "b", ["bootstrap"]),
    (["create-all-jobs", "--env", "stage", "--only"], "org", ["org-sync-all"]),
    (["backfill"], "", ["org-sync-all", "quota-reset", "stale-cleanup", "alerts", "quota-monthly", "reminder"]),
    (["pause"], "", ["quota-reset", "quota-cleanup", "stale-cleanup", "alerts", "quota-monthly", "reminder"]),
    (["pause", "reminder", "--trigger"], "rent", ["rent-warning", "rent-due"]),
    (["reminder"], "", ["utilities", "rent-warning", "rent-due"]),
    (["reminder"], "rent-d", ["rent-due"]),
    (["backfill", "reminder", "--type"], "u", ["utilities"]),
    (["history", "--env", "stage", "--fail-on"], "", ["missed", "failed", "cancelled"]),
    (["history", "--env", "stage", "--fail-on"], "missed,", ["missed,failed", "missed,cancelled"]),
    (["history", "--env", "stage", "--fail-on"], "missed,c", ["missed,cancelled"]),
    (["logs"], "quota-r", ["quota-reset"]),
    (["logs", "alerts", "--env", "stage", "--severity"], "WA", ["WARNING"]),
    (["logs", "alerts", "--env", "stage", "--severity"], "e", ["error", "emergency"]),
])
def test_values_complete(args: list[str], incomplete: str, offered: list[str]) -> None:
    assert complete(args, incomplete) == offered


def test_env_names_come_from_environments_toml_when_readable(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    shutil.copytree(Path(__file__).parents[2] / "jobs", jobs)
    text = (jobs / "environments.toml").read_text()
    (jobs / "environments.toml").write_text(text[:text.index("[prod]")])  # this deployment has no prod
    assert complete(["quota-reset", "--env"], "", {"HOUSEJOBS_JOBS_DIR": str(jobs)}) == ["test", "stage"]
    (jobs / "environments.toml").write_text("not [ toml")  # unreadable: the three names, and no error
    assert complete(["quota-reset", "--env"], "", {"HOUSEJOBS_JOBS_DIR": str(jobs)}) == ["test", "stage", "prod"]
    # A broken catalog offers no job names rather than an error.
    (jobs / "catalog.toml").write_text("not [ toml")
    assert complete(["pause"], "", {"HOUSEJOBS_JOBS_DIR": str(jobs)}) == []


def test_the_completion_protocol_completes_values_in_a_spawned_cli() -> None:
    done = run_cli_process([], extra_env={"_HOUSEJOBS_COMPLETE": "complete_bash",
                                          "COMP_WORDS": "housejobs run --env stage quota-r", "COMP_CWORD": "4"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["quota-reset"]


@needs_bash
def test_bash_completes_env_names_and_reminder_types() -> None:
    out = _bash('eval "$(_HOUSEJOBS_COMPLETE=source_bash housejobs)"\n'
                "COMP_WORDS=(housejobs quota-reset --env st); COMP_CWORD=3; _housejobs_completion housejobs\n"
                'printf "%s\\n" "${COMPREPLY[@]}"; echo ---\n'
                "COMP_WORDS=(housejobs reminder rent); COMP_CWORD=2; _housejobs_completion housejobs\n"
                'printf "%s\\n" "${COMPREPLY[@]}"\n')
    envs, types = out.split("---\n")
    assert envs.split() == ["stage"] and types.split() == ["rent-warning", "rent-due"]
