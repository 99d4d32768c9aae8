"""Reading what exists and comparing it with what is desired: the plan (Change, Skip, Plan), the drift
lines, and the rules for what --prune and --prune-foreign delete (ownership.py proves what is ours).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from housejobs.catalog import run_job_id
from housejobs.errors import HousejobsError, UsageError
from housejobs.gcp import protos, specs
from housejobs.gcp.clients import Gcp
from housejobs.gcp.errors import google_errors
from housejobs.provision import ownership
from housejobs.provision.desired import MANAGED_LABELS, Binding, Desired, DesiredJob, DesiredTrigger
from housejobs.provision.ownership import ForeignTrigger
from housejobs.results import Table, View

if TYPE_CHECKING:
    from housejobs.context import Context

TIMEOUT_S = 60.0  # one Google call; a long-running operation gets OPERATION_TIMEOUT_S
LOCATION_READERS = 8  # Scheduler locations listed at once (a project has about 40)

Kind = Literal["job", "iam", "trigger"]
Action = Literal["create", "update", "unchanged", "grant", "prune"]
_MARK = {"create": "+", "update": "~", "unchanged": "=", "grant": "+", "prune": "-"}


def sync_state(action: str) -> str:
    """What a planned action says about the live resource, in reports (list-jobs, doctor)."""
    return {"create": "missing", "update": "drift", "unchanged": "in sync"}.get(action, action)


@dataclass
class Change:
    kind: Kind
    action: Action
    id: str
    name: str
    job: str
    diff: list[str] = field(default_factory=list)
    desired: DesiredJob | DesiredTrigger | None = None
    actual: dict[str, Any] | None = None  # the live resource as REST JSON, if it exists
    binding: Binding | None = None
    foreign: ForeignTrigger | None = None  # a foreign trigger deleted because --prune-foreign named it

    @property
    def is_write(self) -> bool:
        return self.action != "unchanged"

    def rows(self) -> list[tuple[str, ...]]:
        """Its row in the plan's table, then a note under it per field it changes."""
        what = self.id
        if self.binding is not None:
            what = f"{self.id}: {self.binding.role} to {self.binding.member}"
        if self.foreign is not None:
            what = f"{self.id} (not created by housejobs; starts {self.foreign.target}; asked for by --prune-foreign)"
        return [(_MARK[self.action], self.action, self.kind, what), *(("", f"  {d}") for d in self.diff)]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "action": self.action, "id": self.id, "name": self.name,
                               "job": self.job}
        if self.diff:
            out["diff"] = self.diff
        if self.binding is not None:
            out["binding"] = self.binding.as_dict()
        if self.foreign is not None:
            out["foreign"] = True
        return out


@dataclass(frozen=True)
class Skip:
    """A resource --prune leaves alone because housejobs cannot prove it made it (ownership.py)."""

    kind: Kind
    id: str
    name: str
    reason: str

    def row(self) -> tuple[str, ...]:
        return ("·", "skip", self.kind, f"{self.id} ({self.reason})")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "id": self.id, "name": self.name, "reason": self.reason}


