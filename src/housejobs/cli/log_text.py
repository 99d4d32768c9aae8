"""A job's log lines as a person reads them, and as entries for a program (`logs --json`).

    10:00:01.234  INFO     task 0  quota-reset duplicate  outcome=duplicate exit_code=0 counts={"orgs_reset":25}

Time (UTC; the date too when the lines span days), severity, the task (and its attempt after the first),
the message, then the fields that matter: the job's own fields, without the ones every line carries.
"""

from __future__ import annotations

import json
from typing import Any

from housejobs.cli.text import pad
from housejobs.gcp.log_query import LogLine
from housejobs.redact import printable, redact

# Fields every line of ours carries, or that repeat what the line already shows.
QUIET_FIELDS = frozenset({"logging.googleapis.com/labels", "time", "severity", "target"})
SEVERITY_WIDTH, TASK_WIDTH = 8, 6  # `CRITICAL`, `task 0` (a longer one, `task 12#1`, pushes the line on)


def line_text(line: LogLine, *, dates: bool = False) -> str:
    when = line.time.strftime("%Y-%m-%d %H:%M:%S.%f" if dates else "%H:%M:%S.%f")[:-3]
    task = "" if line.task is None else f"task {line.task}" + (f"#{line.attempt}" if line.attempt else "")
    extras = " ".join(f"{k}={_short(v)}" for k, v in line.fields.items() if k not in QUIET_FIELDS and v is not None)
    text = "  ".join(p for p in (when, pad(line.severity, SEVERITY_WIDTH), pad(task, TASK_WIDTH), line.message) if p)
    # A job's own words, from Cloud Logging: shown, never obeyed by the terminal.
    return printable(text + (f"  {extras}" if extras else ""))


def line_json(line: LogLine) -> str:
    """The entry as Cloud Logging returned it, one JSON object a line."""
    return redact(json.dumps(line.entry, separators=(",", ":"), default=str))


def _short(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), default=str)
    return str(value)
