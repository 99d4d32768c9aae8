"""org-sync-all: stream the paged active-org listing into a bounded pool of sync calls.

Memory stays small: a bounded queue sits between the pager and the workers, and besides the failures
only the ids already taken are kept (a few dozen bytes each), so that an org named twice (repeated
`--org` flags, a listing that repeats it across pages) is synced once per run. An entry the listing
marks other than `active` is skipped. Both are counted (`repeated`, `inactive`), never called.
Work divides over Cloud Run tasks by a stable hash of the org id, so every org belongs to exactly one
shard on every run. A stop (signal or systemic failure) takes no new org and lets in-flight calls end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from housejobs.api.capabilities import DRY_RUN, Capabilities
from housejobs.errors import (
    ApiAuthError,
    ApiError,
    ApiProtocolError,
    ApiUnavailable,
    HousejobsError,
    UsageError,
    one_line,
)
from housejobs.jobs import dry_runs
from housejobs.jobs.org_listing import Listing, list_orgs, owner
from housejobs.jobs.spec import DATE, JobSpec, Opt, PeriodRule
from housejobs.orgs import ORG_SLUG_PATTERN, is_org_slug
from housejobs.periods import parse_date
from housejobs.results import JobResult, Outcome, PlannedCall
from housejobs.shards import parse_shard as parse_shard_label
from housejobs.shards import shard_label

if TYPE_CHECKING:
    from housejobs.api.client import ApiClient
    from housejobs.context import Context

PAGE_SIZE = 500
MAX_PLANNED_SHOWN = 50


def parse_shard(value: str) -> tuple[int, int]:
    shard = parse_shard_label(value)
    if shard is None:
        raise UsageError(f"--shard {value!r} is not INDEX/COUNT with 0 <= INDEX < COUNT", hint="e.g. --shard 0/4")
    return shard


def check_org(org: str) -> str:
    if not is_org_slug(org):
        raise UsageError(f"org id {org!r} is not valid", hint=f"org ids match {ORG_SLUG_PATTERN}")
    return org


@dataclass
class Tally:
    listed: int = 0
    synced: int = 0  # a dry run: orgs it would sync
    duplicate: int = 0
    failed: int = 0
    invalid: int = 0
    repeated: int = 0  # entries naming an org this run already took: not synced again
    inactive: int = 0  # listing entries whose status is not "active": skipped
    datasets: int = 0
    checked: int = 0  # a dry run: sync calls the server's own dry run answered
    failures: list[dict[str, str]] = field(default_factory=list)
    systemic: ApiError | None = None
    listing: Listing = field(default_factory=Listing)

    @property
    def done(self) -> int:
        return self.synced + self.duplicate

    def counts(self) -> dict[str, int]:
        return {"orgs": self.listed, "synced": self.synced, "duplicate": self.duplicate,
                "failed": self.failed, "invalid": self.invalid, "repeated": self.repeated,
                "inactive": self.inactive, "datasets_synced": self.datasets, **self.listing_counts()}

    def listing_counts(self) -> dict[str, int]:
        return {"listing_calls": self.listing.calls, "wrong_shard": self.listing.wrong_shard}

    def skipped(self) -> str:
        """What was left out on purpose, for the result's message ("" when nothing was)."""
        parts = [f"{n} {what}" for n, what in ((self.repeated, "repeated"), (self.inactive, "not active"),
                                                (self.listing.wrong_shard, "of another shard")) if n]
        return f"; skipped {' and '.join(parts)}" if parts else ""


ProgressFn = Callable[[Tally], None]


@dataclass(frozen=True)
class OrgSyncRequest:
    """What a run of org-sync-all is given (the command's options; release and backfill give the period)."""

    period: str | None = None  # --date; None: today, UTC
    orgs: list[str] | None = None  # --org: only these
    concurrency: int = 32
    shard: str | None = None  # --shard I/N; None: the Cloud Run task's, if the job has several


