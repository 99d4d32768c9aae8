"""The plan: local migration files compared with the ledger's rows (migrations/ledger.py).

Each version is applied, pending, missing (in the ledger, no file), changed (the file no longer
normalises to the statements recorded when it was applied) or out-of-order (pending but older than the
newest applied one). The plan refuses what applying would make worse; it reads and writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from housejobs.migrations.files import Migration, version_key
from housejobs.migrations.sql import MigrationError, leading_words, normalise

Status = Literal["applied", "pending", "missing", "changed", "out-of-order"]


@dataclass(frozen=True)
class StatusRow:
    version: str
    name: str
    status: Status


@dataclass(frozen=True)
class MigrationPlan:
    rows: tuple[StatusRow, ...]
    pending: tuple[Migration, ...]
    refusals: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.refusals


_TX_START = frozenset({"BEGIN", "START"})
_TX_END = frozenset({"COMMIT", "END"})
_TX_CONTROL = _TX_START | _TX_END | {"ROLLBACK", "ABORT"}


def _transaction_control_problem(migration: Migration) -> str | None:
    """Why running this file inside our transaction would break its atomicity, if it would.

    A file wrapped in BEGIN ... COMMIT is fine (the inner BEGIN only warns and the file's COMMIT commits
    our ledger row with it); a COMMIT or ROLLBACK anywhere else would commit or drop part of the file
    and the ledger row apart from the rest.
    """
    last = len(migration.statements) - 1
    for index, statement in enumerate(migration.statements):
        words = leading_words(statement, 3)
        if not words or words[0] not in _TX_CONTROL:
            continue
        if words[0] == "ROLLBACK" and "TO" in words:
            continue  # ROLLBACK TO SAVEPOINT stays inside the transaction
        if index == 0 and words[0] in _TX_START:
            continue
        if index == last and words[0] in _TX_END:
            continue
        return (f"{migration.label}: statement {index + 1} is {words[0]}; each migration runs in one "
                "transaction, so transaction control is only allowed as a leading BEGIN and a "
                "trailing COMMIT")
    return None


def _recorded_statements(row: Mapping[str, Any]) -> tuple[str, ...] | None:
    statements = row.get("statements")
    if statements is None:
        return None  # written by an old CLI or `migration repair`; nothing to compare against
    if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
        raise MigrationError(f"history row {row.get('version')!r}: statements is not a text array")
    return tuple(statements)


def plan(local: Sequence[Migration], ledger_rows: Sequence[Mapping[str, Any]], *,
         include_all: bool = False) -> MigrationPlan:
    """Compare local files with the ledger: what is applied, pending, missing or changed.

    Refuses (MigrationPlan.refusals non-empty) when a ledger version has no file, when an applied file's
    statements no longer normalise to what was recorded, when a pending version is older than the
    newest applied one (unless include_all, as `supabase db push --include-all`), or when a pending
    file contains transaction control that would break its single transaction.
    """
    ledger: dict[str, Mapping[str, Any]] = {}
    for row in ledger_rows:
        version = row.get("version")
        if not isinstance(version, str):
            raise MigrationError(f"history row without a text version: {row!r}")
        ledger[version] = row
    local_by_version = {m.version: m for m in local}
    newest = max(ledger, key=version_key) if ledger else None

    rows: list[StatusRow] = []
    pending: list[Migration] = []
    refusals: list[str] = []
    for version in sorted(set(ledger) | set(local_by_version), key=version_key):
        migration = local_by_version.get(version)
        if migration is None:
            name = str(ledger[version].get("name") or "")
            rows.append(StatusRow(version, name, "missing"))
            refusals.append(f"{version} {name}: in the history but no local file (missing); restore "
                            "the file or repair the history")
            continue
        if version in ledger:
            recorded = _recorded_statements(ledger[version])
            if recorded is not None and normalise(recorded) != normalise(migration.statements):
                rows.append(StatusRow(version, migration.name, "changed"))
                refusals.append(f"{migration.label}: the file no longer matches the statements "
                                "recorded when it was applied (changed); revert the edit and put the "
                                "change in a new migration")
            else:
                rows.append(StatusRow(version, migration.name, "applied"))
            continue
        if newest is not None and version_key(version) < version_key(newest) and not include_all:
            rows.append(StatusRow(version, migration.name, "out-of-order"))
            refusals.append(f"{migration.label}: older than the newest applied migration {newest} "
                            "(out-of-order); rerun with include_all to apply it anyway")
        else:
            rows.append(StatusRow(version, migration.name, "pending"))
        pending.append(migration)
        problem = _transaction_control_problem(migration)
        if problem is not None:
            refusals.append(problem)
    return MigrationPlan(tuple(rows), tuple(pending), tuple(refusals))

