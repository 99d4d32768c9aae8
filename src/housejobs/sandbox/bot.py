"""The household bot runtime's scheduler endpoint, as the sandbox serves it: `POST /jobs/reminder/<type>`.

The contract (issue 3; docs/api.md):

- types `utilities`, `rent-warning`, `rent-due`; body (JSON, all optional) `period` (`YYYY-MM`, default
  the current UTC month), `jobId` (string), `dryRun` (boolean);
- the routes exist only when the runtime has a scheduler secret (else the plain 404 of any unknown
  route); the secret comes in `x-household-scheduler-secret` or `Authorization: Bearer`, compared in
  constant time; missing or wrong → 401, malformed → 400; no answer or log line ever carries it;
- dedupe key `<period>:<type>`, claimed once per household in `processed_bot_messages` by a unique key
  (INSERT OR IGNORE), so concurrent identical requests make one claim; `dryRun` never claims;
- answer `{ok, jobId, reminderType, period, dedupeKey, outcome, dryRun}`, outcome `claimed`,
  `duplicate` or `dry-run`; every request it handles, answered or refused, leaves one log record with
  `jobId`, `dedupeKey`, `outcome`, `reminderType` and `period` (`app.log`, and `GET /_sandbox/bot-log`).

Refusals never echo what the caller sent: a mistyped secret pasted into a field must not reach a log.
"""

from __future__ import annotations

import hmac
import json
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from housejobs.clock import iso_z

if TYPE_CHECKING:
    from housejobs.sandbox.service import Sandbox


class Handler(Protocol):
    """What the bot's routes need of the HTTP request handler (sandbox/app.py's)."""

    headers: Any

    def _drop(self) -> None: ...

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None,
              raw: bytes | None = None) -> None: ...

REMINDER_TYPES = ("utilities", "rent-warning", "rent-due")
ROUTE = "/jobs/reminder/{type}"
PATTERN = re.compile(r"^/jobs/reminder/(?P<type>[^/]*)$")
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$")
SECRET_HEADER = "x-household-scheduler-secret"  # noqa: S105 - a header name
MASK = "****"

Reply = tuple[int, Any, dict[str, str]]


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, outcome: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.outcome = status, code, message, outcome
        self.headers = headers or {}


@dataclass
class _Entry:
    """What one request's log record says; filled in as the request is understood."""

    reminder_type: str | None = None
    period: str | None = None
    job_id: str | None = None
    dry_run: bool | None = None
    outcome: str = "error"
    error: str | None = None
    fault: str | None = None  # a fault rule's action: drop the connection or break the answer

    @property
    def dedupe_key(self) -> str | None:
        if self.period is None or self.reminder_type is None:
            return None
        return f"{self.period}:{self.reminder_type}"


def _problem(code: str, message: str) -> Any:
    return {"ok": False, "error": {"code": code, "message": message}}


