"""The run boundary: options → context → job → notifications → (JobResult, meta).

Every command that does something — a job, create-all-jobs, pause, run, release, doctor, list-jobs,
config show — is one `execute()`: the context is built once, the prod confirmation asked (through the
CLI's hook), the job awaited under SIGINT/SIGTERM handling, the outcome announced to the notification
sinks, and one canonical `run_summary` record logged. Whatever happens inside ends as a JobResult:
HousejobsError by its outcome, a signal as `interrupted`, anything else as `failed` ("internal error",
with a traceback only under --debug). Rendering the result and turning its outcome into the exit code
are the CLI's (cli/main.py), in one place.
"""

from __future__ import annotations

import asyncio
import signal
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from housejobs import stopping
from housejobs.context import Context, Hooks, Options
from housejobs.errors import MESSAGE_LIMIT, HousejobsError, Stopped, first_line
from housejobs.notify import notifier as notify
from housejobs.redact import cut, printable
from housejobs.results import JobResult, Outcome, Run
from housejobs.runtime import Runtime
from housejobs.stopping import signum_of

if TYPE_CHECKING:
    from housejobs.logs import Logger

JobFn = Callable[[Context], Awaitable[JobResult]]
GRACE_S = 8.0  # under Cloud Run's 10 s between SIGTERM and SIGKILL


def _in_loop(ctx: Context, job: JobFn) -> JobResult:
    """The job on an event loop of its own, under SIGINT/SIGTERM handling. The loop is built and its signal
    handlers installed with the two signals held (pthread_sigmask): one that arrives meanwhile is delivered
    to the loop's handler once it is in place, never raised inside asyncio's own set-up, which would leave
    a half-built loop (its __del__ prints a traceback) and a coroutine never awaited."""
    runner = asyncio.Runner()
    try:
        with _signals_held():
            loop = runner.get_loop()
            handling = _SignalHandling(ctx, loop)
        return runner.run(handling.run(job))
    finally:
        runner.close()


@contextmanager
def _signals_held() -> Iterator[None]:
    signals = {signal.SIGINT, signal.SIGTERM}
    try:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, signals)
    except (AttributeError, OSError):  # no pthread_sigmask (Windows): nothing to hold
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


class _SignalHandling:
    """SIGINT/SIGTERM while the job runs: the first requests the stop (no new work) and cuts the job at the
    grace period; a second cuts it now."""

    def __init__(self, ctx: Context, loop: asyncio.AbstractEventLoop) -> None:
        self.ctx, self.loop = ctx, loop
        self.task: asyncio.Future[JobResult] | None = None
        self.installed: list[int] = []
        for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
            try:
                loop.add_signal_handler(signum, self.on_signal, signum)
                self.installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):
                pass  # not the main thread (tests run jobs in threads): signals stay default

    def on_signal(self, signum: int) -> None:
        ctx = self.ctx
        if ctx.stop.request(signum):
            ctx.logger.warning(f"received {signal.Signals(signum).name}: taking no new work, finishing "
                               f"in-flight calls (grace {GRACE_S:g} s)")
            self.loop.call_later(GRACE_S, self.cancel)
        else:
            self.cancel()  # a second signal: stop now

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    async def run(self, job: JobFn) -> JobResult:
        ctx = self.ctx
        try:
            self.task = asyncio.ensure_future(job(ctx))
            result = await self.task
        except asyncio.CancelledError:
            result = JobResult(Outcome.INTERRUPTED, "stopped by signal; in-flight calls were cut at the grace "
                               "period; a rerun completes the rest", signal=ctx.stop.signal or int(signal.SIGINT))
        finally:
            for signum in self.installed:
                self.loop.remove_signal_handler(signum)
            if self.installed:
                _outcome_stands(ctx.logger)
            await ctx.aclose()
        return result


def _stopped_before_the_job(signum: int) -> JobResult:
    # Before the job began (building the context, at the prompt): nothing was sent.
    stopping.handled()
    return JobResult(Outcome.INTERRUPTED, f"stopped by {signal.Signals(signum).name} before any work", signal=signum)


def _shown(target: str) -> str:
    # A target given whole (an --api-url the context refused) is cut when it is long, never printed whole.
    return target if len(target) <= MESSAGE_LIMIT else cut(target, MESSAGE_LIMIT)


