"""The housejobs command line. Thin: parse options, hand them to the runner, nothing else.

Only typer and the standard library load at start-up; each command imports what it needs (the Google
libraries cost 0.3-0.45 s each, so `--help` and the API-only jobs never load them).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
import typer.main
from click import ClickException
from click.exceptions import NoArgsIsHelpError

from housejobs import __version__
from housejobs.context import Context, Options
from housejobs.errors import Stopped
from housejobs.runtime import Runtime
from housejobs.settings import ascii_float, ascii_int

if TYPE_CHECKING:
    from housejobs.errors import HousejobsError
    from housejobs.target import Use

_runtime: contextvars.ContextVar[Runtime] = contextvars.ContextVar("housejobs_runtime")


def runtime() -> Runtime:
    rt = _runtime.get(None)
    if rt is None:
        rt = Runtime()
        _runtime.set(rt)
    return rt


def _version(value: bool) -> None:
    if value:
        runtime().stdout.write(f"housejobs {__version__}\n")
        raise typer.Exit(0)


app = typer.Typer(
    name="housejobs",
    help="Run, schedule and deploy the platform's maintenance jobs on Cloud Run Jobs.\n\n"
    "Without --env or --api-url a job runs against the embedded sandbox, so you can try it with no "
    "cloud account: `housejobs quota-reset`.",
    no_args_is_help=True,
    # --install-completion / --show-completion: ~4 ms of start-up (typer.completion), well inside the
    # 2.0x `import typer` budget (bench/startup.py).
    add_completion=True,
    pretty_exceptions_enable=False,
    # Plain help everywhere: rich help costs 2x the start-up of plain help (bench/startup.py) and a
    # CLI that runs every few minutes in Cloud Run should not pay that to print help it never shows.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    # Click (8.4+) suggests a close command name itself; Typer's own suggestion would say it twice.
    suggest_commands=False,
)


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Run, schedule and deploy the platform's maintenance jobs on Cloud Run Jobs."""