@dataclass
class Plan:
    desired: Desired
    changes: list[Change]
    prune: bool = False
    skipped: list[Skip] = field(default_factory=list)
    # Every trigger outside the catalog, in any location, that starts one of this env's housejobs jobs.
    foreign: list[ForeignTrigger] = field(default_factory=list)

    def _kept(self) -> list[ForeignTrigger]:
        """The foreign triggers this plan leaves in place (the ones it deletes have their own line)."""
        going = {c.name for c in self.changes if c.kind == "trigger" and c.action == "prune"}
        return [f for f in self.foreign if f.name not in going]

    @property
    def warnings(self) -> list[ForeignTrigger]:
        """The kept foreign triggers that run: each makes a job run twice (or a manual job on a schedule)."""
        return [f for f in self._kept() if f.active]

    @property
    def notes(self) -> list[ForeignTrigger]:
        """The kept foreign triggers that are paused (or disabled): nothing runs twice now."""
        return [f for f in self._kept() if not f.active]

    @property
    def writes(self) -> list[Change]:
        return [c for c in self.changes if c.is_write]

    @property
    def in_sync(self) -> bool:
        return not self.writes

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in ("create", "update", "grant", "prune", "unchanged")}
        for c in self.changes:
            out[c.action] += 1
        return out

    @property
    def live_jobs(self) -> set[str]:
        """The full names of the Cloud Run jobs this plan found."""
        return {c.name for c in self.changes if c.kind == "job" and c.actual is not None}

    def find(self, kind: Kind, id: str) -> Change | None:
        return next((c for c in self.changes if c.kind == kind and c.id == id), None)

    def views(self) -> list[View]:
        """The plan as the renderer draws it: a mark, the action and the kind of each change in columns of
        their own (a note under a change for each field it changes), then what an administrator grants."""
        d = self.desired
        scope = f" · only {d.only}" if d.only else ""
        rows: list[tuple[str, ...]] = []
        order = {"job": 0, "iam": 1, "trigger": 2}
        for change in sorted(self.changes, key=lambda c: (c.action == "prune", order[c.kind])):
            rows += change.rows()
        rows += [s.row() for s in self.skipped]
        rows += [("!", "warning", "job", f"{f.target}: {f.warning()}") for f in self.warnings]
        rows += [("·", "note", "job", f"{f.target}: {f.warning()}") for f in self.notes]
        # The columns keep their width from plan to plan: `unchanged` and `trigger` are the widest words.
        views: list[View] = [Table(("", "ACTION", "KIND", "RESOURCE"), tuple(rows), header=False, indent="  ",
                                   gap=" ", widths=(1, len("unchanged"), len("trigger"), 0),
                                   title=f"plan for {d.env} · project {d.project} · region {d.region} · image "
                                         f"{d.image}{scope}")]
        # The bindings on the jobs are the `iam` rows above; the rest an administrator grants.
        others = [b for b in d.bindings if not b.granted_by_housejobs]
        if others:
            views.append(Table(("BINDING",), tuple((b.line(),) for b in others), header=False, indent="  ",
                               title="IAM bindings this deployment also needs (not changed by housejobs):"))
        return views

    def as_dict(self) -> dict[str, Any]:
        d = self.desired
        return {"env": d.env, "project": d.project, "region": d.region, "image": d.image, "only": d.only,
                "prune": self.prune, "in_sync": self.in_sync, "counts": self.counts(),
                "changes": [c.as_dict() for c in self.changes], "bindings": [b.as_dict() for b in d.bindings],
                "skipped": [s.as_dict() for s in self.skipped], "warnings": [f.as_dict() for f in self.warnings],
                "notes": [f.as_dict() for f in self.notes]}


class _Absent(HousejobsError):
    """A get that found nothing: the resource is one to create, not an error."""


def _read(what: str, client: Any, parent: str, names: list[str], listing: bool) -> dict[str, dict[str, Any]]:
    """What exists: one list call for the whole location, or a get per name (`--only`)."""
    found: dict[str, dict[str, Any]] = {}
    with google_errors(f"{what}: reading jobs"):
        if listing:
            for job in client.list_jobs(parent=parent, timeout=TIMEOUT_S):
                found[job.name] = protos.to_dict(job)
        else:
            for name in names:
                with contextlib.suppress(_Absent), google_errors(what, not_found=_Absent(name)):
                    found[name] = protos.to_dict(client.get_job(name=name, timeout=TIMEOUT_S))
    return found


def _read_run_jobs(gcp: Gcp, desired: Desired, listing: bool) -> dict[str, dict[str, Any]]:
    return _read("Cloud Run", gcp.jobs, desired.parent, [w.name for w in desired.jobs], listing)


def _read_triggers(gcp: Gcp, desired: Desired) -> dict[str, dict[str, Any]]:
    """Every Scheduler job of the project, in every location Scheduler has for it: a trigger of any name,
    in any region, may start one of our jobs (a double trigger). The locations are listed at once."""
    locations = scheduler_locations(gcp, desired.project)
    if desired.region not in locations:
        locations.insert(0, desired.region)
    parents = [f"projects/{desired.project}/locations/{loc}" for loc in locations]
    found: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=min(LOCATION_READERS, len(parents))) as pool:
        for part in pool.map(lambda parent: _read("Cloud Scheduler", gcp.scheduler, parent, [], True), parents):
            found.update(part)
    return found


