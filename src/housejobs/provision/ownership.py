"""What housejobs owns in a project, proven from what the APIs keep, and who else starts its jobs.

A name alone proves nothing: test and stage share a project, and anyone can create
`housejobs-legacy-stage` with gcloud; nor do labels or a marker alone, which anyone can copy. So
ownership takes what housejobs wrote, as the API stores it, together with the name it gives:

    Cloud Run job        labels managed-by=housejobs, housejobs-env=<env>, housejobs-job=<job>, all three,
                         and the id is exactly housejobs-<job>-<env> (catalog.run_job_id)
    Scheduler job        no labels exist, so all of:
                         - its description holds exactly one marker, at the very end:
                           `[managed-by=housejobs env=<env> job=<job> trigger=<trigger>]`,
                         - its full name is the one housejobs gives that trigger, in housejobs' own
                           project and region (catalog.trigger_id), and
                         - its HTTP target starts the Cloud Run job housejobs owns for that env and job

Only what passes is pruned. A Scheduler job, in any location of the project, that starts one of this
env's housejobs jobs but is not one of the catalog's triggers is a *foreign trigger*: while enabled the
job runs twice per period (a warning: plan, doctor, list-jobs); paused, it starts nothing now and is a
note. It is deleted only when asked for by name.

Pure functions over REST JSON: no Google import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from housejobs.catalog import run_job_id, trigger_id

DESCRIPTION_LIMIT = 500  # Cloud Scheduler's cap on a job's description
# The marker is parsed back strictly: these keys, this order, single spaces, at the very end.
_MARKER = re.compile(r"(?:\A|(?<=\s))\[managed-by=housejobs env=(?P<env>[a-z][a-z0-9-]*) "
                     r"job=(?P<job>[a-z][a-z0-9-]*) trigger=(?P<trigger>[a-z][a-z0-9-]*)\]\Z")
# Cloud Run's jobs:run endpoints: v2 (what housejobs writes), and the v1 namespace form the Cloud
# Console's "scheduler trigger" writes (regional host, project id or number as the namespace).
_V2_RUN = re.compile(r"^/v2/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/jobs/(?P<job>[^/:]+):run$")
_V1_RUN = re.compile(r"^/apis/run\.googleapis\.com/v1/namespaces/(?P<project>[^/]+)/jobs/(?P<job>[^/:]+):run$")
_RUN_HOST = re.compile(r"^(?:(?P<region>[a-z0-9-]+)-)?run\.googleapis\.com$")
# Anything that looks like the start of a marker: a second one (copied, forged) makes a trigger unprovable.
_MARKER_START = re.compile(r"\[\s*managed-by\s*=\s*housejobs\b")
# A Scheduler job does not run in these states (PAUSED by a user, DISABLED by the system).
NOT_RUNNING = ("PAUSED", "DISABLED")


@dataclass(frozen=True)
class Marker:
    env: str
    job: str
    trigger: str

    def text(self) -> str:
        return f"[managed-by=housejobs env={self.env} job={self.job} trigger={self.trigger}]"


def with_marker(text: str, marker: Marker, limit: int = DESCRIPTION_LIMIT) -> str:
    """`text` cut to leave room for the marker, then the marker: the cap never cuts the marker."""
    tail = marker.text()
    head = " ".join(text.split())[: max(0, limit - len(tail) - 1)].rstrip()
    return f"{head} {tail}" if head else tail


def parse_marker(description: str | None) -> Marker | None:
    m = _MARKER.search(description or "")
    return None if m is None else Marker(m["env"], m["job"], m["trigger"])


def run_target(trigger: dict[str, Any], project: str, region: str) -> str | None:
    """The Cloud Run job id a Scheduler job starts in this project and region, if it starts one."""
    uri = ((trigger.get("httpTarget") or {}).get("uri")) or ""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    host = _RUN_HOST.match(parts.hostname or "")
    if parts.scheme != "https" or host is None:
        return None
    v2 = _V2_RUN.match(parts.path)
    if v2 is not None:
        ok = v2["project"] == project and v2["region"] == region and host["region"] in (None, region)
        return v2["job"] if ok else None
    v1 = _V1_RUN.match(parts.path)
    if v1 is not None:
        # The namespace is the project id or its number; the number cannot be checked offline, and a
        # Scheduler job listed in this project's location starts a job of this project either way.
        ok = host["region"] == region and (v1["project"] == project or v1["project"].isdigit())
        return v1["job"] if ok else None
    return None


@dataclass(frozen=True)
class Verdict:
    owned: bool
    reason: str  # why not, for a plan line; empty when owned
    claimed: bool = False  # it carries housejobs' labels or marker for this env (owned or not)


def job_verdict(name: str, job: dict[str, Any], env: str) -> Verdict:
    """Is this Cloud Run job (full name, REST JSON) housejobs' own in `env`?"""
    labels = job.get("labels") or {}
    if labels.get("managed-by") != "housejobs" or labels.get("housejobs-env") != env:
        return Verdict(False, "not created by housejobs")
    which = labels.get("housejobs-job") or ""
    if not which:
        return Verdict(False, "labelled managed-by=housejobs without housejobs-job", True)
    if name.rsplit("/", 1)[-1] != run_job_id(which, env):
        return Verdict(False, f"labelled as housejobs' {which} job, but not named {run_job_id(which, env)}", True)
    return Verdict(True, "", True)


