"""The settings model: one pydantic-settings `BaseSettings` whose fields are built from the table (SETTINGS),
its sources in precedence order, and which source gave each value (provenance, for `config show`).

Sources, highest first (`settings_customise_sources`):

    command line (init) > the run's environment > ./.env > secrets_dir > environments.toml [env] > default

Each source is wrapped (`_Tracked`): the wrapper reads it, records what it gave and under which label (the
first, highest, source to give a setting is the one that counts), expands `~` in path settings, and makes
every secret it meets known to redaction before anything is validated. Validation is eager: every field is
checked as the model is built, so a malformed number refuses the run before its first call whichever job
runs (fail closed: the jobs of a deployment share their settings, so a typo is found by the next run of
any of them, not by the one job that reads it, at night). The exception is a setting the table marks
`on_use` (the notifier's timeout): a notification setting warns where it is read and never changes a run's
outcome. What the model cannot know (a URL's shape, a time zone, a table name) is still checked where it
is used. In lenient mode (`strict=False`, for the notifications of a run refused before its context) a
source that cannot be read, or a value that is refused, is skipped and said so instead.

Imported by `settings.resolve()` only: pydantic costs ~100 ms to import, which --help, list-jobs and the
sandbox do not pay (tests/test_settings_sources.py checks).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr, ValidationError, create_model
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
from housejobs.redact import register
from housejobs.settings_files import expand_home, load_environments, parse_dotenv
from housejobs.settings_table import BY_KEY, BY_VAR, PATH_KEYS, SETTINGS, Number, SettingDef, Value, number_refused

NUMBER_ERROR = "housejobs_number"


@dataclass
class Reading:
    """One resolve: its inputs, what each source gave, and (lenient) what was skipped and why."""

    environ: Mapping[str, str]
    cwd: Path
    env: str | None
    jobs_dir: Path | None  # None: lenient, and the jobs folder could not be found
    strict: bool
    found: dict[str, Value] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    dropped: set[str] = field(default_factory=set)  # lenient: refused values, left to their defaults

    def table(self) -> dict[str, str]:
        """The env's table of environments.toml, under the settings' variable names."""
        if self.env is None or self.jobs_dir is None:
            return {}
        table = load_environments(self.jobs_dir)[self.env]
        return {d.env_var: table[d.toml_key] for d in SETTINGS if d.toml_key in table}


# settings_customise_sources is a classmethod, called inside the model's __init__: this is how it learns
# which run it reads for (a context variable, so threads resolving at once each see their own).
_READING: ContextVar[Reading] = ContextVar("housejobs_settings_reading")


class _Variables(EnvSettingsSource):
    """pydantic-settings' environment source over the variables given instead of os.environ: the run's own
    environment (an in-process test injects its own), ./.env's values, or the env's table by variable."""

    def __init__(self, settings_cls: type[BaseSettings], variables: Mapping[str, str]) -> None:
        self._given = variables  # before super().__init__, which loads them
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return dict(self._given)


class _SecretFiles(SecretsSettingsSource):
    """pydantic-settings' secrets_dir source on one folder, for the secret settings only (the folder may
    hold other mounts). It strips the value (a trailing newline is what an editor or `echo` leaves). A
    file that cannot be read, or a folder or a link out of the folder where the file should be, refuses by
    name, never by content (pydantic-settings would print a warning and go on without it)."""

    def __init__(self, settings_cls: type[BaseSettings], folder: Path) -> None:
        super().__init__(settings_cls, secrets_dir=folder, case_sensitive=True)
        self.folder = folder

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        d = BY_KEY[field_name]
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
    lenient mode is skipped (and said so)."""

    def __init__(self, settings_cls: type[BaseSettings], reading: Reading,
                 load: Callable[[], PydanticBaseSettingsSource], label: Callable[[SettingDef], str]) -> None:
        super().__init__(settings_cls)
        self.reading, self.load, self.label = reading, load, label

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
            if d.key in reading.dropped:
                continue
            if d.secret and value:
                register(value)
            if d.key in PATH_KEYS and value:
                value = expand_home(value, reading.environ)
            reading.found.setdefault(d.key, Value(value, self.label(d)))
            out[alias] = value
        return out


class _SecretFolders(PydanticBaseSettingsSource):
    """secrets_dir: HOUSEJOBS_SECRETS_DIR's folders (':' between several; relative to the run's folder), the
    first that has a setting's file wins. Which folders is known only once the sources above this one have
    given HOUSEJOBS_SECRETS_DIR, so they are read here, when this source's turn comes."""

    def __init__(self, settings_cls: type[BaseSettings], reading: Reading) -> None:
        super().__init__(settings_cls)
        self.reading = reading

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # read as a whole, by __call__

    def __call__(self) -> dict[str, Any]:
        chosen = self.reading.found.get("secrets_dir")
        out: dict[str, Any] = {}
        for part in (chosen.value or "").split(":") if chosen else ():
            if not part:
                continue
            folder = self.reading.cwd / part
            source = _Tracked(self.settings_cls, self.reading, partial(_SecretFiles, self.settings_cls, folder),
                              _named(f"secrets_dir {folder}"))
            for alias, value in source().items():
                out.setdefault(alias, value)
        return out


