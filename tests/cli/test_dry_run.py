"""`--dry-run` of every admin API job proves the key and the API (issue 21 #3), against a real sandbox.

Each dry run asks GET /admin/capabilities first: a wrong key is `refused` (2), an unreachable API `failed`
(1). Where the server offers `dry-run` the mutating call goes as the server's own dry run, whose answer the
result reports, and nothing is stored (no effect, no idempotency record: a real run afterwards applies).
An older server (no capabilities: 404) gets a client-side dry run that says so, and never a dry_run=true.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.scripted import ScriptedServer
from tests.fakes.server import Request
from tests.support.cli import Cli, CliResult
from tests.support.sandbox import Sandboxes, SandboxHandle

DATE, MONTH = "2026-11-24", "2026-11"
# job → (its mutating route as the sandbox counts it, the counts a server-side dry run reports)
JOBS: dict[str, tuple[str, dict[str, int]]] = {
    "quota-reset": ("/admin/quota/reset-daily", {"orgs_reset": 25}),
    "stale-cleanup": ("/admin/quota/cleanup-stale", {"counters_fixed": 4}),
    "alerts": ("/admin/alerts/process-all", {"orgs_processed": 25, "alerts_sent": 3}),
    "quota-monthly": ("/admin/quota/reset-monthly", {"orgs_reset": 25}),
    "bootstrap": ("/admin/bootstrap", {"tables_created": 5, "columns_added": 0}),
    "org-sync-all": ("/admin/orgs/{org}/sync", {"would_sync": 25, "checked_by_server": 25, "already_synced": 0,
                                                "datasets_synced": 75, "failed": 0}),
}
WRONG_KEY = {"CA_ROOT_API_KEY": "sentinel-root-key-wrong"}


def period(job: str) -> tuple[str, ...]:
    return ("--month", MONTH) if job == "quota-monthly" else () if job == "bootstrap" else ("--date", DATE)


def dry(cli: Cli, job: str, url: str, *extra: str, env: dict[str, str] | None = None) -> CliResult:
    return cli(job, "--api-url", url, *period(job), "--dry-run", "--json", *extra, env=env)


def ledger(sandbox: SandboxHandle) -> int:
    with sandbox.server.app.store.lock:
        return int(sandbox.server.app.store.db.execute("SELECT COUNT(*) FROM idempotency").fetchone()[0])


def sent(sandbox: SandboxHandle) -> list[str]:
    return [f"{r['method']} {r['path']}" + (f"?{r['query']}" if r["query"] and r["method"] == "POST" else "")
            for r in sandbox.request_log()]


@pytest.fixture
def older(sandbox_factory: Sandboxes) -> SandboxHandle:
    """The sandbox as a server from before the extensions: no /admin/capabilities, dry_run= ignored."""
    return sandbox_factory("older", extensions=())


@pytest.mark.parametrize("job", list(JOBS))
@pytest.mark.parametrize("server", ["current", "older"])
def test_a_wrong_key_is_refused_with_no_effect(cli: Cli, sandbox: SandboxHandle, older: SandboxHandle, job: str,
                                               server: str) -> None:
    target = sandbox if server == "current" else older
    result = dry(cli, job, target.url, env=WRONG_KEY)
    assert result.code == 2, result.stdout
    doc = result.json()
    assert doc["outcome"] == "refused" and "GET /admin/capabilities: 401" in doc["message"]
    assert sent(target) == ["GET /admin/capabilities"]  # nothing after the first call
    assert target.counters() == {} and ledger(target) == 0


@pytest.mark.parametrize("job", list(JOBS))
def test_an_unreachable_api_fails(cli: Cli, job: str) -> None:
    result = dry(cli, job, "http://127.0.0.1:9", "--deadline", "5")
    assert result.code == 1, result.stdout
    doc = result.json()
    assert doc["outcome"] == "failed" and "GET /admin/capabilities failed after" in doc["message"]


@pytest.mark.parametrize("job", list(JOBS))
def test_a_server_side_dry_run_reports_the_servers_answer_and_stores_nothing(
        cli: Cli, sandbox: SandboxHandle, job: str) -> None:
    route, counts = JOBS[job]
    result = dry(cli, job, sandbox.url)
    assert result.code == 0, result.stdout
    doc = result.json()
    assert doc["outcome"] == "dry-run" and doc["details"]["dry_run"] == "server"
    assert doc["details"]["extensions"] == ["dry-run", "listing-shards"]
    assert "server-side dry run" in doc["message"]
    assert {k: doc["counts"][k] for k in counts} == counts
    call = doc["planned"][0]
    assert call["method"] == "POST" and call["idempotency_key"].startswith(f"housejobs:{job.removesuffix('-all')}:")
    assert sent(sandbox)[0] == "GET /admin/capabilities"
    assert all(line.endswith("?dry_run=true") for line in sent(sandbox) if line.startswith("POST"))
    assert sandbox.routes()[f"{route} (dry run)"] == len(doc["planned"]) >= 1
    assert sandbox.routes()["/admin/capabilities"] == 1  # once per run, however many clients it uses
    assert route not in sandbox.routes()
    # Nothing stored: no effect, no idempotency record, so the real run that follows applies.
    assert sandbox.counters() == {} and ledger(sandbox) == 0
    real = cli(job, "--api-url", sandbox.url, *period(job), "--json")
    assert real.code == 0 and real.json()["outcome"] == "applied", real.stdout


@pytest.mark.parametrize("job", list(JOBS))
def test_an_older_server_gets_a_client_side_dry_run_and_no_dry_run_parameter(
        cli: Cli, older: SandboxHandle, job: str) -> None:
    result = dry(cli, job, older.url)
    assert result.code == 0, result.stdout
    doc = result.json()
    assert doc["outcome"] == "dry-run" and doc["details"]["dry_run"] == "client"
    assert doc["details"]["extensions"] == []
    assert "client-side dry run: the server has no /admin/capabilities (an older server: no extensions)" \
        in doc["message"]
    assert doc["planned"] and doc["planned"][0]["method"] == "POST"
    assert not any("dry_run" in r["query"] for r in older.request_log())
    assert not any(r["method"] == "POST" for r in older.request_log())
    assert older.counters() == {} and ledger(older) == 0


def test_a_dry_run_of_an_applied_period_says_a_run_would_be_a_duplicate(cli: Cli, sandbox: SandboxHandle) -> None:
    assert cli("quota-reset", "--api-url", sandbox.url, "--date", DATE).code == 0
    doc = dry(cli, "quota-reset", sandbox.url).json()
    assert doc["outcome"] == "dry-run"
    assert doc["message"] == f"already applied for {DATE}, a run would report duplicate; server-side dry run"
    assert sandbox.counters() == {f"quota-reset:{DATE}": 1}


def test_a_server_that_offers_dry_run_but_does_not_say_so_is_a_failure(cli: Cli) -> None:
    def careless(request: Request) -> tuple[int, Any]:
        if request.path == "/admin/capabilities":
            return 200, {"extensions": ["dry-run", "something-newer"]}
        return 200, {"date": DATE, "orgs_reset": 9}  # no "dry_run": true — was it applied?

    with ScriptedServer(careless) as api:
        result = dry(cli, "quota-reset", api.url)
        posts = api.requests("POST")
    assert result.code == 1
    assert "the answer does not say \"dry_run\": true, so the server may have applied it" in result.json()["message"]
    assert [p.param("dry_run") for p in posts] == ["true"]


def test_a_malformed_capabilities_answer_fails(cli: Cli) -> None:
    with ScriptedServer(lambda request: (200, {"extensions": "dry-run"})) as api:
        result = dry(cli, "alerts", api.url)
        assert api.requests("POST") == []
    assert result.code == 1 and "GET /admin/capabilities: unexpected answer" in result.json()["message"]


# --- org-sync-all: a listing that fails is not a plan of zero orgs -----------------------------------------
@pytest.mark.parametrize(("statuses", "code", "outcome"), [([401], 2, "refused"), ([500] * 20, 1, "failed")])
def test_org_sync_dry_run_whose_listing_fails_is_not_a_dry_run(cli: Cli, sandbox: SandboxHandle,
                                                               statuses: list[int], code: int, outcome: str) -> None:
    sandbox.fault(route="/admin/orgs", statuses=statuses)
    result = dry(cli, "org-sync-all", sandbox.url, "--deadline", "5")
    assert result.code == code, result.stdout
    doc = result.json()
    assert doc["outcome"] == outcome and "GET /admin/orgs" in doc["message"]
    assert sandbox.counters() == {}


def test_org_sync_dry_run_checks_only_the_calls_it_shows(cli: Cli, sandbox_factory: Sandboxes) -> None:
    big = sandbox_factory("big", orgs=120)
    doc = dry(cli, "org-sync-all", big.url).json()
    assert doc["counts"]["would_sync"] == 120 and doc["counts"]["checked_by_server"] == len(doc["planned"]) == 50
    assert doc["message"].startswith(f"would sync 120 orgs for {DATE} (first 50 shown, 70 more); server-side dry "
                                     "run of the 50 shown: 150 datasets")
    assert big.routes()["/admin/orgs/{org}/sync (dry run)"] == 50 and big.counters() == {}
