"""Bad input, fuzzed: hostile command-line values against a real sandbox, in process.

Each property draws valid, nearly valid and hostile values for one input, decides with its own oracle
(written from the contract, not from the code) whether the value is valid, and checks that the CLI
agrees: a valid value runs (exit 0, or 3 where the org does not exist) and reaches the sandbox; any
other value is refused with exit 2 and one error line (tests/support/fuzz.py says what that means
precisely) before a single request is sent. No run may print a traceback or end in an internal error.
"""

from __future__ import annotations

import json
import math
import re
from datetime import date
from pathlib import Path

import click
import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from housejobs.catalog import load_catalog
from housejobs.cli.main import _command
from tests.support.cli import Cli, CliResult
from tests.support.clock import NOW
from tests.support.fuzz import fuzz, hostile_text, job_error_line, near, refused_line, usage_error_line
from tests.support.process import run_cli_process
from tests.support.sandbox import Sandboxes, SandboxHandle

FUZZ = fuzz(40)
ORGS = ("org-000001", "org-000002", "org-000003")
REMINDER_TYPES = ("utilities", "rent-warning", "rent-due")
CATALOG = frozenset(load_catalog(Path(__file__).resolve().parents[2] / "jobs"))
MAX_DAYS = 36_500
# Periods a run may name (README): from 2000-01-01 to one year after the FakeClock's today.
EARLIEST, LATEST = date(2000, 1, 1), NOW.date().replace(year=NOW.year + 1)


@pytest.fixture
def sb(sandbox_factory: Sandboxes) -> SandboxHandle:
    return sandbox_factory("fuzz", orgs=len(ORGS))


# --- oracles: the contract's grammar, ASCII digits only --------------------------------------------
def is_date(value: str) -> bool:
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
        return False
    try:
        day = date(int(value[:4]), int(value[5:7]), int(value[8:]))
    except ValueError:
        return False
    return EARLIEST <= day <= LATEST


def is_month(value: str) -> bool:
    if not (re.fullmatch(r"[0-9]{4}-[0-9]{2}", value) and int(value[:4]) >= 1 and 1 <= int(value[5:]) <= 12):
        return False
    return (EARLIEST.year, EARLIEST.month) <= (int(value[:4]), int(value[5:])) <= (LATEST.year, LATEST.month)


def is_org(value: str) -> bool:
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,63}", value))


def is_shard(value: str) -> bool:
    m = re.fullmatch(r"([0-9]+)/([0-9]+)", value.strip())
    return bool(m) and int(m.group(1)) < int(m.group(2))


def is_job_id(value: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}", value))


# Numbers are written in ASCII (README): an optional sign and digits; a decimal may have a point and an
# exponent. Not what Python's int()/float() take: they also read '３', ' 5 ', '1_0', 'inf' and 'nan'.
def click_int(value: str) -> int | None:
    return int(value) if re.fullmatch(r"[+-]?[0-9]+", value) else None


def click_float(value: str) -> float | None:
    decimal = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    return float(value) if re.fullmatch(decimal, value) else None


# --- runs -----------------------------------------------------------------------------------------
def option(name: str, value: str, joined: bool) -> tuple[str, ...]:
    return (f"{name}={value}",) if joined else (name, value)


def check(cli: Cli, sb: SandboxHandle, argv: tuple[str, ...], *, valid: bool,
          codes: frozenset[int] = frozenset({0})) -> CliResult:
    before = sb.requests
    result = cli(*argv)
    if valid:
        assert result.code in codes, (argv, result.code, result.stdout, result.stderr[-2000:])
        assert sb.requests > before, "a valid run sent nothing"
        if result.code:
            job_error_line(result, raised=False)
    else:
        refused_line(result)
        assert sb.requests == before, f"bad input {argv!r} reached the server"
    return result


