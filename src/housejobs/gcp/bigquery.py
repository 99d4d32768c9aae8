"""BigQuery adapter for retention cleanup: count or delete rows older than a cutoff.

The one place housejobs writes SQL for BigQuery. Identifiers cannot be query parameters, so the table and
column are validated here against BigQuery's naming rules and then quoted with backticks; the cutoff is
always a TIMESTAMP query parameter.

Importing this module does not import google.* (it costs ~0.4 s); the client library is imported inside
the functions that need it.

    ValueError          a table/column/cutoff/timeout that can never work (names the value and the rule)
    BigQueryError       the call failed; .kind says how:
        not_found       table, dataset or project missing
        permission      credentials missing or refused (401/403)
        invalid         BigQuery rejected the statement (wrong column type, bad SQL, other 4xx)
        transient       5xx, rate limits, connection errors, or the deadline ran out: a rerun may succeed
"""

from __future__ import annotations

import math
import re
import time
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from housejobs.errors import one_line
from housejobs.redact import cut

if TYPE_CHECKING:
    from google.cloud.bigquery import Client, QueryJob

ErrorKind = Literal["not_found", "permission", "invalid", "transient"]

# Project ids as the Resource Manager allows them today. Legacy domain-scoped ids ("example.com:proj")
# are refused on purpose: our projects are not domain-scoped, and the ":" and "." they bring would make
# "project.dataset.table" ambiguous to split.
_PROJECT = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")
_DATASET = re.compile(r"[A-Za-z0-9_]{1,1024}")
# Standard column names. BigQuery's newer "flexible" column names allow far more, but a retention column
# that needs them is not worth widening what we interpolate into SQL.
_COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,299}")
# Unicode categories BigQuery allows in table names: letters, marks, numbers, connector punctuation (_),
# dashes and space separators. Everything else (backtick, backslash, quotes, ;, ., control chars) is out,
# which is what makes a backtick-quoted name safe to interpolate.
_TABLE_CATEGORIES = {"Pc", "Pd", "Zs"}
_TABLE_MAX_BYTES = 1024


@dataclass(frozen=True)
class TableRef:
    """A table path whose parts follow BigQuery's naming rules; checked on construction, so no TableRef
    can carry a name that breaks out of its backticks."""

    project: str
    dataset: str
    table: str

    def __post_init__(self) -> None:
        _check_parts(str(self), self.project, self.dataset, self.table)

    def __str__(self) -> str:
        return f"{self.project}.{self.dataset}.{self.table}"

    @property
    def sql(self) -> str:
        """The backtick-quoted path for a statement."""
        return f"`{self}`"


@dataclass(frozen=True)
class CleanupReport:
    """What a count or delete found. For a count (dry_run=True), bytes_processed is BigQuery's dry-run
    estimate for the DELETE that would run, and job_id/location are those of the COUNT query."""

    table: TableRef
    column: str
    cutoff: datetime
    rows: int
    bytes_processed: int | None
    job_id: str | None
    location: str | None
    dry_run: bool


