"""Settings: what a run is configured with, each value with where it came from.

    command line > the run's environment > ./.env > secrets_dir > environments.toml [env] > default

`resolve()` builds them: the pydantic-settings model (settings_model, imported here only when a command
resolves settings: --help, list-jobs and the sandbox never pay for pydantic) validates every value, and
`Settings` is the face every caller uses: `get` (the text as given), `source` (where from, for `config
show`), `require`, `secret`, `number` and `whole`. The table of settings is settings_table; the files they
are read from, settings_files; both are re-exported here, where callers have always found them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housejobs.errors import ConfigError
from housejobs.redact import Secret, register
from housejobs.settings_files import (
    PACKAGE_DIR,
    check_env_name,
    default_state_dir,
    expand_home,
    find_jobs_dir,
    load_environments,
    parse_dotenv,
    read_toml,
    select_env,
    state_dir,
)
from housejobs.settings_table import (
    BY_KEY,
    ENV_NAMES,
    KNOWN_ENV_KEYS,
    PATH_KEYS,
    SETTINGS,
    Number,
    SettingDef,
    Value,
    ascii_float,
    ascii_int,
    number_refused,
)

__all__ = [
    "BY_KEY", "ENV_NAMES", "KNOWN_ENV_KEYS", "PACKAGE_DIR", "PATH_KEYS", "SETTINGS", "Number", "SettingDef",
    "Settings", "Value", "ascii_float", "ascii_int", "check_env_name", "default_state_dir", "expand_home",
    "find_jobs_dir", "load_environments", "parse_dotenv", "read_toml", "register_secret_values", "resolve",
    "select_env", "state_dir",
]


@dataclass
class Settings:
    values: dict[str, Value] = field(default_factory=dict)
    jobs_dir: Path = PACKAGE_DIR
    jobs_dir_source: str = ""
    # The validated model (settings_model.HousejobsSettings): typed numbers, SecretStr secrets. None for
    # settings made by hand (a test's), whose numbers are checked on use by the same rule.
    model: Any = field(default=None, repr=False)
    # Lenient mode: what could not be used (a source it could not read, a refused value), one line each.
    skipped: tuple[str, ...] = ()

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
        held = getattr(self.model, key, None)  # a SecretStr; never printed, even by a repr
        value = held.get_secret_value() if held is not None else self.get(key)
        return Secret(value, self.source(key)) if value else None

    def number(self, key: str) -> float:
        """A numeric setting (each has a default), checked against its rule in SETTINGS. An empty value
        is refused like any other that is not a number."""
        return float(self._number(key, self.get(key) or ""))

    def whole(self, key: str) -> int | None:
        """A whole-number setting, or None when it is unset and has no default."""
        raw = self.get(key)
        return None if raw is None else int(self._number(key, raw))

    def _number(self, key: str, raw: str) -> float:
        typed = getattr(self.model, key, None)
        if isinstance(typed, int | float):  # validated when the model was built
            return typed
        d = BY_KEY[key]
        number = (d.number or Number(0)).parse(raw)  # every caller names a numeric setting
        if number is None:
            raise number_refused(d, raw, self.source(key))
        return number


def register_secret_values(values: Mapping[str, str]) -> None:
    """Tell redaction every configured secret before anything could echo one: a key pasted into the
    wrong variable (HOUSEJOBS_ENV, a URL, a time zone, a path) must not reach an error line or a log."""
    for d in SETTINGS:
        if d.secret and values.get(d.env_var):
            register(values[d.env_var])


def resolve(environ: Mapping[str, str], *, cwd: Path, env: str | None = None,
            overrides: Mapping[str, str | None] | None = None, strict: bool = True) -> Settings:
    """Settings for `env` (None: no environment selected), every value checked. `strict=False` is for
    notifying about a run refused before its context: a source that cannot be read (./.env, the jobs folder
    or its environments.toml, secrets_dir, the credentials file) or a refused value is skipped, and listed
    in `Settings.skipped`, instead of refusing."""
    from housejobs.settings_model import build  # pydantic loads here, in commands that read settings

    skipped: list[str] = []
    jobs_dir: Path | None
    try:
        jobs_dir, jobs_source = find_jobs_dir(environ)
    except ConfigError as exc:
        if strict:
            raise
        skipped.append(exc.message)
        jobs_dir, jobs_source = None, "not found"
    found, model, more = build(environ, cwd=cwd, env=env, overrides=overrides or {}, jobs_dir=jobs_dir,
                               strict=strict)
    skipped += more
    values = {d.key: found.get(d.key) or (Value(d.default, "default") if d.default is not None
                                          else Value(None, "unset")) for d in SETTINGS}
    if values["state_dir"].value is None:
        values["state_dir"] = Value(default_state_dir(environ), "default")
    creds = values["credentials"].value
    if creds and not Path(creds).is_file():
        problem = ConfigError(f"GOOGLE_APPLICATION_CREDENTIALS points at {creds}, which does not exist",
                              hint="fix the path or unset it to use application-default credentials")
        if strict:
            raise problem
        skipped.append(problem.message)
        values["credentials"] = Value(None, "unset")
    return Settings(values, jobs_dir or PACKAGE_DIR, jobs_source, model=model, skipped=tuple(skipped))
