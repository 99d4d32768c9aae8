"""Supabase migration files, the history table, and the plan that compares them.

`migrate` applies `<version>_<name>.sql` files through the Supabase Management API's query endpoint
and never connects to the database itself. This module is the pure part: it reads the migration
directory, splits and normalises SQL, plans, and writes the SQL text that is sent. The HTTP client is
injected into `run_migrations` as a `query` coroutine, so the same code runs against the real API, the
local stand-in in tests/fakes/supabase.py, or anything else that executes SQL.

History lives where the Supabase CLI keeps it, `supabase_migrations.schema_migrations (version text
primary key, statements text[], name text)`, written the way the CLI writes it (statements split by its
parser, each stripped of its `;` and surrounding whitespace), so `supabase migration list` and housejobs
agree about what is applied.

Exceptions:

    MigrationError (ValueError)   bad input: unreadable or misnamed files, duplicate versions,
                                  unterminated quotes/comments, an unexpected history answer
    QueryError (Exception)        raised by the caller's `query` for a non-2xx answer; `run_migrations`
                                  turns it into a duplicate, a failed unit, or (dry run) a missing table
    ApplyStopped (Exception)      anything else `query` raised while applying (auth lost, API gone):
                                  says which migrations this run had applied; the cause is chained
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

__all__ = [
    "HISTORY_DDL",
    "HISTORY_TABLE",
    "LOCK_KEY",
    "ApplyStopped",
    "MigrateResult",
    "Migration",
    "MigrationError",
    "Plan",
    "QueryError",
    "QueryFn",
    "Status",
    "StatusRow",
    "apply_sql",
    "history_query",
    "is_duplicate_error",
    "load_dir",
    "normalise",
    "plan",
    "run_migrations",
    "split_statements",
]

HISTORY_TABLE = "supabase_migrations.schema_migrations"

# One bigint for every housejobs migrate against a database: the ASCII bytes of "housejob". Transaction
# scoped, so a crashed run can never leave it held.
LOCK_KEY = int.from_bytes(b"housejob", "big")

# The Supabase CLI's own statements (pkg/migration/history.go), so a table it created and one we created
# are the same table. Run under our advisory lock because two concurrent CREATE ... IF NOT EXISTS can
# still collide on the catalog's unique indexes; the CLI's 4 s lock_timeout keeps the ALTERs from
# queueing indefinitely behind traffic on the table, and is set after the advisory lock so waiting for
# another migrate does not count against it.
HISTORY_DDL = f"""BEGIN;
SELECT pg_advisory_xact_lock({LOCK_KEY});
SET LOCAL lock_timeout = '4s';
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS {HISTORY_TABLE} (version text NOT NULL PRIMARY KEY);
ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS statements text[];
ALTER TABLE {HISTORY_TABLE} ADD COLUMN IF NOT EXISTS name text;
COMMIT;"""

# The CLI's file pattern (pkg/migration/file.go): digits, underscore, anything, ".sql".
_FILE_PATTERN = re.compile(r"^([0-9]+)_(.*)\.sql$")

Status = Literal["applied", "pending", "missing", "changed", "out-of-order"]
QueryFn = Callable[[str], Awaitable[list[dict[str, Any]]]]


class MigrationError(ValueError):
    """Bad input: a migration file, the directory, or a history answer we cannot trust."""


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
class Migration:
    version: str
    name: str
    path: Path
    sql: str
    statements: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.version}_{self.name}"


# --------------------------------------------------------------------------------------------------
# Lexer: PostgreSQL's lexical rules, as far as statement boundaries and normalisation need them.

class _Tok(NamedTuple):
    kind: Literal["ws", "comment", "quoted", "word", "op", "semi", "punct"]
    start: int
    end: int


_WS = re.compile(r"\s+")
_WORD_RUN = re.compile(r"[\w$\x80-\U0010ffff]+")
_DIGITS = re.compile(r"[0-9]+")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_OP_CHARS = frozenset("+-*/<>=~!@#%^&|`?")


def _is_ident_char(c: str) -> bool:
    return c.isalnum() or c in "_$" or ord(c) >= 0x80


def _scan_quoted(sql: str, i: int, quote: str, *, backslash: bool) -> int | None:
    """End of the literal opened at sql[i]; a doubled quote (and in E'' strings a backslash) escapes."""
    n = len(sql)
    j = i + 1
    while j < n:
        c = sql[j]
        if backslash and c == "\\":
            j += 2
        elif c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
            else:
                return j + 1
        else:
            j += 1
    return None


def _scan_block_comment(sql: str, i: int) -> int | None:
    # PostgreSQL block comments nest, unlike C's.
    depth = 0
    n = len(sql)
    j = i
    while j < n:
        if sql.startswith("/*", j):
            depth += 1
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return None


def _tokenize(sql: str) -> tuple[list[_Tok], str | None]:
    """Tokens covering all of sql, and an error when a quote or comment is never closed."""
    toks: list[_Tok] = []
    n = len(sql)
    i = 0
    error: str | None = None
    while i < n:
        c = sql[i]
        end: int | None
        if c.isspace():
            m = _WS.match(sql, i)
            assert m is not None
            toks.append(_Tok("ws", i, m.end()))
            i = m.end()
            continue
        if sql.startswith("--", i):
            nl = sql.find("\n", i)
            end = n if nl < 0 else nl
            toks.append(_Tok("comment", i, end))
            i = end
            continue
        if sql.startswith("/*", i):
            end = _scan_block_comment(sql, i)
            if end is None:
                error, end = f"unterminated /* comment at offset {i}", n
            toks.append(_Tok("comment", i, end))
            i = end
            continue
        if c in "'\"":
            end = _scan_quoted(sql, i, c, backslash=False)
            if end is None:
                error, end = f"unterminated {c}-quoted text at offset {i}", n
            toks.append(_Tok("quoted", i, end))
            i = end
            continue
        if c == "$":
            m = _DOLLAR_TAG.match(sql, i)
            if m is not None:
                close = sql.find(m.group(), m.end())
                if close < 0:
                    error, end = f"unterminated dollar-quoted string {m.group()} at offset {i}", n
                else:
                    end = close + len(m.group())
                toks.append(_Tok("quoted", i, end))
                i = end
                continue
            m = _DIGITS.match(sql, i + 1)
            if m is not None:  # a positional parameter such as $1
                toks.append(_Tok("word", i, m.end()))
                i = m.end()
                continue
            toks.append(_Tok("punct", i, i + 1))
            i += 1
            continue
        if c == ";":
            toks.append(_Tok("semi", i, i + 1))
            i += 1
            continue
        if _is_ident_char(c):
            m = _WORD_RUN.match(sql, i)
            assert m is not None
            end = m.end()
            if m.group() in ("E", "e") and end < n and sql[end] == "'":
                # E'...' is the one string form where backslash escapes the quote.
                quoted_end = _scan_quoted(sql, end, "'", backslash=True)
                if quoted_end is None:
                    error, quoted_end = f"unterminated E'' string at offset {i}", n
                toks.append(_Tok("quoted", i, quoted_end))
                i = quoted_end
                continue
            toks.append(_Tok("word", i, end))
            i = end
            continue
        if c in _OP_CHARS:
            # An operator never contains -- or /*: those start a comment (PostgreSQL lexical rules).
            j = i + 1
            while j < n and sql[j] in _OP_CHARS and not sql.startswith(("--", "/*"), j):
                j += 1
            toks.append(_Tok("op", i, j))
            i = j
            continue
        toks.append(_Tok("punct", i, i + 1))
        i += 1
    return toks, error


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements the way the Supabase CLI's `parser.SplitAndTrim` does.

    A `;` ends a statement unless it is inside a quote, dollar quote, comment, parentheses or a
    `BEGIN ATOMIC ... END` body; each statement is stripped of surrounding whitespace and its `;`, and
    empty ones are dropped. A comment after the last `;` stays a statement of its own, as in the CLI.
    Unlike the CLI (which ends an atomic body at the first "END" it sees, even inside a CASE), CASE
    ... END pairs are counted, as psql does. Raises MigrationError for an unterminated quote or comment,
    which would otherwise swallow the COMMIT that apply_sql appends.
    """
    toks, error = _tokenize(sql)
    if error is not None:
        raise MigrationError(error)
    statements: list[str] = []
    start = 0
    parens = 0
    atomic = 0
    prev_word: str | None = None
    for tok in toks:
        if tok.kind in ("ws", "comment"):
            continue
        if tok.kind == "word":
            word = sql[tok.start:tok.end].upper()
            if (word == "ATOMIC" and prev_word == "BEGIN") or (atomic and word == "CASE"):
                atomic += 1
            elif atomic and word == "END":
                atomic -= 1
            prev_word = word
            continue
        prev_word = None
        if tok.kind == "punct" and sql[tok.start] == "(":
            parens += 1
        elif tok.kind == "punct" and sql[tok.start] == ")":
            parens = max(0, parens - 1)
        elif tok.kind == "semi" and parens == 0 and atomic == 0:
            piece = sql[start:tok.start].strip()
            if piece:
                statements.append(piece)
            start = tok.end
    tail = sql[start:].strip()
    if tail:
        statements.append(tail)
    return statements


