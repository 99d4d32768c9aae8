"""The sandbox's state: one SQLite database, one lock.

The idempotency ledger and the effects it guards commit in the same transaction, so a crash (or a
dropped connection) can never leave an effect applied without its stored response, or the reverse.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from housejobs.clock import iso_z
from housejobs.shards import OFFSET, stored_key

SCHEMA = """
CREATE TABLE IF NOT EXISTS orgs (slug TEXT PRIMARY KEY, status TEXT NOT NULL, shard_key INTEGER);
CREATE TABLE IF NOT EXISTS idempotency (
    key TEXT PRIMARY KEY, route TEXT NOT NULL, body_hash TEXT NOT NULL, state TEXT NOT NULL,
    status INTEGER, response TEXT, permanent INTEGER NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS effects (effect TEXT NOT NULL, unit TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (effect, unit));
CREATE TABLE IF NOT EXISTS schema_state (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS processed_bot_messages (
    household_id TEXT NOT NULL, dedupe_key TEXT NOT NULL, job_id TEXT NOT NULL, reminder_type TEXT NOT NULL,
    period TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (household_id, dedupe_key));
CREATE TABLE IF NOT EXISTS notifications (id INTEGER PRIMARY KEY AUTOINCREMENT, received REAL NOT NULL,
    idempotency_key TEXT, body TEXT NOT NULL);
"""

# Keys that name a business period are a permanent ledger; others are kept at least a day.
PERIOD_KEY = re.compile(r"^housejobs:[a-z0-9-]+:(?:[^:]+:)?\d{4}-\d{2}(?:-\d{2})?$")
KEY_TTL_S = 24 * 3600
# An in-flight claim older than this belongs to a request that died (a killed client, a crashed
# sandbox): a new request may take it over instead of meeting 409 for good.
IN_FLIGHT_LEASE_S = 60
BOOTSTRAP_TABLES = ("orgs", "org_datasets", "quota_daily", "quota_monthly", "alerts")
# A sharded listing (docs/api.md, listing-shards) reads an index on the org's shard of N, built the first time
# N is asked for (about 1.3 s at a million orgs) and kept for the next N - 1 shards' requests; the least
# recently used beyond this many are dropped.
MAX_SHARD_INDEXES = 4


def _gone(owner: str | None) -> bool:
    """True when the process that holds a claim has exited (so its request can never finish)."""
    if not owner or not owner.isdigit() or int(owner) == os.getpid():
        return False
    try:
        os.kill(int(owner), 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, someone else's
        return False
    return False


def body_hash(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def encode_token(slug: str, shard: tuple[int, int] | None = None) -> str:
    """The opaque page token after `slug`; a sharded listing's token names its shard too, so it is valid in
    that shard only."""
    text = slug if shard is None else f"\x00{shard[0]}/{shard[1]}\x00{slug}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_token(token: str, shard: tuple[int, int] | None = None) -> str | None:
    """The slug a token pages after, or None when it is not one of ours or belongs to another shard."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,400}", token):
        return None
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix = "" if shard is None else f"\x00{shard[0]}/{shard[1]}\x00"
    if shard is None and text.startswith("\x00"):
        return None
    return text[len(prefix):] if text.startswith(prefix) else None


def shard_expression(count: int) -> str:
    """SQL for an org's shard of `count` from its stored key (hash - 2**63): SQLite's % keeps the dividend's
    sign, so (key % n) + n + (2**63 % n) is never negative. Literals only, so an index on it can serve it."""
    return f"(((shard_key % {count}) + {count + OFFSET % count}) % {count})"


@dataclass
class Claim:
    """What the ledger says about a key before the effect runs."""

    kind: str  # "new", "replay", "in_flight", "mismatch"
    status: int = 0
    response: Any = None
    token: float = 0.0  # for "new": when it was claimed, so finish() applies only a claim still held
    origin: str | None = None  # for "replay": the Idempotency-Origin of the request that made the answer


_LEDGER_ROW = ("SELECT body_hash, state, status, response, permanent, created, owner, origin FROM idempotency "
               "WHERE key=?")


def _held(row: Any, digest: str, now: float) -> Claim | None:
    """What a ledger row (body_hash, state, status, response, permanent, created, owner, origin) says to a
    request with body `digest`; None when the row no longer holds its key (expired, or a dead claim)."""
    expired = (not row[4] and row[1] == "done" and now - row[5] > KEY_TTL_S) or \
        (row[1] == "in_flight" and (now - row[5] > IN_FLIGHT_LEASE_S or _gone(row[6])))
    if expired:
        return None
    if row[0] != digest:
        return Claim("mismatch")
    if row[1] == "in_flight":
        return Claim("in_flight")
    return Claim("replay", row[2], json.loads(row[3]), origin=row[7])


class Store:
    def __init__(self, path: Path | str, *, now: Callable[[], float] = time.time) -> None:
        self.path = str(path)
        self.now = now
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.db.create_function("housejobs_shard_key", 1, stored_key, deterministic=True)
        if "shard_key" not in {row[1] for row in self.db.execute("PRAGMA table_info(orgs)")}:
            self.db.execute("ALTER TABLE orgs ADD COLUMN shard_key INTEGER")  # a database of an older sandbox
        self.db.execute("UPDATE orgs SET shard_key = housejobs_shard_key(slug) WHERE shard_key IS NULL")
        self._shard_indexes = [int(r[0].rsplit("_", 1)[1]) for r in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type='index' AND name GLOB 'orgs_shard_[0-9]*'")]
        columns = {row[1] for row in self.db.execute("PRAGMA table_info(idempotency)")}
        for column in ("owner", "origin"):  # a database made by an older sandbox
            if column not in columns:
                self.db.execute(f"ALTER TABLE idempotency ADD COLUMN {column} TEXT")
        # Who holds a claim: this process. A claim held by a sandbox process that no longer runs (the
        # embedded sandbox of a killed `housejobs` run) will never finish; it is released at once
        # rather than after the lease.
        self.owner = str(os.getpid())

    def close(self) -> None:
        with self.lock:
            self.db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    # --- orgs -----------------------------------------------------------------------------------
    def seed_orgs(self, count: int, inactive: int | None = None) -> None:
        """Make the store hold exactly `count` active orgs (org-000001 …) plus a few inactive ones."""
        inactive = max(1, count // 20) if inactive is None else inactive
        with self.tx() as db:
            existing = db.execute("SELECT COUNT(*) FROM orgs WHERE status='active'").fetchone()[0]
            if existing == count:
                return
            db.execute("DELETE FROM orgs")
            # Each org's shard key is computed once, here: a sharded listing never hashes in Python.
            db.executemany("INSERT INTO orgs VALUES (?, 'active', ?)",
                           ((slug, stored_key(slug)) for slug in (f"org-{i:06d}" for i in range(1, count + 1))))
            db.executemany("INSERT INTO orgs VALUES (?, 'inactive', ?)",
                           ((slug, stored_key(slug)) for slug in (f"dormant-{i:04d}" for i in range(1, inactive + 1))))

    def add_org(self, slug: str, status: str = "active") -> None:
        with self.tx() as db:
            db.execute("INSERT OR REPLACE INTO orgs VALUES (?, ?, ?)", (slug, status, stored_key(slug)))

    def list_orgs(self, status: str, page_size: int, after: str | None,
                  shard: tuple[int, int] | None = None) -> tuple[list[str], bool]:
        """One page of `status` orgs after `after` by slug (only shard I of N's, given `shard`), and whether
        more follow."""
        with self.lock:
            if shard is None:
                rows = self.db.execute("SELECT slug FROM orgs WHERE status=? AND slug > ? ORDER BY slug LIMIT ?",
                                       (status, after or "", page_size + 1)).fetchall()
            else:
                expr = self._shard_index(shard[1])  # integers only, formatted: an index needs literals
                rows = self.db.execute(f"SELECT slug FROM orgs WHERE status=? AND {expr}=? AND slug > ? "  # noqa: S608
                                       "ORDER BY slug LIMIT ?", (status, shard[0], after or "", page_size + 1)
                                       ).fetchall()
        return [r[0] for r in rows[:page_size]], len(rows) > page_size

    def _shard_index(self, count: int) -> str:
        """The shard expression for `count`, with an index that serves it (made on first use; the lock held)."""
        expr = shard_expression(count)
        if count in self._shard_indexes:
            self._shard_indexes.remove(count)
        else:
            while len(self._shard_indexes) >= MAX_SHARD_INDEXES:
                self.db.execute(f"DROP INDEX IF EXISTS orgs_shard_{self._shard_indexes.pop(0)}")
            self.db.execute(f"CREATE INDEX IF NOT EXISTS orgs_shard_{count} ON orgs(status, {expr}, slug)")
        self._shard_indexes.append(count)
        return expr

    def org_status(self, db: sqlite3.Connection, slug: str) -> str | None:
        row = db.execute("SELECT status FROM orgs WHERE slug=?", (slug,)).fetchone()
        return row[0] if row else None

    def active_count(self, db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT COUNT(*) FROM orgs WHERE status='active'").fetchone()[0])

    # --- idempotency ledger ---------------------------------------------------------------------
    def claim(self, key: str, route: str, digest: str, origin: str | None = None) -> Claim:
        now = self.now()
        with self.tx() as db:
            row = db.execute(_LEDGER_ROW, (key,)).fetchone()
            if row is not None:
                held = _held(row, digest, now)
                if held is not None:
                    return held
                db.execute("DELETE FROM idempotency WHERE key=?", (key,))
            db.execute("INSERT INTO idempotency (key, route, body_hash, state, status, response, permanent, "
                       "created, owner, origin) VALUES (?, ?, ?, 'in_flight', NULL, NULL, ?, ?, ?, ?)",
                       (key, route, digest, 1 if PERIOD_KEY.match(key) else 0, now, self.owner, origin))
        return Claim("new", token=now)

    def peek(self, key: str, digest: str) -> Claim:
        """What claim() would say about `key`, changing nothing (a dry run's view of the ledger): "new" when
        the key is free (absent or expired)."""
        now = self.now()
        with self.lock:
            row = self.db.execute(_LEDGER_ROW, (key,)).fetchone()
        held = None if row is None else _held(row, digest, now)
        return Claim("new") if held is None else held

    def preview(self, apply: Callable[[sqlite3.Connection], tuple[int, Any]]) -> tuple[int, Any]:
        """Run an effect and roll it back: its answer, with nothing stored (a server-side dry run)."""
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                return apply(self.db)
            finally:
                self.db.execute("ROLLBACK")

    def release(self, key: str) -> None:
        """Forget an in-flight claim whose attempt failed, so the client may try again."""
        with self.tx() as db:
            db.execute("DELETE FROM idempotency WHERE key=? AND state='in_flight'", (key,))

    def finish(self, key: str, apply: Callable[[sqlite3.Connection], tuple[int, Any]],
               token: float | None = None) -> tuple[int, Any]:
        """Run the effect and store its final answer in one transaction (5xx answers are not stored).

        With the claim's token, a claim that outlived its lease and was taken over applies nothing."""
        with self.tx() as db:
            if token is not None:
                held = db.execute("SELECT 1 FROM idempotency WHERE key=? AND state='in_flight' AND created=?",
                                  (key, token)).fetchone()
                if held is None:
                    return 409, {"error": {"code": "idempotency_in_flight",
                                           "message": "this request's claim expired and was taken over"}}
            status, response = apply(db)
            if status >= 500:
                db.execute("DELETE FROM idempotency WHERE key=?", (key,))
            else:
                db.execute("UPDATE idempotency SET state='done', status=?, response=? WHERE key=?",
                           (status, json.dumps(response), key))
        return status, response

    # --- notifications (housejobs' own outcome events) -------------------------------------------
    def add_notification(self, db: sqlite3.Connection, key: str, event: dict[str, Any]) -> int:
        cursor = db.execute("INSERT INTO notifications (received, idempotency_key, body) VALUES (?, ?, ?)",
                            (self.now(), key, json.dumps(event)))
        return int(cursor.lastrowid or 0)

    def list_notifications(self, limit: int) -> list[dict[str, Any]]:
        """Newest first."""
        with self.lock:
            rows = self.db.execute("SELECT id, received, idempotency_key, body FROM notifications "
                                   "ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{"id": r[0], "received": iso_z(datetime.fromtimestamp(r[1], UTC)),
                 "idempotency_key": r[2], "event": json.loads(r[3])} for r in rows]

    # --- effects ---------------------------------------------------------------------------------
    def bump(self, db: sqlite3.Connection, effect: str, unit: str) -> None:
        db.execute("INSERT INTO effects VALUES (?, ?, 1) ON CONFLICT(effect, unit) "
                   "DO UPDATE SET count = count + 1", (effect, unit))

    def counters(self, effect: str | None = None) -> dict[str, int]:
        with self.lock:
            if effect:
                rows = self.db.execute("SELECT effect, unit, count FROM effects WHERE effect=?",
                                       (effect,)).fetchall()
            else:
                rows = self.db.execute("SELECT effect, unit, count FROM effects").fetchall()
        return {f"{e}:{u}": c for e, u, c in rows}

    def schema_value(self, db: sqlite3.Connection, name: str) -> int | None:
        row = db.execute("SELECT value FROM schema_state WHERE name=?", (name,)).fetchone()
        return int(row[0]) if row else None

    def set_schema_value(self, db: sqlite3.Connection, name: str, value: int) -> None:
        db.execute("INSERT OR REPLACE INTO schema_state VALUES (?, ?)", (name, value))
