"""Google's exceptions → housejobs' error tree, in one place (httpx's `map_httpcore_exceptions` is the model).

Every Google call housejobs makes (Cloud Run, Scheduler, Secret Manager, BigQuery, Cloud Logging, credentials)
is mapped here, so a 425, a refused credential or a missing permission means the same in `run`, `logs`,
`create-all-jobs`, `doctor`, the secret reader and quota-cleanup. (Cloud Logging is read over plain REST:
gcp/cloud_logging.py turns an error answer into google-api-core's exception for its status first.) What is
transient comes from api/retry.py, the one copy of the retry rule. The caller names what it was doing
(`what`) and may say better than a status can what a 404, a 403 or missing credentials mean for it
(`not_found`, `denied`, `no_credentials`, `role`).

    raised by google.* (or requests under it)        housejobs error                      outcome
    ───────────────────────────────────────────────  ───────────────────────────────────  ───────────
    google.auth DefaultCredentialsError: none found  `no_credentials`, else ConfigError   refused (2)
    google.auth MalformedError, InvalidType ...:     ConfigError                          refused (2)
      a key file or environment that cannot work
    google.auth RefreshError: Google refused them    ApiAuthError                         refused (2)
    google.auth TransportError, TimeoutError:        ApiUnavailable                       failed (1)
      the token endpoint did not answer
    any other google.auth error (mTLS, OAuth ...)    ApiAuthError                         refused (2)
    NotFound (404)                                   `not_found`, else ApiStatusError     the hint's,
                                                       "<what> not found (...)"           else failed (1)
    Unauthorized, Forbidden, PermissionDenied,       `denied`, else ApiAuthError          refused (2)
      Unauthenticated (401, 403)                       "permission denied on <what>",
                                                       hint naming `role`
    transient: a status retry.is_transient takes     ApiUnavailable                       failed (1)
      (408, 425, 429, 500, 502, 503, 504: so
      ServiceUnavailable, DeadlineExceeded ...), a
      403 for a rate or quota limit, RetryError,
      a timeout, a connection error
    Conflict (409)                                   ApiStatusError "conflict on <what>"  failed (1)
    any other status (400, 412, 501 ...)             ApiStatusError                       failed (1)
    a request that cannot be sent (InvalidURL ...)   ApiStatusError                       failed (1)
    anything else                                    not mapped: a bug, raised as it is

The Google libraries load only when an exception is being mapped: importing this module costs nothing.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator

from housejobs.api.retry import is_transient
from housejobs.errors import (
    ApiAuthError,
    ApiStatusError,
    ApiUnavailable,
    ConfigError,
    HousejobsError,
    one_line,
)

LOGIN = "run `gcloud auth application-default login` or set GOOGLE_APPLICATION_CREDENTIALS"
# Google's JSON APIs (BigQuery) answer rate and quota limits with a 403: those pass with time, access does not.
LIMIT_REASONS = frozenset({"rateLimitExceeded", "quotaExceeded", "jobRateLimitExceeded"})
# The REST transport puts the request before the server's message ("GET http://...?%24alt=json: ..."):
# `what` already names the resource, and a URL with its query string only buries the reason.
_REQUEST = re.compile(r"\A[A-Z]+ \S+: ")


@contextlib.contextmanager
def google_errors(what: str, *, not_found: HousejobsError | None = None, denied: HousejobsError | None = None,
                  no_credentials: HousejobsError | None = None, role: str | None = None) -> Iterator[None]:
    """Run the block; a Google error leaves it as housejobs' error (see the table above), one line each.
    Housejobs' own errors pass through, and so does anything Google did not raise."""
    try:
        yield
    except HousejobsError:
        raise
    except Exception as exc:
        mapped = map_google_error(exc, what, not_found=not_found, denied=denied, no_credentials=no_credentials,
                                  role=role)
        if mapped is None:
            raise
        raise mapped from None