def _needs_space(left: str, right: str) -> bool:
    # Whitespace only matters where removing it would merge two tokens: two words (`create table`,
    # `as $$`) or two operators (`- -`). Everywhere else, `t (x)` and `t(x)` are the same SQL.
    a, b = left[-1], right[0]
    return (_is_ident_char(a) and _is_ident_char(b)) or (a in _OP_CHARS and b in _OP_CHARS)


def normalise(statements: Iterable[str]) -> str:
    """One canonical text for a migration: comments dropped, insignificant whitespace dropped,
    empty statements dropped, statements joined with `;`.

    The text does not depend on where the statements were split, so statements stored by the Supabase
    CLI compare equal to ours even where the two splitters disagree. Quoted text is kept verbatim.
    """
    text = "\n;\n".join(statements)  # newline first: a statement may end in a -- comment
    toks, _ = _tokenize(text)  # an unterminated tail is kept as one token; comparison still works
    out: list[str] = []
    spaced = False
    for tok in toks:
        if tok.kind in ("ws", "comment"):
            spaced = True
            continue
        piece = text[tok.start:tok.end]
        if tok.kind == "semi":
            if out and out[-1] != ";":
                out.append(";")
            spaced = False
            continue
        if spaced and out and _needs_space(out[-1], piece):
            out.append(" ")
        out.append(piece)
        spaced = False
    while out and out[-1] == ";":
        out.pop()
    return "".join(out)


