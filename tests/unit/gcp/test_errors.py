"""gcp/errors.py, the one Google error mapper: each row of its table, with Google's and requests' own
exception classes (what the client libraries raise), and the hints a caller passes."""

from __future__ import annotations

import pytest
import requests
from google.api_core import exceptions as gexc
from google.auth import exceptions as auth

from housejobs.errors import (
    ApiAuthError,
    ApiStatusError,
    ApiUnavailable,
    ConfigError,
    HousejobsError,
    SecretError,
    UsageError,
)
from housejobs.gcp.errors import google_errors, map_google_error
from housejobs.results import EXIT_CODES

WHAT = "Cloud Run job j"


@pytest.mark.parametrize(("exc", "kind", "exit_code", "text"), [
    # transient: api/retry.is_transient's statuses, whatever class the library picked for them
    (gexc.from_http_status(425, "too early"), ApiUnavailable, 1, "Cloud Run job j: 425 too early"),
    (gexc.from_http_status(408, "slow"), ApiUnavailable, 1, "408 slow"),
    (gexc.TooManyRequests("slow down"), ApiUnavailable, 1, "429 slow down"),
    (gexc.InternalServerError("oops"), ApiUnavailable, 1, "500 oops"),
    (gexc.BadGateway("oops"), ApiUnavailable, 1, "502 oops"),
    (gexc.ServiceUnavailable("busy"), ApiUnavailable, 1, "503 busy"),
    (gexc.DeadlineExceeded("late"), ApiUnavailable, 1, "504 late"),
    (gexc.Forbidden("limit", errors=[{"reason": "rateLimitExceeded", "message": "too fast"}]), ApiUnavailable,
     1, "403 too fast"),
    (gexc.RetryError("deadline", gexc.ServiceUnavailable("busy")), ApiUnavailable, 1, "gave up retrying: busy"),
    (requests.ConnectionError("refused"), ApiUnavailable, 1, "cannot reach the API (ConnectionError)"),
    (requests.ReadTimeout("read"), ApiUnavailable, 1, "timed out (ReadTimeout)"),
    (TimeoutError(), ApiUnavailable, 1, "timed out (TimeoutError)"),
    (auth.TransportError("no route"), ApiUnavailable, 1, "cannot reach Google's token endpoint: no route"),
    (auth.TimeoutError("slow"), ApiUnavailable, 1, "cannot reach Google's token endpoint: slow"),
    # final
    (gexc.MethodNotImplemented("no"), ApiStatusError, 1, "501 no"),  # a 5xx, but not one a retry fixes
    (gexc.BadRequest("bad field"), ApiStatusError, 1, "Cloud Run job j: 400 bad field"),
    (gexc.Conflict("etag changed"), ApiStatusError, 1, "conflict on Cloud Run job j: etag changed"),
    (gexc.NotFound("gone"), ApiStatusError, 1, "Cloud Run job j not found (gone)"),
    (requests.exceptions.InvalidURL("bad url"), ApiStatusError, 1, "InvalidURL: bad url"),
    # refused
    (gexc.Forbidden("Permission 'run.jobs.get' denied"), ApiAuthError, 2,
     "permission denied on Cloud Run job j: Permission 'run.jobs.get' denied"),
    (gexc.PermissionDenied("denied"), ApiAuthError, 2, "permission denied on Cloud Run job j: denied"),
    (gexc.Unauthorized("who"), ApiAuthError, 2, "permission denied on"),
    (gexc.Unauthenticated("who"), ApiAuthError, 2, "permission denied on"),
    (auth.DefaultCredentialsError("none"), ConfigError, 2, "Cloud Run job j: no Google credentials found"),
    (auth.RefreshError("invalid_grant"), ApiAuthError, 2, "Google credentials were refused: invalid_grant"),
    (auth.MalformedError("bad key file"), ConfigError, 2, "Google credentials unusable (MalformedError)"),
    (auth.OAuthError("odd answer"), ApiAuthError, 2, "Google credentials unusable (OAuthError)"),
])
def test_each_google_error_has_one_meaning(exc: BaseException, kind: type[HousejobsError], exit_code: int,
                                           text: str) -> None:
    mapped = map_google_error(exc, WHAT)
    assert type(mapped) is kind
    assert EXIT_CODES[mapped.outcome] == exit_code
    assert text in mapped.message
    assert "\n" not in mapped.line()


def test_a_status_is_kept_for_the_caller() -> None:
    mapped = map_google_error(gexc.NotFound("gone"), WHAT)
    assert isinstance(mapped, ApiStatusError) and mapped.status == 404  # check_bindings reads it


def test_the_callers_hints_replace_the_generic_errors() -> None:
    missing, denied, login = UsageError("no such job"), SecretError("no access"), SecretError("log in")
    hints = {"not_found": missing, "denied": denied, "no_credentials": login}
    assert map_google_error(gexc.NotFound("gone"), WHAT, **hints) is missing
    assert map_google_error(gexc.PermissionDenied("no"), WHAT, **hints) is denied
    assert map_google_error(auth.DefaultCredentialsError("none"), WHAT, **hints) is login
    # Credentials that exist but cannot work are not "none": the hint for a missing login does not fit.
    assert isinstance(map_google_error(auth.MalformedError("bad"), WHAT, **hints), ConfigError)
    # A rate limit answered with 403 is no refusal: the `denied` hint does not apply to it.
    limited = gexc.Forbidden("limit", errors=[{"reason": "quotaExceeded", "message": "quota"}])
    assert isinstance(map_google_error(limited, WHAT, **hints), ApiUnavailable)


def test_the_role_to_grant_is_named_on_permission_denied() -> None:
    generic = map_google_error(gexc.Forbidden("no"), WHAT)
    assert generic is not None and generic.hint == "check the roles of the credentials in use"
    named = map_google_error(gexc.Forbidden("no"), WHAT, role="roles/run.developer on the job")
    assert named is not None and named.hint == "the caller needs roles/run.developer on the job"


def test_the_request_line_rest_puts_before_the_message_is_left_out() -> None:
    exc = gexc.ServiceUnavailable("GET http://127.0.0.1:9/v2/projects/p/jobs/j?%24alt=json%3Benum-encoding%3Dint: "
                                  "busy\nnow")
    mapped = map_google_error(exc, WHAT)
    assert mapped is not None and mapped.message == "Cloud Run job j: 503 busy now"


def test_what_google_did_not_raise_is_not_mapped() -> None:
    assert map_google_error(ValueError("ours"), WHAT) is None
    own = UsageError("ours")
    assert map_google_error(own, WHAT) is own
    with pytest.raises(ValueError, match="ours"), google_errors(WHAT):
        raise ValueError("ours")
    with pytest.raises(UsageError) as info, google_errors(WHAT, not_found=ConfigError("x")):
        raise own
    assert info.value is own


def test_the_context_manager_raises_the_mapped_error_alone() -> None:
    with pytest.raises(ApiUnavailable) as info, google_errors(WHAT):
        raise gexc.ServiceUnavailable("busy")
    # `from None`: the library's chain would only repeat the request on the way to the one line.
    assert info.value.__cause__ is None and info.value.__suppress_context__
