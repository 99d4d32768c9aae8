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
import hashlib
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from housejobs.api.client import ApiClient
from housejobs.context import Context
from housejobs.errors import (
    ApiAuthError,
    ApiError,
    ApiProtocolError,
    ApiUnavailable,
    HousejobsError,
    UsageError,
    one_line,
)
from housejobs.periods import parse_date
from housejobs.results import JobResult, Outcome, PlannedCall

ORG_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\Z")  # \Z: `$` would let "acme\n" through
PAGE_SIZE = 500
MAX_PLANNED_SHOWN = 50


def shard_of(org: str, count: int) -> int:
    """Stable across processes and runs (never Python's salted hash())."""
    return int.from_bytes(hashlib.sha256(org.encode()).digest()[:8], "big") % count


def parse_shard(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"([0-9]+)/([0-9]+)", value.strip())
    if not m or int(m.group(2)) < 1 or int(m.group(1)) >= int(m.group(2)):
        raise UsageError(f"--shard {value!r} is not INDEX/COUNT with 0 <= INDEX < COUNT", hint="e.g. --shard 0/4")
    return int(m.group(1)), int(m.group(2))


def check_org(org: str) -> str:
    if not ORG_SLUG.match(org):
        raise UsageError(f"org id {org!r} is not valid", hint="org ids match ^[a-z0-9][a-z0-9_-]{0,63}$")
    return org


@dataclass
class Tally:
    listed: int = 0
    synced: int = 0
    duplicate: int = 0
    failed: int = 0
    invalid: int = 0
    repeated: int = 0  # entries naming an org this run already took: not synced again
    inactive: int = 0  # listing entries whose status is not "active": skipped
    datasets: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    systemic: ApiError | None = None

    @property
    def done(self) -> int:
        return self.synced + self.duplicate

    def counts(self) -> dict[str, int]:
        return {"orgs": self.listed, "synced": self.synced, "duplicate": self.duplicate,
                "failed": self.failed, "invalid": self.invalid, "repeated": self.repeated,
                "inactive": self.inactive, "datasets_synced": self.datasets}

    def skipped(self) -> str:
        """What was left out on purpose, for the result's message ("" when nothing was)."""
        parts = [f"{n} {what}" for n, what in ((self.repeated, "repeated"), (self.inactive, "not active")) if n]
        return f"; skipped {' and '.join(parts)}" if parts else ""


ProgressFn = Callable[[Tally], None]


@dataclass
class OrgSyncRequest:
    date: str
    concurrency: int = 32
    orgs: list[str] | None = None
    shard: tuple[int, int] | None = None
    page_size: int = PAGE_SIZE


async def _listing(api: ApiClient, page_size: int) -> AsyncIterator[tuple[object, bool]]:
    """(org id, whether the listing says it is active), page by page."""
    token: str | None = None
    seen: set[str] = set()  # a server handing back a token it already gave would page forever
    while True:
        params: dict[str, object] = {"status": "active", "page_size": page_size}
        if token:
            params["page_token"] = token
        response = await api.get("/admin/orgs", params=params)
        data = response.data
        if not isinstance(data, dict) or not isinstance(data.get("orgs"), list):
            raise ApiProtocolError("GET /admin/orgs: unexpected answer (no orgs list)")
        for entry in data["orgs"]:
            # The contract lists objects; anything else is reported as an invalid id, never called. The
            # query asks for active orgs only, so an entry saying otherwise (or nothing) is not synced.
            if isinstance(entry, dict):
                yield entry.get("org_slug"), entry.get("status") == "active"
            else:
                yield None, True
        nxt = data.get("next_page_token")
        if not nxt:
            return
        if not isinstance(nxt, str):
            raise ApiProtocolError("GET /admin/orgs: unexpected answer (next_page_token)")
        if nxt in seen:
            raise ApiProtocolError("GET /admin/orgs: unexpected answer (next_page_token repeats an earlier page)")
        seen.add(nxt)
        token = nxt


async def run_org_sync(ctx: Context, req: OrgSyncRequest, progress: ProgressFn | None = None) -> JobResult:
    tally = Tally()
    stop = ctx.stop_event
    shard_index, shard_count = req.shard or (0, 1)
    api = ctx.admin_client()
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
            async for listed in _listing(api, req.page_size):
                yield listed

    async def produce() -> None:
        taken: set[str] = set()
        try:
            async for org, active in source():
                if stop.is_set():
                    break
                if not isinstance(org, str) or not ORG_SLUG.match(org):
                    # Reported by one shard only (by its printed form), not once per task.
                    if shard_count > 1 and shard_of(repr(org), shard_count) != shard_index:
                        continue
                    tally.listed += 1
                    tally.invalid += 1
                    tally.failures.append({"org": one_line(repr(org), 80), "reason": "invalid org id; not called"})
                    continue
                if shard_count > 1 and shard_of(org, shard_count) != shard_index:
                    continue
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
        if ctx.options.dry_run:
            tally.synced += 1
            if len(planned) < MAX_PLANNED_SHOWN:
                planned.append(PlannedCall("POST", path, key, {"date": req.date}))
            return
        try:
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
        if response.replayed and not response.replayed_own:
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
    return _result(ctx, req, tally, planned)