class BigQueryError(Exception):
    def __init__(self, kind: ErrorKind, message: str, *, job_id: str | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.job_id = job_id


def parse_table(value: str) -> TableRef:
    """Parse "project.dataset.table", checking each part against BigQuery's naming rules."""
    parts = value.split(".")
    if len(parts) != 3 or not all(parts):
        raise ValueError(f"table {_short(value)} must be project.dataset.table with three non-empty parts")
    return TableRef(*parts)


def _short(value: str) -> str:
    # Error messages name the value, but a 1000-character name would bury the rule it broke.
    return repr(cut(value, 78))


def _check_parts(path: str, project: str, dataset: str, table: str) -> None:
    value = _short(path)
    if not _PROJECT.fullmatch(project):
        raise ValueError(
            f"table {value}: project {_short(project)} must be 6-30 lowercase letters, digits or hyphens, "
            "starting with a letter and not ending with a hyphen"
        )
    if not _DATASET.fullmatch(dataset):
        raise ValueError(
            f"table {value}: dataset {_short(dataset)} may hold only letters, digits and underscores (at most 1024)"
        )
    _check_table_name(value, table)


def _check_table_name(value: str, table: str) -> None:
    for ch in table:
        category = unicodedata.category(ch)
        if category[0] not in "LMN" and category not in _TABLE_CATEGORIES:
            raise ValueError(
                f"table {value}: table name {_short(table)} may not contain {ch!r} (BigQuery allows letters, "
                "marks, numbers, underscores, dashes and spaces)"
            )
    # BigQuery allows spaces inside a name; at the edges they are a config typo far more often than intent.
    if table != table.strip():
        raise ValueError(f"table {value}: table name {_short(table)} starts or ends with whitespace")
    if len(table.encode()) > _TABLE_MAX_BYTES:
        raise ValueError(f"table {value}: table name is longer than {_TABLE_MAX_BYTES} UTF-8 bytes")


def validate_column(name: str) -> str:
    """Return name if it is a standard BigQuery column name, else raise ValueError."""
    if not _COLUMN.fullmatch(name):
        raise ValueError(
            f"column {_short(name)} must start with a letter or underscore and hold only letters, digits and "
            "underscores (at most 300)"
        )
    return name


def make_client(project: str, endpoint: str | None = None) -> Client:
    """A BigQuery client for project; with endpoint (an emulator), anonymous credentials are used."""
    from google.auth.exceptions import DefaultCredentialsError
    from google.cloud import bigquery

    if endpoint is None:
        try:
            return bigquery.Client(project=project)
        except DefaultCredentialsError as exc:
            raise BigQueryError("permission", f"no Google credentials for project {project}: {_detail(exc)}") from exc
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return bigquery.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def count_older_than(client: Client, table: TableRef, column: str, cutoff: datetime, timeout: float) -> CleanupReport:
    """Count rows with column < cutoff and dry-run the DELETE, so a plan proves the statement would run.

    Changes nothing."""
    cutoff, deadline = _check_args(column, cutoff, timeout)
    with _mapped_errors(table, "count rows in"):
        _check_column(client, table, column, deadline)
        job = _run(client, _sql("SELECT COUNT(*)", table, column), cutoff, deadline)
        rows = list(job.result(timeout=_remaining(deadline), **_retries(deadline)))
        dry = _run(client, _sql("DELETE", table, column), cutoff, deadline, dry_run=True)
    return CleanupReport(
        table=table,
        column=column,
        cutoff=cutoff,
        rows=int(rows[0][0]),
        bytes_processed=dry.total_bytes_processed,
        job_id=job.job_id,
        location=job.location,
        dry_run=True,
    )


def delete_older_than(client: Client, table: TableRef, column: str, cutoff: datetime, timeout: float) -> CleanupReport:
    """Delete rows with column < cutoff. Safe to rerun: a second run with the same cutoff deletes 0."""
    cutoff, deadline = _check_args(column, cutoff, timeout)
    with _mapped_errors(table, "delete rows from"):
        _check_column(client, table, column, deadline)
        job = _run(client, _sql("DELETE", table, column), cutoff, deadline)
        job.result(timeout=_remaining(deadline), **_retries(deadline))
    return CleanupReport(
        table=table,
        column=column,
        cutoff=cutoff,
        rows=job.num_dml_affected_rows or 0,
        bytes_processed=job.total_bytes_processed,
        job_id=job.job_id,
        location=job.location,
        dry_run=False,
    )


def _sql(verb: Literal["SELECT COUNT(*)", "DELETE"], table: TableRef, column: str) -> str:
    # Identifiers cannot be query parameters. Both passed the naming rules above, which exclude backticks,
    # backslashes and newlines, so quoting them is safe; the value is always the @cutoff parameter.
    return f"{verb} FROM {table.sql} WHERE `{validate_column(column)}` < @cutoff"


def _check_args(column: str, cutoff: datetime, timeout: float) -> tuple[datetime, float]:
    """Validate the inputs; return the cutoff in UTC and the monotonic deadline."""
    validate_column(column)
    # A naive datetime would be sent as if it were UTC; refuse it rather than guess the caller's zone.
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise ValueError(f"cutoff {cutoff.isoformat()} must be timezone-aware")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout {timeout!r} must be a positive number of seconds")
    return cutoff.astimezone(UTC), time.monotonic() + timeout


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        import concurrent.futures

        raise concurrent.futures.TimeoutError
    return left


def _retries(deadline: float) -> dict[str, Any]:
    """The client library's own retry policies, cut to the time left: `retry` for each API call and
    `job_retry` for re-running a job that failed for a retryable reason (a failed DML job commits nothing,
    so re-running it is safe)."""
    from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

    left = _remaining(deadline)
    return {
        "retry": DEFAULT_RETRY.with_timeout(left),
        "job_retry": DEFAULT_JOB_RETRY.with_timeout(left),
    }


def _check_column(client: Client, table: TableRef, column: str, deadline: float) -> None:
    """Fail with a clear message before any statement runs: the table exists and the column is a
    TIMESTAMP (comparing a DATE or DATETIME with the TIMESTAMP cutoff is a type error in BigQuery)."""
    retry = _retries(deadline)["retry"]
    meta = client.get_table(str(table), retry=retry, timeout=_remaining(deadline))
    for field in meta.schema:
        if field.name.lower() == column.lower():  # BigQuery column names are case-insensitive
            if field.field_type != "TIMESTAMP" or field.mode == "REPEATED":
                raise BigQueryError(
                    "invalid",
                    f"column {column} of table {table} is {field.mode} {field.field_type}, expected a TIMESTAMP",
                )
            return
    raise BigQueryError("invalid", f"table {table} has no column {column}")


def _run(client: Client, sql: str, cutoff: datetime, deadline: float, *, dry_run: bool = False) -> QueryJob:
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("cutoff", "TIMESTAMP", cutoff)],
        # A cached COUNT could predate the last delete; the count must describe the table as it is now.
        use_query_cache=False,
        dry_run=dry_run,
    )
    return client.query(sql, job_config=config, timeout=_remaining(deadline), **_retries(deadline))


