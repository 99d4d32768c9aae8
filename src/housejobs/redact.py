"""Secret values known to this process, the one function that scrubs them from any text, and the one
function that cuts text short.

Secrets are held as `Secret` (never printed by repr/str) and also registered here, so that even a
message built from a server's answer or an exception cannot carry one to a log or the terminal.

Cutting is where a secret slips past a mask: a message cut before it is masked keeps a prefix of the
key that no longer matches it. So `cut` masks first and cuts second, and marks the cut with "…"; and
`redact` also masks what a cut can leave of a secret, a prefix of at least `MIN_PART` characters that
ends at a cut ("…", its JSON escape, "...", or the end of the text) or a suffix as long that starts at
one. Shorter fragments, or fragments away from a cut, are left: masking every 6-character substring
of every key would mask ordinary words.
"""

from __future__ import annotations

import json
import re
import threading

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
    text = _mask_spans(text, [span for value in values for span in _cut_fragments(text, value)])
    return _URL_USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)


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


def _at_cut_before(text: str, pos: int) -> bool:
    return pos == len(text) or text.startswith(_CUT_MARKS, pos)


def _at_cut_after(text: str, pos: int) -> bool:
    return pos == 0 or text.endswith(_CUT_MARKS, 0, pos)


def _cut_fragments(text: str, value: str) -> list[tuple[int, int]]:
    """Spans of `text` holding a prefix of `value` that ends at a cut, or a suffix that starts at one
    (each at least MIN_PART long, the longest such at each place)."""
    spans: list[tuple[int, int]] = []
    head, size = value[:MIN_PART], len(text)
    start = text.find(head)
    while start >= 0:
        # How far the text goes on agreeing with the secret; the fragment is the longest part of that
        # which a cut follows.
        same = MIN_PART
        while same < len(value) and start + same < size and text[start + same] == value[same]:
            same += 1
        for length in range(same, MIN_PART - 1, -1):
            if _at_cut_before(text, start + length):
                spans.append((start, start + length))
                break
        start = text.find(head, start + 1)
    tail = value[-MIN_PART:]
    found = text.find(tail)
    while found >= 0:
        end = found + MIN_PART
        same = MIN_PART
        while same < len(value) and end - same > 0 and text[end - same - 1] == value[-same - 1]:
            same += 1
        for length in range(same, MIN_PART - 1, -1):
            if _at_cut_after(text, end - length):
                spans.append((end - length, end))
                break
        found = text.find(tail, found + 1)
    return spans


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
