"""Which sinks a run has: where their URLs come from (a setting, or a Secret Manager secret a setting names),
whether what was found is usable, and the settings a run that has no context reads them from."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from housejobs.errors import HousejobsError
from housejobs.redact import Secret
from housejobs.settings import Setting, SettingDef, select_env

if TYPE_CHECKING:
    from housejobs.context import Options
    from housejobs.runtime import Runtime
    from housejobs.settings_model import Settings


@dataclass
class Sources:
    """Where the sinks' URLs come from, before any is read."""

    webhook_env: Secret | None
    webhook_secret: str | None
    checkin_env: Secret | None
    checkin_secret: str | None

    @classmethod
    def of(cls, settings: Settings, *, with_secret_manager: bool) -> Sources:
        def secret_name(name: str | None) -> str | None:
            return (name or None) if with_secret_manager else None

        return cls(webhook_env=settings.secret(Setting.notify_url),
                   webhook_secret=secret_name(settings.notify_url_secret),
                   checkin_env=settings.secret(Setting.healthcheck_url),
                   checkin_secret=secret_name(settings.healthcheck_url_secret))

    @property
    def webhook(self) -> bool:
        return self.webhook_env is not None or bool(self.webhook_secret)

    @property
    def checkin(self) -> bool:
        return self.checkin_env is not None or bool(self.checkin_secret)


def valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def read_url(setting: SettingDef, from_env: Secret | None, secret_name: str | None, what: str, *,
             secret: Callable[[SettingDef, str], Secret] | None, warn: Callable[[str], None]) -> Secret | None:
    """The sink's URL from its setting, else from the named secret; None (and a warning) when unusable.
    `secret` reads Secret Manager, which may take a while: call this off the main thread."""
    url = from_env
    if url is None and secret_name:
        if secret is None:
            warn(f"{setting.key}_secret is set, but with no environment selected there is no Secret "
                 f"Manager to read it from: no {what} this run")
            return None
        try:
            url = secret(setting, secret_name)
        except HousejobsError as exc:
            warn(f"{what} disabled: {exc.line()}")
            return None
    if url is None:
        return None
    if not valid_url(url.reveal()):
        warn(f"{setting.key} is not an http(s) URL: no {what} this run")
        return None
    return url


def settings_without_context(runtime: Runtime, options: Options) -> tuple[str | None, Settings]:
    """The run's environment and settings, resolved the one way the context resolves them, but leniently:
    whatever stopped the run (.env, the env's table, the credentials path, a refused value) is skipped and
    listed in `Settings.skipped`, so a sink set where it can still be read hears of the refusal."""
    from housejobs.settings_model import resolve  # pydantic: only when a run was refused before its context

    try:
        env, source = select_env(options.env, runtime.files)
    except HousejobsError:
        env, source = None, "unset"  # an invalid name may be why the run stopped
    return env, resolve(runtime.files, env, source, strict=False)
