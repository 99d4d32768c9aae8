"""A stateful fake of the Cloud Scheduler v1 API over real HTTP.

    with SchedulerFake() as sched:
        client = scheduler_v1.CloudSchedulerClient(transport="rest", credentials=AnonymousCredentials(),
                                                   client_options=ClientOptions(api_endpoint=sched.endpoint))

Like the real service it fills what a request left out and adds what it owns, which provisioning
must not mistake for drift: `User-Agent: Google-Cloud-Scheduler` (and `Content-Type:
application/octet-stream` when there is a body without one) in `httpTarget.headers`, httpMethod
POST, attemptDeadline 180s, the retryConfig defaults (5s / 3600s / 5 doublings / 0s), timeZone
Etc/UTC, state ENABLED, userUpdateTime and the next scheduleTime.

Bodies are checked against the cloudscheduler.v1 discovery document. A job that targets the
Cloud Run v2 `jobs/*:run` endpoint is also checked the way Cloud Run would see it when it fires:
the base64 body must be a valid run.v2 `RunJobRequest`, the method POST, the Content-Type JSON, and
an OAuth (not OIDC) token must be configured. Scheduler itself accepts such a job, so those
problems are recorded in `schema_violations` without failing the call.

`fire(name)` (and the API's `:run`) delivers the job's HTTP request; map a host to a local fake with
`targets["run.googleapis.com"] = run_fake.endpoint` to run the whole trigger path.

Jobs live per location, as on the real service. `locations` are what `projects.locations.list` answers
for every project (paged; each answer checked against the discovery document's ListLocationsResponse),
several regions by default, so a reader that looks only in its own region misses the others' jobs.
"""

from __future__ import annotations

import json
import random
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fakes._http import (
    RPC_CODE,
    FakeServer,
    GoogleError,
    RecordedRequest,
    Route,
    paginate,
    route,
)
from tests.fakes.discovery import Discovery, b64decode

RUN_JOB_URI = re.compile(
    r"^https://(?:[a-z0-9-]+-)?run\.googleapis\.com/v2/projects/[^/]+/locations/[^/]+/jobs/[^/:]+:run$"
)
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
_TARGETS = ("httpTarget", "pubsubTarget", "appEngineHttpTarget")
_OUTPUT_ONLY = ("state", "status", "scheduleTime", "lastAttemptTime", "userUpdateTime", "satisfiesPzs")
_BODY_METHODS = ("POST", "PUT", "PATCH")
_DURATION_S = re.compile(r"^(\d+)(\.\d+)?s$")
_HTTP_FOR_CODE = {0: 200, 5: 404, 7: 403, 16: 401, 3: 400, 9: 400, 13: 500, 14: 503}
LOCATIONS = ("us-central1", "europe-west1", "asia-northeast1")
_DISPLAY = {"us-central1": "Iowa", "europe-west1": "Belgium", "asia-northeast1": "Tokyo"}


