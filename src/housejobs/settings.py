"""The table of settings, the files they are read from, and which environment a run is in. No pydantic:
--help, the option types, list-jobs and the standalone sandbox import this module; the typed model the
settings resolve into is settings_model (imported by the commands that read settings).

    command line > the run's environment > ./.env > secrets_dir > environments.toml [env] > default

The environment itself is chosen once, by `select_env`: --env > $HOUSEJOBS_ENV > ./.env. A run reads
./.env and jobs/environments.toml at most once each (`SettingsFiles`, one per Runtime).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from housejobs.errors import ConfigError, UsageError, choices_hint
from housejobs.redact import register

ENV_NAMES = ("test", "stage", "prod")
# One deployment check's bound, retries included (not a setting: --deadline overrides it): doctor's checks,
# and the same checks smoke starts with. A job's own calls get the `deadline` setting (60 s).
CHECK_DEADLINE_S = 10.0
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
        return f"a whole number from {self.lo:.0f} to {self.hi:.0f}" if self.whole else f"a number {self.range_text()}"

    def accepts(self, number: float) -> bool:
        if number != number or number in (float("inf"), float("-inf")):
            return False
        above = number >= self.lo if self.inclusive or self.whole else number > self.lo
        return above and (self.hi is None or number <= self.hi)

    def parse(self, text: str) -> int | float | None:
        """`text` as this rule's number (ASCII only, within range), else None."""
        number = ascii_int(text) if self.whole else ascii_float(text)
        return number if number is not None and self.accepts(number) else None


@dataclass(frozen=True)
class SettingDef:
    """One setting: its variable, environments.toml key, default (as text), and rules. Its `key`, the
    model's field name, is the attribute of `Setting` it is assigned to."""

    env_var: str
    toml_key: str | None = None
    default: str | None = None
    secret: bool = False
    help: str = ""
    number: Number | None = None
    # Checked where it is read, not when settings resolve: a notification setting warns and never changes a
    # run's outcome (every other value is checked up front, and a bad one refuses the run).
    on_use: bool = False
    # A file or folder: a leading ~ is the home folder, whatever source the value came from (a quoted value
    # in .env reaches here unexpanded; a folder literally named ~ is never what was meant).
    path: bool = False
    key: str = field(default="", kw_only=True)

    def __set_name__(self, owner: type, name: str) -> None:
        object.__setattr__(self, "key", name)


@dataclass(frozen=True)
class Value:
    """A setting as given: its text (after ~ expansion for a path) and where it came from."""

    value: str | None = field(repr=False)  # may be a secret: a repr of this record must not show it
    source: str


