"""The settings a run reads, as one typed model: `settings.api_url` (str | None), `settings.deadline` (a
float), `settings.max_attempts` (an int), secrets as `SecretStr`; and where each came from, for `config
show` and messages (`settings.given(Setting.x)`: its text and source). Sources, highest first, each file
read once a run (settings.SettingsFiles), the environment being chosen before them (settings.select_env):

    command line (init) > the run's environment > ./.env > secrets_dir > environments.toml [env] > default

Each source is wrapped (`_Tracked`): what it gave is recorded with its label (the highest source counts),
`~` expanded in path settings, every secret made known to redaction before anything is validated. Every
value is checked as the model is built, so a malformed number refuses the run whichever job runs (the jobs
of a deployment share their settings: a typo is found by the next run of any of them, not at night by the
one that reads it); but the notifier's timeout (`on_use`) is None when malformed, and the notifier warns.
What the model cannot know (a URL's shape, a time zone) is checked where it is used. Lenient mode
(`strict=False`, for notifying about a run refused before its context) skips and lists what cannot be used.
pydantic costs ~100 ms to import: --help, list-jobs and the sandbox never import this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, get_args

from pydantic import AliasGenerator, PrivateAttr, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from housejobs.errors import ConfigError
from housejobs.redact import Secret, register
from housejobs.settings import (
    BY_VAR,
    PACKAGE_DIR,
    SETTINGS,
    Setting,
    SettingDef,
    SettingsFiles,
    Value,
    defaults,
    expand_home,
    number_refused,
)

NUMBER_ERROR, MISSING_FILE = "housejobs_number", "housejobs_missing_file"
_BY_KEY = {d.key: d for d in SETTINGS}
_UNSET = Value(None, "unset")


@dataclass
class Reading:
    """One resolve: its inputs, what each source gave, and (lenient) what was skipped and why."""

    files: SettingsFiles
    env: str | None
    env_source: str
    jobs_found: bool  # False: lenient, and the jobs folder could not be found
    strict: bool
    found: dict[SettingDef, Value] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    dropped: set[SettingDef] = field(default_factory=set)  # lenient: refused values, left to their defaults

    def table(self) -> dict[str, str]:
        """The env's table of environments.toml (the run's one read of it), under the settings' variables."""
        if self.env is None or not self.jobs_found:
            return {}
        table = self.files.environments[self.env]
        return {d.env_var: table[d.toml_key] for d in SETTINGS if d.toml_key in table}


# settings_customise_sources is a classmethod, called inside the model's __init__: this is how it learns
# which run it reads for (a context variable, so threads resolving at once each see their own).
_READING: ContextVar[Reading] = ContextVar("housejobs_settings_reading")


class _Variables(EnvSettingsSource):
    """pydantic-settings' environment source over the variables given instead of os.environ: the run's
    environment (a test's own), ./.env, the env's table, the defaults."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str]) -> None:
        self._given = variables  # before super().__init__, which loads them
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._given)


class _SecretFiles(SecretsSettingsSource):
    """pydantic-settings' secrets_dir source on one folder, for the secret settings only, stripped (an
    editor's newline). A file that cannot be read, or a folder or a link out of the folder where the file
    should be, refuses by name, never by content (pydantic-settings would warn and go on without it)."""

    def __init__(self, settings_cls: type[BaseSettings], folder: Path) -> None:
        super().__init__(settings_cls, secrets_dir=folder, case_sensitive=True)
        self.folder = folder

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        d = _BY_KEY[field_name]
        if not d.secret:
            return None, d.env_var, False
        path = self.folder / d.env_var
        try:
            if (path.exists() or path.is_symlink()) and not (
                    path.is_file() and self.folder.resolve() in path.resolve().parents):
                raise ConfigError(f"{d.env_var} in secrets_dir {self.folder} is not a file in that folder",
                                  hint="each secret is a file named after its variable, in that folder")
            return super().get_field_value(field, field_name)
        except (OSError, RuntimeError, UnicodeDecodeError) as exc:  # RuntimeError: resolve() in a symlink loop
            raise ConfigError(f"cannot read {d.env_var} in secrets_dir {self.folder}: {exc.__class__.__name__}",
                              hint="check the secret volume's mount and permissions") from None

    def __call__(self) -> dict[str, Any]:
        if not self.folder.is_dir():
            raise ConfigError(f"secrets_dir {self.folder} is not a folder",
                              hint="mount the secret volume there, or fix or unset HOUSEJOBS_SECRETS_DIR")
        try:
            return super().__call__()
        except SettingsError as exc:  # it wraps what get_field_value raised
            if isinstance(exc.__cause__, ConfigError):
                raise exc.__cause__ from None
            raise


class _Tracked(PydanticBaseSettingsSource):
    """A source as the model reads it: what it gave is recorded with `label` (provenance), `~` expanded in
    path settings, and secrets registered with redaction. One that cannot be read refuses the run, or in
    lenient mode is skipped (and said so). Only the command line (init) gives the environment: the one
    `select_env` chose. The defaults (`fallback`) hold for values a lenient read refused."""

    def __init__(self, settings_cls: type[BaseSettings], reading: Reading,
                 load: Callable[[], PydanticBaseSettingsSource], label: str | Callable[[SettingDef], str], *,
                 gives_env: bool = False, fallback: bool = False) -> None:
        super().__init__(settings_cls)
        self.reading, self.load, self.label = reading, load, label
        self.gives_env, self.fallback = gives_env, fallback

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # read as a whole, by __call__

    def __call__(self) -> dict[str, Any]:
        reading = self.reading
        try:
            values = self.load()()
        except ConfigError as exc:
            if reading.strict:
                raise
            reading.skipped.append(exc.message)
            return {}
        out: dict[str, Any] = {}
        for alias, value in values.items():
            d = BY_VAR[alias]
            if (d in reading.dropped and not self.fallback) or (d is Setting.env and not self.gives_env):
                continue
            if d.secret and value:
                register(value)
            if d.path and value:
                value = expand_home(value, reading.files.environ)
            reading.found.setdefault(d, Value(value, self.label if isinstance(self.label, str) else self.label(d)))
            out[alias] = value
        return out


class _SecretFolders(PydanticBaseSettingsSource):
    """secrets_dir: HOUSEJOBS_SECRETS_DIR's folders (':' between, relative to the run's folder), the first
    with a setting's file wins; read when this source's turn comes, once those above gave the folders."""

    def __init__(self, settings_cls: type[BaseSettings], reading: Reading) -> None:
        super().__init__(settings_cls)
        self.reading = reading

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # read as a whole, by __call__

    def __call__(self) -> dict[str, Any]:
        chosen = self.reading.found.get(Setting.secrets_dir)
        out: dict[str, Any] = {}
        for part in (chosen.value or "").split(":") if chosen else ():
            if not part:
                continue
            folder = self.reading.files.cwd / part
            source = _Tracked(self.settings_cls, self.reading, partial(_SecretFiles, self.settings_cls, folder),
                              f"secrets_dir {folder}")
            for alias, value in source().items():
                out.setdefault(alias, value)
        return out


class Settings(BaseSettings):
    """One field per row of the table (settings.Setting), in its order, named by the row's variable; a field
    without a class default has one in the table. Inputs never appear in an error (a secret may be pasted
    in the wrong place)."""

    model_config = SettingsConfigDict(hide_input_in_errors=True, case_sensitive=True, extra="forbid", frozen=True,
                                      alias_generator=AliasGenerator(validation_alias=lambda key: _BY_KEY[key].env_var))

    env: str | None = None
    api_url: str | None = None
    bot_url: str | None = None
    project: str | None = None
    region: str | None = None
    secret_suffix: str
    image: str | None = None
    runtime_service_account: str | None = None
    scheduler_service_account: str | None = None
    household_time_zone: str
    supabase_project_ref: str | None = None
    supabase_api_url: str
    quota_table: str | None = None
    quota_timestamp_column: str
    state_dir: str
    deadline: float
    timeout: float
    max_attempts: int
    bigquery_timeout: float
    progress_every: int
    retry_after_cap: float
    notify_url: SecretStr | None = None
    notify_url_secret: str | None = None
    notify_format: str
    notify_on: str | None = None
    healthcheck_url: SecretStr | None = None
    healthcheck_url_secret: str | None = None
    notify_timeout: float | None  # None: given, but not a number in its range (the notifier warns)
    max_retries: int | None = None
    sandbox_faults: str | None = None
    run_api_endpoint: str | None = None
    scheduler_api_endpoint: str | None = None
    secretmanager_api_endpoint: str | None = None
    bigquery_api_endpoint: str | None = None
    logging_api_endpoint: str | None = None
    credentials: str | None = None
    secrets_dir: str | None = None
    ca_root_api_key: SecretStr | None = None
    scheduler_shared_secret: SecretStr | None = None
    supabase_access_token: SecretStr | None = None

    _given: dict[SettingDef, Value] = PrivateAttr(default_factory=dict)
    _jobs: tuple[Path, str] = PrivateAttr(default=(PACKAGE_DIR, "not found"))
    _skipped: tuple[str, ...] = PrivateAttr(default=())

    @field_validator(*(d.key for d in SETTINGS if d.number is not None), mode="before")
    @classmethod
    def _number(cls, value: object, info: ValidationInfo) -> object:
        """The project's number grammar (ASCII only) and the setting's range, before pydantic's own parsing."""
        d = _BY_KEY[info.field_name or ""]
        if value is None or d.number is None:  # unset (a class default is validated too)
            return value
        number = d.number.parse(value) if isinstance(value, str) else None
        if number is None and not d.on_use:
            raise PydanticCustomError(NUMBER_ERROR, "must be {rule}", {"rule": d.number.describe()})
        return number

    @field_validator("credentials", mode="before")
    @classmethod
    def _existing_file(cls, value: object) -> object:
        if isinstance(value, str) and value and not Path(value).is_file():
            raise PydanticCustomError(MISSING_FILE, "does not exist")
        return value

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # pydantic-settings' own env, dotenv and secrets sources read os.environ, ./.env again and a fixed
        # folder; these read the run's environment, its one read of ./.env and HOUSEJOBS_SECRETS_DIR.
        reading = _READING.get()

        def tracked(load: Callable[[], PydanticBaseSettingsSource], label: str | Callable[[SettingDef], str],
                    **how: bool) -> _Tracked:
            return _Tracked(settings_cls, reading, load, label, **how)

        files, env = reading.files, reading.env
        return (
            tracked(lambda: init_settings, lambda d: reading.env_source if d is Setting.env else "command line",
                    gives_env=True),
            tracked(lambda: _Variables(settings_cls, files.environ), lambda d: f"${d.env_var}"),
            tracked(lambda: _Variables(settings_cls, files.dotenv), ".env"),
            _SecretFolders(settings_cls, reading),
            tracked(lambda: _Variables(settings_cls, reading.table()), f"environments.toml [{env}]"),
            tracked(lambda: _Variables(settings_cls, defaults(files.environ)), "default", fallback=True),
        )

    # --- read by setting, not by attribute: keyed by the table's rows (Setting.x), never by a name ------
    def given(self, d: SettingDef) -> Value:
        """Setting `d` as given: its text (a number as typed, "+3") and where it came from, or unset."""
        return self._given.get(d, _UNSET)

    def require(self, d: SettingDef, why: str) -> str:
        value = getattr(self, d.key)
        if not value:
            raise ConfigError(f"{d.key} is not set, and {why} needs it",
                              hint=f"set {d.env_var}" + (f" or `{d.toml_key}` in environments.toml"
                                                         if d.toml_key else ""))
        return str(value)

    def secret(self, d: SettingDef) -> Secret | None:
        """A secret setting as a Secret that names its source, or None when it is not set."""
        held: SecretStr | None = getattr(self, d.key)
        value = held.get_secret_value() if held is not None else ""
        return Secret(value, self.given(d).source) if value else None

    @property
    def jobs_dir(self) -> Path:
        return self._jobs[0]

    @property
    def jobs_dir_source(self) -> str:
        return self._jobs[1]

    @property
    def skipped(self) -> tuple[str, ...]:
        """Lenient mode: what could not be used (a source it could not read, a refused value), one line each."""
        return self._skipped


