"""What a run needs, built once and not changed by the job it serves: the runtime, the environment and
its settings, where each kind of call goes (housejobs.target), secrets, a factory for HTTP clients, the
clock, the logger, the stop signal, and the hooks the CLI lends (the prod prompt, progress displays).

A job reads its context and returns a JobResult that carries what it learnt (its target, its period);
nothing assigns to a context once it is built (assigning raises). What a run changes as it goes lives in
two small objects the context holds: `Stop` (housejobs.stopping: the runner requests it when a signal
arrives; jobs read it) and `Connections` (the clients, the embedded sandbox, the secrets read and the
server's capabilities, opened on first use and closed with the run). Where each kind of call goes is
`target.choose_targets`, a pure function of the settings, the environment and the options.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from housejobs.errors import ConfigError, NotConfirmed, SecretError, UsageError
from housejobs.redact import Secret
from housejobs.runtime import Runtime
from housejobs.settings import Setting, SettingDef, register_secret_values, select_env
from housejobs.stopping import Stop
from housejobs.target import Target, Targets, Use, choose_targets, is_loopback

if TYPE_CHECKING:
    import httpx

    from housejobs.api.capabilities import Asked
    from housejobs.api.client import ApiClient
    from housejobs.api.retry import RetryPolicy
    from housejobs.sandbox.app import SandboxServer
    from housejobs.settings_model import Settings

EVERY_SECONDS = 10.0  # off a terminal, a progress record at least this often
PROGRESS, STATUS = "progress", "execution_status"  # the two kinds of display, and their records' event


@dataclass(frozen=True)
class Options:
    """The options every job command shares, and what the command talks to."""

    env: str | None = None
    api_url: str | None = None
    dry_run: bool = False
    yes: bool = False
    json: bool = False
    deadline: float | None = None
    debug: bool = False
    bot_url: str | None = None
    # What the command calls, the first being what its summary names (housejobs.target); none: a report
    # that reads only the catalog (it resolves no settings at all).
    uses: tuple[Use, ...] = ("admin",)


class Progress(Protocol):
    """One update of a long piece of work: units done, a state word, and what else a record or a bar shows
    (`total` and `failed` are drawn on a terminal; every field goes into the log record off one)."""

    def __call__(self, *, done: int, state: str = "", **fields: Any) -> None: ...


Display = Callable[["Context", str, str], AbstractContextManager[Progress]]


@dataclass
class Hooks:
    """What the CLI lends a run. Without it (tests of a job, a run in a thread) there is no prompt, so prod
    is refused unless --yes, and progress goes to the log as records."""

    confirm: Callable[[Context, str], None] | None = None
    display: Display | None = None  # (ctx, label, event) -> a progress display; None: log records


@dataclass
class Connections:
    """What a run opens as it goes and closes when it ends: API clients (counted in the run summary), the
    embedded sandbox, the secrets read (once a run each) and the admin server's capabilities (asked once)."""

    clients: list[ApiClient] = field(default_factory=list)
    sandbox: SandboxServer | None = None
    secrets: dict[SettingDef, Secret] = field(default_factory=dict)
    admin_asked: Asked | None = None


