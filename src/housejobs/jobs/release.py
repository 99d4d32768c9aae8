"""`housejobs release`: migrate → bootstrap → org-sync-all, stopping at the first step that fails.

Each step runs as `housejobs run STEP --env ENV` (a Cloud Run execution, followed to the end, its outcome
the job's own: jobs/summaries.py), or with `--local` through what the job's own command runs (its spec's
`run`, jobs/registry.py), with its defaults: this process plays the part of the Cloud Run task. The summary
names each step's outcome (`migrate skipped → bootstrap applied → org-sync-all applied`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from housejobs.errors import HousejobsError
from housejobs.jobs import registry
from housejobs.jobs.cloud_run import CloudRunJobs, RunRequest, run_job
from housejobs.jobs.registry import RELEASE_STEPS
from housejobs.results import JobResult, Outcome

if TYPE_CHECKING:
    from housejobs.context import Context


async def release(ctx: Context, env: str, *, local: bool) -> JobResult:
    """migrate → bootstrap → org-sync-all, stopping at the first step that does not exit 0."""
    steps: list[dict[str, Any]] = []
    final: JobResult | None = None
    cloud = CloudRunJobs(ctx)  # one client for the three steps' executions
    for job in RELEASE_STEPS:
        if ctx.stop.is_set():
            final = JobResult(Outcome.INTERRUPTED, f"stopped before {job}", signal=ctx.stop.signal)
            break
        ctx.logger.info(f"release: {job}", event="release_step_started", step=job, local=local)
        try:
            result = await (_local(ctx, job) if local else run_job(ctx, RunRequest(job, env), cloud))
        except HousejobsError as exc:
            result = exc.result()
        step = {"job": job, "outcome": result.outcome.value, "exit_code": result.exit_code,
                "message": result.message, "counts": result.counts}
        for key in ("execution", "log_uri", "duration_s"):
            if result.details.get(key) is not None:
                step[key] = result.details[key]
        steps.append(step)
        fields = {k: v for k, v in step.items() if k not in ("job", "message")}
        ctx.logger.log("INFO" if result.exit_code == 0 else "ERROR",
                       f"release: {job} {result.outcome.value}" + (f": {result.message}" if result.message else ""),
                       event="release_step", step=job, **fields)
        if result.exit_code != 0:
            final = result
            break
    done = [s["job"] for s in steps if s["exit_code"] == 0]
    not_run = [job for job in RELEASE_STEPS if job not in {s["job"] for s in steps}]
    counts = {"steps": len(RELEASE_STEPS), "succeeded": len(done), "failed": len(steps) - len(done),
              "not_run": len(not_run)}
    details = {"mode": "local" if local else "cloud-run", "steps": steps, "not_run": not_run}
    if final is None:
        # Each step's own outcome, as its job said it (on Cloud Run: its run_summary, jobs/summaries.py).
        return JobResult(Outcome.APPLIED, " → ".join(f"{s['job']} {s['outcome']}" for s in steps), counts=counts,
                         details=details)
    failed = steps[-1]["job"] if len(steps) > len(done) else None
    where = f"stopped at {failed}: {final.message}" if failed else final.message
    if not_run:
        where += f"; not run: {', '.join(not_run)}"
    failures = [{"unit": failed, "reason": final.message}] if failed else []
    return JobResult(final.outcome, where, counts=counts, details=details, failures=failures,
                     signal=final.signal)


async def _local(ctx: Context, job: str) -> JobResult:
    spec = registry.spec(job, ctx.settings.jobs_dir)
    return await spec.run(ctx, spec.request_for())