def housejobs_jobs(run_jobs: dict[str, dict[str, Any]], env: str) -> dict[str, str]:
    """Cloud Run job id → catalog job name, for the jobs housejobs owns in `env` (job_verdict)."""
    return {name.rsplit("/", 1)[-1]: job["labels"]["housejobs-job"] for name, job in run_jobs.items()
            if job_verdict(name, job, env).owned}


def trigger_verdict(trigger: dict[str, Any], *, env: str, project: str, region: str,
                    ours: dict[str, str]) -> Verdict:
    """Is this Scheduler job housejobs' own in `env`? `ours` is `housejobs_jobs(...)` of the region."""
    description = trigger.get("description") or ""
    marker = parse_marker(description)
    markers = len(_MARKER_START.findall(description))
    if marker is None and not markers:
        return Verdict(False, "not created by housejobs")
    if markers != 1:
        return Verdict(False, f"{markers} housejobs markers in its description", True)
    if marker is None:
        return Verdict(False, "a housejobs marker that does not parse, or not at the end of its description", True)
    if marker.env != env:
        return Verdict(False, f"marked for {marker.env}, not {env}")
    name = str(trigger.get("name", ""))
    expected = trigger_id(marker.job, marker.trigger, env)
    if name != f"projects/{project}/locations/{region}/jobs/{expected}":
        where = name.split("/jobs/")[0].rsplit("/", 1)[-1]
        named = name.rsplit("/", 1)[-1] + ("" if where == region else f" in {where}")
        return Verdict(False, f"marked as {expected}, but named {named}", True)
    target = run_target(trigger, project, region)
    if target is None or target not in ours:
        return Verdict(False, f"marked by housejobs, but it does not start a housejobs job of {env}", True)
    if ours[target] != marker.job:
        return Verdict(False, f"marked for job {marker.job}, but it starts {target}", True)
    return Verdict(True, "", True)


def is_name_alike(resource_id: str, env: str) -> bool:
    """Named the way housejobs names this env's resources: what an operator would expect --prune to
    consider. The name only decides whether a skipped resource is worth a line in the plan."""
    return re.fullmatch(rf"housejobs-[a-z0-9][a-z0-9-]*-{re.escape(env)}", resource_id) is not None


@dataclass(frozen=True)
class ForeignTrigger:
    """A Scheduler job, not one of the catalog's triggers, that starts one of this env's housejobs jobs."""

    id: str  # the Scheduler job's id, `<location>/<id>` when it lives in another location than ours
    name: str
    location: str
    target: str  # the Cloud Run job id it starts
    job: str  # that job's catalog name
    schedule: str
    time_zone: str
    state: str
    by_housejobs: bool  # marked and owned: a trigger housejobs made that has left the catalog
    effect: str  # what it does to the job, e.g. "runs twice per period"

    @property
    def active(self) -> bool:
        """It starts the job on its schedule now (a paused or disabled one does not: a note, not a double)."""
        return self.state not in NOT_RUNNING

    def warning(self) -> str:
        zone = "UTC" if self.time_zone in ("Etc/UTC", "UTC", "") else self.time_zone
        line = f"also started by {self.id} ({self.schedule} {zone}): {self.effect}"
        if self.by_housejobs:
            return line + " (made by housejobs, no longer in the catalog: --prune deletes it)"
        return line + f" (not created by housejobs: delete it with --prune-foreign {self.id})"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "location": self.location, "cloud_run_job": self.target,
                "job": self.job, "schedule": self.schedule, "time_zone": self.time_zone, "state": self.state,
                "active": self.active, "created_by_housejobs": self.by_housejobs, "effect": self.effect,
                "warning": self.warning()}


def foreign_triggers(triggers: dict[str, dict[str, Any]], *, env: str, project: str, region: str,
                     catalog_triggers: set[str], targets: dict[str, str], catalog_jobs: set[str],
                     scheduled: set[str], ours: dict[str, str]) -> list[ForeignTrigger]:
    """Every Scheduler job in `triggers` (full name → REST JSON, from any location) that is not a catalog
    trigger and starts a job in `targets` (Cloud Run job id in `region` → catalog job name).
    `catalog_jobs` and `scheduled` are the ids in the catalog and those with catalog triggers (they
    decide the effect); `ours` the jobs housejobs owns (for the ownership verdict)."""
    out: list[ForeignTrigger] = []
    for name, trig in sorted(triggers.items()):
        if name in catalog_triggers:
            continue
        target = run_target(trig, project, region)
        if target is None or target not in targets:
            continue
        verdict = trigger_verdict(trig, env=env, project=project, region=region, ours=ours)
        if target in scheduled:
            effect = "runs twice per period"
        elif target in catalog_jobs:
            effect = "a manual job started on a schedule"
        else:
            effect = "starts a job that is no longer in the catalog"
        state = str(trig.get("state", ""))
        if state in NOT_RUNNING:
            effect = f"{state.lower()} (if resumed: {effect})"
        location = name.split("/jobs/")[0].rsplit("/", 1)[-1]
        short = name.rsplit("/", 1)[-1]
        out.append(ForeignTrigger(
            id=short if location == region else f"{location}/{short}", name=name, location=location,
            target=target, job=targets[target], schedule=str(trig.get("schedule", "")),
            time_zone=str(trig.get("timeZone") or "Etc/UTC"), state=state, by_housejobs=verdict.owned,
            effect=effect))
    return out