# --- numbers: ASCII only, one type for every numeric option -------------------------------------------
class _AsciiNumber(click.ParamType[Any, Any]):
    """Click's INT and FLOAT call int() and float(), which also read other scripts' digits ("３", "٣")
    and "1_000"; --date and the settings refuse those, so every numeric option does too."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str):
            whole = isinstance(self, click.IntRange)
            number = ascii_int(value) if whole else ascii_float(value)
            if number is None:
                self.fail(f"{value!r} is not a {'whole number' if whole else 'number'} in ASCII digits",
                          param, ctx)
            value = number
        return super().convert(value, param, ctx)


class _AsciiInt(_AsciiNumber, click.IntRange):
    pass


class _AsciiFloat(_AsciiNumber, click.FloatRange):
    pass


def number(*, whole: bool, lo: float | None = None, hi: float | None = None) -> click.ParamType[Any, Any]:
    """The click type of a numeric option (typer.Option(click_type=...)), with its range if any."""
    if whole:
        return _AsciiInt(None if lo is None else int(lo), None if hi is None else int(hi))
    return _AsciiFloat(lo, hi)


# --- the options every job command shares ------------------------------------------------------
EnvOpt = Annotated[str | None, typer.Option("--env", metavar="ENV", help="Environment: test, stage or prod "
                                            "[default: $HOUSEJOBS_ENV, else the embedded sandbox].",
                                            show_default=False)]
# migrate and quota-cleanup talk to Supabase and BigQuery: there is no sandbox to fall back to.
EnvNoSandboxOpt = Annotated[str | None, typer.Option("--env", metavar="ENV", help="Environment: test, stage or prod "
                                                     "[default: $HOUSEJOBS_ENV; this job has no sandbox: "
                                                     "without an env, its settings come from HOUSEJOBS_* "
                                                     "variables].", show_default=False)]
ApiUrlOpt = Annotated[str | None, typer.Option("--api-url", help="Admin API base URL (overrides the "
                                               "environment's).", show_default=False)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Make the reads, print the mutating calls; "
                                         "change nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Confirm a prod run without a prompt.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]
DeadlineOpt = Annotated[float | None, typer.Option("--deadline", metavar="SECONDS",
                                                   click_type=number(whole=False),
                                                   help="Bound one API call, retries included "
                                                   "[default: 60].", show_default=False)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Debug logs, and a traceback on internal errors.")]
DateOpt = Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD",
                                             help="Business date [default: today, UTC].", show_default=False)]
MonthOpt = Annotated[str | None, typer.Option("--month", metavar="YYYY-MM",
                                              help="Business month [default: this month, UTC].",
                                              show_default=False)]


def _options(env: str | None, api_url: str | None, dry_run: bool, yes: bool, json: bool,
             deadline: float | None, debug: bool, *, uses: tuple[Use, ...] = ("admin",),
             bot_url: str | None = None) -> Options:
    return Options(env=env, api_url=api_url, dry_run=dry_run, yes=yes, json=json, deadline=deadline,
                   debug=debug, uses=uses, bot_url=bot_url)


def _period_command(name: str, *, monthly: bool) -> None:
    from housejobs.jobs.admin import PERIOD_JOBS

    spec = PERIOD_JOBS[name]
    if monthly:
        def command(*, month: MonthOpt = None, env: EnvOpt = None, api_url: ApiUrlOpt = None,
                    dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False,
                    deadline: DeadlineOpt = None, debug: DebugOpt = False) -> None:
            _run_period(name, month, _options(env, api_url, dry_run, yes, json, deadline, debug))
    else:
        def command(*, date: DateOpt = None, env: EnvOpt = None, api_url: ApiUrlOpt = None,  # type: ignore[misc]
                    dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False,
                    deadline: DeadlineOpt = None, debug: DebugOpt = False) -> None:
            _run_period(name, date, _options(env, api_url, dry_run, yes, json, deadline, debug))
    unit = "month" if monthly else "date"
    command.__doc__ = (f"{_HELP[name]}\n\nCalls `POST {spec.path}` once per {unit}, keyed "
                       f"`housejobs:{name}:<{unit}>`: re-running the same {unit} reports `duplicate`.\n\n"
                       f"Example: housejobs {name} --env stage" + (" --month 2026-11" if monthly else ""))
    app.command(name)(command)


_HELP = {
    "quota-reset": "Reset every org's daily quota counters (daily, 00:00 UTC).",
    "stale-cleanup": "Fix stale quota counters (daily, 02:00 UTC).",
    "alerts": "Process and send every org's alerts (daily, 08:00 UTC).",
    "quota-monthly": "Reset every org's monthly quota counters (00:05 UTC on the 1st).",
}


def _run_period(name: str, period: str | None, options: Options) -> None:
    from housejobs.cli.runner import execute
    from housejobs.jobs.admin import PERIOD_JOBS, run_period_job
    from housejobs.jobs.periods import parse_date, parse_month
    from housejobs.results import JobResult

    spec = PERIOD_JOBS[name]

    async def job(ctx: Context) -> JobResult:
        now = ctx.clock.now()
        value = parse_month(period, now) if spec.period == "month" else parse_date(period, now)
        return await run_period_job(ctx, spec, value)

    raise typer.Exit(execute(runtime(), options, name, job, confirm=f"run {name}"))


for _name in ("quota-reset", "stale-cleanup", "alerts"):
    _period_command(_name, monthly=False)
_period_command("quota-monthly", monthly=True)


@app.command("bootstrap")
def bootstrap(*, env: EnvOpt = None, api_url: ApiUrlOpt = None, dry_run: DryRunOpt = False,
              yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None,
              debug: DebugOpt = False) -> None:
    """Create the platform's tables (fresh install) or add missing columns (existing install).

    Calls `POST /admin/bootstrap` once, keyed by the run (the Cloud Run execution inside Cloud Run, so a
    task retry replays). Reports the mode and the tables or columns it touched.

    Example: housejobs bootstrap --env stage
    """
    from housejobs.cli.runner import execute
    from housejobs.jobs.admin import run_bootstrap

    raise typer.Exit(execute(runtime(), _options(env, api_url, dry_run, yes, json, deadline, debug),
                             "bootstrap", run_bootstrap, confirm="run bootstrap"))


@app.command("org-sync-all")
def org_sync_all(
    *,
    date: DateOpt = None,
    org: Annotated[list[str] | None, typer.Option("--org", metavar="ID",
                                                  help="Sync only this org (repeatable).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", click_type=number(whole=True, lo=1, hi=256),
                                             help="Sync calls in flight at once.")] = 32,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N",
                                              help="Take only shard I of N (0-based); in Cloud Run the "
                                              "task index and count decide.", show_default=False)] = None,
    env: EnvOpt = None, api_url: ApiUrlOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> None:
    """Sync every active org: pages through `GET /admin/orgs?status=active` and calls
    `POST /admin/orgs/{org}/sync` for each, keyed `housejobs:org-sync:<org>:<date>`.

    One org failing does not stop the others (exit 3 names them); 401/403 stops the run.
    SIGTERM/SIGINT take no new org, finish the in-flight ones, and exit 143/130; a rerun does the rest.

    Example: housejobs org-sync-all --env stage --concurrency 64
    """
    from housejobs.cli.runner import execute
    from housejobs.jobs.request import org_sync_job
    from housejobs.results import JobResult

    options = _options(env, api_url, dry_run, yes, json, deadline, debug)

    async def job(ctx: Context) -> JobResult:
        return await org_sync_job(ctx, date=date, orgs=org, concurrency=concurrency, shard=shard)

    raise typer.Exit(execute(runtime(), options, "org-sync-all", job, confirm="run org-sync-all"))


@app.command("quota-cleanup")
def quota_cleanup(
    *,
    days: Annotated[int, typer.Option("--days", click_type=number(whole=True),
                                      help="Retention: delete rows older than this many days.")] = 90,
    allow_short_retention: Annotated[bool, typer.Option("--allow-short-retention",
                                                        help="Allow --days below 7.")] = False,
    env: EnvNoSandboxOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False,
    deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> None:
    """Delete quota rows older than the retention period from BigQuery (daily, 01:00 UTC).

    Runs one parameterized `DELETE FROM <quota_table> WHERE <ts> < @cutoff`, the cutoff computed once as
    now minus --days. --dry-run counts the rows instead and validates the DELETE with a BigQuery dry run.
    The table and column come from environments.toml (quota_table, quota_timestamp_column) or
    HOUSEJOBS_QUOTA_TABLE / HOUSEJOBS_QUOTA_TIMESTAMP_COLUMN.

    Example: housejobs quota-cleanup --env stage --dry-run
    """
    from housejobs.cli.runner import execute
    from housejobs.jobs.quota_cleanup import check_days, run_quota_cleanup
    from housejobs.results import JobResult

    options = _options(env, None, dry_run, yes, json, deadline, debug, uses=("bigquery",))

    async def job(ctx: Context) -> JobResult:
        return await run_quota_cleanup(ctx, days=check_days(days, allow_short_retention))

    raise typer.Exit(execute(runtime(), options, "quota-cleanup", job, confirm="delete old quota rows"))


@app.command("reminder")
def reminder(
    reminder_type: Annotated[str, typer.Argument(metavar="TYPE", help="utilities, rent-warning or rent-due.",
                                                 show_default=False)],
    *,
    period: Annotated[str | None, typer.Option("--period", metavar="YYYY-MM",
                                               help="Billing month [default: this month in the household's "
                                               "time zone].", show_default=False)] = None,
    job_id: Annotated[str | None, typer.Option("--job-id", metavar="ID",
                                               help="Job id the bot logs [default: the Cloud Run execution, "
                                               "else a fresh id].", show_default=False)] = None,
    bot_url: Annotated[str | None, typer.Option("--bot-url", help="Bot runtime base URL (overrides the "
                                                "environment's bot_url).", show_default=False)] = None,
    env: EnvOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Ask for the bot's own dry run: it answers "
                                          "in full and claims nothing.")] = False,
    yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> None:
    """Ask the household bot to dispatch one reminder, exactly once per billing period.

    TYPE is utilities, rent-warning or rent-due. Calls the bot runtime's `POST /jobs/reminder/TYPE`
    with the period, a job id and the scheduler secret (SCHEDULER_SHARED_SECRET, else Secret Manager
    scheduler-shared-secret<suffix>). The bot dedupes on `<period>:TYPE`: the first run reports
    `applied`, every later one `duplicate`.

    Example: housejobs reminder rent-due --env stage --period 2026-12
    """
    from housejobs.cli.runner import execute
    from housejobs.errors import HousejobsError
    from housejobs.jobs.reminder import ReminderRequest, check_request, run_reminder
    from housejobs.results import JobResult

    rt = runtime()
    options = _options(env, None, dry_run, yes, json, deadline, debug, uses=("bot",), bot_url=bot_url)
    req = ReminderRequest(reminder_type, period, job_id)
    try:
        check_request(req, rt.clock.now())
        bad_input: HousejobsError | None = None
    except HousejobsError as exc:
        bad_input = exc  # refused inside the run (one result, one summary), before any prompt or call

    async def job(ctx: Context) -> JobResult:
        if bad_input is not None:
            raise bad_input
        return await run_reminder(ctx, req)

    raise typer.Exit(execute(rt, options, "reminder", job,
                             confirm=None if bad_input else f"dispatch the {reminder_type} reminder"))


migrate_app = typer.Typer(help="Supabase SQL migrations through the Management API.", no_args_is_help=False,
                          suggest_commands=False)
app.add_typer(migrate_app, name="migrate")
MigrationsDirOpt = Annotated[str | None, typer.Option("--dir", metavar="PATH", help="Migrations directory "
                                                      "[default: jobs/migrations].", show_default=False)]


@migrate_app.callback(invoke_without_command=True)
def migrate(
    typer_ctx: typer.Context,
    *,
    directory: MigrationsDirOpt = None,
    include_all: Annotated[bool, typer.Option("--include-all", help="Also apply pending migrations older "
                                              "than the newest applied one.")] = False,
    env: EnvNoSandboxOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False,
    deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> None:
    """Apply pending migrations (`<digits>_<name>.sql`), each in one transaction, through
    `POST /v1/projects/{ref}/database/query`. History lives in supabase_migrations.schema_migrations,
    the Supabase CLI's own table. Refuses (exit 2) on a changed, missing or out-of-order migration.

    Example: housejobs migrate --env stage        (and: housejobs migrate status --env stage)
    """
    if typer_ctx.invoked_subcommand is not None:
        return
    from housejobs.cli.runner import execute
    from housejobs.jobs.migrate import run_migrate
    from housejobs.results import JobResult

    async def job(ctx: Context) -> JobResult:
        return await run_migrate(ctx, directory=directory, include_all=include_all)

    options = _options(env, None, dry_run, yes, json, deadline, debug, uses=("supabase",))
    raise typer.Exit(execute(runtime(), options, "migrate", job, confirm="apply migrations"))


@migrate_app.command("status")
def migrate_status(*, directory: MigrationsDirOpt = None, env: EnvNoSandboxOpt = None, json: JsonOpt = False,
                   deadline: DeadlineOpt = None, debug: DebugOpt = False) -> None:
    """Show each migration: version, name, and applied / pending / missing / changed / out-of-order.

    Example: housejobs migrate status --env prod
    """
    from housejobs.cli.runner import execute
    from housejobs.jobs.migrate import run_status
    from housejobs.results import JobResult

    async def job(ctx: Context) -> JobResult:
        return await run_status(ctx, directory=directory)

    options = _options(env, None, False, False, json, deadline, debug, uses=("supabase",))
    raise typer.Exit(execute(runtime(), options, "migrate-status", job))


# --- Cloud Run executions: run a provisioned job, release ----------------------------------------
RequiredEnvOpt = Annotated[str, typer.Option("--env", help="Environment: test, stage or prod.", show_default=False)]


def _catalog_check(check: Callable[[list[str]], None]) -> HousejobsError | None:
    """Check a command's input against the catalog before any prompt; the error is raised inside the run."""
    from housejobs.catalog import load_catalog
    from housejobs.errors import HousejobsError
    from housejobs.settings import find_jobs_dir

    try:
        jobs_dir, _ = find_jobs_dir(runtime().environ)
        check(list(load_catalog(jobs_dir)))
    except HousejobsError as exc:
        return exc
    return None


