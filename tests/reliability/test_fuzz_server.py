"""Hostile server answers, fuzzed: each API job against a local server that answers whatever hypothesis
draws: any status from 100 to 599, bodies of the wrong JSON types for the contract's fields, missing
fields, 5 MB bodies, bytes that are not UTF-8, HTML, deeply nested JSON, and odd headers (garbage
Retry-After, Idempotent-Replayed variants, a body that echoes the API key it was sent).

Each run must end with the exit code the answer calls for, decided here from the contract in
docs/api.md: 0 only for a 2xx (not 204) whose body meets the contract, `duplicate` exactly when the
answer says it replayed; 2 for 401/403 (and the bot's 404: no reminder routes); 1 for anything else.
And always: one error line (tests/support/fuzz.py), no traceback or internal error, no secret echoed,
never `applied` for an answer that does not meet the contract.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fakes.server import LocalServer, QuietHandler
from tests.support.cli import Cli, CliResult
from tests.support.fuzz import fuzz, job_error_line
from tests.support.sentinels import assert_no_secret

FUZZ = fuzz(50)
DATE, MONTH = "2026-11-24", "2026-11"  # the FakeClock's today
ORGS = ["org-a", "org-b"]
ENV = {"HOUSEJOBS_MAX_ATTEMPTS": "2", "HOUSEJOBS_DEADLINE": "5", "HOUSEJOBS_TIMEOUT": "3",
       "HOUSEJOBS_RETRY_AFTER_CAP": "2"}
BIG = 5 * 1024 * 1024
ECHO_KEY = json.dumps({"error": {"code": "bad_key", "message": "key __KEY__ refused"}}).encode()


@dataclass
class Answer:
    status: int
    body: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    def replace_org(self, org: str) -> Answer:
        return Answer(self.status, self.body.replace(b"__ORG__", org.encode()), self.headers)

    def __repr__(self) -> str:  # a 5 MB body would bury the falsifying example
        body = self.body if len(self.body) <= 200 else self.body[:200] + b"...(%d bytes)" % len(self.body)
        return f"Answer({self.status}, {body!r}, {self.headers!r})"


class Hostile:
    """A local HTTP server that answers every request on a route with the answer set for it."""

    def __init__(self) -> None:
        self.answers: dict[str, Answer] = {}
        self.seen: list[str] = []
        owner = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._answer()

            def do_POST(self) -> None:
                self._answer()

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                path = self.path.split("?")[0]
                owner.seen.append(f"{self.command} {path}")
                route = "sync" if path.endswith("/sync") else "list" if path == "/admin/orgs" else "post"
                answer = owner.answers[route]
                key = self.headers.get("X-CA-Root-Key") or self.headers.get("x-household-scheduler-secret") or ""
                body = answer.body.replace(b"__ORG__", path.split("/")[-2].encode()).replace(b"__KEY__", key.encode())
                head = [f"HTTP/1.1 {answer.status} Whatever".encode()]
                head += [k.encode() + b": " + v for k, v in answer.headers]
                head += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
                try:
                    self.wfile.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
                    self.wfile.flush()
                except OSError:
                    pass  # the client gave up on a long answer
                self.close_connection = True

        class Server(LocalServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # hostile answers make clients hang up in every way there is

        self.httpd = Server(Handler, name="hostile")
        self.url = self.httpd.url

    def reset(self, **answers: Answer) -> None:
        self.answers = answers
        self.seen = []


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    server = Hostile()
    with server.httpd:
        yield server


# --- what the contract calls for ------------------------------------------------------------------
def count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def json_body(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except (ValueError, RecursionError):
        return None


def success(answer: Answer) -> bool:
    """A status the contract's answers come with: 2xx, and not 204 (which has no body)."""
    return 200 <= answer.status < 300 and answer.status != 204


