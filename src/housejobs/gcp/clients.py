"""Google Cloud clients, built in one place and imported only by the commands that need them.

With an endpoint override (HOUSEJOBS_RUN_API_ENDPOINT, HOUSEJOBS_SCHEDULER_API_ENDPOINT,
HOUSEJOBS_SECRETMANAGER_API_ENDPOINT) a client speaks REST with anonymous credentials to that
endpoint: how the tests point Google's real libraries at local fakes. Cloud Logging is read the same way
(HOUSEJOBS_LOGGING_API_ENDPOINT) by gcp/cloud_logging.py, over REST with google-auth's session.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from housejobs.gcp.errors import google_errors

if TYPE_CHECKING:
    from housejobs.settings_model import Settings

# mypy: disable-error-code=no-untyped-call


def client_kwargs(endpoint: str | None) -> dict[str, Any]:
    if not endpoint:
        return {}
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    return {"transport": "rest", "credentials": AnonymousCredentials(),
            "client_options": ClientOptions(api_endpoint=endpoint)}


def run_jobs(settings: Settings) -> Any:
    from google.cloud import run_v2

    return run_v2.JobsClient(**client_kwargs(settings.run_api_endpoint))


def run_executions(settings: Settings) -> Any:
    from google.cloud import run_v2

    return run_v2.ExecutionsClient(**client_kwargs(settings.run_api_endpoint))


def scheduler(settings: Settings) -> Any:
    from google.cloud import scheduler_v1

    return scheduler_v1.CloudSchedulerClient(**client_kwargs(settings.scheduler_api_endpoint))


class Gcp:
    """The Cloud Run (jobs, executions) and Cloud Scheduler clients of one command, each made on first use:
    the library loads, and the credentials resolve, only then. A client that failed to build is tried
    again on the next use (cached_property keeps only what was returned)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def jobs(self) -> Any:
        with google_errors("Cloud Run client"):
            return run_jobs(self.settings)

    @cached_property
    def executions(self) -> Any:
        with google_errors("Cloud Run client"):
            return run_executions(self.settings)

    @cached_property
    def scheduler(self) -> Any:
        with google_errors("Cloud Scheduler client"):
            return scheduler(self.settings)


def secret_manager(settings: Settings) -> Any:
    from google.cloud import secretmanager_v1

    return secretmanager_v1.SecretManagerServiceClient(**client_kwargs(settings.secretmanager_api_endpoint))


def default_credentials() -> str:
    """Who the application default credentials are, once they have refreshed (doctor's check); a
    housejobs error when there are none or Google refuses them."""
    import google.auth
    from google.auth.transport.requests import Request

    from housejobs.gcp.specs import CLOUD_PLATFORM

    with google_errors("application default credentials"):
        creds, _ = google.auth.default(scopes=[CLOUD_PLATFORM])
        creds.refresh(Request())
    return getattr(creds, "service_account_email", None) or creds.__class__.__name__
