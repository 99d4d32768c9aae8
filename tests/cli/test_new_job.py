"""Adding a job is its module and its catalog entry, and nothing else.

A toy job is written here: a module in a folder of its own (on PYTHONPATH, never inside the package) that
declares its JobSpec, and an entry in a copy of jobs/catalog.toml that names the module (HOUSEJOBS_JOBS_DIR).
With no other edit it is in `--help` (with its own options), `list-jobs`, `create-all-jobs --plan`,
`smoke`, `history` and `backfill`, and it runs: a spawned CLI against the sandbox (the toy calls the
admin API's stale-cleanup route, keyed by its own period), and Cloud Run executions of it against the
Google fakes, whose containers run in this process (so the toy module is importable here too).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from housejobs.jobs import registry
from tests.fakes.container import HousejobsImage
from tests.support.cli import Cli, CliResult
from tests.support.cloud_run import started_args
from tests.support.deploy_env import PROJECT, GcpEnv, gcp_env
from tests.support.process import run_cli_process
from tests.support.sandbox import SandboxHandle

REPO = Path(__file__).resolve().parents[2]
MODULE = "housejobs_toy_job"
TOY = '''
"""toy-count: a job written by a test, to show a job is its module and its catalog entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from housejobs.jobs.spec import DATE, JobSpec, Opt, PeriodRule
from housejobs.periods import parse_period
from housejobs.results import JobResult, Outcome, PlannedCall

PATH = "/admin/quota/cleanup-stale"


@dataclass(frozen=True)
class ToyRequest:
    period: str | None = None
    label: str = "toy"


async def count(ctx: Any, req: ToyRequest) -> JobResult:
    day = parse_period(DATE, req.period, ctx.clock.now())
    key, body = f"housejobs:toy-count:{day}", {"date": day}
    api = ctx.admin_client()
    if ctx.options.dry_run:
        await api.capabilities()  # proves the key and the API
        return JobResult(Outcome.DRY_RUN, f"{req.label}: would count {day}", planned=[
            PlannedCall("POST", PATH, key, body)], period=day)
    response = await api.post(PATH, body, idempotency_key=key)
    outcome = Outcome.DUPLICATE if response.replayed else Outcome.APPLIED
    return JobResult(outcome, f"{req.label}: counted {day}", counts={"fixed": response.data["counters_fixed"]},
                     period=day)