@app.command("run")
def run(
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
    yes: YesOpt = False, json: JsonOpt = False, debug: DebugOpt = False,
) -> None:
    """Start JOB's Cloud Run Job (housejobs-JOB-ENV) and follow the execution to the end.

    Refuses (exit 2) while an execution of the job is still running, unless --allow-concurrent.
    Arguments after `--` are added to the job's catalog args for this execution, as a trigger's are
    (the container runs `housejobs JOB [CATALOG ARGS] ARGS...`). Prints
    the task counts, the duration and the log URI; exits 0 only if every task succeeded, 1 if any
    failed or the execution was cancelled. Ctrl-C stops following, not the execution.

    Example: housejobs run org-sync-all --env stage --tasks 4 -- --concurrency 64
    """
    from housejobs.catalog import run_job_id
    from housejobs.cli.runner import execute
    from housejobs.results import JobResult
    from housejobs.runs import RunRequest, check_request, run_job

    req = RunRequest(job, env, tasks, tuple(args) if args else None, wait=not no_wait,
                     allow_concurrent=allow_concurrent, follow=follow)
    bad_input = _catalog_check(lambda names: check_request(req, names))

    async def job_fn(ctx: Context) -> JobResult:
        if bad_input is not None:
            raise bad_input
        return await run_job(ctx, req)

    # Following only reads; starting an execution is what prod must confirm.
    confirm = None if bad_input or follow else f"start {run_job_id(job, env)} on Cloud Run"
    options = _options(env, None, False, yes, json, None, debug, uses=("cloud-run",))
    raise typer.Exit(execute(runtime(), options, "run", job_fn, confirm=confirm))


