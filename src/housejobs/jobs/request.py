"""Turn command-line options and the Cloud Run task environment into a job's request."""

from __future__ import annotations

from housejobs.context import Context
from housejobs.jobs.org_sync import OrgSyncRequest, check_org, parse_shard
from housejobs.jobs.periods import parse_date
from housejobs.results import JobResult


def org_sync_request(ctx: Context, *, date: str | None, orgs: list[str] | None, concurrency: int,
                     shard: str | None) -> OrgSyncRequest:
    day = parse_date(date, ctx.clock.now())
    chosen = [check_org(o) for o in orgs] if orgs else None
    if shard is not None:
        selected: tuple[int, int] | None = parse_shard(shard)
    else:
        selected = _task_shard(ctx)
    return OrgSyncRequest(date=day, concurrency=concurrency, orgs=chosen, shard=selected)


async def org_sync_job(ctx: Context, *, date: str | None = None, orgs: list[str] | None = None,
                       concurrency: int = 32, shard: str | None = None) -> JobResult:
    """org-sync-all as the command runs it (and `release --local`, with the defaults)."""
    from housejobs.jobs.org_sync import run_org_sync
    from housejobs.jobs.progress import make_progress

    req = org_sync_request(ctx, date=date, orgs=orgs, concurrency=concurrency, shard=shard)
    with make_progress(ctx) as progress:
        return await run_org_sync(ctx, req, progress)


def _task_shard(ctx: Context) -> tuple[int, int] | None:
    task = ctx.runtime.task
    if task is None or task.count == 1:
        return None
    return task.index, task.count
