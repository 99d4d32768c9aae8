"""Reports that read rather than run: the catalog (list-jobs) and the resolved configuration (config show).

Each is a job like any other (one run boundary), whose result carries its view and the JSON document
its users script against.
"""

from __future__ import annotations

from typing import Any

from housejobs.catalog import load_catalog
from housejobs.context import Context
from housejobs.redact import MASK, cut
from housejobs.results import JobResult, Lines, Outcome, Table, View
from housejobs.settings import SETTINGS, find_jobs_dir


async def list_jobs(ctx: Context) -> JobResult:
    """The catalog: name, kind, schedule and what each job calls. Reads no settings and no cloud."""
    jobs_dir, _ = find_jobs_dir(ctx.runtime.environ)
    rows: list[dict[str, Any]] = []
    for job in load_catalog(jobs_dir).values():
        schedule = "; ".join(f"{t.schedule} {t.time_zone}" + (f" ({t.name})" if job.kind == "scheduled" else "")
                             for t in job.triggers) or "—"
        rows.append({"name": job.name, "kind": job.kind, "schedule": schedule, "calls": job.calls,
                     "description": job.description})
    table = Table(("NAME", "KIND", "SCHEDULE", "CALLS"),
                  tuple((r["name"], r["kind"], r["schedule"], r["calls"]) for r in rows))
    return JobResult(Outcome.SKIPPED, f"{len(rows)} jobs", views=[table], document={"jobs": rows})


SHOWN = 200  # the most of a setting's value config show prints


async def config_show(ctx: Context) -> JobResult:
    """Every setting's value and where it came from (secrets masked), and the network in effect."""
    from housejobs.api.network import report

    settings, env = ctx.settings, ctx.env
    rows: list[dict[str, str | None]] = []
    for d in SETTINGS:  # the environment among them: the one in effect, wherever it was chosen (--env too)
        value, source = settings.given(d).value, settings.given(d).source
        # A value is shown cut at SHOWN (a 5 MB value pasted into .env is not printed whole).
        shown = (MASK if value else None) if d.secret else (cut(value, SHOWN) if value and len(value) > SHOWN
                                                            else value)
        rows.append({"key": d.key, "env_var": d.env_var, "value": shown, "source": source})
    rows.append({"key": "jobs_dir", "env_var": "HOUSEJOBS_JOBS_DIR", "value": str(settings.jobs_dir),
                 "source": settings.jobs_dir_source})
    network = report(ctx.runtime.environ, settings, env)
    settings_rows = tuple((str(r["key"]), f"{r['value'] if r['value'] is not None else '-'}  [{r['source']}]")
                          for r in rows)
    routes = (("CA bundle", network["ca_bundle"] + _error(network["ca_error"])),
              *((str(c["client"]), f"{c['url'] or '-'}: {c['route']}" + _error(c["error"]))
                for c in network["clients"]))
    views: list[View] = [
        Lines((f"environment: {env or '(none: jobs run against the embedded sandbox)'}",)),
        Table(("SETTING", "VALUE"), settings_rows, header=False),
        Table(("CLIENT", "ROUTE"), routes, header=False, indent="  ", title="network:")]
    return JobResult(Outcome.SKIPPED, f"environment {env or '(none)'}", views=views,
                     document={"env": env, "settings": rows, "network": network})


def _error(error: str | None) -> str:
    return f"  [error: {error}]" if error else ""
