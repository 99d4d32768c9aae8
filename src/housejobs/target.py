"""Where a run's calls go, decided once before anything is called, and whether that is prod.

Every command names what it talks to (`uses`): the admin API, the household bot runtime, a Supabase
project, the BigQuery quota table, or the GCP project's Cloud Run and Scheduler. The target of each comes
from the flags, the environment and `jobs/environments.toml`; the run summary names the command's own
(a refused reminder names the bot, a refused create-all-jobs the Cloud Run project).

Prod is a place, not a word: a run needs the prod confirmation when `--env prod` is chosen *or* when any
target it uses is one of prod's (`environments.toml [prod]`: `api_url`, `bot_url`, `supabase_project_ref`,
`quota_table`, `project`), however it was reached (`--api-url`, `HOUSEJOBS_API_URL`, `./.env`, another
env's table pointed at prod's URL). URLs compare by scheme, host, port and path, so
`https://API.cloudact.ai:443/` is `https://api.cloudact.ai`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit

from housejobs.errors import ConfigError, UsageError

Use = Literal["admin", "bot", "supabase", "bigquery", "cloud-run"]
# The environments.toml key that identifies prod's side of each use.
PROD_KEYS: dict[Use, str] = {"admin": "api_url", "bot": "bot_url", "supabase": "supabase_project_ref",
                             "bigquery": "quota_table", "cloud-run": "project"}
WHAT: dict[Use, str] = {"admin": "admin API", "bot": "bot runtime", "supabase": "Supabase project",
                        "bigquery": "BigQuery table", "cloud-run": "GCP project"}


@dataclass(frozen=True)
class Target:
    kind: str  # "sandbox" (embedded), "url" (a URL given directly), "env" (an environment's), or the use
    url: str
    label: str


def same_url(a: str, b: str) -> bool:
    return bool(a) and bool(b) and normalize_url(a) == normalize_url(b)


def normalize_url(url: str) -> str:
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if port is None or port == default else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def prod_reasons(identifiers: Mapping[Use, str], prod: Mapping[str, str]) -> list[str]:
    """Why these targets are prod's: one phrase per target that equals prod's, e.g.
    'the admin API https://api.cloudact.ai is prod's'."""
    reasons = []
    for use, value in identifiers.items():
        theirs = prod.get(PROD_KEYS[use], "")
        if not value or not theirs:
            continue
        hit = same_url(value, theirs) if use in ("admin", "bot") else value.strip() == theirs.strip()
        if hit:
            reasons.append(f"the {WHAT[use]} {value} is prod's")
    return reasons


# --- choosing the targets, before any call ----------------------------------------------------------------
class Sources(Protocol):
    """What target selection reads from settings (housejobs.settings.Settings)."""

    def get(self, key: str) -> str | None: ...

    def source(self, key: str) -> str: ...

    def require(self, key: str, why: str) -> str: ...


EMBEDDED = Target("sandbox", "", "embedded sandbox")


def given_url(settings: Sources, key: str, flag: str, given: str | None) -> tuple[str, str] | None:
    """A URL given by flag or setting, and where from; an empty one that was given is refused (an unset
    `$URL` in a cron line must not quietly mean the sandbox)."""
    if given is not None:
        if not given.strip():
            raise UsageError(f"{flag} is empty", hint=f"give a URL, or leave {flag} out")
        return given, flag
    value, source = settings.get(key), settings.source(key)
    if value is not None and not value.strip() and source not in ("unset", "default"):
        raise ConfigError(f"{key} from {source} is empty", hint="set it to a URL, or unset it")
    return (value, source) if value else None


def admin_target(settings: Sources, env: str | None, api_url: str | None) -> Target:
    """Where admin API calls go: --api-url, the env's api_url, $HOUSEJOBS_API_URL / .env, or the sandbox.
    In an env without an api_url a job that calls the admin API refuses when it builds its client."""
    return _url_target(settings, env, "api_url", "--api-url", api_url, what="", required_by=None)


