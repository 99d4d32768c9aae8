"""What goes on the wire: the webhook body in its format (json: the event as is; slack; google-chat), and
the Healthchecks.io check-in's URL and summary. Pure functions of the event; nothing here sends."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from housejobs.errors import one_line
from housejobs.redact import redact

FORMATS = ("json", "slack", "google-chat")
_ICON = {"INFO": ("✅", ":white_check_mark:"), "WARNING": ("⚠️", ":warning:"), "ERROR": ("❌", ":x:")}


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


_CHAT_CONTROL = re.compile(r"<(?=\S)")


def _chat_escape(text: str) -> str:
    # Google Chat reads two control sequences out of a text message, `<users/…>` (a mention: `<users/all>`
    # pings the whole space) and `<url|text>` (a link whose text may name another host), and has no escape
    # for `<` (an HTML entity shows as itself). A space after every `<` leaves the text readable and
    # parses as neither.
    return _CHAT_CONTROL.sub("< ", text)


def chat_message(event: Mapping[str, Any]) -> dict[str, Any]:
    lines = [f"{_ICON[event['severity']][0]} *{_chat_escape(event['title'])}*"]
    if event["message"]:
        lines.append(_chat_escape(event["message"]))
    facts = " · ".join(_chat_escape(f) for f in _facts(event))
    log_uri = event.get("log_uri") or ""
    if log_uri:
        # Our own link, to the execution's logs: only a plain URL is made one (nothing that could close it).
        facts += f" · <{log_uri}|logs>" if not set(log_uri) & set("<>| \n") else f" · logs: {_chat_escape(log_uri)}"
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
