"""The notifier the runner drives: which sinks a run has, a check-in's /start before the job, and the event
and end ping after it.

When a run ends, one event goes to the webhook if `notify_on` names its outcome, in the configured format.
A cron monitor speaking the Healthchecks.io ping protocol gets `/start` before the job and the plain URL
(success), `/fail` or `/log` after it, on every run: a monitor is what notices the runs that never start or
die without a word (OOM, SIGKILL).

Never in the way. Each sink has a bounded time (HOUSEJOBS_NOTIFY_TIMEOUT, its one retry included), works
in its own thread, and at worst ends in one WARNING line; nothing here changes a job's outcome or exit
code, and nothing here raises. The URLs embed tokens: they are `Secret`s, and only `mask_url` shows them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from housejobs import __version__
from housejobs.errors import HousejobsError
from housejobs.notify.delivery import EMBEDDED, Delivery, deadline_after
from housejobs.notify.event import RunInfo, build_event, parse_notify_on, run_info
from housejobs.notify.formats import FORMATS, checkin_summary, checkin_url, webhook_body
from housejobs.notify.sinks import Sources, read_url, settings_without_context
from housejobs.redact import Secret, mask_url
from housejobs.results import JobResult
from housejobs.settings import Setting, SettingDef, number_refused

if TYPE_CHECKING:
    from housejobs.clock import Clock
    from housejobs.context import Context, Options
    from housejobs.logs import Logger
    from housejobs.runtime import Runtime
    from housejobs.settings_model import Settings

DEFAULT_BUDGET_S = 5.0


class Notifier:
    """Built once per run; `start()` before the job, `finish()` after it. Neither raises, ever."""

    def __init__(self, info: RunInfo, settings: Settings, logger: Logger, sources: Sources, *,
                 now: Callable[[], datetime], clock: Clock, secret: Callable[[SettingDef, str], Secret] | None = None,
                 embedded: Callable[[], tuple[str, str]] | None = None,
                 environ: Mapping[str, str] | None = None) -> None:
        self.info = info
        self.environ: Mapping[str, str] = environ if environ is not None else {}
        self.logger = logger
        self.sources = sources
        self._now = now  # the run's clock: an event's time
        self.clock = clock  # the deliveries' time (Runtime.notify_clock)
        self._secret = secret
        self._embedded = embedded
        self._warnings: list[str] = []
        self.budget = self._read_budget(settings)
        self.notify_on, unknown = parse_notify_on(settings.notify_on, unattended=info.unattended)
        if unknown:
            self._warn(f"HOUSEJOBS_NOTIFY_ON: ignoring {', '.join(map(repr, unknown))} (use outcome names, "
                       "success, failure, all or none)")
        fmt = (settings.notify_format or "json").strip().lower()
        self.format: str | None = fmt if fmt in FORMATS else None
        if self.format is None and sources.webhook:
            self._warn(f"HOUSEJOBS_NOTIFY_FORMAT {fmt!r} is not json, slack or google-chat: no webhook "
                       "events this run")
        self.webhook_url: Secret | None = None
        self.checkin_url: Secret | None = None
        self._resolver: threading.Thread | None = None
        self._started: Delivery | None = None
        self._begun = False
        self._start_deadline = deadline_after(self.budget, clock)

    def _warn(self, line: str) -> None:
        self._warnings.append(line)

    def _read_budget(self, settings: Settings) -> float:
        if settings.notify_timeout is not None:  # None: given, and not a number in its range
            return min(settings.notify_timeout, 60.0)
        given = settings.given(Setting.notify_timeout)
        refused = number_refused(Setting.notify_timeout, given.value or "", given.source)
        self._warn(f"{refused.line()}; using {DEFAULT_BUDGET_S:g} s")
        return DEFAULT_BUDGET_S

    # -- resolving the URLs (possibly from Secret Manager, so off the main thread) ----------------------
    def _resolve_all(self, *, ping: bool) -> None:
        s = self.sources
        checkin = read_url(Setting.healthcheck_url, s.checkin_env, s.checkin_secret, "check-ins",
                           secret=self._secret, warn=self._warn)
        if checkin is not None:
            raw = checkin.reveal().replace("{job}", self.info.job).replace("{env}", self.info.env or "")
            # The filled-in URL is a secret of its own (registered for redaction by Secret()).
            self.checkin_url = Secret(raw, checkin.source)
            if ping and not self.info.dry_run:
                self._started = self._ping(
                    self.checkin_url, "/start",
                    f"{self.info.job} started" + (f" in {self.info.env}" if self.info.env else ""),
                    deadline=self._start_deadline).start()
        if s.webhook and self.format is not None:
            self.webhook_url = read_url(Setting.notify_url, s.webhook_env, s.webhook_secret, "webhook events",
                                        secret=self._secret, warn=self._warn)

    def _delivery(self, sink: str, url: Secret, body: bytes, headers: dict[str, str], *, deadline: float,
                  after: threading.Thread | None = None) -> Delivery:
        return Delivery(sink, url, body, {**headers, "User-Agent": f"housejobs/{__version__}"}, deadline=deadline,
                        budget=self.budget, after=after, environ=self.environ, clock=self.clock,
                        now=self._now)

    def _ping(self, url: Secret, suffix: str, text: str, *, deadline: float,
              after: threading.Thread | None = None) -> Delivery:
        return self._delivery("check-in", Secret(checkin_url(url.reveal(), suffix, self.info.rid), url.source),
                              text.encode(), {"Content-Type": "text/plain; charset=utf-8"}, deadline=deadline,
                              after=after)

    def start(self, *, ping: bool = True) -> None:
        """Resolve the sinks and send the check-in's /start, in the background: the job does not wait."""
        try:
            self._begun = True
            self._start_deadline = deadline_after(self.budget, self.clock)
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
        end = deadline_after(self.budget, self.clock)
        if self._resolver is not None:
            self._resolver.join(max(0.0, end - self.clock.monotonic()))
        if self._resolver is not None and self._resolver.is_alive():
            self._warn(f"notification URLs not read within {self.budget:g} s (Secret Manager): nothing sent")
            self._flush_warnings()
            return
        event = build_event(self.info, result, duration_ms=duration_ms, now=self._now())
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
        headers = {"Content-Type": "application/json", "Idempotency-Key": event["key"]}
        if self.webhook_url is not None and self.format is not None:
            return self._delivery("webhook", self.webhook_url, webhook_body(self.format, event), headers,
                                  deadline=deadline)
        if self._embedded is None or self.sources.webhook:
            return None
        try:
            url, key = self._embedded()
        except Exception as exc:  # noqa: BLE001 - the demo sink is a nicety; the run's result stands
            self._warn(f"embedded sandbox notification skipped ({exc.__class__.__name__})")
            return None
        headers["X-CA-Root-Key"] = Secret(key, EMBEDDED).reveal()
        return self._delivery(EMBEDDED, Secret(url.rstrip("/") + "/admin/notifications", EMBEDDED),
                              webhook_body("json", event), headers, deadline=deadline)

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


