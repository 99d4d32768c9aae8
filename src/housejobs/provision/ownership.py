"""What housejobs owns in a project, proven from what the APIs keep, and who else starts its jobs.

A name proves nothing: test and stage share a project, and anyone can create `housejobs-legacy-stage`
with gcloud. So ownership is read from what housejobs wrote and the API stores:

    Cloud Run job        labels managed-by=housejobs, housejobs-env=<env>, housejobs-job=<job>
    Scheduler job        no labels exist, so two facts together:
                         - its description ends with the marker
                           `[managed-by=housejobs env=<env> job=<job> trigger=<trigger>]`, and
                         - its HTTP target starts a Cloud Run job labelled as housejobs' for that env
                           and that job

Only what passes is pruned. A Scheduler job that starts one of this env's housejobs jobs but is not one
of the catalog's triggers is a *foreign trigger*: the job then runs twice per period. It is reported
(plan, doctor, list-jobs) and deleted only when asked for by name.

Pure functions over REST JSON: no Google import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

DESCRIPTION_LIMIT = 500  # Cloud Scheduler's cap on a job's description
# The marker is parsed back strictly: these keys, this order, single spaces, at the very end.
_MARKER = re.compile(r"(?:\A|(?<=\s))\[managed-by=housejobs env=(?P<env>[a-z][a-z0-9-]*) "
                     r"job=(?P<job>[a-z][a-z0-9-]*) trigger=(?P<trigger>[a-z][a-z0-9-]*)\]\Z")
# Cloud Run's jobs:run endpoints: v2 (what housejobs writes), and the v1 namespace form the Cloud
# Console's "scheduler trigger" writes (regional host, project id or number as the namespace).
_V2_RUN = re.compile(r"^/v2/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/jobs/(?P<job>[^/:]+):run$")
_V1_RUN = re.compile(r"^/apis/run\.googleapis\.com/v1/namespaces/(?P<project>[^/]+)/jobs/(?P<job>[^/:]+):run$")
_RUN_HOST = re.compile(r"^(?:(?P<region>[a-z0-9-]+)-)?run\.googleapis\.com$")


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


def housejobs_jobs(run_jobs: dict[str, dict[str, Any]], env: str) -> dict[str, str]:
    """Cloud Run job id → catalog job name, for the jobs labelled as housejobs' in `env`."""
    out: dict[str, str] = {}
    for name, job in run_jobs.items():
        labels = job.get("labels") or {}
        if labels.get("managed-by") == "housejobs" and labels.get("housejobs-env") == env:
            out[name.rsplit("/", 1)[-1]] = labels.get("housejobs-job", "")
    return out


@dataclass(frozen=True)
class Verdict:
    owned: bool
    reason: str  # why not, for a plan line; empty when owned
    claimed: bool = False  # it carries a marker for this env (owned or not)


def trigger_verdict(trigger: dict[str, Any], *, env: str, project: str, region: str,
                    ours: dict[str, str]) -> Verdict:
    """Is this Scheduler job housejobs' own in `env`? `ours` is `housejobs_jobs(...)` of the location."""
    marker = parse_marker(trigger.get("description"))
    if marker is None:
        return Verdict(False, "not created by housejobs")
    if marker.env != env:
        return Verdict(False, f"marked for {marker.env}, not {env}")
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

    id: str
    name: str
    target: str  # the Cloud Run job id it starts
    job: str  # that job's catalog name
    schedule: str
    time_zone: str
    state: str
    by_housejobs: bool  # marked and owned: a trigger housejobs made that has left the catalog
    effect: str  # what it does to the job, e.g. "runs twice per period"

    def warning(self) -> str:
        zone = "UTC" if self.time_zone in ("Etc/UTC", "UTC", "") else self.time_zone
        line = f"also started by {self.id} ({self.schedule} {zone}): {self.effect}"
        if self.by_housejobs:
            return line + " (made by housejobs, no longer in the catalog: --prune deletes it)"
        return line + f" (not created by housejobs: delete it with --prune-foreign {self.id})"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "cloud_run_job": self.target, "job": self.job,
                "schedule": self.schedule, "time_zone": self.time_zone, "state": self.state,
                "created_by_housejobs": self.by_housejobs, "effect": self.effect, "warning": self.warning()}


def foreign_triggers(triggers: dict[str, dict[str, Any]], *, env: str, project: str, region: str,
                     catalog_triggers: set[str], targets: dict[str, str], catalog_jobs: set[str],
                     scheduled: set[str], ours: dict[str, str]) -> list[ForeignTrigger]:
    """Every Scheduler job in `triggers` (full name → REST JSON) that is not a catalog trigger and starts
    a job in `targets` (Cloud Run job id → catalog job name). `catalog_jobs` and `scheduled` are the ids
    in the catalog and those with catalog triggers (they decide the effect); `ours` the labelled jobs
    (for the ownership verdict)."""
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
        out.append(ForeignTrigger(
            id=name.rsplit("/", 1)[-1], name=name, target=target, job=targets[target],
            schedule=str(trig.get("schedule", "")), time_zone=str(trig.get("timeZone") or "Etc/UTC"),
            state=str(trig.get("state", "")), by_housejobs=verdict.owned, effect=effect))
    return out