Contract = Callable[[Any], bool]
CONTRACTS: dict[str, Contract] = {
    "quota-reset": lambda d: isinstance(d, dict) and d.get("date") == DATE and count(d.get("orgs_reset")),
    "quota-monthly": lambda d: isinstance(d, dict) and d.get("month") == MONTH and count(d.get("orgs_reset")),
    "bootstrap": lambda d: (isinstance(d, dict) and d.get("mode") in ("fresh", "sync")
                            and count(d.get("tables_created")) and count(d.get("columns_added"))),
    "reminder": lambda d: (isinstance(d, dict) and d.get("ok") is True and d.get("outcome") in ("claimed", "duplicate")
                           and d.get("reminderType") == "utilities" and d.get("period") == MONTH
                           and d.get("dedupeKey") == f"{MONTH}:utilities" and isinstance(d.get("jobId"), str)),
}
VALID: dict[str, dict[str, Any]] = {
    "quota-reset": {"date": DATE, "orgs_reset": 3},
    "quota-monthly": {"month": MONTH, "orgs_reset": 3},
    "bootstrap": {"mode": "fresh", "tables_created": 5, "columns_added": 0},
    "reminder": {"ok": True, "jobId": "j-1", "reminderType": "utilities", "period": MONTH,
                 "dedupeKey": f"{MONTH}:utilities", "outcome": "claimed", "dryRun": False},
    "list": {"orgs": [{"org_slug": o, "status": "active"} for o in ORGS], "next_page_token": None},
    "sync": {"org_slug": "__ORG__", "datasets_synced": 2},  # the server puts the org it was asked for
}
ARGV = {
    "quota-reset": ("quota-reset", "--api-url"),
    "quota-monthly": ("quota-monthly", "--api-url"),
    "bootstrap": ("bootstrap", "--api-url"),
    "reminder": ("reminder", "utilities", "--bot-url"),
}


def replayed(answer: Answer) -> bool:
    values = [v for k, v in answer.headers if k.lower() == "idempotent-replayed"]
    return len(values) == 1 and values[0].strip().lower() == b"true"


# --- hostile answers --------------------------------------------------------------------------------
STATUSES = st.one_of(
    st.sampled_from([200, 200, 201, 202, 203, 204, 206, 299, 301, 302, 304, 307, 400, 401, 403, 404, 408, 409,
                     410, 418, 422, 425, 429, 451, 499, 500, 502, 503, 504, 599]),
    st.integers(100, 599),
)
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5), st.integers(2**63, 2**70), st.floats(allow_nan=False),
    st.sampled_from(["3", "", "fresh", "sync", "claimed", "duplicate", "dry-run", DATE, MONTH, "2026-11-23",
                     "2026-12", "\u202e", "x" * 300, "a\nb"]),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def bodies(draw: st.DrawFn, valid: dict[str, Any]) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind <= 3:  # the contract's body, maybe with a field missing, retyped or added
        doc = dict(valid)
        for _ in range(draw(st.integers(0, 2))):
            key = draw(st.sampled_from([*doc, "extra"])) if doc else "extra"
            if draw(st.booleans()) and key in doc:
                del doc[key]
            else:
                doc[key] = draw(ODD_VALUES)
        if kind == 3:  # a huge answer: padded past 5 MB
            doc["padding"] = "x" * BIG
        return json.dumps(doc).encode()
    if kind == 4:
        return json.dumps(draw(st.one_of(ODD_VALUES, st.lists(st.just(valid), max_size=2)))).encode()
    if kind == 5:  # the contract's error shape, with odd codes and messages
        code = draw(ODD_VALUES | st.sampled_from(["idempotency_in_flight", "idempotency_mismatch", "x\ny"]))
        message = draw(ODD_VALUES | st.text(max_size=30))
        return json.dumps({"error": {"code": code, "message": message}}).encode()
    return draw(st.sampled_from([
        b"", b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"\xff\xfe\x00{", b'{"orgs_reset": 3',
        json.dumps(valid).encode()[:-1], b"NaN", b'{"orgs_reset": NaN}', b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 50_000 + b"1" + b"}" * 50_000, b"\xef\xbb\xbf" + json.dumps(valid).encode(),
        json.dumps(valid).encode() + b"\x00garbage", b"x" * BIG,
    ]))