@dataclass
class SyncScope:
    """The request resolved: the date, the orgs or the shard this run syncs, and how."""

    date: str
    concurrency: int = 32
    orgs: list[str] | None = None
    shard: tuple[int, int] | None = None
    page_size: int = PAGE_SIZE


async def run_org_sync(ctx: Context, req: SyncScope, progress: ProgressFn | None = None) -> JobResult:
    tally = Tally()
    stop = ctx.stop.event
    dry = ctx.options.dry_run
    shard_index, shard_count = req.shard or (0, 1)
    api = ctx.admin_client()
    # Asked before anything else where it matters: a dry run (which proves the key and the API this way,
    # and learns whether the server dry-runs), and a sharded listing (which the server may do for us).
    offered: Capabilities | None = None
    if dry or (req.orgs is None and shard_count > 1):
        offered = await api.capabilities()
    server_dry = dry and offered is not None and offered.offers(DRY_RUN)
    # One single-connection client per worker: httpcore's pool does O(connections) work per request,
    # which at 32+ connections costs more CPU than the request itself.
    workers = [ctx.admin_client() for _ in range(req.concurrency)]
    planned: list[PlannedCall] = []
    queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=req.concurrency * 2)

    async def source() -> AsyncIterator[tuple[object, bool]]:
        if req.orgs is not None:
            for chosen in req.orgs:
                yield chosen, True
        else:
            async for listed in list_orgs(api, req.page_size, req.shard, offered, tally.listing):
                yield listed

    async def produce() -> None:
        taken: set[str] = set()
        try:
            async for org, active in source():
                if stop.is_set():
                    break
                if not is_org_slug(org):
                    if req.orgs is not None and shard_count > 1 and owner(org, shard_count) != shard_index:
                        continue
                    tally.listed += 1
                    tally.invalid += 1
                    tally.failures.append({"org": one_line(repr(org), 80), "reason": "invalid org id; not called"})
                    continue
                if req.orgs is not None and shard_count > 1 and owner(org, shard_count) != shard_index:
                    continue  # (a listing gives this shard's orgs only: org_listing.py)
                if org in taken:
                    tally.repeated += 1
                    continue
                if not active:
                    tally.inactive += 1
                    continue
                taken.add(org)
                tally.listed += 1
                await queue.put(org)
        except ApiError as exc:
            tally.systemic = exc
            stop.set()
        finally:
            for _ in range(req.concurrency):
                await queue.put(None)

    async def sync_one(api: ApiClient, org: str) -> None:
        key = f"housejobs:org-sync:{org}:{req.date}"
        path = f"/admin/orgs/{org}/sync"
        if dry:
            tally.synced += 1
            if len(planned) >= MAX_PLANNED_SHOWN:
                return
            planned.append(PlannedCall("POST", path, key, {"date": req.date}))
            if not server_dry:
                return
        try:
            if dry:  # the calls the plan shows, as the server's own dry run (the rest are listed only)
                response = await api.post_dry_run(path, {"date": req.date}, idempotency_key=key)
            else:
                response = await api.post(path, {"date": req.date}, idempotency_key=key)
            data = response.data
            n = data.get("datasets_synced") if isinstance(data, dict) else None
            if not isinstance(n, int) or isinstance(n, bool) or n < 0 or data.get("org_slug") != org:
                raise ApiProtocolError(f"POST {path}: unexpected answer (org_slug or datasets_synced)")
        except ApiAuthError as exc:
            tally.systemic = exc
            stop.set()
            return
        except ApiUnavailable as exc:
            if exc.status is None and tally.done == 0:
                # Unreachable before anything worked: the API is down, not this org.
                tally.systemic = exc
                stop.set()
                return
            tally.failed += 1
            tally.failures.append({"org": org, "reason": exc.message})
            return
        except ApiError as exc:
            tally.failed += 1
            tally.failures.append({"org": org, "reason": exc.message})
            return
        tally.datasets += n
        if dry:
            tally.checked += 1
            tally.duplicate += response.replayed
        elif response.replayed and not response.replayed_own:
            tally.duplicate += 1
        else:
            tally.synced += 1

    async def work(api: ApiClient) -> None:
        while True:
            org = await queue.get()
            if org is None:
                return
            if stop.is_set():
                continue  # drain: take no new org once stopping
            await sync_one(api, org)
            if progress is not None:
                progress(tally)

    await asyncio.gather(produce(), *(work(w) for w in workers))
    for problem in tally.listing.problems:
        ctx.logger.warning(f"GET /admin/orgs: the server's shard listing misbehaved: {problem}",
                           event="listing_misbehaved", fell_back=tally.listing.fell_back)
    return _result(ctx, req, tally, planned, offered)


