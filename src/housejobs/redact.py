"""Secret values known to this process, the one function that scrubs them from any text, and the one
function that cuts text short.

Secrets are held as `Secret` (never printed by repr/str) and also registered here, so that even a
message built from a server's answer or an exception cannot carry one to a log or the terminal.

A secret is masked in the forms it may come back in, not only as itself: a server, a proxy or a library
may quote it encoded. `register` adds, for every value at least `MIN_PART` long, the forms GitHub Actions'
runner masks for each registered secret (its base64 at all three byte alignments, standard and URL-safe;
URL-escaped; JSON-escaped; XML-escaped), plus hex (lower and upper case), HTML numeric character
references, `quote_plus`, lower-case percent escapes, and the backslash-slash some JSON encoders write for `/`.
A base64 form keeps only the characters the secret's own bytes decide (its first and last characters
mix with whatever the secret was encoded beside, as `user:password` in a `Proxy-Authorization` header),
so it matches wherever the secret sat in the encoded text. Every form is itself at least `MIN_PART`
characters long, so short values still never mask ordinary words.

Cutting is where a secret slips past a mask: a message cut before it is masked keeps a prefix of the
key that no longer matches it. So `cut` masks first and cuts second, and marks the cut with "…"; and
`redact` also masks what a cut can leave of a secret, a prefix of at least `MIN_PART` characters that
ends at a cut ("…", its JSON escape, "...", or the end of the text) or a suffix as long that starts at
one. Shorter fragments, or fragments away from a cut, are left: masking every 6-character substring
of every key would mask ordinary words.
"""

from __future__ import annotations

import base64
import html
import json
import re
import threading
from urllib.parse import quote, quote_plus, unquote, unquote_plus

MASK = "****"
MIN_PART = 6  # the shortest secret registered, and the shortest fragment of one masked at a cut
ELLIPSIS = "…"
# What marks a cut once text is composed further: the ellipsis itself, its escape in a JSON log line or
# --json document (ensure_ascii), and the three dots some libraries use.
_CUT_MARKS = (ELLIPSIS, "\\u2026", "...")
_lock = threading.Lock()
_values: set[str] = set()
# Userinfo and query-string tokens in URLs are secrets even when nobody registered them.
_URL_USERINFO = re.compile(r"(?P<scheme>https?://)[^/@\s]+@")


def register(value: str) -> None:
    # Very short values would mask ordinary words; real keys are long.
    if len(value) >= MIN_PART:
        forms = encoded_forms(value)
        for part in url_secret_parts(value):
            forms |= encoded_forms(part)
        with _lock:
            _values.update(forms)


def url_secret_parts(value: str) -> list[str]:
    """What of a secret URL (a webhook, a check-in URL) is secret on its own, for a message that quotes only
    a part of it (a host that does not resolve, a path a sink echoes): the user name and password, the
    query and each of its values, and the host labels, path segments and a port that look like tokens (see
    `token_like`: `https://<token>.m.pipedream.net/`, `/services/T0/B0/<token>`, a check's UUID). Plain
    words (`hooks`, `services`, a job name) are not, so they stay readable."""
    m = re.match(r"^https?://(?:([^/?#]*)@)?([^/?#@]*)([^?#]*)(?:\?([^#]*))?", value, re.IGNORECASE)
    if m is None:
        return []
    userinfo, netloc, path, query = m.groups()
    parts: list[str] = []
    if userinfo:
        user, _, password = userinfo.partition(":")
        parts += [user, password, unquote(user), unquote(password)]
    host, _, port = netloc.rpartition(":") if not netloc.endswith("]") and ":" in netloc else (netloc, "", "")
    if port and not port.isdigit():
        parts.append(port)
    parts += [label for label in host.split(".") if token_like(label)]
    parts += [piece for segment in path.split("/") for piece in {segment, unquote(segment)} if token_like(piece)]
    if query:
        parts.append(query)
        parts += [unquote_plus(pair.partition("=")[2]) for pair in query.split("&")]
    return [part for part in parts if len(part) >= MIN_PART]


def token_like(part: str) -> bool:
    """Whether a piece of a secret URL looks like a token: 8 or more URL characters with letters and digits
    both (a random token or a UUID; not `hooks`, `services` or `housejobs-quota-reset-stage`)."""
    return (len(part) >= 8 and _URL_TOKEN.fullmatch(part) is not None and any(c.isdigit() for c in part)
            and any(c.isalpha() for c in part))


_URL_TOKEN = re.compile(r"[A-Za-z0-9._~%+-]+")


_URLSAFE = str.maketrans("+/", "-_")
_PERCENT = re.compile(r"%[0-9A-F]{2}")


def encoded_forms(value: str) -> set[str]:
    """`value` and the forms it may be printed in (the module's docstring lists them), each at least
    MIN_PART characters long."""
    data = value.encode("utf-8", "surrogatepass")
    escaped = json.dumps(value)[1:-1]
    # The escaped forms an exception message shows (b'key\\n' from a header error), and the forms a JSON
    # log line or document encodes it to (quotes, backslashes, non-ASCII; `\/` from PHP-style encoders).
    forms = {value, value.encode("unicode_escape").decode("ascii"), repr(value.encode("utf-8", "replace"))[2:-1],
             escaped, escaped.replace("/", "\\/"), json.dumps(value, ensure_ascii=False)[1:-1]}
    for shift in range(3):
        # The secret starting 0, 1 or 2 bytes into a 3-byte group: skip those bytes, and keep the
        # characters that the rest of its bytes alone decide (4 per 3 bytes, then 1 or 2 more).
        part = data[shift:]
        keep = len(part) // 3 * 4 + len(part) % 3
        standard = base64.b64encode(part).decode("ascii")[:keep]
        forms |= {standard, standard.translate(_URLSAFE)}
    for quoted in (quote(value, safe=""), quote(value), quote_plus(value)):
        forms |= {quoted, _PERCENT.sub(lambda m: m.group(0).lower(), quoted)}
    forms |= {data.hex(), data.hex().upper()}
    forms |= {html.escape(value), html.escape(value).replace("&#x27;", "&apos;"),
              "".join(f"&#{ord(c)};" for c in value), "".join(f"&#x{ord(c):x};" for c in value)}
    return {form for form in forms if len(form) >= MIN_PART}


