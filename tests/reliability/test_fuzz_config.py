"""Bad configuration, fuzzed: mutated jobs/environments.toml, jobs/catalog.toml and .env files.

The real files are parsed, mutated (keys deleted, unknown keys added, values of the wrong type, bad cron
expressions, time zones, durations and quantities, huge numbers) and written back as TOML into a copy of
jobs/ that HOUSEJOBS_JOBS_DIR points at; some examples then corrupt the bytes (invalid TOML, not UTF-8).
An oracle written here from the documented rules (catalog.toml's header, DESIGN.md, settings.py's
.env syntax), not from the loader, says whether the result is valid. `config show`, `list-jobs` and a
job command must then agree: exit 0 for a harmless mutation, else exit 2 with one error line
(tests/support/fuzz.py), no traceback, no request sent, and no secret echoed even when a sentinel
secret sits on the malformed line.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tomllib
import zoneinfo
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from housejobs.settings import KNOWN_ENV_KEYS, SETTINGS
from tests.support.cli import Cli, CliResult
from tests.support.fuzz import fuzz, hostile_text, refused_line, usage_error_line
from tests.support.sandbox import Sandboxes, SandboxHandle
from tests.support.sentinels import SENTINELS, assert_no_secret

JOBS = Path(__file__).resolve().parents[2] / "jobs"
ENVIRONMENTS = tomllib.loads((JOBS / "environments.toml").read_text())
CATALOG = tomllib.loads((JOBS / "catalog.toml").read_text())
ZONES = sorted(zoneinfo.available_timezones())
SECRET = SENTINELS["CA_ROOT_API_KEY"]
FUZZ = fuzz(30)


@pytest.fixture
def sb(sandbox_factory: Sandboxes) -> SandboxHandle:
    return sandbox_factory("fuzz", orgs=2)


@pytest.fixture
def jobs_dir(tmp_path: Path) -> Path:
    target = tmp_path / "jobs"
    shutil.copytree(JOBS, target)
    return target


# --- a small TOML writer (tomllib reads only); every key quoted, every value in its basic form -------
def _string(value: str) -> str:
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return ("-inf" if value < 0 else "inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{_string(k)} = {_value(v)}" for k, v in value.items()) + "}"


def dump_toml(data: dict[str, Any], path: tuple[str, ...] = ()) -> str:
    def is_tables(v: Any) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(t, dict) for t in v)

    out: list[str] = []
    for key, value in data.items():
        if not isinstance(value, dict) and not is_tables(value):
            out.append(f"{_string(key)} = {_value(value)}")
    for key, value in data.items():
        header = ".".join(_string(k) for k in (*path, key))
        if isinstance(value, dict):
            out.append(f"\n[{header}]")
            out.append(dump_toml(value, (*path, key)))
        elif is_tables(value):
            for table in value:
                out.append(f"\n[[{header}]]")
                out.append(dump_toml(table, (*path, key)))
    return "\n".join(out)


# --- oracles, from the documented rules -----------------------------------------------------------
JOB_KEYS = {"kind", "description", "calls", "module", "triggers", "args", "timeout", "max_retries", "task_count",
            "parallelism", "cpu", "memory", "secrets"}
TRIGGER_KEYS = {"name", "schedule", "time_zone", "args", "retry_count", "attempt_deadline"}
KINDS = {"manual", "daily", "monthly", "scheduled"}
SECRET_VARS = {"CA_ROOT_API_KEY", "SCHEDULER_SHARED_SECRET", "SUPABASE_ACCESS_TOKEN"}
CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
NAME = r"[a-z]([a-z0-9-]{0,30}[a-z0-9])?"


def cron_ok(expr: Any) -> bool:
    """Five unix-cron fields of numbers, ranges, lists, `*` and steps (no names), in printable ASCII."""
    if not isinstance(expr, str) or not (expr.isascii() and expr.isprintable()):
        return False
    fields = expr.split()
    if len(fields) != 5:
        return False
    for value, (lo, hi) in zip(fields, CRON_RANGES, strict=True):
        for part in value.split(","):
            m = re.fullmatch(r"(\*|([0-9]+)(-([0-9]+))?)(/([0-9]+))?", part)
            if not m:
                return False
            if m.group(6) is not None and int(m.group(6)) == 0:
                return False
            numbers = [int(n) for n in (m.group(2), m.group(4)) if n is not None]
            if not all(lo <= n <= hi for n in numbers) or (len(numbers) == 2 and numbers[0] > numbers[1]):
                return False
    return True


def duration_ok(value: Any, lo: int, hi: int) -> bool:
    m = re.fullmatch(r"([0-9]{1,7})([smh])", value) if isinstance(value, str) else None
    return m is not None and lo <= int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)] <= hi


def count_ok(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def cpu_ok(value: Any) -> bool:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]+(\.[0-9]+)?|[0-9]+m", value):
        return False
    cores = int(value[:-1]) / 1000 if value.endswith("m") else float(value)
    return 0.08 <= cores <= 8


def memory_ok(value: Any) -> bool:
    m = re.fullmatch(r"([0-9]+)(Mi|Gi)", value) if isinstance(value, str) else None
    return m is not None and 512 <= int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1) <= 32 * 1024


def strings_ok(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) and v for v in value)


def trigger_ok(raw: Any) -> bool:
    if not isinstance(raw, dict) or set(raw) - TRIGGER_KEYS:
        return False
    name = raw.get("name", "schedule")
    return (isinstance(name, str) and bool(re.fullmatch(NAME, name)) and cron_ok(raw.get("schedule"))
            and raw.get("time_zone", "Etc/UTC") in ZONES and strings_ok(raw.get("args", []))
            and count_ok(raw.get("retry_count", 0), 0, 5)
            and duration_ok(raw.get("attempt_deadline", "180s"), 15, 1800))


def job_ok(name: str, raw: Any) -> bool:
    if not re.fullmatch(NAME, name) or not isinstance(raw, dict) or set(raw) - JOB_KEYS:
        return False
    triggers = raw.get("triggers", [])
    kind = raw.get("kind")
    if not isinstance(kind, str) or kind not in KINDS or not isinstance(triggers, list) \
            or not all(trigger_ok(t) for t in triggers):
        return False
    if (raw["kind"] == "manual") == bool(triggers):
        return False
    names = [t.get("name", "schedule") for t in triggers]
    tasks = raw.get("task_count", 1)
    secrets = raw.get("secrets", [])
    module = raw.get("module", "x")  # the Python module that declares the job: a dotted name
    return (len(set(names)) == len(names)
            and isinstance(module, str) and bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*",
                                                              module))
            and all(isinstance(raw.get(k, ""), str) for k in ("description", "calls"))
            and strings_ok(raw.get("args", [])) and duration_ok(raw.get("timeout", "600s"), 1, 168 * 3600)
            and count_ok(raw.get("max_retries", 0), 0, 10) and count_ok(tasks, 1, 10000)
            and count_ok(raw.get("parallelism", tasks), 1, tasks if count_ok(tasks, 1, 10000) else 0)
            and cpu_ok(raw.get("cpu", "1")) and memory_ok(raw.get("memory", "512Mi"))
            and strings_ok(secrets) and set(secrets) <= SECRET_VARS)


def catalog_ok(data: dict[str, Any]) -> bool:
    jobs = data.get("jobs")
    if set(data) != {"jobs"} or not isinstance(jobs, dict) or not jobs:
        return False
    if not all(job_ok(name, raw) for name, raw in jobs.items()):
        return False
    for env in ("test", "stage", "prod"):
        ids = []
        for name, raw in jobs.items():
            if len(f"housejobs-{name}-{env}") > 63:
                return False
            for t in raw.get("triggers", []):
                tname = t.get("name", "schedule")
                ids.append(f"housejobs-{name}-{env}" if tname == "schedule" else f"housejobs-{name}-{tname}-{env}")
        if len(set(ids)) != len(ids):
            return False
    return True


def base_url_ok(url: str) -> bool:
    """A clean base URL (README): http(s), a host, an optional port 0-65535 and a path; no query, fragment,
    userinfo, surrounding space or . / .. segment."""
    m = re.fullmatch(r"https?://[^/:?#@\s]+(?::([0-9]{1,5}))?(/[^?#]*)?", url)
    return (m is not None and int(m.group(1) or 0) <= 65535 and url == url.strip()
            and not any(unquote(s) in (".", "..") for s in (m.group(2) or "").split("/")))


def environments_ok(data: dict[str, Any]) -> bool:
    if set(data) != {"test", "stage", "prod"}:
        return False
    return all(isinstance(t, dict) and set(t) <= KNOWN_ENV_KEYS and all(isinstance(v, str) for v in t.values())
               for t in data.values())


# --- mutations ------------------------------------------------------------------------------------
def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in the document: table keys and array indexes."""
    found: list[tuple[Any, ...]] = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else []
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