def _outcome_stands(logger: Logger) -> None:
    """The outcome is decided; what is left (the notification, the summary, rendering) takes moments and
    must not be cut into a second, contradicting result. A late signal is noted, not obeyed."""
    def note(signum: int, frame: object) -> None:
        logger.warning(f"received {signal.Signals(signum).name} while finishing; the outcome stands")

    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(signum, note)
        except ValueError:
            return  # not the main thread (tests run jobs in threads): signals stay as they were


def execute(runtime: Runtime, options: Options, job_name: str, job: JobFn, *, confirm: str | None = None,
            hooks: Hooks | None = None, report: bool = False,
            refused: Callable[[HousejobsError], JobResult] | None = None) -> Run:
    """Run one job end to end. `confirm` names the action prod must confirm (asked through `hooks`);
    `refused` shapes a report's result when its context cannot even be built (doctor's checklist)."""
    clock = runtime.clock
    start = clock.monotonic()
    ctx: Context | None = None
    notifier: notify.Notifier | None = None
    logger = runtime.logger(debug=options.debug).bind(job=job_name, execution=runtime.execution or "")
    try:
        ctx = Context(runtime, options, job_name, hooks=hooks)
        logger = ctx.logger
        if not report:
            # Check-in /start goes out in the background; no sink configured, nothing happens or loads.
            notifier = notify.for_context(ctx)
            if notifier is not None:
                notifier.start()
        stopping.check()  # a stop that arrived while the run was being set up, and was swallowed
        if confirm and not options.dry_run:
            ctx.confirm(confirm)
        stopping.check()
        result = _in_loop(ctx, job)
    except HousejobsError as exc:
        result = refused(exc) if refused is not None and ctx is None else exc.result()
        if not report:  # a report's refusal is its one error line (cli/render.py)
            # The record's message is the result's; the fix is a field of its own (`hint`), as in --json.
            logger.error(exc.message, error=exc.__class__.__name__, **({"hint": exc.hint} if exc.hint else {}))
    except (KeyboardInterrupt, Stopped) as exc:
        result = _stopped_before_the_job(signum_of(exc))
    except Exception as exc:  # noqa: BLE001 - the run boundary: nothing escapes as a traceback
        signum = stopping.stop_behind(exc)
        if signum is not None:  # an error a pending stop caused (Python wraps some): the stop's outcome
            result = _stopped_before_the_job(signum)
        else:
            line = f"internal error: {exc.__class__.__name__}" + (f": {first_line(exc)}" if str(exc).strip() else "")
            result = JobResult(Outcome.FAILED, line + ("" if options.debug else " (rerun with --debug for details)"))
            logger.error(line, error=exc.__class__.__name__)
            if options.debug:
                runtime.stderr.write(printable("".join(traceback.format_exception(exc))))
    except BaseException:
        if ctx is not None:
            ctx.close()
        raise
    _outcome_stands(logger)
    duration_ms = int((clock.monotonic() - start) * 1000)
    try:
        # Before the context closes: the embedded sandbox, the demo's default sink, lives in it.
        if notifier is None and ctx is None and not report:
            notifier = notify.without_context(runtime, options, job_name, logger)
        if notifier is not None:
            notifier.finish(result, duration_ms)  # bounded by its timeout; never raises
    finally:
        if ctx is not None:
            ctx.close()
    meta: dict[str, Any] = {
        "job": job_name,
        "env": ctx.env if ctx else options.env,
        "target": _shown(result.target or (ctx.target.label if ctx else (options.api_url or options.env
                                                                          or "unresolved"))),
        "attempts": ctx.attempts if ctx else 0,
        "calls": ctx.calls if ctx else 0,
        "duration_ms": duration_ms,
    }
    if not report:
        severity = "INFO" if result.exit_code == 0 else ("WARNING" if result.outcome is Outcome.PARTIAL
                                                          else "ERROR")
        logger.log(severity, f"{job_name} {result.outcome.value}", event="run_summary",
                   outcome=result.outcome.value, exit_code=result.exit_code, counts=result.counts,
                   attempts=meta["attempts"], duration_ms=duration_ms, target=meta["target"],
                   # The job's own words: what `run`, `logs` and `history` read back from Cloud Logging;
                   # and the fix, when it gave one, as a field of its own (as in --json).
                   **({"detail": result.message} if result.message else {}),
                   **({"hint": result.hint} if result.hint else {}))
    return Run(result, meta, as_json=options.json, report=report)
