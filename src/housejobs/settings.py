"""Settings: environments.toml, then `.env`, then the process environment, then command-line flags.

Each resolved value remembers where it came from, so `housejobs config show` can say so. (pydantic-
settings would validate the same values but cannot report provenance and costs ~230 ms to import; a
table of definitions and one resolver do both jobs for a few dozen settings.)
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housejobs.errors import ConfigError, UsageError
from housejobs.redact import Secret, register

ENV_NAMES = ("test", "stage", "prod")
PACKAGE_DIR = Path(__file__).resolve().parent

# Numbers are ASCII, everywhere (options and settings): int() and float() also read other scripts'
# digits ("３", "٣") and "1_000", so a value that looks like nothing a person typed on purpose would run.
_WHOLE = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def ascii_int(text: str) -> int | None:
    """`text` as an integer written in ASCII digits (an optional sign), else None."""
    return int(text) if _WHOLE.match(text) else None


def ascii_float(text: str) -> float | None:
    """`text` as a decimal number written in ASCII (digits, a point, an exponent), else None."""
    return float(text) if _DECIMAL.match(text) else None


@dataclass(frozen=True)
class Number:
    """What a numeric setting takes: a whole number from `lo` to `hi`, or a finite decimal above `lo`
    (`lo` itself too when `inclusive`). Its help text states the same range (a test checks)."""

    lo: float
    hi: float | None = None  # required for whole numbers
    whole: bool = False
    inclusive: bool = False

    def range_text(self) -> str:
        if self.whole:
            return f"{self.lo:.0f}-{self.hi:.0f}"
        return f"{self.lo:g} or more" if self.inclusive else f"above {self.lo:g}"

    def describe(self) -> str:
        if self.whole:
            return f"a whole number from {self.lo:.0f} to {self.hi:.0f}"
        return f"a number {self.range_text()}"

    def accepts(self, number: float) -> bool:
        if number != number or number in (float("inf"), float("-inf")):
            return False
        above = number >= self.lo if self.inclusive or self.whole else number > self.lo
        return above and (self.hi is None or number <= self.hi)


@dataclass(frozen=True)
class SettingDef:
    key: str
    env_var: str
    toml_key: str | None = None
    default: str | None = None
    secret: bool = False
    help: str = ""
    number: Number | None = None


# The whole table of settings. README's "Settings" section mirrors it (a test checks).
SETTINGS: tuple[SettingDef, ...] = (
    SettingDef("env", "HOUSEJOBS_ENV", help="environment: test, stage or prod"),
    SettingDef("api_url", "HOUSEJOBS_API_URL", "api_url", help="admin API base URL"),
    SettingDef("bot_url", "HOUSEJOBS_BOT_URL", "bot_url", help="household bot runtime base URL"),
    SettingDef("project", "HOUSEJOBS_PROJECT", "project", help="GCP project"),
    SettingDef("region", "HOUSEJOBS_REGION", "region", help="GCP region"),
    SettingDef("secret_suffix", "HOUSEJOBS_SECRET_SUFFIX", "secret_suffix", "",
               help="suffix of Secret Manager secret names"),
    SettingDef("image", "HOUSEJOBS_IMAGE", "image", help="container image for Cloud Run Jobs"),
    SettingDef("runtime_service_account", "HOUSEJOBS_RUNTIME_SERVICE_ACCOUNT", "runtime_service_account",
               help="service account the jobs run as"),
    SettingDef("scheduler_service_account", "HOUSEJOBS_SCHEDULER_SERVICE_ACCOUNT",
               "scheduler_service_account", help="service account Cloud Scheduler calls Cloud Run with"),
    SettingDef("household_time_zone", "HOUSEJOBS_HOUSEHOLD_TIME_ZONE", "household_time_zone", "Etc/UTC",
               help="IANA time zone of the household (reminder periods)"),
    SettingDef("supabase_project_ref", "HOUSEJOBS_SUPABASE_PROJECT_REF", "supabase_project_ref",
               help="Supabase project ref for migrate"),
    SettingDef("supabase_api_url", "HOUSEJOBS_SUPABASE_API_URL", "supabase_api_url",
               "https://api.supabase.com", help="Supabase Management API base URL"),
    SettingDef("quota_table", "HOUSEJOBS_QUOTA_TABLE", "quota_table",
               help="BigQuery quota table, project.dataset.table"),
    SettingDef("quota_timestamp_column", "HOUSEJOBS_QUOTA_TIMESTAMP_COLUMN", "quota_timestamp_column",
               "recorded_at", help="timestamp column of the quota table"),
    SettingDef("state_dir", "HOUSEJOBS_STATE_DIR",
               help="where the sandbox keeps its database (default: $XDG_STATE_HOME/housejobs, else "
                    "~/.local/state/housejobs)"),
    SettingDef("deadline", "HOUSEJOBS_DEADLINE", default="60", number=Number(0),
               help="seconds one logical API call may take, retries included (above 0)"),
    SettingDef("timeout", "HOUSEJOBS_TIMEOUT", default="10", number=Number(0),
               help="seconds one HTTP attempt may take (above 0)"),
    SettingDef("max_attempts", "HOUSEJOBS_MAX_ATTEMPTS", default="6", number=Number(1, 100, whole=True),
               help="attempts per logical call (1-100)"),
    SettingDef("bigquery_timeout", "HOUSEJOBS_BIGQUERY_TIMEOUT", default="3000", number=Number(0),
               help="seconds quota-cleanup waits for BigQuery, retries included (under the job's 1 h timeout; "
                    "above 0)"),
    SettingDef("progress_every", "HOUSEJOBS_PROGRESS_EVERY", default="1000",
               number=Number(1, 1_000_000, whole=True),
               help="off a terminal, a progress log line every this many units (or 10 s) (1-1000000)"),
    SettingDef("retry_after_cap", "HOUSEJOBS_RETRY_AFTER_CAP", default="30", number=Number(0, inclusive=True),
               help="longest Retry-After honoured, in seconds; longer fails fast (0 or more)"),
    # Outcome notifications (housejobs.notify). The URLs embed tokens: environment or Secret Manager only,
    # never environments.toml (a committed file) or argv; the *_secret keys name the Secret Manager secret.
    SettingDef("notify_url", "HOUSEJOBS_NOTIFY_URL", secret=True,
               help="webhook that receives job outcome events (else Secret Manager notify_url_secret)"),
    SettingDef("notify_url_secret", "HOUSEJOBS_NOTIFY_URL_SECRET", "notify_url_secret",
               help="Secret Manager secret holding the webhook URL (name without the env suffix)"),
    SettingDef("notify_format", "HOUSEJOBS_NOTIFY_FORMAT", "notify_format", "json",
               help="webhook body: json (the event), slack or google-chat"),
    SettingDef("notify_on", "HOUSEJOBS_NOTIFY_ON", "notify_on",
               help="outcomes that send an event: comma list, success, failure, all or none "
                    "(unset: failed,partial; in Cloud Run also refused,interrupted)"),
    SettingDef("healthcheck_url", "HOUSEJOBS_HEALTHCHECK_URL", secret=True,
               help="Healthchecks.io-style ping URL, {job} selects a check per job "
                    "(else Secret Manager healthcheck_url_secret)"),
    SettingDef("healthcheck_url_secret", "HOUSEJOBS_HEALTHCHECK_URL_SECRET", "healthcheck_url_secret",
               help="Secret Manager secret holding the ping URL (name without the env suffix)"),
    SettingDef("notify_timeout", "HOUSEJOBS_NOTIFY_TIMEOUT", default="5", number=Number(0),
               help="seconds one notification sink may add to a run, its one retry included (above 0; "
                    "at most 60 is used)"),
    SettingDef("max_retries", "HOUSEJOBS_MAX_RETRIES", number=Number(0, 10, whole=True),
               help="the Cloud Run job's maxRetries (provisioning sets it): failures notify on the last "
                    "attempt only; unset: every attempt counts as the last (0-10)"),
    SettingDef("sandbox_faults", "HOUSEJOBS_SANDBOX_FAULTS",
               help="fault spec (JSON, as POST /_sandbox/faults) for the embedded sandbox, to script a failure"),
    SettingDef("run_api_endpoint", "HOUSEJOBS_RUN_API_ENDPOINT", help="Cloud Run Admin API endpoint override"),
    SettingDef("scheduler_api_endpoint", "HOUSEJOBS_SCHEDULER_API_ENDPOINT",
               help="Cloud Scheduler API endpoint override"),
    SettingDef("secretmanager_api_endpoint", "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT",
               help="Secret Manager API endpoint override"),
    SettingDef("bigquery_api_endpoint", "HOUSEJOBS_BIGQUERY_API_ENDPOINT", help="BigQuery API endpoint override"),
    SettingDef("credentials", "GOOGLE_APPLICATION_CREDENTIALS", help="service account key file (optional)"),
    SettingDef("ca_root_api_key", "CA_ROOT_API_KEY", secret=True,
               help="admin API key (else Secret Manager ca-root-api-key<suffix>)"),
    SettingDef("scheduler_shared_secret", "SCHEDULER_SHARED_SECRET", secret=True,
               help="bot runtime scheduler secret (else Secret Manager scheduler-shared-secret<suffix>)"),
    SettingDef("supabase_access_token", "SUPABASE_ACCESS_TOKEN", secret=True,
               help="Supabase Management API token (else Secret Manager supabase-access-token<suffix>)"),
)
BY_KEY = {d.key: d for d in SETTINGS}
# Settings that name a file or folder: a leading ~ is the home folder, whatever the value came from. A
# quoted value in .env (or the environment) reaches here unexpanded; a folder literally named ~ is
# never what was meant.
PATH_KEYS = ("state_dir", "credentials")
KNOWN_ENV_KEYS = {d.toml_key for d in SETTINGS if d.toml_key}


@dataclass(frozen=True)
class Value:
    value: str | None
    source: str


@dataclass
class Settings:
    values: dict[str, Value] = field(default_factory=dict)
    jobs_dir: Path = PACKAGE_DIR
    jobs_dir_source: str = ""

    def get(self, key: str) -> str | None:
        return self.values[key].value if key in self.values else None

    def source(self, key: str) -> str:
        return self.values[key].source if key in self.values else "unset"

    def require(self, key: str, why: str) -> str:
        value = self.get(key)
        if not value:
            d = BY_KEY[key]
            raise ConfigError(f"{key} is not set, and {why} needs it",
                              hint=f"set {d.env_var}" + (f" or `{d.toml_key}` in environments.toml"
                                                         if d.toml_key else ""))
        return value

    def secret(self, key: str) -> Secret | None:
        value = self.get(key)
        return Secret(value, self.source(key)) if value else None

    def number(self, key: str) -> float:
        """A numeric setting (each has a default), checked against its rule in SETTINGS. An empty value
        is refused like any other that is not a number."""
        return self._number(key, self.get(key) or "")

    def whole(self, key: str) -> int | None:
        """A whole-number setting, or None when it is unset and has no default."""
        raw = self.get(key)
        return None if raw is None else int(self._number(key, raw))

    def _number(self, key: str, raw: str) -> float:
        d = BY_KEY[key]
        rule = d.number or Number(0)  # every caller names a numeric setting; the table says which
        number = ascii_int(raw) if rule.whole else ascii_float(raw)
        if number is None or not rule.accepts(number):
            # Named with its source; the value too unless the setting is secret (a pasted secret is
            # masked by redaction wherever the line goes).
            shown = "" if d.secret else f", got {raw!r}"
            raise ConfigError(f"{key} must be {rule.describe()}{shown} from {self.source(key)}",
                              hint=f"set {d.env_var} to {rule.describe()}")
        return float(number)


def register_secret_values(values: Mapping[str, str]) -> None:
    """Tell redaction every configured secret before anything could echo one: a key pasted into the
    wrong variable (HOUSEJOBS_ENV, a URL, a time zone, a path) must not reach an error line or a log."""
    for d in SETTINGS:
        if d.secret and values.get(d.env_var):
            register(values[d.env_var])


def default_state_dir(environ: Mapping[str, str]) -> str:
    """Where local state lives when HOUSEJOBS_STATE_DIR is not set: the XDG state directory."""
    base = environ.get("XDG_STATE_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"),
                                                         ".local", "state")
    return os.path.join(base, "housejobs")


def state_dir(environ: Mapping[str, str], cwd: Path) -> Path:
    """HOUSEJOBS_STATE_DIR from the environment or ./.env, else the default: without resolving every setting
    (the standalone sandbox needs only this one)."""
    value = environ.get("HOUSEJOBS_STATE_DIR") or parse_dotenv(cwd / ".env").get("HOUSEJOBS_STATE_DIR")
    return Path(value or default_state_dir(environ))


def find_jobs_dir(environ: Mapping[str, str]) -> tuple[Path, str]:
    """HOUSEJOBS_JOBS_DIR, then the checkout this package runs from, then the copy inside the wheel."""
    explicit = environ.get("HOUSEJOBS_JOBS_DIR")
    if explicit:
        path = Path(expand_home(explicit, environ))
        if not (path / "catalog.toml").is_file():
            raise ConfigError(f"HOUSEJOBS_JOBS_DIR={explicit} has no catalog.toml")
        return path, "HOUSEJOBS_JOBS_DIR"
    checkout = PACKAGE_DIR.parent.parent / "jobs"
    if (checkout / "catalog.toml").is_file() and (PACKAGE_DIR.parent.parent / "pyproject.toml").is_file():
        return checkout, "checkout"
    packaged = PACKAGE_DIR / "_jobs"
    if (packaged / "catalog.toml").is_file():
        return packaged, "package"
    raise ConfigError("no jobs/ directory found", hint="set HOUSEJOBS_JOBS_DIR to a folder with catalog.toml")


def expand_home(path: str, environ: Mapping[str, str]) -> str:
    """`~` and `~/x` as a shell expands them, from this run's HOME; `~user/x` from the password database."""
    if path == "~" or path.startswith("~/"):
        return (environ.get("HOME") or os.path.expanduser("~")) + path[1:]
    return os.path.expanduser(path) if path.startswith("~") else path


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path.name} not found in {path.parent}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name} is not valid TOML: {exc}") from None
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively: a file nested thousands deep
        # is a broken file, not a bug here.
        raise ConfigError(f"{path} nests arrays or tables too deeply to read",
                          hint=f"fix {path.name}: its tables go a few levels deep") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.__class__.__name__}") from None