def map_google_error(exc: BaseException, what: str, *, not_found: HousejobsError | None = None,
                     denied: HousejobsError | None = None, no_credentials: HousejobsError | None = None,
                     role: str | None = None) -> HousejobsError | None:
    """The housejobs error for `exc` (None: not an error of Google's, so not ours to explain).

    `what` names the call ("Cloud Run job projects/…/jobs/x"); `not_found`, `denied` and `no_credentials`
    replace the generic error for a 404, a permission refused and no credentials at all; `role` is what
    the generic permission error tells the user to grant."""
    import requests
    from google.api_core import exceptions as gexc
    from google.auth import exceptions as auth

    if isinstance(exc, HousejobsError):
        return exc
    if type(exc) is auth.DefaultCredentialsError:  # its subclasses found some, but malformed (below)
        return no_credentials or ConfigError(f"{what}: no Google credentials found", hint=LOGIN)
    if isinstance(exc, auth.GoogleAuthError):
        return _credentials(exc, what)
    if isinstance(exc, gexc.GoogleAPICallError):
        return _status(exc, what, not_found, denied, role)
    if isinstance(exc, gexc.RetryError):  # the library's own retries ran out: the last error says why
        cause = _detail(exc.cause) if exc.cause is not None else "retry deadline exceeded"
        return ApiUnavailable(f"{what}: gave up retrying: {cause}")
    if isinstance(exc, TimeoutError | requests.Timeout):  # TimeoutError is concurrent.futures' too
        return ApiUnavailable(f"{what}: timed out ({exc.__class__.__name__})")
    if isinstance(exc, requests.RequestException) and isinstance(exc, ValueError):
        # InvalidURL, MissingSchema, InvalidHeader ...: this request can never be sent, however often.
        return ApiStatusError(f"{what}: {exc.__class__.__name__}: {_detail(exc)}")
    if isinstance(exc, OSError):  # requests' ConnectionError, ChunkedEncodingError ... are OSErrors
        # The class only: requests' text repeats the URL and the whole chain of causes.
        return ApiUnavailable(f"{what}: cannot reach the API ({exc.__class__.__name__})")
    return None


def _credentials(exc: BaseException, what: str) -> HousejobsError:
    from google.auth import exceptions as auth

    if isinstance(exc, auth.RefreshError):
        return ApiAuthError(f"{what}: Google credentials were refused: {_detail(exc)}",
                            hint="run `gcloud auth application-default login` again")
    if isinstance(exc, auth.TransportError | auth.TimeoutError):
        return ApiUnavailable(f"{what}: cannot reach Google's token endpoint: {_detail(exc)}")
    # The class says what is wrong; the text may quote the key file.
    unusable = f"{what}: Google credentials unusable ({exc.__class__.__name__})"
    if isinstance(exc, auth.DefaultCredentialsError):  # MalformedError, InvalidType ...: the file is wrong
        return ConfigError(unusable, hint=LOGIN)
    return ApiAuthError(unusable, hint=LOGIN)


def _status(exc: BaseException, what: str, not_found: HousejobsError | None, denied: HousejobsError | None,
            role: str | None) -> HousejobsError:
    """A call that got an answer (REST) or a status (gRPC): `.code` is the HTTP status either way."""
    from google.api_core import exceptions as gexc

    code = getattr(exc, "code", None)
    status = code if isinstance(code, int) else None
    limited = _reason(exc) in LIMIT_REASONS
    if isinstance(exc, gexc.NotFound):
        return not_found or ApiStatusError(f"{what} not found ({_detail(exc)})", status=status)
    if isinstance(exc, gexc.Unauthorized | gexc.Forbidden) and not limited:  # PermissionDenied, Unauthenticated
        hint = f"the caller needs {role}" if role else "check the roles of the credentials in use"
        return denied or ApiAuthError(f"permission denied on {what}: {_detail(exc)}", status=status, hint=hint)
    line = f"{what}: " + " ".join(str(p) for p in (status, _detail(exc)) if p)
    if limited or (status is not None and is_transient(status)):
        return ApiUnavailable(line, status=status)
    if isinstance(exc, gexc.Conflict):
        return ApiStatusError(f"conflict on {what}: {_detail(exc)}", status=status)
    return ApiStatusError(line, status=status)


def _reason(exc: BaseException) -> str | None:
    errors = getattr(exc, "errors", None)
    if errors and isinstance(errors[0], dict):
        reason = errors[0].get("reason")
        return reason if isinstance(reason, str) else None
    return None


def _detail(exc: BaseException) -> str:
    """The server's own message, on one line: BigQuery's first error when it gives one (the exception's
    text adds the location, job id and request on further lines), else the message without the request."""
    errors = getattr(exc, "errors", None)
    if errors and isinstance(errors[0], dict) and isinstance(errors[0].get("message"), str):
        text: str = errors[0]["message"]
    else:
        text = _REQUEST.sub("", str(getattr(exc, "message", None) or exc))
    return one_line(text, 300) if text.strip() else exc.__class__.__name__