def dates() -> st.SearchStrategy[str]:
    # Any year, and years around the allowed range (so both its edges are crossed often).
    iso = st.one_of(st.dates(), st.dates(date(1998, 1, 1), date(LATEST.year + 1, 12, 31))).map(date.isoformat)
    shaped = st.from_regex(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")  # right shape, often not a calendar date
    return st.one_of(iso, shaped, near(iso), hostile_text())


def months() -> st.SearchStrategy[str]:
    years = st.one_of(st.integers(1, 9999), st.integers(1998, LATEST.year + 1))
    valid = st.builds(lambda y, m: f"{y:04d}-{m:02d}", years, st.integers(1, 12))
    return st.one_of(valid, st.from_regex(r"\A[0-9]{4}-[0-9]{2}\Z"), near(valid), hostile_text())


# --- properties ------------------------------------------------------------------------------------
@FUZZ
@given(job=st.sampled_from(["quota-reset", "stale-cleanup", "alerts"]), value=dates(), joined=st.booleans())
@example(job="quota-reset", value="2026-11-24\n", joined=False)
@example(job="quota-reset", value="２０２６-１１-２４", joined=False)
@example(job="quota-reset", value="2024-02-29", joined=True)
@example(job="quota-reset", value="2026-02-29", joined=True)
@example(job="quota-reset", value="1969-12-31", joined=False)
def test_date(cli: Cli, sb: SandboxHandle, job: str, value: str, joined: bool) -> None:
    check(cli, sb, (job, *option("--date", value, joined), "--api-url", sb.url, "--json"), valid=is_date(value))


@FUZZ
@given(value=months(), joined=st.booleans())
@example(value="2026-11\n", joined=False)  # `$` matched before the newline; the key then broke the header
@example(value="２０２６-１１", joined=False)  # `\d` took fullwidth digits; an internal UnicodeEncodeError
@example(value="0000-01", joined=False)
@example(value="9999-12", joined=False)  # applied for a month that never comes: now refused
def test_month(cli: Cli, sb: SandboxHandle, value: str, joined: bool) -> None:
    check(cli, sb, ("quota-monthly", *option("--month", value, joined), "--api-url", sb.url, "--json"),
          valid=is_month(value))


@FUZZ
@given(value=st.one_of(st.sampled_from(["test", "stage", "prod"]), near(st.sampled_from(["test", "stage", "prod"])),
                       hostile_text()),
       via=st.sampled_from(["option", "joined", "environment"]))
@example(value="--yes", via="joined")
@example(value="--yes", via="option")
@example(value="PROD", via="environment")
def test_env(cli: Cli, sb: SandboxHandle, value: str, via: str) -> None:
    if via == "environment":
        assume("\x00" not in value)  # an environment variable cannot hold NUL
        before = sb.requests
        result = cli("quota-reset", "--api-url", sb.url, "--json", "--yes", env={"HOUSEJOBS_ENV": value})
        valid = value in ("test", "stage", "prod")
        if valid:
            assert result.code == 0 and sb.requests > before, result.stdout
        else:
            assert "$HOUSEJOBS_ENV" in refused_line(result) and sb.requests == before
        return
    argv = ("quota-reset", *option("--env", value, via == "joined"), "--api-url", sb.url, "--json", "--yes")
    check(cli, sb, argv, valid=value in ("test", "stage", "prod"))


@FUZZ
@given(orgs=st.lists(st.one_of(st.sampled_from(ORGS), st.from_regex(r"\A[a-z0-9][a-z0-9_-]{0,63}\Z"),
                               near(st.sampled_from(ORGS)), hostile_text()), min_size=1, max_size=3))
@example(orgs=["acme\n"])  # passed `ORG_SLUG.match`; then an internal InvalidURL error
@example(orgs=["org-000001", "Bad Org"])
@example(orgs=["a" * 65])
def test_org(cli: Cli, sb: SandboxHandle, orgs: list[str]) -> None:
    argv = ("org-sync-all", *(a for org in orgs for a in ("--org", org)), "--concurrency", "2",
            "--api-url", sb.url, "--json")
    # An org the sandbox lacks fails; if every chosen org failed, nothing was synced: 1, not 3.
    check(cli, sb, argv, valid=all(is_org(o) for o in orgs), codes=frozenset({0, 1, 3}))


@FUZZ
@given(value=st.one_of(st.builds(lambda i, n: f"{i}/{n}", st.integers(0, 20), st.integers(0, 20)),
                       near(st.sampled_from(["0/4", "3/4", "0/1"])), hostile_text()))
@example(value="１/４")
@example(value=" 0/4 ")
@example(value="0/99999999999999999999999")
def test_shard(cli: Cli, sb: SandboxHandle, value: str) -> None:
    argv = ("org-sync-all", "--shard", value, "--concurrency", "2", "--api-url", sb.url, "--json")
    check(cli, sb, argv, valid=is_shard(value))


@FUZZ
@given(value=st.one_of(st.integers(-3, 300).map(str), near(st.sampled_from(["1", "32", "256"])), hostile_text()))
@example(value="３")  # int() reads it as 3
@example(value="1_6")
@example(value=" 8 ")
def test_concurrency(cli: Cli, sb: SandboxHandle, value: str) -> None:
    n = click_int(value)
    argv = ("org-sync-all", "--concurrency", value, "--api-url", sb.url, "--json")
    check(cli, sb, argv, valid=n is not None and 1 <= n <= 256)


@FUZZ
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                       st.floats(0.5, 1e6).map(str), near(st.sampled_from(["10", "0.5", "60"])), hostile_text()))
@example(value="inf")  # a deadline that never ends is no deadline: refused like HOUSEJOBS_DEADLINE=inf
@example(value="nan")
@example(value="1e-300")
@example(value="３")
@example(value="٣.5")
def test_deadline(cli: Cli, sb: SandboxHandle, value: str) -> None:
    seconds = click_float(value)
    valid = seconds is not None and math.isfinite(seconds) and seconds > 0
    argv = ("quota-reset", "--deadline", value, "--api-url", sb.url, "--json")
    if valid and seconds is not None and seconds < 0.5:
        # A valid but tiny deadline may run out before or on the first attempt: failed, not refused.
        result = cli(*argv)
        if result.code:
            assert result.code == 1 and "deadline" in job_error_line(result), result.stdout
        return
    check(cli, sb, argv, valid=valid)