@app.command("release")
def release(
    *,
    env: RequiredEnvOpt,
    local: Annotated[bool, typer.Option("--local", help="Run the three jobs in this process instead of on "
                                        "Cloud Run.")] = False,
    yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> None:
    """Release: migrate → bootstrap → org-sync-all, stopping at the first step that fails.

    Each step runs as `housejobs run STEP --env ENV` (started on Cloud Run, followed to the end); with
    --local the same job functions run in this process against the environment. Prints each step's
    outcome; prod asks for one confirmation for the whole release.

    Example: housejobs release --env stage        (and: housejobs release --env test --local)
    """
    from housejobs.cli.runner import execute
    from housejobs.results import JobResult
    from housejobs.runs import release as impl

    async def job_fn(ctx: Context) -> JobResult:
        return await impl(ctx, env, local=local)

    options = _options(env, None, False, yes, json, deadline, debug,
                       uses=("admin", "supabase") if local else ("cloud-run",))
    raise typer.Exit(execute(runtime(), options, "release", job_fn,
                             confirm="release (migrate → bootstrap → org-sync-all)"))


@app.command("list-jobs")
def list_jobs(
    json: JsonOpt = False,
    env: Annotated[str | None, typer.Option("--env", help="Also read this environment (test, stage or prod): "
                                            "each job's state (in sync / drift / missing), its triggers' "
                                            "state, and its last execution.", show_default=False)] = None,
) -> None:
    """List the job catalog: name, kind, schedule and what each calls. Needs no cloud access.

    With --env it reads Cloud Run and Cloud Scheduler: whether each job and trigger matches the
    catalog, whether each trigger is ENABLED or PAUSED, and each job's last execution.

    Example: housejobs list-jobs --env stage
    """
    if env is not None:
        from housejobs.cli.deploy import list_jobs_env

        raise typer.Exit(list_jobs_env(runtime(), env=env, as_json=json))
    from housejobs.cli.info import list_jobs as impl

    raise typer.Exit(impl(runtime(), as_json=json))


# --- provisioning: create-all-jobs, pause, resume, doctor ----------------------------------------


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
) -> None:
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
    from housejobs.cli.deploy import create_all_jobs as impl
    from housejobs.cli.runner import execute
    from housejobs.results import JobResult

    foreign = tuple(prune_foreign or ())

    async def job(ctx: Context) -> JobResult:
        return await impl(ctx, plan_only=plan, only=only, prune=prune, image=image, prune_foreign=foreign)

    options = Options(env=env, dry_run=plan, yes=yes, json=json, debug=debug, uses=("cloud-run",))
    raise typer.Exit(execute(runtime(), options, "create-all-jobs", job,
                             confirm="create or update Cloud Run Jobs and Scheduler triggers"))


