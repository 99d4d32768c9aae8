"""Everything a job needs, built once per run and injected: runtime, settings, target, clients, output.

`Runtime` is the process boundary (environment, streams, terminals, clock); tests build their own and
call the CLI in-process, so nothing here reads `os.environ` or `sys.stdin` directly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from housejobs.errors import ConfigError, NotConfirmed, SecretError, UsageError
from housejobs.logs import Logger
from housejobs.redact import Secret
from housejobs.runtime import Runtime
from housejobs.settings import (
    default_state_dir,
    parse_dotenv,
    register_secret_values,
    resolve,
    select_env,
)
from housejobs.target import Target, Use

if TYPE_CHECKING:
    import asyncio

    import httpx

    from housejobs.api.client import ApiClient
    from housejobs.api.retry import RetryPolicy
    from housejobs.sandbox.app import SandboxServer


@dataclass
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
    # What the command calls, the first being what its summary names (housejobs.target).
    uses: tuple[Use, ...] = ("admin",)


class Context:
    def __init__(self, runtime: Runtime, options: Options, job: str) -> None:
        self.runtime = runtime
        self.options = options
        self.job = job
        self.clock = runtime.clock
        register_secret_values(runtime.environ)  # before the first value is checked (and maybe echoed)
        self.task = runtime.task  # a malformed CLOUD_RUN_* is refused here, before anything runs
        self.env = self._select_env()
        self.settings = resolve(runtime.environ, cwd=runtime.cwd, env=self.env,
                                overrides={"api_url": options.api_url})
        # Checked now, not when the run ends: a malformed value would make every Cloud Run attempt the
        # last one, and each would announce its failure.
        self.settings.whole("max_retries")
        self.logger = Logger(stream=runtime.stderr, json_lines=not runtime.stderr_tty, debug=options.debug,
                             clock=runtime.clock.now)
        self.logger.bind(job=job, env=self.env or "", execution=runtime.execution or "")
        self._sandbox: SandboxServer | None = None
        self._clients: list[ApiClient] = []
        self._secrets: dict[str, Secret] = {}
        import uuid

        # This process's run: a replay whose Idempotency-Origin is this id is this run's own effect.
        self.run_id = f"run-{uuid.uuid4().hex}"
        # Set by the runner on SIGINT/SIGTERM: jobs take no new unit of work once it is set.
        import asyncio  # here, not at the top: --help should not pay for asyncio

        self.stop_event: asyncio.Event = asyncio.Event()
        self.stop_signal: int | None = None
        # The business period, once the job knows it: a failure's notification names it too.
        self.period: str | None = None
        # Where admin API calls go: fixed for the run. `target` is only what the summary names, and a
        # job may repoint it (migrate: the Supabase project) without moving where the admin key goes.
        self.api_target = self._select_target()
        self.bot_target = self._select_bot() if "bot" in options.uses else None
        self.target = self._primary_target()
        self.prod_reasons = self._prod_reasons()
        # The prod confirmation, for a job that learns what it will do only once it runs (backfill --missed
        # reads its periods from history). The CLI puts its prompt here; without one, prod is refused.
        self.confirm: Callable[[str], None] = self._refuse_unconfirmed
        if runtime.in_cloud_run and self.prod_reasons and self.env != "prod":
            raise ConfigError(f"this Cloud Run job runs in {self.env}, but {self.prod_reasons[0]}",
                              hint="a job's args and settings must not point it at another environment")

    # --- selection ------------------------------------------------------------------------------
    def _select_env(self) -> str | None:
        environ = self.runtime.environ
        if self.runtime.in_cloud_run and self.options.env is not None and environ.get("HOUSEJOBS_ENV") \
                and self.options.env != environ["HOUSEJOBS_ENV"]:
            # The execution was authorised (and provisioned: secrets, service account) for its own env.
            raise UsageError(f"--env {self.options.env} differs from this Cloud Run job's HOUSEJOBS_ENV="
                             f"{environ['HOUSEJOBS_ENV']}", hint="run the job of that environment instead")
        env, _ = select_env(self.options.env, environ, self.runtime.cwd)
        if env is not None:
            return env
        explicit_url = self.options.api_url is not None or "HOUSEJOBS_API_URL" in environ or \
            "HOUSEJOBS_API_URL" in parse_dotenv(self.runtime.cwd / ".env")
        if self.runtime.in_cloud_run and not explicit_url:
            raise ConfigError("running in Cloud Run without HOUSEJOBS_ENV",
                              hint="create-all-jobs sets it; set HOUSEJOBS_ENV to test, stage or prod")
        return None

    def _given_url(self, key: str, flag: str, given: str | None) -> tuple[str, str] | None:
        """A URL given by flag or setting, and where from; an empty one that was given is refused (an
        unset `$URL` in a cron line must not quietly mean the sandbox)."""
        if given is not None:
            if not given.strip():
                raise UsageError(f"{flag} is empty", hint=f"give a URL, or leave {flag} out")
            return given, flag
        value, source = self.settings.get(key), self.settings.source(key)
        if value is not None and not value.strip() and source not in ("unset", "default"):
            raise ConfigError(f"{key} from {source} is empty", hint="set it to a URL, or unset it")
        return (value, source) if value else None

    def _select_target(self) -> Target:
        if "admin" not in self.options.uses and self.options.api_url is None:
            return Target("env", "", self.env or "embedded sandbox")  # a command that never calls it
        given = self._given_url("api_url", "--api-url", self.options.api_url)
        if given is not None and given[1] == "--api-url":
            return Target("url", check_url(given[0], "--api-url"), given[0])
        if self.env:
            url = given[0] if given else None
            if not url:
                # Jobs that never call the admin API (reminder, migrate, quota-cleanup) need no api_url;
                # admin_client() refuses when one that does finds it missing.
                return Target("env", "", f"{self.env}")
            return Target("env", check_url(url, self.settings.source("api_url")), f"{self.env} ({url})")
        if given:  # without an env: only $HOUSEJOBS_API_URL or .env can set it
            return Target("url", check_url(given[0], given[1]), given[0])
        return Target("sandbox", "", "embedded sandbox")

    def _select_bot(self) -> Target:
        """Where the reminder goes: --bot-url, the env's bot_url, $HOUSEJOBS_BOT_URL/.env, or the sandbox."""
        given = self._given_url("bot_url", "--bot-url", self.options.bot_url)
        if given is not None and given[1] == "--bot-url":
            return Target("url", check_url(given[0], "--bot-url"), given[0])
        if self.env:
            url = self.settings.require("bot_url", f"the reminder in --env {self.env}")
            url = check_url(url, self.settings.source("bot_url"))
            return Target("env", url, f"{self.env} bot ({url})")
        if given:
            return Target("url", check_url(given[0], given[1]), given[0])
        return Target("sandbox", "", "embedded sandbox")

    def _primary_target(self) -> Target:
        """What the run summary names: the command's own target, known before any call or prompt."""
        use = self.options.uses[0]
        s = self.settings
        if use == "bot" and self.bot_target is not None:
            return self.bot_target
        if use == "supabase":
            ref = s.get("supabase_project_ref") or "(no project ref)"
            return Target("supabase", s.get("supabase_api_url") or "", f"Supabase project {ref} ({self.env})")
        if use == "bigquery":
            return Target("bigquery", "", f"BigQuery {s.get('quota_table') or '(no quota_table)'}")
        if use == "cloud-run":
            where = f"{s.get('project') or '(no project)'}/{s.get('region') or '(no region)'}"
            return Target("cloud-run", "", f"Cloud Run {where} ({self.env})")
        return self.api_target

    def _prod_reasons(self) -> list[str]:
        """Why this run touches prod although it was not asked to run in prod (empty: it does not)."""
        from housejobs.settings import load_environments
        from housejobs.target import prod_reasons

        if self.env == "prod":
            return []
        s = self.settings
        ids: dict[Use, str] = {}
        for use in self.options.uses:
            if use == "admin" and self.api_target.kind != "sandbox":
                ids["admin"] = self.api_target.url
            elif use == "bot" and self.bot_target is not None and self.bot_target.kind != "sandbox":
                ids["bot"] = self.bot_target.url
            elif use == "supabase":
                ids["supabase"] = s.get("supabase_project_ref") or ""
            elif use == "bigquery":
                ids["bigquery"] = s.get("quota_table") or ""
            elif use == "cloud-run":
                ids["cloud-run"] = s.get("project") or ""
        if not any(ids.values()):
            return []
        return prod_reasons(ids, load_environments(s.jobs_dir)["prod"])

    def _refuse_unconfirmed(self, action: str) -> None:
        if self.touches_prod and not self.options.yes and not self.runtime.in_cloud_run:
            raise NotConfirmed(f"prod not confirmed, nothing was done ({action})",
                               hint="pass --yes to confirm without a prompt")

    @property
    def touches_prod(self) -> bool:
        return self.env == "prod" or bool(self.prod_reasons)

    # --- secrets --------------------------------------------------------------------------------
    def secret(self, key: str, secret_name: str) -> Secret:
        """A secret from the environment, else Secret Manager `<secret_name><suffix>`; read once a run."""
        if key not in self._secrets:
            self._secrets[key] = self._read_secret(key, secret_name)
        return self._secrets[key]

    def _read_secret(self, key: str, secret_name: str) -> Secret:
        found = self.settings.secret(key)
        if found is not None:
            return _header_value(found, key.upper())
        if not self.env:
            env_var = key.upper()
            hint = f"export {env_var}, or pick --env to read it from Secret Manager"
            if key == "ca_root_api_key" and _is_loopback(self.api_target.url):
                hint = (f"export {env_var}: a local `housejobs sandbox` uses sandbox-root-key unless "
                        f"{env_var} was set when it started")
            raise SecretError(f"{env_var} is not set", hint=hint)
        from housejobs.gcp.secrets import read_secret

        name = secret_name + (self.settings.get("secret_suffix") or "")
        reader = self.runtime.secret_reader or read_secret
        return _header_value(Secret(reader(self.settings, name), f"Secret Manager {name}"), name)

    # --- clients --------------------------------------------------------------------------------
    def retry_policy(self) -> RetryPolicy:
        from housejobs.api.retry import RetryPolicy

        deadline = self.options.deadline
        if deadline is None:
            deadline = self.settings.number("deadline")
        elif not 0 < deadline < float("inf"):  # nan and inf too: a deadline that never comes is none
            raise UsageError(f"--deadline must be above 0 and finite, got {deadline:g}")
        return RetryPolicy(max_attempts=self.settings.whole("max_attempts") or 1,  # has a default: never None
                           deadline=deadline, timeout=self.settings.number("timeout"),
                           retry_after_cap=self.settings.number("retry_after_cap"))

    def admin_client(self) -> ApiClient:
        from housejobs.api.client import ApiClient

        embedded = self.api_target.kind == "sandbox"
        if embedded:
            server = self.embedded_sandbox()
            url, key = server.url, Secret(server.app.api_key, "embedded sandbox")
        else:
            url = self.api_target.url or self.settings.require("api_url", f"--env {self.env}")
            key = self.secret("ca_root_api_key", "ca-root-api-key")
        client = ApiClient(url, clock=self.clock, logger=self.logger, policy=self.retry_policy(),
                           headers={"X-CA-Root-Key": key.reveal()},
                           transport=self.transport_for(url, embedded=embedded), origin=self.run_id)
        self._clients.append(client)
        return client

    def transport_for(self, url: str, *, embedded: bool = False) -> httpx.AsyncBaseTransport:
        """The transport for a client of `url`: the test's own (Runtime.transport), else the one the run's
        environment decides (proxy, CA bundle: housejobs.api.network)."""
        if self.runtime.transport is not None:
            return self.runtime.transport
        from housejobs.api.network import transport_for

        return transport_for(url, self.runtime.environ, embedded=embedded)

    def track(self, client: ApiClient) -> None:
        """Count a client's calls in the run summary and close it with the run."""
        self._clients.append(client)

    def embedded_sandbox(self) -> SandboxServer:
        if self.runtime.in_cloud_run:
            raise ConfigError("running in Cloud Run with no target for this job",
                              hint="create-all-jobs sets HOUSEJOBS_ENV; set it to test, stage or prod")
        if self._sandbox is None:
            state = Path(self.settings.get("state_dir") or default_state_dir(self.runtime.environ))
            try:
                state.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create state dir {state}: {exc.strerror}",
                                  hint="set HOUSEJOBS_STATE_DIR to a writable folder") from None
            faults = _fault_specs(self.settings.get("sandbox_faults"))
            server = self._open_sandbox(state)
            for spec in faults:
                server.app.faults.configure(spec)
            self._sandbox = server.start()
            self.logger.info(f"embedded sandbox on {self._sandbox.url}, state in {state / 'sandbox.db'}",
                             url=self._sandbox.url)
        return self._sandbox

    def _open_sandbox(self, state: Path) -> SandboxServer:
        import secrets
        import sqlite3

        from housejobs.sandbox.app import make_server

        db = state / "sandbox.db"
        try:
            return make_server(db, api_key=secrets.token_urlsafe(24), scheduler_secret=secrets.token_urlsafe(24))
        except sqlite3.Error as exc:
            # Local state the user can fix: a folder SQLite cannot make a database in (/proc/self), or a
            # file there that is not a database. Refused by name, never an internal error.
            source = self.settings.source("state_dir")
            folder = "the default state folder" if source in ("unset", "default") else f"state folder from {source}"
            if isinstance(exc, sqlite3.OperationalError):
                raise ConfigError(f"the embedded sandbox cannot open {db}: {exc} ({folder})",
                                  hint="set HOUSEJOBS_STATE_DIR to a writable folder") from None
            raise ConfigError(f"the embedded sandbox cannot use {db}: {exc} ({folder})",
                              hint="move the file away (a new one is made) or set HOUSEJOBS_STATE_DIR to "
                                   "another folder") from None

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.stop()
            self._sandbox = None

    @property
    def attempts(self) -> int:
        return sum(c.total_attempts for c in self._clients)

    @property
    def calls(self) -> int:
        return sum(c.calls for c in self._clients)



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


def _fault_specs(raw: str | None) -> list[dict[str, Any]]:
    """HOUSEJOBS_SANDBOX_FAULTS: one fault spec or a list of them, as `POST /_sandbox/faults` takes them,
    so a failure can be scripted for the embedded sandbox, which lives only as long as one command."""
    if not raw:
        return []
    import json

    from housejobs.sandbox.faults import Faults

    try:
        parsed = json.loads(raw)
        specs = parsed if isinstance(parsed, list) else [parsed]
        if not all(isinstance(spec, dict) for spec in specs):
            raise TypeError("not an object")
        for spec in specs:
            Faults().configure(spec)  # a scratch instance: a bad value fails here, before any server
    except (ValueError, TypeError, KeyError, OverflowError, RecursionError) as exc:
        # OverflowError: a count of 1e400 (JSON's infinity); RecursionError: JSON nested too deeply.
        raise ConfigError(f"HOUSEJOBS_SANDBOX_FAULTS is not a fault spec ({exc.__class__.__name__})",
                          hint='e.g. {"route": "/admin/quota/reset-daily", "statuses": [500]}') from None
    return specs


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlsplit

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
    from urllib.parse import unquote, urlsplit

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