def given_secret(headers: Any) -> str | None:
    """The scheduler header when present, else a bearer token."""
    value = headers.get(SECRET_HEADER)
    if value is not None:
        return str(value).strip()
    scheme, _, token = str(headers.get("Authorization") or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def secret_matches(given: str | None, secret: str) -> bool:
    if not given:
        return False
    # Header values arrive decoded as latin-1, so encoding them back gives the bytes that were sent.
    return hmac.compare_digest(given.encode("latin-1", "replace"), secret.encode("utf-8"))


class BotRuntime:
    """The bot runtime's reminder routes over a Sandbox's store, household and scheduler secret."""

    def __init__(self, app: Sandbox) -> None:
        self.app = app

    def handle(self, request: Handler, method: str, match: re.Match[str], raw: bytes) -> Reply | None:
        entry = _Entry()
        headers: dict[str, str] = {}
        try:
            status, body = self._answer(request, method, match.group("type"), raw, entry)
        except _Refused as exc:
            entry.outcome, entry.error = exc.outcome, exc.code
            status, body, headers = exc.status, _problem(exc.code, exc.message), exc.headers
        self._log(status, entry)
        if entry.fault is not None:
            return self._broken_answer(request, entry.fault, self._scrub(body))
        return status, self._scrub(body), headers

    @staticmethod
    def _broken_answer(request: Handler, action: str, body: Any) -> None:
        """The fault rules' actions, as on the admin routes: the claim (if any) is already committed."""
        if action in ("drop_before_commit", "drop_after_commit"):
            request._drop()
        elif action == "malformed":
            request._send(200, None, raw=b"<html>upstream error</html>")
        else:  # truncated
            encoded = json.dumps(body).encode()
            request._send(200, None, raw=encoded[: max(1, len(encoded) // 2)])

    # --- the contract ---------------------------------------------------------------------------
    def _answer(self, request: Handler, method: str, raw_type: str, raw: bytes, entry: _Entry) -> tuple[int, Any]:
        app = self.app
        app.count(ROUTE)
        secret = app.scheduler_secret
        if not secret:
            # Without a secret the runtime does not mount these routes: the 404 of any unknown path.
            entry.outcome, entry.error = "disabled", "not_found"
            return 404, {"error": {"code": "not_found", "message": "no such route"}}
        if raw_type in REMINDER_TYPES:
            entry.reminder_type = raw_type
        if method != "POST":
            raise _Refused(405, "method_not_allowed", "use POST", "rejected")
        if not secret_matches(given_secret(request.headers), secret):
            raise _Refused(401, "unauthorized", f"missing or wrong scheduler secret ({SECRET_HEADER} or "
                           "Authorization: Bearer)", "unauthorized")
        if entry.reminder_type is None:
            raise _Refused(400, "unknown_reminder_type",
                           "reminder type must be one of " + ", ".join(REMINDER_TYPES), "rejected")
        body = self._body(raw)
        entry.job_id = self._job_id(body.get("jobId"))
        entry.dry_run = self._dry_run(body.get("dryRun"))
        entry.period = self._period(body.get("period"))
        entry.fault = self._faults(request)
        if entry.fault == "drop_before_commit":
            entry.outcome = "dropped"
            return 0, None
        if entry.dry_run:
            entry.outcome = "dry-run"
        else:
            entry.outcome = "claimed" if self._claim(entry) else "duplicate"
        return 200, {"ok": True, "jobId": entry.job_id, "reminderType": entry.reminder_type,
                     "period": entry.period, "dedupeKey": entry.dedupe_key, "outcome": entry.outcome,
                     "dryRun": entry.dry_run}

    @staticmethod
    def _body(raw: bytes) -> dict[str, Any]:
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "invalid_json", "body is not JSON", "rejected") from None
        if not isinstance(body, dict):
            raise _Refused(400, "invalid_json", "body must be a JSON object", "rejected")
        return body

    @staticmethod
    def _job_id(value: Any) -> str:
        if value is None:
            return f"bot-{uuid.uuid4()}"
        if not isinstance(value, str) or not JOB_ID.match(value):
            raise _Refused(400, "invalid_job_id", "jobId must be a string of 1-200 letters, digits and ._:@/-",
                           "rejected")
        return value

    @staticmethod
    def _dry_run(value: Any) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            raise _Refused(400, "invalid_dry_run", "dryRun must be a boolean", "rejected")
        return value

    def _period(self, value: Any) -> str:
        if value is None:
            now = datetime.fromtimestamp(self.app.store.now(), UTC)
            return f"{now.year:04d}-{now.month:02d}"
        if not isinstance(value, str) or not PERIOD.match(value):
            raise _Refused(400, "invalid_period", "period must be YYYY-MM", "rejected")
        return value

    def _faults(self, request: Handler) -> str | None:
        """Scripted statuses, latency and actions, as on the admin routes (`route`: "/jobs/reminder/{type}");
        returns the action to take on the answer."""
        decision = self.app.faults.before(ROUTE)
        if decision.latency_s:
            time.sleep(decision.latency_s)
        if decision.status is not None:
            raise _Refused(decision.status, decision.code or "injected", decision.message or "injected fault", "fault",
                           {"Retry-After": decision.retry_after} if decision.retry_after else None)
        return decision.action

    def _claim(self, entry: _Entry) -> bool:
        """Claim the dedupe key for this household; False when it was claimed before."""
        store = self.app.store
        with store.tx() as db:
            inserted = db.execute(
                "INSERT OR IGNORE INTO processed_bot_messages "
                "(household_id, dedupe_key, job_id, reminder_type, period, created) VALUES (?, ?, ?, ?, ?, ?)",
                (self.app.household_id, entry.dedupe_key, entry.job_id, entry.reminder_type, entry.period,
                 store.now())).rowcount == 1
            if inserted:
                store.bump(db, "reminder", str(entry.dedupe_key))
        return inserted

    # --- the log --------------------------------------------------------------------------------
    def _log(self, status: int, entry: _Entry) -> None:
        fields = self._scrub({
            "event": "reminder_dispatch", "status": status, "householdId": self.app.household_id,
            "jobId": entry.job_id, "dedupeKey": entry.dedupe_key, "outcome": entry.outcome,
            "reminderType": entry.reminder_type, "period": entry.period, "dryRun": entry.dry_run,
            "error": entry.error,
        })
        severity = "INFO" if status < 400 else ("ERROR" if status >= 500 else "WARNING")
        line = {"severity": severity, "message": f"reminder {entry.outcome}",
                "time": iso_z(datetime.now(UTC)), **fields}
        with self.app._lock:
            self.app.bot_log.append(line)
        self.app.log(fields)

    def _scrub(self, value: Any) -> Any:
        """Mask the secret wherever a caller managed to put it (say, as its jobId)."""
        secret = self.app.scheduler_secret
        if not secret:
            return value
        text = json.dumps(value)
        return json.loads(text.replace(secret, MASK)) if secret in text else value


def register_bot_routes(app: Sandbox) -> None:
    app.extra_routes.append((ROUTE, PATTERN, BotRuntime(app).handle))