def load_environments(jobs_dir: Path) -> dict[str, dict[str, str]]:
    data = read_toml(jobs_dir / "environments.toml")
    unknown_envs = sorted(set(data) - set(ENV_NAMES))
    if unknown_envs:
        raise ConfigError(f"environments.toml defines unknown environment {unknown_envs[0]!r}",
                          hint="allowed: " + ", ".join(ENV_NAMES))
    envs: dict[str, dict[str, str]] = {}
    for name in ENV_NAMES:
        table = data.get(name)
        if not isinstance(table, dict):
            raise ConfigError(f"environments.toml has no [{name}] table")
        for key, value in table.items():
            if key not in KNOWN_ENV_KEYS:
                raise ConfigError(f"environments.toml [{name}] has unknown key {key!r}")
            if not isinstance(value, str):
                raise ConfigError(f"environments.toml [{name}].{key} must be a string")
        envs[name] = dict(table)
    return envs


_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$")
# Escapes inside quotes (python-dotenv's and docker compose's): double quotes take the common shell ones,
# single quotes only their own quote and the backslash. Any other backslash stays as written.
_ESCAPES = {'"': {"n": "\n", "r": "\r", "t": "\t", '"': '"', "'": "'", "\\": "\\"}, "'": {"'": "'", "\\": "\\"}}


