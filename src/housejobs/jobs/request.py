"""Turn command-line options and the Cloud Run task environment into a job's request."""

from __future__ import annotations

from housejobs.context import Context
from housejobs.errors import ConfigError
from housejobs.jobs.org_sync import OrgSyncRequest, check_org, parse_shard
from housejobs.jobs.periods import parse_date
from housejobs.results import JobResult
from housejobs.settings import ascii_int


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
    environ = ctx.runtime.environ
    index, count = environ.get("CLOUD_RUN_TASK_INDEX"), environ.get("CLOUD_RUN_TASK_COUNT")
    if index is None and count is None:
        return None
    i, n = ascii_int(index or "0"), ascii_int(count or "1")
    if i is None or n is None:
        raise ConfigError(f"CLOUD_RUN_TASK_INDEX={index!r} / CLOUD_RUN_TASK_COUNT={count!r} are not "
                          "numbers")
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"CLOUD_RUN_TASK_INDEX={i} is outside CLOUD_RUN_TASK_COUNT={n}")
    return (i, n) if n > 1 else None