def bot_target(settings: Sources, env: str | None, bot_url: str | None) -> Target:
    """Where the reminder goes: --bot-url, the env's bot_url, $HOUSEJOBS_BOT_URL / .env, or the sandbox."""
    return _url_target(settings, env, "bot_url", "--bot-url", bot_url, what=" bot",
                       required_by=f"the reminder in --env {env}")


def _url_target(settings: Sources, env: str | None, key: str, flag: str, flag_value: str | None, *, what: str,
                required_by: str | None) -> Target:
    given = given_url(settings, key, flag, flag_value)
    # The flag wins; without an env only the environment or .env can have set the URL.
    if given is not None and (given[1] == flag or not env):
        return Target("url", check_url(*given), given[0])
    if not env:
        return EMBEDDED
    if given is None:
        if required_by is None:
            return Target("env", "", env)
        given = (settings.require(key, required_by), settings.source(key))  # refuses, naming the setting
    url = check_url(*given)
    return Target("env", url, f"{env}{what} ({url})")


def resource_target(settings: Sources, use: Use, env: str | None) -> Target:
    """What a run that uses a Supabase project, the BigQuery table or the GCP project is summarised as.
    A value that is not set says so in words: a label never shows `None`."""
    if use == "supabase":
        ref = settings.get("supabase_project_ref")
        label = f"Supabase project {ref}" if ref else "Supabase project, ref not set"
        return Target("supabase", settings.get("supabase_api_url") or "", label + (f" ({env})" if env else ""))
    if use == "bigquery":
        return Target("bigquery", "", f"BigQuery {settings.get('quota_table') or '(no quota_table)'}")
    return Target("cloud-run", "", f"Cloud Run {project_region(settings)}")


def project_region(settings: Sources) -> str:
    """`project/region` of the GCP resources a run reads or changes, each named even when not set."""
    return f"{settings.get('project') or '(no project)'}/{settings.get('region') or '(no region)'}"


def identifiers(uses: tuple[Use, ...], settings: Sources, admin: Target | None,
                bot: Target | None) -> dict[Use, str]:
    """What each target of a run is, for comparing with prod's (prod_reasons)."""
    ids: dict[Use, str] = {}
    for use in uses:
        if use == "admin" and admin is not None and admin.kind != "sandbox":
            ids["admin"] = admin.url
        elif use == "bot" and bot is not None and bot.kind != "sandbox":
            ids["bot"] = bot.url
        elif use in ("supabase", "bigquery", "cloud-run"):
            ids[use] = settings.get(PROD_KEYS[use]) or ""
    return ids


def is_loopback(url: str) -> bool:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    return host in ("localhost", "::1") or host.startswith("127.")


_BASE_URL_HINT = "give scheme, host, an optional port and path only, e.g. https://api.example.com"


def check_url(url: str, source: str) -> str:
    """A clean base URL (scheme, host, optional port and path) that paths are appended to, or refused.

    A query or fragment would be glued into every request's path, an empty port means port 80, a dot
    segment moves the base, surrounding space is a paste error, and userinfo is a credential in a place
    that is neither a secret nor masked as one.
    """
    if url != url.strip():
        raise UsageError(f"{url!r} from {source} is not a clean base URL: it has space around it",
                         hint=_BASE_URL_HINT)
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port outside 0-65535, or not a number, raises here rather than in connect()
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url!r} from {source} is not an http(s) URL")
    if "@" in parts.netloc:
        # Not echoed: what precedes the @ is a user name and maybe a password.
        raise UsageError(f"the URL from {source} is not a clean base URL: it has a user name or password "
                         "(userinfo) in it", hint=_BASE_URL_HINT)
    problem = None
    if "?" in url or "#" in url:
        problem = "it has a query string or fragment"
    elif parts.netloc.endswith(":"):
        problem = "its port is empty"
    elif any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        problem = "its path has a . or .. segment"
    if problem:
        raise UsageError(f"{url!r} from {source} is not a clean base URL: {problem}", hint=_BASE_URL_HINT)
    import httpx

    try:  # what the client will make of it: a host IDNA cannot encode, a control character
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise UsageError(f"{url!r} from {source} is not a valid http(s) URL") from None
    return url.rstrip("/")