class SchedulerFake(FakeServer):
    api = "cloudscheduler.v1"

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        seed: int = 0,
        reject_output_only: bool = False,
        locations: tuple[str, ...] = LOCATIONS,
    ) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}  # full name → job, enums as names
        self.locations = list(locations)
        # host → base URL of a local server that stands in for it when a job fires.
        self.targets: dict[str, str] = {}
        self.deliveries: list[dict[str, Any]] = []
        self._rng = random.Random(seed)
        super().__init__(clock=clock, reject_output_only=reject_output_only)

    def routes(self) -> list[Route]:
        loc = "/v1/projects/{project}/locations/{location}"
        job = loc + "/jobs/{job}"
        m = "cloudscheduler.projects.locations.jobs"
        return [
            route("GET", "/v1/projects/{project}/locations", self._locations,
                  method_id="cloudscheduler.projects.locations.list"),
            route("POST", loc + "/jobs", self._create, method_id=f"{m}.create", body_schema="Job"),
            route("GET", loc + "/jobs", self._list, method_id=f"{m}.list"),
            route("GET", job, self._get, method_id=f"{m}.get"),
            route("PATCH", job, self._patch, method_id=f"{m}.patch", body_schema="Job"),
            route("DELETE", job, self._delete, method_id=f"{m}.delete"),
            route("POST", job + ":pause", self._pause, method_id=f"{m}.pause", body_schema="PauseJobRequest"),
            route("POST", job + ":resume", self._resume, method_id=f"{m}.resume", body_schema="ResumeJobRequest"),
            route("POST", job + ":run", self._run, method_id=f"{m}.run", body_schema="RunJobRequest"),
        ]

    # ---- test helpers ------------------------------------------------------------------------

    def job(self, name: str) -> dict[str, Any]:
        """The stored job (enums as names) by full name or job id."""
        with self._lock:
            if name in self.jobs:
                return self.jobs[name]
            matches = [j for n, j in self.jobs.items() if n.rsplit("/", 1)[-1] == name]
            if len(matches) != 1:
                raise KeyError(name)
            return matches[0]

    def run_request_body(self, name: str) -> dict[str, Any] | None:
        """The decoded JSON body a job would POST (for Cloud Run targets: the RunJobRequest)."""
        body = self.job(name).get("httpTarget", {}).get("body")
        return json.loads(b64decode(body)) if body else None

    def fire(self, name: str) -> tuple[int, Any]:
        """Deliver the job's HTTP request now, as a scheduled attempt would; returns (status, body)."""
        with self._lock:
            return self._deliver(self.job(name))

    # ---- handlers ----------------------------------------------------------------------------

    def _create(self, req: RecordedRequest, project: str, location: str) -> dict[str, Any]:
        parent = f"projects/{project}/locations/{location}"
        body = self._names(req.body)
        name = body.get("name") or f"{parent}/jobs/{self._rng.randrange(10**19, 10**20)}"
        prefix, _, job_id = name.rpartition("/jobs/")
        if prefix != parent or not _JOB_ID.match(job_id):
            raise GoogleError(
                "INVALID_ARGUMENT",
                f"Job name {name!r} must be {parent}/jobs/JOB_ID with JOB_ID of letters, digits, - and _ (max 500).",
            )
        if name in self.jobs:
            raise GoogleError("ALREADY_EXISTS", f"Job {name} already exists.")
        job = self._desired(req, body)
        now = self.now()
        job.update(name=name, userUpdateTime=now, state="ENABLED")
        self._schedule(job)
        self.jobs[name] = job
        return self._render(req, job)

    def _locations(self, req: RecordedRequest, project: str) -> dict[str, Any]:
        found = [{"name": f"projects/{project}/locations/{loc}", "locationId": loc,
                  "displayName": _DISPLAY.get(loc, loc), "labels": {"cloud.googleapis.com/region": loc}}
                 for loc in self.locations]
        page, token = paginate(found, req, default_size=100, max_size=1000)
        out: dict[str, Any] = {"locations": page}
        if token:
            out["nextPageToken"] = token
        assert self.discovery is not None and self.discovery.validate("ListLocationsResponse", out) == []
        return out

    def _list(self, req: RecordedRequest, project: str, location: str) -> dict[str, Any]:
        prefix = f"projects/{project}/locations/{location}/jobs/"
        found = [j for n, j in sorted(self.jobs.items()) if n.startswith(prefix)]
        page, token = paginate(found, req, default_size=500, max_size=500)
        out: dict[str, Any] = {}
        if page:
            out["jobs"] = [self._render(req, j) for j in page]
        if token:
            out["nextPageToken"] = token
        return out

    def _get(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        return self._render(req, self._job_or_404(project, location, job))

    def _patch(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        body = self._names(req.body)
        if body.get("name") not in (None, "", current["name"]):
            raise GoogleError("INVALID_ARGUMENT", "Job name in the body does not match the URL.")
        mask = [_camel(p) for p in req.param("updateMask").split(",") if p]
        merged = {k: v for k, v in current.items() if k not in _OUTPUT_ONLY and k != "name"}
        if not mask:
            # AIP-134: no mask means every field the request populates.
            mask = [k for k, v in body.items() if k not in _OUTPUT_ONLY and k != "name" and v not in (None, "")]
        for path in mask:
            self._check_mask_path(req, path)
            head = path.split(".")[0]
            if head in _TARGETS and head in body:
                for other in _TARGETS:
                    if other != head:
                        merged.pop(other, None)
            _set_path(merged, path, _get_path(body, path))
        updated = self._desired(req, merged)
        updated.update(
            name=current["name"],
            state=current["state"],
            userUpdateTime=self.now(),
            **({"lastAttemptTime": current["lastAttemptTime"]} if "lastAttemptTime" in current else {}),
            **({"status": current["status"]} if "status" in current else {}),
        )
        self._schedule(updated)
        self.jobs[current["name"]] = updated
        return self._render(req, updated)

    def _delete(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        del self.jobs[current["name"]]
        return {}

    def _pause(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        current.update(state="PAUSED", userUpdateTime=self.now())
        return self._render(req, current)

    def _resume(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        current.update(state="ENABLED", userUpdateTime=self.now())
        self._schedule(current)
        return self._render(req, current)

    def _run(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        self._deliver(current)
        return self._render(req, current)

    # ---- state machinery ---------------------------------------------------------------------

    def _names(self, body: dict[str, Any]) -> dict[str, Any]:
        assert self.discovery is not None
        out: dict[str, Any] = self.discovery.enums_to_names("Job", body)
        return out

    def _desired(self, req: RecordedRequest, body: dict[str, Any]) -> dict[str, Any]:
        """What a create or a full update stores: user fields plus Scheduler's defaults."""
        job = {k: v for k, v in body.items() if k not in _OUTPUT_ONLY}
        errors = []
        targets = [t for t in _TARGETS if job.get(t)]
        if len(targets) != 1:
            errors.append(f"exactly one of {', '.join(_TARGETS)} is required, got {len(targets)}")
        schedule = job.get("schedule", "")
        tz = job.get("timeZone") or "Etc/UTC"
        if not schedule:
            errors.append("schedule: required")
        elif _zone(tz) is None or (not schedule.startswith("every ") and _parse_cron(schedule) is None):
            errors.append(f"Schedule or time zone is invalid: {schedule!r} in {tz!r}")
        if len(job.get("description", "")) > 500:
            errors.append("description: at most 500 characters")
        if "httpTarget" in job:
            errors += self._http_target(req, job)
        if errors:
            raise GoogleError("INVALID_ARGUMENT", "; ".join(errors))
        job["timeZone"] = tz
        retry = job.setdefault("retryConfig", {})
        retry.setdefault("minBackoffDuration", "5s")
        retry.setdefault("maxBackoffDuration", "3600s")
        retry.setdefault("maxDoublings", 5)
        retry.setdefault("maxRetryDuration", "0s")
        return job

    def _http_target(self, req: RecordedRequest, job: dict[str, Any]) -> list[str]:
        target = job["httpTarget"]
        errors = []
        uri = target.get("uri", "")
        if not uri.startswith(("http://", "https://")):
            errors.append(f"httpTarget.uri must begin with http:// or https://, got {uri!r}")
        method = target.get("httpMethod") or "POST"
        if method == "HTTP_METHOD_UNSPECIFIED":
            method = "POST"
        target["httpMethod"] = method
        if target.get("body") and method not in _BODY_METHODS:
            errors.append(f"httpTarget.body is not allowed with {method}")
        if target.get("oauthToken") and target.get("oidcToken"):
            errors.append("httpTarget: set oauthToken or oidcToken, not both")
        deadline = _DURATION_S.match(job.get("attemptDeadline") or "180s")
        if deadline is None or not 15 <= int(deadline.group(1)) <= 1800:
            errors.append("attemptDeadline: must be between 15s and 30m for HTTP targets")
        job.setdefault("attemptDeadline", "180s")
        headers = {k: v for k, v in (target.get("headers") or {}).items() if k.lower() != "user-agent"}
        if target.get("body") and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = "application/octet-stream"
        headers["User-Agent"] = "Google-Cloud-Scheduler"
        target["headers"] = headers
        if RUN_JOB_URI.match(uri):
            self.violation(req, _run_target_problems(target), reject=False)
        return errors

    def _schedule(self, job: dict[str, Any]) -> None:
        when = _next_fire(job["schedule"], job["timeZone"], self.clock())
        if when is None:
            job.pop("scheduleTime", None)
        else:
            job["scheduleTime"] = _ts(when)

    def _deliver(self, job: dict[str, Any]) -> tuple[int, Any]:
        job["lastAttemptTime"] = self.now()
        target = job.get("httpTarget")
        if target is None:
            job["status"] = {}
            return 200, None
        split = urlsplit(target["uri"])
        base = self.targets.get(split.hostname or "")
        if base is None:
            raise GoogleError(
                "FAILED_PRECONDITION", f"no local target for host {split.hostname!r}; set SchedulerFake.targets[host]"
            )
        url = base.rstrip("/") + split.path + (f"?{split.query}" if split.query else "")
        headers = dict(target.get("headers") or {})
        headers["X-CloudScheduler"] = "true"
        headers["X-CloudScheduler-JobName"] = job["name"].rsplit("/", 1)[-1]
        token = target.get("oauthToken") or target.get("oidcToken")
        if token:
            headers["Authorization"] = f"Bearer fake-token-for-{token.get('serviceAccountEmail', 'default')}"
        data = b64decode(target["body"]) if target.get("body") else None
        request = urllib.request.Request(url, data=data, headers=headers, method=target["httpMethod"])
        try:
            with urllib.request.urlopen(request, timeout=10) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        payload = json.loads(raw) if raw else None
        self.deliveries.append({"job": job["name"], "url": url, "status": status, "response": payload})
        if status < 300:
            job["status"] = {}
        else:
            code = next((c for c, h in _HTTP_FOR_CODE.items() if h == status), RPC_CODE["UNKNOWN"])
            job["status"] = {"code": code, "message": f"HTTP {status}"}
        return status, payload

    def _check_mask_path(self, req: RecordedRequest, path: str) -> None:
        assert self.discovery is not None
        node: Any = self.discovery.schemas["Job"]
        for part in path.split("."):
            node = self.discovery.schemas[node["$ref"]] if "$ref" in node else node
            props = node.get("properties", {})
            if part not in props or (node is self.discovery.schemas["Job"] and part in _OUTPUT_ONLY):
                self.violation(req, [f"updateMask: invalid field path {path!r}"])
            node = props[part]

    def _render(self, req: RecordedRequest, job: dict[str, Any]) -> dict[str, Any]:
        assert self.discovery is not None
        if req.int_enums:
            out: dict[str, Any] = self.discovery.enums_to_ints("Job", job)
        else:
            out = json.loads(json.dumps(job))
        return out

    def _job_or_404(self, project: str, location: str, job: str) -> dict[str, Any]:
        name = f"projects/{project}/locations/{location}/jobs/{job}"
        found = self.jobs.get(name)
        if found is None:
            raise GoogleError("NOT_FOUND", f"Job not found: {name}.")
        return found


def _run_target_problems(target: dict[str, Any]) -> list[str]:
    """What Cloud Run would reject, or cannot authenticate, when this Scheduler job fires."""
    problems = []
    if target.get("httpMethod") != "POST":
        problems.append(f"httpTarget.httpMethod: Cloud Run jobs:run needs POST, not {target.get('httpMethod')}")
    if not target.get("oauthToken"):
        problems.append("httpTarget.oauthToken: required for *.googleapis.com targets (OIDC tokens are rejected)")
    body = target.get("body")
    if body:
        content_type = next((v for k, v in target.get("headers", {}).items() if k.lower() == "content-type"), "")
        if not content_type.startswith("application/json"):
            problems.append(f"httpTarget.headers: Content-Type must be application/json, not {content_type!r}")
        try:
            request = json.loads(b64decode(body))
        except ValueError as exc:
            problems.append(f"httpTarget.body: not JSON ({exc})")
        else:
            run = Discovery.load("run.v2")
            if not isinstance(request, dict):
                problems.append("httpTarget.body: RunJobRequest must be a JSON object")
            else:
                problems += [f"httpTarget.body{e[1:]}" for e in run.validate("GoogleCloudRunV2RunJobRequest", request)]
    return problems


def _camel(path: str) -> str:
    return ".".join(re.sub(r"_([a-z])", lambda m: m.group(1).upper(), p) for p in path.split("."))


def _get_path(obj: dict[str, Any], path: str) -> Any:
    for part in path.split("."):
        if not isinstance(obj, dict) or part not in obj:
            return None
        obj = obj[part]
    return obj


def _set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj.setdefault(part, {})
    if value is None:
        obj.pop(last, None)
    else:
        obj[last] = json.loads(json.dumps(value))


def _ts(when: datetime) -> str:
    return when.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def _zone(name: str) -> ZoneInfo | None:
    if name.lower() == "utc":
        name = "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


# ---- unix-cron, enough to compute the next scheduleTime ----------------------------------------

_MONTHS = {
    m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)
}
_DAYS = {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, _MONTHS),
    (0, 7, _DAYS),
)


def _parse_field(text: str, lo: int, hi: int, names: dict[str, int]) -> set[int] | None:
    out: set[int] = set()
    for part in text.upper().split(","):
        rng, _, step_text = part.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else (None if step_text else 1)
        if step is None:
            return None
        if rng == "*":
            start, end = lo, hi
        else:
            a, _, b = rng.partition("-")
            try:
                start = names[a] if a in names else int(a)
                end = (names[b] if b in names else int(b)) if b else (hi if step_text else start)
            except ValueError:
                return None
            if not lo <= start <= end <= hi:
                return None
        out.update(range(start, end + 1, step))
    return out


def _parse_cron(expr: str) -> list[set[int]] | None:
    parts = expr.split()
    if len(parts) != 5:
        return None
    fields = [_parse_field(p, lo, hi, names) for p, (lo, hi, names) in zip(parts, _FIELDS, strict=True)]
    if any(f is None for f in fields):
        return None
    result = [f for f in fields if f is not None]
    if 7 in result[4]:
        result[4] = (result[4] - {7}) | {0}
    return result


def _next_fire(expr: str, tz_name: str, after: datetime) -> datetime | None:
    fields = _parse_cron(expr)
    zone = _zone(tz_name)
    if fields is None or zone is None:
        return None
    minutes, hours, doms, months, dows = fields
    parts = expr.split()
    dom_any, dow_any = parts[2] == "*", parts[4] == "*"
    local = after.astimezone(zone).replace(second=0, microsecond=0, tzinfo=None) + timedelta(minutes=1)
    day = local.replace(hour=0, minute=0)
    for _ in range(366 * 5):
        cron_dow = (day.weekday() + 1) % 7
        dom_ok, dow_ok = day.day in doms, cron_dow in dows
        # Vixie cron: when both day fields are restricted, either may match.
        day_ok = (dom_ok or dow_ok) if not (dom_any or dow_any) else (dom_ok and dow_ok)
        if day.month in months and day_ok:
            for h in sorted(hours):
                for m in sorted(minutes):
                    candidate = day.replace(hour=h, minute=m)
                    if candidate >= local:
                        return candidate.replace(tzinfo=zone)
        day += timedelta(days=1)
    return None