class Context:
    def __init__(self, runtime: Runtime, options: Options, job: str, *, hooks: Hooks | None = None) -> None:
        import uuid

        self.runtime = runtime
        self.options = options
        self.job = job
        self.clock = runtime.clock
        self.hooks = hooks or Hooks()
        register_secret_values(runtime.environ)  # before the first value is checked (and maybe echoed)
        self.task = runtime.task  # a malformed CLOUD_RUN_* is refused here, before anything runs
        self.env = self._select_env()
        self.logger = runtime.logger(debug=options.debug).bind(job=job, env=self.env or "",
                                                           execution=runtime.execution or "")
        # This process's run: a replay whose Idempotency-Origin is this id is this run's own effect.
        self.run_id = f"run-{uuid.uuid4().hex}"
        self.connections = Connections()
        self.stop = Stop()  # requested by the runner on SIGINT/SIGTERM
        targets = Targets(first=Target("none", "", self.env or "catalog"))
        if options.uses:  # prod's table is the environments.toml its settings came from, read only if needed
            targets = choose_targets(options.uses, self.settings, self.env, api_url=options.api_url,
                                     bot_url=options.bot_url, prod=lambda: self.runtime.files.environments["prod"],
                                     in_cloud_run=self.runtime.in_cloud_run)
        self.targets = targets
        self._built = True

    def __setattr__(self, name: str, value: Any) -> None:
        if getattr(self, "_built", False):
            raise AttributeError(f"a Context is not changed once built (tried to set {name!r})")
        object.__setattr__(self, name, value)

    @property
    def api_target(self) -> Target:
        return self.targets.api

    @property
    def bot_target(self) -> Target | None:
        return self.targets.bot

    @property
    def target(self) -> Target:
        return self.targets.first

    @property
    def prod_reasons(self) -> tuple[str, ...]:
        return self.targets.prod_reasons

    @cached_property
    def settings(self) -> Settings:
        # Every value is checked as they resolve (max_retries too: found only when the run ends, a malformed
        # one would make every Cloud Run attempt the last, and each would announce its failure).
        from housejobs.settings_model import resolve  # pydantic loads here, in commands that read settings

        return resolve(self.runtime.files, self.env, self.env_source, overrides={Setting.api_url: self.options.api_url})

    # --- selection ------------------------------------------------------------------------------
    def _select_env(self) -> str | None:
        environ = self.runtime.environ
        if self.runtime.in_cloud_run and self.options.env is not None and environ.get("HOUSEJOBS_ENV") \
                and self.options.env != environ["HOUSEJOBS_ENV"]:
            # The execution was authorised (and provisioned: secrets, service account) for its own env.
            raise UsageError(f"--env {self.options.env} differs from this Cloud Run job's HOUSEJOBS_ENV="
                             f"{environ['HOUSEJOBS_ENV']}", hint="run the job of that environment instead")
        files = self.runtime.files
        env, self.env_source = select_env(self.options.env, files)
        if env is not None:
            return env
        variable = Setting.api_url.env_var
        explicit_url = self.options.api_url is not None or variable in environ or variable in files.dotenv
        if self.runtime.in_cloud_run and not explicit_url:
            raise ConfigError("running in Cloud Run without HOUSEJOBS_ENV",
                              hint="create-all-jobs sets it; set HOUSEJOBS_ENV to test, stage or prod")
        return None

    @property
    def touches_prod(self) -> bool:
        return self.env == "prod" or bool(self.prod_reasons)

    # --- what the CLI lends -----------------------------------------------------------------------
    def confirm(self, action: str) -> None:
        """The prod confirmation, asked once (a job that learns what it will do only as it runs, backfill
        --missed, asks here). Without the CLI's prompt, prod is refused unless --yes."""
        if self.hooks.confirm is not None:
            self.hooks.confirm(self, action)
        elif self.touches_prod and not self.options.yes and not self.runtime.in_cloud_run:
            raise NotConfirmed(f"prod not confirmed, nothing was done ({action})",
                               hint="pass --yes to confirm without a prompt")

    def display(self, label: str) -> AbstractContextManager[Progress]:
        """Progress of counted work (org-sync-all's orgs): the CLI's bar on a terminal, else a log record
        every HOUSEJOBS_PROGRESS_EVERY units or 10 s."""
        if self.hooks.display is not None:
            return self.hooks.display(self, label, PROGRESS)
        return log_progress(self, label, PROGRESS)

    def status(self, label: str) -> AbstractContextManager[Progress]:
        """The state of something followed (a Cloud Run execution): the CLI's status line on a terminal,
        else a log record per change."""
        if self.hooks.display is not None:
            return self.hooks.display(self, label, STATUS)
        return log_status(self, label)

    # --- secrets --------------------------------------------------------------------------------
    def secret(self, setting: SettingDef, secret_name: str | None = None) -> Secret:
        """The secret `setting` from the environment (or a secrets folder), else from Secret Manager:
        `<secret_name><suffix>`, by default the name the catalog gives it (`ca-root-api-key`); read once a
        run. (The notification URLs' secret names are settings of their own: notify passes them.)"""
        secrets = self.connections.secrets
        if setting not in secrets:
            secrets[setting] = self._read_secret(setting, secret_name)
        return secrets[setting]

    def _read_secret(self, setting: SettingDef, secret_name: str | None) -> Secret:
        from housejobs.catalog import SECRET_NAMES

        env_var = setting.env_var
        found = self.settings.secret(setting)
        if found is not None:
            return _header_value(found, env_var)
        if not self.env:
            hint = f"export {env_var}, or pick --env to read it from Secret Manager"
            if setting is Setting.ca_root_api_key and is_loopback(self.api_target.url):
                hint = (f"export {env_var}: a local `housejobs sandbox` uses sandbox-root-key unless "
                        f"{env_var} was set when it started")
            raise SecretError(f"{env_var} is not set", hint=hint)
        from housejobs.gcp.secrets import read_secret

        name = (secret_name or SECRET_NAMES[env_var]) + self.settings.secret_suffix
        reader = self.runtime.secret_reader or read_secret
        return _header_value(Secret(reader(self.settings, name), f"Secret Manager {name}"), name)

    # --- clients --------------------------------------------------------------------------------
    def retry_policy(self, *, default_deadline: float | None = None) -> RetryPolicy:
        """The run's retry policy: --deadline, else `default_deadline` (a check's own), else the setting."""
        from housejobs.api.retry import RetryPolicy

        deadline = self.options.deadline if self.options.deadline is not None else default_deadline
        s = self.settings
        if deadline is None:  # (given, it passed the setting's own rule as the option was parsed)
            deadline = s.deadline
        return RetryPolicy(max_attempts=s.max_attempts, deadline=deadline, timeout=s.timeout,
                           retry_after_cap=s.retry_after_cap)

    def client(self, url: str, *, headers: dict[str, str], auth_hint: str, embedded: bool = False,
               default_deadline: float | None = None, asked: Asked | None = None) -> ApiClient:
        """An API client of this run: its clock, logger, retry policy, transport and origin; counted in the
        run summary and closed with the run. Clients given one `asked` share the server's capabilities."""
        from housejobs.api.client import ApiClient

        policy = self.retry_policy(default_deadline=default_deadline)
        client = ApiClient(url, clock=self.clock, logger=self.logger, policy=policy, headers=headers,
                           transport=self.transport_for(url, embedded=embedded), origin=self.run_id,
                           auth_hint=auth_hint, asked=asked)
        self.connections.clients.append(client)
        return client

    def admin_client(self, *, default_deadline: float | None = None) -> ApiClient:
        from housejobs.api.capabilities import Asked

        held = self.connections
        if held.admin_asked is None:
            held.admin_asked = Asked()
        if self.api_target.kind == "sandbox":
            server = self.embedded_sandbox()
            url, key, embedded = server.url, Secret(server.app.api_key, "embedded sandbox"), True
        else:
            url = self.api_target.url or self.settings.require(Setting.api_url, f"--env {self.env}")
            key, embedded = self.secret(Setting.ca_root_api_key), False
        return self.client(url, headers={"X-CA-Root-Key": key.reveal()}, embedded=embedded,
                           auth_hint="check CA_ROOT_API_KEY for this environment", asked=held.admin_asked,
                           default_deadline=default_deadline)

    def transport_for(self, url: str, *, embedded: bool = False) -> httpx.AsyncBaseTransport:
        """The transport for a client of `url`: the test's own (Runtime.transport), else the one the run's
        environment decides (proxy, CA bundle: housejobs.api.network)."""
        if self.runtime.transport is not None:
            return self.runtime.transport
        from housejobs.api.network import transport_for

        return transport_for(url, self.runtime.environ, embedded=embedded)

    def embedded_sandbox(self) -> SandboxServer:
        if self.runtime.in_cloud_run:
            raise ConfigError("running in Cloud Run with no target for this job",
                              hint="create-all-jobs sets HOUSEJOBS_ENV; set it to test, stage or prod")
        held = self.connections
        if held.sandbox is None:
            import secrets

            from housejobs.sandbox.app import open_sandbox, state_db

            faults = _fault_specs(self.settings.sandbox_faults)
            db = state_db(Path(self.settings.require(Setting.state_dir, "the embedded sandbox")))  # has a default
            source = self.settings.given(Setting.state_dir).source
            where = "the default state folder" if source in ("unset", "default") else f"state folder from {source}"
            server = open_sandbox(db, where=where, api_key=secrets.token_urlsafe(24),
                                  scheduler_secret=secrets.token_urlsafe(24))
            for spec in faults:
                server.app.faults.configure(spec)
            held.sandbox = server.start()
            self.logger.info(f"embedded sandbox on {held.sandbox.url}, state in {db}", url=held.sandbox.url)
        return held.sandbox

    async def aclose(self) -> None:
        for client in self.connections.clients:
            await client.aclose()

    def close(self) -> None:
        held = self.connections
        if held.sandbox is not None:
            held.sandbox.stop()
            held.sandbox = None

    @property
    def attempts(self) -> int:
        return sum(c.total_attempts for c in self.connections.clients)

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self.connections.clients)