TriggerOpt = Annotated[str | None, typer.Option("--trigger", metavar="NAME", help="Only this trigger of the "
                                                "job [default: all of them].", show_default=False)]


def _pause_or_resume(job_name: str, trigger: str | None, pause: bool, options: Options) -> None:
    from housejobs.cli.deploy import set_paused
    from housejobs.cli.runner import execute
    from housejobs.results import JobResult

    async def job(ctx: Context) -> JobResult:
        return await set_paused(ctx, job=job_name, trigger=trigger, pause=pause)

    verb = "pause" if pause else "resume"
    raise typer.Exit(execute(runtime(), options, verb, job, confirm=f"{verb} the triggers of {job_name}"))


@app.command("pause")
def pause(job: Annotated[str, typer.Argument(metavar="JOB", help="A catalog job with triggers.")], *,
          env: RequiredEnvOpt, trigger: TriggerOpt = None, yes: YesOpt = False, json: JsonOpt = False,
          debug: DebugOpt = False) -> None:
    """Pause JOB's Cloud Scheduler triggers: the job stays, nothing starts it on schedule.

    Example: housejobs pause reminder --env stage --trigger rent-due
    """
    _pause_or_resume(job, trigger, True, Options(env=env, yes=yes, json=json, debug=debug, uses=("cloud-run",)))


