"""A fake of Cloud Logging's `entries:list` (v2 REST) holding what Cloud Run writes for a job's containers.

    with CloudLoggingFake(clock=clock.now, delay_s=2.0) as logs:
        logs.ingest(task, project="p", location="us-central1", stdout=..., stderr=...)

`ingest` turns a task attempt's output into entries the way Cloud Run does: one entry a line, logName
`projects/P/logs/run.googleapis.com%2Fstdout` (or stderr), resource `cloud_run_job` {job_name, location,
project_id}, labels execution_name / task_index / task_attempt; a JSON line becomes jsonPayload, with
`severity`, `time` and `logging.googleapis.com/labels` lifted into the entry (its `message` stays);
any other line is textPayload. Each entry gets an insertId and a receiveTimestamp, and is visible only
`delay_s` after it was received, on the fake's clock (`math.inf`: never; `exclude` drops matching entries
as a sink exclusion would). Requests are checked against the logging.v2 discovery document; a filter
outside tests/fakes/logfilter.py's subset is refused with 400, and `deny(project)` answers 403
PERMISSION_DENIED for a caller without roles/logging.viewer.
"""

from __future__ import annotations

import json
import math
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tests.fakes._http import FakeServer, GoogleError, RecordedRequest, Route, rfc3339, route
from tests.fakes.cloudrun import TaskRun
from tests.fakes.logfilter import SEVERITY_LEVEL, Unsupported, matcher

LIFTED = ("severity", "time", "timestamp", "logging.googleapis.com/labels", "logging.googleapis.com/insertId")


@dataclass
class _Stored:
    entry: dict[str, Any]
    visible_at: datetime