def _result(ctx: Context, req: SyncScope, tally: Tally, planned: list[PlannedCall],
            offered: Capabilities | None) -> JobResult:
    details: dict[str, Any] = {"date": req.date, "concurrency": req.concurrency}
    if req.shard:
        details["shard"] = shard_label(*req.shard)
    if req.orgs is None:
        details["listing"] = tally.listing.as_dict(req.shard)
    counts = tally.counts()
    problems = tally.listing.problems
    misbehaved = (f"; the server's shard listing misbehaved ({problems[0]}): listed every org and kept this "
                  f"shard's here") if problems else ""
    if ctx.stop.signal is not None:
        left = "; the rest are left for a rerun"
        return JobResult(Outcome.INTERRUPTED, f"stopped by signal after {tally.done} orgs{left}",
                         counts=counts, details=details, failures=tally.failures, signal=ctx.stop.signal)
    if tally.systemic is not None:
        reason = tally.systemic.message
        if tally.done == 0 or ctx.options.dry_run:
            # Nothing synced: per-org failures before the stop do not make it partial.
            outcome = Outcome.REFUSED if isinstance(tally.systemic, ApiAuthError) else Outcome.FAILED
            return JobResult(outcome, f"stopped before syncing any org: {reason}", counts=counts,
                             details=details, failures=tally.failures)
        return JobResult(Outcome.PARTIAL, f"stopped after {tally.done} orgs: {reason}", counts=counts,
                         details=details, failures=tally.failures)
    if ctx.options.dry_run:
        assert offered is not None  # a dry run always asks
        return _dry_result(req, tally, planned, offered, details, misbehaved)
    if tally.failed or tally.invalid:
        names = ", ".join(f["org"] for f in tally.failures[:10])
        extra = f" and {len(tally.failures) - 10} more" if len(tally.failures) > 10 else ""
        # Partial means some units done: with none synced the effect is simply not done.
        outcome = Outcome.PARTIAL if tally.done else Outcome.FAILED
        return JobResult(outcome, f"{tally.failed + tally.invalid} of {tally.listed} orgs failed: "
                         f"{names}{extra}" + misbehaved, counts=counts, details=details, failures=tally.failures)
    if tally.listed == 0:
        return JobResult(Outcome.SKIPPED, "no active orgs" + (" in this shard" if req.shard else "")
                         + tally.skipped() + misbehaved, counts=counts, details=details)
    if tally.synced == 0:
        return JobResult(Outcome.DUPLICATE, f"all {tally.duplicate} orgs already synced for {req.date}"
                         + tally.skipped() + misbehaved, counts=counts, details=details)
    return JobResult(Outcome.APPLIED, f"synced {tally.synced} orgs for {req.date}"
                     + (f" ({tally.duplicate} already synced)" if tally.duplicate else "") + tally.skipped()
                     + misbehaved, counts=counts, details=details)