@app.command("resume")
def resume(job: Annotated[str, typer.Argument(metavar="JOB", help="A catalog job with triggers.")], *,
           env: RequiredEnvOpt, trigger: TriggerOpt = None, yes: YesOpt = False, json: JsonOpt = False,
           debug: DebugOpt = False) -> None:
    """Resume JOB's paused Cloud Scheduler triggers.

    Example: housejobs resume reminder --env stage
    """
    _pause_or_resume(job, trigger, False, Options(env=env, yes=yes, json=json, debug=debug, uses=("cloud-run",)))


@app.command("doctor")
def doctor(*, env: RequiredEnvOpt, json: JsonOpt = False,
           deadline: Annotated[float, typer.Option("--deadline", metavar="SECONDS",
                                                   click_type=number(whole=False, lo=0.1),
                                                   help="Bound each API check, retries included.")] = 10.0,
           debug: DebugOpt = False) -> None:
    """Check a deployment: config, credentials, each secret, API health and auth, jobs and triggers in
    sync with the catalog, no other Scheduler job starting them (a double trigger), and the IAM bindings
    on the jobs. Prints one ✓ or ✗ line per check.

    Exits 0 if every check passes, 1 if any fails, 2 if the configuration does not resolve.

    Example: housejobs doctor --env stage
    """
    from housejobs.cli.deploy import doctor as impl

    raise typer.Exit(impl(runtime(), env=env, as_json=json, deadline=deadline, debug=debug))


@app.command("smoke")
def smoke(
    *,
    env: RequiredEnvOpt,
    only: Annotated[str | None, typer.Option("--only", metavar="JOB", help="Dry-run only this catalog job "
                                             "(the checks still cover the whole deployment).",
                                             show_default=False)] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", click_type=number(whole=True, lo=1, hi=32),
                                             metavar="N", help="Jobs dry-running at once.")] = 4,
    yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> None:
    """Smoke-test a deployment from inside Cloud Run, changing nothing: doctor's checks, then every
    catalog job started as an execution of the deployed job with --dry-run appended to its args (one
    per reminder type), followed to the end. Prints the checklist and one table: job, execution,
    outcome, duration, log link. An execution already running is waited for first.

    Exits 0 only if every check and every dry run passed, 1 otherwise, 2 if the configuration does not
    resolve. Prod asks for confirmation (the dry runs still start executions).

    Example: housejobs smoke --env stage --json
    """
    from housejobs.cli.runner import execute
    from housejobs.results import JobResult
    from housejobs.smoke import check_only, run_smoke

    bad_input = _catalog_check(lambda names: check_only(only, names))

    async def job_fn(ctx: Context) -> JobResult:
        if bad_input is not None:
            raise bad_input
        return await run_smoke(ctx, only=only, concurrency=concurrency)

    options = _options(env, None, False, yes, json, deadline, debug, uses=("cloud-run", "admin"))
    raise typer.Exit(execute(runtime(), options, "smoke", job_fn,
                             confirm=None if bad_input else "start a dry-run execution of every job on Cloud Run"))


