"""Job outcome events, and the two sinks that hear about runs: a chat webhook and a cron monitor.

When a run ends, one event (`build_event`) goes to the webhook if `notify_on` names its outcome, in one of
three formats (json: the event as is; slack; google-chat). A cron monitor speaking the Healthchecks.io
ping protocol gets `/start` before the job and the plain URL (success), `/fail` or `/log` after it, on
every run: a monitor is what notices the runs that never start or die without a word (OOM, SIGKILL).

Never in the way. Each sink has a bounded time (HOUSEJOBS_NOTIFY_TIMEOUT, its one retry included), works
in its own thread, and at worst ends in one WARNING line; nothing here changes a job's outcome or exit
code, and nothing here raises. The URLs embed tokens: they are `Secret`s, and only `mask_url` shows them.

Cloud Run retries a failed task up to the job's maxRetries, so only the last attempt announces a failure
(HOUSEJOBS_MAX_RETRIES tells the container which one that is); the event key
`jobs-event:<job>:<execution or run id>:<task>` is the same on every attempt, so a sink that honours
Idempotency-Key keeps one event per task whatever happens.

Only the standard library loads here; httpx loads when something is actually sent.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

from housejobs import __version__
from housejobs.errors import HousejobsError, one_line
from housejobs.redact import Secret, mask_url, redact
from housejobs.results import JobResult, Outcome

if TYPE_CHECKING:
    from housejobs.context import Context, Options
    from housejobs.logs import Logger
    from housejobs.runtime import Runtime
    from housejobs.settings import Settings

FORMATS = ("json", "slack", "google-chat")
FAILING = frozenset({Outcome.FAILED, Outcome.PARTIAL, Outcome.REFUSED, Outcome.INTERRUPTED})
DEFAULT_ON = frozenset({Outcome.FAILED, Outcome.PARTIAL})
# In a Cloud Run execution nobody reads the terminal: refused there means a revoked key or missing config,
# interrupted a task timeout, and either way the scheduled work did not happen. At a terminal the operator
# sees both directly (a typo, a Ctrl-C), so they would only be noise.
DEFAULT_ON_UNATTENDED = DEFAULT_ON | {Outcome.REFUSED, Outcome.INTERRUPTED}
ALIASES: dict[str, frozenset[Outcome]] = {
    "all": frozenset(Outcome),
    "none": frozenset(),
    "failure": FAILING,
    "success": frozenset({Outcome.APPLIED, Outcome.DUPLICATE, Outcome.SKIPPED}),
}
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
DEFAULT_BUDGET_S = 5.0
FIRST_ATTEMPT_SHARE = 0.6  # the first attempt may use 60% of a sink's time; the retry gets the rest
JOIN_SLACK_S = 0.2  # a worker past its deadline is abandoned (daemon thread), never waited for
MESSAGE_LIMIT = 500
# Fixed, so a check-in's rid is the same in every process that computes it (start and end pings).
RID_NAMESPACE = uuid.UUID("0b7e5c3a-6d2f-5e41-9a8c-3f1d2e4b5a60")
EMBEDDED = "embedded sandbox"


@dataclass(frozen=True)
class RunInfo:
    """Who this run is: the job, its environment, and the Cloud Run execution/task/attempt if any."""

    job: str
    env: str | None
    run_id: str  # the Cloud Run execution, else a fresh id for this process
    execution: str | None = None
    task_index: int = 0
    attempt: int | None = None  # CLOUD_RUN_TASK_ATTEMPT, 0-based
    max_retries: int | None = None
    cloud_run_job: str | None = None
    project: str | None = None
    unattended: bool = False
    dry_run: bool = False

    @property
    def key(self) -> str:
        return f"jobs-event:{self.job}:{self.run_id}:{self.task_index}"

    @property
    def rid(self) -> str:
        # Execution and task, not the attempt: a retry's /start takes over the open run its failed
        # attempt left, and parallel tasks or overlapping executions each pair their own pings.
        return str(uuid.uuid5(RID_NAMESPACE, f"{self.job}:{self.run_id}:{self.task_index}"))

    @property
    def last_attempt(self) -> bool:
        # Without the job's maxRetries a retry cannot be told from the last attempt: announce rather
        # than stay silent (the constant key lets an idempotent sink drop repeats).
        if self.attempt is None or self.max_retries is None:
            return True
        return self.attempt >= self.max_retries


def _max_retries(settings: Settings) -> int | None:
    try:
        return settings.whole("max_retries")
    except HousejobsError:
        # The context refuses a malformed value before the job; without a context (the run stopped before
        # it), not knowing the retries means announcing, as when it is unset.
        return None


def run_info(runtime: Runtime, job: str, env: str | None, settings: Settings, *, dry_run: bool) -> RunInfo:
    try:
        task = runtime.task
    except HousejobsError:
        task = None  # the context refuses a malformed CLOUD_RUN_*; the failure is still announced
    execution = task.execution if task else None
    return RunInfo(job=job, env=env, run_id=execution or f"local-{uuid.uuid4()}", execution=execution,
                   task_index=task.index if task else 0, attempt=task.attempt if task else None,
                   max_retries=_max_retries(settings), cloud_run_job=task.job if task else None,
                   project=settings.get("project"), unattended=runtime.in_cloud_run, dry_run=dry_run)


# --- the event and its formats -------------------------------------------------------------------------
def log_uri(info: RunInfo) -> str | None:
    """Cloud Logging's console, filtered to this execution's task: where the failure's details are."""
    if not (info.project and info.cloud_run_job and info.execution):
        return None
    query = "\n".join((
        'resource.type="cloud_run_job"',
        f'resource.labels.job_name="{info.cloud_run_job}"',
        f'labels."run.googleapis.com/execution_name"="{info.execution}"',
        f'labels."run.googleapis.com/task_index"="{info.task_index}"',
    ))
    return (f"https://console.cloud.google.com/logs/query;query={quote(query, safe='')}"
            f"?project={quote(info.project, safe='')}")


