"""Cloud Logging's `entries:list`, read over REST with google-auth's AuthorizedSession (requests).

    POST https://logging.googleapis.com/v2/entries:list
    {"resourceNames": ["projects/P"], "filter": "...", "orderBy": "timestamp asc", "pageSize": 1000,
     "pageToken": "..."}  →  {"entries": [LogEntry, ...], "nextPageToken": "..."}

Why not google-cloud-logging: it adds a dependency and its import alone costs more than the whole call
made here (bench/logging_client.py measures both side by side; README "Benchmarks"). The REST call needs
only what every other Google client here already loads (google-auth, requests, google-api-core for the
error classes).

Credentials as for the other Google APIs: the application default credentials; with
HOUSEJOBS_LOGGING_API_ENDPOINT set, anonymous ones against that endpoint (how the tests reach the
Cloud Logging fake). An error answer becomes google-api-core's exception for its status, so gcp/errors.py
maps it like any other Google error: a 403 is one line naming roles/logging.viewer. Reads are retried
while transient (gcp/reads.py); `entries:list` has a read quota (60 a minute per project), and its 429
is retried like a 503.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any

from housejobs.api.retry import RetryPolicy
from housejobs.clock import Clock
from housejobs.errors import ConfigError
from housejobs.gcp.errors import google_errors
from housejobs.gcp.log_query import LogLine, line_of
from housejobs.gcp.reads import read_retrying
from housejobs.threads import in_thread

if TYPE_CHECKING:
    from housejobs.settings_model import Settings

# mypy: disable-error-code=no-untyped-call

LOGGING_ROLE = "roles/logging.viewer on the project (read the jobs' logs)"
DEFAULT_ENDPOINT = "https://logging.googleapis.com"
PAGE_SIZE = 1000  # the API's largest page


class LogEntries:
    """`entries:list` for one project, async, with Google's errors mapped to housejobs' tree."""

    def __init__(self, settings: Settings, project: str, *, clock: Clock, policy: RetryPolicy,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.project = project
        self.clock = clock
        self.policy = policy
        self._rng = rng or random.Random()
        self._session: Any = None
        endpoint = settings.logging_api_endpoint
        base = str(endpoint) if endpoint else DEFAULT_ENDPOINT
        self.url = ("" if "://" in base else "https://") + base.rstrip("/") + "/v2/entries:list"
        self.calls = 0

    def _make_session(self) -> Any:
        from google.auth.transport.requests import AuthorizedSession

        if self.settings.logging_api_endpoint:
            from google.auth.credentials import AnonymousCredentials

            return AuthorizedSession(AnonymousCredentials())
        import google.auth

        from housejobs.gcp.specs import CLOUD_PLATFORM

        with google_errors("Cloud Logging client"):
            creds, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
        return AuthorizedSession(creds)

    async def page(self, filter_: str, *, order: str = "timestamp asc", page_size: int = PAGE_SIZE,
                   token: str | None = None) -> tuple[list[LogLine], str | None]:
        """One page of entries matching `filter_`, and the token of the next (None: the last page)."""
        if self._session is None:
            # Building it resolves credentials (it may ask the metadata server): off the loop too.
            self._session = await in_thread(self._make_session)
        body: dict[str, Any] = {"resourceNames": [f"projects/{self.project}"], "filter": filter_,
                                "orderBy": order, "pageSize": page_size}
        if token:
            body["pageToken"] = token

        def call() -> dict[str, Any]:
            from google.api_core import exceptions

            self.calls += 1
            response = self._session.post(self.url, json=body, timeout=self.policy.timeout)
            if response.status_code >= 400:
                raise exceptions.from_http_response(response)
            answer: dict[str, Any] = response.json()
            return answer

        answer = await read_retrying(call, f"Cloud Logging in project {self.project}",
                                     ConfigError(f"Cloud Logging: project {self.project} not found"),
                                     role=LOGGING_ROLE, clock=self.clock, policy=self.policy, rng=self._rng)
        assert answer is not None
        entries = [line_of(e) for e in answer.get("entries") or () if isinstance(e, dict)]
        return entries, answer.get("nextPageToken") or None

    async def lines(self, filter_: str, *, order: str = "timestamp asc", limit: int | None = None) -> list[LogLine]:
        """Every entry matching `filter_` (at most `limit`), page after page."""
        out: list[LogLine] = []
        token: str | None = None
        while True:
            size = PAGE_SIZE if limit is None else max(1, min(PAGE_SIZE, limit - len(out)))
            found, token = await self.page(filter_, order=order, page_size=size, token=token)
            out += found
            if token is None or (limit is not None and len(out) >= limit):
                return out

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
