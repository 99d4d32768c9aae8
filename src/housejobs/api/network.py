"""The network an operator works in: which proxy a URL goes through, which CAs TLS trusts, and so which
transport a client of that URL gets. Every HTTP client housejobs builds (admin API, bot, Supabase,
webhook and check-in) asks `transport_for` / `sync_transport_for`; `report` says what applies (config
show, doctor); nothing else reads these variables.

Proxies, as curl, requests and httpx read them: `https_proxy` for https URLs, `http_proxy` for http
URLs, `all_proxy` for either when the specific one is unset; each lower-case first, then upper-case; a
value without a scheme is `http://`. `no_proxy` (a comma list) names hosts that go direct: `*`; a name,
which also covers its subdomains (with or without a leading dot); an IP address or CIDR range; any of
them with `:port` to match that port only. The embedded sandbox lives in this process on loopback and is
never proxied. A proxied URL uses httpx's own transport (HTTP forwarding, CONNECT for https); a direct
one keeps the lean transport (housejobs.api.transport), which costs far less per request.

Trust: `SSL_CERT_FILE` (a PEM bundle) and/or `SSL_CERT_DIR` (a c_rehash-style directory) replace
certifi's bundle; one context is built per (file, dir) pair and shared by every client.

All of it is read from the run's injected environment (Runtime.environ), never from os.environ, so a
test's environment is the one that counts. Proxy URLs may carry credentials: they are shown only through
`mask_url`. Only the standard library loads here until a transport is built.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, unquote, urlsplit

from housejobs.errors import ConfigError
from housejobs.redact import mask_url, register
from housejobs.settings import Setting
from housejobs.target import canonical_host

if TYPE_CHECKING:
    import httpx

    from housejobs.settings_model import Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _env(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    """(variable, value) for the first non-empty of name, NAME: lower-case wins, as in curl and httpx."""
    for var in (name.lower(), name.upper()):
        value = (environ.get(var) or "").strip()
        if value:
            return var, value
    return None


# --- proxies ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Route:
    """How a URL is reached. `proxy` is the URL as configured, credentials included: for httpx only."""

    proxy: str | None
    why: str  # the variable the proxy came from, or why there is none

    def describe(self) -> str:
        return f"via {self.why} {mask_url(self.proxy)}" if self.proxy else f"direct ({self.why})"


def route_for(url: str, environ: Mapping[str, str], *, embedded: bool = False) -> Route:
    """THE proxy rule: which proxy, if any, a request to `url` goes through."""
    if embedded:
        return Route(None, "the embedded sandbox is never proxied")
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed [v6 host: the URL's own check refuses it; no NO_PROXY can match it
        parts = urlsplit("")
    scheme = parts.scheme.lower()
    found = _env(environ, f"{scheme}_proxy") if scheme in _DEFAULT_PORTS else None
    found = found or _env(environ, "all_proxy")
    if found is None:
        return Route(None, "no proxy set")
    no_proxy = _env(environ, "no_proxy")
    if no_proxy is not None:
        hit = _no_proxy_hit(_host(parts), _port(parts, scheme), no_proxy[1])
        if hit is not None:
            return Route(None, f"{no_proxy[0]} {hit}")
    var, value = found
    return Route(_checked_proxy(var, value), var)


def _host(parts: SplitResult) -> str:
    # The host as the connection uses it (housejobs.target's one rule); a host no connection could use is
    # refused by the URL's own check, and matches no entry here.
    try:
        return canonical_host(parts.hostname or "")
    except ValueError:
        return (parts.hostname or "").rstrip(".")


def _port(parts: SplitResult, scheme: str) -> int | None:
    try:
        return parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:  # a port that is not a number: the URL's own check refuses it elsewhere
        return None


def _checked_proxy(var: str, value: str) -> str:
    url = value if "://" in value else f"http://{value}"
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises on a port that is not a number or out of range
        ok = parts.scheme.lower() in _DEFAULT_PORTS and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(f"{var} is not an http:// or https:// proxy URL: {mask_url(url)}",
                          hint="housejobs talks to HTTP proxies (CONNECT for https URLs); SOCKS is not supported")
    if parts.password:
        # Whatever might quote it (an httpx error, a debug line, a proxy echoing the Proxy-Authorization
        # it got: base64 of `user:password`) is scrubbed like any other secret, in its encoded forms too.
        register(parts.password)
        register(unquote(parts.password))
        register(f"{unquote(parts.username or '')}:{unquote(parts.password)}")
    return url


def _no_proxy_hit(host: str, port: int | None, no_proxy: str) -> str | None:
    """The NO_PROXY entry that covers host:port, or None."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(host)
    except ValueError:
        ip = None
    for entry in re.split(r"[,\s]+", no_proxy):
        if entry == "*":
            return entry
        name, entry_port = _host_port(entry.lower().split("://", 1)[-1].rstrip("/"))
        if not name or (entry_port is not None and entry_port != port):
            continue
        if ip is not None:
            try:
                if ip in ipaddress.ip_network(name, strict=False):
                    return entry
            except ValueError:
                continue  # a name never matches an address: curl does not resolve either
        else:
            domain = name.removeprefix("*").lstrip(".").rstrip(".")
            if domain and (host == domain or host.endswith("." + domain)):
                return entry
    return None