class Setting:
    """The whole table of settings, one attribute each: README's "Settings" section mirrors it (a test
    checks), the model (settings_model.Settings) has one field of the same name per row (checked at import),
    and what is read by setting rather than by attribute (provenance, secrets, `require`) is keyed by these
    attributes, so a misspelt name fails mypy and at import."""

    env = SettingDef("HOUSEJOBS_ENV", help="environment: test, stage or prod")
    api_url = SettingDef("HOUSEJOBS_API_URL", "api_url", help="admin API base URL")
    bot_url = SettingDef("HOUSEJOBS_BOT_URL", "bot_url", help="household bot runtime base URL")
    project = SettingDef("HOUSEJOBS_PROJECT", "project", help="GCP project")
    region = SettingDef("HOUSEJOBS_REGION", "region", help="GCP region")
    secret_suffix = SettingDef("HOUSEJOBS_SECRET_SUFFIX", "secret_suffix", "",
                               help="suffix of Secret Manager secret names")
    image = SettingDef("HOUSEJOBS_IMAGE", "image", help="container image for Cloud Run Jobs")
    runtime_service_account = SettingDef("HOUSEJOBS_RUNTIME_SERVICE_ACCOUNT", "runtime_service_account",
                                         help="service account the jobs run as")
    scheduler_service_account = SettingDef("HOUSEJOBS_SCHEDULER_SERVICE_ACCOUNT", "scheduler_service_account",
                                           help="service account Cloud Scheduler calls Cloud Run with")
    household_time_zone = SettingDef("HOUSEJOBS_HOUSEHOLD_TIME_ZONE", "household_time_zone", "Etc/UTC",
                                     help="IANA time zone of the household (reminder periods)")
    supabase_project_ref = SettingDef("HOUSEJOBS_SUPABASE_PROJECT_REF", "supabase_project_ref",
                                      help="Supabase project ref for migrate")
    supabase_api_url = SettingDef("HOUSEJOBS_SUPABASE_API_URL", "supabase_api_url", "https://api.supabase.com",
                                  help="Supabase Management API base URL")
    quota_table = SettingDef("HOUSEJOBS_QUOTA_TABLE", "quota_table", help="BigQuery quota table, project.dataset.table")
    quota_timestamp_column = SettingDef("HOUSEJOBS_QUOTA_TIMESTAMP_COLUMN", "quota_timestamp_column", "recorded_at",
                                        help="timestamp column of the quota table")
    state_dir = SettingDef("HOUSEJOBS_STATE_DIR", path=True,
                           help="where the sandbox keeps its database (default: $XDG_STATE_HOME/housejobs, else "
                                "~/.local/state/housejobs)")
    deadline = SettingDef("HOUSEJOBS_DEADLINE", default="60", number=Number(0),
                          help="seconds one logical API call may take, retries included (above 0)")
    timeout = SettingDef("HOUSEJOBS_TIMEOUT", default="10", number=Number(0),
                         help="seconds one HTTP attempt may take (above 0)")
    max_attempts = SettingDef("HOUSEJOBS_MAX_ATTEMPTS", default="6", number=Number(1, 100, whole=True),
                              help="attempts per logical call (1-100)")
    bigquery_timeout = SettingDef("HOUSEJOBS_BIGQUERY_TIMEOUT", default="3000", number=Number(0),
                                  help="seconds quota-cleanup waits for BigQuery, retries included (under the job's "
                                       "1 h timeout; above 0)")
    progress_every = SettingDef("HOUSEJOBS_PROGRESS_EVERY", default="1000", number=Number(1, 1_000_000, whole=True),
                                help="off a terminal, a progress log line every this many units (or 10 s) "
                                     "(1-1000000)")
    retry_after_cap = SettingDef("HOUSEJOBS_RETRY_AFTER_CAP", default="30", number=Number(0, inclusive=True),
                                 help="longest Retry-After honoured, in seconds; longer fails fast (0 or more)")
    # Outcome notifications (housejobs.notify). The URLs embed tokens: environment or Secret Manager only,
    # never environments.toml (a committed file) or argv; the *_secret keys name the Secret Manager secret.
    notify_url = SettingDef("HOUSEJOBS_NOTIFY_URL", secret=True,
                            help="webhook that receives job outcome events (else Secret Manager notify_url_secret)")
    notify_url_secret = SettingDef("HOUSEJOBS_NOTIFY_URL_SECRET", "notify_url_secret",
                                   help="Secret Manager secret holding the webhook URL (name without the env suffix)")
    notify_format = SettingDef("HOUSEJOBS_NOTIFY_FORMAT", "notify_format", "json",
                               help="webhook body: json (the event), slack or google-chat")
    notify_on = SettingDef("HOUSEJOBS_NOTIFY_ON", "notify_on",
                           help="outcomes that send an event: comma list, success, failure, all or none "
                                "(unset: failed,partial; in Cloud Run also refused,interrupted)")
    healthcheck_url = SettingDef("HOUSEJOBS_HEALTHCHECK_URL", secret=True,
                                 help="Healthchecks.io-style ping URL, {job} selects a check per job "
                                      "(else Secret Manager healthcheck_url_secret)")
    healthcheck_url_secret = SettingDef("HOUSEJOBS_HEALTHCHECK_URL_SECRET", "healthcheck_url_secret",
                                        help="Secret Manager secret holding the ping URL (name without the env "
                                             "suffix)")
    notify_timeout = SettingDef("HOUSEJOBS_NOTIFY_TIMEOUT", default="5", number=Number(0), on_use=True,
                                help="seconds one notification sink may add to a run, its one retry included "
                                     "(above 0; at most 60 is used)")
    max_retries = SettingDef("HOUSEJOBS_MAX_RETRIES", number=Number(0, 10, whole=True),
                             help="the Cloud Run job's maxRetries (provisioning sets it): failures notify on the "
                                  "last attempt only; unset: every attempt counts as the last (0-10)")
    sandbox_faults = SettingDef("HOUSEJOBS_SANDBOX_FAULTS", help="fault spec (JSON, as POST /_sandbox/faults) for "
                                "the embedded sandbox, to script a failure")
    run_api_endpoint = SettingDef("HOUSEJOBS_RUN_API_ENDPOINT", help="Cloud Run Admin API endpoint override")
    scheduler_api_endpoint = SettingDef("HOUSEJOBS_SCHEDULER_API_ENDPOINT",
                                        help="Cloud Scheduler API endpoint override")
    secretmanager_api_endpoint = SettingDef("HOUSEJOBS_SECRETMANAGER_API_ENDPOINT",
                                            help="Secret Manager API endpoint override")
    bigquery_api_endpoint = SettingDef("HOUSEJOBS_BIGQUERY_API_ENDPOINT", help="BigQuery API endpoint override")
    logging_api_endpoint = SettingDef("HOUSEJOBS_LOGGING_API_ENDPOINT", help="Cloud Logging API endpoint override")
    credentials = SettingDef("GOOGLE_APPLICATION_CREDENTIALS", path=True, help="service account key file (optional)")
    # Not in environments.toml: where secrets are mounted is the machine's or the container's, not the env's.
    secrets_dir = SettingDef("HOUSEJOBS_SECRETS_DIR", path=True,
                             help="folder of secret files named after their variable (CA_ROOT_API_KEY, ...), as "
                                  "Cloud Run mounts secret volumes; several separated by ':', the first that has "
                                  "a file wins")
    ca_root_api_key = SettingDef("CA_ROOT_API_KEY", secret=True,
                                 help="admin API key (else Secret Manager ca-root-api-key<suffix>)")
    scheduler_shared_secret = SettingDef("SCHEDULER_SHARED_SECRET", secret=True,
                                         help="bot runtime scheduler secret (else Secret Manager "
                                              "scheduler-shared-secret<suffix>)")
    supabase_access_token = SettingDef("SUPABASE_ACCESS_TOKEN", secret=True,
                                       help="Supabase Management API token (else Secret Manager "
                                            "supabase-access-token<suffix>)")