@FUZZ
@given(value=st.one_of(st.integers(-10, 40).map(str), st.integers(-(10**30), 10**30).map(str),
                       near(st.sampled_from(["7", "90", str(MAX_DAYS)])), hostile_text()),
       allow_short=st.booleans())
@example(value="99999999999999999999", allow_short=False)  # timedelta overflow: an internal error
@example(value="800000", allow_short=False)  # a cutoff before year 1: an internal error
@example(value=str(MAX_DAYS + 1), allow_short=False)
@example(value="３０", allow_short=False)
def test_days(cli: Cli, sb: SandboxHandle, value: str, allow_short: bool) -> None:
    # A quota table that is not project.dataset.table: the job checks --days, then stops on the table, before
    # it loads a BigQuery client. (Not a malformed number setting: every one is refused as settings resolve,
    # before the job.) So a valid --days ends in that one ConfigError, and any other in a refusal that
    # names --days.
    env = {"HOUSEJOBS_QUOTA_TABLE": "housejobs-fuzz.quota"}
    argv = ("quota-cleanup", "--days", value, *(("--allow-short-retention",) if allow_short else ()), "--json")
    result = cli(*argv, env=env)
    line = refused_line(result)
    n = click_int(value)
    if n is not None and (1 if allow_short else 7) <= n <= MAX_DAYS:
        assert "must be project.dataset.table" in line, line
    elif n is not None:
        assert "--days" in line, line


@FUZZ
@given(kind=st.one_of(st.sampled_from(REMINDER_TYPES), near(st.sampled_from(REMINDER_TYPES)), hostile_text()),
       period=st.one_of(st.none(), months()),
       job_id=st.one_of(st.none(), st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._:@/-]{0,30}\Z"),
                        near(st.just("housejobs-reminder-x7")), hostile_text()))
@example(kind="utilities", period=None, job_id="abc\n")  # `$` matched before the newline
@example(kind="utilities", period="2026-11\n", job_id=None)
@example(kind="--help", period=None, job_id=None)
def test_reminder(cli: Cli, sb: SandboxHandle, kind: str, period: str | None, job_id: str | None) -> None:
    opts = (*(("--period", period) if period is not None else ()),
            *(("--job-id", job_id) if job_id is not None else ()))
    argv = ("reminder", *opts, "--bot-url", sb.url, "--json", "--", kind)
    valid = kind in REMINDER_TYPES and (period is None or is_month(period)) and (job_id is None or is_job_id(job_id))
    result = check(cli, sb, argv, valid=valid)
    if valid:
        assert json.loads(result.stdout)["outcome"] in ("applied", "duplicate")


COMMANDS = frozenset(_command().list_commands(click.Context(_command())))


@FUZZ
@given(name=st.one_of(near(st.sampled_from(sorted(COMMANDS))), hostile_text()))
@example(name="")
@example(name="--env=--yes")
@example(name="QUOTA-RESET")
def test_unknown_command(cli: Cli, name: str) -> None:
    assume(name not in COMMANDS and name not in ("-h", "--help", "--version"))
    line = usage_error_line(cli(name, "--env", "prod", "--yes"))
    assert line.startswith(("error: unknown command", "error: unknown option", "error: Option")), line


@FUZZ
@given(name=st.one_of(near(st.sampled_from(["quota-reset", "org-sync-all", "reminder"])), hostile_text()))
@example(name="quota_reset")
def test_run_unknown_job(cli: Cli, name: str) -> None:
    assume(name not in CATALOG)
    # Nothing listens on port 9: had the command got past its checks it would fail, not refuse.
    result = cli("run", "--env", "stage", "--json", "--", name, env={"HOUSEJOBS_RUN_API_ENDPOINT": "http://127.0.0.1:9"})
    assert "unknown job" in refused_line(result)


