"""Golden JSON transcripts: a test runs CLI commands with `--json` and compares what they printed on stdout,
byte for byte, with a checked-in file (tests/golden/<area>/<case>.golden).

A transcript holds, per command, a header line with the argv and the exit code, then stdout exactly as
printed, after normalising only what cannot be fixed in a test (NORMALISED below). Everything else counts,
key order and spacing included: the comparison is of the text, never of parsed documents.

    $ housejobs quota-reset --api-url http://127.0.0.1:PORT --date 2026-11-24 --json  → exit 0
    {"job": "quota-reset", ...}

With `HOUSEJOBS_GOLDEN_UPDATE=1` a case writes its file instead of comparing (then review `git diff
tests/golden`); without it, a difference fails with a unified diff of the documents pretty-printed in
their own key order (and of the raw text when only the spacing changed).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tests.support.cli import Cli, CliResult

UPDATE_VAR = "HOUSEJOBS_GOLDEN_UPDATE"
GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"
REPO = Path(__file__).resolve().parents[2]
HEADER = re.compile(r"^\$ housejobs (?P<argv>.*)  → exit (?P<code>\d+)$", re.M)
NO_NEWLINE = "\\ no newline at the end of stdout\n"
NO_STDOUT = "\\ no stdout\n"

# What differs from run to run by nature, and what stands in for it. Free ports; the paths of the test's tmp
# folder, the checkout and site-packages (placeholders given per case: Golden.paths); uuid4s, minted by the
# code under test from os.urandom (bootstrap's local run id, the reminder's default jobId), so they cannot be seeded.
# The Google fakes' names and ids come from seeded generators and the clocks are injected, so neither is
# masked: execution names, timestamps and durations are compared as printed.
PORT = re.compile(r"\b(127\.0\.0\.1|localhost):\d{2,5}\b")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
NORMALISED = ("127.0.0.1:<port> → 127.0.0.1:PORT", "uuids → UUID", "the test's tmp folder → <tmp>",
              "the checkout → <repo>", "site-packages → <site-packages>")


def updating() -> bool:
    return os.environ.get(UPDATE_VAR, "") not in ("", "0")


def normalise(text: str, paths: dict[str, str]) -> str:
    # Longest path first: the tmp folder may sit inside another placeholder's path, or the other way round.
    for path, placeholder in sorted(paths.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(path, placeholder)
    text = PORT.sub(lambda m: f"{m.group(1)}:PORT", text)
    return UUID.sub("UUID", text)


def documents(stdout: str) -> list[Any]:
    """The JSON in a command's stdout: one document, or one a line (`logs --json`). Raises if it is not JSON."""
    try:
        return [json.loads(stdout)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def readable(transcript: str) -> list[str]:
    """The transcript with each JSON line pretty-printed in its own key order: what a diff shows."""
    out: list[str] = []
    for line in transcript.splitlines():
        if line.startswith(("{", "[")):
            try:
                out.extend(json.dumps(json.loads(line), indent=2, ensure_ascii=False).splitlines())
                continue
            except json.JSONDecodeError:
                pass
        out.append(line)
    return out


def difference(expected: str, actual: str, name: str) -> str:
    """A unified diff, expected → actual: of the pretty-printed documents, or of the raw text when only
    the formatting differs."""
    want, got = readable(expected), readable(actual)
    if want == got:
        want, got = expected.splitlines(), actual.splitlines()
        note = " (the documents are equal: only the formatting differs)"
    else:
        note = ""
    diff = "\n".join(difflib.unified_diff(want, got, f"{name} (expected)", f"{name} (actual)", lineterm=""))
    return f"{name}: the JSON output changed{note}; if that is intended, rerun with {UPDATE_VAR}=1 and review " \
           f"`git diff tests/golden`\n{diff}"


@dataclass
class Golden:
    """One case: `golden(*argv, env=..., ...)` runs the CLI like the `cli` fixture and records the command;
    `golden.check()` compares the transcript with tests/golden/<area>/<case>.golden (or writes it)."""

    cli: Cli
    path: Path
    paths: dict[str, str] = field(default_factory=dict)
    entries: list[str] = field(default_factory=list)
    checked: bool = False
    masks: list[tuple[re.Pattern[str], str]] = field(default_factory=list)

    def mask(self, pattern: str, placeholder: str) -> None:
        """Mask one more volatile value in this case's output (a measured time the test cannot fix): say why
        where it is called."""
        self.masks.append((re.compile(pattern), placeholder))

    def normalise(self, text: str) -> str:
        text = normalise(text, self.paths)
        for pattern, placeholder in self.masks:
            text = pattern.sub(placeholder, text)
        return text

    def __call__(self, *argv: str, **kw: Any) -> CliResult:
        result = self.cli(*argv, **kw)
        self.record(argv, result)
        return result

    def record(self, argv: tuple[str, ...], result: CliResult) -> None:
        if result.stdout:
            documents(result.stdout)  # every case prints JSON on stdout: fail here if one does not
        self.entries.append(entry(self.normalise(shlex.join(argv)), result.code, self.normalise(result.stdout)))

    @property
    def transcript(self) -> str:
        return "\n".join(self.entries)

    def check(self) -> None:
        self.checked = True
        assert self.entries, "a golden case must run at least one command"
        actual = self.transcript
        name = str(self.path.relative_to(REPO))
        if updating():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists() or self.path.read_text(encoding="utf-8") != actual:
                self.path.write_text(actual, encoding="utf-8")
            return
        assert self.path.exists(), f"{name} does not exist: run the golden tests with {UPDATE_VAR}=1 to write it"
        expected = self.path.read_text(encoding="utf-8")
        assert expected == actual, difference(expected, actual, name)


def case_path(module_file: str, test_name: str) -> Path:
    """tests/golden/test_<area>.py::test_<case>[<params>] → tests/golden/<area>/<case>-<params>.golden."""
    area = Path(module_file).stem.removeprefix("test_")
    case = re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name.removeprefix("test_")).strip("-")
    return GOLDEN_DIR / area / f"{case}.golden"


class Command(NamedTuple):
    line: str  # the argv as the header shows it (shell-quoted, normalised)
    argv: list[str]
    code: int
    stdout: str  # normalised


def entry(line: str, code: int, stdout: str) -> str:
    """One command's part of a transcript."""
    body = stdout or NO_STDOUT
    if not body.endswith("\n"):
        body += "\n" + NO_NEWLINE
    return f"$ housejobs {line}  → exit {code}\n{body}"


def parse(transcript: str) -> list[Command]:
    """A transcript's commands, in order; `"\n".join(entry(...) for each)` gives the transcript back."""
    heads = list(HEADER.finditer(transcript))
    found = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() - 1 if i + 1 < len(heads) else len(transcript)  # less the blank line between
        body = transcript[head.end() + 1:end]
        stdout = "" if body == NO_STDOUT else body.removesuffix("\n" + NO_NEWLINE)
        found.append(Command(head["argv"], shlex.split(head["argv"]), int(head["code"]), stdout))
    return found
