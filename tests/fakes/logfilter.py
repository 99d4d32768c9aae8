"""The subset of the Logging query language the Cloud Logging fake understands, parsed for real.

    filter      := comparison ((AND | newline) comparison)*
    comparison  := field op value            op: = != > >= < <=
    field       := name ("." (name | "quoted"))*      e.g. labels."run.googleapis.com/execution_name"
    value       := "quoted string" | bareword          (JSON escapes in quotes)

Fields: resource.type, resource.labels.K, labels.K, jsonPayload.K[.K...], textPayload, logName, insertId,
severity (compared by level: severity>=WARNING), timestamp and receiveTimestamp (compared as instants).
Anything else (OR, NOT, parentheses, `:`, regular expressions, an unknown field) raises `Unsupported`, which
the fake answers with 400 INVALID_ARGUMENT: a filter it cannot honour is refused, never half-applied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

SEVERITY_LEVEL = {"DEFAULT": 0, "DEBUG": 100, "INFO": 200, "NOTICE": 300, "WARNING": 400, "ERROR": 500,
                  "CRITICAL": 600, "ALERT": 700, "EMERGENCY": 800}
_TOKEN = re.compile(r'[ \t\r]*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op>>=|<=|!=|=|>|<)|(?P<dot>\.)|(?P<nl>\n)'
                    r'|(?P<word>[A-Za-z0-9_\-:+/@]+(?:\.[0-9]+)?)|(?P<bad>\S))')
_KEYWORDS = {"OR", "NOT"}


class Unsupported(ValueError):
    """A filter this fake cannot evaluate exactly."""


@dataclass(frozen=True)
class Comparison:
    path: tuple[str, ...]
    op: str
    value: str

    def matches(self, entry: dict[str, Any]) -> bool:
        found, actual = _lookup(entry, self.path)
        if self.path == ("severity",):
            return _compare(SEVERITY_LEVEL[str(actual or "DEFAULT")], self.op, _level(self.value))
        if self.path[0] in ("timestamp", "receiveTimestamp"):
            return found and _compare(_instant(str(actual)), self.op, _instant(self.value))
        if not found:
            return self.op == "!="
        return _compare(_text(actual), self.op, self.value)


def parse(text: str) -> list[Comparison]:
    """The comparisons ANDed in `text` (empty: every entry)."""
    tokens = _tokens(text)
    out: list[Comparison] = []
    i = 0
    while i < len(tokens):
        kind, value = tokens[i]
        if kind in ("nl",) or (kind == "word" and value == "AND"):
            if not out:
                raise Unsupported(f"filter starts with {value!r}")
            i += 1
            continue
        path, i = _field(tokens, i)
        if i >= len(tokens) or tokens[i][0] != "op":
            raise Unsupported(f"expected a comparison after {'.'.join(path)}")
        op = tokens[i][1]
        if i + 1 >= len(tokens) or tokens[i + 1][0] not in ("str", "word"):
            raise Unsupported(f"expected a value after {'.'.join(path)}{op}")
        kind, raw = tokens[i + 1]
        literal = json.loads(raw) if kind == "str" else raw
        _check_field(path, op, literal)
        out.append(Comparison(path, op, literal))
        i += 2
        if i < len(tokens) and not (tokens[i][0] == "nl" or tokens[i] == ("word", "AND")):
            raise Unsupported(f"only AND joins comparisons here, not {tokens[i][1]!r}")
    return out


def matcher(text: str) -> Callable[[dict[str, Any]], bool]:
    comparisons = parse(text)
    return lambda entry: all(c.matches(entry) for c in comparisons)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None or m.lastgroup == "bad":
            raise Unsupported(f"unexpected {text[pos:].strip()[:10]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "word" and value in _KEYWORDS:
            raise Unsupported(f"{value} is not supported by this fake")
        tokens.append((kind, value))
        pos = m.end()
    return tokens


def _field(tokens: list[tuple[str, str]], i: int) -> tuple[tuple[str, ...], int]:
    kind, value = tokens[i]
    if kind != "word":
        raise Unsupported(f"expected a field, got {value!r}")
    path = [value]
    i += 1
    while i < len(tokens) and tokens[i][0] == "dot":
        kind, value = tokens[i + 1] if i + 1 < len(tokens) else ("", "")
        if kind == "word":
            path.append(value)
        elif kind == "str":
            path.append(json.loads(value))
        else:
            raise Unsupported("a field name must follow '.'")
        i += 2
    return tuple(path), i


def _check_field(path: tuple[str, ...], op: str, value: str) -> None:
    head = path[0]
    simple = {"severity", "timestamp", "receiveTimestamp", "logName", "insertId", "textPayload"}
    if head in simple and len(path) == 1:
        if head == "severity":
            _level(value)
        if head in ("timestamp", "receiveTimestamp"):
            _instant(value)
        return
    if head == "resource" and (path[1:] == ("type",) or (len(path) == 3 and path[1] == "labels")):
        return
    if head == "labels" and len(path) == 2:
        return
    if head == "jsonPayload" and len(path) >= 2:
        return
    raise Unsupported(f"field {'.'.join(path)} is not supported by this fake")


def _lookup(entry: dict[str, Any], path: tuple[str, ...]) -> tuple[bool, Any]:
    node: Any = entry
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False, None
        node = node[key]
    return True, node


def _compare(left: Any, op: str, right: Any) -> bool:
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: a == b, "!=": lambda a, b: a != b, ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b}
    return ops[op](left, right)


def _level(value: str) -> int:
    if value.upper() not in SEVERITY_LEVEL:
        raise Unsupported(f"unknown severity {value!r}")
    return SEVERITY_LEVEL[value.upper()]


def _instant(value: str) -> datetime:
    try:
        text = value.replace("Z", "+00:00")
        head, dot, rest = text.partition(".")
        if dot:
            digits = rest[:len(rest) - len(rest.lstrip("0123456789"))]
            text = f"{head}.{digits[:6].ljust(6, '0')}{rest[len(digits):]}"
        when = datetime.fromisoformat(text)
    except ValueError:
        raise Unsupported(f"not a timestamp: {value!r}") from None
    if when.tzinfo is None:
        raise Unsupported(f"a timestamp needs its offset: {value!r}")
    return when


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value
