"""The one path every job takes: options → context → job → render, and the error boundary.

Whatever happens inside, a run ends with one result on stdout, one canonical summary log record on
stderr, and the exit code of its outcome. A traceback is shown only with --debug.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from housejobs.cli.confirm import confirm_prod
from housejobs.cli.render import render
from housejobs.context import Context, Options
from housejobs.errors import HousejobsError, Stopped
from housejobs.logs import Logger
from housejobs.notify import notifier as notify
from housejobs.redact import redact
from housejobs.results import JobResult, Outcome
from housejobs.runtime import Runtime

JobFn = Callable[[Context], Awaitable[JobResult]]
GRACE_S = 8.0  # under Cloud Run's 10 s between SIGTERM and SIGKILL


async def _run_job(ctx: Context, job: JobFn) -> JobResult:
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(job(ctx))
    installed: list[int] = []

    def on_signal(signum: int) -> None:
        if ctx.stop_signal is None:
            ctx.stop_signal = signum
            ctx.stop_event.set()
            ctx.logger.warning(f"received {signal.Signals(signum).name}: taking no new work, finishing "
                               f"in-flight calls (grace {GRACE_S:g} s)")
            loop.call_later(GRACE_S, task.cancel)
        else:
            task.cancel()  # a second signal: stop now

    for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
        try:
            loop.add_signal_handler(signum, on_signal, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread (tests run jobs in threads): signals stay default
    try:
        result = await task
    except asyncio.CancelledError:
        result = JobResult(Outcome.INTERRUPTED, "stopped by signal; in-flight calls were cut at the grace "
                           "period; a rerun completes the rest", signal=ctx.stop_signal or int(signal.SIGINT))
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
            # The outcome is decided; what is left (the summary, a bounded notification) takes moments and
            # must not be cut into a second, contradicting result. A late signal is noted, not obeyed.
            signal.signal(signum, _late_signal(ctx))
        await ctx.aclose()
    return result


def _late_signal(ctx: Context) -> Callable[[int, object], None]:
    def note(signum: int, frame: object) -> None:
        ctx.logger.warning(f"received {signal.Signals(signum).name} while finishing; the outcome stands")

    return note


def execute(runtime: Runtime, options: Options, job_name: str, job: JobFn, *,
            confirm: str | None = None) -> int:
    """Run one job end to end; return the exit code. `confirm` names the action prod must confirm."""
    clock = runtime.clock
    start = clock.monotonic()
    ctx: Context | None = None
    notifier: notify.Notifier | None = None
    logger = Logger(stream=runtime.stderr, json_lines=not runtime.stderr_tty, debug=options.debug,
                    clock=clock.now)
    logger.bind(job=job_name, execution=runtime.execution or "")
    try:
        ctx = Context(runtime, options, job_name)
        logger = ctx.logger
        bound = ctx
        ctx.confirm = lambda action: confirm_prod(bound, action)
        # Check-in /start goes out in the background; no sink configured, nothing happens or loads.
        notifier = notify.for_context(ctx)
        if notifier is not None:
            notifier.start()
        if confirm and not options.dry_run:
            confirm_prod(ctx, confirm)
        result = asyncio.run(_run_job(ctx, job))
    except HousejobsError as exc:
        result = JobResult(exc.outcome, exc.line())
        logger.error(exc.line(), error=exc.__class__.__name__)
    except (KeyboardInterrupt, Stopped) as exc:
        # Before the job began (building the context, at the prompt): nothing was sent.
        signum = exc.signum if isinstance(exc, Stopped) else int(signal.SIGINT)
        result = JobResult(Outcome.INTERRUPTED, f"stopped by {signal.Signals(signum).name} before any work",
                           signal=signum)
    except Exception as exc:  # noqa: BLE001 - the error boundary: nothing escapes as a traceback
        line = f"internal error: {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        result = JobResult(Outcome.FAILED, line + ("" if options.debug else " (rerun with --debug for details)"))
        logger.error(line, error=exc.__class__.__name__)
        if options.debug:
            runtime.stderr.write(redact("".join(traceback.format_exception(exc))))
    except BaseException:
        if ctx is not None:
            ctx.close()
        raise
    duration_ms = int((clock.monotonic() - start) * 1000)
    try:
        # Before the context closes: the embedded sandbox, the demo's default sink, lives in it.
        if notifier is None and ctx is None:
            notifier = notify.without_context(runtime, options, job_name, logger)
        if notifier is not None:
            notifier.finish(result, duration_ms)  # bounded by its timeout; never raises
    finally:
        if ctx is not None:
            ctx.close()
    meta: dict[str, Any] = {
        "job": job_name,
        "env": ctx.env if ctx else options.env,
        "target": ctx.target.label if ctx else (options.api_url or options.env or "unresolved"),
        "attempts": ctx.attempts if ctx else 0,
        "calls": ctx.calls if ctx else 0,
        "duration_ms": duration_ms,
    }
    severity = "INFO" if result.exit_code == 0 else ("WARNING" if result.outcome is Outcome.PARTIAL else "ERROR")
    logger.log(severity, f"{job_name} {result.outcome.value}", event="run_summary",
               outcome=result.outcome.value, exit_code=result.exit_code, counts=result.counts,
               attempts=meta["attempts"], duration_ms=duration_ms, target=meta["target"])
    with contextlib.suppress(BrokenPipeError):
        render(result, meta, stream=runtime.stdout, as_json=options.json, colour=bool(runtime.stdout_tty))
    return result.exit_code
