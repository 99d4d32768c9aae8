"""The ledger of applied migrations and the text of every request `migrate` sends: its DDL, the read, and
the one transaction that applies a migration (advisory lock, ledger row, the file's own text).

The ledger is the table where the Supabase CLI keeps its migration history,
`supabase_migrations.schema_migrations (version text primary key, statements text[], name text)`, written the
way the CLI writes it (statements split by its parser, each stripped of its `;` and surrounding whitespace),
so `supabase migration list` and housejobs agree about what is applied.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from housejobs.migrations.files import Migration
from housejobs.migrations.sql import MigrationError, tokenize

LEDGER_TABLE = "supabase_migrations.schema_migrations"

# One bigint for every housejobs migrate against a database: the ASCII bytes of "housejob". Transaction
# scoped, so a crashed run can never leave it held.
LOCK_KEY = int.from_bytes(b"housejob", "big")

# The Supabase CLI's own statements (pkg/migration/history.go), so a table it created and one we created
# are the same table. Run under our advisory lock because two concurrent CREATE ... IF NOT EXISTS can
# still collide on the catalog's unique indexes; the CLI's 4 s lock_timeout keeps the ALTERs from
# queueing indefinitely behind traffic on the table, and is set after the advisory lock so waiting for
# another migrate does not count against it.
LEDGER_DDL = f"""BEGIN;
SELECT pg_advisory_xact_lock({LOCK_KEY});
SET LOCAL lock_timeout = '4s';
CREATE SCHEMA IF NOT EXISTS supabase_migrations;
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (version text NOT NULL PRIMARY KEY);
ALTER TABLE {LEDGER_TABLE} ADD COLUMN IF NOT EXISTS statements text[];
ALTER TABLE {LEDGER_TABLE} ADD COLUMN IF NOT EXISTS name text;
COMMIT;"""


def ledger_query() -> str:
    """The SQL that reads the ledger: rows of version, name, statements (text[] or null), by version."""
    # LEDGER_TABLE is this module's constant, not input, hence the noqa.
    return f"SELECT version, coalesce(name, '') AS name, statements FROM {LEDGER_TABLE} ORDER BY version"  # noqa: S608


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

    Order matters: the advisory lock serialises concurrent migrate runs; the ledger row goes in
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
    _, error = tokenize(migration.sql)
    if error is not None:
        raise MigrationError(f"{migration.label}: {error}")

    def quote(text: str) -> str:
        return f"{delimiter}{text}{delimiter}"

    array = ", ".join(quote(s) for s in migration.statements)
    # Every interpolated value is dollar-quoted with a delimiter checked above, hence the noqa.
    return "\n".join([
        "BEGIN;",
        f"SELECT pg_advisory_xact_lock({LOCK_KEY});",
        f"INSERT INTO {LEDGER_TABLE} (version, name, statements) "  # noqa: S608
        f"VALUES ({quote(migration.version)}, {quote(migration.name)}, ARRAY[{array}]::text[]);",
        migration.sql,
        ";",  # ends the file's last statement even without its own `;` or after a trailing -- comment
        "COMMIT;",
    ])


def is_duplicate_error(message: str) -> bool:
    """Whether the API's error text is the ledger's primary key refusing a second insert.

    The API reports `Failed to run sql query: ERROR:  23505: duplicate key value violates unique
    constraint "schema_migrations_pkey"`; a unique violation elsewhere is a real failure.
    """
    return "schema_migrations_pkey" in message and ("23505" in message or "duplicate key" in message)

