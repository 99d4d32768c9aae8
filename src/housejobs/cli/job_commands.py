"""A job's command, built from its spec alone (jobs/spec.py), the same way for every job.

Its parameters, in --help order: the variant argument (the reminder's TYPE), the period option, the job's
own options, then those every job takes (--bot-url and --api-url for what it calls, --env, --dry-run,
--yes, --json, --deadline, --debug). Its help is the catalog's description, then the spec's. Running it
is the one path: parse → the spec's request (its check refuses bad input before any prompt) → `run` (the
run boundary) with what prod confirms → a `Run` that cli/main.py renders. A job with commands of its own
(`migrate status`) is a group whose callback runs the job.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import click
import typer
import typer.main

from housejobs.cli.app import runtime
from housejobs.cli.options import (
    ApiUrlOpt,
    BotUrlOpt,
    DeadlineOpt,
    DebugOpt,
    DryRunOpt,
    EnvNoSandboxOpt,
    EnvOpt,
    JsonOpt,
    YesOpt,
    number,
    refusal,
    run,
)
from housejobs.results import Run

if TYPE_CHECKING:
    from housejobs.context import Context
    from housejobs.jobs.spec import JobSpec, Opt, Sub
    from housejobs.results import JobResult

# The parameters every job command may take, which go to the run's Options rather than the job's request.
COMMON = ("env", "api_url", "bot_url", "dry_run", "yes", "json", "deadline", "debug")


@functools.cache
def job_command(spec: JobSpec[Any], description: str) -> click.Command:
    """The job's click command (a group when it has commands of its own), its values' completion attached."""
    from housejobs.cli.complete import attach

    text = f"{description}\n\n{spec.help}" if description else spec.help
    if spec.subcommands:
        group = _typer(name=spec.name, help=text, no_args_is_help=False)
        group.callback(invoke_without_command=True)(_function(spec, None))
        for sub in spec.subcommands:
            group.command(sub.name, help=sub.help)(_function(spec, sub))
        command = typer.main.get_command(group)
    else:
        one = _typer()
        one.command(spec.name, help=text)(_function(spec, None))
        command = typer.main.get_command(one)
    attach(command)
    return command


def _typer(**settings: Any) -> typer.Typer:
    # As the root app: plain help (cli/app.py says why); no completion options of their own.
    return typer.Typer(add_completion=False, rich_markup_mode=None, pretty_exceptions_enable=False,
                       suggest_commands=False, **settings)


def _function(spec: JobSpec[Any], sub: Sub[Any] | None) -> Callable[..., Run | None]:
    """The command's callback: Typer reads its parameters from the signature made here from the spec."""
    def command(**values: Any) -> Run | None:
        typer_ctx: typer.Context | None = values.pop("typer_ctx", None)
        if typer_ctx is not None and typer_ctx.invoked_subcommand is not None:
            return None  # the group's callback, before one of its commands: that command runs
        return _start(spec, sub, values)

    command.__signature__ = inspect.Signature(_parameters(spec, sub))  # type: ignore[attr-defined]
    command.__name__ = (sub.name if sub is not None else spec.name).replace("-", "_")
    return command


def _start(spec: JobSpec[Any], sub: Sub[Any] | None, values: dict[str, Any]) -> Run:
    from housejobs.context import Options
    from housejobs.errors import HousejobsError

    opts = Options(**{name: values.pop(name) for name in COMMON if name in values}, uses=spec.uses)
    if spec.variants is not None and "variant" in values:
        values[spec.variants.dest] = values.pop("variant")
    if sub is not None:
        request = sub.request(**values)

        async def report(ctx: Context) -> JobResult:
            return await sub.run(ctx, request)

        return run(opts, sub.run_name, report)
    try:
        request = spec.parse(values)
        if spec.check is not None:
            spec.check(request, runtime().clock.now())
    except HousejobsError as exc:  # refused inside the run: one result, one summary, before any prompt
        return run(opts, spec.name, refusal(exc))

    async def job(ctx: Context) -> JobResult:
        return await spec.run(ctx, request)

    return run(opts, spec.name, job, confirm=spec.confirm_for(request))


def _parameters(spec: JobSpec[Any], sub: Sub[Any] | None) -> list[inspect.Parameter]:
    keyword = inspect.Parameter.KEYWORD_ONLY
    out: list[inspect.Parameter] = []
    if sub is None and spec.subcommands:
        out.append(inspect.Parameter("typer_ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context))
    if sub is None and spec.variants is not None:
        v = spec.variants
        out.append(inspect.Parameter("variant", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Annotated[
            str, typer.Argument(metavar=v.metavar, help=v.help, show_default=False)]))
    rule = spec.period
    if sub is None and rule is not None and rule.option is not None:
        out.append(inspect.Parameter("period", keyword, default=None, annotation=Annotated[
            str | None, typer.Option(rule.option, metavar=rule.metavar, help=rule.option_help, show_default=False)]))
    out += [inspect.Parameter(opt.dest, keyword, default=opt.default, annotation=_option(opt))
            for opt in (sub.options if sub is not None else spec.options)]
    common: list[tuple[str, Any, Any]] = []
    if "bot" in spec.uses:
        common.append(("bot_url", BotUrlOpt, None))
    common.append(("env", EnvOpt if spec.sandbox else EnvNoSandboxOpt, None))
    if "admin" in spec.uses:
        common.append(("api_url", ApiUrlOpt, None))
    if sub is None and spec.dry_run:
        dry_run = DryRunOpt if spec.dry_run_help is None else \
            Annotated[bool, typer.Option("--dry-run", help=spec.dry_run_help)]
        common.append(("dry_run", dry_run, False))
    if sub is None:
        common.append(("yes", YesOpt, False))
    common += [("json", JsonOpt, False), ("deadline", DeadlineOpt, None), ("debug", DebugOpt, False)]
    return out + [inspect.Parameter(name, keyword, default=default, annotation=kind) for name, kind, default in common]


def _option(opt: Opt) -> Any:
    """An option of the job's own as Typer declares one."""
    if opt.kind is bool:
        return Annotated[bool, typer.Option(opt.flag, help=opt.help)]
    shown: dict[str, Any] = {} if opt.show_default else {"show_default": False}
    if opt.kind is int:
        return Annotated[int, typer.Option(opt.flag, click_type=number(whole=True, lo=opt.lo, hi=opt.hi),
                                           metavar=opt.metavar, help=opt.help, **shown)]
    if opt.many:
        return Annotated[list[str] | None, typer.Option(opt.flag, metavar=opt.metavar, help=opt.help, **shown)]
    return Annotated[str | None, typer.Option(opt.flag, metavar=opt.metavar, help=opt.help, **shown)]