def check_against_the_table(model: type[BaseSettings]) -> None:
    """One field per row of the table, in its order, of the row's kind: a misspelt, missing or mistyped field
    stops the import (and so every test), not a run at night."""
    kinds = {key: set(get_args(f.annotation) or (f.annotation,)) - {type(None)}
             for key, f in model.model_fields.items()}
    want = {d.key: {SecretStr if d.secret else int if d.number and d.number.whole else float if d.number else str}
            for d in SETTINGS}
    if kinds != want or list(kinds) != list(want):
        wrong = sorted(k for k in set(kinds) | set(want) if kinds.get(k) != want.get(k)) or ["the order"]
        raise ImportError(f"{model.__name__} does not match the table of settings: {', '.join(wrong)}")


check_against_the_table(Settings)


def resolve(files: SettingsFiles, env: str | None = None, env_source: str = "unset", *,
            overrides: Mapping[SettingDef, str | None] | None = None, strict: bool = True) -> Settings:
    """Settings for `env` (chosen by select_env, from `env_source`; None: no environment), every value checked.
    `strict=False` is for notifying about a run refused before its context: a source that cannot be read
    (./.env, the jobs folder or its environments.toml, secrets_dir) or a refused value (the credentials
    file included) is skipped, and listed in `Settings.skipped`, instead of refusing."""
    skipped: list[str] = []
    jobs: tuple[Path, str] | None = None
    try:
        jobs = files.jobs_dir
    except ConfigError as exc:
        if strict:
            raise
        skipped.append(exc.message)
    reading = Reading(files, env, env_source, jobs is not None, strict)
    given: dict[str, Any] = {d.env_var: value for d, value in (overrides or {}).items() if value is not None}
    if env is not None:
        given[Setting.env.env_var] = env
    refused: list[str] = []
    for _ in range(2):  # lenient: once more without the values the first pass refused (defaults hold)
        reading.found, reading.skipped = {}, []
        token = _READING.set(reading)
        try:
            model = Settings(**given)
        except ValidationError as exc:
            refusals = _refusals(exc, reading)
            if strict:
                raise refusals[0][1] from None
            refused += [error.message for _, error in refusals]
            reading.dropped |= {d for d, _ in refusals}
            continue
        finally:
            _READING.reset(token)
        model._given = reading.found
        model._jobs = jobs or (PACKAGE_DIR, "not found")
        model._skipped = (*skipped, *reading.skipped, *refused)
        return model
    raise ConfigError("the settings' defaults break their own rules")  # a bug in the table; a test would see it


def _refusals(exc: ValidationError, reading: Reading) -> list[tuple[SettingDef, ConfigError]]:
    """Each refused value as the project's one line, by setting, in the table's order (the first is shown)."""
    out: list[tuple[int, SettingDef, ConfigError]] = []
    for error in exc.errors(include_url=False, include_input=False):
        d = BY_VAR.get(str(error["loc"][0])) if error["loc"] else None
        if d is None:  # every field has a variable as its alias; nothing else is validated
            raise ConfigError(f"settings: {error['msg']}")
        given = reading.found.get(d) or Value(d.default, "default")
        if error["type"] == NUMBER_ERROR:
            refusal = number_refused(d, given.value or "", given.source)
        elif error["type"] == MISSING_FILE:
            refusal = ConfigError(f"{d.env_var} points at {given.value}, which does not exist",
                                  hint="fix the path or unset it to use application-default credentials")
        else:
            refusal = ConfigError(f"{d.key} from {given.source} is not valid: {error['msg']}",
                                  hint=f"check {d.env_var}")
        out.append((SETTINGS.index(d), d, refusal))
    return [(d, refusal) for _, d, refusal in sorted(out, key=lambda item: item[0])]