config_app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True, suggest_commands=False)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(env: EnvOpt = None, json: JsonOpt = False) -> None:
    """Print every setting's resolved value and where it came from; secrets are masked.

    Example: housejobs config show --env stage
    """
    from housejobs.cli.info import config_show as impl

    raise typer.Exit(impl(runtime(), env=env, as_json=json))


@app.command("sandbox")
def sandbox(
    port: Annotated[int, typer.Option("--port", click_type=number(whole=True, lo=0, hi=65535),
                                      help="Port on 127.0.0.1 (0: any free).")] = 8765,
    db: Annotated[str | None, typer.Option("--db", metavar="PATH", help="SQLite database path [default: "
                                           "sandbox.db in the state directory, the embedded sandbox's own].",
                                           show_default=False)] = None,
    orgs: Annotated[int, typer.Option("--orgs", click_type=number(whole=True, lo=0, hi=1_000_000),
                                      help="Active orgs to seed.")] = 25,
    latency_ms: Annotated[float, typer.Option("--latency-ms", click_type=number(whole=False, lo=0),
                                              help="Latency added to every admin call.")] = 0,
    error_rate: Annotated[float, typer.Option("--error-rate", click_type=number(whole=False, lo=0, hi=1),
                                              help="Share of admin calls answered 503.")] = 0,
) -> None:
    """Serve the admin API contract (docs/api.md) on 127.0.0.1 with a SQLite store.

    The API key is read from CA_ROOT_API_KEY (default `sandbox-root-key`); the bot's scheduler secret from
    SCHEDULER_SHARED_SECRET. Faults can be injected at run time with `POST /_sandbox/faults`. The database
    is the embedded sandbox's (HOUSEJOBS_STATE_DIR/sandbox.db), so its ledger, counters and notification
    inbox (`GET /admin/notifications`) show what earlier `housejobs <job>` runs did.

    Example: housejobs sandbox --port 8765 --orgs 1000 --latency-ms 20
    """
    from housejobs.cli.info import serve_sandbox

    raise typer.Exit(serve_sandbox(runtime(), port=port, db=db, orgs=orgs, latency_ms=latency_ms,
                                   error_rate=error_rate))