# --------------------------------------------------------------------------------------------------
# Files


def _version_key(version: str) -> tuple[int, str]:
    # Numeric order, so 9_a sorts before 10_b; the CLI's 14-digit timestamps order the same either way.
    return (int(version) if version.isdigit() else -1, version)


def load_dir(path: Path) -> tuple[list[Migration], list[str]]:
    """Read `<version>_<name>.sql` files from path, sorted by version; warnings name skipped files.

    A missing directory is an error rather than "nothing to apply", so a mistyped path cannot pass
    as a successful run.
    """
    if not path.is_dir():
        raise MigrationError(f"migrations directory not found: {path}")
    migrations: list[Migration] = []
    warnings: list[str] = []
    by_number: dict[int, Path] = {}
    for entry in sorted(path.iterdir()):
        if entry.is_dir() or entry.name.startswith("."):
            continue
        m = _FILE_PATTERN.match(entry.name)
        if m is None:
            warnings.append(f"skipped {entry.name}: file name must match <version>_<name>.sql")
            continue
        version, name = m.group(1), m.group(2)
        number = int(version)
        if number in by_number:
            # 001_a and 1_b are different history keys but one position in the order; refuse both.
            raise MigrationError(
                f"duplicate migration version {version}: {by_number[number].name} and {entry.name}")
        by_number[number] = entry
        try:
            sql = entry.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MigrationError(f"cannot read {entry.name}: {exc}") from exc
        if "\x00" in sql:
            raise MigrationError(f"{entry.name} contains a NUL byte, which PostgreSQL text cannot hold")
        try:
            statements = tuple(split_statements(sql))
        except MigrationError as exc:
            raise MigrationError(f"{entry.name}: {exc}") from exc
        migrations.append(Migration(version, name, entry, sql, statements))
    migrations.sort(key=lambda mig: _version_key(mig.version))
    return migrations, warnings


