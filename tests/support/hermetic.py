"""The environment every test starts from: the one list of the variables the harness controls.

A developer's shell, an editor's terminal or a CI runner sets variables that change what the CLI prints,
which settings it reads and where it sends its calls: TERM=dumb and NO_COLOR turn colour off, COLUMNS
changes widths, HOUSEJOBS_ENV picks an environment, GOOGLE_CLOUD_PROJECT or a proxy sends calls elsewhere.
The suite gives the same result whatever they hold, so the harness starts every test from a known
environment: `tests/conftest.py` applies `apply()` to os.environ once when pytest starts (before any
session fixture starts a server) and again, through monkeypatch, before every test. The in-process CLI
(tests/support/cli.py `Cli`) copies that os.environ, and every spawned CLI (tests/support/process.py)
inherits it, so both start from the same place.

What is controlled:

- `REMOVED` and every name starting with one of `REMOVED_PREFIXES`: taken out of the environment;
  `KEPT` (the harness's own switches, which CI sets) excepted.
- `SET`: given a fixed value (the locale and the local zone). HOME is a directory of the test's own
  (tests/conftest.py), so nobody's ~/.config/gcloud credentials, ~/.netrc, ~/.config/hadolint.yaml or
  ~/.local/state/housejobs reach a test.

A test that needs a terminal, a colour, a width, a locale or a setting says so on its run: `tty=True`
and `env=COLOUR_TERMINAL` for colour, `env={"COLUMNS": "80"}` for a width, `env={"HOUSEJOBS_ENV": ...}`.

Left as they are, on purpose: PATH, TMPDIR, the user's name, and libfaketime's settings (FAKETIME*,
LD_PRELOAD), which CI's date-independence passes give the whole suite (FAKETIME is an offset from the real
clock, so it means the same in every zone). The fonts a browser draws with are not all in variables: the
HTML test asserts nothing that moves with them (tests/cli/test_history_page.py passes with no font at all).
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from pathlib import Path

# Taken out of every test's environment, by name: what rich, click, Typer, Google's libraries, requests,
# httpx and the product read from the environment besides the prefixes below.
TERMINAL_VARS = (
    "TERM", "COLORTERM", "NO_COLOR", "FORCE_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "PY_COLORS",
    "TTY_COMPATIBLE", "TTY_INTERACTIVE",  # rich: whether a stream counts as a terminal
    "COLUMNS", "LINES", "JUPYTER_COLUMNS", "JUPYTER_LINES", "TERMINAL_WIDTH",  # widths (rich, click, Typer)
    "PAGER", "LESS", "GITHUB_ACTIONS", "TYPER_USE_RICH", "DATABRICKS_RUNTIME_VERSION",
)
LOCALE_VARS = ("LANG", "LANGUAGE")  # and every LC_* (REMOVED_PREFIXES); LANG and LC_ALL are then SET
# Proxies and CA bundles: the product reads the first ten (api/network.py), requests and curl the rest.
NETWORK_VARS = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy",
                "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NETRC",
                "SSLKEYLOGFILE")
GOOGLE_VARS = ("NO_GCE_CHECK", "APPENGINE_RUNTIME", "BIGQUERY_EMULATOR_HOST", "K_SERVICE", "K_REVISION",
               "K_CONFIGURATION")  # and GOOGLE_*, GCLOUD_*, CLOUDSDK_*, GCE_*, GRPC_*, CLOUD_RUN_*
FONT_VARS = ("FONTCONFIG_FILE", "FONTCONFIG_PATH", "FONTCONFIG_SYSROOT")  # which fonts Chromium finds
REMOVED = (*TERMINAL_VARS, *LOCALE_VARS, *NETWORK_VARS, *GOOGLE_VARS, *FONT_VARS)
REMOVED_PREFIXES = (
    "HOUSEJOBS_", "_HOUSEJOBS_",  # every setting and secret reference; Click's completion switch
    "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "GCE_", "GRPC_",  # Google's credentials, project, endpoints, mTLS, logging
    "CLOUD_RUN_",  # a Cloud Run task: the env, the shard, no prompt
    "LC_",  # the locale
    "PYTHON",  # PYTHONWARNINGS, PYTHONOPTIMIZE, PYTHONIOENCODING, PYTHONUTF8, PYTHONHASHSEED, ... in a spawned CLI
    "XDG_",  # where state, config and caches live
    "_TYPER_",  # Typer's completion and traceback switches
)
# The harness's own switches: CI sets them to turn a skip into a failure, or to size a run.
KEPT = ("HOUSEJOBS_REQUIRE_EMULATORS", "HOUSEJOBS_REQUIRE_FAKETIME", "HOUSEJOBS_REQUIRE_BROWSER",
        "HOUSEJOBS_FUZZ_SCALE", "HOUSEJOBS_RELIABILITY_REPORT", "HOUSEJOBS_BQEMULATOR", "HOUSEJOBS_GOLDEN_UPDATE")
# Set for every test: one UTF-8 locale (C.UTF-8 is on every Debian; where it is missing, Python falls back
# to the C locale and its UTF-8 mode, which reads and writes the same bytes), and UTC as the local zone
# (housejobs names every zone it uses; a database a test starts takes its zone from TZ). HOME: see `apply`.
SET = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TZ": "UTC"}

# For a test that needs colour: a terminal of the usual kind (with tty=True; FORCE_COLOR without one).
COLOUR_TERMINAL = {"TERM": "xterm-256color"}


def controlled(name: str) -> bool:
    """Whether the harness removes or sets `name` for every test."""
    if name in KEPT:
        return False
    return name in REMOVED or name in SET or name == "HOME" or name.startswith(REMOVED_PREFIXES)


def removals(environ: MutableMapping[str, str]) -> list[str]:
    """The variables of `environ` the harness takes out."""
    return [name for name in environ if controlled(name) and name not in SET and name != "HOME"]


def apply(environ: MutableMapping[str, str], home: Path) -> None:
    """Make `environ` the known environment: the controlled variables out, `SET` and HOME=`home` in."""
    for name in removals(environ):
        del environ[name]
    environ.update(SET)
    environ["HOME"] = str(home)
    time.tzset()  # this process's own local zone follows TZ too
