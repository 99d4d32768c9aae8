"""api/network.py, the rule itself: which proxy a URL takes (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, lower
case first), how a route describes itself, and URL masking. Real proxies, CAs and runs are tests/cli/test_network.py."""

from __future__ import annotations

import pytest

from housejobs.api.network import route_for
from housejobs.redact import mask_url
from tests.support.sentinels import PROXY_PASSWORD

PROXY = "http://proxy.corp:3128"


@pytest.mark.parametrize(("url", "no_proxy", "direct"), [
    ("https://api.example.com", "example.com", True),  # a domain covers itself and its subdomains
    ("https://example.com", "example.com", True),
    ("https://api.example.com", ".example.com", True),  # with a leading dot too, as curl reads it
    ("https://example.com", ".example.com", True),
    ("https://api.example.com", "*.example.com", True),
    ("https://notexample.com", "example.com", False),  # a suffix is not a subdomain
    ("https://example.com.evil.net", "example.com", False),
    ("https://API.Example.COM", "example.com", True),  # host names are case-insensitive
    ("https://example.com.", "example.com", True),  # a fully qualified name (trailing dot)
    ("https://api.example.com", "other.org, example.com", True),
    ("https://api.example.com", "other.org,,  ", False),
    ("https://10.1.2.3", "10.0.0.0/8", True),  # CIDR
    ("https://11.1.2.3", "10.0.0.0/8", False),
    ("https://10.1.2.3", "10.1.2.3", True),
    ("https://[::1]:8443", "::1", True),
    ("https://[::1]:8443", "[::1]:8443", True),
    ("https://[::1]:8443", "[::1]:443", False),
    ("https://[fd00::5]", "fd00::/8", True),
    ("https://api.example.com", "api.example.com:443", True),  # the scheme's default port
    ("https://api.example.com:8443", "api.example.com:443", False),
    ("https://10.1.2.3", "example.com", False),  # a name never matches an address (nothing is resolved)
    ("https://anything", "*", True),
])
def test_no_proxy_rule(url: str, no_proxy: str, direct: bool) -> None:
    route = route_for(url, {"HTTPS_PROXY": PROXY, "NO_PROXY": no_proxy})
    assert (route.proxy is None) is direct, route
    if direct:
        assert route.describe().startswith("direct (NO_PROXY ")


@pytest.mark.parametrize(("environ", "url", "proxy", "why"), [
    ({"HTTPS_PROXY": PROXY}, "http://api.example.com", None, "no proxy set"),  # https's proxy is not http's
    ({"HTTP_PROXY": PROXY}, "https://api.example.com", None, "no proxy set"),
    ({"HTTP_PROXY": PROXY, "ALL_PROXY": "http://all:1"}, "https://x.example", "http://all:1", "ALL_PROXY"),
    ({"https_proxy": PROXY, "HTTPS_PROXY": "http://upper:1"}, "https://x.example", PROXY, "https_proxy"),
    ({"HTTPS_PROXY": "proxy.corp:3128"}, "https://x.example", PROXY, "HTTPS_PROXY"),
    ({"HTTPS_PROXY": "  "}, "https://x.example", None, "no proxy set"),  # blank is unset
    ({"HTTPS_PROXY": PROXY, "no_proxy": "x.example", "NO_PROXY": "other"}, "https://x.example", None,
     "no_proxy x.example"),
])
def test_proxy_variables(environ: dict[str, str], url: str, proxy: str | None, why: str) -> None:
    route = route_for(url, environ)
    assert (route.proxy, route.why) == (proxy, why)


def test_embedded_is_direct_whatever_the_environment() -> None:
    assert route_for("http://127.0.0.1:5000", {"HTTP_PROXY": PROXY}, embedded=True).proxy is None


def test_proxy_description_masks_credentials() -> None:
    route = route_for("https://api.example.com", {"HTTPS_PROXY": f"http://u:{PROXY_PASSWORD}@proxy.corp:3128"})
    assert route.describe() == "via HTTPS_PROXY http://****@proxy.corp:3128"


@pytest.mark.parametrize(("url", "shown"), [
    ("https://hooks.slack.com/services/T/B/X", "https://hooks.slack.com/****"),
    ("http://user:pass@proxy:3128", "http://****@proxy:3128"),
    ("http://user:p@ss@proxy:3128/", "http://****@proxy:3128"),  # a raw @ in the password
    ("https://host?token=x", "https://host/****"),
    ("https://host", "https://host"),
    ("socks5://user:pass@host:1080", "****"),
])
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown
