"""Outcomes, exit codes and the result every job returns.

One table, here and in the README: a job's outcome decides the process's exit code, so Cloud Run
(which retries any non-zero exit) and operators read the same thing.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from housejobs.stopping import signal_exit_code


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    DRY_RUN = "dry-run"
    REFUSED = "refused"
    PARTIAL = "partial"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    # Cloud Run only: what a run that starts executions can say when the job itself has not spoken.
    STARTED = "started"
    UNCONFIRMED = "unconfirmed"


EXIT_CODES: dict[Outcome, int] = {
    Outcome.APPLIED: 0,
    Outcome.DUPLICATE: 0,
    Outcome.SKIPPED: 0,
    Outcome.DRY_RUN: 0,
    Outcome.REFUSED: 2,
    Outcome.PARTIAL: 3,
    Outcome.FAILED: 1,
    Outcome.INTERRUPTED: 130,
    Outcome.STARTED: 0,
    Outcome.UNCONFIRMED: 0,
}



@dataclass(frozen=True)
class PlannedCall:
    """A mutating call a dry run would have sent."""

    method: str
    path: str
    idempotency_key: str | None
    body: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "idempotency_key": self.idempotency_key,
                "body": self.body}


# --- what a result shows beyond its summary: data, drawn by the one renderer (cli/render.py) ------------------
@dataclass(frozen=True)
class Table:
    """Rows of cells under column names (list-jobs, migrate status, smoke's executions).

    A row shorter than the columns is a note under the rows above it (list-jobs' `! also started by …`):
    its last cell runs on over the columns it lacks, and widens none of them.

    Without a header it is an aligned list under its title (a plan's changes, config show's settings,
    history's slots): no column names, no rule, each line `indent` + its cells `gap` apart. A column of
    `widths` (> 0) is that wide whatever its cells, so the list keeps its shape from run to run (a longer
    cell pushes the rest of its row on); 0 or none: as wide as its widest cell."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""
    header: bool = True
    widths: tuple[int, ...] = ()
    indent: str = ""
    gap: str = "  "


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class Checklist:
    """One line per check, passed or not (doctor, smoke)."""

    checks: tuple[Check, ...]
    title: str = ""

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


@dataclass(frozen=True)
class Lines:
    """A block of text lines (a report's heading, the warnings under a table): drawn as they are, each fitted
    to a terminal's width with its continuations indented."""

    lines: tuple[str, ...]
    title: str = ""


@dataclass(frozen=True)
class GridRow:
    label: str
    cells: tuple[str | None, ...]  # each column's state; None: nothing there
    note: str = ""  # beside the row's last block: what is true now (`trigger paused`)


@dataclass(frozen=True)
class Grid:
    """History's grid: a row of slot states per job and trigger, one column per UTC day.

    Data only: the renderer draws each state as its glyph and (on a terminal) its colour, from its one
    table of looks (cli/palette.py), cuts the columns into blocks of at most `block` that fit the width,
    names each block's groups (months) over its columns, and ends with the legend."""

    columns: tuple[str, ...]  # each column's label: its day, `26`
    groups: tuple[str, ...]  # each column's group: its month, `Oct`
    rows: tuple[GridRow, ...]
    block: int = 31


View = Table | Checklist | Lines | Grid


@dataclass
class JobResult:
    outcome: Outcome
    message: str = ""  # what happened, one sentence
    counts: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    planned: list[PlannedCall] = field(default_factory=list)
    failures: list[dict[str, str]] = field(default_factory=list)
    signal: int | None = None
    # What a terminal shows after the summary line, as data: tables, checklists, blocks of lines.
    views: list[View] = field(default_factory=list)
    # Where the run's calls went and the business period it applied to, when the job knows better than
    # the context (the summary, the notification and the log name them).
    target: str | None = None
    period: str | None = None
    # A report's own JSON document (list-jobs, doctor, config show keep the shape their users script
    # against); None: `--json` prints the run document.
    document: dict[str, Any] | None = None
    # The fix, when the outcome needs one (a refusal's `pass --yes`): shown on a line of its own.
    hint: str | None = None

    @property
    def exit_code(self) -> int:
        if self.outcome is Outcome.INTERRUPTED and self.signal is not None:
            return signal_exit_code(self.signal)
        return EXIT_CODES[self.outcome]


@dataclass
class Run:
    """A finished run (runner.execute): its result, the facts the summary names, and how the caller asked
    to see it. The CLI renders it and exits with its outcome's code."""

    result: JobResult
    meta: dict[str, Any]
    as_json: bool = False
    # A report (list-jobs, config show, doctor) prints its own view or document and logs no run summary.
    report: bool = False