def redact(text: str) -> str:
    index = _current_index()
    for value in index.ordered:
        if value in text:
            text = text.replace(value, MASK)
    text = _mask_spans(text, _cut_fragments(text, index))
    return _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)


class _Index:
    """What `redact` looks values up by, built once per set of registered values: the values longest first,
    and every MIN_PART-long piece of each with where it sits, so a fragment at a cut is found by one lookup
    of the piece beside the cut, however many values (and encoded forms) are registered."""

    def __init__(self, values: frozenset[str]) -> None:
        self.values = values
        self.ordered = sorted(values, key=len, reverse=True)
        # piece -> (value, offset just past the piece): a prefix of `value` ending at a cut ends in one.
        self.ends: dict[str, list[tuple[str, int]]] = {}
        # piece -> (value, offset of the piece): a suffix of `value` starting at a cut starts with one.
        self.starts: dict[str, list[tuple[str, int]]] = {}
        for value in values:
            for at in range(len(value) - MIN_PART + 1):
                piece = value[at:at + MIN_PART]
                self.ends.setdefault(piece, []).append((value, at + MIN_PART))
                self.starts.setdefault(piece, []).append((value, at))


_index = _Index(frozenset())


def _current_index() -> _Index:
    global _index
    with _lock:
        values = frozenset(_values)
        if values != _index.values:
            _index = _Index(values)
        return _index


# What a terminal would act on rather than show: C0 controls but tab and newline (ESC starts clear-screen,
# window-title and OSC 52 clipboard sequences; CR overwrites the line), DEL, C1 controls (U+009B is a
# one-byte CSI), and the bidirectional overrides and isolates that reorder what is shown.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with every control character a terminal would act on written out as its escape (`\\x1b`,
    `\\x9b`, `\\u202e`): text from a server, a file or Google is shown, never obeyed."""
    if _CONTROLS.search(text) is None:
        return text
    return _CONTROLS.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def printable(text: str) -> str:
    """What every line the CLI writes goes through: secrets masked, control characters made visible."""
    return visible(redact(text))


def cut(text: str, limit: int) -> str:
    """`text` redacted, then cut to at most `limit` characters, with "…" marking the cut.

    The one place text is cut short: masking first means a whole secret is gone before any cut could
    split it, and the second pass masks a fragment of one (a server that quoted part of a key) left at
    the cut.
    """
    text = redact(text)
    if len(text) <= limit:
        return text
    return redact(text[: max(0, limit - 1)] + ELLIPSIS)


def cut_middle(text: str, limit: int) -> str:
    """`text` (longer than `limit`) redacted, then cut to `limit` characters by dropping its middle: the
    start and the last quarter stay (a message names a value, then says where it came from), with "…"
    marking the cut; what the cut leaves of a secret on either side is masked too (`cut`'s rule)."""
    text = redact(text)
    if len(text) <= limit:
        return text
    tail = limit // 4
    return redact(text[: max(0, limit - 1 - tail)] + ELLIPSIS + text[len(text) - tail:])


def _cut_positions(text: str) -> tuple[list[int], list[int]]:
    """Where cuts are: before each mark and at the end (a prefix may end there), after each mark and at
    the start (a suffix may start there)."""
    before, after = [len(text)], [0]
    for mark in _CUT_MARKS:
        at = text.find(mark)
        while at >= 0:
            before.append(at)
            after.append(at + len(mark))
            at = text.find(mark, at + 1)
    return before, after


def _cut_fragments(text: str, index: _Index) -> list[tuple[int, int]]:
    """Spans of `text` holding a prefix of a value that ends at a cut, or a suffix that starts at one
    (each at least MIN_PART long)."""
    spans: list[tuple[int, int]] = []
    before, after = _cut_positions(text)
    for end in before:
        for value, length in index.ends.get(text[end - MIN_PART:end], ()) if end >= MIN_PART else ():
            # The piece ending at the cut is value[length - MIN_PART:length]: a prefix if it starts there.
            if end >= length and text.startswith(value[:length], end - length) and \
                    (end != len(text) or not _is_url(value)):
                spans.append((end - length, end))
    for start in after:
        for value, at in index.starts.get(text[start:start + MIN_PART], ()):
            if text.startswith(value[at:], start) and (start != 0 or not _is_url(value)):
                spans.append((start, start + len(value) - at))
    return spans


def _is_url(value: str) -> bool:
    # A secret URL's start and end are plain (a host, a job name filled into a check-in URL's path): at a
    # text's own start or end they are not taken for a fragment of it. Its secret parts are values of their
    # own (url_secret_parts), with every rule; at a real cut ("…") the URL's pieces count too.
    # (its escaped forms too: http:\\/\\/, http%3A%2F%2F)
    return value[:4].lower() == "http"


def _mask_spans(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    out: list[str] = []
    pos = 0
    for start, end in sorted(spans):
        if end <= pos:
            continue
        if start < pos:  # overlapping fragments: one mask covers both
            pos = end
            continue
        out += [text[pos:start], MASK]
        pos = end
    out.append(text[pos:])
    return "".join(out)


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