HEADERS = st.lists(st.one_of(
    st.tuples(st.just("Retry-After"), st.sampled_from(
        [b"", b"0", b"1", b"abc", b"-1", b"1.5", b"\xb2", b"\xb9\xb2", b"99999999999999999999", b"1e3",
         b"Wed, 21 Oct 2015 07:28:00 GMT", b"Fri, 31 Dec 9999 23:59:59 GMT", b"Tue, 24 Nov 2026 10:00:01 GMT",
         b"Mon, 99 Foo 2026 99:99:99 GMT"])),
    st.tuples(st.just("Idempotent-Replayed"), st.sampled_from(
        [b"true", b"TRUE", b"True", b" true", b"false", b"yes", b"1", b"", b"true, true", b"\xfftrue"])),
    st.tuples(st.just("Content-Type"), st.sampled_from(
        [b"application/json", b"text/html", b"application/json; charset=latin-1", b"application/xml"])),
), max_size=3)


@st.composite
def answers(draw: st.DrawFn, valid: dict[str, Any]) -> Answer:
    if draw(st.integers(0, 4)) == 0:  # a good answer, so the property sees the accepting side too
        return Answer(200, json.dumps(valid).encode(), draw(HEADERS))
    if draw(st.integers(0, 9)) == 0:  # a server that quotes the credential it was sent back at us
        return Answer(draw(STATUSES), ECHO_KEY, draw(HEADERS))
    return Answer(draw(STATUSES), draw(bodies(valid)), draw(HEADERS))


# --- properties ------------------------------------------------------------------------------------
def run(cli: Cli, hostile: Hostile, job: str, *extra: str) -> CliResult:
    result = cli(*ARGV[job], hostile.url, "--json", *extra, env=ENV)
    assert_no_secret(result.stdout + result.stderr)
    for marker in ("Traceback", "internal error"):
        assert marker not in result.stdout + result.stderr, result.stdout
    return result


def expected_code(job: str, answer: Answer) -> int:
    if success(answer) and CONTRACTS[job](json_body(answer)):
        return 0
    if answer.status in (401, 403) or (job == "reminder" and answer.status == 404):
        return 2
    return 1


@FUZZ
@given(job=st.sampled_from(sorted(CONTRACTS)), debug=st.booleans(), data=st.data())
def test_single_call_jobs(cli: Cli, hostile: Hostile, job: str, debug: bool, data: st.DataObject) -> None:
    answer = data.draw(answers(VALID[job]), label="answer")
    hostile.reset(post=answer)
    result = run(cli, hostile, job, *(("--debug",) if debug else ()))  # debug logs must not leak either
    assert hostile.seen, "the job sent nothing"
    want = expected_code(job, answer)
    assert result.code == want, (answer, result.stdout)
    outcome = json.loads(result.stdout)["outcome"]
    if want == 0:
        if job == "reminder":
            assert outcome == {"claimed": "applied", "duplicate": "duplicate"}[json_body(answer)["outcome"]]
        else:
            assert outcome == ("duplicate" if replayed(answer) else "applied"), (answer, outcome)
    else:
        job_error_line(result)


# Regression examples found by the property above, pinned as plain tests.
@pytest.mark.parametrize(("job", "answer", "code"), [
    ("quota-reset", Answer(301, json.dumps(VALID["quota-reset"]).encode()), 1),
    ("quota-reset", Answer(200, json.dumps({"date": "2026-11-23", "orgs_reset": 3}).encode()), 1),
    ("quota-monthly", Answer(200, json.dumps({"orgs_reset": 3}).encode()), 1),
    ("quota-reset", Answer(503, b"", [("Retry-After", b"\xb2")]), 1),
    ("bootstrap", Answer(200, b"[" * 100_000 + b"]" * 100_000), 1),
    ("bootstrap", Answer(500, b"[" * 100_000 + b"]" * 100_000), 1),
    ("quota-reset", Answer(422, json.dumps({"error": {"code": "a\nb" * 1000, "message": "m"}}).encode()), 1),
    ("reminder", Answer(101, b""), 1),
    ("quota-reset", Answer(401, ECHO_KEY), 2),
    ("reminder", Answer(400, ECHO_KEY), 1),
])
def test_hostile_answer_examples(cli: Cli, hostile: Hostile, job: str, answer: Answer, code: int) -> None:
    hostile.reset(post=answer)
    result = run(cli, hostile, job)
    assert result.code == code, result.stdout
    job_error_line(result)