def get(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def text() -> st.SearchStrategy[str]:
    """Hostile strings a UTF-8 file can hold (no lone surrogates)."""
    return hostile_text().filter(lambda s: not re.search(r"[\ud800-\udfff]", s))


def crons() -> st.SearchStrategy[str]:
    field = st.one_of(st.sampled_from(["*", "*/5", "0", "1-5", "0,30", "5/0", "10-2", "60", "MON", "?", "L"]),
                      st.integers(0, 99).map(str), st.from_regex(r"\A[0-9*,/-]{1,6}\Z"))
    return st.one_of(st.lists(field, min_size=3, max_size=7).map(" ".join),
                     st.sampled_from(["0 0 * * *", "５ 0 1 * *", "0 0 * * *\n", "0\t0 * * *", "@daily", ""]),
                     text())


def leaves() -> st.SearchStrategy[Any]:
    """A replacement value: every TOML type, huge and odd numbers, and the strings each field parses."""
    return st.one_of(
        st.integers(-(2**63), 2**63 - 1), st.integers(-3, 12), st.booleans(),
        st.floats(allow_nan=False), st.datetimes().map(lambda d: d.replace(microsecond=0)),
        st.sampled_from(["90s", "10m", "2h", "0s", "169h", "１０m", "10m\n", "10 m", "1", "500m", "0.05", "8.5", "１",
                         "512Mi", "2Gi", "33Gi", "５１２Mi", "512Mi\n", "512MB", "Etc/UTC", "UTC", "Mars/Olympus",
                         "../../etc/passwd", "Australia/Sydney\n", "manual", "daily", "weekly", "CA_ROOT_API_KEY",
                         SECRET]),
        st.sampled_from(ZONES), crons(), text(),
        st.lists(st.one_of(st.text(max_size=8), st.integers()), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    )


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(json.dumps(original))  # a deep copy
    for _ in range(draw(st.integers(1, 3))):
        places = paths(data)
        op = draw(st.sampled_from(["delete", "add", "set", "set", "rename"]))
        if not places:
            break
        where = draw(st.sampled_from(places))
        parent = get(data, where[:-1])
        key = where[-1]
        if op == "delete":
            del parent[key]
        elif op == "add":
            target = get(data, where)
            if isinstance(target, dict):
                new_key = draw(st.one_of(st.sampled_from([*KNOWN_ENV_KEYS, "kind", "schedule", "timeout", "extra"]),
                                         st.text(max_size=12)))
                target[new_key] = draw(leaves())
            elif isinstance(target, list):
                target.append(draw(leaves()))
        elif op == "set":
            parent[key] = draw(leaves())
        elif isinstance(parent, dict):  # rename a table key (a job, an environment)
            new_key = draw(st.one_of(st.text(max_size=40), st.sampled_from(["PROD", "quota_reset", "a" * 40, "x\n"])))
            if new_key not in parent:
                parent[new_key] = parent.pop(key)
    return data


@st.composite
def toml_file(draw: st.DrawFn, original: dict[str, Any]) -> bytes:
    """A mutated document, sometimes with its bytes corrupted too."""
    data = draw(mutated(original)) if draw(st.integers(0, 9)) else json.loads(json.dumps(original))
    text = dump_toml(data).encode()
    corrupt = draw(st.integers(0, 9))
    if corrupt == 0:
        pos = draw(st.integers(0, len(text)))
        text = text[:pos] + draw(st.binary(min_size=1, max_size=8)) + text[pos:]
    elif corrupt == 1:
        text = text[: draw(st.integers(0, len(text)))]
    elif corrupt == 2:
        pos = draw(st.integers(0, len(text)))
        line = draw(st.sampled_from([f"ca_root_api_key = {SECRET}", f"{SECRET}", f'"{SECRET}', f"[{SECRET}",
                                     f"key = \"{SECRET}\" trailing"]))
        text = text[:pos] + b"\n" + line.encode() + b"\n" + text[pos:]
    elif corrupt == 3:
        text = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\x00", b""])) + text
    return text


def parsed(raw: bytes) -> dict[str, Any] | None:
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def no_secret(*results: CliResult) -> None:
    for r in results:
        assert_no_secret(r.stdout + r.stderr)


def test_writer_round_trips() -> None:
    for original in (ENVIRONMENTS, CATALOG):
        assert tomllib.loads(dump_toml(original)) == original
    assert environments_ok(ENVIRONMENTS) and catalog_ok(CATALOG)


# --- properties ------------------------------------------------------------------------------------
@FUZZ
@given(raw=toml_file(ENVIRONMENTS))
@example(raw=f"[test]\nproject = {SECRET}\n".encode())
@example(raw=dump_toml({**ENVIRONMENTS, "stage": {**ENVIRONMENTS["stage"], "household_time_zone": "Mars/Base"}})
         .encode())
@example(raw=dump_toml({**ENVIRONMENTS, "stage": {**ENVIRONMENTS["stage"], "api_url": "https://h.example?x=1"}})
         .encode())
@example(raw=dump_toml({**ENVIRONMENTS, "stage": {**ENVIRONMENTS["stage"], "api_url": "https://h.example/a/../b"}})
         .encode())
def test_environments(cli: Cli, sb: SandboxHandle, jobs_dir: Path, raw: bytes) -> None:
    (jobs_dir / "environments.toml").write_bytes(raw)
    env = {"HOUSEJOBS_JOBS_DIR": str(jobs_dir)}
    data = parsed(raw)
    valid = data is not None and environments_ok(data)
    before = sb.requests
    show = cli("config", "show", "--env", "stage", "--json", env=env)
    listed = cli("list-jobs", "--json", env=env)  # reads only the catalog
    job = cli("quota-reset", "--env", "stage", "--api-url", sb.url, "--json", env=env)
    no_secret(show, listed, job)
    assert listed.code == 0
    if not valid:
        assert "environments.toml" in usage_error_line(show)
        assert "environments.toml" in refused_line(job)
        assert sb.requests == before
        return
    assert show.code == 0 and job.code == 0, (show.stderr, job.stdout)
    # The reminder reads the household's time zone from the stage table. It calls only the bot, so the
    # admin api_url, missing or malformed, does not stop it.
    assert data is not None
    stage = data["stage"]
    zone = stage.get("household_time_zone", "Etc/UTC")
    reminder = cli("reminder", "utilities", "--env", "stage", "--bot-url", sb.url, "--json", env=env)
    no_secret(reminder)
    if zone in ZONES:
        assert reminder.code == 0, reminder.stdout
    else:
        assert "time zone" in refused_line(reminder)
    # A command that calls the admin API checks the stage api_url first. (A dry run's first call, the
    # capabilities, then goes to it: no host here answers, so a good URL fails there, once, not refused.)
    if "api_url" in stage:
        boot = cli("bootstrap", "--env", "stage", "--dry-run", "--json", env={**env, "HOUSEJOBS_MAX_ATTEMPTS": "1"})
        no_secret(boot)
        if base_url_ok(stage["api_url"]):
            assert boot.code == 1 and boot.json()["message"].startswith("GET /admin/capabilities"), boot.stdout
        else:
            assert "url" in refused_line(boot).lower()


@FUZZ
@given(raw=toml_file(CATALOG))
@example(raw=dump_toml({"jobs": {"a": {"kind": "manual", "cpu": "１"}}}).encode())
@example(raw=dump_toml({"jobs": {"a": {"kind": "manual", "timeout": "10m\n"}}}).encode())
@example(raw=dump_toml({"jobs": {"a": {"kind": "manual", "memory": "５１２Mi"}}}).encode())
@example(raw=dump_toml({"jobs": {"a": {"kind": "manual", "description": ["x"]}}}).encode())
@example(raw=dump_toml({"jobs": {"a": {"kind": "daily", "triggers": [{"schedule": "０ 0 * * *"}]}}}).encode())
@example(raw=dump_toml({"jobs": {"a": {"kind": "daily", "triggers": [{"schedule": "0 0 * * *",
                                                                      "time_zone": "a" * 300}]}}}).encode())
def test_catalog(cli: Cli, jobs_dir: Path, raw: bytes) -> None:
    (jobs_dir / "catalog.toml").write_bytes(raw)
    env = {"HOUSEJOBS_JOBS_DIR": str(jobs_dir), "HOUSEJOBS_RUN_API_ENDPOINT": "http://127.0.0.1:9"}
    data = parsed(raw)
    valid = data is not None and catalog_ok(data)
    listed = cli("list-jobs", "--json", env=env)
    show = cli("config", "show", "--json", env=env)  # needs catalog.toml to exist, not to be valid
    # A job command that reads the catalog: `run` checks it before anything else. The flags contradict
    # each other, so with a valid catalog it is refused for that, and never reaches Cloud Run.
    run = cli("run", "quota-reset", "--env", "stage", "--follow", "x", "--tasks", "2", "--json", env=env)
    no_secret(listed, show, run)
    assert show.code == 0
    if not valid:
        assert "catalog.toml" in usage_error_line(listed)
        assert "catalog.toml" in refused_line(run)
        return
    assert data is not None
    assert listed.code == 0, listed.stderr
    assert {j["name"] for j in json.loads(listed.stdout)["jobs"]} == set(data["jobs"])
    line = refused_line(run)
    assert ("--follow" in line) if "quota-reset" in data["jobs"] else ("unknown job" in line), line


KNOWN_VARS = {d.env_var for d in SETTINGS}


@st.composite
def dotenv_file(draw: st.DrawFn) -> bytes:
    key = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,12}\Z").filter(lambda k: k not in KNOWN_VARS)
    value = text().map(lambda s: re.sub(r"[\r\n]", "", s))
    line = st.one_of(
        st.builds(lambda k, v: f"{k}={v}", key, value),
        st.builds(lambda k, v, q: f"export {k} = {q}{v}{q}", key, value, st.sampled_from(["'", '"', ""])),
        # Quotes with what may follow them: a comment (valid), other text (not), escapes inside.
        st.builds(lambda k, v, q, after: f"{k}={q}{v}{q}{after}", key,
                  st.one_of(value, st.sampled_from(["a # b", "a\\", "\\n", 'x\\"y', "it\\'s", "#"])),
                  st.sampled_from(["'", '"']), st.sampled_from(["", " # c", "# c", "\t#", " x", "x", "  "])),
        st.builds(lambda v: f"# {v}", value), st.just(""), st.just("   "),
        st.just(f"CA_ROOT_API_KEY={SECRET}"),  # the same value the environment holds: valid, masked
        st.sampled_from([SECRET, f"CA_ROOT_API_KEY {SECRET}", f"CA_ROOT_API_KEY: {SECRET}", f"={SECRET}",
                         f"1CA_ROOT_API_KEY={SECRET}", f"CA-ROOT-API-KEY={SECRET}", f"export {SECRET}",
                         f"\x00CA_ROOT_API_KEY={SECRET}"]),
        value,
    )
    lines = draw(st.lists(line, max_size=6))
    raw = draw(st.sampled_from(["\n", "\r\n"])).join(lines).encode()
    if draw(st.integers(0, 9)) == 0:
        pos = draw(st.integers(0, len(raw)))
        raw = raw[:pos] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"])) + raw[pos:]
    return raw


# .env as python-dotenv reads it (README, Configuration). H: a space that does not end a line. A quoted value
# closes at the first quote no backslash escapes (a backslash escapes any character as far as closing goes),
# may span lines, and only spaces or a comment may follow it on its last line.
H = r"[^\S\r\n]"
EOL = r"(?:\r\n|\n|\r|\Z)"
QUOTED = r'(?:"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\')' + H + r"*(?:#[^\r\n]*)?"
BINDING = re.compile(r"\s*(?>(?:export" + H + r"+)?)('?)([A-Za-z_][A-Za-z0-9_]*)\1" + H + r"*=(?>" + H + r"*)"
                     + r"(?:" + QUOTED + r"|(?![\'\"])[^\r\n]*)" + EOL, re.DOTALL)
COMMENT = re.compile(r"\s*#[^\r\n]*" + EOL)


def dotenv_ok(raw: bytes) -> bool:
    """An optional BOM, then KEY=value bindings (`export KEY=value` too), comments and blank lines; a line
    ends at \\n, \\r\\n or \\r; a key is a variable name (which may be in single quotes), with an `=`."""
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return False
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # read as text: newlines are \n
    pos = 0
    while text[pos:].strip():
        if m := COMMENT.match(text, pos):
            pos = m.end()
            continue
        m = BINDING.match(text, pos)
        if m is None or m.end() == pos:
            return False
        assume(m.group(2) not in KNOWN_VARS - {"CA_ROOT_API_KEY"})  # a real setting changes the run
        pos = m.end()
    return True


@FUZZ
@given(raw=dotenv_file())
@example(raw=f"CA_ROOT_API_KEY {SECRET}\n".encode())
@example(raw=b"NAME=caf\xe9\n")
@example(raw="NAME=a\u2028b\n".encode())
@example(raw=b'NAME="a" # a comment\n')
@example(raw=b'NAME="a\\" b\n')  # the quote is escaped: never closed
@example(raw=b"NAME='a' b\n")
@example(raw=b"NAME='it\\'s' # c\n")
@example(raw=b"\xef\xbb\xbfNAME=bom\n")  # a BOM (python-dotenv skips it)
@example(raw=b'NAME="two\nlines" # c\nOTHER=x\n')  # a quoted value may span lines
@example(raw=b'NAME="two\nlines" x\n')
@example(raw=b'NAME= "open\n')
@example(raw=b"export =x\n")
@example(raw=b"'NAME'=x\n'A B'=y\n")
def test_dotenv(cli: Cli, sb: SandboxHandle, tmp_path: Path, raw: bytes) -> None:
    (tmp_path / ".env").write_bytes(raw)
    valid = dotenv_ok(raw)
    before = sb.requests
    show = cli("config", "show", "--json")
    job = cli("quota-reset", "--api-url", sb.url, "--json")
    no_secret(show, job)
    if valid:
        assert show.code == 0 and job.code == 0, (show.stderr, job.stdout)
        assert sb.requests > before
    else:
        assert ".env" in usage_error_line(show)
        assert ".env" in refused_line(job)
        assert sb.requests == before


# The settings' ranges (README, Settings): decimals above a bound (or from it), whole numbers within one.
# Every number setting is checked as the settings resolve, whichever job runs and whether or not it reads
# that setting (quota-reset reads neither BigQuery's timeout nor the progress interval); the notifier's own
# HOUSEJOBS_NOTIFY_TIMEOUT only warns (tests/test_notify.py).
DECIMAL = {"HOUSEJOBS_DEADLINE": (0.0, False), "HOUSEJOBS_TIMEOUT": (0.0, False),
           "HOUSEJOBS_RETRY_AFTER_CAP": (0.0, True),  # the bound, and whether the bound itself is allowed
           "HOUSEJOBS_BIGQUERY_TIMEOUT": (0.0, False)}
WHOLE = {"HOUSEJOBS_MAX_ATTEMPTS": (1, 100), "HOUSEJOBS_PROGRESS_EVERY": (1, 1_000_000),
         "HOUSEJOBS_MAX_RETRIES": (0, 10)}


def number_ok(var: str, raw: str) -> bool:
    """ASCII only: a sign, digits, and for a decimal a point and an exponent (never '３', ' 5 ', '1_0', 'inf')."""
    if var in WHOLE:
        lo, hi = WHOLE[var]
        return bool(re.fullmatch(r"[+-]?[0-9]+", raw)) and lo <= int(raw) <= hi
    if not re.fullmatch(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", raw):
        return False
    number, (bound, inclusive) = float(raw), DECIMAL[var]
    return math.isfinite(number) and (number >= bound if inclusive else number > bound)


@FUZZ
@given(var=st.sampled_from(sorted({**DECIMAL, **WHOLE})), raw=st.one_of(
    st.floats().map(repr), st.integers(-3, 120).map(str),
    st.sampled_from(["", " 5 ", "1e308", "1e400", "0x10", "5s", "1e3", "５", "1_0", "+7", "7.0", "inf", "nan",
                     "1000000", "1000001", "-0"]),
    text()), in_dotenv=st.booleans())
@example(var="HOUSEJOBS_MAX_ATTEMPTS", raw="1e3", in_dotenv=False)
@example(var="HOUSEJOBS_TIMEOUT", raw="３", in_dotenv=True)
@example(var="HOUSEJOBS_BIGQUERY_TIMEOUT", raw="0", in_dotenv=False)
@example(var="HOUSEJOBS_PROGRESS_EVERY", raw="1000001", in_dotenv=True)
@example(var="HOUSEJOBS_MAX_RETRIES", raw="11", in_dotenv=False)
def test_numeric_settings(cli: Cli, sb: SandboxHandle, tmp_path: Path, var: str, raw: str, in_dotenv: bool) -> None:
    """A number setting from the environment or .env: a number in its range runs, anything else exit 2."""
    assume("\x00" not in raw and not re.search(r"[\ud800-\udfff]", raw))
    if in_dotenv:
        assume(not re.search(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]", raw) and raw.strip() == raw)
        # Unquoted and without a comment, so the file's value is `raw` itself.
        assume(raw[:1] not in ("'", '"') and not re.search(r"\s#", raw))
        (tmp_path / ".env").write_text(f"{var}={raw}\n", encoding="utf-8")
        env = {}
    else:
        (tmp_path / ".env").unlink(missing_ok=True)  # the directory outlives the example
        env = {var: raw}
    valid = number_ok(var, raw)
    before = sb.requests
    result = cli("quota-reset", "--api-url", sb.url, "--json", env=env)
    if valid:
        # Valid is not always useful: a deadline or timeout of 1e-300 s fails the call (exit 1).
        assert result.code in (0, 1), result.stdout
    else:
        key = var.removeprefix("HOUSEJOBS_").lower()
        assert key in refused_line(result)
        assert sb.requests == before