def _named(label: str) -> Callable[[SettingDef], str]:
    """A source's label, the same for every setting it gives."""
    return lambda d: label


def _number(rule: Number, value: object) -> object:
    """The project's number grammar (ASCII only) and the setting's range, before pydantic's own parsing."""
    if value is None:
        return None
    number = rule.parse(value) if isinstance(value, str) else None
    if number is None:
        raise PydanticCustomError(NUMBER_ERROR, "must be {rule}", {"rule": rule.describe()})
    return number


def _field(d: SettingDef) -> tuple[Any, Any]:  # (annotation, FieldInfo); Field() is typed as its default
    kind: Any
    if d.number is not None and not d.on_use:
        kind = Annotated[(int if d.number.whole else float) | None, BeforeValidator(partial(_number, d.number))]
    else:
        kind = SecretStr | None if d.secret else str | None
    return kind, Field(default=d.default, validation_alias=d.env_var, description=d.help)


class _Base(BaseSettings):
    # Inputs never appear in an error (a value may be a secret pasted in the wrong place); defaults are
    # checked too, so the table's own defaults keep their rules.
    model_config = SettingsConfigDict(hide_input_in_errors=True, case_sensitive=True, extra="forbid",
                                      validate_default=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # pydantic-settings' own env, dotenv and secrets sources read os.environ, python-dotenv and a fixed
        # folder; these read the run's environment, the project's .env reader and HOUSEJOBS_SECRETS_DIR.
        reading = _READING.get()

        def tracked(load: Callable[[], PydanticBaseSettingsSource], label: Callable[[SettingDef], str]) -> _Tracked:
            return _Tracked(settings_cls, reading, load, label)

        return (
            tracked(lambda: init_settings, _named("command line")),
            tracked(lambda: _Variables(settings_cls, reading.environ), lambda d: f"${d.env_var}"),
            tracked(lambda: _Variables(settings_cls, parse_dotenv(reading.cwd / ".env")), _named(".env")),
            _SecretFolders(settings_cls, reading),
            tracked(lambda: _Variables(settings_cls, reading.table()), _named(f"environments.toml [{reading.env}]")),
        )


HousejobsSettings: type[_Base] = create_model(  # type: ignore[call-overload]
    "HousejobsSettings", __base__=_Base, **{d.key: _field(d) for d in SETTINGS})


def build(environ: Mapping[str, str], *, cwd: Path, env: str | None, overrides: Mapping[str, str | None],
          jobs_dir: Path | None, strict: bool) -> tuple[dict[str, Value], _Base, list[str]]:
    """The validated model, what gave each setting, and (lenient) what was skipped, each as one line."""
    reading = Reading(environ, cwd, env, jobs_dir, strict)
    given = {BY_KEY[key].env_var: value for key, value in overrides.items() if value is not None}
    refused: list[str] = []
    for _ in range(2):  # lenient: once more without the values the first pass refused (defaults hold)
        reading.found, reading.skipped = {}, []
        token = _READING.set(reading)
        try:
            model = HousejobsSettings(**given)
        except ValidationError as exc:
            refusals = _refusals(exc, reading)
            if strict:
                raise refusals[0][1] from None
            refused += [error.message for _, error in refusals]
            reading.dropped |= {key for key, _ in refusals}
            continue
        finally:
            _READING.reset(token)
        return reading.found, model, reading.skipped + refused
    raise ConfigError("the settings' defaults break their own rules")  # a bug in SETTINGS; a test would see it


def _refusals(exc: ValidationError, reading: Reading) -> list[tuple[str, ConfigError]]:
    """Each refused value as the project's one line, by setting, in the table's order (the first is shown)."""
    out: list[tuple[int, str, ConfigError]] = []
    for error in exc.errors(include_url=False, include_input=False):
        d = BY_VAR.get(str(error["loc"][0])) if error["loc"] else None
        if d is None:  # every field has a variable as its alias; nothing else is validated
            raise ConfigError(f"settings: {error['msg']}")
        given = reading.found.get(d.key) or Value(d.default, "default")
        if error["type"] == NUMBER_ERROR:
            refusal = number_refused(d, given.value or "", given.source)
        else:
            refusal = ConfigError(f"{d.key} from {given.source} is not valid: {error['msg']}",
                                  hint=f"check {d.env_var}")
        out.append((SETTINGS.index(d), d.key, refusal))
    return [(key, refusal) for _, key, refusal in sorted(out, key=lambda item: item[0])]