class CloudLoggingFake(FakeServer):
    api = "logging.v2"

    def __init__(self, *, clock: Callable[[], datetime] | None = None, delay_s: float = 2.0) -> None:
        self.delay_s = delay_s
        self._entries: list[_Stored] = []
        self._ids = 0
        self.denied: set[str] = set()
        self.exclusions: list[Callable[[dict[str, Any]], bool]] = []
        super().__init__(clock=clock)

    def routes(self) -> list[Route]:
        return [route("POST", "/v2/entries:list", self._list, method_id="logging.entries.list",
                      body_schema="ListLogEntriesRequest", read=True)]

    # ---- what tests do -------------------------------------------------------------------------

    def deny(self, project: str) -> None:
        with self._lock:
            self.denied.add(project)

    def exclude(self, predicate: Callable[[dict[str, Any]], bool]) -> None:
        with self._lock:
            self.exclusions.append(predicate)

    def ingest(self, task: TaskRun, *, project: str, location: str, stdout: str = "", stderr: str = "",
               delay_s: float | None = None) -> list[dict[str, Any]]:
        """One task attempt's output, as Cloud Run ships it to Cloud Logging."""
        made = []
        with self._lock:
            received = self.clock()
            wait = self.delay_s if delay_s is None else delay_s
            visible = received + timedelta(seconds=wait) if math.isfinite(wait) else datetime.max.replace(
                tzinfo=received.tzinfo)
            for stream, text in (("stdout", stdout), ("stderr", stderr)):
                for line in text.splitlines():
                    if not line.strip():
                        continue
                    entry = self._entry(task, project, location, stream, line, received)
                    if any(excluded(entry) for excluded in self.exclusions):
                        continue
                    self._entries.append(_Stored(entry, visible))
                    made.append(entry)
        return made

    def entries(self) -> list[dict[str, Any]]:
        """Everything stored, visible yet or not."""
        with self._lock:
            return [s.entry for s in self._entries]

    def list_calls(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == "/v2/entries:list"]

    # ---- the API ------------------------------------------------------------------------------

    def _list(self, req: RecordedRequest) -> dict[str, Any]:
        body = req.body
        names = body.get("resourceNames") or []
        if not names:
            raise GoogleError("INVALID_ARGUMENT", "resource_names: must not be empty")
        projects = []
        for name in names:
            if not name.startswith("projects/") or name.count("/") != 1:
                raise GoogleError("INVALID_ARGUMENT", f"Invalid resource name {name!r} (this fake serves projects/P)")
            projects.append(name.split("/", 1)[1])
        for project in projects:
            if project in self.denied:
                raise GoogleError("PERMISSION_DENIED", f"Permission 'logging.logEntries.list' denied on resource "
                                  f"(or it may not exist). [projects/{project}]")
        order = body.get("orderBy") or "timestamp asc"
        if order not in ("timestamp asc", "timestamp desc"):
            raise GoogleError("INVALID_ARGUMENT", f"Invalid order_by: {order!r}")
        size = body.get("pageSize") or 50
        if size < 0:
            raise GoogleError("INVALID_ARGUMENT", f"Invalid page_size: {size}")
        try:
            wanted = matcher(body.get("filter") or "")
        except Unsupported as exc:
            self.violation(req, [f"filter: {exc}"], reject=False)
            raise GoogleError("INVALID_ARGUMENT", f"Unparseable filter: {exc}") from None
        now = self.clock()
        found = [s.entry for s in self._entries if s.visible_at <= now
                 and s.entry["logName"].split("/")[1] in projects and wanted(s.entry)]
        found.sort(key=lambda e: (e["timestamp"], e["insertId"]), reverse=order == "timestamp desc")
        start = 0
        if body.get("pageToken"):
            token = body["pageToken"]
            if not token.startswith("o") or not token[1:].isdigit():
                raise GoogleError("INVALID_ARGUMENT", "Invalid page_token")
            start = int(token[1:])
        size = min(size, 1000)
        out: dict[str, Any] = {"entries": json.loads(json.dumps(found[start:start + size]))}
        if start + size < len(found):
            out["nextPageToken"] = f"o{start + size}"
        if not out["entries"]:
            del out["entries"]
        return out

    # ---- entries -----------------------------------------------------------------------------

    def _entry(self, task: TaskRun, project: str, location: str, stream: str, line: str,
               received: datetime) -> dict[str, Any]:
        self._ids += 1
        labels = {"run.googleapis.com/execution_name": task.execution,
                  "run.googleapis.com/task_index": str(task.index),
                  "run.googleapis.com/task_attempt": str(task.attempt)}
        entry: dict[str, Any] = {
            "insertId": _insert_id(self._ids),
            "logName": f"projects/{project}/logs/run.googleapis.com%2F{stream}",
            "resource": {"type": "cloud_run_job",
                         "labels": {"job_name": task.job, "location": location, "project_id": project}},
            "receiveTimestamp": rfc3339(received),
        }
        try:
            payload = json.loads(line)
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            severity = str(payload.get("severity", "DEFAULT")).upper()
            entry["severity"] = severity if severity in SEVERITY_LEVEL else "DEFAULT"
            when = payload.get("time") or payload.get("timestamp")
            entry["timestamp"] = _normal(when) if isinstance(when, str) else rfc3339(received)
            lifted = payload.get("logging.googleapis.com/labels")
            if isinstance(lifted, dict):
                labels = {**{str(k): str(v) for k, v in lifted.items()}, **labels}
            entry["jsonPayload"] = {k: v for k, v in payload.items() if k not in LIFTED}
        else:
            entry["severity"] = "DEFAULT"
            entry["timestamp"] = rfc3339(received)
            entry["textPayload"] = line
        entry["labels"] = labels
        return entry


def _insert_id(n: int) -> str:
    # Cloud Run's look random; these sort in the order written, so equal timestamps keep that order.
    alphabet = string.digits + string.ascii_lowercase
    out = ""
    for _ in range(8):
        n, r = divmod(n, len(alphabet))
        out = alphabet[r] + out
    return "x" + out


def _normal(text: str) -> str:
    """A JSON line's time as Cloud Logging stores it (RFC 3339, UTC)."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return rfc3339(when)
