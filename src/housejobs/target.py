"""Where a run's calls go, decided once before anything is called, and whether that is prod.

Every command names what it talks to (`uses`): the admin API, the household bot runtime, a Supabase
project, the BigQuery quota table, or the GCP project's Cloud Run and Scheduler. The target of each comes
from the flags, the environment and `jobs/environments.toml`; the run summary names the command's own
(a refused reminder names the bot, a refused create-all-jobs the Cloud Run project).

Prod is a place, not a word: a run needs the prod confirmation when `--env prod` is chosen *or* when any
target it uses is one of prod's (`environments.toml [prod]`: `api_url`, `bot_url`, `supabase_project_ref`,
`quota_table`, `project`), however it was reached (`--api-url`, `HOUSEJOBS_API_URL`, `./.env`, another
env's table pointed at prod's URL). A URL is prod's when it reaches prod's host and port, compared in the
form the connection uses (`place`): lower case, no trailing dot, the scheme's default port filled in, an
IPv4 address in its dotted form (`127.1` is `127.0.0.1`); scheme and path do not matter, since any path on
prod's host is prod's server. A host that is not plain ASCII is refused by `check_url` before any compare:
httpx would map `api。cloudact。ai` (ideographic full stops) to `api.cloudact.ai` with IDNA, and two
mappings (ours, the connection's) can only be trusted to agree if there is nothing to map. BigQuery tables
and GCP projects compare by project, case-insensitively: any table in prod's project is prod's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from housejobs.errors import ConfigError, UsageError
from housejobs.redact import cut
from housejobs.settings import Setting, SettingDef

if TYPE_CHECKING:
    from housejobs.settings_model import Settings

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


DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def canonical_host(hostname: str) -> str:
    """`hostname` (urlsplit's: lower-cased, no brackets) as the connection will use it, or ValueError
    saying why no connection could: the one rule for what a host is (check_url refuses with it, `place`
    compares with it, NO_PROXY matches with it).

    ASCII only (an internationalised name is written in its xn-- form); one trailing dot dropped (DNS's
    root, the same host); labels of 1-63 letters, digits, hyphens or underscores, 253 characters in all;
    xn-- labels must be punycode that IDNA decodes (httpx decodes them, and failed with an internal error);
    an IPv4 address in any form the resolver accepts (`127.1`, `0x7f.1`) in its dotted form; an IPv6
    address in its compressed form, an IPv4-mapped one as the IPv4 address it reaches.
    """
    import ipaddress

    if not hostname:
        raise ValueError("it has no host")
    if not hostname.isascii():
        raise ValueError("its host is not plain ASCII (write an internationalised name in its xn-- form)")
    if ":" in hostname:  # only an IPv6 literal has a colon once urlsplit took the port off
        try:
            ip = ipaddress.IPv6Address(unquote(hostname))
        except ValueError:
            raise ValueError("its host is not a valid IPv6 address") from None
        return str(ip.ipv4_mapped) if ip.ipv4_mapped else ip.compressed
    host = hostname[:-1] if hostname.endswith(".") else hostname
    labels = host.split(".")
    if "" in labels:
        raise ValueError("its host has an empty label (two dots in a row, or a dot at the start)")
    if any(len(label) > 63 for label in labels) or len(host) > 253:
        raise ValueError("its host is too long (a label has more than 63 characters, or the name more than 253)")
    if not _HOST_CHARS.issuperset(host.replace(".", "")):
        raise ValueError("its host has a character a host name cannot have")
    last = labels[-1]
    if last.isdigit() or (last.startswith("0x") and all(c in "0123456789abcdef" for c in last[2:])):
        import socket

        try:  # what the resolver (inet_aton) makes of it: 127.1 and 2130706433 are 127.0.0.1
            return socket.inet_ntoa(socket.inet_aton(host))
        except OSError:
            raise ValueError("its host is not a valid IPv4 address") from None
    for label in labels:
        if label.startswith("xn--"):
            import idna

            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                raise ValueError(f"its host label {label[:63]!r} is not valid punycode (IDNA)") from None
    return host


def place(url: str) -> tuple[str, int | None] | None:
    """Where a connection to `url` goes: (canonical host, port), the scheme's default port filled in; None
    when it could go nowhere (check_url refuses such a URL before any compare)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        host = canonical_host(parts.hostname or "")
    except ValueError:
        return None
    return host, port if port is not None else DEFAULT_PORTS.get(parts.scheme.lower())


def same_place(a: str, b: str) -> bool:
    here = place(a)
    return here is not None and here == place(b)


def _project(value: str) -> str:
    """The project of a GCP project id or BigQuery table ref (`project.dataset.table`, legacy
    `project:dataset.table`), lower-cased: project ids are lower case, and any table in prod's project is
    prod's, whatever its dataset or table."""
    return value.strip().split(".")[0].split(":")[0].lower()


def prod_reasons(identifiers: Mapping[Use, str], prod: Mapping[str, str]) -> list[str]:
    """Why these targets are prod's: one phrase per target that equals prod's, e.g.
    'the admin API https://api.cloudact.ai is prod's'."""
    reasons = []
    for use, value in identifiers.items():
        theirs = prod.get(PROD_KEYS[use], "")
        if not value or not theirs:
            continue
        if use in ("admin", "bot"):
            hit = same_place(value, theirs)
        elif use in ("bigquery", "cloud-run"):
            hit = _project(value) in {_project(theirs), _project(prod.get("project", ""))} - {""}
        else:
            hit = value.strip().lower() == theirs.strip().lower()
        if hit:
            reasons.append(f"the {WHAT[use]} {shown(value)} is prod's")
    return reasons


def shown(value: str, limit: int = 120) -> str:
    """A value echoed in a message, cut if it is long (a 5 MB URL from .env is not printed whole); the
    output masks what it must, as for any text."""
    return value if len(value) <= limit else cut(value, limit)


# --- choosing the targets, before any call ----------------------------------------------------------------
EMBEDDED = Target("sandbox", "", "embedded sandbox")


def given_url(settings: Settings, setting: SettingDef, flag: str, given: str | None) -> tuple[str, str] | None:
    """A URL given by flag or setting, and where from; an empty one that was given is refused (an unset
    `$URL` in a cron line must not quietly mean the sandbox)."""
    if given is not None:
        if not given.strip():
            raise UsageError(f"{flag} is empty", hint=f"give a URL, or leave {flag} out")
        return given, flag
    value, source = settings.given(setting).value, settings.given(setting).source
    if value is not None and not value.strip() and source not in ("unset", "default"):
        raise ConfigError(f"{setting.key} from {source} is empty", hint="set it to a URL, or unset it")
    return (value, source) if value else None


def admin_target(settings: Settings, env: str | None, api_url: str | None) -> Target:
    """Where admin API calls go: --api-url, the env's api_url, $HOUSEJOBS_API_URL / .env, or the sandbox.
    In an env without an api_url a job that calls the admin API refuses when it builds its client."""
    return _url_target(settings, env, Setting.api_url, "--api-url", api_url, what="", required_by=None)


def bot_target(settings: Settings, env: str | None, bot_url: str | None) -> Target:
    """Where bot runtime calls go: --bot-url, the env's bot_url, $HOUSEJOBS_BOT_URL / .env, or the sandbox."""
    return _url_target(settings, env, Setting.bot_url, "--bot-url", bot_url, what=" bot",
                       required_by=f"calling the bot runtime in --env {env}")


def _url_target(settings: Settings, env: str | None, setting: SettingDef, flag: str, flag_value: str | None, *,
                what: str, required_by: str | None) -> Target:
    given = given_url(settings, setting, flag, flag_value)
    # The flag wins; without an env only the environment or .env can have set the URL.
    if given is not None and (given[1] == flag or not env):
        return Target("url", check_url(*given), given[0])
    if not env:
        return EMBEDDED
    if given is None:
        if required_by is None:
            return Target("env", "", env)
        given = (settings.require(setting, required_by), settings.given(setting).source)  # refuses by name
    url = check_url(*given)
    return Target("env", url, f"{env}{what} ({url})")


def resource_target(settings: Settings, use: Use, env: str | None) -> Target:
    """What a run that uses a Supabase project, the BigQuery table or the GCP project is summarised as.
    A value that is not set says so in words: a label never shows `None`."""
    if use == "supabase":
        ref = settings.supabase_project_ref
        label = f"Supabase project {ref}" if ref else "Supabase project, ref not set"
        return Target("supabase", settings.supabase_api_url, label + (f" ({env})" if env else ""))
    if use == "bigquery":
        return Target("bigquery", "", f"BigQuery {settings.quota_table or '(no quota_table)'}")
    return Target("cloud-run", "", f"Cloud Run {project_region(settings)}")


def project_region(settings: Settings) -> str:
    """`project/region` of the GCP resources a run reads or changes, each named even when not set."""
    return f"{settings.project or '(no project)'}/{settings.region or '(no region)'}"


def identifiers(uses: tuple[Use, ...], settings: Settings, admin: Target | None,
                bot: Target | None) -> dict[Use, str]:
    """What each target of a run is, for comparing with prod's (prod_reasons)."""
    ids: dict[Use, str] = {}
    for use in uses:
        if use == "admin" and admin is not None and admin.kind != "sandbox":
            ids["admin"] = admin.url
        elif use == "bot" and bot is not None and bot.kind != "sandbox":
            ids["bot"] = bot.url
        elif use == "supabase":
            ids[use] = settings.supabase_project_ref or ""
        elif use == "bigquery":
            ids[use] = settings.quota_table or ""
        elif use == "cloud-run":
            ids[use] = settings.project or ""
    return ids


def is_loopback(url: str) -> bool:
    host = (place(url) or ("", None))[0]
    return host in ("localhost", "::1") or host.startswith("127.")


MAX_URL = 2048  # what browsers and proxies reliably take; a base URL is far shorter
_BASE_URL_HINT = "give scheme, host, an optional port and path only, e.g. https://api.example.com"


def check_url(url: str, source: str) -> str:
    """A clean base URL (scheme, host, optional port and path) that paths are appended to, or refused.

    A query or fragment would be glued into every request's path, an empty port means port 80, a dot
    segment moves the base, surrounding space is a paste error, and userinfo is a credential in a place
    that is neither a secret nor masked as one. The host must be one a connection can use, in the form
    it will use (`canonical_host`): that is the form the prod check compares.
    """
    echo = repr(shown(url))
    if len(url) > MAX_URL:
        raise UsageError(f"{echo} from {source} is not a base URL: it is {len(url):,} characters long",
                         hint=f"a base URL is at most {MAX_URL} characters")
    if url != url.strip():
        raise UsageError(f"{echo} from {source} is not a clean base URL: it has space around it",
                         hint=_BASE_URL_HINT)
    try:
        parts = urlsplit(url)
        _ = parts.port  # a port outside 0-65535, or not a number, raises here rather than in connect()
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{echo} from {source} is not an http(s) URL")
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
        raise UsageError(f"{echo} from {source} is not a clean base URL: {problem}", hint=_BASE_URL_HINT)
    try:
        canonical_host(parts.hostname)
    except ValueError as exc:
        raise UsageError(f"{echo} from {source} is not a URL a connection can use: {exc}",
                         hint=_BASE_URL_HINT) from None
    import httpx

    try:  # what the client will make of it: a control character, anything else httpx refuses
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise UsageError(f"{echo} from {source} is not a valid http(s) URL") from None
    return url.rstrip("/")


@dataclass(frozen=True)
class Targets:
    """Where a run's calls go, chosen before any prompt or call (refusals come first)."""

    first: Target  # what the run's summary names (a report of the catalog: Target("none", ...))
    api: Target = EMBEDDED
    bot: Target | None = None
    prod_reasons: tuple[str, ...] = ()


def choose_targets(uses: tuple[Use, ...], settings: Settings, env: str | None, *, api_url: str | None = None,
                   bot_url: str | None = None, prod: Callable[[], Mapping[str, str]],
                   in_cloud_run: bool) -> Targets:
    """Where each kind of call in `uses` goes (`api_url`, `bot_url`: the options that name a place), and why
    (if at all) it reaches prod outside --env prod. A Cloud Run job pointed at another environment's
    resources is refused here. `prod` gives prod's table of environments.toml, asked only when some target
    has an identifier to compare."""
    api: Target = EMBEDDED
    bot: Target | None = None
    if "admin" in uses or api_url is not None:
        api = admin_target(settings, env, api_url)
    if "bot" in uses:
        bot = bot_target(settings, env, bot_url)
    first = uses[0]
    if first == "admin":
        target = api
    elif first == "bot" and bot is not None:
        target = bot
    else:
        target = resource_target(settings, first, env)
    reasons: list[str] = []
    if env != "prod":
        ids = identifiers(uses, settings, api, bot)
        if any(ids.values()):
            reasons = prod_reasons(ids, prod())
    if in_cloud_run and reasons and env != "prod":
        raise ConfigError(f"this Cloud Run job runs in {env}, but {reasons[0]}",
                          hint="a job's args and settings must not point it at another environment")
    return Targets(api=api, bot=bot, first=target, prod_reasons=tuple(reasons))