_HEADER_VALUE = re.compile(r"[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?")


def _header_value(secret: Secret, name: str) -> Secret:
    """These secrets travel in HTTP headers. Surrounding whitespace (a pasted newline; Secret Manager
    values are stripped too) is dropped; anything else a header cannot carry is refused by name, never
    shown: httpx would otherwise fail with the value in its message, or with an internal error."""
    value = secret.reveal()
    if value != value.strip():
        secret = Secret(value.strip(), secret.source)
    if not _HEADER_VALUE.fullmatch(secret.reveal()):
        raise SecretError(f"{name} has characters an HTTP header cannot carry (control or non-ASCII)",
                          hint=f"check the value of {name}")
    return secret


@contextmanager
def log_progress(ctx: Context, label: str, event: str) -> Iterator[Progress]:
    """Progress as log records: one when the state word changes, and otherwise one every
    HOUSEJOBS_PROGRESS_EVERY units or 10 s (Cloud Logging reads them; no bar off a terminal)."""
    every = ctx.settings.progress_every
    start = ctx.clock.monotonic()
    last: dict[str, Any] = {"done": 0, "at": start, "state": None}

    def update(*, done: int, state: str = "", **fields: Any) -> None:
        now = ctx.clock.monotonic()
        if state == last["state"] and done - last["done"] < every and now - last["at"] < EVERY_SECONDS:
            return
        last.update(done=done, at=now, state=state)
        ctx.logger.info(f"{label} {state}".strip(), event=event, done=done, **fields)

    yield update


@contextmanager
def log_status(ctx: Context, label: str) -> Iterator[Progress]:
    """State as log records: one per change of anything shown (a followed execution's state and counts).
    Also what a command following several things at once uses on a terminal, where one status line
    cannot show them all."""
    last: list[dict[str, Any]] = []

    def update(*, done: int, state: str = "", **fields: Any) -> None:
        seen = {"done": done, "state": state, **fields}
        if last and last[0] == seen:
            return
        last[:] = [seen]
        ctx.logger.info(f"{label} {state}".strip(), event=STATUS, state=state, **fields)

    yield update


def _fault_specs(raw: str | None) -> list[dict[str, Any]]:
    """HOUSEJOBS_SANDBOX_FAULTS, refused in one line when it is not a fault spec (sandbox/faults.py)."""
    from housejobs.sandbox.faults import parse_specs

    try:
        return parse_specs(raw)
    except ValueError as exc:
        raise ConfigError(f"HOUSEJOBS_SANDBOX_FAULTS is not a fault spec ({exc})",
                          hint='e.g. {"route": "*", "statuses": [500]} ("*": every admin route)') from None