def _result(ctx: Context, req: OrgSyncRequest, tally: Tally, planned: list[PlannedCall]) -> JobResult:
    details: dict[str, Any] = {"date": req.date, "concurrency": req.concurrency}
    if req.shard:
        details["shard"] = f"{req.shard[0]}/{req.shard[1]}"
    counts = tally.counts()
    if ctx.options.dry_run:
        counts = {"orgs": tally.listed, "would_sync": tally.synced, "invalid": tally.invalid,
                  "repeated": tally.repeated, "inactive": tally.inactive}
        more = tally.synced - len(planned)
        return JobResult(Outcome.DRY_RUN, f"would sync {tally.synced} orgs for {req.date}"
                         + (f" (first {len(planned)} shown, {more} more)" if more > 0 else "") + tally.skipped(),
                         counts=counts, details=details, planned=planned, failures=tally.failures)
    if ctx.stop_signal is not None:
        left = "; the rest are left for a rerun"
        return JobResult(Outcome.INTERRUPTED, f"stopped by signal after {tally.done} orgs{left}",
                         counts=counts, details=details, failures=tally.failures, signal=ctx.stop_signal)
    if tally.systemic is not None:
        reason = tally.systemic.message
        if tally.done == 0:
            # Nothing synced: per-org failures before the stop do not make it partial.
            outcome = Outcome.REFUSED if isinstance(tally.systemic, ApiAuthError) else Outcome.FAILED
            return JobResult(outcome, f"stopped before syncing any org: {reason}", counts=counts,
                             details=details, failures=tally.failures)
        return JobResult(Outcome.PARTIAL, f"stopped after {tally.done} orgs: {reason}", counts=counts,
                         details=details, failures=tally.failures)
    if tally.failed or tally.invalid:
        names = ", ".join(f["org"] for f in tally.failures[:10])
        extra = f" and {len(tally.failures) - 10} more" if len(tally.failures) > 10 else ""
        # Partial means some units done: with none synced the effect is simply not done.
        outcome = Outcome.PARTIAL if tally.done else Outcome.FAILED
        return JobResult(outcome, f"{tally.failed + tally.invalid} of {tally.listed} orgs failed: "
                         f"{names}{extra}", counts=counts, details=details, failures=tally.failures)
    if tally.listed == 0:
        return JobResult(Outcome.SKIPPED, "no active orgs" + (" in this shard" if req.shard else "")
                         + tally.skipped(), counts=counts, details=details)
    if tally.synced == 0:
        return JobResult(Outcome.DUPLICATE, f"all {tally.duplicate} orgs already synced for {req.date}"
                         + tally.skipped(), counts=counts, details=details)
    return JobResult(Outcome.APPLIED, f"synced {tally.synced} orgs for {req.date}"
                     + (f" ({tally.duplicate} already synced)" if tally.duplicate else "") + tally.skipped(),
                     counts=counts, details=details)


# --- the job as the command, release and backfill run it ------------------------------------------------
def org_sync_request(ctx: Context, *, date: str | None, orgs: list[str] | None, concurrency: int,
                     shard: str | None) -> OrgSyncRequest:
    """Options and the Cloud Run task (its index and count pick the shard) as one request."""
    day = parse_date(date, ctx.clock.now())
    chosen = [check_org(o) for o in orgs] if orgs else None
    if shard is not None:
        selected: tuple[int, int] | None = parse_shard(shard)
    elif ctx.task is not None and ctx.task.count > 1:
        selected = (ctx.task.index, ctx.task.count)
    else:
        selected = None
    return OrgSyncRequest(date=day, concurrency=concurrency, orgs=chosen, shard=selected)


async def org_sync_job(ctx: Context, *, date: str | None = None, orgs: list[str] | None = None,
                       concurrency: int = 32, shard: str | None = None) -> JobResult:
    """org-sync-all as the command runs it (and `release --local` and backfill, with the defaults)."""
    req = org_sync_request(ctx, date=date, orgs=orgs, concurrency=concurrency, shard=shard)
    ctx.settings.whole("progress_every")  # refused the same on a terminal (a bar) as off one (records)
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