@functools.cache
def _command() -> Any:
    """The click command tree, built once per process (typer rebuilds it on every call, ~35 ms)."""
    command = typer.main.get_command(app)
    command.params = [_completion_option(p) if p.name in ("install_completion", "show_completion") else p
                      for p in command.params]
    return command


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _completion_option(typer_param: Any) -> click.Option:
    """Typer's own completion option, taking an optional SHELL. Typer's takes no value wherever it can
    detect the shell, so `--show-completion zsh` in bash printed bash's script and ignored `zsh`. Typer's
    callback still does the work (detecting the shell when none is named); it runs against the run's own
    streams, and its sys.exit() becomes an exit code, so `run_cli` stays usable in process."""
    what = "Install shell completion" if typer_param.name == "install_completion" else "Print the completion script"

    def run(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is None or ctx.resilient_parsing:
            return
        shell = value.strip().lower()
        if shell and shell not in SHELLS:
            raise click.BadParameter(f"{value!r} is not one of {', '.join(SHELLS)}", ctx=ctx, param=param)
        rt = runtime()
        with contextlib.redirect_stdout(rt.stdout), contextlib.redirect_stderr(rt.stderr):
            try:
                typer_param.callback(ctx, param, shell or True)
            except SystemExit as exc:
                raise typer.Exit(exc.code if isinstance(exc.code, int) else 0) from None

    return click.Option(typer_param.opts, metavar="[SHELL]", is_flag=False, flag_value="", default=None,
                        expose_value=False, callback=run,
                        help=f"{what} for SHELL ({', '.join(SHELLS)}) [default: this shell].")


def _refuse_through_the_boundary(rt: Runtime, argv: list[str], line: str) -> int:
    """Inside Cloud Run a usage error (a bad trigger or override argument) is a run like any other: a
    JSON error record, the run summary and the failure notification, not just a line of text."""
    from housejobs.cli.runner import execute
    from housejobs.errors import UsageError, one_line
    from housejobs.results import JobResult

    job = next((a for a in argv if not a.startswith("-")), "housejobs")

    async def refuse(ctx: Context) -> JobResult:
        raise UsageError(line)

    # The first word may be anything typed (a key pasted in the wrong place): cut it the masking way.
    return execute(rt, Options(json="--json" in argv), one_line(job, 64), refuse)


@contextlib.contextmanager
def _warnings_as_log_lines(rt: Runtime) -> Iterator[None]:
    """Python warnings become log records like every other stderr line. Google's libraries warn on import
    once the Python version passes its end of life (for 3.11: from late October 2027): printed raw, that
    text would break the one-JSON-object-per-line contract Cloud Logging reads."""
    import warnings

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        from housejobs.logs import Logger

        Logger(stream=rt.stderr, json_lines=not rt.stderr_tty, clock=rt.clock.now).warning(
            str(message), event="python_warning", category=category.__name__)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def run_cli(argv: list[str], rt: Runtime | None = None) -> int:
    """Run the CLI in this process and return its exit code (tests and `main` both come here)."""
    token = _runtime.set(rt) if rt is not None else None
    current = runtime()
    try:
        try:
            with _warnings_as_log_lines(current):
                code = _command().main(args=argv, prog_name="housejobs", standalone_mode=False)
            return code if isinstance(code, int) else 0
        except typer.Abort:
            current.stderr.write("error: aborted\n")
            return 130
        except NoArgsIsHelpError as exc:
            # `housejobs` or `housejobs config` alone asks what there is: the help, on stdout, like `git`.
            current.stdout.write(exc.ctx.get_help() + "\n")
            return 0
        except ClickException as exc:
            from housejobs.redact import redact
            from housejobs.settings import register_secret_values

            hint = ""
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                hint = f" (see `{ctx.command_path} --help`)"
            # The message may quote a value typed in the wrong place, a secret pasted as an option
            # included: make every configured secret known to redaction first.
            register_secret_values(current.environ)
            line = redact(f"{exc.format_message()}{hint}")
            if current.in_cloud_run:
                return _refuse_through_the_boundary(current, argv, line)
            current.stderr.write(f"error: {line}\n")
            return 2
        except (KeyboardInterrupt, Stopped) as exc:
            # A report (list-jobs, doctor, config show) or the parsing was stopped: no run to summarise.
            signum = exc.signum if isinstance(exc, Stopped) else 2
            current.stderr.write("error: interrupted\n")
            return 128 + signum
    except Exception as exc:  # noqa: BLE001 - the last error boundary, outside any job
        from housejobs.errors import HousejobsError
        from housejobs.redact import redact
        from housejobs.results import EXIT_CODES

        if isinstance(exc, HousejobsError):
            current.stderr.write(redact(f"error: {exc.line()}") + "\n")
            return EXIT_CODES[exc.outcome]
        current.stderr.write(redact(f"error: internal error: {exc.__class__.__name__}") + "\n")
        return 1
    finally:
        if token is not None:
            _runtime.reset(token)


def main() -> None:
    # Arguments and environment values that are not UTF-8 reach Python as surrogates. stderr escapes
    # them; stdout would raise mid-render and turn, say, a refused `--env` into an internal error.
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(errors="backslashreplace")
    sys.exit(run_cli(sys.argv[1:]))


# `history` and `backfill` live in their own module; importing it registers them on `app`.
from housejobs.cli import history_commands as _history_commands  # noqa: E402, F401