@FUZZ
@given(path=hostile_text(), bot=st.booleans())
@example(path="\udcff", bot=False)  # httpx could not encode it: an internal UnicodeEncodeError
@example(path="\x00", bot=True)
def test_url_path(cli: Cli, sb: SandboxHandle, path: str, bot: bool) -> None:
    # Only the path is hostile: the host stays the sandbox, so no run looks up a name in DNS.
    url = f"{sb.url}/{path}"
    argv = ("reminder", "utilities", "--bot-url", url) if bot else ("quota-reset", "--api-url", url)
    before = sb.requests
    result = cli(*argv, "--json")
    if result.code == 2:
        refused_line(result)
        assert sb.requests == before
    else:  # an odd path the server answers 404 (or, for an empty one, the run itself)
        assert result.code in (0, 1), result.stdout
        if result.code:
            job_error_line(result)


@pytest.mark.parametrize("url", ["http://\udcff", "http://a\x00b", "http://127.0.0.1:abc", "http://127.0.0.1:99999",
                                 "http://127.0.0.1:-1", "http://[::1", "http://", "127.0.0.1:8080", "file:///etc/passwd"])
@pytest.mark.parametrize("option", ["--api-url", "--bot-url"])
def test_bad_url_is_refused(cli: Cli, sb: SandboxHandle, url: str, option: str) -> None:
    argv = ("quota-reset", "--api-url", url) if option == "--api-url" else ("reminder", "utilities", "--bot-url", url)
    assert "URL" in refused_line(cli(*argv, "--json"))
    assert sb.requests == 0


# Not a clean base URL: each is refused by the option or setting that gave it, before any request (the sandbox
# would have answered every one of them: the query was glued into the path, the space and the empty port
# ignored or taken as port 80).
UNCLEAN = {
    "{url}?x=1": "query string or fragment", "{url}/?": "query string or fragment",
    "{url}#top": "query string or fragment", " {url}": "space around it", "{url}\t": "space around it",
    "http://127.0.0.1:": "port is empty", "http://[::1]:": "port is empty",
    "http://user:pw@127.0.0.1:9": "user name or password", "{url}/v1/../admin": ". or .. segment",
    "{url}/%2e%2e/x": ". or .. segment", "{url}/./x": ". or .. segment",
}


@pytest.mark.parametrize("template", sorted(UNCLEAN))
@pytest.mark.parametrize(("argv", "name", "var"), [
    (("quota-reset", "--api-url", "{}"), "--api-url", "HOUSEJOBS_API_URL"),
    (("reminder", "utilities", "--bot-url", "{}"), "--bot-url", "HOUSEJOBS_BOT_URL"),
])
def test_unclean_base_url_is_refused_by_its_source(cli: Cli, sb: SandboxHandle, template: str,
                                                   argv: tuple[str, ...], name: str, var: str) -> None:
    url = template.format(url=sb.url)
    line = refused_line(cli(*(a.format(url) for a in argv), "--json"))
    assert f"from {name} is not a clean base URL: " in line and UNCLEAN[template] in line, line
    assert "pw@" not in line
    job = argv[:2] if argv[0] == "reminder" else argv[:1]
    line = refused_line(cli(*job, "--json", env={var: url}))
    assert f"from ${var} is not a clean base URL" in line, line
    assert sb.requests == 0


def test_unclean_supabase_url_is_refused(cli: Cli, tmp_path: Path) -> None:
    line = refused_line(cli("migrate", "status", "--env", "test", "--json",
                            env={"HOUSEJOBS_SUPABASE_API_URL": "http://127.0.0.1:9/?project=x"}))
    assert "from $HOUSEJOBS_SUPABASE_API_URL is not a clean base URL" in line, line


@pytest.mark.parametrize(("argv", "env"), [
    (["quota-reset", "--env", "\udcff", "--date", "2026-11-24"], {}),  # the refusal's summary named the raw value
    (["quota-reset", "--api-url", "http://x\udcff", "--date", "2026-11-24"], {}),
    (["config", "show"], {"HOUSEJOBS_PROJECT": "\udcffproject"}),
])
def test_non_utf8_argv_and_environment_in_a_real_process(tmp_path: Path, argv: list[str], env: dict[str, str]) -> None:
    """Bytes that are not UTF-8 reach Python as surrogates; a real stdout refuses to encode them."""
    import os

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HOUSEJOBS_", "CLOUD_RUN_"))}
    environ.update({"HOUSEJOBS_STATE_DIR": str(tmp_path / "state"), "PYTHONIOENCODING": "utf-8", **env})
    proc = run_cli_process(argv, env=environ, cwd=tmp_path, text=False)  # bytes: a real stdout's own encoding
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err and "internal error" not in out + err, (out, err)
    assert proc.returncode == (0 if argv[0] == "config" else 2), (out, err)
