"""The reliability fault matrix: six jobs × every fault the sandbox and the fakes can inject.

Each cell scripts one fault on a real server (the sandbox, or the Supabase stand-in on a real
PostgreSQL), runs the real CLI (in this process; real processes for the signals) and asserts:

- the documented exit code and outcome, one run_summary record last on stderr, no traceback;
- what the faulted run did to the world: each unit's effect applied at most once, and exactly as the
  outcome says (`refused` and a fail-fast: nothing; a lost answer: applied once, never twice);
- after the fault is cleared, a rerun (what Cloud Run's task retry or the next trigger does) exits 0
  and leaves every unit applied exactly once: nothing lost, nothing doubled.

Units: the period for the period jobs and the reminder, the Cloud Run execution for bootstrap (one key
per run, so the rerun is a task retry of the same execution), each org for org-sync-all, each
migration for migrate (every migration appends a row to a ledger table, so a second application
would show as a second row, not just as a history primary-key clash).

A cell that cannot happen is skipped with its reason, never left out. With HOUSEJOBS_RELIABILITY_REPORT
set, every cell appends one JSON line of what it observed; bench/reliability.py tabulates them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.fakes.supabase import FakeSupabaseApi
from tests.support.cli import Cli, CliResult
from tests.support.process import spawn_cli
from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import SENTINEL_MARKERS, SENTINELS
from tests.support.waiting import wait_until

pytestmark = pytest.mark.faults

REPORT_ENV = "HOUSEJOBS_RELIABILITY_REPORT"
DATE, MONTH = "2026-11-24", "2026-11"
ORGS = tuple(f"org-{i:06d}" for i in range(1, 7))
JOBS = ("quota-reset", "quota-monthly", "bootstrap", "org-sync-all", "reminder", "migrate")
FAULTS = ("503-burst", "429-short", "429-over-cap", "reset-before-commit", "drop-after-commit", "slow",
          "malformed", "truncated", "401-first-call", "401-mid-run", "unreachable", "sigterm", "sigkill-rerun",
          "slow-concurrent")
SIGNALS = ("sigterm", "sigkill-rerun")
IN_PROCESSES = (*SIGNALS, "slow-concurrent")  # cells that run real processes, not the in-process CLI
SINGLE_CALL = ("quota-reset", "quota-monthly", "bootstrap", "reminder")
NOT_APPLICABLE = {(job, "401-mid-run"): f"{job} makes one call per run: there is no middle to lose auth in "
                  "(401-first-call covers its 401)" for job in SINGLE_CALL}
NOT_APPLICABLE.update({
    ("reminder", "slow-concurrent"): "the bot's ledger answers a concurrent twin at once (claimed or duplicate): "
                                     "there is no in-flight state to wait out "
                                     "(tests/unit/sandbox/test_bot.py races eight)",
    ("migrate", "slow-concurrent"): "a second migrate waits on the database's advisory lock, not on a key in flight "
                                    "(tests/unit/migrations/test_migrations.py races two processes)",
})
# slow-concurrent: four runs at once for the same units; the server holds each new claim 1.5 s before it
# commits, longer than the client's 1 s attempt timeout, so every first attempt times out while its request
# goes on, and the retries meet 409 idempotency_in_flight. All must wait it out inside the deadline, and
# exactly one run (the one whose request applied the effect) may say `applied` for each unit.
CONCURRENT_RUNS = 4
SLOW_SERVER = {"HOUSEJOBS_TIMEOUT": "1", "HOUSEJOBS_DEADLINE": "30"}
SLOW = {"HOUSEJOBS_TIMEOUT": "0.2", "HOUSEJOBS_MAX_ATTEMPTS": "2"}  # and 400 ms of server latency
SETTLE_S = 5.0  # bound on waiting for a server thread that outlived its client to commit
RETRIED = ("503-burst", "429-short", "reset-before-commit", "drop-after-commit", "slow", "unreachable")
# What the one error line names, so a cell cannot pass on some other failure with the same exit code.
NAMED = {"429-over-cap": "beyond the cap", "slow": "Timeout", "malformed": "not valid JSON",
         "truncated": "not valid JSON", "401-first-call": "401", "401-mid-run": "401", "unreachable": "ConnectError"}


# --- what each cell must see ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Expect:
    code: int
    outcome: str
    applied: tuple[int, int]  # how many units the faulted run left applied (once each), min and max


def _all(n: int) -> tuple[int, int]:
    return (n, n)


NONE = (0, 0)


def expectations(job: str) -> dict[str, Expect]:
    units = {"org-sync-all": len(ORGS), "migrate": 3}.get(job, 1)
    everything = _all(units)
    table = {
        "503-burst": Expect(0, "applied", everything),
        "429-short": Expect(0, "applied", everything),
        "429-over-cap": Expect(1, "failed", NONE),  # fails fast: never waits two minutes
        "reset-before-commit": Expect(0, "applied", everything),
        # The retry is a replay of this run's own commit, and the server's Idempotency-Origin says so: this
        # run applied it (its answer was lost), applied once. `duplicate` is kept for another run's effect.
        "drop-after-commit": Expect(0, "applied", everything),
        # The server acted, the answers came too late: not reported done; the rerun finds it done.
        "slow": Expect(1, "failed", everything),
        "malformed": Expect(1, "failed", everything),
        "truncated": Expect(1, "failed", everything),
        "401-first-call": Expect(2, "refused", NONE),
        "unreachable": Expect(1, "failed", NONE),
        # The one in-flight call finishes inside the grace period: nothing is left for a rerun.
        "sigterm": Expect(0, "applied", everything),
        "sigkill-rerun": Expect(-9, "", everything),
    }
    if job == "org-sync-all":
        table.update({
            "429-over-cap": Expect(3, "partial", _all(units - 1)),  # one org fails fast, the rest go on
            "drop-after-commit": Expect(0, "applied", everything),  # one org of six reported duplicate
            "malformed": Expect(3, "partial", everything),
            "truncated": Expect(3, "partial", everything),
            "401-mid-run": Expect(3, "partial", _all(2)),  # the listing and two syncs, then the key is revoked
            "sigterm": Expect(143, "interrupted", (1, units - 1)),
            "sigkill-rerun": Expect(-9, "", (0, units)),
        })
    if job == "reminder":
        # The bot's ledger names no origin: the replayed claim reads as already dispatched.
        table["drop-after-commit"] = Expect(0, "duplicate", everything)
    if job == "migrate":  # faults hit the second migration's request (the first call for 401-first-call)
        table.update({
            "429-over-cap": Expect(1, "failed", _all(1)),
            "drop-after-commit": Expect(0, "applied", everything),  # m2 reported as a duplicate
            "slow": Expect(1, "failed", _all(2)),
            "malformed": Expect(1, "failed", _all(2)),
            "truncated": Expect(1, "failed", _all(2)),
            "401-mid-run": Expect(3, "partial", _all(1)),
            "sigterm": Expect(143, "interrupted", _all(1)),  # m1 finishes; m2 and m3 are left for a rerun
        })
    return table


# --- targets: one per job, over the server that plays its API -------------------------------------------
SANDBOX_FAULTS: dict[str, dict[str, Any]] = {
    "503-burst": {"statuses": [503, 503, 503]},
    "429-short": {"statuses": [429, 429], "retry_after": "1"},
    "429-over-cap": {"statuses": [429], "retry_after": "120"},
    "reset-before-commit": {"drop_before_commit": 1},
    "drop-after-commit": {"drop_after_commit": 1},
    "slow": {"latency_ms": 400},
    "malformed": {"malformed": 1},
    "truncated": {"truncated": 1},
    "401-first-call": {"statuses": [401]},
}
ADMIN = {  # job -> (route, effect, units, extra argv)
    "quota-reset": ("/admin/quota/reset-daily", "quota-reset", (DATE,), ("--date", DATE)),
    "quota-monthly": ("/admin/quota/reset-monthly", "quota-monthly", (MONTH,), ("--month", MONTH)),
    "bootstrap": ("/admin/bootstrap", "bootstrap", ("run",), ()),
    "org-sync-all": ("/admin/orgs/{org}/sync", "org-sync", ORGS, ("--date", DATE)),
    "reminder": ("/jobs/reminder/{type}", "reminder", (f"{MONTH}:utilities",), ("--period", MONTH)),
}
# bootstrap keys one run by its Cloud Run execution: the rerun is that execution's task retry.
CLOUD_RUN = {"CLOUD_RUN_JOB": "housejobs-bootstrap-stage", "CLOUD_RUN_EXECUTION": "housejobs-bootstrap-stage-f1",
             "HOUSEJOBS_ENV": "stage"}


class Target:
    job: str
    units: tuple[str, ...]

    def argv(self, url: str | None = None) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}

    def inject(self, fault: str) -> list[str]:
        """Script the fault; return extra argv the cell needs."""
        raise NotImplementedError

    def slow_down(self) -> None:
        """Make the mutating call slow enough to signal the process while it is in flight."""
        raise NotImplementedError

    def in_flight(self) -> bool:
        raise NotImplementedError

    def release(self) -> None:
        """Let a held call go on (after the signal)."""

    def settled(self) -> bool:
        """Every call a killed client left on the server has finished."""
        return True

    def clear(self) -> None:
        raise NotImplementedError

    def effects(self) -> dict[str, int]:
        raise NotImplementedError


class AdminTarget(Target):
    def __init__(self, job: str, sandbox: SandboxHandle) -> None:
        self.job, self.sandbox = job, sandbox
        self.route, self.effect, self.units, self.extra = ADMIN[job]

    def argv(self, url: str | None = None) -> list[str]:
        url = url or self.sandbox.url
        if self.job == "reminder":
            return ["reminder", "utilities", "--bot-url", url, "--json", *self.extra]
        return [self.job, "--api-url", url, "--json", *self.extra]

    def env(self) -> dict[str, str]:
        return dict(CLOUD_RUN) if self.job == "bootstrap" else {}

    def inject(self, fault: str) -> list[str]:
        if fault == "401-mid-run":  # org-sync-all only: the listing and two syncs, then the key is revoked
            self.sandbox.fault(route="*", auth_fail_after=3)
            return ["--concurrency", "1"]
        # The org listing is the first call of org-sync-all: a 401 there is its first-call 401.
        route = "*" if (self.job, fault) == ("org-sync-all", "401-first-call") else self.route
        self.sandbox.fault(route=route, **SANDBOX_FAULTS[fault])
        return []

    def slow_down(self) -> None:
        self.sandbox.fault(route=self.route, latency_ms=300)

    def in_flight(self) -> bool:
        return self.sandbox.routes().get(self.route, 0) > 0

    def clear(self) -> None:
        self.sandbox._call("DELETE", "/_sandbox/faults")

    def effects(self) -> dict[str, int]:
        counts = {key.split(":", 1)[1]: n for key, n in self.sandbox.counters(self.effect).items()}
        if self.job == "org-sync-all":
            counts = {key.rsplit(":", 1)[0]: n for key, n in counts.items()}
        return {unit: counts.get(unit, 0) for unit in self.units}

    def settled(self) -> bool:
        return sum(self.effects().values()) >= min(len(self.units), self.sandbox.routes().get(self.route, 0))


MIGRATIONS = {
    "20260101000000_m1.sql": "create table public.ledger (migration text not null);\n"
                             "insert into public.ledger values ('m1');\n",
    "20260102000000_m2.sql": "insert into public.ledger values ('m2');\n",
    "20260103000000_m3.sql": "insert into public.ledger values ('m3');\n",
}
M2 = "values ('m2')"  # text only the second migration's request carries


class _Gate:
    """before_query hook: holds the first request carrying `match` until released (bounded)."""

    def __init__(self, match: str) -> None:
        self.match = match
        self.arrived = threading.Event()
        self.go = threading.Event()

    def __call__(self, sql: str) -> None:
        if self.match in sql and not self.arrived.is_set():
            self.arrived.set()
            self.go.wait(15)


class MigrateTarget(Target):
    job = "migrate"
    units = ("m1", "m2", "m3")

    def __init__(self, api: FakeSupabaseApi, db: str, folder: Path) -> None:
        self.api, self.db, self.folder = api, db, folder
        self.gate: _Gate | None = None

    def argv(self, url: str | None = None) -> list[str]:
        return ["migrate", "--env", "test", "--dir", str(self.folder), "--json"]

    def env(self) -> dict[str, str]:
        return {"HOUSEJOBS_SUPABASE_API_URL": self.api.url, "HOUSEJOBS_SUPABASE_PROJECT_REF": self.api.ref}

    def inject(self, fault: str) -> list[str]:
        spec = dict(SANDBOX_FAULTS.get(fault, {"statuses": [401]}))  # 401-mid-run: a 401 on m2
        if "retry_after" in spec:
            spec["retry_after"] = int(spec["retry_after"])
        self.api.fault(match=None if fault == "401-first-call" else M2, **spec)
        return []

    def slow_down(self) -> None:
        self.gate = _Gate("values ('m1')")
        self.api.before_query = self.gate

    def in_flight(self) -> bool:
        return self.gate is not None and self.gate.arrived.is_set()

    def release(self) -> None:
        if self.gate is not None:
            self.gate.go.set()

    def clear(self) -> None:
        self.api.clear_faults()
        self.release()
        self.api.before_query = None

    def effects(self) -> dict[str, int]:
        with psycopg.connect(self.db) as conn:
            try:
                rows = conn.execute("select migration, count(*) from public.ledger group by migration").fetchall()
            except psycopg.errors.UndefinedTable:
                rows = []
        counts = {str(m): int(n) for m, n in rows}
        return {unit: counts.get(unit, 0) for unit in self.units}

@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    job = request.node.callspec.params["job"]
    if job == "migrate":
        db = request.getfixturevalue("pg_db")
        folder = tmp_path / "migrations"
        folder.mkdir()
        for name, sql in MIGRATIONS.items():
            (folder / name).write_text(sql)
        with FakeSupabaseApi(db, token=SENTINELS["SUPABASE_ACCESS_TOKEN"]) as api:
            migrate = MigrateTarget(api, db, folder)
            yield migrate
            migrate.release()
        return
    yield AdminTarget(job, request.getfixturevalue("sandbox_factory")("matrix", orgs=len(ORGS)))


# --- observations: what bench/reliability.py counts ----------------------------------------------------------
@dataclass
class Observation:
    job: str
    fault: str
    status: str = "run"  # "run" or "n/a"
    reason: str = ""
    expected_exit: int | None = None
    exit: int | None = None
    outcome: str | None = None
    runs: int = 0
    tracebacks: int = 0
    leaks: int = 0
    missing_summaries: int = 0
    twice: int | None = None  # units applied more than once, measured when the cell ends
    lost: int | None = None  # units still not applied after the clean rerun (None: not reached)
    passed: bool = False
    effects: dict[str, int] = field(default_factory=dict)

    def saw(self, stdout: str, stderr: str, *, summary: bool = True) -> None:
        self.runs += 1
        text = stdout + stderr
        self.tracebacks += "Traceback" in text
        self.leaks += sum(marker in text for marker in SENTINEL_MARKERS)
        if summary and last_record(stderr).get("event") != "run_summary":
            self.missing_summaries += 1


@pytest.fixture
def observation(request: pytest.FixtureRequest, target: Target) -> Iterator[Observation]:
    params = request.node.callspec.params
    obs = Observation(params["job"], params["fault"])
    yield obs
    if obs.status == "run":
        try:
            obs.effects = target.effects()
            obs.twice = sum(n > 1 for n in obs.effects.values())
        except Exception as exc:  # a broken server must not hide the cell's own result
            obs.reason = f"effects unreadable: {exc.__class__.__name__}"
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"nodeid": request.node.nodeid, **asdict(obs)}) + "\n")


# --- helpers ---------------------------------------------------------------------------------------------------
def last_record(stderr: str) -> dict[str, Any]:
    lines = [line for line in stderr.splitlines() if line.strip().startswith("{")]
    try:
        record = json.loads(lines[-1]) if lines else {}
    except ValueError:
        return {}
    return record if isinstance(record, dict) else {}


def run(cli: Cli, obs: Observation, argv: list[str], env: dict[str, str]) -> CliResult:
    try:
        result = cli(*argv, env=env)
    except AssertionError:  # the runner's own check: a traceback reached stderr
        obs.runs += 1
        obs.tracebacks += 1
        raise
    obs.saw(result.stdout, result.stderr)
    return result


def check_run(code: int, stdout: str, stderr: str, expect: Expect) -> None:
    assert code == expect.code, stdout + stderr
    assert "Traceback" not in stdout + stderr
    summary = last_record(stderr)
    assert summary.get("event") == "run_summary", stderr
    assert summary["outcome"] == expect.outcome and summary["exit_code"] == expect.code
    assert json.loads(stdout)["outcome"] == expect.outcome, stdout


def check_effects(target: Target, expect: Expect) -> None:
    lo, hi = expect.applied

    def within() -> bool:
        counts = target.effects()
        return all(n <= 1 for n in counts.values()) and lo <= sum(counts.values()) <= hi

    if lo > 0:  # a server thread may still be finishing a call its client gave up on
        wait_until(lambda: sum(target.effects().values()) >= lo, f"{lo} effects", timeout=SETTLE_S)
    counts = target.effects()
    assert within(), f"expected {lo}..{hi} units applied once each, got {counts}"


def rerun_completes(cli: Cli, obs: Observation, target: Target) -> None:
    """Cloud Run's retry, or the next trigger: clean, exit 0, every unit applied exactly once."""
    target.clear()
    again = run(cli, obs, target.argv(), target.env())
    assert again.code == 0, again.stdout + again.stderr
    assert again.json()["outcome"] in ("applied", "duplicate", "skipped")
    counts = target.effects()
    obs.lost = sum(n == 0 for n in counts.values())
    assert counts == {unit: 1 for unit in target.units}, counts


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # closed again: connections are refused