def for_context(ctx: Context) -> Notifier | None:
    """The run's notifier, or None when no sink is configured (then nothing more loads or happens)."""
    try:
        sources = Sources.of(ctx.settings, with_secret_manager=bool(ctx.env))
        # The demo's inbox only for a run against the embedded sandbox: a report on stage (history) or a
        # reminder sent to a --bot-url must not start one and file its outcome there.
        embedded = ctx.target.kind == "sandbox"
        if not (sources.webhook or sources.checkin or embedded):
            return None
        info = run_info(ctx.runtime, ctx.job, ctx.env, ctx.settings, dry_run=ctx.options.dry_run)

        def embedded_sink() -> tuple[str, str]:
            server = ctx.embedded_sandbox()
            return server.url, server.app.api_key

        notifier = Notifier(info, ctx.settings, ctx.logger, sources, now=ctx.clock.now,
                            clock=ctx.runtime.notify_clock,
                            secret=ctx.secret if ctx.env else None,
                            embedded=embedded_sink if embedded else None,
                            environ=ctx.runtime.environ)
        notifier._flush_warnings()
        return notifier
    except Exception as exc:  # noqa: BLE001 - a notifier must never stop a job
        ctx.logger.warning(f"notifications off: {exc.__class__.__name__}")
        return None


def without_context(runtime: Runtime, options: Options, job: str, logger: Logger) -> Notifier | None:
    """When the run stopped before its context existed (bad env, bad config): the sinks its settings name
    (environment, ./.env, secrets_dir, the env's table; what cannot be read is skipped), so a misconfigured
    Cloud Run job still reports that it was refused. No Secret Manager: reading a secret takes the context
    that failed."""
    try:
        env, settings = settings_without_context(runtime, options)
        if settings.skipped:  # the sink may have been set in what was skipped: say why nobody may hear
            logger.warning("notifications: settings read without what could not be used: "
                           + "; ".join(settings.skipped))
        sources = Sources.of(settings, with_secret_manager=False)
        if not (sources.webhook or sources.checkin):
            return None
        info = run_info(runtime, job, env, settings, dry_run=options.dry_run)
        return Notifier(info, settings, logger, sources, now=runtime.clock.now, clock=runtime.notify_clock,
                        environ=runtime.environ)
    except HousejobsError as exc:  # not even leniently: the run's own records (CLOUD_RUN_*, ...)
        logger.warning(f"notifications off: {exc.line()}")
        return None
    except Exception as exc:  # noqa: BLE001 - a notifier must never change a run's outcome
        logger.warning(f"notifications off: {exc.__class__.__name__}")
        return None

