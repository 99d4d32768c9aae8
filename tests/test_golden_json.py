"""The golden JSON guard: what every `--json` command prints on stdout, compared byte for byte with checked-in
transcripts, so that a refactor which must not change behaviour shows any change to JSON output.

The cases are tests/golden/test_*.py, one area each (admin API jobs, reports, Cloud Run commands, databases),
run in this process through the `cli` fixture (the FakeClock's 2026-11-24 10:00 UTC) against real servers:
the sandbox, the Google fakes (seeded), PostgreSQL, the BigQuery emulator. Each case writes or compares
tests/golden/<area>/<case>.golden: per command, `$ housejobs ARGV  → exit N` and then stdout as printed, with
only what differs by nature normalised (tests/support/golden.py: free ports, tmp and checkout paths, uuids
minted from os.urandom, and where a case says so one measured time). Key order and spacing count.

    .venv/bin/python -m pytest tests/golden tests/test_golden_json.py      # compare
    HOUSEJOBS_GOLDEN_UPDATE=1 .venv/bin/python -m pytest tests/golden      # rewrite the expected files

A difference fails with a unified diff of the documents pretty-printed in their own key order. After an
update, review `git diff tests/golden` before committing it.

This module checks the transcripts themselves: every command that takes --json has a case, every file
belongs to a case, and none holds a value that should have been normalised.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import click
import pytest

from housejobs.cli.main import _command
from tests.support.golden import GOLDEN_DIR, PORT, REPO, UUID, case_path, documents, entry, parse

FILES = sorted(GOLDEN_DIR.glob("*/*.golden"))


def json_commands() -> set[tuple[str, ...]]:
    """Every command (path from the root) that takes --json."""
    found: set[tuple[str, ...]] = set()

    def walk(command: click.Command, path: tuple[str, ...]) -> None:
        if path and any("--json" in p.opts for p in command.params if isinstance(p, click.Option)):
            found.add(path)
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, (*path, name))

    walk(_command(), ())
    return found


def command_path(argv: list[str]) -> tuple[str, ...]:
    """The command an argv runs: its leading words that name commands and subcommands."""
    command: click.Command = _command()
    path: list[str] = []
    for word in argv:
        if not isinstance(command, click.Group) or word not in command.commands:
            break
        command = command.commands[word]
        path.append(word)
    return tuple(path)


def cases() -> set[Path]:
    """The .golden file of every case the golden test modules define (one per test, one per parameter)."""
    found: set[Path] = set()
    for module_file in sorted(GOLDEN_DIR.glob("test_*.py")):
        module = importlib.import_module(f"tests.golden.{module_file.stem}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if not name.startswith("test_"):
                continue
            marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "parametrize"]
            assert len(marks) <= 1, f"{name}: name its cases here for more than one parametrize"
            ids = [f"[{value}]" for value in marks[0].args[1]] if marks else [""]
            assert all(isinstance(v, str) for v in (marks[0].args[1] if marks else [])), name
            found.update(case_path(str(module_file), name + i) for i in ids)
    return found


def test_every_json_command_has_a_golden_case() -> None:
    covered = {command_path(c.argv) for path in FILES for c in parse(path.read_text(encoding="utf-8"))}
    assert json_commands() - covered == set(), "commands that print JSON with no golden case"


def test_every_golden_file_belongs_to_a_case() -> None:
    on_disk = set(FILES)
    assert on_disk - cases() == set(), "golden files no case writes (remove them)"
    assert cases() - on_disk == set(), "cases with no golden file (run with HOUSEJOBS_GOLDEN_UPDATE=1)"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_golden_file_is_json_and_normalised(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    found = parse(text)
    assert found, f"{path.name} has no command"
    assert "\n".join(entry(c.line, c.code, c.stdout) for c in found) == text  # read as it was written
    for command in found:
        if command.stdout:
            assert documents(command.stdout), command.line
    assert not PORT.search(text.replace(":PORT", "")), "a free port was left in"
    assert not UUID.search(text), "a uuid was left in"
    for leak in (str(REPO), "/tmp/", "pytest-of-"):
        assert leak not in text, f"{leak} was left in"
