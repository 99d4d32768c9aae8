"""Help that reads the same everywhere: every command's help (subcommands too) walked from the click tree,
with no `None` in it and no line wider than 80; one metavar per kind of value; and one typo-hint format
for every name the CLI refuses (commands, options, envs, jobs, reminder types, states, shells)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest

from housejobs.cli.main import _command
from tests.support.cli import Cli
from tests.support.sandbox import SandboxHandle

# What a value of each kind is called, wherever an option or argument takes one.
KINDS = {
    "ENV": {"--env"},
    "JOB": {"--job", "--only", "job"},
    "EXECUTION": {"--execution"},
    "TYPE": {"--type", "variant"},
    "URL": {"--api-url", "--bot-url"},
    "PATH": {"--dir", "--db", "--html"},
    "SECONDS": {"--deadline"},
    "N": {"--days", "--concurrency", "--tasks", "--orgs"},
}
# Click's names for its own types: a metavar that says how a value is stored, not what it is.
CLICK_TYPES = {"TEXT", "INTEGER", "FLOAT", "INTEGER RANGE", "FLOAT RANGE", "BOOLEAN", "NUMBER", "PATH RANGE"}


def commands() -> Iterator[tuple[str, click.Command, click.Context]]:
    """Every command and group, with the context its help is printed in (80 columns, as a terminal)."""
    def walk(command: click.Command, path: str, parent: click.Context | None) -> Iterator[
            tuple[str, click.Command, click.Context]]:
        ctx = click.Context(command, info_name=path.rsplit(" ", 1)[-1], parent=parent, terminal_width=80,
                            max_content_width=80)
        yield path, command, ctx
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None
                yield from walk(sub, f"{path} {name}", ctx)

    yield from walk(_command(), "housejobs", None)


def test_every_command_is_walked() -> None:
    paths = {path for path, _, _ in commands()}
    assert {"housejobs migrate status", "housejobs config show", "housejobs quota-cleanup", "housejobs run",
            "housejobs history", "housejobs backfill", "housejobs sandbox"} <= paths
    assert len(paths) == 25


@pytest.mark.parametrize("path", [path for path, _, _ in commands()])
def test_help_never_says_none_and_fits_80_columns(path: str) -> None:
    command, ctx = next((c, x) for p, c, x in commands() if p == path)
    text = command.get_help(ctx)
    assert not re.search(r"\bNone\b", text), text  # e.g. `[x<=None]` under --deadline, `--days`
    assert all(len(line) <= 80 for line in text.splitlines()), text


def test_one_metavar_per_option_and_per_kind_of_value() -> None:
    seen: dict[str, dict[str, str]] = {}  # option (or argument) name -> metavar -> a command that shows it
    for path, command, ctx in commands():
        for param in command.get_params(ctx):
            if isinstance(param, click.Option) and (param.is_flag or param.count):
                continue
            name = max(param.opts, key=len) if isinstance(param, click.Option) else str(param.name)
            seen.setdefault(name, {})[param.make_metavar(ctx)] = path
    assert {name: metavars for name, metavars in seen.items() if len(metavars) > 1} == {}
    metavar = {name: next(iter(metavars)) for name, metavars in seen.items()}
    assert {name: m for name, m in metavar.items() if m in CLICK_TYPES} == {}
    for kind, names in KINDS.items():
        assert {n: metavar[n] for n in names} == dict.fromkeys(names, kind)


# --- one typo-hint format: `hint: did you mean 'x'? <where the names are>` ------------------------------------
GCP = {"HOUSEJOBS_RUN_API_ENDPOINT": "http://127.0.0.1:9", "HOUSEJOBS_SCHEDULER_API_ENDPOINT": "http://127.0.0.1:9"}
TYPOS = [
    pytest.param(("list-job",), "list-jobs", "see `housejobs --help`", id="command"),
    pytest.param(("migrate", "statu"), "status", "see `housejobs migrate --help`", id="subcommand"),
    pytest.param(("quota-reset", "--dat", "2026-11-24"), "--date", "see `housejobs quota-reset --help`",
                 id="option"),
    pytest.param(("quota-reset", "--env", "stag", "--date", "2026-11-24"), "stage", "one of: test, stage, prod",
                 id="env"),
    pytest.param(("config", "show", "--env", "prdo"), "prod", "one of: test, stage, prod", id="env-of-a-report"),
    pytest.param(("run", "quota-rest", "--env", "stage"), "quota-reset", "one of: alerts, bootstrap,", id="run-job"),
    pytest.param(("history", "--env", "stage", "--job", "quota-rest"), "quota-reset", "one of: alerts,",
                 id="history-job"),
    pytest.param(("smoke", "--env", "stage", "--only", "quota-rest"), "quota-reset", "one of: alerts,",
                 id="smoke-only"),
    pytest.param(("backfill", "quota-rest", "--env", "stage", "--from", "2026-11-01", "--to", "2026-11-02"),
                 "quota-reset", "one of: org-sync-all, quota-reset, stale-cleanup,", id="backfill-job"),
    pytest.param(("reminder", "rent-dew", "--period", "2026-11"), "rent-due",
                 "one of: utilities, rent-warning, rent-due", id="reminder-type"),
    pytest.param(("backfill", "reminder", "--type", "utilites", "--env", "stage", "--from", "2026-11", "--to",
                  "2026-11"), "utilities", "one of: utilities, rent-warning, rent-due", id="backfill-type"),
    pytest.param(("history", "--env", "stage", "--fail-on", "mised"), "missed", "one of: missed, failed, cancelled",
                 id="fail-on"),
    pytest.param(("logs", "quota-rest", "--env", "stage"), "quota-reset", "one of: alerts,", id="logs-job"),
    pytest.param(("logs", "alerts", "--env", "stage", "--severity", "warn"), "WARNING", "one of: DEFAULT, DEBUG,",
                 id="severity"),
    pytest.param(("--show-completion", "bsh"), "bash", "one of: bash, zsh, fish, powershell, pwsh", id="shell"),
]


@pytest.mark.parametrize(("argv", "meant", "listed"), TYPOS)
def test_every_typo_gets_the_same_hint(cli: Cli, argv: tuple[str, ...], meant: str, listed: str) -> None:
    result = cli(*argv, env=GCP, unset=("FORCE_COLOR",))  # plain lines, whatever the test's shell forces
    assert result.code == 2, result.stdout + result.stderr
    said = result.stdout + result.stderr
    hints = [line.strip() for line in said.splitlines() if line.strip().startswith("hint: ")]
    assert len(hints) == 1, said
    assert hints[0].startswith(f"hint: did you mean {meant!r}? {listed}"), hints[0]
    # Click's own two formats are gone: `Did you mean 'x'?` and `(Did you mean one of: …?)`.
    assert "Did you mean" not in said and "(did you mean" not in said.lower()


def test_a_hint_is_never_a_parenthesis_inside_a_parenthesis(cli: Cli, sandbox: SandboxHandle) -> None:
    result = cli("quota-reset", "--env", "prod", "--api-url", sandbox.url, "--date", "2026-11-24",
                 unset=("FORCE_COLOR",))
    assert result.code == 2
    assert not re.search(r"\([^()]*\(", result.stdout), result.stdout
