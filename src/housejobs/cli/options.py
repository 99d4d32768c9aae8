"""What the commands share: ASCII number types, the common options, and the one way to start a run.

Every command is thin: it parses its options, builds the job's request, and returns `run(...)`, the
runner's `Run`; cli/main.py renders it and turns its outcome into the exit code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import click
import typer

from housejobs.cli.app import runtime
from housejobs.results import Run
from housejobs.settings import CHECK_DEADLINE_S, Number, Setting, SettingDef, ascii_float, ascii_int

T = TypeVar("T")

if TYPE_CHECKING:
    from housejobs.context import Options
    from housejobs.errors import HousejobsError
    from housejobs.results import JobResult
    from housejobs.runner import JobFn


# --- numbers: ASCII only, one type for every numeric option -------------------------------------------
class _AsciiNumber(click.ParamType[Any, Any]):
    """Click's INT and FLOAT call int() and float(), which also read other scripts' digits ("３", "٣")
    and "1_000"; --date and the settings refuse those, so every numeric option does too."""

    rule: Number | None = None  # a setting's rule the option overrides: the same range, the same words
    name = "number"  # the metavar of an option that names none (N and SECONDS are given where they apply)

    def _describe_range(self) -> str:
        # Click's own says `x<=None` for a type with no bounds (a setting's rule checks its range itself).
        lo, hi = getattr(self, "min", None), getattr(self, "max", None)
        return "" if lo is None and hi is None else str(super()._describe_range())  # type: ignore[misc]

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        given = value
        if isinstance(value, str):
            whole = isinstance(self, click.IntRange)
            number = ascii_int(value) if whole else ascii_float(value)
            if number is None:
                self.fail(f"{value!r} is not a {'whole number' if whole else 'number'} in ASCII digits",
                          param, ctx)
            value = number
        if self.rule is not None and not self.rule.accepts(value):
            name = param.opts[0] if param is not None and param.opts else "the value"
            must = self.rule.describe() if self.rule.whole else self.rule.range_text()
            raise click.UsageError(f"{name} must be {must}, got {given!r}", ctx)
        return super().convert(value, param, ctx)


class _AsciiInt(_AsciiNumber, click.IntRange):
    name = "n"


class _AsciiFloat(_AsciiNumber, click.FloatRange):
    pass


def number(*, whole: bool, lo: float | None = None, hi: float | None = None) -> click.ParamType[Any, Any]:
    """The click type of a numeric option (typer.Option(click_type=...)), with its range if any."""
    if whole:
        return _AsciiInt(None if lo is None else int(lo), None if hi is None else int(hi))
    return _AsciiFloat(lo, hi)


def setting_number(setting: SettingDef) -> click.ParamType[Any, Any]:
    """The click type of an option that overrides a numeric setting: that setting's rule."""
    rule = setting.number
    assert rule is not None, setting.key
    kind = _AsciiInt() if rule.whole else _AsciiFloat()
    kind.rule = rule
    return kind


# --- the options every job command shares ------------------------------------------------------
# One metavar per kind of value (tests/cli/test_help.py): ENV, JOB, TYPE, URL, PATH, SECONDS, N. The values
# complete in a shell by the parameter's name (cli/complete.py).
EnvOpt = Annotated[str | None, typer.Option("--env", metavar="ENV", help="Environment: test, stage or prod "
                                            "[default: $HOUSEJOBS_ENV, else the embedded sandbox].",
                                            show_default=False)]
# migrate and quota-cleanup talk to Supabase and BigQuery: there is no sandbox to fall back to.
EnvNoSandboxOpt = Annotated[str | None, typer.Option("--env", metavar="ENV", help="Environment: test, stage or prod "
                                                     "[default: $HOUSEJOBS_ENV; this job has no sandbox: "
                                                     "without an env, its settings come from HOUSEJOBS_* "
                                                     "variables].", show_default=False)]
RequiredEnvOpt = Annotated[str, typer.Option("--env", metavar="ENV", help="Environment: test, stage or prod.",
                                             show_default=False)]
ApiUrlOpt = Annotated[str | None, typer.Option("--api-url", metavar="URL", help="Admin API base URL (overrides the "
                                               "environment's).", show_default=False)]
BotUrlOpt = Annotated[str | None, typer.Option("--bot-url", metavar="URL", help="Bot runtime base URL (overrides "
                                               "the environment's bot_url).", show_default=False)]
DryRunOpt = Annotated[bool, typer.Option("--dry-run", help="Make the reads, print the mutating calls; "
                                         "change nothing.")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Confirm a prod run without a prompt.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as one JSON document.")]
DeadlineOpt = Annotated[float | None, typer.Option("--deadline", metavar="SECONDS",
                                                   click_type=setting_number(Setting.deadline),
                                                   help="Bound one API call, retries included "
                                                   "[default: $HOUSEJOBS_DEADLINE, else 60].", show_default=False)]
# doctor's, and smoke's checks: a deployment check should answer well inside a CI step's patience.
ChecksDeadlineOpt = Annotated[float | None, typer.Option(
    "--deadline", metavar="SECONDS", click_type=setting_number(Setting.deadline),
    help=f"Bound each API check, retries included [default: {CHECK_DEADLINE_S:g}].", show_default=False)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Debug logs, and a traceback on internal errors.")]
DateOpt = Annotated[str | None, typer.Option("--date", metavar="YYYY-MM-DD",
                                             help="Business date [default: today, UTC].", show_default=False)]
MonthOpt = Annotated[str | None, typer.Option("--month", metavar="YYYY-MM",
                                              help="Business month [default: this month, UTC].",
                                              show_default=False)]


def run(opts: Options, name: str, job: JobFn, *, confirm: str | None = None, report: bool = False,
        refused: Callable[[HousejobsError], JobResult] | None = None) -> Run:
    """Run `job` through the run boundary with the CLI's hooks: the prod prompt and the progress displays."""
    from housejobs.cli.confirm import confirm_prod
    from housejobs.cli.progress import display
    from housejobs.context import Hooks
    from housejobs.runner import execute

    return execute(runtime(), opts, name, job, confirm=confirm, report=report, refused=refused,
                   hooks=Hooks(confirm=confirm_prod, display=display))


def refusal(error: HousejobsError) -> JobFn:
    """A job that raises `error`: bad input found before the run is still refused inside it (one result,
    one summary, the notification), before any prompt or call."""
    async def refuse(ctx: Any) -> Any:
        raise error

    return refuse


def refusing(error: HousejobsError | None, job: JobFn) -> JobFn:
    """`job`, or its `refusal` when its input was found bad."""
    return job if error is None else refusal(error)


def with_jobs_dir(read: Callable[[Path], T]) -> tuple[T | None, HousejobsError | None]:
    """`read(jobs folder)` before any prompt: its value, or the error to raise inside the run (refusing)."""
    from housejobs.errors import HousejobsError
    from housejobs.settings import find_jobs_dir

    try:
        return read(find_jobs_dir(runtime().environ)[0]), None
    except HousejobsError as exc:
        return None, exc


def catalog_check(check: Callable[[list[str]], None]) -> HousejobsError | None:
    """Check a command's input against the catalog before any prompt; the error is raised inside the run."""
    from housejobs.catalog import load_catalog

    return with_jobs_dir(lambda jobs_dir: check(list(load_catalog(jobs_dir))))[1]