def _dry_result(req: SyncScope, tally: Tally, planned: list[PlannedCall], offered: Capabilities,
                details: dict[str, Any], misbehaved: str) -> JobResult:
    details.update(dry_runs.details(offered))
    counts = {"orgs": tally.listed, "would_sync": tally.synced, "invalid": tally.invalid,
              "repeated": tally.repeated, "inactive": tally.inactive, **tally.listing_counts()}
    more = tally.synced - len(planned)
    shown = f" (first {len(planned)} shown, {more} more)" if more > 0 else ""
    if offered.offers(DRY_RUN):
        counts.update(checked_by_server=tally.checked, already_synced=tally.duplicate,
                      datasets_synced=tally.datasets, failed=tally.failed)
        how = (f"server-side dry run of the {len(planned)} shown: {tally.datasets} datasets"
               + (f", {tally.duplicate} already synced" if tally.duplicate else "")
               + (f", {tally.failed} would fail" if tally.failed else ""))
    else:
        how = dry_runs.note(offered)
    return JobResult(Outcome.DRY_RUN, f"would sync {tally.synced} orgs for {req.date}{shown}{tally.skipped()}; "
                     f"{how}{misbehaved}", counts=counts, details=details, planned=planned,
                     failures=tally.failures)


# --- the job as the command, release and backfill run it ------------------------------------------------
def sync_scope(ctx: Context, req: OrgSyncRequest) -> SyncScope:
    """Options and the Cloud Run task (its index and count pick the shard) as one scope."""
    day = parse_date(req.period, ctx.clock.now())
    chosen = [check_org(o) for o in req.orgs] if req.orgs else None
    if req.shard is not None:
        selected: tuple[int, int] | None = parse_shard(req.shard)
    elif ctx.task is not None and ctx.task.count > 1:
        selected = (ctx.task.index, ctx.task.count)
    else:
        selected = None
    return SyncScope(date=day, concurrency=req.concurrency, orgs=chosen, shard=selected)


async def org_sync_job(ctx: Context, request: OrgSyncRequest) -> JobResult:
    """org-sync-all as the command runs it (and `release --local` and backfill, with the defaults)."""
    req = sync_scope(ctx, request)
    try:
        if ctx.options.dry_run:
            result = await run_org_sync(ctx, req)
        else:
            with ctx.display("org-sync") as show:
                start = ctx.clock.monotonic()

                def progress(tally: Tally) -> None:
                    done, elapsed = tally.done + tally.failed, ctx.clock.monotonic() - start
                    show(done=done, failed=tally.failed, listed=tally.listed, total=max(tally.listed, done),
                         rate_per_s=round(done / elapsed, 1) if elapsed > 0 else 0.0)

                result = await run_org_sync(ctx, req, progress)
    except HousejobsError as exc:
        exc.period = req.date  # a failure's summary and notification still name its date
        raise
    result.period = req.date
    return result


SPEC = JobSpec(
    name="org-sync-all",
    help="Pages through `GET /admin/orgs?status=active` and calls `POST /admin/orgs/{org}/sync` for each, keyed "
         "`housejobs:org-sync:<org>:<date>`.\n\n"
         "One org failing does not stop the others (exit 3 names them); 401/403 stops the run. SIGTERM/SIGINT "
         "take no new org, finish the in-flight ones, and exit 143/130; a rerun does the rest.\n\n"
         "Example: housejobs org-sync-all --env stage --concurrency 64",
    uses=("admin",), request=OrgSyncRequest, run=org_sync_job, confirm="run org-sync-all",
    period=PeriodRule(DATE, option="--date"),
    options=(
        Opt("--org", "orgs", "Sync only this org (repeatable).", metavar="ORG", many=True),
        Opt("--concurrency", "concurrency", "Sync calls in flight at once.", metavar="N", default=32, kind=int,
            lo=1, hi=256),
        Opt("--shard", "shard", "Take only shard I of N (0-based); in Cloud Run the task index and count decide.",
            metavar="I/N", show_default=False),
    ),
)
