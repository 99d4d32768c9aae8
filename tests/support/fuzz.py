"""What the fuzz tests (tests/reliability/test_fuzz_*.py) assert about every run, and the hostile strings they draw.

"One line", precisely. The CLI ends a failed run in one of two shapes, and either is one error line:

- a usage error Click finds before any job starts (unknown command or option, a value that is not a
  number): stdout is empty and stderr is exactly one line, `error: <message>`, and at most one more with
  its fix, `hint: <fix>` (the info commands, `config show` and `list-jobs`, fail the same way);
- a job run: off a terminal stderr is Cloud Logging JSON, one object a line. The last record is the
  canonical `run_summary`; besides it at most one record has severity ERROR, and when the run raised
  (every refusal does) exactly one, whose message is the result's message. Retry warnings (WARNING,
  one a line) may come before it. stdout holds the result: with --json one JSON document whose
  `message` (and `hint`, the fix, when there is one) has no line break; the ERROR record carries the same
  hint as a field of its own.

Every run also: an exit code from the documented table, no "Traceback", and no "internal error" (an
error the boundary had to catch because no part of the code understood it).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.support.cli import CliResult

EXIT_CODES = {0, 1, 2, 3}
# Examples per property are sized so the three fuzz files take well under a minute on 2 cores (one
# in-process CLI run costs ~35 ms, most of it Typer building the command tree); HOUSEJOBS_FUZZ_SCALE=10
# digs ten times deeper.
SCALE = float(os.environ.get("HOUSEJOBS_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    # No example database: a failure prints its example, and the fix pins it with @example.
    return settings(max_examples=max(1, round(examples * SCALE)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def usage_error_line(result: CliResult) -> str:
    """The one `error: ...` line of a run that stopped before any job ran, and its `hint: ...` line if it
    has one, joined after `; `."""
    assert result.stdout == "", result.stdout
    lines = result.stderr.split("\n")
    assert lines[-1] == "" and len(lines) in (2, 3), f"want one stderr line and a hint, got {result.stderr!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert len(lines) == 2 or lines[1].startswith("hint: "), lines[1]
    assert "Traceback" not in result.stderr
    return "; ".join(lines[:-1])


def log_records(result: CliResult) -> list[dict[str, Any]]:
    records = []
    for line in result.stderr.split("\n")[:-1]:
        record = json.loads(line)  # every stderr line is one JSON object off a terminal
        assert isinstance(record, dict) and {"severity", "message", "time"} <= set(record), line
        records.append(record)
    assert result.stderr.endswith("\n"), result.stderr
    return records


def job_error_line(result: CliResult, *, raised: bool = True) -> str:
    """The one error line of a job run that ended non-zero; `raised`: the job raised (not returned) it.

    The run must have used --json, so stdout is one document.
    """
    assert result.code in EXIT_CODES - {0}, (result.code, result.stdout, result.stderr)
    records = log_records(result)
    assert records, "no log records"
    summary = records[-1]
    assert summary.get("event") == "run_summary", summary
    assert summary["exit_code"] == result.code
    errors = [r for r in records[:-1] if r["severity"] == "ERROR"]
    assert all(r.get("event") != "run_summary" for r in records[:-1]), "more than one summary"
    doc = json.loads(result.stdout)
    message, hint = doc["message"], doc["hint"]
    assert isinstance(message, str) and message and "\n" not in message and "\r" not in message, message
    assert hint is None or (isinstance(hint, str) and hint and "\n" not in hint and "\r" not in hint), hint
    assert doc["exit_code"] == result.code and doc["outcome"] == summary["outcome"]
    if raised:
        assert len(errors) == 1, errors
        assert errors[0]["message"] == message and errors[0].get("hint") == hint, (errors[0], hint)
    else:
        assert len(errors) <= 1, errors
    for text in (message, *(r["message"] for r in records)):
        assert "internal error" not in text, text
        assert "Traceback" not in text
    return f"{message}; {hint}" if hint else message


def refused_line(result: CliResult) -> str:
    """Bad input: exit 2 and one error line, whichever part of the CLI caught it."""
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    if result.stdout == "":
        return usage_error_line(result)
    message = job_error_line(result)
    assert json.loads(result.stdout)["outcome"] == "refused"
    return message


# --- hostile strings ---------------------------------------------------------------------------------
_SPECIAL = [
    "", " ", "\t", "\n", "\r\n", "\x00", "\x1b[31m", "\u202e", "\ufeff", "\u00a0", "-", "--", "-y", "--yes",
    "--env=prod", "--json", "--help", "-h", "--version", "--date=2026-11-24", "=", "null", "None", "true",
    "0", "-1", "1e9", "nan", "inf", "-inf", "$(id)", "`id`", "'; DROP TABLE orgs; --", "../../etc/passwd",
    "%s%n%x", "{0}", "${HOME}", "\\", "\"", "'", "２０２６-１１-２４", "٢٠٢٦-١١", "2026-11\n", "\udcff\udcfe",
    "a" * 10_000,
]


def surrogates() -> st.SearchStrategy[str]:
    """What Python puts in argv for bytes that are not UTF-8 (surrogateescape)."""
    return st.text(st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF), min_size=1, max_size=4)


def hostile_text() -> st.SearchStrategy[str]:
    """Unicode, empty, very long, control characters, option-looking and shell-looking strings."""
    return st.one_of(
        st.sampled_from(_SPECIAL),
        st.text(max_size=40),
        st.text(st.characters(codec="ascii"), max_size=20),
        st.text(st.characters(categories=["Cc", "Zs", "Zl", "Zp", "Cf"]), min_size=1, max_size=6),
        st.builds(lambda a, b: a + b, st.sampled_from(_SPECIAL), st.text(max_size=8)),
        surrogates(),
        st.text(min_size=2000, max_size=6000),
    )


def near(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Valid values made slightly wrong: padded, truncated, a character swapped, a digit widened."""
    def mutate(value: str, how: int, char: str, pos: int) -> str:
        pos = pos % (len(value) + 1)
        if how == 0:
            return value + char
        if how == 1:
            return char + value
        if how == 2:
            return value[:pos] + char + value[pos:]
        if how == 3:
            return value[:pos] + value[pos + 1:]
        if how == 4:
            return value[:pos] + char + value[pos + 1:]
        # a digit replaced by the same digit from another script (\d matches them; the contract does not)
        return "".join(chr(0xFF10 + int(c)) if c.isdigit() and i == pos else c for i, c in enumerate(value))

    return st.builds(mutate, valid, st.integers(0, 5),
                     st.one_of(st.sampled_from(["\n", " ", "\x00", "/", "-", "0", "a", "Z", "_", "\u0660"]),
                               st.characters()),
                     st.integers(0, 64))
