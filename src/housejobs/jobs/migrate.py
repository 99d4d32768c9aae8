"""migrate: apply Supabase SQL migrations through the Management API (never a direct connection).

The plan and the SQL live in `housejobs.migrations`; this module is the HTTP edge (one query per
request, 429 honoured) and the mapping to outcomes. Every request is safe to send twice: reads are
reads, and a migration's transaction inserts its ledger row first, so a second send is a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from housejobs.errors import ApiAuthError, ApiError, ApiProtocolError, ApiStatusError, ConfigError
from housejobs.jobs.spec import JobSpec, Opt, Sub
from housejobs.migrations.files import load_dir
from housejobs.migrations.run import ApplyStopped, MigrateResult, QueryError, run_migrations
from housejobs.migrations.sql import MigrationError
from housejobs.redact import Secret
from housejobs.results import JobResult, Outcome, Table
from housejobs.settings import Setting
from housejobs.target import check_url, given_url

if TYPE_CHECKING:
    from housejobs.api.client import ApiClient
    from housejobs.context import Context

PROJECT_REF_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


@dataclass(frozen=True)
class MigrateRequest:
    directory: str | None = None  # None: the jobs folder's migrations/
    include_all: bool = False  # also pending migrations older than the newest applied one


@dataclass(frozen=True)
class StatusRequest:
    directory: str | None = None


def _client(ctx: Context) -> tuple[ApiClient, str]:
    # Without --env (and HOUSEJOBS_ENV) the project comes from HOUSEJOBS_SUPABASE_PROJECT_REF and the token
    # from SUPABASE_ACCESS_TOKEN, as a CI pipeline for one Supabase project sets them; either missing is
    # refused by name. There is no sandbox to fall back to, and a ref that is prod's still asks.
    ref = ctx.settings.require(Setting.supabase_project_ref, "migrate")
    if not ref or any(c not in PROJECT_REF_CHARS for c in ref):
        raise ConfigError(f"supabase_project_ref {ref!r} is not a Supabase project ref (lowercase letters "
                          "and digits)")
    # Set but empty is refused (as for every URL), never quietly the default.
    url, source = given_url(ctx.settings, Setting.supabase_api_url, "", None) or ("https://api.supabase.com", "default")
    base = check_url(url, source)
    token: Secret = ctx.secret(Setting.supabase_access_token)
    client = ctx.client(base, headers={"Authorization": f"Bearer {token.reveal()}"},
                        auth_hint="check SUPABASE_ACCESS_TOKEN for this environment")
    return client, ref


def _query_fn(client: ApiClient, ref: str) -> Any:
    path = f"/v1/projects/{ref}/database/query"

    async def query(sql: str) -> list[dict[str, Any]]:
        try:
            response = await client.request("POST", path, json_body={"query": sql}, replay_safe=True)
        except ApiStatusError as exc:
            # The database's own error (syntax, constraint, duplicate ledger row) arrives as a 4xx.
            raise QueryError(exc.status or 400, exc.message) from None
        # The contract: 201 and a JSON array of row objects (`[]` for DDL and for a transaction that ends
        # in COMMIT). Anything else (`{}`, null, a list of strings) is not an answer to the query, never an
        # empty ledger or an applied migration.
        data = response.data
        if not isinstance(data, list) or not all(isinstance(row, dict) for row in data):
            raise ApiProtocolError(f"POST {path}: unexpected answer (not a JSON array of rows)",
                                   status=response.status)
        return data

    return query


def local_migrations(ctx: Context, directory: str | None) -> tuple[list[Any], Path]:
    path = Path(directory).expanduser() if directory else ctx.settings.jobs_dir / "migrations"
    try:
        migrations, warnings = load_dir(path)
    except MigrationError as exc:
        raise ConfigError(str(exc)) from None
    for warning in warnings:
        ctx.logger.warning(warning)
    return migrations, path


def _status_rows(result: MigrateResult) -> list[dict[str, str]]:
    return [{"version": r.version, "name": r.name, "status": r.status} for r in result.plan.rows]


async def run_migrate(ctx: Context, req: MigrateRequest) -> JobResult:
    local, path = local_migrations(ctx, req.directory)
    client, ref = _client(ctx)
    try:
        result = await run_migrations(_query_fn(client, ref), local, include_all=req.include_all,
                                      dry_run=ctx.options.dry_run, stop=ctx.stop.is_set)
    except QueryError as exc:
        return JobResult(Outcome.FAILED, f"reading or creating the migration history failed: {exc.message}")
    except MigrationError as exc:
        return JobResult(Outcome.FAILED, str(exc))
    except ApplyStopped as exc:
        cause = exc.__cause__
        if not exc.applied or not isinstance(cause, ApiError):
            raise cause or exc from None  # nothing applied: the error's own outcome (401 -> refused)
        # Some migrations are in: never `refused` (that says nothing changed). Auth lost mid-run is
        # partial, as in org-sync-all; another API failure is failed, as a failed migration is.
        outcome = Outcome.PARTIAL if isinstance(cause, ApiAuthError) else Outcome.FAILED
        return JobResult(outcome, f"stopped at {exc.version}: {cause.line()} (applied before it: "
                         f"{', '.join(exc.applied)})", counts={"applied": len(exc.applied),
                                                                "duplicate": len(exc.duplicates)},
                         details={"dir": str(path), "project_ref": ref, "applied": list(exc.applied),
                                  "duplicates": list(exc.duplicates), "failed": exc.version})
    details: dict[str, Any] = {"dir": str(path), "project_ref": ref, "migrations": _status_rows(result),
                               "applied": list(result.applied), "duplicates": list(result.duplicates)}
    counts = {"applied": len(result.applied), "duplicate": len(result.duplicates),
              "pending": len(result.plan.pending)}
    outcome = Outcome(result.outcome)  # one mapping, in housejobs.migrations
    others = "applied by a concurrent run (or by this run's own earlier attempt, whose answer was lost)"
    if outcome is Outcome.INTERRUPTED:
        message = (f"stopped by signal after applying {len(result.applied)} migrations; the rest are left "
                   "for a rerun")
    elif outcome is Outcome.FAILED:
        details["failed"] = result.failed
        message = f"migration {result.failed} failed: {result.error}" + (
            f" (applied before it: {', '.join(result.applied)})" if result.applied else "")
    elif outcome in (Outcome.REFUSED, Outcome.PARTIAL):
        message = "; ".join(result.refusals)
    elif outcome is Outcome.DRY_RUN:
        message = "would apply " + (", ".join(m.label for m in result.plan.pending) or "nothing")
    elif outcome is Outcome.APPLIED:
        message = f"applied {', '.join(result.applied)}" + (
            f"; {', '.join(result.duplicates)} {others}" if result.duplicates else "")
    elif outcome is Outcome.DUPLICATE:
        message = f"{', '.join(result.duplicates)} {others}"
    else:
        message = "nothing pending"
    return JobResult(outcome, message, counts=counts, details=details,
                     signal=ctx.stop.signal if outcome is Outcome.INTERRUPTED else None)


async def run_status(ctx: Context, req: StatusRequest) -> JobResult:
    local, path = local_migrations(ctx, req.directory)
    client, ref = _client(ctx)
    try:
        result = await run_migrations(_query_fn(client, ref), local, dry_run=True)
    except QueryError as exc:
        return JobResult(Outcome.FAILED, f"reading the migration history failed: {exc.message}")
    rows = _status_rows(result)
    tally: dict[str, int] = {}
    for r in rows:
        tally[r["status"]] = tally.get(r["status"], 0) + 1
    message = f"{len(rows)} migrations in {path}"
    outcome = Outcome.REFUSED if result.refusals else Outcome.SKIPPED
    if result.refusals:
        message += "; " + "; ".join(result.refusals)
    # The rows as data: the renderer draws the table on a terminal; --json carries details["migrations"].
    table = Table(("VERSION", "NAME", "STATUS"), tuple((r["version"], r["name"], r["status"]) for r in rows),
                  title=f"migrations in {path}")
    return JobResult(outcome, message, counts=tally, details={"migrations": rows, "project_ref": ref},
                     views=[table] if rows else [])


DIRECTORY = Opt("--dir", "directory", "Migrations directory [default: jobs/migrations].", metavar="PATH",
                show_default=False)
SPEC = JobSpec(
    name="migrate",
    help="Applies pending migrations (`<digits>_<name>.sql`), each in one transaction, through "
         "`POST /v1/projects/{ref}/database/query`. History lives in supabase_migrations.schema_migrations, "
         "the Supabase CLI's own table. Refuses (exit 2) on a changed, missing or out-of-order migration.\n\n"
         "Example: housejobs migrate --env stage        (and: housejobs migrate status --env stage)",
    uses=("supabase",), request=MigrateRequest, run=run_migrate, confirm="apply migrations",
    options=(DIRECTORY, Opt("--include-all", "include_all", "Also apply pending migrations older than the newest "
                                                            "applied one.", default=False, kind=bool)),
    subcommands=(Sub(
        name="status", run_name="migrate-status", request=StatusRequest, run=run_status, options=(DIRECTORY,),
        help="Show each migration: version, name, and applied / pending / missing / changed / out-of-order.\n\n"
             "Example: housejobs migrate status --env prod"),),
)
