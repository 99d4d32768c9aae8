"""Commands that report rather than run: list-jobs, config show; and serving the sandbox."""

from __future__ import annotations

import json
import signal
import sqlite3
import threading
from typing import Any

from housejobs.catalog import load_catalog
from housejobs.errors import HousejobsError
from housejobs.redact import MASK, redact
from housejobs.results import EXIT_CODES
from housejobs.runtime import Runtime
from housejobs.settings import BY_KEY, SETTINGS, find_jobs_dir, resolve, select_env


def _fail(rt: Runtime, exc: HousejobsError) -> int:
    rt.stderr.write(redact(f"error: {exc.line()}") + "\n")
    return EXIT_CODES[exc.outcome]


def list_jobs(rt: Runtime, *, as_json: bool) -> int:
    try:
        jobs_dir, _ = find_jobs_dir(rt.environ)
        catalog = load_catalog(jobs_dir)
    except HousejobsError as exc:
        return _fail(rt, exc)
    rows: list[dict[str, Any]] = []
    for job in catalog.values():
        schedule = "; ".join(f"{t.schedule} {t.time_zone}" + (f" ({t.name})" if job.kind == "scheduled" else "")
                             for t in job.triggers) or "—"
        rows.append({"name": job.name, "kind": job.kind, "schedule": schedule, "calls": job.calls,
                     "description": job.description})
    if as_json:
        rt.stdout.write(json.dumps({"jobs": rows}) + "\n")
        return 0
    widths = {k: max(len(k), *(len(str(r[k])) for r in rows)) for k in ("name", "kind", "schedule")}
    header = "  ".join(k.upper().ljust(widths[k]) for k in ("name", "kind", "schedule")) + "  CALLS"
    lines = [header] + ["  ".join(str(r[k]).ljust(widths[k]) for k in ("name", "kind", "schedule"))
                        + "  " + r["calls"] for r in rows]
    rt.stdout.write("\n".join(lines) + "\n")
    return 0


def config_show(rt: Runtime, *, env: str | None, as_json: bool) -> int:
    try:
        env, env_source = select_env(env, rt.environ, rt.cwd)
        settings = resolve(rt.environ, cwd=rt.cwd, env=env)
    except HousejobsError as exc:
        return _fail(rt, exc)
    rows: list[dict[str, str | None]] = []
    for d in SETTINGS:
        value = settings.get(d.key)
        source = settings.source(d.key)
        if d.key == "env":  # the environment in effect, wherever it was chosen (--env included)
            value, source = env, env_source
        shown = (MASK if value else None) if d.secret else value
        rows.append({"key": d.key, "env_var": d.env_var, "value": shown, "source": source})
    rows.append({"key": "jobs_dir", "env_var": "HOUSEJOBS_JOBS_DIR", "value": str(settings.jobs_dir),
                 "source": settings.jobs_dir_source})
    from housejobs.api.network import report

    network = report(rt.environ, settings, env)
    if as_json:
        rt.stdout.write(redact(json.dumps({"env": env, "settings": rows, "network": network})) + "\n")
        return 0
    width = max(len(str(r["key"])) for r in rows)
    lines = [f"environment: {env or '(none: jobs run against the embedded sandbox)'}"]
    for r in rows:
        value = r["value"] if r["value"] is not None else "-"
        lines.append(f"{str(r['key']).ljust(width)}  {value}  [{r['source']}]")
    lines.append("network:")
    lines.append(f"  {'CA bundle'.ljust(9)}  {network['ca_bundle']}"
                 + (f"  [error: {network['ca_error']}]" if network["ca_error"] else ""))
    lines += [f"  {str(c['client']).ljust(9)}  {c['url'] or '-'}: {c['route']}"
              + (f"  [error: {c['error']}]" if c["error"] else "") for c in network["clients"]]
    rt.stdout.write(redact("\n".join(lines)) + "\n")
    return 0


def serve_sandbox(rt: Runtime, *, port: int, db: str | None, orgs: int, latency_ms: float,
                  error_rate: float) -> int:
    from pathlib import Path

    from housejobs.logs import Logger
    from housejobs.sandbox.app import make_server
    from housejobs.settings import state_dir

    api_key = rt.environ.get("CA_ROOT_API_KEY") or "sandbox-root-key"
    secret = rt.environ.get("SCHEDULER_SHARED_SECRET")
    logger = Logger(stream=rt.stderr, json_lines=not rt.stderr_tty)
    if db is None:
        # The embedded sandbox's own database: what `housejobs quota-reset` did shows up here too.
        folder = state_dir(rt.environ, rt.cwd)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            rt.stderr.write(f"error: cannot create state dir {folder}: {exc.strerror} "
                            "(set HOUSEJOBS_STATE_DIR to a writable folder, or pass --db)\n")
            return 2
        db = str(folder / "sandbox.db")
    elif not Path(db).is_absolute():
        db = str(rt.cwd / db)
    try:
        server = make_server(db, api_key=api_key, orgs=orgs, port=port, scheduler_secret=secret)
    except OSError as exc:
        rt.stderr.write(f"error: cannot serve on 127.0.0.1:{port}: {exc.strerror}\n")
        return 2
    except sqlite3.Error as exc:
        rt.stderr.write(f"error: cannot use {db} as the sandbox database: {exc}\n")
        return 2
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
    rt.stdout.write(f"housejobs sandbox serving on {server.url} · {orgs} active orgs · db {db}\n"
                    f"point jobs at it:  export HOUSEJOBS_API_URL={server.url} CA_ROOT_API_KEY={key}\n")
    rt.stdout.flush()
    stopped.wait()
    server.stop()
    logger.info("sandbox stopped")
    return 0


__all__ = ["BY_KEY", "config_show", "list_jobs", "serve_sandbox"]