# --------------------------------------------------------------------------------------------------
# History and plan


def history_query() -> str:
    """The SQL that reads history: rows of version, name, statements (text[] or null), by version."""
    return ("SELECT version, coalesce(name, '') AS name, statements "
            "FROM supabase_migrations.schema_migrations ORDER BY version")


@dataclass(frozen=True)
class StatusRow:
    version: str
    name: str
    status: Status


@dataclass(frozen=True)
class Plan:
    rows: tuple[StatusRow, ...]
    pending: tuple[Migration, ...]
    refusals: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.refusals


_TX_START = frozenset({"BEGIN", "START"})
_TX_END = frozenset({"COMMIT", "END"})
_TX_CONTROL = _TX_START | _TX_END | {"ROLLBACK", "ABORT"}


def _leading_words(statement: str, count: int) -> list[str]:
    toks, _ = _tokenize(statement)
    words = [statement[t.start:t.end].upper() for t in toks if t.kind == "word"][:count]
    return words


def _transaction_control_problem(migration: Migration) -> str | None:
    """Why running this file inside our transaction would break its atomicity, if it would.

    A file wrapped in BEGIN ... COMMIT is fine (the inner BEGIN only warns and the file's COMMIT commits
    our history row with it); a COMMIT or ROLLBACK anywhere else would commit or drop part of the file
    and the history row apart from the rest.
    """
    last = len(migration.statements) - 1
    for index, statement in enumerate(migration.statements):
        words = _leading_words(statement, 3)
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


def _history_statements(row: Mapping[str, Any]) -> tuple[str, ...] | None:
    statements = row.get("statements")
    if statements is None:
        return None  # written by an old CLI or `migration repair`; nothing to compare against
    if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
        raise MigrationError(f"history row {row.get('version')!r}: statements is not a text array")
    return tuple(statements)


def plan(local: Sequence[Migration], history_rows: Sequence[Mapping[str, Any]], *,
         include_all: bool = False) -> Plan:
    """Compare local files with the history table: what is applied, pending, missing or changed.

    Refuses (Plan.refusals non-empty) when a history version has no file, when an applied file's
    statements no longer normalise to what was recorded, when a pending version is older than the
    newest applied one (unless include_all, as `supabase db push --include-all`), or when a pending
    file contains transaction control that would break its single transaction.
    """
    history: dict[str, Mapping[str, Any]] = {}
    for row in history_rows:
        version = row.get("version")
        if not isinstance(version, str):
            raise MigrationError(f"history row without a text version: {row!r}")
        history[version] = row
    local_by_version = {m.version: m for m in local}
    newest = max(history, key=_version_key) if history else None

    rows: list[StatusRow] = []
    pending: list[Migration] = []
    refusals: list[str] = []
    for version in sorted(set(history) | set(local_by_version), key=_version_key):
        migration = local_by_version.get(version)
        if migration is None:
            name = str(history[version].get("name") or "")
            rows.append(StatusRow(version, name, "missing"))
            refusals.append(f"{version} {name}: in the history but no local file (missing); restore "
                            "the file or repair the history")
            continue
        if version in history:
            recorded = _history_statements(history[version])
            if recorded is not None and normalise(recorded) != normalise(migration.statements):
                rows.append(StatusRow(version, migration.name, "changed"))
                refusals.append(f"{migration.label}: the file no longer matches the statements "
                                "recorded when it was applied (changed); revert the edit and put the "
                                "change in a new migration")
            else:
                rows.append(StatusRow(version, migration.name, "applied"))
            continue
        if newest is not None and _version_key(version) < _version_key(newest) and not include_all:
            rows.append(StatusRow(version, migration.name, "out-of-order"))
            refusals.append(f"{migration.label}: older than the newest applied migration {newest} "
                            "(out-of-order); rerun with include_all to apply it anyway")
        else:
            rows.append(StatusRow(version, migration.name, "pending"))
        pending.append(migration)
        problem = _transaction_control_problem(migration)
        if problem is not None:
            refusals.append(problem)
    return Plan(tuple(rows), tuple(pending), tuple(refusals))


# --------------------------------------------------------------------------------------------------
# Apply


