"""`housejobs history` and `housejobs backfill`: thin commands, parse → request → runner.execute → render.

Registered on the app by cli/main.py. Like every command module, only typer loads here at start-up;
the Google libraries and cronsim load when a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from housejobs.cli.app import app, runtime
from housejobs.cli.options import (
    ApiUrlOpt,
    BotUrlOpt,
    DeadlineOpt,
    DebugOpt,
    DryRunOpt,
    JsonOpt,
    RequiredEnvOpt,
    YesOpt,
    number,
    refusing,
    run,
    with_jobs_dir,
)
from housejobs.results import Run

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.results import JobResult
    from housejobs.target import Use

DaysOpt = Annotated[int, typer.Option("--days", click_type=number(whole=True, lo=1, hi=400), metavar="N",
                                      help="How many UTC days back, today included.")]


@app.command("history")
def history(
    *,
    env: RequiredEnvOpt,
    days: DaysOpt = 30,
    job: Annotated[list[str] | None, typer.Option("--job", metavar="JOB", help="Only this job (repeatable) "
                                                  "[default: every catalog job].", show_default=False)] = None,
    fail_on: Annotated[str | None, typer.Option("--fail-on", metavar="STATES", help="Exit 1 if any slot is in "
                                                "one of these states: a comma list of missed, failed, "
                                                "cancelled.", show_default=False)] = None,
    html: Annotated[str | None, typer.Option("--html", metavar="PATH", help="Also write the history as one "
                                             "self-contained HTML page.", show_default=False)] = None,
    json: JsonOpt = False, debug: DebugOpt = False,
) -> Run:
    """Did every scheduled run happen? One row per job and trigger, one cell per UTC day.

    Lays each trigger's cron schedule (in its time zone) over the job's Cloud Run executions: each slot
    is succeeded, failed, cancelled, running, missed (no execution started within the scheduled time +
    the trigger's attempt deadlines and retries + 5 min) or pending (that window is still open).
    Executions that match no slot are listed as manual runs. --json gives every slot. A report: exit 0,
    unless --fail-on names a state some slot is in (then exit 1).

    Example: housejobs history --env prod --days 14 --fail-on missed,failed --html history.html
    """
    from housejobs.context import Options

    rt = runtime()

    async def job_fn(ctx: Context) -> JobResult:
        # Bad input is refused here, inside the run (one result, exit 2), before any call: history
        # has no prompt to come first.
        from housejobs.cli.history_render import history_views
        from housejobs.jobs.history import HistoryRequest, history_result, parse_fail_on, read_history, where

        req = HistoryRequest(env, days, tuple(job or ()), parse_fail_on(fail_on))
        found = await read_history(ctx, req)
        result = history_result(found, req)
        result.target = where(ctx)
        if html is not None:
            from housejobs.cli.history_html import render_html

            result.details["html"] = str(_write(rt.cwd, html, render_html(found, env)))
        if not json:
            result.views += history_views(found, env)
        return result

    return run(Options(env=env, json=json, debug=debug, uses=("cloud-run",)), "history", job_fn)


@app.command("backfill")
def backfill(
    job: Annotated[str, typer.Argument(metavar="JOB", help="A catalog job with a business period (see "
                                       "`housejobs list-jobs`).", show_default=False)],
    *,
    env: RequiredEnvOpt,
    variant: Annotated[str | None, typer.Option("--type", metavar="TYPE", help="For a job whose command takes a "
                                                "TYPE (see its --help): which one.", show_default=False)] = None,
    first: Annotated[str | None, typer.Option("--from", metavar="PERIOD", help="First period (YYYY-MM-DD, or "
                                              "YYYY-MM for a job whose period is a month).",
                                              show_default=False)] = None,
    last: Annotated[str | None, typer.Option("--to", metavar="PERIOD", help="Last period, included.",
                                             show_default=False)] = None,
    missed: Annotated[bool, typer.Option("--missed", help="The periods whose slots `history` finds missed, "
                                         "failed or cancelled (and no later run applied).")] = False,
    days: DaysOpt = 30,
    local: Annotated[bool, typer.Option("--local", help="Run each period in this process instead of as a "
                                        "Cloud Run execution.")] = False,
    concurrency: Annotated[int, typer.Option("--concurrency", click_type=number(whole=True, lo=1, hi=16),
                                             metavar="N",
                                             help="Periods at once (on Cloud Run: executions at once, which "
                                             "needs --allow-concurrent).")] = 1,
    allow_concurrent: Annotated[bool, typer.Option("--allow-concurrent", help="Start executions even while "
                                                   "another execution of the job runs.")] = False,
    allow_early: Annotated[bool, typer.Option("--allow-early", help="Also run a period whose scheduled run has "
                                              "not come yet (its trigger then finds it done).")] = False,
    api_url: ApiUrlOpt = None, bot_url: BotUrlOpt = None, dry_run: DryRunOpt = False, yes: YesOpt = False,
    json: JsonOpt = False, deadline: DeadlineOpt = None, debug: DebugOpt = False,
) -> Run:
    """Apply a period job's periods again, oldest first: a window, or the periods `history` saw missed.

    Prints the plan (each period and whether history saw it succeed), asks once in prod (listing the
    periods), then runs each period as a Cloud Run execution with the period appended to the job's args,
    or with --local in this process. Every period is keyed, so one that already applied is `duplicate`.
    Per period: applied, duplicate, failed or refused; exit 0 when all are done, 3 if some failed, 1 if
    all did. Future periods, a period whose scheduled run is still to come (unless --allow-early) and
    windows over 400 periods are refused (exit 2). SIGINT/SIGTERM stop after the period in flight. With
    --local, --api-url points an admin job's calls elsewhere and --bot-url a reminder's (each refused for
    the other kind of job, and without --local).

    Example: housejobs backfill quota-reset --env stage --from 2026-11-01 --to 2026-11-07
    (and: housejobs backfill reminder --type rent-due --env prod --missed)
    """
    from housejobs.context import Options
    from housejobs.jobs import registry

    async def job_fn(ctx: Context) -> JobResult:
        # The request is checked first thing inside the run (exit 2 before any call); prod is confirmed
        # inside it too, once the periods are known (--missed reads them from history).
        from housejobs.cli.history_render import backfill_view
        from housejobs.errors import UsageError
        from housejobs.jobs.backfill import BackfillRequest, run_backfill

        # Each URL flag for the service the job calls, and only in this process (a Cloud Run execution
        # calls its own environment's): a flag that would be ignored is refused, never ignored.
        if bot and api_url is not None:
            raise UsageError(f"--api-url is for the admin API: a {job} backfill calls the bot runtime, "
                             "give --bot-url")
        if not bot and bot_url is not None:
            raise UsageError(f"--bot-url is for the bot runtime: {job} calls the admin API, give --api-url")
        for flag, value in (("--api-url", api_url), ("--bot-url", bot_url)):
            if value is not None and not local:
                raise UsageError(f"{flag} is for --local: a Cloud Run execution calls its environment's own")
        req = BackfillRequest(job, env, variant, first, last, missed, days, local, concurrency,
                              allow_concurrent, allow_early)
        result = await run_backfill(ctx, req)
        if not json:
            result.views.append(backfill_view(result.details))
        return result

    # What the job calls, as its spec says (an unknown job is refused inside the run, by backfill).
    spec, bad_input = with_jobs_dir(lambda jobs_dir: registry.find(job, jobs_dir))
    calls: tuple[Use, ...] = spec.uses if spec is not None else ("admin",)
    bot = "bot" in calls
    opts = Options(env=env, api_url=api_url if local and not bot else None,
                   bot_url=bot_url if local and bot else None, dry_run=dry_run, yes=yes, json=json,
                   deadline=deadline, debug=debug, uses=calls if local else ("cloud-run",))
    return run(opts, "backfill", refusing(bad_input, job_fn))


def _write(cwd: Path, name: str, text: str) -> Path:
    from housejobs.errors import UsageError

    path = Path(name).expanduser()
    path = path if path.is_absolute() else cwd / path
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write --html {name}: {exc.strerror or exc.__class__.__name__}") from None
    return path
