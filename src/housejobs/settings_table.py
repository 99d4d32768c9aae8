"""The table of settings: every setting's variable, environments.toml key, default, secret flag, help and
number rule, in one place. The settings model (settings_model) is built from it, `config show` lists it, and
README's "Settings" section mirrors it (a test checks). Light on purpose: --help imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from housejobs.errors import ConfigError

ENV_NAMES = ("test", "stage", "prod")
# One deployment check's bound, retries included (not a setting: --deadline overrides it): doctor's checks,
# and the same checks smoke starts with. A job's own calls get the `deadline` setting (60 s).
CHECK_DEADLINE_S = 10.0

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

    def parse(self, text: str) -> int | float | None:
        """`text` as this rule's number (ASCII only, within range), else None."""
        number = ascii_int(text) if self.whole else ascii_float(text)
        return number if number is not None and self.accepts(number) else None


@dataclass(frozen=True)
class SettingDef:
    key: str
    env_var: str
    toml_key: str | None = None
    default: str | None = None
    secret: bool = False
    help: str = ""
    number: Number | None = None
    # Checked where it is read, not when settings resolve: a notification setting warns and never changes a
    # run's outcome (every other value is checked up front, and a bad one refuses the run).
    on_use: bool = False


@dataclass(frozen=True)
class Value:
    """A setting as resolved: its text as given (after ~ expansion for a path) and where it came from."""

    value: str | None = field(repr=False)  # may be a secret: a repr of this record must not show it
    source: str


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
    SettingDef("notify_timeout", "HOUSEJOBS_NOTIFY_TIMEOUT", default="5", number=Number(0), on_use=True,
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
    SettingDef("logging_api_endpoint", "HOUSEJOBS_LOGGING_API_ENDPOINT", help="Cloud Logging API endpoint override"),
    SettingDef("credentials", "GOOGLE_APPLICATION_CREDENTIALS", help="service account key file (optional)"),
    # Not in environments.toml: where secrets are mounted is the machine's or the container's, not the env's.
    SettingDef("secrets_dir", "HOUSEJOBS_SECRETS_DIR",
               help="folder of secret files named after their variable (CA_ROOT_API_KEY, ...), as Cloud Run "
                    "mounts secret volumes; several separated by ':', the first that has a file wins"),
    SettingDef("ca_root_api_key", "CA_ROOT_API_KEY", secret=True,
               help="admin API key (else Secret Manager ca-root-api-key<suffix>)"),
    SettingDef("scheduler_shared_secret", "SCHEDULER_SHARED_SECRET", secret=True,
               help="bot runtime scheduler secret (else Secret Manager scheduler-shared-secret<suffix>)"),
    SettingDef("supabase_access_token", "SUPABASE_ACCESS_TOKEN", secret=True,
               help="Supabase Management API token (else Secret Manager supabase-access-token<suffix>)"),
)
BY_KEY = {d.key: d for d in SETTINGS}
BY_VAR = {d.env_var: d for d in SETTINGS}
# Settings that name a file or folder: a leading ~ is the home folder, whatever the value came from. A
# quoted value in .env (or the environment) reaches here unexpanded; a folder literally named ~ is
# never what was meant.
PATH_KEYS = ("state_dir", "credentials", "secrets_dir")
KNOWN_ENV_KEYS = {d.toml_key for d in SETTINGS if d.toml_key}


def number_refused(d: SettingDef, raw: str, source: str) -> ConfigError:
    """The one line for a numeric setting that breaks its rule: named with its source, and with the value
    unless the setting is secret (a secret pasted here is masked by redaction wherever the line goes)."""
    rule = d.number or Number(0)
    shown = "" if d.secret else f", got {raw!r}"
    return ConfigError(f"{d.key} must be {rule.describe()}{shown} from {source}",
                       hint=f"set {d.env_var} to {rule.describe()}")


