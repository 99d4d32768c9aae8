"""Secret values known to this process, and the one function that scrubs them from any text.

Secrets are held as `Secret` (never printed by repr/str) and also registered here, so that even a
message built from a server's answer or an exception cannot carry one to a log or the terminal.
"""

from __future__ import annotations

import json
import re
import threading

MASK = "****"
_lock = threading.Lock()
_values: set[str] = set()
# Userinfo and query-string tokens in URLs are secrets even when nobody registered them.
_URL_USERINFO = re.compile(r"(?P<scheme>https?://)[^/@\s]+@")


def register(value: str) -> None:
    # Very short values would mask ordinary words; real keys are long.
    if len(value) >= 6:
        # And the escaped forms an exception message shows, e.g. b'key\\n' from a header error.
        # And the forms a JSON log line or document encodes it to (quotes, backslashes, non-ASCII).
        forms = {value, value.encode("unicode_escape").decode("ascii"),
                 repr(value.encode("utf-8", "replace"))[2:-1],
                 json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]}
        with _lock:
            _values.update(forms)


def redact(text: str) -> str:
    with _lock:
        values = sorted(_values, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, MASK)
    return _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)


def mask_url(url: str) -> str:
    """Show a URL's scheme, host and port only: webhook URLs carry their token in the path or query, and
    any URL may carry credentials before its host (a proxy's `user:password@`)."""
    # Greedy userinfo: a raw `@` in a password must not leave its tail looking like the host.
    m = re.match(r"^(https?://)([^/?#]*@)?([^/?#@]+)(.*)$", url, re.IGNORECASE | re.DOTALL)
    if m is None:
        return MASK
    scheme, userinfo, host, rest = m.groups()
    return scheme + (MASK + "@" if userinfo else "") + host + ("/" + MASK if rest.strip("/") else "")


class Secret:
    """A string that will not print itself. `reveal()` is the only way out, at the point of use."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str = "") -> None:
        self._value = value
        self.source = source
        register(value)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