def scheduler_locations(gcp: Gcp, project: str) -> list[str]:
    """The location ids Cloud Scheduler lists for the project (projects.locations.list, paged)."""
    out: list[str] = []
    token = ""
    with google_errors(f"Cloud Scheduler: listing the locations of {project}"):
        while True:
            page = gcp.scheduler.list_locations(request={"name": f"projects/{project}", "page_token": token},
                                                timeout=TIMEOUT_S)
            out += [loc.location_id or loc.name.rsplit("/", 1)[-1] for loc in page.locations]
            token = page.next_page_token
            if not token:
                return out


def read_policy(gcp: Gcp, job_name: str) -> Any:
    with google_errors(f"Cloud Run: reading the IAM policy of {job_name.rsplit('/', 1)[-1]}"):
        return gcp.jobs.get_iam_policy(request={"resource": job_name}, timeout=TIMEOUT_S)


def has_binding(policy: Any, binding: Binding) -> bool:
    return protos.has_member(policy, binding.role, binding.member)


def compute_plan(ctx: Context, desired: Desired, *, prune: bool = False,
                 prune_foreign: tuple[str, ...] = (), gcp: Gcp | None = None, iam: bool = True) -> Plan:
    """Read what exists and compare it with `desired` (build_desired: the catalog for ctx's env).
    `iam=False` skips the jobs' IAM policies (a report that shows only jobs and triggers).
    `prune_foreign` names foreign triggers (see provision/ownership.py) to delete; any other name is refused."""
    if prune and desired.only:
        raise UsageError("--prune works on the whole catalog, not with --only")
    gcp = gcp or Gcp(ctx.settings)
    # One list per API reads the whole environment in a call or two; a single job is cheaper by get.
    listing = prune or len(desired.jobs) > 1
    with ThreadPoolExecutor(max_workers=2) as pool:
        run_future = pool.submit(_read_run_jobs, gcp, desired, listing)
        sched_future = pool.submit(_read_triggers, gcp, desired)
        run_jobs, triggers = run_future.result(), sched_future.result()
    changes: list[Change] = []
    for want in desired.jobs:
        actual = run_jobs.get(want.name)
        changes.append(_compare(
            "job", want.id, want.name, want.job, want,
            specs.run_job_view(want.body, MANAGED_LABELS),
            None if actual is None else specs.run_job_view(actual, MANAGED_LABELS), actual))
    if iam:
        changes += iam_changes(gcp, desired, run_jobs)
    for trig in desired.triggers:
        actual = triggers.get(trig.name)
        changes.append(_compare(
            "trigger", trig.id, trig.name, trig.job, trig, specs.scheduler_job_view(trig.body),
            None if actual is None else specs.scheduler_job_view(actual), actual))
    ours = ownership.housejobs_jobs(run_jobs, desired.env)
    foreign = _foreign(desired, triggers, ours)
    skipped: list[Skip] = []
    if prune:
        pruned, skipped = _prune_changes(desired, run_jobs, triggers, ours)
        changes += pruned
    changes += _prune_foreign(desired, foreign, prune_foreign)
    return Plan(desired, changes, prune, skipped, foreign)


def _compare(kind: Kind, id: str, name: str, job: str, want: DesiredJob | DesiredTrigger,
             desired_view: dict[str, Any], actual_view: dict[str, Any] | None,
             actual: dict[str, Any] | None) -> Change:
    if actual_view is None:
        return Change(kind, "create", id, name, job, desired=want)
    lines = specs.diff(actual_view, desired_view)
    return Change(kind, "update" if lines else "unchanged", id, name, job, lines, want, actual)