def _host_port(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):  # [v6] or [v6]:port
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and _digits(rest[1:]) else None
    if entry.count(":") == 1:  # name:port or v4:port (a bare v6 address has more colons)
        host, _, port = entry.partition(":")
        return (host, int(port)) if _digits(port) else (entry, None)
    return entry, None


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # "²".isdigit() is true too, and int() refuses it


# --- trust -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CaBundle:
    file: str | None
    dir: str | None

    def describe(self) -> str:
        if not (self.file or self.dir):
            import certifi

            return f"certifi ({certifi.where()})"
        return " + ".join(f"{var} {path}" for var, path in (("SSL_CERT_FILE", self.file),
                                                            ("SSL_CERT_DIR", self.dir)) if path)


def ca_bundle(environ: Mapping[str, str]) -> CaBundle:
    return CaBundle((environ.get("SSL_CERT_FILE") or "").strip() or None,
                    (environ.get("SSL_CERT_DIR") or "").strip() or None)


_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}
_contexts_lock = threading.Lock()


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext:
    """One TLS context per CA bundle, shared by every client: loading a bundle costs ~20 ms."""
    bundle = ca_bundle(environ)
    key = (bundle.file, bundle.dir)
    with _contexts_lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = _load(bundle)
    return context


def _load(bundle: CaBundle) -> ssl.SSLContext:
    import os

    if not (bundle.file or bundle.dir):
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    hint = "point it at the CA certificates to trust, or unset it to use certifi's bundle"
    if bundle.file and not os.path.isfile(bundle.file):
        raise ConfigError(f"SSL_CERT_FILE {bundle.file}: no such file", hint=hint)
    if bundle.dir and not os.path.isdir(bundle.dir):
        raise ConfigError(f"SSL_CERT_DIR {bundle.dir}: no such directory", hint=hint)
    try:
        # Given a file or a directory, the default context loads those and nothing else: no certifi.
        return ssl.create_default_context(cafile=bundle.file, capath=bundle.dir)
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise ConfigError(f"{bundle.describe()}: no CA certificate could be loaded ({reason})",
                          hint=hint) from None


# --- transports ------------------------------------------------------------------------------------
def transport_for(url: str, environ: Mapping[str, str], *, embedded: bool = False) -> httpx.AsyncBaseTransport:
    """The async transport for a client of `url` (admin API, bot, Supabase)."""
    route = route_for(url, environ, embedded=embedded)
    tls = ssl_context(environ)
    if route.proxy is None:
        from housejobs.api.transport import LeanTransport

        return LeanTransport(ssl_context=tls)
    import httpx

    return httpx.AsyncHTTPTransport(verify=tls, trust_env=False, proxy=_httpx_proxy(route, tls))


def sync_transport_for(url: str, environ: Mapping[str, str], *, embedded: bool = False) -> httpx.BaseTransport:
    """The blocking transport for a notification sink (webhook, check-in): httpx's either way."""
    route = route_for(url, environ, embedded=embedded)
    tls = ssl_context(environ)
    import httpx

    proxy = _httpx_proxy(route, tls) if route.proxy is not None else None
    return httpx.HTTPTransport(verify=tls, trust_env=False, proxy=proxy)


def _httpx_proxy(route: Route, tls: ssl.SSLContext) -> httpx.Proxy:
    import httpx

    assert route.proxy is not None
    try:
        # The same trust for an https:// proxy as for the servers behind it (a TLS-inspecting gateway's
        # private CA is usually the one SSL_CERT_FILE names); httpcore refuses a context for http://.
        # Credentials in the URL become Proxy-Authorization.
        https = urlsplit(route.proxy).scheme.lower() == "https"
        return httpx.Proxy(route.proxy, ssl_context=tls if https else None)
    except (httpx.InvalidURL, ValueError):
        raise ConfigError(f"{route.why} is not a valid proxy URL: {mask_url(route.proxy)}") from None


# --- what applies: config show and doctor say it ---------------------------------------------------
def report(environ: Mapping[str, str], settings: Settings, env: str | None) -> dict[str, Any]:
    """The CA bundle in effect and the route (proxy or direct, and why) to each URL a run calls, for
    `config show` and `doctor`. Never raises for a bad value: it reports it. URLs show masked."""
    ca_error = None
    try:
        ssl_context(environ)
    except ConfigError as exc:
        ca_error = exc.line()
    clients = []
    for client, setting, secret_name in (("admin API", Setting.api_url, None), ("bot", Setting.bot_url, None),
                                         ("webhook", Setting.notify_url, settings.notify_url_secret),
                                         ("check-in", Setting.healthcheck_url, settings.healthcheck_url_secret)):
        url, embedded = settings.given(setting).value, False
        shown = mask_url(url) if url else None
        if not url and secret_name and env:
            # Its host is in Secret Manager, not read here: the scheme's rule is what can be said.
            url, shown = "https://", f"(Secret Manager {secret_name})"
        elif not url and not setting.secret and not env:
            url, shown, embedded = "http://127.0.0.1", "embedded sandbox", True
        row: dict[str, str | None] = {"client": client, "url": shown, "proxy": None, "route": "not set",
                                      "error": None}
        if url:
            try:
                route = route_for(url, environ, embedded=embedded)
                row.update(proxy=mask_url(route.proxy) if route.proxy else None, route=route.describe())
            except ConfigError as exc:
                row.update(route="refused", error=exc.line())
        clients.append(row)
    return {"ca_bundle": ca_bundle(environ).describe(), "ca_error": ca_error, "clients": clients}
