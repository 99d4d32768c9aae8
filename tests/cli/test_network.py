"""The network an operator works in: proxies (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) and private CAs
(SSL_CERT_FILE, SSL_CERT_DIR), read from the run's environment. Real sockets throughout: a forwarding
proxy on 127.0.0.1 (tests/fakes/proxy.py), the sandbox as the admin API, over TLS with a CA made here.
Which route a URL takes, as a rule, is tests/unit/api/test_network.py."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from housejobs.api.network import ssl_context
from housejobs.errors import ConfigError
from tests.fakes.proxy import ForwardingProxy, Seen
from tests.fakes.supabase import FakeSupabaseApi
from tests.fakes.tls import PrivateCa, subject_hash
from tests.support.cli import Cli
from tests.support.process import run_cli_process
from tests.support.sandbox import Sandboxes, SandboxHandle
from tests.support.sentinels import PROXY_PASSWORD, PROXY_USER, ROOT_KEY, SENTINELS, assert_no_secret
from tests.support.sink_fixtures import HOOK_TOKEN, Sinks, hook_url

DATE = "2026-11-24"
PATH = "/admin/quota/reset-daily"


def quota_reset(cli: Cli, url: str, *extra: str, env: dict[str, str] | None = None,
                unset: tuple[str, ...] = ()) -> dict[str, object]:
    result = cli("quota-reset", "--api-url", url, "--date", DATE, "--json", "--deadline", "10", *extra,
                 env=env, unset=unset)
    assert PROXY_PASSWORD not in result.stdout + result.stderr
    doc: dict[str, object] = {"code": result.code, "stderr": result.stderr}
    if result.stdout.strip():
        doc.update(result.json())
    return doc


@pytest.fixture
def proxy() -> Iterator[ForwardingProxy]:
    with ForwardingProxy() as server:
        yield server


@dataclass
class TlsSandbox:
    url: str
    handle: SandboxHandle  # its control routes, over plain HTTP on a second port


@pytest.fixture
def ca(tmp_path: Path) -> PrivateCa:
    return PrivateCa.create(tmp_path / "ca")


@pytest.fixture
def tls_sandbox(tmp_path: Path, ca: PrivateCa, sandbox_factory: Sandboxes) -> TlsSandbox:
    """The sandbox serving the contract over TLS, with a certificate only the test's CA vouches for."""
    served = sandbox_factory("tls-sandbox", orgs=3, tls=ca.issue(tmp_path / "certs"))
    # The counters, read through a plain-HTTP server on the same database.
    control = sandbox_factory("tls-sandbox", orgs=0, scheduler_secret=None)
    return TlsSandbox(served.url, control)


# --- a forwarding proxy sees what it should ------------------------------------------------------------
def test_http_proxy_forwards_the_admin_call(cli: Cli, sandbox: SandboxHandle, proxy: ForwardingProxy) -> None:
    result = quota_reset(cli, sandbox.url, env={"HTTP_PROXY": proxy.url})
    assert result["code"] == 0 and result["outcome"] == "applied", result["stderr"]
    assert proxy.requests() == [Seen("POST", sandbox.url + PATH, None)]
    assert sandbox.counters("quota-reset") == {f"quota-reset:{DATE}": 1}


@pytest.mark.parametrize("variable", ["http_proxy", "ALL_PROXY", "all_proxy"])
def test_lower_case_and_all_proxy_are_honoured(cli: Cli, sandbox: SandboxHandle, proxy: ForwardingProxy,
                                               variable: str) -> None:
    # A scheme-less value means http://, as curl and httpx read it.
    result = quota_reset(cli, sandbox.url, env={variable: proxy.url.removeprefix("http://")})
    assert result["code"] == 0
    assert [s.target for s in proxy.requests()] == [sandbox.url + PATH]


def test_lower_case_wins_over_upper_case(cli: Cli, sandbox: SandboxHandle, proxy: ForwardingProxy) -> None:
    result = quota_reset(cli, sandbox.url, env={"http_proxy": proxy.url, "HTTP_PROXY": "http://127.0.0.1:9"})
    assert result["code"] == 0 and len(proxy.requests()) == 1


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost, 127.0.0.1", "127.0.0.0/8", "*", "{port}"])
def test_no_proxy_bypasses_the_proxy(cli: Cli, sandbox: SandboxHandle, proxy: ForwardingProxy,
                                     no_proxy: str) -> None:
    value = no_proxy.replace("{port}", sandbox.url.removeprefix("http://"))  # 127.0.0.1:<its port>
    first = quota_reset(cli, sandbox.url, env={"HTTP_PROXY": proxy.url})
    assert first["outcome"] == "applied" and len(proxy.requests()) == 1  # the proxy is in the path...
    again = quota_reset(cli, sandbox.url, env={"HTTP_PROXY": proxy.url, "NO_PROXY": value})
    assert again["code"] == 0 and again["outcome"] == "duplicate"
    assert len(proxy.requests()) == 1  # ...until NO_PROXY names the host
    assert sandbox.routes()[PATH] == 2


