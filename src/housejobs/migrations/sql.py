"""SQL text as PostgreSQL's lexer sees it, as far as statement boundaries and comparison need it.

`split_statements` cuts a migration into the statements the Supabase CLI would record for it;
`normalise` reduces statements to one canonical text, so two splitters' answers compare equal;
`tokenize` is the one lexer both stand on (plan.py and run.py ask it about single statements and files).

MigrationError lives here because the lexer is the first code to judge a migration's text; files.py,
plan.py and run.py raise it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal, NamedTuple


class MigrationError(ValueError):
    """Bad input: a migration file, the directory, or a ledger answer we cannot trust."""


class Token(NamedTuple):
    kind: Literal["ws", "comment", "quoted", "word", "op", "semi", "punct"]
    start: int
    end: int


_WS = re.compile(r"\s+")
_WORD_RUN = re.compile(r"[\w$\x80-\U0010ffff]+")
_DIGITS = re.compile(r"[0-9]+")
_DOLLAR_TAG = re.compile(r"\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$")
_OP_CHARS = frozenset("+-*/<>=~!@#%^&|`?")


def _is_ident_char(c: str) -> bool:
    return c.isalnum() or c in "_$" or ord(c) >= 0x80


def _scan_quoted(sql: str, i: int, quote: str, *, backslash: bool) -> int | None:
    """End of the literal opened at sql[i]; a doubled quote (and in E'' strings a backslash) escapes."""
    n = len(sql)
    j = i + 1
    while j < n:
        c = sql[j]
        if backslash and c == "\\":
            j += 2
        elif c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
            else:
                return j + 1
        else:
            j += 1
    return None


def _scan_block_comment(sql: str, i: int) -> int | None:
    # PostgreSQL block comments nest, unlike C's.
    depth = 0
    n = len(sql)
    j = i
    while j < n:
        if sql.startswith("/*", j):
            depth += 1
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return None


def tokenize(sql: str) -> tuple[list[Token], str | None]:
    """Tokens covering all of sql, and an error when a quote or comment is never closed."""
    toks: list[Token] = []
    n = len(sql)
    i = 0
    error: str | None = None
    while i < n:
        c = sql[i]
        end: int | None
        if c.isspace():
            m = _WS.match(sql, i)
            assert m is not None
            toks.append(Token("ws", i, m.end()))
            i = m.end()
            continue
        if sql.startswith("--", i):
            nl = sql.find("\n", i)
            end = n if nl < 0 else nl
            toks.append(Token("comment", i, end))
            i = end
            continue
        if sql.startswith("/*", i):
            end = _scan_block_comment(sql, i)
            if end is None:
                error, end = f"unterminated /* comment at offset {i}", n
            toks.append(Token("comment", i, end))
            i = end
            continue
        if c in "'\"":
            end = _scan_quoted(sql, i, c, backslash=False)
            if end is None:
                error, end = f"unterminated {c}-quoted text at offset {i}", n
            toks.append(Token("quoted", i, end))
            i = end
            continue
        if c == "$":
            m = _DOLLAR_TAG.match(sql, i)
            if m is not None:
                close = sql.find(m.group(), m.end())
                if close < 0:
                    error, end = f"unterminated dollar-quoted string {m.group()} at offset {i}", n
                else:
                    end = close + len(m.group())
                toks.append(Token("quoted", i, end))
                i = end
                continue
            m = _DIGITS.match(sql, i + 1)
            if m is not None:  # a positional parameter such as $1
                toks.append(Token("word", i, m.end()))
                i = m.end()
                continue
            toks.append(Token("punct", i, i + 1))
            i += 1
            continue
        if c == ";":
            toks.append(Token("semi", i, i + 1))
            i += 1
            continue
        if _is_ident_char(c):
            m = _WORD_RUN.match(sql, i)
            assert m is not None
            end = m.end()
            if m.group() in ("E", "e") and end < n and sql[end] == "'":
                # E'...' is the one string form where backslash escapes the quote.
                quoted_end = _scan_quoted(sql, end, "'", backslash=True)
                if quoted_end is None:
                    error, quoted_end = f"unterminated E'' string at offset {i}", n
                toks.append(Token("quoted", i, quoted_end))
                i = quoted_end
                continue
            toks.append(Token("word", i, end))
            i = end
            continue
        if c in _OP_CHARS:
            # An operator never contains -- or /*: those start a comment (PostgreSQL lexical rules).
            j = i + 1
            while j < n and sql[j] in _OP_CHARS and not sql.startswith(("--", "/*"), j):
                j += 1
            toks.append(Token("op", i, j))
            i = j
            continue
        toks.append(Token("punct", i, i + 1))
        i += 1
    return toks, error


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements the way the Supabase CLI's `parser.SplitAndTrim` does.

    A `;` ends a statement unless it is inside a quote, dollar quote, comment, parentheses or a
    `BEGIN ATOMIC ... END` body; each statement is stripped of surrounding whitespace and its `;`, and
    empty ones are dropped. A comment after the last `;` stays a statement of its own, as in the CLI.
    Unlike the CLI (which ends an atomic body at the first "END" it sees, even inside a CASE), CASE
    ... END pairs are counted, as psql does. Raises MigrationError for an unterminated quote or comment,
    which would otherwise swallow the COMMIT that apply_sql appends.
    """
    toks, error = tokenize(sql)
    if error is not None:
        raise MigrationError(error)
    statements: list[str] = []
    start = 0
    parens = 0
    atomic = 0
    prev_word: str | None = None
    for tok in toks:
        if tok.kind in ("ws", "comment"):
            continue
        if tok.kind == "word":
            word = sql[tok.start:tok.end].upper()
            if (word == "ATOMIC" and prev_word == "BEGIN") or (atomic and word == "CASE"):
                atomic += 1
            elif atomic and word == "END":
                atomic -= 1
            prev_word = word
            continue
        prev_word = None
        if tok.kind == "punct" and sql[tok.start] == "(":
            parens += 1
        elif tok.kind == "punct" and sql[tok.start] == ")":
            parens = max(0, parens - 1)
        elif tok.kind == "semi" and parens == 0 and atomic == 0:
            piece = sql[start:tok.start].strip()
            if piece:
                statements.append(piece)
            start = tok.end
    tail = sql[start:].strip()
    if tail:
        statements.append(tail)
    return statements