def cells(faults: tuple[str, ...]) -> list[Any]:
    return [pytest.param(job, fault, id=f"{job}-{fault}",
                         marks=[pytest.mark.postgres] if job == "migrate" else [])
            for job in JOBS for fault in faults]


# --- the matrix ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("job", "fault"), cells(tuple(f for f in FAULTS if f not in IN_PROCESSES)))
def test_fault_in_process(job: str, fault: str, target: Target, observation: Observation, cli: Cli) -> None:
    obs = observation
    if (job, fault) in NOT_APPLICABLE:
        obs.status, obs.reason = "n/a", NOT_APPLICABLE[(job, fault)]
        pytest.skip(obs.reason)
    expect = expectations(job)[fault]
    obs.expected_exit = expect.code
    env = target.env()
    argv = target.argv()
    if fault == "unreachable":
        url = dead_url()
        argv = target.argv(url)
        if job == "migrate":
            env["HOUSEJOBS_SUPABASE_API_URL"] = url
    else:
        argv += target.inject(fault)
    if fault == "slow":
        env.update(SLOW)

    result = run(cli, obs, argv, env)
    obs.exit, obs.outcome = result.code, last_record(result.stderr).get("outcome")
    check_run(result.code, result.stdout, result.stderr, expect)
    doc = result.json()
    if fault in RETRIED:
        assert doc["attempts"] > doc["calls"], doc  # the fault was met and retried
    if fault in NAMED:
        assert NAMED[fault] in doc["message"] + json.dumps(doc["failures"]), doc["message"]
    if fault == "429-short" and job != "org-sync-all":
        assert result.sleeps == [1.0, 1.0]  # the Retry-After, as told
    if fault == "429-over-cap":
        assert not any(s >= 30 for s in result.sleeps)  # failed fast, never waited it out
    check_effects(target, expect)
    rerun_completes(cli, obs, target)
    obs.passed = True