def build_event(info: RunInfo, result: JobResult, *, duration_ms: int, now: datetime,
                period: str | None = None) -> dict[str, Any]:
    """The period is the result's own (a failure's too), else what its details name."""
    outcome = result.outcome
    failing = outcome in FAILING
    period = result.period or next((str(result.details[k]) for k in ("period", "date", "month")
                                    if result.details.get(k)), period)
    severity = "WARNING" if outcome is Outcome.PARTIAL else ("ERROR" if failing else "INFO")
    where = f" in {info.env}" if info.env else ""
    return {
        "event_id": str(uuid.uuid4()),
        "key": info.key,
        "kind": "job_failed" if failing else "job_completed",
        "job": info.job,
        "env": info.env,
        "outcome": outcome.value,
        "exit_code": result.exit_code,
        "period": period,
        "counts": dict(result.counts),
        "duration_ms": duration_ms,
        "execution": ({"name": info.execution, "task_index": info.task_index, "attempt": info.attempt}
                      if info.execution else None),
        "run_id": info.run_id,
        "log_uri": log_uri(info),
        "severity": severity,
        "title": f"{info.job} {outcome.value}{where}",
        # A message may quote a server's answer: one_line masks anything secret, then cuts.
        "message": one_line(result.message, MESSAGE_LIMIT),
        "time": now.isoformat().replace("+00:00", "Z"),
    }


def _facts(event: Mapping[str, Any]) -> list[str]:
    facts: list[str] = []
    if event.get("period"):
        facts.append(f"period {event['period']}")
    if event.get("counts"):
        facts.append(", ".join(f"{k}={v}" for k, v in event["counts"].items()))
    facts.append(f"{event['duration_ms'] / 1000:.1f} s")
    execution = event.get("execution")
    if execution:
        attempt = execution.get("attempt")
        facts.append(f"execution {execution['name']} task {execution['task_index']}"
                     + (f" attempt {attempt + 1}" if attempt is not None else ""))
    return facts


_ICON = {"INFO": ("✅", ":white_check_mark:"), "WARNING": ("⚠️", ":warning:"), "ERROR": ("❌", ":x:")}


