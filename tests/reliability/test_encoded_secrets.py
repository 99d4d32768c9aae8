"""A secret a server quotes back encoded is masked too (issue 21, finding 2).

A server (the admin API, the bot, Supabase's Management API) answers 400 with the credential it was sent,
encoded, in its error message; a hostile proxy quotes the `Proxy-Authorization` it got (base64 of
`user:password`). The message reaches the summary, the --json document, the log lines and the webhook body:
the secret must reach none of them in any of the forms GitHub Actions' runner masks (base64 at its three
alignments, standard and URL-safe, with and without padding; URL-, JSON- and XML-escaped), nor in hex, HTML
character references or `quote_plus`. Real processes are not needed: the registry starts empty for each test
(`fresh_redaction`), as in a fresh process.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape as xml_escape

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from housejobs import redact
from tests.fakes.proxy import ForwardingProxy
from tests.fakes.scripted import ScriptedServer
from tests.fakes.server import Request
from tests.reliability.test_secret_leaks import FILLER_CHARS, SECRET_CHARS, touching_fragment
from tests.support.cli import Cli, CliResult
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import PROXY_PASSWORD, PROXY_USER
from tests.support.sink_fixtures import Sinks, hook_url

# Values of their own, with the characters that make each escaping differ from the value (all of them
# printable ASCII: each travels in an HTTP header).
KEYS = {
    "CA_ROOT_API_KEY": "ck_live/4f9a+2b7c=8d1e&6f<a3>\"c9'd8",
    "SCHEDULER_SHARED_SECRET": "bot secret/7d3e+9a1c&5b2f<8e>\"4d'6a",
    "SUPABASE_ACCESS_TOKEN": "sbp_4c2e/9f1a+7b3d&5e8c<0a>\"6f'9b",
}


def _b64(data: bytes, *, urlsafe: bool = False, pad: bool = True) -> str:
    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return text if pad else text.rstrip("=")


def _after(n: int, *, urlsafe: bool, pad: bool) -> Callable[[str], str]:
    """Base64 of the secret after n other bytes: each n is one of the three alignments in a base64 stream."""
    return lambda s: _b64(b"u:p"[:n] + s.encode(), urlsafe=urlsafe, pad=pad)


ENCODINGS: dict[str, Callable[[str], str]] = {
    **{f"base64-{name}-after-{n}": _after(n, urlsafe=u, pad=p)
       for n in (0, 1, 2) for name, u, p in (("std", False, True), ("std-nopad", False, False),
                                             ("urlsafe", True, True), ("urlsafe-nopad", True, False))},
    "quote": lambda s: quote(s, safe=""), "quote-default-safe": quote, "quote_plus": quote_plus,
    "quote-lower-case": lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(s, safe="")),
    "hex": lambda s: s.encode().hex(), "HEX": lambda s: s.encode().hex().upper(),
    "html-escape": html.escape, "xml-escape": lambda s: xml_escape(s, {'"': "&quot;", "'": "&apos;"}),
    "html-decimal-refs": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html-hex-refs": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "json-escaped": lambda s: json.dumps(s)[1:-1],
    "json-escaped-slashes": lambda s: json.dumps(s)[1:-1].replace("/", "\\/"),
}
PIECE = 12  # any piece this long of the encoded secret in the output is a leak


@pytest.fixture(autouse=True)
def fresh_redaction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact, "_values", set())


def strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def decoded(text: str) -> list[str]:
    """`text`, and the strings inside it when it is JSON (a document, or a JSON object per line)."""
    out = [text]
    for chunk in [text, *text.splitlines()]:
        try:
            out += list(strings(json.loads(chunk)))
        except ValueError:
            continue
    return out


def assert_not_shown(texts: list[str], encoded: str, where: str) -> None:
    for text in texts:
        for text_form in decoded(text):
            pieces = (encoded[i:i + PIECE] for i in range(len(encoded) - PIECE + 1))
            leaked = [piece for piece in pieces if piece in text_form]
            assert not leaked, f"{leaked[0]!r} of the encoded secret {encoded!r} is in {where}: {text_form[:600]}"


def quoting(encode: Callable[[str], str]) -> ScriptedServer:
    """Answers 400 with the credential it got, encoded, in its error message."""
    def answer(request: Request) -> tuple[int, Any]:
        key = (request.header("x-ca-root-key") or request.header("x-household-scheduler-secret")
               or request.header("authorization").removeprefix("Bearer "))
        message = "x" * 30 + " offending key: " + encode(key) + " (rejected)"
        if request.path.startswith("/v1/projects/"):  # Supabase's Management API: {"message": ...}
            return 400, {"message": message}
        return 400, {"error": {"code": "bad_key", "message": message}}
    return ScriptedServer(answer)


RUNS = {
    "admin": ("CA_ROOT_API_KEY", ("quota-reset", "--api-url", "{url}", "--date", "2026-11-24")),
    "bot": ("SCHEDULER_SHARED_SECRET", ("reminder", "utilities", "--bot-url", "{url}", "--period", "2026-11")),
    "supabase": ("SUPABASE_ACCESS_TOKEN", ("migrate", "--env", "test", "--dir", "{dir}", "--yes")),
}


def runs(cli: Cli, command: list[str], env: dict[str, str]) -> list[CliResult]:
    """The run as a person sees it (summary, log lines, a google-chat webhook) and as a script does (--json,
    a json webhook)."""
    out = []
    for fmt, extra in (("google-chat", ()), ("json", ("--json",))):
        result = cli(*command, *extra, env={**env, "HOUSEJOBS_NOTIFY_FORMAT": fmt})
        assert result.code == 1, result.stdout + result.stderr
        assert "x" * 30 in result.stdout  # the server's words are shown (the key is not: below)
        out.append(result)
    return out


@pytest.mark.parametrize("encoding", sorted(ENCODINGS))
@pytest.mark.parametrize("route", sorted(RUNS))
def test_a_secret_quoted_back_encoded_is_masked(cli: Cli, tmp_path: Path, sinks: Sinks, route: str,
                                               encoding: str) -> None:
    var, argv = RUNS[route]
    secret = KEYS[var]
    encoded = ENCODINGS[encoding](secret)
    assert encoded != secret or encoding == "quote-default-safe"
    folder = tmp_path / "migrations"
    folder.mkdir(exist_ok=True)
    (folder / "20260101000000_create_a.sql").write_text("create table public.a (id int);\n")
    hook = sinks["ok"]
    with quoting(ENCODINGS[encoding]) as api:
        env = {var: secret, "HOUSEJOBS_SUPABASE_API_URL": api.url,
               "HOUSEJOBS_SUPABASE_PROJECT_REF": "testprojectref000000", "HOUSEJOBS_NOTIFY_ON": "all",
               "HOUSEJOBS_NOTIFY_URL": hook_url(hook), "HOUSEJOBS_NOTIFY_TIMEOUT": "2"}
        results = runs(cli, [a.format(url=api.url, dir=folder) for a in argv], env)
        assert api.requests(), "the job never called the server"
    for result in results:
        assert_not_shown([result.stdout], encoded, "stdout")
        assert_not_shown([result.stderr], encoded, "the log lines")
    bodies = [r.body.decode() for r in hook.requests]
    assert len(bodies) == 2 and all("x" * 30 in body for body in bodies)
    assert_not_shown(bodies, encoded, "a webhook body")


def test_a_proxy_quoting_the_proxy_authorization_it_got_is_masked(cli: Cli, sandbox: SandboxHandle,
                                                                  sinks: Sinks) -> None:
    hook = sinks["ok"]
    with ForwardingProxy(credentials=(PROXY_USER, PROXY_PASSWORD), quote_credentials=True) as proxy:
        env = {"HTTP_PROXY": proxy.url_with(PROXY_USER, PROXY_PASSWORD), "NO_PROXY": "",
               "HOUSEJOBS_NOTIFY_ON": "all", "HOUSEJOBS_NOTIFY_URL": hook_url(hook), "HOUSEJOBS_NOTIFY_TIMEOUT": "2"}
        results = []
        for fmt, extra in (("slack", ()), ("json", ("--json",))):
            result = cli("quota-reset", "--api-url", sandbox.url, "--date", "2026-11-24", *extra,
                         env={**env, "HOUSEJOBS_NOTIFY_FORMAT": fmt})
            assert result.code == 1 and "proxy refused: got Proxy-Authorization: Basic" in result.stdout
            results.append(result)
        got = proxy.requests()[0].proxy_authorization
    assert got is not None and got.startswith("Basic ")
    encoded = got.removeprefix("Basic ")  # base64 of user:password, as httpx sent it
    assert base64.b64decode(encoded).decode() == f"{PROXY_USER}:{PROXY_PASSWORD}"
    for result in results:
        assert_not_shown([result.stdout, result.stderr], encoded, "the run's output")
        assert PROXY_PASSWORD not in result.stdout + result.stderr
    assert_not_shown([r.body.decode() for r in hook.requests], encoded, "a webhook body")


def test_short_values_and_short_forms_mask_no_ordinary_words() -> None:
    """The minimum length holds for the encoded forms too: a 5-character value registers nothing, and
    no form of a longer one is shorter than MIN_PART (a 6-byte value's base64 after 2 bytes is 5 characters)."""
    redact.register("admin")
    assert redact.redact("admin YWRtaW4 61646d696e") == "admin YWRtaW4 61646d696e"
    for value in ("abcdef", "ck_live/4f9a", KEYS["CA_ROOT_API_KEY"]):
        assert all(len(form) >= redact.MIN_PART for form in redact.encoded_forms(value))
    redact.register("abcdef")
    assert redact.redact("abcde and bcdef, YWJjZGVm 616263646566") == "abcde and bcdef, **** ****"


# --- the parts of a secret URL (issue 21, finding 10) ---------------------------------------------------------
HOOK_TOKEN = "sentinel-hook-token-4b2a"  # the suite's leak check looks for it in every output too


def test_a_webhook_token_in_the_host_is_masked(cli: Cli) -> None:
    """`https://<token>.m.pipedream.net/`: the token is the host's first label. A webhook that cannot be
    reached is named in a warning by its scheme, host and port, which showed the token."""
    url = f"https://{HOOK_TOKEN}.m.pipedream.invalid/"
    result = cli("quota-reset", "--date", "2026-11-24", env={"HOUSEJOBS_NOTIFY_URL": url, "HOUSEJOBS_NOTIFY_ON": "all",
                                                              "HOUSEJOBS_NOTIFY_TIMEOUT": "2"})
    assert result.code == 0
    warning = next(r["message"] for r in result.log_records() if "not delivered to webhook" in r["message"])
    assert "https://****.m.pipedream.invalid" in warning
    assert HOOK_TOKEN not in result.stdout + result.stderr


@pytest.mark.parametrize(("url", "quoted", "kept"), [
    ("https://x9tok3n-in-the-host.m.pipedream.net/", "x9tok3n-in-the-host.m.pipedream.net", "m.pipedream.net"),
    ("https://hook.example:t0ken-for-a-port/", "port 't0ken-for-a-port'", "port"),
    ("https://hooks.slack.com/services/T0000/B0000/AbCd1234EfGh5678", "path AbCd1234EfGh5678", "path"),
    ("https://hc-ping.com/5f1e0c9a-7b2d-4e8c-9a7c-3e1f5f1e0c9a/housejobs-{job}",
     "check 5f1e0c9a-7b2d-4e8c-9a7c-3e1f5f1e0c9a failed", "failed"),
    ("https://chat.example/v1/spaces/x?key=plain-query-value&token=t%2Bk3n-value", "token t+k3n-value", "token"),
    ("https://ops:pr0xy-pass-word@hook.example/", "user ops pass pr0xy-pass-word", "user"),
])
def test_each_secret_part_of_a_url_is_masked_on_its_own(url: str, quoted: str, kept: str) -> None:
    redact.register(url)
    shown = redact.redact(f"message quoting {quoted}")
    assert "****" in shown and kept in shown, shown
    assert redact.redact("housejobs-quota-reset-stage services hooks") == "housejobs-quota-reset-stage services hooks"


@settings(max_examples=200, deadline=None, database=None)
@given(secret=st.text(SECRET_CHARS, min_size=redact.MIN_PART, max_size=60), head=st.text(FILLER_CHARS, max_size=900),
       tail=st.text(FILLER_CHARS, max_size=900), limit=st.integers(40, 600))
def test_a_middle_cut_leaves_no_fragment_of_a_secret(secret: str, head: str, tail: str, limit: int) -> None:
    """An error's message is cut in its middle (its start and end stay): a secret it quotes is masked, and
    no piece of it is left on either side of the cut."""
    redact._values.clear()
    redact.register(secret)
    for text in (head + secret + tail, head + secret[: len(secret) // 2], secret[len(secret) // 2:] + tail):
        out = redact.cut_middle(text, limit)
        assert len(out) <= limit and secret not in out
        assert touching_fragment(out, secret) is None, (text, out)


def test_a_job_name_filled_into_a_check_in_url_stays_readable(cli: Cli, sinks: Sinks) -> None:
    """A check-in URL per job (`…/<ping-key>/housejobs-{job}`) is a secret, and a text's start counts as a cut:
    every line starting with the job's name (the summary: `quota-reset · target …`) was masked, `**** · target`,
    taken for the URL's tail. At a text's own start and end a secret URL's plain parts are not fragments of it;
    its token is a secret of its own."""
    check = sinks["ok"]
    url = f"{check.url}/ping/k3y-{HOOK_TOKEN}/housejobs-{{job}}"
    result = cli("quota-reset", "--date", "2026-11-24", env={"HOUSEJOBS_HEALTHCHECK_URL": url,
                                                              "HOUSEJOBS_NOTIFY_TIMEOUT": "2"})
    assert result.code == 0 and result.stdout.startswith("quota-reset · target: embedded sandbox"), result.stdout
    assert check.requests and all(r.path.endswith(("/housejobs-quota-reset", "/start")) for r in check.requests)
    redact.register(url.replace("{job}", "quota-reset"))
    assert redact.redact(f"k3y-{HOOK_TOKEN}/housejobs-quota-reset") == "****/housejobs-quota-reset"