def test_no_proxy_for_another_port_does_not_bypass(cli: Cli, sandbox: SandboxHandle,
                                                   proxy: ForwardingProxy) -> None:
    result = quota_reset(cli, sandbox.url, env={"HTTP_PROXY": proxy.url, "no_proxy": "127.0.0.1:1"})
    assert result["code"] == 0 and len(proxy.requests()) == 1


def test_proxy_credentials_are_sent_and_never_shown(cli: Cli, sandbox: SandboxHandle) -> None:
    with ForwardingProxy(credentials=(PROXY_USER, PROXY_PASSWORD)) as proxy:
        proxied = {"HTTP_PROXY": proxy.url_with(PROXY_USER, PROXY_PASSWORD)}
        result = quota_reset(cli, sandbox.url, "--debug", env=proxied)
        assert result["code"] == 0 and result["outcome"] == "applied"
        [seen] = proxy.requests()
        assert seen.proxy_authorization is not None and seen.proxy_authorization.startswith("Basic ")
        # A wrong password: the proxy's 407 is the run's failure, and the password still shows nowhere.
        wrong = {"HTTP_PROXY": proxy.url_with(PROXY_USER, PROXY_PASSWORD + "-wrong")}
        refused = quota_reset(cli, sandbox.url, env=wrong)
        assert refused["code"] == 1 and "407" in str(refused["message"])
        shown = cli("config", "show", "--json", env={**proxied, "HOUSEJOBS_API_URL": sandbox.url})
        address = proxy.url.removeprefix("http://")
    assert PROXY_PASSWORD not in shown.stdout
    [admin] = [c for c in shown.json()["network"]["clients"] if c["client"] == "admin API"]
    assert admin["proxy"] == f"http://****@{address}"
    assert admin["route"] == f"via HTTP_PROXY {admin['proxy']}"


def test_bot_and_supabase_clients_go_through_the_proxy(cli: Cli, sandbox: SandboxHandle, proxy: ForwardingProxy,
                                                       pg_db: str) -> None:
    bot = cli("reminder", "utilities", "--bot-url", sandbox.url, "--period", "2026-11", "--json",
              env={"http_proxy": proxy.url})
    assert bot.code == 0 and bot.json()["outcome"] == "applied", bot.stderr
    assert [s.target for s in proxy.requests()] == [sandbox.url + "/jobs/reminder/utilities"]
    with FakeSupabaseApi(pg_db, token=SENTINELS["SUPABASE_ACCESS_TOKEN"]) as supabase_api:
        status = cli("migrate", "status", "--env", "test", "--json",
                     env={"HTTP_PROXY": proxy.url, "HOUSEJOBS_SUPABASE_API_URL": supabase_api.url,
                          "HOUSEJOBS_SUPABASE_PROJECT_REF": supabase_api.ref})
        query = f"{supabase_api.url}/v1/projects/{supabase_api.ref}/database/query"
    assert status.code == 0, status.stderr
    supabase = [s.target for s in proxy.requests()[1:]]
    assert supabase and set(supabase) == {query}


def test_embedded_sandbox_is_never_proxied(cli: Cli, proxy: ForwardingProxy) -> None:
    # Behind a corporate proxy with no NO_PROXY, the quickstart still works: its server is in-process.
    result = cli("quota-reset", "--date", DATE, "--json", env={"HTTP_PROXY": proxy.url, "HTTPS_PROXY": proxy.url})
    assert result.code == 0 and result.json()["outcome"] == "applied"
    reminder = cli("reminder", "utilities", "--period", "2026-11", env={"HTTP_PROXY": proxy.url})
    assert reminder.code == 0, reminder.stderr
    assert proxy.requests() == []


def test_webhook_and_check_in_go_through_the_proxy(cli: Cli, sandbox: SandboxHandle,
                                                    proxy: ForwardingProxy, sinks: Sinks) -> None:
    sink = sinks["ok"]
    env = {"HTTP_PROXY": proxy.url, "NO_PROXY": sandbox.url.removeprefix("http://"),
           "HOUSEJOBS_NOTIFY_URL": hook_url(sink), "HOUSEJOBS_NOTIFY_ON": "all",
           "HOUSEJOBS_HEALTHCHECK_URL": f"{sink.url}/ping/check-uuid", "HOUSEJOBS_NOTIFY_TIMEOUT": "5"}
    result = quota_reset(cli, sandbox.url, env=env)
    assert result["code"] == 0
    assert len(sink.requests) == 3  # /start, the event, the success ping
    # The check-in carries ?rid=...; the paths are what tells the three apart.
    assert sorted(urlsplit(s.target).path for s in proxy.requests()) == [
        "/ping/check-uuid", "/ping/check-uuid/start", f"/services/T000/B000/{HOOK_TOKEN}"]
    assert not any(s.target.startswith(sandbox.url) for s in proxy.requests())  # NO_PROXY: the API call went direct
    assert HOOK_TOKEN not in str(result["stderr"])