def iam_changes(gcp: Gcp, desired: Desired, existing: Collection[str]) -> list[Change]:
    """The scheduler account's bindings on the jobs (one `iam` change each): the policy of each job in
    `existing` (full names) is read once; a job not there yet has none of its bindings."""
    out: list[Change] = []
    policies: dict[str, Any] = {}
    for binding in desired.bindings:
        if binding.kind != "run-job":
            continue
        jid = binding.resource.rsplit("/", 1)[-1]
        job = jid.removeprefix("housejobs-").removesuffix(f"-{desired.env}")
        present = False
        if binding.resource in existing:
            if binding.resource not in policies:
                policies[binding.resource] = read_policy(gcp, binding.resource)
            present = has_binding(policies[binding.resource], binding)
        out.append(Change("iam", "unchanged" if present else "grant", jid, binding.resource, job,
                          binding=binding))
    return out


def _foreign(desired: Desired, triggers: dict[str, dict[str, Any]], ours: dict[str, str]) -> list[ForeignTrigger]:
    # The jobs create-all-jobs manages here, and whatever else is labelled as this env's (a job that
    # left the catalog still runs when something starts it).
    targets = {**ours, **{j.id: j.job for j in desired.jobs}}
    return ownership.foreign_triggers(
        triggers, env=desired.env, project=desired.project, region=desired.region,
        catalog_triggers={t.name for t in desired.triggers}, targets=targets,
        catalog_jobs={j.id for j in desired.jobs}, scheduled={run_job_id(t.job, desired.env) for t in desired.triggers},
        ours=ours)


def _prune_changes(desired: Desired, run_jobs: dict[str, dict[str, Any]], triggers: dict[str, dict[str, Any]],
                   ours: dict[str, str]) -> tuple[list[Change], list[Skip]]:
    """What --prune deletes (resources proven to be housejobs' own in this env, see provision/ownership.py), and
    the name-alikes and claimants it leaves alone, each with the reason. Only housejobs' own region: it
    makes nothing anywhere else (a trigger elsewhere that starts our jobs is a foreign trigger)."""
    keep_jobs = {j.name for j in desired.jobs}
    keep_triggers = {t.name for t in desired.triggers}
    out: list[Change] = []
    skipped: list[Skip] = []
    for name, trig in sorted(triggers.items()):
        tid = name.rsplit("/", 1)[-1]
        if name in keep_triggers or not name.startswith(desired.parent + "/jobs/"):
            continue
        verdict = ownership.trigger_verdict(trig, env=desired.env, project=desired.project, region=desired.region,
                                            ours=ours)
        if verdict.owned:
            out.append(Change("trigger", "prune", tid, name, "", actual=trig))
        elif verdict.claimed or ownership.is_name_alike(tid, desired.env):
            skipped.append(Skip("trigger", tid, name, verdict.reason))
    for name, job in sorted(run_jobs.items()):
        jid = name.rsplit("/", 1)[-1]
        if name in keep_jobs:
            continue
        verdict = ownership.job_verdict(name, job, desired.env)
        if verdict.owned:
            out.append(Change("job", "prune", jid, name, ours[jid], actual=job))
        elif verdict.claimed or ownership.is_name_alike(jid, desired.env):
            skipped.append(Skip("job", jid, name, verdict.reason))
    return out, skipped


def _prune_foreign(desired: Desired, foreign: list[ForeignTrigger], names: tuple[str, ...]) -> list[Change]:
    """Deletes for the foreign triggers named by --prune-foreign (its id as the plan prints it, `<location>/<id>`
    outside housejobs' region, or its full name); refuses any other name before any write."""
    out: list[Change] = []
    for asked in dict.fromkeys(names):
        found = next((f for f in foreign if asked in (f.id, f.name)), None)
        if found is None:
            listed = ", ".join(f.id for f in foreign if not f.by_housejobs) or "none"
            raise UsageError(f"--prune-foreign {asked!r} is not a trigger outside the catalog that starts a "
                             f"housejobs job of {desired.env}",
                             hint=f"foreign triggers in {desired.parent}: {listed}")
        if found.by_housejobs:
            raise UsageError(f"--prune-foreign {asked!r} was created by housejobs",
                             hint="--prune deletes the triggers housejobs made that left the catalog")
        out.append(Change("trigger", "prune", found.id, found.name, found.job, foreign=found))
    return out

