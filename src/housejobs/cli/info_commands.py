"""Commands about the tool itself: config show (a report through the run boundary) and sandbox (a server
that runs until SIGINT/SIGTERM, not a run)."""

from __future__ import annotations

import signal
import threading
from typing import Annotated

import typer

from housejobs.cli.app import app, runtime
from housejobs.cli.options import EnvOpt, JsonOpt, number, run
from housejobs.results import Run
from housejobs.runtime import Runtime

config_app = typer.Typer(help="Inspect the resolved configuration.", no_args_is_help=True, suggest_commands=False)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(env: EnvOpt = None, json: JsonOpt = False) -> Run:
    """Print every setting's resolved value and where it came from; secrets are masked.

    Example: housejobs config show --env stage
    """
    # A report of the settings: it resolves them, but calls nothing.
    from housejobs.context import Options
    from housejobs.jobs.info import config_show as impl

    return run(Options(env=env, json=json, uses=()), "config-show", impl, report=True)


@app.command("sandbox")
def sandbox(
    port: Annotated[int, typer.Option("--port", click_type=number(whole=True, lo=0, hi=65535), metavar="PORT",
                                      help="Port on 127.0.0.1 (0: any free).")] = 8765,
    db: Annotated[str | None, typer.Option("--db", metavar="PATH", help="SQLite database path [default: "
                                           "sandbox.db in the state directory, the embedded sandbox's own].",
                                           show_default=False)] = None,
    orgs: Annotated[int, typer.Option("--orgs", click_type=number(whole=True, lo=0, hi=1_000_000), metavar="N",
                                      help="Active orgs to seed.")] = 25,
    latency_ms: Annotated[float, typer.Option("--latency-ms", click_type=number(whole=False, lo=0), metavar="MS",
                                              help="Latency added to every admin call.")] = 0,
    error_rate: Annotated[float, typer.Option("--error-rate", click_type=number(whole=False, lo=0, hi=1),
                                              metavar="SHARE",
                                              help="Share of admin calls answered 503.")] = 0,
    extensions: Annotated[str, typer.Option("--extensions", metavar="LIST",
                                            help="Contract extensions to offer, comma-separated (dry-run, "
                                            "listing-shards), or `none` to play an older server.")]
    = "dry-run,listing-shards",
) -> int:
    """Serve the admin API contract (docs/api.md) on 127.0.0.1 with a SQLite store.

    The API key is read from CA_ROOT_API_KEY (default `sandbox-root-key`); the bot's scheduler secret from
    SCHEDULER_SHARED_SECRET. Faults can be injected at run time with `POST /_sandbox/faults`. The database
    is the embedded sandbox's (HOUSEJOBS_STATE_DIR/sandbox.db), so its ledger, counters and notification
    inbox (`GET /admin/notifications`) show what earlier `housejobs <job>` runs did.

    `GET /admin/capabilities` lists the extensions it offers; `--extensions none` makes it an older server
    (no capabilities route; `dry_run=` and `shard=` ignored, so a dry run sent anyway is applied).

    Example: housejobs sandbox --port 8765 --orgs 1000 --latency-ms 20
    """
    return serve_sandbox(runtime(), port=port, db=db, orgs=orgs, latency_ms=latency_ms, error_rate=error_rate,
                         extensions=extensions)


def serve_sandbox(rt: Runtime, *, port: int, db: str | None, orgs: int, latency_ms: float,
                  error_rate: float, extensions: str = "dry-run,listing-shards") -> int:
    from housejobs.api.capabilities import KNOWN
    from housejobs.errors import UsageError
    from housejobs.sandbox.app import open_sandbox, state_db
    from housejobs.settings import state_dir

    offered = [] if extensions.strip() == "none" else [e.strip() for e in extensions.split(",") if e.strip()]
    unknown = [e for e in offered if e not in KNOWN]
    if unknown:
        raise UsageError(f"--extensions: unknown extension {unknown[0]!r}",
                         hint=f"one or more of {', '.join(KNOWN)}, comma-separated, or none")
    api_key = rt.environ.get("CA_ROOT_API_KEY") or "sandbox-root-key"
    secret = rt.environ.get("SCHEDULER_SHARED_SECRET")
    logger = rt.logger()
    if db is None:
        # The embedded sandbox's own database: what `housejobs quota-reset` did shows up here too.
        path, where = state_db(state_dir(rt.files)), "the state folder"
    else:
        path, where = rt.cwd / db, "--db"  # an absolute --db stays itself
    server = open_sandbox(path, where=where, api_key=api_key, orgs=orgs, port=port, scheduler_secret=secret,
                          extensions=offered)
    if latency_ms or error_rate:
        server.app.faults.configure({"route": "*", "latency_ms": latency_ms, "error_rate": error_rate})
    server.app.log = lambda record: logger.info("request", **record)
    stopped = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopped.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    server.start()
    # The default key is a published, well-known value; a key the operator chose is never echoed.
    key = "$CA_ROOT_API_KEY" if "CA_ROOT_API_KEY" in rt.environ else "sandbox-root-key"
    rt.stdout.write(f"housejobs sandbox serving on {server.url} · {orgs} active orgs · extensions: "
                    f"{', '.join(offered) or 'none'} · db {path}\n"
                    f"point jobs at it:  export HOUSEJOBS_API_URL={server.url} CA_ROOT_API_KEY={key}\n")
    rt.stdout.flush()
    stopped.wait()
    server.stop()
    logger.info("sandbox stopped")
    return 0
