"""BigQuery adapter for retention cleanup: count or delete rows older than a cutoff.

The one place housejobs writes SQL for BigQuery. Identifiers cannot be query parameters, so the table and
column are validated here against BigQuery's naming rules and then quoted with backticks; the cutoff is
always a TIMESTAMP query parameter.

Importing this module does not import google.* (it costs ~0.4 s); the client library is imported inside
the functions that need it.

    ValueError          a table/column/cutoff/timeout that can never work (names the value and the rule)
    BigQueryError       the call failed; .kind says how, .outcome what it means for the run:
        not_found       table, dataset or project missing                                     refused (2)
        permission      credentials missing or refused (401/403)                              refused (2)
        invalid         BigQuery rejected the statement (wrong column type, bad SQL, other 4xx) refused (2)
        transient       5xx, rate limits, connection errors, or the deadline ran out:        failed (1)
                        a rerun may succeed

Which Google error is which is gcp/errors.py's call (the one mapper); a kind is read off its answer.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from housejobs.clock import Clock, SystemClock
from housejobs.errors import ApiAuthError, ApiError, ApiUnavailable, ConfigError, HousejobsError
from housejobs.gcp.errors import map_google_error
from housejobs.redact import cut
from housejobs.results import Outcome

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


# What quota-cleanup needs to hear: the dataset's editor to delete rows, the project's job user to query.
ROLE = "roles/bigquery.dataEditor on the dataset and roles/bigquery.jobUser on the project"


class BigQueryError(Exception):
    def __init__(self, kind: ErrorKind, message: str, *, job_id: str | None = None) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.job_id = job_id

    @property
    def outcome(self) -> Outcome:
        """Only what may pass with time ends `failed` (a rerun may succeed); the rest wants a fix first."""
        return Outcome.FAILED if self.kind == "transient" else Outcome.REFUSED


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
    from google.cloud import bigquery

    if endpoint is None:
        with _mapped_errors(f"BigQuery in project {project}"):
            return bigquery.Client(project=project)
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return bigquery.Client(
        project=project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def count_older_than(client: Client, table: TableRef, column: str, cutoff: datetime, timeout: float, *,
                     clock: Clock | None = None) -> CleanupReport:
    """Count rows with column < cutoff and dry-run the DELETE, so a plan proves the statement would run.

    Changes nothing."""
    cutoff, deadline = _check_args(column, cutoff, timeout, clock or SystemClock())
    with _mapped_errors(f"table {table}"):
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


def delete_older_than(client: Client, table: TableRef, column: str, cutoff: datetime, timeout: float, *,
                      clock: Clock | None = None) -> CleanupReport:
    """Delete rows with column < cutoff. Safe to rerun: a second run with the same cutoff deletes 0."""
    cutoff, deadline = _check_args(column, cutoff, timeout, clock or SystemClock())
    with _mapped_errors(f"table {table}"):
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


@dataclass(frozen=True)
class _Deadline:
    """When the whole operation must be done, on the run's clock."""

    clock: Clock
    at: float


def _check_args(column: str, cutoff: datetime, timeout: float, clock: Clock) -> tuple[datetime, _Deadline]:
    """Validate the inputs; return the cutoff in UTC and the deadline."""
    validate_column(column)
    # A naive datetime would be sent as if it were UTC; refuse it rather than guess the caller's zone.
    if cutoff.tzinfo is None or cutoff.utcoffset() is None:
        raise ValueError(f"cutoff {cutoff.isoformat()} must be timezone-aware")
    if not (math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout {timeout!r} must be a positive number of seconds")
    return cutoff.astimezone(UTC), _Deadline(clock, clock.monotonic() + timeout)


def _remaining(deadline: _Deadline) -> float:
    left = deadline.at - deadline.clock.monotonic()
    if left <= 0:
        import concurrent.futures

        raise concurrent.futures.TimeoutError
    return left


def _retries(deadline: _Deadline) -> dict[str, Any]:
    """The client library's own retry policies, cut to the time left: `retry` for each API call and
    `job_retry` for re-running a job that failed for a retryable reason (a failed DML job commits nothing,
    so re-running it is safe)."""
    from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY, DEFAULT_RETRY

    left = _remaining(deadline)
    return {
        "retry": DEFAULT_RETRY.with_timeout(left),
        "job_retry": DEFAULT_JOB_RETRY.with_timeout(left),
    }


def _check_column(client: Client, table: TableRef, column: str, deadline: _Deadline) -> None:
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


def _run(client: Client, sql: str, cutoff: datetime, deadline: _Deadline, *, dry_run: bool = False) -> QueryJob:
    from google.cloud import bigquery

    config = bigquery.QueryJobConfig(
        query_parameters=[bigquery.ScalarQueryParameter("cutoff", "TIMESTAMP", cutoff)],
        # A cached COUNT could predate the last delete; the count must describe the table as it is now.
        use_query_cache=False,
        dry_run=dry_run,
    )
    return client.query(sql, job_config=config, timeout=_remaining(deadline), **_retries(deadline))


@contextmanager
def _mapped_errors(what: str) -> Iterator[None]:
    """Google's and requests' exceptions as one-line BigQueryErrors that name the table."""
    try:
        yield
    except BigQueryError:
        raise
    except Exception as exc:
        mapped = map_google_error(exc, what, role=ROLE)
        if mapped is None:
            raise
        job_id: str | None = getattr(getattr(exc, "query_job", None), "job_id", None)
        message = mapped.line()
        if job_id and isinstance(exc, TimeoutError):  # ours (_remaining) or the library's wait
            message += f"; job {job_id} may still finish"
        raise BigQueryError(_kind(mapped), message, job_id=job_id) from exc


def _kind(mapped: HousejobsError) -> ErrorKind:
    """The mapper's answer in this module's words."""
    if isinstance(mapped, ApiUnavailable):
        return "transient"
    if isinstance(mapped, ApiAuthError | ConfigError):
        return "permission"
    if isinstance(mapped, ApiError) and mapped.status == 404:
        return "not_found"
    return "invalid"