def test_https_webhook_behind_a_private_ca_needs_ssl_cert_file(cli: Cli, sandbox: SandboxHandle, ca: PrivateCa,
                                                               tmp_path: Path, sinks: Sinks) -> None:
    sink = sinks.new("ok", tls=ca.issue(tmp_path / "sink-certs"))
    assert sink.url.startswith("https://")
    env = {"HOUSEJOBS_NOTIFY_URL": hook_url(sink), "HOUSEJOBS_NOTIFY_ON": "all", "HOUSEJOBS_NOTIFY_TIMEOUT": "5"}
    untrusted = quota_reset(cli, sandbox.url, env=env)
    assert untrusted["code"] == 0 and sink.requests == []  # a sink that fails never changes the outcome
    assert "event not delivered to webhook https://127.0.0.1:" in str(untrusted["stderr"])
    trusted = quota_reset(cli, sandbox.url, env={**env, "SSL_CERT_FILE": str(ca.pem)})
    assert trusted["code"] == 0
    [post] = sink.requests
    assert post.json()["kind"] == "job_completed"


def test_bad_proxy_value_is_refused_in_one_line_without_its_password(cli: Cli, sandbox: SandboxHandle) -> None:
    bad = f"socks5://{PROXY_USER}:{PROXY_PASSWORD}@127.0.0.1:1080"
    result = quota_reset(cli, sandbox.url, env={"ALL_PROXY": bad})
    assert result["code"] == 2 and result["outcome"] == "refused"
    assert "ALL_PROXY is not an http:// or https:// proxy URL" in str(result["message"])
    assert sandbox.requests == 0