def _slack_escape(text: str) -> str:
    # Slack's mrkdwn reads <, > and & as markup: a message quoting an error must not become a link.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(event: Mapping[str, Any]) -> dict[str, Any]:
    icon = _ICON[event["severity"]][1]
    title, message = _slack_escape(event["title"]), _slack_escape(event["message"])
    context = " · ".join(_slack_escape(f) for f in _facts(event))
    if event.get("log_uri"):
        context += f" · <{event['log_uri']}|logs>"
    return {
        "text": f"{icon} {title}" + (f": {message}" if message else ""),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"{icon} *{title}*"
                                         + (f"\n{message}" if message else "")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def chat_message(event: Mapping[str, Any]) -> dict[str, Any]:
    lines = [f"{_ICON[event['severity']][0]} *{event['title']}*"]
    if event["message"]:
        lines.append(event["message"])
    facts = " · ".join(_facts(event))
    if event.get("log_uri"):
        facts += f" · <{event['log_uri']}|logs>"
    lines.append(facts)
    return {"text": "\n".join(lines)}


def webhook_body(fmt: str, event: Mapping[str, Any]) -> bytes:
    payload: Mapping[str, Any]
    if fmt == "slack":
        payload = slack_message(event)
    elif fmt == "google-chat":
        payload = chat_message(event)
    else:
        payload = event
    # The last pass over what leaves the process, whatever part of the event a secret reached.
    return redact(json.dumps(payload, separators=(",", ":"))).encode()


def checkin_summary(event: Mapping[str, Any]) -> str:
    """The short text a check-in carries: the monitor shows it beside the ping."""
    line = event["title"] + (f": {event['message']}" if event["message"] else "")
    return one_line(line + " (" + " · ".join(_facts(event)) + ")", 1000)


def checkin_url(url: str, suffix: str, rid: str) -> str:
    """`<url>/start`, `<url>/fail`, `<url>/log` or `<url>`, with `rid` added to whatever query it has."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") + suffix
    query = (parts.query + "&" if parts.query else "") + f"rid={rid}"
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def parse_notify_on(raw: str | None, *, unattended: bool) -> tuple[frozenset[Outcome], list[str]]:
    """The outcomes that send an event, and the names that were not understood."""
    if raw is None or not raw.strip():
        return (DEFAULT_ON_UNATTENDED if unattended else DEFAULT_ON), []
    chosen: set[Outcome] = set()
    unknown: list[str] = []
    for name in (n.strip().lower() for n in raw.split(",")):
        if not name:
            continue
        if name in ALIASES:
            chosen |= ALIASES[name]
        elif name in {o.value for o in Outcome}:
            chosen.add(Outcome(name))
        else:
            unknown.append(name)
    return frozenset(chosen), unknown


def _valid_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


# --- delivery --------------------------------------------------------------------------------------------
@dataclass
class Delivery:
    """One POST to a sink, made in a worker thread before `deadline` (time.monotonic)."""

    sink: str  # what the log line calls it: "webhook", "check-in", "embedded sandbox"
    url: Secret
    body: bytes
    headers: dict[str, str]
    deadline: float
    budget: float
    after: threading.Thread | None = None  # a delivery that must reach the sink first (/start)
    # The run's environment: its proxies and CA bundle decide how the sink is reached (housejobs.api.network).
    environ: Mapping[str, str] = field(default_factory=dict, repr=False)
    status: int | None = None
    answer: bytes = b""
    error: str | None = None
    attempts: int = 0
    ok: bool = False
    thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> Delivery:
        self.thread = threading.Thread(target=self._run, name=f"housejobs-notify-{self.sink}", daemon=True)
        self.thread.start()
        return self

    def wait(self) -> None:
        if self.thread is not None:
            self.thread.join(max(0.0, self.deadline - time.monotonic()) + JOIN_SLACK_S)

    @property
    def finished(self) -> bool:
        return self.thread is not None and not self.thread.is_alive()

    def _run(self) -> None:
        try:
            if self.after is not None:
                # The end ping must not overtake /start: the monitor pairs them in arrival order.
                self.after.join(max(0.0, self.deadline - time.monotonic()))
            self._send()
        except Exception as exc:  # noqa: BLE001 - a worker thread has no one to raise to
            self.error = f"internal error ({exc.__class__.__name__})"

    def _send(self) -> None:
        import httpx

        from housejobs.api.network import sync_transport_for

        try:
            transport = sync_transport_for(self.url.reveal(), self.environ, embedded=self.sink == EMBEDDED)
        except HousejobsError as exc:  # a bad proxy URL or CA bundle: say which, send nothing
            self.error = exc.line()
            return
        # trust_env=False: httpx would otherwise read proxies from os.environ, not from the run's environment.
        # Wall-clock time on purpose, not the injected clock: these are real sockets with real timeouts.
        with httpx.Client(transport=transport, trust_env=False, follow_redirects=False) as client:
            for attempt in (1, 2):
                left = self.deadline - time.monotonic()
                if left < 0.05:
                    if attempt == 1:
                        self.error = "no time left"
                    break
                timeout = left if attempt == 2 else min(left, self.budget * FIRST_ATTEMPT_SHARE)
                self.attempts = attempt
                try:
                    response = client.post(self.url.reveal(), content=self.body, headers=self.headers,
                                           timeout=timeout)
                except httpx.TimeoutException:
                    self.error = f"timed out after {timeout:.1f} s"
                    continue
                except httpx.TransportError as exc:
                    # The class name only: httpx's messages can quote the URL, which holds the token.
                    self.error = f"cannot connect ({exc.__class__.__name__})"
                    continue
                self.status, self.answer = response.status_code, response.content[:4096]
                if 200 <= response.status_code < 300:
                    self.ok, self.error = True, None
                    return
                self.error = f"answered HTTP {response.status_code}"
                if response.status_code not in RETRY_STATUSES:
                    return

    def describe(self) -> str:
        where = EMBEDDED if self.sink == EMBEDDED else f"{self.sink} {mask_url(self.url.reveal())}"
        if self.thread is not None and not self.finished:
            return f"{where}: no answer within {self.budget:g} s"
        tries = f" ({self.attempts} attempts)" if self.attempts > 1 else ""
        return f"{where}: {self.error or 'failed'}{tries}"


# --- the notifier the runner drives ------------------------------------------------------------------------
@dataclass
class _Sources:
    """Where the sinks' URLs come from, before any is read."""

    webhook_env: Secret | None
    webhook_secret: str | None
    checkin_env: Secret | None
    checkin_secret: str | None

    @property
    def webhook(self) -> bool:
        return self.webhook_env is not None or bool(self.webhook_secret)

    @property
    def checkin(self) -> bool:
        return self.checkin_env is not None or bool(self.checkin_secret)


class Notifier:
    """Built once per run; `start()` before the job, `finish()` after it. Neither raises, ever."""

    def __init__(self, info: RunInfo, settings: Settings, logger: Logger, sources: _Sources, *,
                 now: Callable[[], datetime], secret: Callable[[str, str], Secret] | None = None,
                 embedded: Callable[[], tuple[str, str]] | None = None,
                 period: Callable[[], str | None] | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.info = info
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        self._period = period
        self.logger = logger
        self.sources = sources
        self._now = now
        self._secret = secret
        self._embedded = embedded
        self._warnings: list[str] = []
        self.budget = self._read_budget(settings)
        self.notify_on, unknown = parse_notify_on(settings.get("notify_on"), unattended=info.unattended)
        if unknown:
            self._warn(f"HOUSEJOBS_NOTIFY_ON: ignoring {', '.join(map(repr, unknown))} (use outcome names, "
                       "success, failure, all or none)")
        fmt = (settings.get("notify_format") or "json").strip().lower()
        self.format: str | None = fmt if fmt in FORMATS else None
        if self.format is None and sources.webhook:
            self._warn(f"HOUSEJOBS_NOTIFY_FORMAT {fmt!r} is not json, slack or google-chat: no webhook "
                       "events this run")
        self.webhook_url: Secret | None = None
        self.checkin_url: Secret | None = None
        self._resolver: threading.Thread | None = None
        self._started: Delivery | None = None
        self._begun = False
        self._t0 = time.monotonic()

    def _warn(self, line: str) -> None:
        self._warnings.append(line)

    def _read_budget(self, settings: Settings) -> float:
        try:
            return min(settings.number("notify_timeout"), 60.0)
        except HousejobsError as exc:
            self._warn(f"{exc.line()}; using {DEFAULT_BUDGET_S:g} s")
            return DEFAULT_BUDGET_S

    # -- resolving the URLs (possibly from Secret Manager, so off the main thread) ----------------------
    def _resolve(self, key: str, from_env: Secret | None, secret_name: str | None, what: str) -> Secret | None:
        url = from_env
        if url is None and secret_name:
            if self._secret is None:
                self._warn(f"{key}_secret is set, but with no environment selected there is no Secret "
                           f"Manager to read it from: no {what} this run")
                return None
            try:
                url = self._secret(key, secret_name)
            except HousejobsError as exc:
                self._warn(f"{what} disabled: {exc.line()}")
                return None
        if url is None:
            return None
        if not _valid_url(url.reveal()):
            self._warn(f"{key} is not an http(s) URL: no {what} this run")
            return None
        return url

    def _resolve_all(self, *, ping: bool) -> None:
        s = self.sources
        checkin = self._resolve("healthcheck_url", s.checkin_env, s.checkin_secret, "check-ins")
        if checkin is not None:
            raw = checkin.reveal().replace("{job}", self.info.job).replace("{env}", self.info.env or "")
            # The filled-in URL is a secret of its own (registered for redaction by Secret()).
            self.checkin_url = Secret(raw, checkin.source)
            if ping and not self.info.dry_run:
                self._started = self._ping(
                    self.checkin_url, "/start",
                    f"{self.info.job} started" + (f" in {self.info.env}" if self.info.env else ""),
                    deadline=self._t0 + self.budget).start()
        if s.webhook and self.format is not None:
            self.webhook_url = self._resolve("notify_url", s.webhook_env, s.webhook_secret, "webhook events")

    def _ping(self, url: Secret, suffix: str, text: str, *, deadline: float,
              after: threading.Thread | None = None) -> Delivery:
        return Delivery("check-in", Secret(checkin_url(url.reveal(), suffix, self.info.rid), url.source),
                        text.encode(), {"Content-Type": "text/plain; charset=utf-8",
                                        "User-Agent": f"housejobs/{__version__}"},
                        deadline=deadline, budget=self.budget, after=after, environ=self.environ)

    def start(self, *, ping: bool = True) -> None:
        """Resolve the sinks and send the check-in's /start, in the background: the job does not wait."""
        try:
            self._begun = True
            self._t0 = time.monotonic()
            if self.sources.webhook or self.sources.checkin:
                self._resolver = threading.Thread(target=self._resolve_safely, args=(ping,),
                                                  name="housejobs-notify-resolve", daemon=True)
                self._resolver.start()
        except Exception as exc:  # noqa: BLE001 - a notifier must never stop a job
            self._warn(f"notifications off: internal error ({exc.__class__.__name__})")

    def _resolve_safely(self, ping: bool) -> None:
        try:
            self._resolve_all(ping=ping)
        except Exception as exc:  # noqa: BLE001 - a worker thread has no one to raise to
            self._warn(f"notifications off: internal error ({exc.__class__.__name__})")

    # -- the end of the run --------------------------------------------------------------------------
    def finish(self, result: JobResult, duration_ms: int) -> None:
        try:
            self._finish(result, duration_ms)
        except Exception as exc:  # noqa: BLE001 - a notifier must never change a run's outcome
            self.logger.warning(f"notifications: internal error ({exc.__class__.__name__}); "
                                "the job's outcome is unchanged")

    def _finish(self, result: JobResult, duration_ms: int) -> None:
        if not self._begun:
            self.start(ping=False)  # the run stopped before it could start: no /start to pair with
        end = time.monotonic() + self.budget
        if self._resolver is not None:
            self._resolver.join(max(0.0, end - time.monotonic()))
        if self._resolver is not None and self._resolver.is_alive():
            self._warn(f"notification URLs not read within {self.budget:g} s (Secret Manager): nothing sent")
            self._flush_warnings()
            return
        event = build_event(self.info, result, duration_ms=duration_ms, now=self._now(),
                            period=self._period() if self._period else None)
        failing = result.exit_code != 0
        announce = result.outcome in self.notify_on and (not failing or self.info.last_attempt)
        deliveries: list[Delivery] = []
        if announce:
            webhook = self._webhook(event, deadline=end)
            if webhook is not None:
                deliveries.append(webhook.start())
        if self.checkin_url is not None and not self.info.dry_run:
            # Not the last attempt: /log records the failure without marking the check down, since Cloud
            # Run is about to retry; the retry's own /start and end ping settle it.
            suffix = "" if not failing else ("/fail" if self.info.last_attempt else "/log")
            after = self._started.thread if self._started is not None else None
            deliveries.append(self._ping(self.checkin_url, suffix, checkin_summary(event), deadline=end,
                                         after=after).start())
        for delivery in deliveries:
            delivery.wait()
        self._flush_warnings()
        if self._started is not None and not (self._started.finished and self._started.ok):
            self.logger.warning(f"check-in /start not delivered to {self._started.describe()}; the job's "
                                "outcome is unchanged")
        for delivery in deliveries:
            self._report(delivery, event)

    def _webhook(self, event: dict[str, Any], *, deadline: float) -> Delivery | None:
        headers = {"Content-Type": "application/json", "Idempotency-Key": event["key"],
                   "User-Agent": f"housejobs/{__version__}"}
        if self.webhook_url is not None and self.format is not None:
            return Delivery("webhook", self.webhook_url, webhook_body(self.format, event), headers,
                            deadline=deadline, budget=self.budget, environ=self.environ)
        if self._embedded is None or self.sources.webhook:
            return None
        try:
            url, key = self._embedded()
        except Exception as exc:  # noqa: BLE001 - the demo sink is a nicety; the run's result stands
            self._warn(f"embedded sandbox notification skipped ({exc.__class__.__name__})")
            return None
        headers["X-CA-Root-Key"] = Secret(key, EMBEDDED).reveal()
        return Delivery(EMBEDDED, Secret(url.rstrip("/") + "/admin/notifications", EMBEDDED),
                        webhook_body("json", event), headers, deadline=deadline, budget=self.budget,
                        environ=self.environ)

    def _flush_warnings(self) -> None:
        for line in self._warnings:
            self.logger.warning(line)
        self._warnings.clear()

    def _report(self, delivery: Delivery, event: Mapping[str, Any]) -> None:
        ping = delivery.sink == "check-in"
        if delivery.finished and delivery.ok:
            if delivery.sink == EMBEDDED:
                try:
                    number = f" as #{json.loads(delivery.answer)['id']}"
                except (ValueError, KeyError, TypeError):
                    number = ""
                self.logger.info(f"notification: {event['kind']} event stored by the embedded sandbox{number} "
                                 "(GET /admin/notifications lists them; set HOUSEJOBS_NOTIFY_URL to send "
                                 "events to a webhook)", event_key=event["key"])
            elif ping:
                self.logger.debug_(f"check-in sent to {mask_url(delivery.url.reveal())}",
                                   status=delivery.status, rid=self.info.rid)
            else:
                self.logger.info(f"notification: {event['kind']} event sent to webhook "
                                 f"{mask_url(delivery.url.reveal())}", event_key=event["key"],
                                 format=self.format)
            return
        what = "check-in" if ping else f"{event['kind']} event"
        self.logger.warning(f"{what} not delivered to {delivery.describe()}; the job's outcome is unchanged",
                            event_key=event["key"])


def _sources(settings: Settings, *, with_secret_manager: bool) -> _Sources:
    return _Sources(webhook_env=settings.secret("notify_url"),
                    webhook_secret=(settings.get("notify_url_secret") or None) if with_secret_manager else None,
                    checkin_env=settings.secret("healthcheck_url"),
                    checkin_secret=(settings.get("healthcheck_url_secret") or None) if with_secret_manager
                    else None)


def for_context(ctx: Context) -> Notifier | None:
    """The run's notifier, or None when no sink is configured (then nothing more loads or happens)."""
    try:
        sources = _sources(ctx.settings, with_secret_manager=bool(ctx.env))
        embedded = ctx.api_target.kind == "sandbox"
        if not (sources.webhook or sources.checkin or embedded):
            return None
        info = run_info(ctx.runtime, ctx.job, ctx.env, ctx.settings, dry_run=ctx.options.dry_run)

        def embedded_sink() -> tuple[str, str]:
            server = ctx.embedded_sandbox()
            return server.url, server.app.api_key

        notifier = Notifier(info, ctx.settings, ctx.logger, sources, now=ctx.clock.now,
                            secret=ctx.secret if ctx.env else None,
                            embedded=embedded_sink if embedded else None,
                            environ=ctx.runtime.environ)
        notifier._flush_warnings()
        return notifier
    except Exception as exc:  # noqa: BLE001 - a notifier must never stop a job
        ctx.logger.warning(f"notifications off: {exc.__class__.__name__}")
        return None


def without_context(runtime: Runtime, options: Options, job: str, logger: Logger) -> Notifier | None:
    """When the run stopped before its context existed (bad env, bad config): sinks from the process
    environment only, so a misconfigured Cloud Run job still reports that it was refused."""
    try:
        from housejobs.settings import ENV_NAMES, SETTINGS, Settings, Value

        settings = Settings()
        for d in SETTINGS:
            value = runtime.environ.get(d.env_var, d.default)
            settings.values[d.key] = Value(value, f"${d.env_var}" if d.env_var in runtime.environ else "default")
        sources = _sources(settings, with_secret_manager=False)
        if not (sources.webhook or sources.checkin):
            return None
        env = options.env or runtime.environ.get("HOUSEJOBS_ENV")
        env = env if env in ENV_NAMES else None  # an invalid name may be why the run stopped
        info = run_info(runtime, job, env, settings, dry_run=options.dry_run)
        return Notifier(info, settings, logger, sources, now=runtime.clock.now, environ=runtime.environ)
    except Exception as exc:  # noqa: BLE001 - a notifier must never change a run's outcome
        logger.warning(f"notifications off: {exc.__class__.__name__}")
        return None
