"""The job commands: the admin API's period jobs, bootstrap, org-sync-all, quota-cleanup, reminder, migrate.

Thin: parse options → the job (jobs/) → `run` (the run boundary) → a `Run` that cli/main.py renders.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from housejobs.cli.app import app, runtime
from housejobs.cli.options import (
    ApiUrlOpt,
    DateOpt,
    DeadlineOpt,
    DebugOpt,
    DryRunOpt,
    EnvNoSandboxOpt,
    EnvOpt,
    JsonOpt,
    MonthOpt,
    YesOpt,
    number,
    options,
    refusing,
    run,
)
from housejobs.jobs.admin_calls import PERIOD_JOBS
from housejobs.jobs.registry import ADMIN_PERIOD_JOBS, REGISTRY, JobArgs
from housejobs.results import Run

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.results import JobResult


# --- the admin API's period jobs: one command each, from the registry ------------------------------------
def _period_command(name: str) -> None:
    spec = REGISTRY[name]
    assert spec.period is not None
    unit = spec.period.unit

    def start(period: str | None, env: str | None, api_url: str | None, dry_run: bool, yes: bool, json: bool,
              deadline: float | None, debug: bool) -> Run:
        async def job(ctx: Context) -> JobResult:
            return await spec.run(ctx, JobArgs(period=period))

        return run(options(env, api_url, dry_run, yes, json, deadline, debug, uses=spec.uses), name,
                   job, confirm=spec.confirm)

    if unit == "month":
        def command(*, month: MonthOpt = None, env: EnvOpt = None, api_url: ApiUrlOpt = None,
                    dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False,
                    deadline: DeadlineOpt = None, debug: DebugOpt = False) -> Run:
            return start(month, env, api_url, dry_run, yes, json, deadline, debug)
    else:
        def command(*, date: DateOpt = None, env: EnvOpt = None, api_url: ApiUrlOpt = None,  # type: ignore[misc]
                    dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False,
                    deadline: DeadlineOpt = None, debug: DebugOpt = False) -> Run:
            return start(date, env, api_url, dry_run, yes, json, deadline, debug)
    path = PERIOD_JOBS[name].path
    command.__doc__ = (f"{spec.summary}\n\nCalls `POST {path}` once per {unit}, keyed "
                       f"`housejobs:{name}:<{unit}>`: re-running the same {unit} reports `duplicate`. Its "
                       f"schedule is in the catalog (`housejobs list-jobs`).\n\n"
                       f"Example: housejobs {name} --env stage" + (" --month 2026-11" if unit == "month" else ""))
    app.command(name)(command)


for _name in ADMIN_PERIOD_JOBS:
    _period_command(_name)


@app.command("bootstrap")
def bootstrap(*, env: EnvOpt = None, api_url: ApiUrlOpt = None, dry_run: DryRunOpt = False,
              yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None,
              debug: DebugOpt = False) -> Run:
    """Create the platform's tables (fresh install) or add missing columns (existing install).

    Calls `POST /admin/bootstrap` once, keyed by the run (the Cloud Run execution inside Cloud Run, so a
    task retry replays). Reports the mode and the tables or columns it touched.

    Example: housejobs bootstrap --env stage
    """
    from housejobs.jobs.admin import run_bootstrap

    return run(options(env, api_url, dry_run, yes, json, deadline, debug), "bootstrap", run_bootstrap,
               confirm=REGISTRY["bootstrap"].confirm)


@app.command("org-sync-all")
def org_sync_all(
    *,
    date: DateOpt = None,
    org: Annotated[list[str] | None, typer.Option("--org", metavar="ORG",
                                                  help="Sync only this org (repeatable).")] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", click_type=number(whole=True, lo=1, hi=256),
                                             metavar="N", help="Sync calls in flight at once.")] = 32,
    shard: Annotated[str | None, typer.Option("--shard", metavar="I/N",
                                              help="Take only shard I of N (0-based); in Cloud Run the "
                                              "task index and count decide.", show_default=False)] = None,
    env: EnvOpt = None, api_url: ApiUrlOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> Run:
    """Sync every active org: pages through `GET /admin/orgs?status=active` and calls
    `POST /admin/orgs/{org}/sync` for each, keyed `housejobs:org-sync:<org>:<date>`.

    One org failing does not stop the others (exit 3 names them); 401/403 stops the run.
    SIGTERM/SIGINT take no new org, finish the in-flight ones, and exit 143/130; a rerun does the rest.

    Example: housejobs org-sync-all --env stage --concurrency 64
    """
    from housejobs.jobs.org_sync import org_sync_job

    async def job(ctx: Context) -> JobResult:
        return await org_sync_job(ctx, date=date, orgs=org, concurrency=concurrency,
                                  shard=shard)

    return run(options(env, api_url, dry_run, yes, json, deadline, debug), "org-sync-all", job,
               confirm=REGISTRY["org-sync-all"].confirm)


@app.command("quota-cleanup")
def quota_cleanup(
    *,
    days: Annotated[int, typer.Option("--days", click_type=number(whole=True), metavar="N",
                                      help="Retention: delete rows older than this many days.")] = 90,
    allow_short_retention: Annotated[bool, typer.Option("--allow-short-retention",
                                                        help="Allow --days below 7.")] = False,
    env: EnvNoSandboxOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False, json: JsonOpt = False,
    deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> Run:
    """Delete quota rows older than the retention period from BigQuery (on its catalog schedule).

    Runs one parameterized `DELETE FROM <quota_table> WHERE <ts> < @cutoff`, the cutoff computed once as
    now minus --days. --dry-run counts the rows instead and validates the DELETE with a BigQuery dry run.
    The table and column come from environments.toml (quota_table, quota_timestamp_column) or
    HOUSEJOBS_QUOTA_TABLE / HOUSEJOBS_QUOTA_TIMESTAMP_COLUMN.

    Example: housejobs quota-cleanup --env stage --dry-run
    """
    from housejobs.jobs.quota_cleanup import check_days, run_quota_cleanup

    async def job(ctx: Context) -> JobResult:
        return await run_quota_cleanup(ctx, days=check_days(days, allow_short_retention))

    return run(options(env, None, dry_run, yes, json, deadline, debug, uses=REGISTRY["quota-cleanup"].uses),
               "quota-cleanup", job, confirm=REGISTRY["quota-cleanup"].confirm)


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
    bot_url: Annotated[str | None, typer.Option("--bot-url", metavar="URL", help="Bot runtime base URL (overrides the "
                                                "environment's bot_url).", show_default=False)] = None,
    env: EnvOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Ask for the bot's own dry run: it answers "
                                          "in full and claims nothing.")] = False,
    yes: YesOpt = False, json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> Run:
    """Ask the household bot to dispatch one reminder, exactly once per billing period.

    TYPE is utilities, rent-warning or rent-due. Calls the bot runtime's `POST /jobs/reminder/TYPE`
    with the period, a job id and the scheduler secret (SCHEDULER_SHARED_SECRET, else Secret Manager
    scheduler-shared-secret<suffix>). The bot dedupes on `<period>:TYPE`: the first run reports
    `applied`, every later one `duplicate`.

    Example: housejobs reminder rent-due --env stage --period 2026-12
    """
    from housejobs.errors import HousejobsError
    from housejobs.jobs.reminder import ReminderRequest, check_reminder, run_reminder

    req = ReminderRequest(reminder_type, period, job_id)
    try:
        check_reminder(req, runtime().clock.now())
        bad_input: HousejobsError | None = None
    except HousejobsError as exc:
        bad_input = exc

    async def job(ctx: Context) -> JobResult:
        return await run_reminder(ctx, req)

    opts = options(env, None, dry_run, yes, json, deadline, debug, uses=REGISTRY["reminder"].uses, bot_url=bot_url)
    return run(opts, "reminder", refusing(bad_input, job),
               confirm=None if bad_input else f"dispatch the {reminder_type} reminder")


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
) -> Run | None:
    """Apply pending migrations (`<digits>_<name>.sql`), each in one transaction, through
    `POST /v1/projects/{ref}/database/query`. History lives in supabase_migrations.schema_migrations,
    the Supabase CLI's own table. Refuses (exit 2) on a changed, missing or out-of-order migration.

    Example: housejobs migrate --env stage        (and: housejobs migrate status --env stage)
    """
    if typer_ctx.invoked_subcommand is not None:
        return None
    from housejobs.jobs.migrate import run_migrate

    async def job(ctx: Context) -> JobResult:
        return await run_migrate(ctx, directory=directory, include_all=include_all)

    return run(options(env, None, dry_run, yes, json, deadline, debug, uses=REGISTRY["migrate"].uses),
               "migrate", job, confirm=REGISTRY["migrate"].confirm)


@migrate_app.command("status")
def migrate_status(*, directory: MigrationsDirOpt = None, env: EnvNoSandboxOpt = None, json: JsonOpt = False,
                   deadline: DeadlineOpt = None, debug: DebugOpt = False) -> Run:
    """Show each migration: version, name, and applied / pending / missing / changed / out-of-order.

    Example: housejobs migrate status --env prod
    """
    from housejobs.jobs.migrate import run_status

    async def job(ctx: Context) -> JobResult:
        return await run_status(ctx, directory=directory)

    return run(options(env, None, False, False, json, deadline, debug, uses=REGISTRY["migrate"].uses),
               "migrate-status", job)