def parse_dotenv(path: Path) -> dict[str, str]:
    r""".env as python-dotenv and docker compose read it, one value a line, no ${VAR} interpolation:

        KEY=value                 unquoted: surrounding space dropped; a # after a space starts a comment
        export KEY=value          the `export` prefix is allowed
        KEY="a # b\n"             double quotes: # is kept; \n \r \t \" \' \\ are escapes
        KEY='a # b'  # comment    single quotes: literal but for \' and \\; a comment may follow
        # comment                 a line whose first non-space character is # (and blank lines)

    A quote left open, or text after the closing quote other than a comment, is refused by line number.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc.__class__.__name__}") from None
    out: dict[str, str] = {}
    # Lines end at \n, \r\n or \r only, as in every other .env reader: splitlines() would also split at
    # U+2028, U+0085 or \x1c inside a value, and the rest of that value would become a line of its own.
    for number, line in enumerate(re.split(r"\r\n|\n|\r", text), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _DOTENV_LINE.match(line)
        # The line may hold a secret: errors name the line, never show it.
        if not m:
            raise ConfigError(f"{path.name} line {number} is not KEY=value")
        value = _dotenv_value(m.group(2))
        if value is None:
            raise ConfigError(f"{path.name} line {number} has a quote that is not closed, or text after it",
                              hint='quote the whole value, e.g. KEY="a # b"; a comment may follow the quote')
        out[m.group(1)] = value
    return out


def _dotenv_value(raw: str) -> str | None:
    """The value after `KEY=`, or None when its quoting is broken."""
    body = raw.lstrip()
    if body[:1] in ("'", '"'):
        quote, escapes = body[0], _ESCAPES[body[0]]
        chars: list[str] = []
        i = 1
        while i < len(body):
            c = body[i]
            if c == "\\" and i + 1 < len(body) and body[i + 1] in escapes:
                chars.append(escapes[body[i + 1]])
                i += 2
                continue
            if c == quote:
                rest = body[i + 1:].lstrip()
                return "".join(chars) if not rest or rest.startswith("#") else None
            chars.append(c)
            i += 1
        return None
    # Unquoted: a # starts a comment only after whitespace (which may be the space after `=`), so
    # `KEY=a#b` keeps its #.
    for i, c in enumerate(raw):
        if c == "#" and i > 0 and raw[i - 1].isspace():
            raw = raw[:i]
            break
    return raw.strip()


def check_env_name(name: str, source: str) -> str:
    if name not in ENV_NAMES:
        raise UsageError(f"unknown environment {name!r} (from {source})", hint="use test, stage or prod")
    return name


def select_env(option: str | None, environ: Mapping[str, str], cwd: Path) -> tuple[str | None, str]:
    """The environment a command runs in, and where that came from: --env, $HOUSEJOBS_ENV, ./.env."""
    if option is not None:
        return check_env_name(option, "--env"), "--env"
    if "HOUSEJOBS_ENV" in environ:
        return check_env_name(environ["HOUSEJOBS_ENV"], "$HOUSEJOBS_ENV"), "$HOUSEJOBS_ENV"
    dotenv = parse_dotenv(cwd / ".env")
    if "HOUSEJOBS_ENV" in dotenv:
        return check_env_name(dotenv["HOUSEJOBS_ENV"], ".env HOUSEJOBS_ENV"), ".env"
    return None, "unset"


def resolve(environ: Mapping[str, str], *, cwd: Path, env: str | None = None,
            overrides: Mapping[str, str | None] | None = None) -> Settings:
    """Build Settings for `env` (None: no environment selected)."""
    jobs_dir, jobs_source = find_jobs_dir(environ)
    dotenv_path = cwd / ".env"
    dotenv = parse_dotenv(dotenv_path)
    register_secret_values(environ)
    register_secret_values(dotenv)
    env_table = load_environments(jobs_dir)[env] if env else {}
    settings = Settings(jobs_dir=jobs_dir, jobs_dir_source=jobs_source)
    for d in SETTINGS:
        value = Value(d.default, "default") if d.default is not None else Value(None, "unset")
        if d.toml_key and d.toml_key in env_table:
            value = Value(env_table[d.toml_key], f"environments.toml [{env}]")
        if d.env_var in dotenv:
            value = Value(dotenv[d.env_var], ".env")
        if d.env_var in environ:
            value = Value(environ[d.env_var], f"${d.env_var}")
        if overrides and overrides.get(d.key) is not None:
            value = Value(overrides[d.key], "command line")
        if d.key in PATH_KEYS and value.value:
            value = Value(expand_home(value.value, environ), value.source)
        settings.values[d.key] = value
    if settings.get("state_dir") is None:
        settings.values["state_dir"] = Value(default_state_dir(environ), "default")
    creds = settings.get("credentials")
    if creds:
        expanded = Path(creds)
        if not expanded.is_file():
            raise ConfigError(f"GOOGLE_APPLICATION_CREDENTIALS points at {expanded}, which does not exist",
                              hint="fix the path or unset it to use application-default credentials")
    return settings