@pytest.mark.slow
@pytest.mark.parametrize(("job", "fault"), cells(SIGNALS))
def test_signal(job: str, fault: str, target: Target, observation: Observation, cli: Cli) -> None:
    obs = observation
    expect = expectations(job)[fault]
    obs.expected_exit = expect.code
    target.slow_down()
    extra = ["--concurrency", "2"] if job == "org-sync-all" else []
    proc = spawn_cli(target.argv() + extra, extra_env=target.env())
    try:
        wait_until(lambda: target.in_flight() or proc.poll() is not None, "the call to reach the server")
        assert proc.poll() is None, "the run ended before it could be signalled"
        if fault == "sigterm":
            proc.send_signal(signal.SIGTERM)
        else:
            proc.kill()
        target.release()
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    obs.exit = proc.returncode
    if fault == "sigterm":
        obs.saw(out, err)
        obs.outcome = last_record(err).get("outcome")
        check_run(proc.returncode, out, err, expect)
        check_effects(target, expect)
    else:
        obs.saw(out, err, summary=False)  # SIGKILL leaves no summary: the rerun writes one
        assert proc.returncode == -signal.SIGKILL
        assert "Traceback" not in out + err
        wait_until(target.settled, "the server to finish the killed run's calls", timeout=SETTLE_S)
        counts = target.effects()
        assert all(n <= 1 for n in counts.values()), counts
    rerun_completes(cli, obs, target)
    obs.passed = True