SETTINGS: tuple[SettingDef, ...] = tuple(d for d in vars(Setting).values() if isinstance(d, SettingDef))
BY_VAR = {d.env_var: d for d in SETTINGS}
KNOWN_ENV_KEYS = {d.toml_key for d in SETTINGS if d.toml_key}


def number_refused(d: SettingDef, raw: str, source: str) -> ConfigError:
    """The one line for a numeric setting that breaks its rule: named with its source, and with the value
    unless the setting is secret (a secret pasted here is masked by redaction wherever the line goes)."""
    rule = d.number or Number(0)
    shown = "" if d.secret else f", got {raw!r}"
    return ConfigError(f"{d.key} must be {rule.describe()}{shown} from {source}",
                       hint=f"set {d.env_var} to {rule.describe()}")


def register_secret_values(values: Mapping[str, str]) -> None:
    """Tell redaction every configured secret before anything could echo one: a key pasted into the
    wrong variable (HOUSEJOBS_ENV, a URL, a time zone, a path) must not reach an error line or a log."""
    for d in SETTINGS:
        if d.secret and values.get(d.env_var):
            register(values[d.env_var])


# --- the files ---------------------------------------------------------------------------------------------
def default_state_dir(environ: Mapping[str, str]) -> str:
    """Where local state lives when HOUSEJOBS_STATE_DIR is not set: the XDG state directory."""
    base = environ.get("XDG_STATE_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"),
                                                         ".local", "state")
    return os.path.join(base, "housejobs")


def defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """Every default, by variable: the table's, and the state folder's from this run's environment."""
    found = {d.env_var: d.default for d in SETTINGS if d.default is not None}
    return {**found, Setting.state_dir.env_var: default_state_dir(environ)}


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
    import tomllib  # here: --help and the sandbox never read TOML

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


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_QUOTED = re.compile(r"\s*(?:export\s+)?(?:'[^']+'|[^=\s#]+)\s*=\s*['\"]")  # KEY= then a quote


def read_dotenv(path: Path) -> dict[str, str]:
    """./.env as python-dotenv reads it (`dotenv_values(path, interpolate=False)`: its parser, once), and
    refused by line number where python-dotenv would only warn and skip: a line it cannot parse (a quote
    left open, text after a closing quote), a key with no `=`, a key that is not a variable name. The line
    is never shown: it may hold a secret."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc.__class__.__name__}") from None
    import io

    from dotenv.parser import parse_stream  # here: --help never reads .env

    values: dict[str, str] = {}
    for binding in parse_stream(io.StringIO(text)):
        key, value, (original, line) = binding.key, binding.value, binding.original
        if key is None and not binding.error:
            continue  # blank lines and comments
        if key is not None and value is not None and not binding.error and _NAME.match(key):
            values[key] = value
            continue
        # A binding starts where the one before it ended: count the blank lines before this one's text.
        line += original[:len(original) - len(original.lstrip())].count("\n")
        if binding.error and _QUOTED.match(original):
            raise ConfigError(f"{path.name} line {line} has a quote that is not closed, or text after it",
                              hint='quote the whole value, e.g. KEY="a # b"; a comment may follow the quote')
        raise ConfigError(f"{path.name} line {line} is not KEY=value")
    return values


T = TypeVar("T")


class SettingsFiles:
    """./.env, the jobs folder and its environments.toml as one run sees them: each read at most once, on
    first use (a file that cannot be read refuses again when asked again, without being read again)."""

    def __init__(self, environ: Mapping[str, str], cwd: Path) -> None:
        self.environ, self.cwd = environ, cwd
        self._read: dict[str, object] = {}

    def _once(self, name: str, read: Callable[[], T]) -> T:
        if name not in self._read:
            try:
                self._read[name] = read()
            except ConfigError as exc:
                self._read[name] = exc
        found = self._read[name]
        if isinstance(found, ConfigError):
            raise found
        return cast(T, found)

    @property
    def dotenv(self) -> Mapping[str, str]:
        return self._once("dotenv", lambda: read_dotenv(self.cwd / ".env"))

    @property
    def jobs_dir(self) -> tuple[Path, str]:
        """The jobs folder and how it was found (find_jobs_dir)."""
        return self._once("jobs_dir", lambda: find_jobs_dir(self.environ))

    @property
    def environments(self) -> dict[str, dict[str, str]]:
        """environments.toml, checked: every env's table (the settings read one; prod detection, prod's)."""
        return self._once("environments", lambda: load_environments(self.jobs_dir[0]))


def state_dir(files: SettingsFiles) -> Path:
    """HOUSEJOBS_STATE_DIR from the environment or ./.env, else the default: without resolving every setting
    (the standalone sandbox needs only this one)."""
    var = Setting.state_dir.env_var
    value = files.environ.get(var) or files.dotenv.get(var)
    return Path(value or default_state_dir(files.environ))


def check_env_name(name: str, source: str) -> str:
    if name not in ENV_NAMES:
        raise UsageError(f"unknown environment {name!r} from {source}", hint=choices_hint(name, ENV_NAMES))
    return name


def select_env(option: str | None, files: SettingsFiles) -> tuple[str | None, str]:
    """The environment a command runs in, and where that came from: --env, $HOUSEJOBS_ENV, ./.env. The one
    place this precedence is written: the setting `env` is given the result, from no other source."""
    if option is not None:
        return check_env_name(option, "--env"), "--env"
    var = Setting.env.env_var
    if var in files.environ:
        return check_env_name(files.environ[var], f"${var}"), f"${var}"
    if var in files.dotenv:
        return check_env_name(files.dotenv[var], f".env {var}"), ".env"
    return None, "unset"
