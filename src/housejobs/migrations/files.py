"""Migration files: `<version>_<name>.sql` in one directory, read, split and ordered by version.

The file pattern is the Supabase CLI's (pkg/migration/file.go), so a directory it manages is one
housejobs reads the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from housejobs.migrations.sql import MigrationError, split_statements


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


# The CLI's file pattern (pkg/migration/file.go): digits, underscore, anything, ".sql".
_FILE_PATTERN = re.compile(r"^([0-9]+)_(.*)\.sql$")


def version_key(version: str) -> tuple[int, str]:
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
            # 001_a and 1_b are different ledger keys but one position in the order; refuse both.
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
    migrations.sort(key=lambda mig: version_key(mig.version))
    return migrations, warnings

