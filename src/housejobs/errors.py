"""The exception tree. Every error a user can cause or meet ends here, as one line and an outcome.

An error is a `message` (what is wrong, one sentence) and an optional `hint` (the fix). A terminal and
the plain summary show the hint on a line of its own (`hint: …`); where one line is all there is (a log
record's message, a check's detail) `line()` joins them with `; `, never a nested parenthesis.
A name that is not one of a known list (a command, an option, an env, a job, a reminder type) is refused
with `unknown_name`, whose hint is the one typo-hint format, `choices_hint`.

    HousejobsError                     outcome, exit code, one-line message (never a secret)
    ├── UsageError                     refused (2): bad argument, env name, period, job name
    ├── ConfigError                    refused (2): config file, settings, credentials path
    ├── SecretError                    refused (2): a secret missing, unreadable or corrupt
    ├── NotConfirmed                   refused (2): prod without a confirmation
    └── ApiError                       failed (1): the effect is not done
        ├── ApiAuthError               refused (2): 401/403 (a partial run is decided by the job)
        ├── ApiStatusError             failed (1): a 4xx/5xx that is final (status, code)
        ├── ApiUnavailable             failed (1): retries or the deadline exhausted
        └── ApiProtocolError           failed (1): an answer that is not the contract (bad JSON, shape)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from housejobs.redact import cut, cut_middle, redact
from housejobs.results import JobResult, Outcome
from housejobs.stopping import Stopped as Stopped  # re-exported: part of the tree's contract


def one_line(text: str, limit: int = 200) -> str:
    """A message folded to one line and cut to `limit` characters: every error is one line.

    Redacted before it is folded (a secret may hold two spaces in a row) and cut by `redact.cut`,
    which masks before it cuts: text quoting a server's answer may quote a key.
    """
    return cut(" ".join(redact(text).split()), limit)


def first_line(exc: BaseException, limit: int = 300) -> str:
    """An exception's message (its `.message` where it has one) as one line, or its class name."""
    message = getattr(exc, "message", None) or str(exc)
    return one_line(str(message), limit) if str(message).strip() else exc.__class__.__name__


def _bounded(text: str) -> str:
    """`text` with every word longer than WORD_LIMIT (a pasted value, not prose) cut in its middle, then cut
    to MESSAGE_LIMIT; masked first wherever a cut is made. Text within both limits is left as it is."""
    if len(text) > WORD_LIMIT:
        text = _LONG_WORD.sub(lambda m: cut_middle(m.group(0), WORD_LIMIT), text)
    return cut_middle(text, MESSAGE_LIMIT) if len(text) > MESSAGE_LIMIT else text


# The most of an error's message (and of its hint) that is ever shown: messages name the value that broke a
# rule, and a value can be anything (a 5 MB URL pasted into .env was echoed whole, twice).
MESSAGE_LIMIT = 4000  # room for a doctor check's list of every missing grant; not for a 5 MB value
WORD_LIMIT = 200  # the most of one word (a value without spaces: a URL, a name, a number) that is shown
_LONG_WORD = re.compile(rf"\S{{{WORD_LIMIT + 1},}}")


class HousejobsError(Exception):
    outcome: Outcome = Outcome.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        # A long value cut in its middle (the rule it broke and where it came from stay), masked first so a
        # cut cannot leave part of a secret unmasked.
        message = _bounded(message)
        super().__init__(message)
        self.message = message
        self.hint = _bounded(hint) if hint is not None else None
        # What the job already knew when this happened: its summary and notification still name them.
        self.period: str | None = None
        self.target: str | None = None

    def line(self) -> str:
        """The message and its fix as one line, for a log record or a check's detail."""
        return join_hint(self.message, self.hint)

    def result(self) -> JobResult:
        """This error as a run's result, with what the job already knew (where it went, which period)."""
        return JobResult(self.outcome, self.message, target=self.target, period=self.period, hint=self.hint)


def join_hint(message: str, hint: str | None) -> str:
    """A message and its fix on one line: `message; hint`."""
    return f"{message}; {hint}" if hint else message


def choices_hint(word: str, choices: Iterable[str], *, see: str | None = None) -> str:
    """The one typo hint: `did you mean 'stage'? one of: test, stage, prod`. The closest name (difflib's
    measure, as click's) comes first, when one is close; then `see` (where the names are listed, e.g.
    "see `housejobs --help`"), else the names themselves."""
    import difflib

    names = list(dict.fromkeys(choices))
    close = difflib.get_close_matches(word, names, n=1, cutoff=0.6) if word else []  # the closest only
    ask = f"did you mean {close[0]!r}? " if close else ""
    return ask + (see if see is not None else "one of: " + ", ".join(names))


class UsageError(HousejobsError):
    outcome = Outcome.REFUSED


class ConfigError(HousejobsError):
    outcome = Outcome.REFUSED


class SecretError(HousejobsError):
    outcome = Outcome.REFUSED


class NotConfirmed(HousejobsError):
    outcome = Outcome.REFUSED


class ApiError(HousejobsError):
    outcome = Outcome.FAILED

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 attempts: int = 1, elapsed_s: float = 0.0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
        self.attempts = attempts
        self.elapsed_s = elapsed_s


class ApiAuthError(ApiError):
    outcome = Outcome.REFUSED


class ApiStatusError(ApiError):
    pass


class ApiUnavailable(ApiError):
    pass


class ApiProtocolError(ApiError):
    pass


def unknown_name(what: str, word: str, choices: Iterable[str], *, see: str | None = None) -> UsageError:
    """`unknown <what> 'word'`, refused with the typo hint (choices_hint)."""
    return UsageError(f"unknown {what} {cut(repr(word), 80)}", hint=choices_hint(word, choices, see=see))
