"""Everything a job needs, built once per run and injected: runtime, settings, target, clients, output.

`Runtime` is the process boundary (environment, streams, terminals, clock); tests build their own and
call the CLI in-process, so nothing here reads `os.environ` or `sys.stdin` directly.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from housejobs.clock import Clock, SystemClock
from housejobs.errors import ConfigError, NotConfirmed, SecretError, UsageError
from housejobs.logs import Logger
from housejobs.redact import Secret
from housejobs.settings import (
    Settings,
    default_state_dir,
    parse_dotenv,
    register_secret_values,
    resolve,
    select_env,
)

if TYPE_CHECKING:
    import asyncio

    import httpx

    from housejobs.api import ApiClient, RetryPolicy
    from housejobs.sandbox.app import SandboxServer


# How long a piped confirmation may take to arrive: `echo yes |` is there at once.
CONFIRM_PIPE_WAIT_S = 2.0


@dataclass
class Runtime:
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdin_tty: bool | None = None
    stdout_tty: bool | None = None
    stderr_tty: bool | None = None
    clock: Clock = field(default_factory=SystemClock)
    cwd: Path = field(default_factory=Path.cwd)
    # Tests may route the admin API client through an httpx transport of their own.
    transport: httpx.AsyncBaseTransport | None = None
    # Secret Manager reader, replaceable so tests can point it at a fake server by setting instead.
    secret_reader: Callable[[Settings, str], str] | None = None

    def __post_init__(self) -> None:
        if self.stdin_tty is None:
            self.stdin_tty = _isatty(self.stdin)
        if self.stdout_tty is None:
            self.stdout_tty = _isatty(self.stdout)
        if self.stderr_tty is None:
            self.stderr_tty = _isatty(self.stderr)

    @property
    def in_cloud_run(self) -> bool:
        return bool(self.environ.get("CLOUD_RUN_JOB") and self.environ.get("CLOUD_RUN_EXECUTION"))

    @property
    def execution(self) -> str | None:
        return self.environ.get("CLOUD_RUN_EXECUTION")


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class Options:
    """The options every job command shares."""

    env: str | None = None
    api_url: str | None = None
    dry_run: bool = False
    yes: bool = False
    json: bool = False
    deadline: float | None = None
    debug: bool = False


@dataclass
class Target:
    kind: str  # "sandbox" (embedded), "url" (--api-url), "env" (an environment's API)
    url: str
    label: str


class Context:
    def __init__(self, runtime: Runtime, options: Options, job: str) -> None:
        self.runtime = runtime
        self.options = options
        self.job = job
        self.clock = runtime.clock
        register_secret_values(runtime.environ)  # before the first value is checked (and maybe echoed)
        self.env = self._select_env()
        self.settings = resolve(runtime.environ, cwd=runtime.cwd, env=self.env,
                                overrides={"api_url": options.api_url})
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
        self.target = self.api_target

    # --- selection ------------------------------------------------------------------------------
    def _select_env(self) -> str | None:
        env, _ = select_env(self.options.env, self.runtime.environ, self.runtime.cwd)
        if env is not None:
            return env
        explicit_url = self.options.api_url or self.runtime.environ.get("HOUSEJOBS_API_URL") or \
            parse_dotenv(self.runtime.cwd / ".env").get("HOUSEJOBS_API_URL")
        if self.runtime.in_cloud_run and not explicit_url:
            raise ConfigError("running in Cloud Run without HOUSEJOBS_ENV",
                              hint="create-all-jobs sets it; set HOUSEJOBS_ENV to test, stage or prod")
        return None

    def _select_target(self) -> Target:
        if self.options.api_url:
            return Target("url", check_url(self.options.api_url, "--api-url"), self.options.api_url)
        if self.env:
            url = self.settings.get("api_url")
            if not url:
                # Jobs that never call the admin API (reminder, migrate, quota-cleanup) need no api_url;
                # admin_client() refuses when one that does finds it missing.
                return Target("env", "", f"{self.env}")
            return Target("env", check_url(url, self.settings.source("api_url")), f"{self.env} ({url})")
        url = self.settings.get("api_url")  # without an env: only $HOUSEJOBS_API_URL or .env can set it
        if url:
            return Target("url", check_url(url, self.settings.source("api_url")), url)
        return Target("sandbox", "", "embedded sandbox")

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
        from housejobs.secrets import read_secret

        name = secret_name + (self.settings.get("secret_suffix") or "")
        reader = self.runtime.secret_reader or read_secret
        return _header_value(Secret(reader(self.settings, name), f"Secret Manager {name}"), name)

    # --- confirmation ---------------------------------------------------------------------------
    def confirm_prod(self, action: str) -> None:
        if self.env != "prod" or self.options.yes or self.runtime.in_cloud_run:
            return
        prompt = f"This will {action} in prod. Type yes to continue: "
        if self.runtime.stdin_tty:
            self.runtime.stderr.write(prompt)
            self.runtime.stderr.flush()
        try:
            answer = self.runtime.stdin.readline() if self._stdin_ready() else ""
        except (OSError, ValueError):
            answer = ""
        if answer.strip().lower() != "yes":
            raise NotConfirmed(f"prod not confirmed: {action} was not run",
                               hint="type yes at the prompt, pipe `echo yes |`, or pass --yes")

    def _stdin_ready(self) -> bool:
        """A terminal waits for its person; a pipe must already hold the answer (`echo yes |`), never
        leave the run hanging on a writer that says nothing."""
        if self.runtime.stdin_tty:
            return True
        try:
            fd = self.runtime.stdin.fileno()
        except (AttributeError, OSError, ValueError):
            return True  # an in-memory stream: reading it cannot block
        import select

        ready, _, _ = select.select([fd], [], [], CONFIRM_PIPE_WAIT_S)
        return bool(ready)

    # --- clients --------------------------------------------------------------------------------
    def retry_policy(self) -> RetryPolicy:
        from housejobs.api import RetryPolicy

        deadline = self.options.deadline
        if deadline is None:
            deadline = self.settings.number("deadline")
        elif not 0 < deadline < float("inf"):  # nan and inf too: a deadline that never comes is none
            raise UsageError(f"--deadline must be above 0 and finite, got {deadline:g}")
        return RetryPolicy(max_attempts=int(self.settings.number("max_attempts", minimum=0)),
                           deadline=deadline, timeout=self.settings.number("timeout"),
                           retry_after_cap=self.settings.number("retry_after_cap", minimum=-1))

    def admin_client(self) -> ApiClient:
        from housejobs.api import ApiClient

        if self.api_target.kind == "sandbox":
            server = self.embedded_sandbox()
            url, key = server.url, Secret(server.app.api_key, "embedded sandbox")
        else:
            url = self.api_target.url or self.settings.require("api_url", f"--env {self.env}")
            key = self.secret("ca_root_api_key", "ca-root-api-key")
        client = ApiClient(url, clock=self.clock, logger=self.logger, policy=self.retry_policy(),
                           headers={"X-CA-Root-Key": key.reveal()}, transport=self.runtime.transport,
                           origin=self.run_id)
        self._clients.append(client)
        return client

    def track(self, client: ApiClient) -> None:
        """Count a client's calls in the run summary and close it with the run."""
        self._clients.append(client)

    def embedded_sandbox(self) -> SandboxServer:
        if self.runtime.in_cloud_run:
            raise ConfigError("running in Cloud Run with no target for this job",
                              hint="create-all-jobs sets HOUSEJOBS_ENV; set it to test, stage or prod")
        if self._sandbox is None:
            import secrets

            from housejobs.sandbox.app import make_server

            state = Path(self.settings.get("state_dir") or default_state_dir(self.runtime.environ))
            try:
                state.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError(f"cannot create state dir {state}: {exc.strerror}",
                                  hint="set HOUSEJOBS_STATE_DIR to a writable folder") from None
            faults = _fault_specs(self.settings.get("sandbox_faults"))
            server = make_server(state / "sandbox.db", api_key=secrets.token_urlsafe(24),
                                 scheduler_secret=secrets.token_urlsafe(24))
            for spec in faults:
                server.app.faults.configure(spec)
            self._sandbox = server.start()
            self.logger.info(f"embedded sandbox on {self._sandbox.url}, state in {state / 'sandbox.db'}",
                             url=self._sandbox.url)
        return self._sandbox

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
    except (ValueError, TypeError, KeyError) as exc:
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


def check_url(url: str, source: str) -> str:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        _ = parts.port  # a port outside 0-65535, or not a number, raises here rather than in connect()
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url!r} from {source} is not an http(s) URL")
    import httpx

    try:  # what the client will make of it: a host IDNA cannot encode, a control character
        httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise UsageError(f"{url!r} from {source} is not a valid http(s) URL") from None
    return url.rstrip("/")
