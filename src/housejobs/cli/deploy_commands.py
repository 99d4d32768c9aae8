"""Cloud Run commands: run, release, list-jobs, create-all-jobs, pause, resume, doctor, smoke.

Thin: parse options → the job (jobs/cloud_run.py, release.py, deploy.py, doctor.py, smoke.py, info.py) →
`run` (the run boundary) → a `Run` that cli/main.py renders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from housejobs.cli.app import app
from housejobs.cli.options import (
    ChecksDeadlineOpt,
    DeadlineOpt,
    DebugOpt,
    JsonOpt,
    RequiredEnvOpt,
    YesOpt,
    catalog_check,
    number,
    refusing,
    run,
    with_jobs_dir,
)
from housejobs.results import Run

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.results import JobResult, View
    from housejobs.target import Use


@app.command("run")
def run_command(
    job: Annotated[str, typer.Argument(metavar="JOB", help="A catalog job (see `housejobs list-jobs`).",
                                       show_default=False)],
    args: Annotated[list[str] | None, typer.Argument(metavar="[-- ARGS...]", help="The job's arguments for "
                                                     "this execution, after `--`.", show_default=False)] = None,
    *,
    env: RequiredEnvOpt,
    tasks: Annotated[int | None, typer.Option("--tasks", click_type=number(whole=True, lo=1, hi=10000),
                                              metavar="N",
                                              help="Task count for this execution [default: the job's].",
                                              show_default=False)] = None,
    no_wait: Annotated[bool, typer.Option("--no-wait", help="Return once started, with the execution "
                                          "name.")] = False,
    allow_concurrent: Annotated[bool, typer.Option("--allow-concurrent", help="Start even while another "
                                                   "execution of the job is running.")] = False,
    follow: Annotated[str | None, typer.Option("--follow", metavar="EXECUTION", help="Follow an execution "
                                               "that already started (after Ctrl-C or --no-wait).",
                                               show_default=False)] = None,
    no_logs: Annotated[bool, typer.Option("--no-logs", help="Do not show the execution's log lines while "
                                          "following (they show only on a terminal).")] = False,
    yes: YesOpt = False, json: JsonOpt = False, debug: DebugOpt = False,
) -> Run:
    """Start JOB's Cloud Run Job (housejobs-JOB-ENV) and follow the execution to the end.

    Refuses (exit 2) while an execution of the job is still running, unless --allow-concurrent.
    Arguments after `--` are added to the job's catalog args for this execution, as a trigger's are
    (the container runs `housejobs JOB [CATALOG ARGS] ARGS...`). On a terminal it shows the execution's
    log lines as they arrive. It reports the job's own outcome (applied, duplicate, ...: the run_summary
    of each task's last attempt, read from Cloud Logging) with its exit code; when no summary can be read
    it says why and reports the container state (unconfirmed if it exited 0, failed if not). With
    --no-wait the outcome is `started`. Ctrl-C stops following, not the execution.

    Example: housejobs run org-sync-all --env stage --tasks 4 -- --concurrency 64
    """
    from housejobs.catalog import load_catalog, run_job_id
    from housejobs.context import Options
    from housejobs.jobs import registry
    from housejobs.jobs.cloud_run import RunRequest, check_run, run_job

    req = RunRequest(job, env, tasks, tuple(args) if args else None, wait=not no_wait,
                     allow_concurrent=allow_concurrent, follow=follow, logs=not no_logs)
    bad_input = with_jobs_dir(lambda jobs_dir: check_run(req, load_catalog(jobs_dir), registry.lookup(jobs_dir)))[1]

    async def job_fn(ctx: Context) -> JobResult:
        return await run_job(ctx, req)

    # Following only reads; starting an execution is what prod must confirm.
    confirm = None if bad_input or follow else f"start {run_job_id(job, env)} on Cloud Run"
    return run(Options(env=env, yes=yes, json=json, debug=debug, uses=("cloud-run",)), "run",
               refusing(bad_input, job_fn), confirm=confirm)


@app.command("release")
def release(
    *,
    env: RequiredEnvOpt,
    local: Annotated[bool, typer.Option("--local", help="Run the three jobs in this process instead of on "
                                        "Cloud Run.")] = False,
    yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> Run:
    """Release: migrate → bootstrap → org-sync-all, stopping at the first step that fails.

    Each step runs as `housejobs run STEP --env ENV` (started on Cloud Run, followed to the end); with
    --local the same job functions run in this process against the environment. Prints each step's
    outcome; prod asks for one confirmation for the whole release.

    Example: housejobs release --env stage        (and: housejobs release --env test --local)
    """
    from housejobs.context import Options
    from housejobs.jobs import registry
    from housejobs.jobs.registry import RELEASE_STEPS
    from housejobs.jobs.release import release as impl

    async def job_fn(ctx: Context) -> JobResult:
        return await impl(ctx, env, local=local)

    uses: tuple[Use, ...] | None = ("cloud-run",)
    bad_input = None
    if local:  # in this process the release calls what its steps call, as their specs say
        uses, bad_input = with_jobs_dir(lambda d: registry.uses_of(registry.specs(d, RELEASE_STEPS).values()))
    opts = Options(env=env, yes=yes, json=json, deadline=deadline, debug=debug, uses=uses or ("cloud-run",))
    return run(opts, "release", refusing(bad_input, job_fn),
               confirm=None if bad_input else f"release ({' → '.join(RELEASE_STEPS)})")


@app.command("list-jobs")
def list_jobs(
    json: JsonOpt = False,
    env: Annotated[str | None, typer.Option("--env", metavar="ENV", help="Also read this environment (test, stage "
                                            "or prod): each job's state (in sync / drift / missing), its "
                                            "triggers' state, and its last execution.", show_default=False)] = None,
) -> Run:
    """List the job catalog: name, kind, schedule and what each calls. Needs no cloud access.

    With --env it reads Cloud Run and Cloud Scheduler: whether each job and trigger matches the
    catalog, whether each trigger is ENABLED or PAUSED, and each job's last execution.

    Example: housejobs list-jobs --env stage
    """
    from housejobs.context import Options

    if env is not None:
        from housejobs.jobs.deploy import list_jobs_env

        return run(Options(env=env, json=json, uses=("cloud-run",)), "list-jobs",
                   list_jobs_env, report=True)
    from housejobs.jobs.info import list_jobs as impl

    # Reads the catalog only: no settings resolved, so the command loads nothing heavier.
    return run(Options(json=json, uses=()), "list-jobs", impl, report=True)


@app.command("create-all-jobs")
def create_all_jobs(
    *,
    env: RequiredEnvOpt,
    plan: Annotated[bool, typer.Option("--plan", help="Print the plan; change nothing.")] = False,
    only: Annotated[str | None, typer.Option("--only", metavar="JOB", help="Only this catalog job and its "
                                             "triggers.", show_default=False)] = None,
    prune: Annotated[bool, typer.Option("--prune", help="Also delete this env's housejobs jobs and triggers "
                                        "that are no longer in the catalog.")] = False,
    image: Annotated[str | None, typer.Option("--image", metavar="IMAGE", help="Pin this image (best by "
                                              "digest) [default: the environment's image].",
                                              show_default=False)] = None,
    prune_foreign: Annotated[list[str] | None, typer.Option(
        "--prune-foreign", metavar="NAME", help="Delete this Scheduler job, not created by housejobs, that "
        "also starts one of this env's jobs (repeatable; see the plan's warnings).", show_default=False)] = None,
    yes: YesOpt = False, json: JsonOpt = False, debug: DebugOpt = False,
) -> Run:
    """Create or update every Cloud Run Job (housejobs-JOB-ENV) and Cloud Scheduler trigger in the catalog.

    Reads what exists, prints a plan (create / update with a field-level diff / unchanged / prune, the
    IAM bindings the deployment needs, and a warning for every other trigger that starts one of this
    env's jobs), then applies it: jobs, their IAM grants, triggers. A second run changes nothing.
    --prune deletes only what housejobs can prove it made: Cloud Run Jobs labelled managed-by=housejobs
    for this env, and Scheduler jobs whose description carries housejobs' marker and which start such
    a job; a name-alike without them is shown as `skip (not created by housejobs)`. Prod asks for
    confirmation unless --plan.

    Example: housejobs create-all-jobs --env stage --plan
    """
    from housejobs.context import Options
    from housejobs.jobs.deploy import create_all_jobs as impl

    foreign = tuple(prune_foreign or ())

    async def job(ctx: Context) -> JobResult:
        result = await impl(ctx, plan_only=plan, only=only, prune=prune, image=image, prune_foreign=foreign)
        if json:  # the JSON document has always carried the plan as its text lines too, right after it
            result.details = {"plan": result.details.pop("plan"), "lines": _lines(result.views),
                              **result.details}
        return result

    # --plan is this command's dry run: no prod prompt, no check-in ping (runner, notify).
    opts = Options(env=env, dry_run=plan, yes=yes, json=json, debug=debug, uses=("cloud-run",))
    return run(opts, "create-all-jobs", job, confirm="create or update Cloud Run Jobs and Scheduler triggers")


TriggerOpt = Annotated[str | None, typer.Option("--trigger", metavar="NAME", help="Only this trigger of the "
                                                "job [default: all of them].", show_default=False)]
TriggeredJobArg = Annotated[str, typer.Argument(metavar="JOB", help="A catalog job with triggers.")]


def _pause_or_resume(job_name: str, trigger: str | None, pause: bool, env: str, yes: bool, json: bool,
                     debug: bool) -> Run:
    from housejobs.context import Options
    from housejobs.jobs.deploy import set_paused

    async def job(ctx: Context) -> JobResult:
        return await set_paused(ctx, job=job_name, trigger=trigger, pause=pause)

    verb = "pause" if pause else "resume"
    return run(Options(env=env, yes=yes, json=json, debug=debug, uses=("cloud-run",)), verb, job,
               confirm=f"{verb} the triggers of {job_name}")


@app.command("pause")
def pause(job: TriggeredJobArg, *, env: RequiredEnvOpt, trigger: TriggerOpt = None, yes: YesOpt = False,
          json: JsonOpt = False, debug: DebugOpt = False) -> Run:
    """Pause JOB's Cloud Scheduler triggers: the job stays, nothing starts it on schedule.

    Example: housejobs pause reminder --env stage --trigger rent-due
    """
    return _pause_or_resume(job, trigger, True, env, yes, json, debug)


@app.command("resume")
def resume(job: TriggeredJobArg, *, env: RequiredEnvOpt, trigger: TriggerOpt = None, yes: YesOpt = False,
           json: JsonOpt = False, debug: DebugOpt = False) -> Run:
    """Resume JOB's paused Cloud Scheduler triggers.

    Example: housejobs resume reminder --env stage
    """
    return _pause_or_resume(job, trigger, False, env, yes, json, debug)


@app.command("doctor")
def doctor(*, env: RequiredEnvOpt, json: JsonOpt = False, deadline: ChecksDeadlineOpt = None,
           debug: DebugOpt = False) -> Run:
    """Check a deployment: config, credentials, each secret, API health and auth, jobs and triggers in
    sync with the catalog, no other Scheduler job starting them (a double trigger), and the IAM bindings
    on the jobs. Prints one ✓ or ✗ line per check.

    Exits 0 if every check passes, 1 if any fails, 2 if the configuration does not resolve.

    Example: housejobs doctor --env stage
    """
    from housejobs.context import Options
    from housejobs.jobs.doctor import config_refused
    from housejobs.jobs.doctor import doctor as impl

    return run(Options(env=env, json=json, deadline=deadline, debug=debug, uses=("cloud-run", "admin")), "doctor",
               impl, report=True, refused=config_refused(env))


@app.command("smoke")
def smoke(
    *,
    env: RequiredEnvOpt,
    only: Annotated[list[str] | None, typer.Option("--only", metavar="JOB", help="Dry-run only this catalog job "
                                                   "(repeatable; the checks still cover the whole deployment).",
                                                   show_default=False)] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", click_type=number(whole=True, lo=1, hi=32),
                                             metavar="N", help="Jobs dry-running at once.")] = 4,
    yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> Run:
    """Smoke-test a deployment from inside Cloud Run, changing nothing: doctor's checks, then every
    catalog job started as an execution of the deployed job with --dry-run appended to its args (one
    per reminder type), followed to the end. Prints the checklist and one table: job, execution,
    outcome, duration, log link. An execution already running is waited for first.

    Green is outcome dry-run (exit 0: every check and every dry run passed, nothing changed); 1 otherwise,
    2 if the configuration does not resolve. Prod asks for confirmation (the dry runs still start
    executions).

    Example: housejobs smoke --env stage --json
    """
    from housejobs.context import Options
    from housejobs.jobs.smoke import check_only, run_smoke

    jobs = tuple(dict.fromkeys(only or ()))
    bad_input = catalog_check(lambda names: check_only(jobs, names))

    async def job_fn(ctx: Context) -> JobResult:
        result = await run_smoke(ctx, only=jobs, concurrency=concurrency)
        if json:  # the JSON document has always carried the checklist and the table as text lines too
            result.details["lines"] = _lines(result.views)
        return result

    return run(Options(env=env, yes=yes, json=json, deadline=deadline, debug=debug, uses=("cloud-run", "admin")),
               "smoke",
               refusing(bad_input, job_fn),
               confirm=None if bad_input else "start a dry-run execution of every job on Cloud Run")


def _lines(views: list[View]) -> list[str]:
    """Views as the plain text lines a pipe gets (some JSON documents carry them)."""
    from housejobs.cli.text import view_lines

    return [line for view in views for line in view_lines(view)]