def _needs_space(left: str, right: str) -> bool:
    # Whitespace only matters where removing it would merge two tokens: two words (`create table`,
    # `as $$`) or two operators (`- -`). Everywhere else, `t (x)` and `t(x)` are the same SQL.
    a, b = left[-1], right[0]
    return (_is_ident_char(a) and _is_ident_char(b)) or (a in _OP_CHARS and b in _OP_CHARS)


def normalise(statements: Iterable[str]) -> str:
    """One canonical text for a migration: comments dropped, insignificant whitespace dropped,
    empty statements dropped, statements joined with `;`.

    The text does not depend on where the statements were split, so statements stored by the Supabase
    CLI compare equal to ours even where the two splitters disagree. Quoted text is kept verbatim.
    """
    text = "\n;\n".join(statements)  # newline first: a statement may end in a -- comment
    toks, _ = tokenize(text)  # an unterminated tail is kept as one token; comparison still works
    out: list[str] = []
    spaced = False
    for tok in toks:
        if tok.kind in ("ws", "comment"):
            spaced = True
            continue
        piece = text[tok.start:tok.end]
        if tok.kind == "semi":
            if out and out[-1] != ";":
                out.append(";")
            spaced = False
            continue
        if spaced and out and _needs_space(out[-1], piece):
            out.append(" ")
        out.append(piece)
        spaced = False
    while out and out[-1] == ";":
        out.pop()
    return "".join(out)


def leading_words(statement: str, count: int) -> list[str]:
    """The first `count` words of a statement, upper-cased, with comments and quoted text skipped."""
    toks, _ = tokenize(statement)
    return [statement[t.start:t.end].upper() for t in toks if t.kind == "word"][:count]