def _closes_only_at_end(text: str, delimiter: str) -> bool:
    # A dollar-quoted literal ends at the first occurrence of its delimiter, including one that starts
    # inside the text and finishes in the closing delimiter itself ("...$t" + "$t$").
    return (text + delimiter).find(delimiter) == len(text)


def _fresh_tag(texts: Sequence[str]) -> str:
    while True:
        tag = "hj_" + secrets.token_hex(8)
        if all(_closes_only_at_end(t, f"${tag}$") for t in texts):
            return tag


def apply_sql(migration: Migration, *, tag: str | None = None) -> str:
    """The text of the single request that applies one migration, in one transaction.

    Order matters: the advisory lock serialises concurrent migrate runs; the history row goes in
    before the statements, so a second run that waited on the lock fails on the primary key before
    running anything twice; the file's own text runs after it, verbatim, and COMMIT ends it. Any error
    aborts the whole transaction, and the connection closing rolls it back.

    Version, name and statements are dollar-quoted with a tag that cannot close early inside them
    (random unless given), so migration content cannot escape the literal.
    """
    texts = [migration.version, migration.name, *migration.statements]
    if tag is None:
        tag = _fresh_tag(texts)
    elif not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", tag):
        raise ValueError(f"invalid dollar-quote tag {tag!r}")
    delimiter = f"${tag}$"
    if not all(_closes_only_at_end(t, delimiter) for t in texts):
        raise ValueError(f"dollar-quote tag {tag!r} occurs in the migration text")
    # An unterminated quote or comment in the file would swallow the COMMIT below; the request would
    # then succeed with the transaction left open and rolled back on disconnect.
    _, error = _tokenize(migration.sql)
    if error is not None:
        raise MigrationError(f"{migration.label}: {error}")

    def quote(text: str) -> str:
        return f"{delimiter}{text}{delimiter}"

    array = ", ".join(quote(s) for s in migration.statements)
    # Every interpolated value is dollar-quoted with a delimiter checked above, hence the noqa.
    return "\n".join([
        "BEGIN;",
        f"SELECT pg_advisory_xact_lock({LOCK_KEY});",
        f"INSERT INTO {HISTORY_TABLE} (version, name, statements) "  # noqa: S608
        f"VALUES ({quote(migration.version)}, {quote(migration.name)}, ARRAY[{array}]::text[]);",
        migration.sql,
        ";",  # ends the file's last statement even without its own `;` or after a trailing -- comment
        "COMMIT;",
    ])


def is_duplicate_error(message: str) -> bool:
    """Whether the API's error text is the history table's primary key refusing a second insert.

    The API reports `Failed to run sql query: ERROR:  23505: duplicate key value violates unique
    constraint "schema_migrations_pkey"`; a unique violation elsewhere is a real failure.
    """
    return "schema_migrations_pkey" in message and ("23505" in message or "duplicate key" in message)


# --------------------------------------------------------------------------------------------------
# Orchestration


@dataclass(frozen=True)
class MigrateResult:
    plan: Plan  # the plan this run started from (its rows are the status table)
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


async def _read_history(query: QueryFn, *, allow_missing_table: bool) -> list[dict[str, Any]]:
    try:
        rows = await query(history_query())
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
    """Ensure the history table, plan, and apply pending migrations one request each, in order.

    A duplicate (another run applied that version while we waited on the lock) re-reads history and
    plans again. The first real failure stops the run. A dry run only reads. QueryErrors from the
    table setup and history reads propagate, as does anything else `query` raises; while applying,
    anything else is raised as ApplyStopped (from the error). `stop()` (a signal arrived) is asked
    before each migration: once it is true, no new migration starts.
    """
    if not dry_run:
        await query(HISTORY_DDL)
    history = await _read_history(query, allow_missing_table=dry_run)
    first = plan(local, history, include_all=include_all)
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
            replanned = plan(local, await _read_history(query, allow_missing_table=False),
                             include_all=include_all)
            if replanned.refusals:
                # e.g. the other run applied a different edition of a file; stop as plan would have.
                return MigrateResult(plan=first, applied=tuple(applied), duplicates=tuple(duplicates),
                                     refusals=replanned.refusals)
            if any(m.version == migration.version for m in replanned.pending):
                # Without this, a key conflict that history does not show would loop forever.
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
