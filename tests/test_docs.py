"""The README is the front door: every command, setting and exit code is documented there."""

from __future__ import annotations

import re
from pathlib import Path

import click

from housejobs.cli.main import _command
from housejobs.results import EXIT_CODES, Outcome
from housejobs.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def subcommands(command: click.Command) -> dict[str, click.Command]:
    """A group's commands as its --help lists them (the jobs are built from their specs when asked for)."""
    if not isinstance(command, click.Group):
        return {}
    ctx = click.Context(command)
    found = {name: command.get_command(ctx, name) for name in command.list_commands(ctx)}
    return {name: sub for name, sub in found.items() if sub is not None}


def command_paths(command: click.Command, prefix: str = "") -> list[str]:
    paths = []
    for name, sub in subcommands(command).items():
        path = f"{prefix} {name}".strip()
        paths.append(path)
        paths += command_paths(sub, path)
    return paths


def test_every_command_has_a_readme_example_and_help() -> None:
    root = _command()
    paths = command_paths(root)
    assert "quota-reset" in paths and "migrate status" in paths
    for path in paths:
        assert re.search(rf"\$ housejobs {re.escape(path)}\b", README), f"README has no example of {path}"
    for name, sub in subcommands(root).items():
        # Every command that runs something has an example; a group that only holds commands need not.
        holder = isinstance(sub, click.Group) and not sub.invoke_without_command
        assert holder or (sub.help and "Example:" in sub.help), f"{name} help lacks an example"


def test_every_setting_is_documented() -> None:
    for d in SETTINGS:
        assert f"`{d.env_var}`" in README, d.env_var


def test_numeric_settings_state_their_range() -> None:
    numeric = {d.env_var: d for d in SETTINGS if d.number is not None}
    assert {"HOUSEJOBS_MAX_ATTEMPTS", "HOUSEJOBS_PROGRESS_EVERY", "HOUSEJOBS_MAX_RETRIES"} <= set(numeric)
    for d in numeric.values():
        assert d.number is not None
        assert f"({d.number.range_text()}" in d.help or f"; {d.number.range_text()}" in d.help, (d.env_var, d.help)


def test_exit_code_table_matches_the_code() -> None:
    rows = dict(re.findall(r"^\| `([a-z-]+)` \| [^|]+ \| ([0-9 /]+) \|$", README, re.M))
    assert set(rows) == {o.value for o in Outcome}
    for outcome, code in EXIT_CODES.items():
        if outcome is Outcome.INTERRUPTED:
            assert rows[outcome.value].strip() == "130 / 143"
        else:
            assert rows[outcome.value].strip() == str(code)


def test_changelog_exists() -> None:
    assert (ROOT / "CHANGELOG.md").read_text().startswith("# Changelog")


def job_table() -> list[str]:
    """The README's job table, from the catalog and each job's spec (jobs/registry.py)."""
    from housejobs.catalog import load_catalog
    from housejobs.jobs.registry import specs
    from housejobs.jobs.spec import HOUSEHOLD
    from housejobs.settings import find_jobs_dir

    jobs_dir = find_jobs_dir({})[0]
    declared = specs(jobs_dir)
    lines = ["| job | kind | period | schedule | what it calls |", "|---|---|---|---|---|"]
    for name, job in load_catalog(jobs_dir).items():
        spec = declared[name]
        rule = spec.period
        if rule is None:
            period = "—"
        elif rule.option is None:
            period = f"{rule.unit}, from when it runs"
        else:
            where = "the household's time zone" if rule.zone == HOUSEHOLD else "UTC"
            period = f"{rule.unit} (`{rule.option}`), {where}"
        zones = {t.time_zone for t in job.triggers}
        schedule = ", ".join(f"`{t.schedule}`" + (f" {t.name}" if len(job.triggers) > 1 else "")
                             for t in job.triggers) + (f" ({zones.pop()})" if len(zones) == 1 else "") or "—"
        variant = f" {spec.variants.metavar}" if spec.variants is not None else ""
        lines.append(f"| `{name}{variant}` | {job.kind} | {period} | {schedule} | `{job.calls}` |")
    return lines


def test_the_job_table_is_the_catalog_and_the_specs() -> None:
    table = README.split("## The jobs\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table == job_table(), "\n".join(job_table())