SPEC = JobSpec(
    name="toy-count",
    help="Calls `POST /admin/quota/cleanup-stale` once per date, keyed `housejobs:toy-count:<date>`.\\n\\n"
         "Example: housejobs toy-count --env stage --label mine",
    uses=("admin",), request=ToyRequest, run=count, confirm="run toy-count",
    period=PeriodRule(DATE, option="--date"),
    options=(Opt("--label", "label", "What the result calls it.", metavar="NAME", default="toy"),),
)
'''
ENTRY = """
[jobs.toy-count]
module = "housejobs_toy_job"
kind = "daily"
description = "Count the toy's counters (a job added by a test)."
calls = "POST /admin/quota/cleanup-stale"
secrets = ["CA_ROOT_API_KEY"]
timeout = "5m"
max_retries = 1
[[jobs.toy-count.triggers]]
schedule = "0 3 * * *"
time_zone = "Etc/UTC"
"""


@dataclass
class Toy:
    modules: Path
    jobs: Path
    sandbox: SandboxHandle

    @property
    def env(self) -> dict[str, str]:
        """Where a CLI finds the toy: its catalog entry, and (a spawned one) its module."""
        path = os.pathsep.join(p for p in (str(self.modules), os.environ.get("PYTHONPATH", "")) if p)
        return {"HOUSEJOBS_JOBS_DIR": str(self.jobs), "PYTHONPATH": path}

    def spawned(self, *argv: str, extra: dict[str, str] | None = None) -> tuple[int, str, str]:
        done = run_cli_process(list(argv), extra_env={**self.env, **(extra or {})})
        return done.returncode, done.stdout, done.stderr


@pytest.fixture
def toy(tmp_path: Path, sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> Iterator[Toy]:
    modules, jobs = tmp_path / "modules", tmp_path / "jobs"
    modules.mkdir()
    (modules / f"{MODULE}.py").write_text(TOY)
    shutil.copytree(REPO / "jobs", jobs)  # the real catalog and environments.toml, and the toy's entry
    (jobs / "catalog.toml").write_text((jobs / "catalog.toml").read_text() + ENTRY)
    monkeypatch.syspath_prepend(str(modules))  # the containers the Cloud Run fake runs here import it too
    yield Toy(modules, jobs, sandbox)
    sys.modules.pop(MODULE, None)
    registry._declared.cache_clear()


def lines_of(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines() if line.startswith("  ") and line.split()]


def test_a_new_job_is_in_help_and_list_jobs_and_runs(toy: Toy) -> None:
    code, out, err = toy.spawned("--help")
    assert code == 0, err
    listed = lines_of(out.split("Commands:")[1])
    # Listed with the jobs, from its catalog description (no job module is imported for --help).
    assert listed.index("toy-count") == listed.index("reminder") + 1 < listed.index("run")
    assert "toy-count        Count the toy's counters (a job added by a test)." in out

    code, out, err = toy.spawned("toy-count", "--help")
    assert code == 0, err
    for said in ("Count the toy's counters", "Example: housejobs toy-count --env stage --label mine",
                 "--date YYYY-MM-DD", "--label NAME", "--env ENV", "--api-url URL", "--dry-run", "--json"):
        assert said in out, said

    code, out, err = toy.spawned("list-jobs", "--json")
    assert code == 0, err
    assert "toy-count" in [job["name"] for job in json.loads(out)["jobs"]]

    url = ("--api-url", toy.sandbox.url)
    code, out, err = toy.spawned("toy-count", *url, "--date", "2026-11-20", "--label", "mine", "--json")
    assert code == 0, out + err
    doc = json.loads(out)
    assert (doc["job"], doc["outcome"], doc["message"]) == ("toy-count", "applied", "mine: counted 2026-11-20")
    again = json.loads(toy.spawned("toy-count", *url, "--date", "2026-11-20", "--json")[1])
    assert again["outcome"] == "duplicate"
    dry = json.loads(toy.spawned("toy-count", *url, "--date", "2026-11-21", "--dry-run", "--json")[1])
    assert dry["outcome"] == "dry-run"
    assert dry["planned"][0]["idempotency_key"] == "housejobs:toy-count:2026-11-21"
    assert toy.sandbox.counters("stale-cleanup") == {"stale-cleanup:2026-11-20": 1}


@dataclass
class Deployed:
    gcp: GcpEnv
    cli: Cli
    toy: Toy

    @property
    def env(self) -> dict[str, str]:
        return {**self.gcp.env, "HOUSEJOBS_API_URL": self.toy.sandbox.url, "HOUSEJOBS_JOBS_DIR": str(self.toy.jobs)}

    def __call__(self, *argv: str, **kw: Any) -> CliResult:
        return self.cli(*argv, env=self.env, **kw)


@pytest.fixture
def deployed(cli: Cli, toy: Toy, tmp_path: Path) -> Iterator[Deployed]:
    """The catalog with the toy, provisioned on the Google fakes; each execution runs the image's CLI here."""
    with gcp_env(logs_clock=cli.clock.now) as gcp:
        gcp.add_secrets()
        reach = {"HOUSEJOBS_API_URL": toy.sandbox.url, "HOUSEJOBS_JOBS_DIR": str(toy.jobs),
                 "HOUSEJOBS_SECRETMANAGER_API_ENDPOINT": gcp.sm.endpoint}
        cwd = tmp_path / "container"
        cwd.mkdir()
        gcp.run.executor = HousejobsImage(gcp.sm, PROJECT, reach, cli.clock, cwd, logging=gcp.logs)
        yield Deployed(gcp, cli, toy)
        assert gcp.violations() == []


def test_a_new_job_is_provisioned_smoked_read_by_history_and_backfilled(deployed: Deployed) -> None:
    # create-all-jobs --plan, from a spawned CLI: the toy's Cloud Run Job and its trigger.
    code, out, err = deployed.toy.spawned("create-all-jobs", "--env", "stage", "--plan", "--json",
                                          extra=deployed.gcp.env)
    assert code == 0, out + err
    assert "housejobs-toy-count-stage" in out and deployed.gcp.write_calls == 0
    made = deployed("create-all-jobs", "--env", "stage")
    assert made.code == 0, made.stdout + made.stderr

    smoked = deployed("smoke", "--env", "stage", "--only", "toy-count", "--json")
    assert smoked.code == 0, smoked.stdout
    rows = smoked.json()["details"]["rows"]
    assert [(r["label"], r["args"], r["outcome"]) for r in rows] == [("toy-count", ["toy-count", "--dry-run"],
                                                                      "dry-run")]

    history = deployed("history", "--env", "stage", "--days", "3", "--job", "toy-count", "--json")
    assert history.code == 0, history.stdout
    doc = history.json()["details"]
    assert [r["row"] for r in doc["rows"]] == ["toy-count"]
    assert [s["period"] for s in doc["slots"]] == ["2026-11-22", "2026-11-23", "2026-11-24"]
    # The smoke's dry run, read back through the toy's spec: today's period, and a dry run.
    assert [(r["period"], r["dry_run"]) for r in doc["manual_runs"]] == [("2026-11-24", True)]

    deployed.gcp.clear()
    backfilled = deployed("backfill", "toy-count", "--env", "stage", "--from", "2026-11-21", "--to", "2026-11-22",
                          "--json")
    assert backfilled.code == 0, backfilled.stdout
    assert started_args(deployed.gcp.run) == [["toy-count", "--date", "2026-11-21"],
                                              ["toy-count", "--date", "2026-11-22"]]
    assert [p["result"] for p in backfilled.json()["details"]["periods"]] == ["applied", "applied"]
    local = deployed("backfill", "toy-count", "--env", "stage", "--local", "--api-url", deployed.toy.sandbox.url,
                     "--from", "2026-11-21", "--to", "2026-11-23", "--json")
    assert local.code == 0, local.stdout
    assert [p["result"] for p in local.json()["details"]["periods"]] == ["duplicate", "duplicate", "applied"]
    assert deployed.toy.sandbox.counters("stale-cleanup") == {f"stale-cleanup:2026-11-2{d}": 1 for d in (1, 2, 3)}


def test_a_broken_catalog_still_gives_help_and_one_line_for_a_job(tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    shutil.copytree(REPO / "jobs", jobs)
    (jobs / "catalog.toml").write_text("not [ toml")
    env = {"HOUSEJOBS_JOBS_DIR": str(jobs)}
    helped = run_cli_process(["--help"], extra_env=env)
    assert helped.returncode == 0, helped.stderr
    listed = lines_of(helped.stdout.split("Commands:")[1])
    assert "list-jobs" in listed and "quota-reset" not in listed  # the tool's own, and no job it cannot read
    job = run_cli_process(["quota-reset", "--date", "2026-11-24"], extra_env=env)
    assert (job.returncode, job.stdout) == (2, "")
    assert job.stderr.startswith("error: catalog.toml is not valid TOML"), job.stderr


def test_a_job_whose_module_cannot_be_imported_is_refused_in_one_line(toy: Toy) -> None:
    catalog = toy.jobs / "catalog.toml"
    catalog.write_text(catalog.read_text().replace(f'module = "{MODULE}"', 'module = "housejobs_no_such_module"'))
    code, out, err = toy.spawned("--help")
    assert code == 0 and "toy-count" in out, err  # listed from the catalog: nothing imported
    code, out, err = toy.spawned("toy-count", "--date", "2026-11-24")
    assert (code, out) == (2, "")
    assert "names module housejobs_no_such_module, which cannot be imported" in err.splitlines()[0], err