@contextmanager
def _mapped_errors(table: TableRef, action: str) -> Iterator[None]:
    """Turn google/requests exceptions into one-line BigQueryErrors that name the table."""
    try:
        yield
    except BigQueryError:
        raise
    except Exception as exc:
        mapped = _map_error(exc, table, action)
        if mapped is None:
            raise
        raise mapped from exc


def _map_error(exc: BaseException, table: TableRef, action: str) -> BigQueryError | None:
    import concurrent.futures

    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth_exc

    job = getattr(exc, "query_job", None)
    job_id: str | None = getattr(job, "job_id", None)
    where = f"{action} table {table}"
    if isinstance(exc, gexc.RetryError):
        # The retry deadline ran out; the last underlying error says why.
        cause = exc.cause
        detail = _detail(cause) if cause is not None else "retry deadline exceeded"
        return BigQueryError("transient", f"could not {where}: gave up retrying: {detail}", job_id=job_id)
    if isinstance(exc, concurrent.futures.TimeoutError | requests.Timeout):
        suffix = f" (job {job_id} may still finish)" if job_id else ""
        return BigQueryError("transient", f"could not {where}: deadline exceeded{suffix}", job_id=job_id)
    if isinstance(exc, gexc.NotFound):
        return BigQueryError("not_found", f"table {table} not found ({_detail(exc)})", job_id=job_id)
    if isinstance(exc, gexc.Forbidden | gexc.Unauthorized):
        # BigQuery reports rate and quota limits as 403 too; those pass with time, access does not.
        kind: ErrorKind = "transient" if _reason(exc) in _LIMIT_REASONS else "permission"
        return BigQueryError(kind, f"could not {where}: {_detail(exc)}", job_id=job_id)
    if isinstance(exc, gexc.TooManyRequests | gexc.ServerError):
        return BigQueryError("transient", f"could not {where}: {_detail(exc)}", job_id=job_id)
    if isinstance(exc, gexc.GoogleAPICallError):
        return BigQueryError("invalid", f"could not {where}: {_detail(exc)}", job_id=job_id)
    if isinstance(exc, auth_exc.DefaultCredentialsError | auth_exc.RefreshError):
        return BigQueryError("permission", f"could not {where}: no usable credentials: {_detail(exc)}")
    if isinstance(exc, requests.RequestException | auth_exc.TransportError | ConnectionError):
        return BigQueryError("transient", f"could not {where}: {_detail(exc)}")
    return None


_LIMIT_REASONS = {"rateLimitExceeded", "quotaExceeded", "jobRateLimitExceeded"}


def _reason(exc: BaseException) -> str | None:
    errors = getattr(exc, "errors", None)
    if errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        return reason if isinstance(reason, str) else None
    return None


def _detail(exc: BaseException) -> str:
    """The server's own message, on one line: the client appends the location, job id and sometimes
    the request URL on further lines, and a multi-line error breaks the one-line contract."""
    errors = getattr(exc, "errors", None)
    if errors and isinstance(errors[0], dict) and isinstance(errors[0].get("message"), str):
        text: str = errors[0]["message"]
    else:
        text = str(getattr(exc, "message", None) or exc) or type(exc).__name__
    return one_line(text, 500)