def org_listing_ok(answer: Answer) -> bool:
    """One page that ends the listing (the server answers every page alike: a next_page_token repeats)."""
    d = json_body(answer)
    return (success(answer) and isinstance(d, dict) and isinstance(d.get("orgs"), list)
            and not d.get("next_page_token"))


def sync_ok(answer: Answer, org: str) -> bool:
    d = json_body(answer.replace_org(org))
    return success(answer) and isinstance(d, dict) and d.get("org_slug") == org and count(d.get("datasets_synced"))


@FUZZ
@given(data=st.data())
def test_org_sync_all(cli: Cli, hostile: Hostile, data: st.DataObject) -> None:
    listing = data.draw(answers(VALID["list"]), label="listing")
    sync = data.draw(answers(VALID["sync"]), label="sync")
    hostile.reset(list=listing, sync=sync)
    result = cli("org-sync-all", "--api-url", hostile.url, "--concurrency", "2", "--json", env=ENV)
    assert_no_secret(result.stdout + result.stderr)
    assert "internal error" not in result.stdout + result.stderr, result.stdout
    doc = json.loads(result.stdout)
    listed = json_body(listing)
    if not org_listing_ok(listing):
        # A next_page_token is followed, and the same token twice is a loop the client must stop.
        assert result.code in (1, 2, 3), (listing, doc)
        assert doc["outcome"] not in ("applied", "duplicate")
        job_error_line(result, raised=False)
        return
    # An entry the listing marks other than active is skipped; anything but an object is an invalid id.
    entries = [e for e in listed["orgs"] if not isinstance(e, dict) or e.get("status") == "active"]
    slugs = [e.get("org_slug") if isinstance(e, dict) else None for e in entries]  # the contract lists objects
    valid_orgs = [s for s in slugs if isinstance(s, str) and re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", s)]
    if not entries:
        assert doc["outcome"] == "skipped" and result.code == 0
    elif all(sync_ok(sync, org) for org in valid_orgs) and len(valid_orgs) == len(slugs):
        assert result.code == 0 and doc["outcome"] == ("duplicate" if replayed(sync) else "applied"), doc
        # Each org once, however often the listing names it.
        assert doc["counts"]["datasets_synced"] == len(set(slugs)) * json_body(sync)["datasets_synced"]
    else:
        assert result.code in (1, 2, 3), (sync, doc)
        assert doc["outcome"] not in ("applied", "duplicate")
        job_error_line(result, raised=False)


@pytest.mark.parametrize(("listing", "sync", "code"), [
    # The same next_page_token on every page: the listing used to be read forever.
    ({**VALID["list"], "next_page_token": "again"}, VALID["sync"], {1, 3}),
    # Every org failed and none synced: `failed` (1), not `partial`.
    (VALID["list"], {"org_slug": "__ORG__", "datasets_synced": -2}, {1}),  # a negative count
    (VALID["list"], {"org_slug": "someone-else", "datasets_synced": 2}, {1}),  # an answer for another org
    ({"orgs": ["org-a\n"], "next_page_token": None}, VALID["sync"], {1}),  # `$` let "org-a\n" into a URL
])
def test_org_sync_examples(cli: Cli, hostile: Hostile, listing: dict[str, Any], sync: dict[str, Any],
                           code: set[int]) -> None:
    hostile.reset(list=Answer(200, json.dumps(listing).encode()), sync=Answer(200, json.dumps(sync).encode()))
    result = cli("org-sync-all", "--api-url", hostile.url, "--concurrency", "2", "--json", env=ENV)
    assert result.code in code, result.stdout
    assert json.loads(result.stdout)["outcome"] not in ("applied", "duplicate")
    job_error_line(result, raised=False)
