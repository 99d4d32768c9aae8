"""The sandbox's application: the admin API contract's effects and routes, independent of HTTP.

Each effect runs inside the idempotency ledger's transaction (sandbox/store.py); the HTTP handler
(sandbox/app.py) and the bot runtime's routes (sandbox/bot.py) sit on top of it.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from housejobs.api.capabilities import KNOWN as EXTENSIONS
from housejobs.sandbox.faults import Faults
from housejobs.sandbox.store import BOOTSTRAP_TABLES, Store

NOTIFICATIONS = "/admin/notifications"
REQUEST_LOG_SIZE = 10_000  # the newest requests GET /_sandbox/requests shows

Answer = tuple[int, Any]


class ApiProblem(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> Answer:
    return status, {"error": {"code": code, "message": message}}


def parse_date(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ApiProblem(400, "invalid_date", "date must be YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ApiProblem(400, "invalid_date", "date is not a calendar date") from None
    return value


def parse_month(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", value):
        raise ApiProblem(400, "invalid_month", "month must be YYYY-MM")
    return value


class Sandbox:
    """The application: routes, auth, the ledger and the faults, independent of the HTTP server."""

    def __init__(self, store: Store, *, api_key: str, scheduler_secret: str | None = None,
                 household_id: str = "household-demo", faults: Faults | None = None,
                 schema_columns: int = 24, extensions: Iterable[str] = EXTENSIONS) -> None:
        self.store = store
        # The contract extensions it offers (docs/api.md); none: it plays an older server, which has no
        # GET /admin/capabilities and ignores dry_run= and shard= as unknown query parameters.
        self.extensions = frozenset(extensions)
        unknown = self.extensions - set(EXTENSIONS)
        if unknown:
            raise ValueError(f"unknown extension {sorted(unknown)[0]!r}")
        # Every API request as received (method, path, query string), newest last, so a test can see what
        # a client sent (a dry_run= to a server that did not offer it, a shard=).
        self.request_log: deque[dict[str, str]] = deque(maxlen=REQUEST_LOG_SIZE)
        self.api_key = api_key
        self.scheduler_secret = scheduler_secret
        self.household_id = household_id
        self.faults = faults or Faults()
        self.schema_columns = schema_columns
        self.requests = 0
        self.route_hits: dict[str, int] = {}
        self._lock = threading.Lock()
        # Routes of other services the sandbox stands in for (the bot runtime): handler gets
        # (request handler, method, match, raw body) and answers (status, body, headers), or None when
        # it answered on the handler itself (a fault: a dropped connection, a broken body).
        self.extra_routes: list[tuple[str, re.Pattern[str],
                                      Callable[..., tuple[int, Any, dict[str, str]] | None]]] = []
        self.log: Callable[[dict[str, Any]], None] = lambda record: None
        # The bot runtime's reminder routes, and every log record they wrote (GET /_sandbox/bot-log).
        self.bot_log: list[dict[str, Any]] = []

    def record(self, method: str, path: str, query: str) -> None:
        with self._lock:
            self.request_log.append({"method": method, "path": path, "query": query})

    def count(self, route: str) -> None:
        with self._lock:
            self.requests += 1
            self.route_hits[route] = self.route_hits.get(route, 0) + 1

    # --- effects, each run inside the ledger's transaction ----------------------------------------
    def bootstrap(self, db: Any, body: dict[str, Any]) -> Answer:
        known = self.store.schema_value(db, "columns")
        self.store.bump(db, "bootstrap", "run")
        if known is None:
            self.store.set_schema_value(db, "columns", self.schema_columns)
            return 200, {"mode": "fresh", "tables_created": len(BOOTSTRAP_TABLES), "columns_added": 0}
        added = max(0, self.schema_columns - known)
        self.store.set_schema_value(db, "columns", max(known, self.schema_columns))
        return 200, {"mode": "sync", "tables_created": 0, "columns_added": added}

    def reset_daily(self, db: Any, body: dict[str, Any]) -> Answer:
        day = parse_date(body.get("date"))
        self.store.bump(db, "quota-reset", day)
        return 200, {"date": day, "orgs_reset": self.store.active_count(db)}

    def cleanup_stale(self, db: Any, body: dict[str, Any]) -> Answer:
        day = parse_date(body.get("date"))
        self.store.bump(db, "stale-cleanup", day)
        return 200, {"counters_fixed": sum(int(c) for c in day if c.isdigit()) % 7}

    def reset_monthly(self, db: Any, body: dict[str, Any]) -> Answer:
        month = parse_month(body.get("month"))
        self.store.bump(db, "quota-monthly", month)
        return 200, {"month": month, "orgs_reset": self.store.active_count(db)}

    def alerts(self, db: Any, body: dict[str, Any]) -> Answer:
        day = parse_date(body.get("date"))
        self.store.bump(db, "alerts", day)
        active = self.store.active_count(db)
        return 200, {"orgs_processed": active, "alerts_sent": active // 7}

    def org_sync(self, db: Any, body: dict[str, Any], org: str) -> Answer:
        slug = org
        day = parse_date(body.get("date"))
        status = self.store.org_status(db, slug)
        if status is None:
            return error(404, "org_not_found", f"org {slug} does not exist")
        if status != "active":
            return error(409, "org_inactive", f"org {slug} is not active")
        self.store.bump(db, "org-sync", f"{slug}:{day}")
        return 200, {"org_slug": slug, "datasets_synced": 3}

    def notification(self, db: Any, body: dict[str, Any], key: str) -> Answer:
        # A sink for housejobs' own outcome events (housejobs.notify), so the embedded demo can show one.
        kind, job = body.get("kind"), body.get("job")
        if kind not in ("job_completed", "job_failed") or not isinstance(job, str) or not job:
            raise ApiProblem(400, "invalid_event", "an event needs kind (job_completed or job_failed) and job")
        number = self.store.add_notification(db, key, body)
        return 201, {"id": number, "event_id": body.get("event_id")}

    def keyed_routes(self) -> list[tuple[str, re.Pattern[str], Callable[..., Answer]]]:
        return [
            ("/admin/bootstrap", re.compile(r"^/admin/bootstrap$"), self.bootstrap),
            ("/admin/quota/reset-daily", re.compile(r"^/admin/quota/reset-daily$"), self.reset_daily),
            ("/admin/quota/cleanup-stale", re.compile(r"^/admin/quota/cleanup-stale$"), self.cleanup_stale),
            ("/admin/quota/reset-monthly", re.compile(r"^/admin/quota/reset-monthly$"), self.reset_monthly),
            ("/admin/alerts/process-all", re.compile(r"^/admin/alerts/process-all$"), self.alerts),
            ("/admin/orgs/{org}/sync", re.compile(r"^/admin/orgs/(?P<org>[^/]+)/sync$"), self.org_sync),
            (NOTIFICATIONS, re.compile(r"^/admin/notifications$"), self.notification),
        ]
