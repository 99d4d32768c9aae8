"""`housejobs logs`: an execution's log lines, drawn for a person or as Cloud Logging's entries.

Thin: parse → jobs/logs.py (which hands each line to `emit` as it comes) → a report. The lines go to
stdout as they arrive; then a closing line (the execution, its state, how many lines, what the job said),
or with --json each entry as one JSON object a line and a closing document {job, execution, state, lines,
outcome, log_uri}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from housejobs.cli.app import app, runtime
from housejobs.cli.options import DebugOpt, JsonOpt, RequiredEnvOpt, catalog_check, number, refusing, run
from housejobs.results import Run

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.gcp.log_query import LogLine
    from housejobs.results import JobResult


@app.command("logs")
def logs(
    job: Annotated[str, typer.Argument(metavar="JOB", help="A catalog job.", show_default=False)],
    *,
    env: RequiredEnvOpt,
    execution: Annotated[str | None, typer.Option("--execution", metavar="EXECUTION", help="This execution "
                                                  "[default: the job's latest].", show_default=False)] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new lines until the execution "
                                         "ends.")] = False,
    task: Annotated[int | None, typer.Option("--task", metavar="N", click_type=number(whole=True, lo=0, hi=9999),
                                             help="Only task N's lines.", show_default=False)] = None,
    severity: Annotated[str | None, typer.Option("--severity", metavar="LEVEL", help="Only lines at this "
                                                 "severity or above (INFO, WARNING, ERROR ...).",
                                                 show_default=False)] = None,
    since: Annotated[str | None, typer.Option("--since", metavar="DURATION|TIME", help="Only lines from then "
                                              "on: 10m, 2h, 1d or 2026-11-24T10:00:00Z.",
                                              show_default=False)] = None,
    json: JsonOpt = False, debug: DebugOpt = False,
) -> Run:
    """Print an execution's log lines from Cloud Logging, in time order: time, severity, task, message
    and the job's fields; the run_summary line says what the job did. --follow keeps printing until the
    execution ends (no line twice, none skipped). --json prints each entry as Cloud Logging returns it,
    one a line. Needs roles/logging.viewer.

    Example: housejobs logs quota-reset --env stage --follow
    """
    from housejobs.context import Options
    from housejobs.jobs.logs import LogsRequest, check_logs, read_logs

    req = LogsRequest(job, env, execution, follow, task, severity, since)
    bad_input = catalog_check(lambda names: check_logs(req, names))
    out = runtime().stdout

    def emit(line: LogLine) -> None:
        from housejobs.cli.log_text import line_json, line_text

        out.write((line_json(line) if json else line_text(line)) + "\n")
        out.flush()

    async def job_fn(ctx: Context) -> JobResult:
        from housejobs.results import Lines

        result = await read_logs(ctx, req, emit)
        result.views = [Lines((f"— {result.message}",))]
        return result

    return run(Options(env=env, json=json, debug=debug, uses=("cloud-run",)), "logs",
               refusing(bad_input, job_fn), report=True)