@pytest.mark.slow
@pytest.mark.parametrize(("job", "fault"), cells(("slow-concurrent",)))
def test_slow_server_concurrency(job: str, fault: str, target: Target, observation: Observation, cli: Cli) -> None:
    obs = observation
    if (job, fault) in NOT_APPLICABLE:
        obs.status, obs.reason = "n/a", NOT_APPLICABLE[(job, fault)]
        pytest.skip(obs.reason)
    assert isinstance(target, AdminTarget)
    obs.expected_exit = 0
    target.sandbox.fault(route=target.route, hold_ms=1500)
    env = {**target.env(), **SLOW_SERVER, "CA_ROOT_API_KEY": SENTINELS["CA_ROOT_API_KEY"]}
    procs = [spawn_cli(target.argv(), extra_env=env) for _ in range(CONCURRENT_RUNS)]
    outs = [p.communicate(timeout=60) for p in procs]
    docs = []
    for proc, (out, err) in zip(procs, outs, strict=True):
        obs.saw(out, err)
        assert proc.returncode == 0, out + err
        assert "Traceback" not in out + err
        docs.append(json.loads(out))
    obs.exit, obs.outcome = 0, ",".join(sorted(d["outcome"] for d in docs))
    # Waited out, not failed: at least one retry met the in-flight key in some run.
    assert any(d["attempts"] > d["calls"] for d in docs), docs
    if job == "org-sync-all":
        # Each org applied by exactly one run; every run reports each org synced or duplicate.
        assert sum(d["counts"]["synced"] for d in docs) == len(ORGS), docs
        assert sum(d["counts"]["duplicate"] for d in docs) == len(ORGS) * (CONCURRENT_RUNS - 1), docs
    else:
        outcomes = sorted(d["outcome"] for d in docs)
        assert outcomes == ["applied"] + ["duplicate"] * (CONCURRENT_RUNS - 1), [d["message"] for d in docs]
    assert target.effects() == {unit: 1 for unit in target.units}
    rerun_completes(cli, obs, target)
    obs.passed = True

