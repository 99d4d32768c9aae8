"""Applying migrations through an injected `query(sql)` coroutine, and what the run comes to.

`run_migrations` never speaks HTTP itself: the caller hands it a `query` function (jobs/migrate.py's
calls the Supabase Management API; tests pass the local stand-in in tests/fakes/supabase.py), which
raises QueryError for a non-2xx answer. One request per migration, each one transaction under the
advisory lock (ledger.py writes the text); `MigrateResult.outcome` maps the run to the project's
outcome table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from housejobs.migrations.files import Migration
from housejobs.migrations.ledger import LEDGER_DDL, apply_sql, is_duplicate_error, ledger_query
from housejobs.migrations.plan import MigrationPlan, plan
from housejobs.migrations.sql import MigrationError

QueryFn = Callable[[str], Awaitable[list[dict[str, Any]]]]


class QueryError(Exception):
    """A non-2xx answer from the query endpoint; the caller's HTTP client raises it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class ApplyStopped(Exception):
    """`query` failed with something other than a QueryError while applying `version`; the run stops.

    The original error is the `__cause__`; `applied` and `duplicates` are what this run did before it.
    """

    def __init__(self, version: str, applied: tuple[str, ...], duplicates: tuple[str, ...]) -> None:
        super().__init__(f"stopped while applying {version}")
        self.version = version
        self.applied = applied
        self.duplicates = duplicates


@dataclass(frozen=True)
class MigrateResult:
    plan: MigrationPlan  # the plan this run started from (its rows are the status table)
    applied: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()  # applied by a concurrent run while we waited on the lock
    failed: str | None = None  # the version that failed
    error: str | None = None  # the database's error text for it
    refusals: tuple[str, ...] = ()
    dry_run: bool = False
    stopped: bool = False  # `stop()` said so before a pending migration: the rest are left for a rerun

    @property
    def outcome(self) -> str:
        """The outcome name from the project's outcome table (results.Outcome values); `migrate` reports it.

        A failed migration is `failed` even after earlier ones applied: migrations are a sequence, the
        ones before are complete units, and the release must stop. A refusal after some applied (a
        re-plan found a changed file) is `partial`: nothing failed, but not all that was asked is done."""
        if self.stopped:
            return "interrupted"
        if self.failed is not None:
            return "failed"
        if self.refusals:
            return "partial" if self.applied else "refused"
        if self.dry_run:
            return "dry-run"
        if self.applied:
            return "applied"
        if self.duplicates:
            return "duplicate"
        return "skipped"


async def _read_ledger(query: QueryFn, *, allow_missing_table: bool) -> list[dict[str, Any]]:
    try:
        rows = await query(ledger_query())
    except QueryError as exc:
        # 42P01 undefined_table: only a dry run reads before creating the table.
        if allow_missing_table and "42P01" in exc.message:
            return []
        raise
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise MigrationError(f"unexpected answer to the history query: {rows!r}")
    return rows


async def run_migrations(query: QueryFn, local: Sequence[Migration], *, include_all: bool = False,
                         dry_run: bool = False, stop: Callable[[], bool] | None = None) -> MigrateResult:
    """Ensure the ledger table, plan, and apply pending migrations one request each, in order.

    A duplicate (another run applied that version while we waited on the lock) re-reads the ledger
    and plans again. The first real failure stops the run. A dry run only reads. QueryErrors from the
    table setup and ledger reads propagate, as does anything else `query` raises; while applying,
    anything else is raised as ApplyStopped (from the error). `stop()` (a signal arrived) is asked
    before each migration: once it is true, no new migration starts.
    """
    if not dry_run:
        await query(LEDGER_DDL)
    ledger = await _read_ledger(query, allow_missing_table=dry_run)
    first = plan(local, ledger, include_all=include_all)
    if first.refusals:
        return MigrateResult(plan=first, refusals=first.refusals, dry_run=dry_run)
    if dry_run:
        return MigrateResult(plan=first, dry_run=True)

    applied: list[str] = []
    duplicates: list[str] = []
    queue = list(first.pending)
    while queue:
        if stop is not None and stop():
            return MigrateResult(plan=first, applied=tuple(applied), duplicates=tuple(duplicates), stopped=True)
        migration = queue.pop(0)
        try:
            await query(apply_sql(migration))
        except QueryError as exc:
            if not is_duplicate_error(exc.message):
                return MigrateResult(plan=first, applied=tuple(applied), duplicates=tuple(duplicates),
                                     failed=migration.version, error=exc.message)
            duplicates.append(migration.version)
            replanned = plan(local, await _read_ledger(query, allow_missing_table=False),
                             include_all=include_all)
            if replanned.refusals:
                # e.g. the other run applied a different edition of a file; stop as plan would have.
                return MigrateResult(plan=first, applied=tuple(applied), duplicates=tuple(duplicates),
                                     refusals=replanned.refusals)
            if any(m.version == migration.version for m in replanned.pending):
                # Without this, a key conflict that the ledger does not show would loop forever.
                return MigrateResult(plan=first, applied=tuple(applied), duplicates=tuple(duplicates),
                                     failed=migration.version,
                                     error=f"duplicate key reported but {migration.version} is not "
                                           f"in the history: {exc.message}")
            queue = list(replanned.pending)
            continue
        except Exception as exc:
            raise ApplyStopped(migration.version, tuple(applied), tuple(duplicates)) from exc
        applied.append(migration.version)
    return MigrateResult(plan=first, applied=tuple(applied), duplicates=tuple(duplicates))