# --- https: CONNECT through the proxy, and trust only through SSL_CERT_FILE / SSL_CERT_DIR --------------
def test_https_through_https_proxy_tunnels_with_connect(cli: Cli, tls_sandbox: TlsSandbox,
                                                        proxy: ForwardingProxy, ca: PrivateCa) -> None:
    env = {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": "http://127.0.0.1:9", "SSL_CERT_FILE": str(ca.pem)}
    result = quota_reset(cli, tls_sandbox.url, env=env)
    assert result["code"] == 0 and result["outcome"] == "applied", result
    assert proxy.requests() == [Seen("CONNECT", tls_sandbox.url.removeprefix("https://"), None)]
    assert tls_sandbox.handle.counters("quota-reset") == {f"quota-reset:{DATE}": 1}


def test_private_ca_is_trusted_only_through_ssl_cert_file(cli: Cli, tls_sandbox: TlsSandbox,
                                                          ca: PrivateCa) -> None:
    untrusted = quota_reset(cli, tls_sandbox.url, env={"HOUSEJOBS_MAX_ATTEMPTS": "1"})
    assert untrusted["code"] == 1 and untrusted["outcome"] == "failed"
    assert "CERTIFICATE_VERIFY_FAILED" in str(untrusted["message"])
    assert "\n" not in str(untrusted["message"])
    trusted = quota_reset(cli, tls_sandbox.url, env={"SSL_CERT_FILE": str(ca.pem)})
    assert trusted["code"] == 0 and trusted["outcome"] == "applied", trusted
    assert tls_sandbox.handle.counters("quota-reset") == {f"quota-reset:{DATE}": 1}


def test_private_ca_is_trusted_through_a_hashed_ssl_cert_dir(cli: Cli, tls_sandbox: TlsSandbox, ca: PrivateCa,
                                                             tmp_path: Path) -> None:
    folder = ca.hashed_dir(tmp_path / "certs.d")
    assert (folder / f"{subject_hash(ca.cert)}.0").exists()  # the name OpenSSL looks the CA up by
    result = quota_reset(cli, tls_sandbox.url, env={"SSL_CERT_DIR": str(folder)})
    assert result["code"] == 0 and result["outcome"] == "applied", result


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl on this machine to compare with")
def test_subject_hash_is_the_one_openssl_computes(ca: PrivateCa) -> None:
    # tests/fakes/tls.py names the file itself where openssl is missing: it must name it as OpenSSL would.
    done = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in", str(ca.pem)],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == subject_hash(ca.cert)


@pytest.mark.parametrize(("variable", "value", "line"), [
    ("SSL_CERT_FILE", "{tmp}/nowhere.pem", "SSL_CERT_FILE {tmp}/nowhere.pem: no such file"),
    ("SSL_CERT_DIR", "{tmp}/no-such-dir", "SSL_CERT_DIR {tmp}/no-such-dir: no such directory"),
    ("SSL_CERT_FILE", "{tmp}/garbage.pem", "SSL_CERT_FILE {tmp}/garbage.pem: no CA certificate could be loaded"),
])
def test_bad_ca_path_is_one_config_line_exit_2(cli: Cli, sandbox: SandboxHandle, tmp_path: Path,
                                               variable: str, value: str, line: str) -> None:
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    result = cli("quota-reset", "--api-url", sandbox.url, "--date", DATE,
                 env={variable: value.format(tmp=tmp_path)})
    assert result.code == 2
    errors = [r for r in result.log_records() if r.get("error") == "ConfigError"]
    assert len(errors) == 1 and errors[0]["message"].startswith(line.format(tmp=tmp_path)), result.stderr
    assert sandbox.requests == 0  # refused before any call


def test_ssl_cert_file_from_the_real_environment_in_a_spawned_process(tls_sandbox: TlsSandbox, ca: PrivateCa,
                                                                      proxy: ForwardingProxy) -> None:
    # `housejobs` as installed: Runtime() takes the process environment, so the variables reach it there.
    env = {"CA_ROOT_API_KEY": ROOT_KEY, "SSL_CERT_FILE": str(ca.pem), "HTTPS_PROXY": proxy.url}
    done = run_cli_process(["quota-reset", "--api-url", tls_sandbox.url, "--date", DATE, "--json"], extra_env=env)
    assert done.returncode == 0, done.stderr
    assert [s.method for s in proxy.requests()] == ["CONNECT"]
    assert_no_secret(done.stdout + done.stderr)


def test_one_tls_context_per_ca_bundle(ca: PrivateCa, tmp_path: Path) -> None:
    certifi_ctx = ssl_context({})
    assert ssl_context({"SSL_CERT_FILE": ""}) is certifi_ctx  # blank is unset
    private = ssl_context({"SSL_CERT_FILE": str(ca.pem)})
    assert private is not certifi_ctx and ssl_context({"SSL_CERT_FILE": str(ca.pem)}) is private
    assert [c["subject"] for c in private.get_ca_certs()] == [((("commonName", "housejobs test ca"),),)]
    with pytest.raises(ConfigError, match="no such file"):
        ssl_context({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})


# --- saying what applies ---------------------------------------------------------------------------------
def test_config_show_says_which_proxy_and_ca_apply(cli: Cli, ca: PrivateCa) -> None:
    env = {"HTTPS_PROXY": f"http://{PROXY_USER}:{PROXY_PASSWORD}@proxy.corp:3128",
           "NO_PROXY": "bot-stage.cloudact.example", "SSL_CERT_FILE": str(ca.pem),
           "HOUSEJOBS_NOTIFY_URL": f"https://hooks.slack.com/services/T/B/{HOOK_TOKEN}"}
    text = cli("config", "show", "--env", "stage", env=env)
    assert text.code == 0
    network = text.stdout.split("\nnetwork:\n", 1)[1].splitlines()
    assert network == [
        f"  CA bundle  SSL_CERT_FILE {ca.pem}",
        "  admin API  https://api-stage.cloudact.example: via HTTPS_PROXY http://****@proxy.corp:3128",
        "  bot        https://bot-stage.cloudact.example: direct (NO_PROXY bot-stage.cloudact.example)",
        "  webhook    https://hooks.slack.com/****: via HTTPS_PROXY http://****@proxy.corp:3128",
        "  check-in   -: not set",
    ]
    doc = cli("config", "show", "--env", "stage", "--json", env=env).json()
    assert doc["network"]["ca_bundle"] == f"SSL_CERT_FILE {ca.pem}" and doc["network"]["ca_error"] is None
    assert [c["proxy"] for c in doc["network"]["clients"]] == ["http://****@proxy.corp:3128", None,
                                                               "http://****@proxy.corp:3128", None]
    assert {r["key"] for r in doc["settings"]} >= {"api_url", "bot_url"}  # the existing keys are unchanged
    for output in (text.stdout, str(doc)):
        assert PROXY_PASSWORD not in output and HOOK_TOKEN not in output


def test_config_show_names_certifi_and_a_bad_ca_path(cli: Cli, tmp_path: Path) -> None:
    plain = cli("config", "show", "--json").json()["network"]
    assert plain["ca_bundle"].startswith("certifi (") and plain["ca_error"] is None
    assert plain["clients"][0] == {"client": "admin API", "url": "embedded sandbox", "proxy": None,
                                   "route": "direct (the embedded sandbox is never proxied)", "error": None}
    bad = cli("config", "show", "--json", env={"SSL_CERT_DIR": str(tmp_path / "nope")}).json()["network"]
    assert bad["ca_error"].startswith(f"SSL_CERT_DIR {tmp_path / 'nope'}: no such directory")
