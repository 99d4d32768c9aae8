"""housejobs doctor: the checklist against the Google fakes (Cloud Run, Scheduler, Secret Manager) and the
sandbox as the admin API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.proxy import ForwardingProxy
from tests.support.cli import Cli, CliResult
from tests.support.deploy_env import PARENT, PROJECT, SCHEDULER_SA, GcpEnv, gcp_env
from tests.support.sandbox import SandboxHandle


@pytest.fixture
def gcp() -> Iterator[GcpEnv]:
    with gcp_env() as env:
        env.add_secrets()
        yield env
        assert env.violations() == []


def env_for(gcp: GcpEnv, sandbox: SandboxHandle, **extra: str) -> dict[str, str]:
    return {**gcp.env, "HOUSEJOBS_API_URL": sandbox.url, **extra}


def doctor(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle, *args: str, **extra: Any) -> CliResult:
    unset = extra.pop("unset", ())
    return cli("doctor", "--env", "stage", *args, env=env_for(gcp, sandbox, **extra), unset=unset)


def checks(result: CliResult) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in result.json()["checks"]}


def deployed(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    assert cli("create-all-jobs", "--env", "stage", env=env_for(gcp, sandbox)).code == 0
    gcp.clear()


def test_all_green_after_create_all_jobs(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    deployed(cli, gcp, sandbox)
    result = doctor(cli, gcp, sandbox)
    assert result.code == 0, result.stdout
    lines = result.stdout.splitlines()
    assert all(line.startswith("✓ ") for line in lines[:-1]), result.stdout
    assert lines[-1] == "doctor stage: 12 of 12 checks passed"
    out = result.stdout
    assert "✓ config resolves: project cloudact-testing-1, region us-central1" in out
    assert "✓ Google credentials usable: anonymous" in out
    assert "✓ network: CA bundle certifi (" in out and "; admin API direct (no proxy set);" in out
    for secret in ("ca-root-api-key-test", "scheduler-shared-secret-test", "supabase-access-token-test"):
        assert f"✓ secret {secret} readable: latest version accessible" in out
    assert f"✓ API health: GET {sandbox.url}/healthz → 200" in out
    assert "✓ API auth: GET /admin/orgs?page_size=1 → 200" in out
    assert "✓ jobs and triggers in sync: 9 jobs and 8 triggers match the catalog" in out
    assert ("✓ no other trigger starts these jobs: no Scheduler job outside the catalog starts a housejobs job "
            "of stage") in out
    assert "✓ IAM bindings on the jobs: 7 scheduler bindings present" in out
    assert gcp.write_calls == 0  # doctor only reads
    assert gcp.sm.access_count == 3


def test_missing_secret_fails_and_names_it(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    deployed(cli, gcp, sandbox)
    del gcp.sm.secrets[(PROJECT, "scheduler-shared-secret-test")]
    gcp.sm.deny(PROJECT, "supabase-access-token-test")
    result = doctor(cli, gcp, sandbox, "--json")
    assert result.code == 1
    found = checks(result)
    assert not found["secret scheduler-shared-secret-test readable"]["ok"]
    assert "not found in project cloudact-testing-1" in found["secret scheduler-shared-secret-test readable"]["detail"]
    assert "no access to secret supabase-access-token-test" in \
        found["secret supabase-access-token-test readable"]["detail"]
    assert found["secret ca-root-api-key-test readable"]["ok"]
    assert result.json()["ok"] is False


def test_drift_and_missing_grants_fail(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    deployed(cli, gcp, sandbox)
    gcp.run.job(f"{PARENT}/jobs/housejobs-alerts-stage")["template"]["template"]["maxRetries"] = 7
    del gcp.sched.jobs[f"{PARENT}/jobs/housejobs-reminder-rent-due-stage"]
    gcp.run.iam_policies[f"{PARENT}/jobs/housejobs-quota-reset-stage"]["bindings"] = []
    result = doctor(cli, gcp, sandbox)
    assert result.code == 1
    assert ("✗ jobs and triggers in sync: out of sync: job housejobs-alerts-stage drift, trigger "
            "housejobs-reminder-rent-due-stage missing; see `housejobs create-all-jobs --env stage --plan`"
            ) in result.stdout
    assert (f"✗ IAM bindings on the jobs: housejobs-quota-reset-stage: serviceAccount:{SCHEDULER_SA} lacks "
            "roles/run.invoker") in result.stdout
    assert result.stdout.splitlines()[-1] == "doctor stage: 10 of 12 checks passed"


def test_nothing_deployed(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    found = checks(doctor(cli, gcp, sandbox, "--json"))
    assert "job housejobs-migrate-stage missing" in found["jobs and triggers in sync"]["detail"]
    assert "housejobs-reminder-stage: job missing" in found["IAM bindings on the jobs"]["detail"]


def test_api_problems(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    deployed(cli, gcp, sandbox)
    wrong_key = checks(doctor(cli, gcp, sandbox, "--json", CA_ROOT_API_KEY="not-the-key"))
    assert wrong_key["API health"]["ok"]
    assert not wrong_key["API auth"]["ok"]
    assert "401" in wrong_key["API auth"]["detail"] or "403" in wrong_key["API auth"]["detail"]
    down = doctor(cli, gcp, sandbox, "--json", HOUSEJOBS_API_URL="http://127.0.0.1:9")
    assert down.code == 1
    assert not checks(down)["API health"]["ok"]


def test_network_says_which_proxy_and_ca_apply(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle,
                                               tmp_path: Path) -> None:
    deployed(cli, gcp, sandbox)
    with ForwardingProxy() as proxy:
        password = "sentinel-proxy-pass-3e9a"
        with_password = proxy.url_with("ops", password)
        proxied = doctor(cli, gcp, sandbox, "--json", HTTP_PROXY=with_password, HTTPS_PROXY=with_password,
                         NO_PROXY="bot-stage.cloudact.example")
        seen = [s.target.removeprefix(sandbox.url) for s in proxy.requests()]
        address = proxy.url.removeprefix("http://")
    assert proxied.code == 0 and password not in proxied.stdout
    found = checks(proxied)
    assert found["network"]["ok"]
    assert f"admin API via HTTP_PROXY http://****@{address}" in found["network"]["detail"]
    assert "bot direct (NO_PROXY bot-stage.cloudact.example)" in found["network"]["detail"]
    assert seen == ["/healthz", "/admin/orgs?status=active&page_size=1"]  # the API checks went through it
    missing = tmp_path / "corp-ca.pem"
    bad = doctor(cli, gcp, sandbox, "--json", SSL_CERT_FILE=str(missing))
    assert bad.code == 1
    found = checks(bad)
    assert not found["network"]["ok"]
    assert found["network"]["detail"].startswith(f"SSL_CERT_FILE {missing}: no such file")
    assert not found["API health"]["ok"]  # the admin API client cannot be built either


def test_key_from_secret_manager_when_not_in_the_environment(cli: Cli, gcp: GcpEnv,
                                                             sandbox: SandboxHandle) -> None:
    deployed(cli, gcp, sandbox)
    result = doctor(cli, gcp, sandbox, unset=("CA_ROOT_API_KEY",))
    assert result.code == 0, result.stdout


def test_config_errors_exit_2(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    result = doctor(cli, gcp, sandbox, HOUSEJOBS_IMAGE="")
    assert result.code == 2
    assert result.stdout.startswith("✗ config resolves: image is not set")
    assert cli("doctor", "--env", "qa").code == 2


def test_a_foreign_trigger_on_a_housejobs_job_fails_a_check(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    # The case: a gcloud trigger with another name starts a job create-all-jobs also schedules.
    deployed(cli, gcp, sandbox)
    gcp.sched.jobs[f"{PARENT}/jobs/quota-reset-daily"] = {
        "name": f"{PARENT}/jobs/quota-reset-daily", "schedule": "0 0 * * *", "timeZone": "UTC", "state": "ENABLED",
        "httpTarget": {"uri": f"https://run.googleapis.com/v2/{PARENT}/jobs/housejobs-quota-reset-stage:run",
                       "httpMethod": "POST"}}
    result = doctor(cli, gcp, sandbox)
    assert result.code == 1
    assert ("✗ no other trigger starts these jobs: housejobs-quota-reset-stage also started by quota-reset-daily "
            "(0 0 * * * UTC): runs twice per period (not created by housejobs: delete it with --prune-foreign "
            "quota-reset-daily); see `housejobs create-all-jobs --env stage --plan`") in result.stdout
    # Its own resources still match the catalog: the rest of the list stays green.
    assert "✓ jobs and triggers in sync: 9 jobs and 8 triggers match the catalog" in result.stdout
    assert result.stdout.splitlines()[-1] == "doctor stage: 11 of 12 checks passed"
    assert gcp.write_calls == 0


def test_logs_that_cannot_be_read_name_the_role(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    deployed(cli, gcp, sandbox)
    assert "✓ jobs' logs readable (Cloud Logging): entries:list on projects/cloudact-testing-1 answered" in \
        doctor(cli, gcp, sandbox).stdout
    gcp.logs.deny("cloudact-testing-1")
    result = doctor(cli, gcp, sandbox, "--json")
    assert result.code == 1
    check = checks(result)["jobs' logs readable (Cloud Logging)"]
    assert not check["ok"]
    assert check["detail"].startswith("permission denied on Cloud Logging in project cloudact-testing-1: "
                                      "Permission 'logging.logEntries.list' denied")
    assert check["detail"].endswith("; the caller needs roles/logging.viewer on the project (read the jobs' logs)")


def test_a_paused_or_far_away_foreign_trigger(cli: Cli, gcp: GcpEnv, sandbox: SandboxHandle) -> None:
    """Paused: a note on a passing check. Enabled in another Scheduler region: a double trigger all the same."""
    deployed(cli, gcp, sandbox)
    uri = f"https://run.googleapis.com/v2/{PARENT}/jobs/housejobs-quota-reset-stage:run"
    gcp.sched.jobs[f"{PARENT}/jobs/quota-reset-daily"] = {
        "name": f"{PARENT}/jobs/quota-reset-daily", "schedule": "0 0 * * *", "timeZone": "UTC", "state": "PAUSED",
        "httpTarget": {"uri": uri, "httpMethod": "POST"}}
    paused = doctor(cli, gcp, sandbox)
    assert paused.code == 0, paused.stdout
    assert ("✓ no other trigger starts these jobs: no Scheduler job outside the catalog starts a housejobs job of "
            "stage (paused, so not running: quota-reset-daily on housejobs-quota-reset-stage)") in paused.stdout
    far = f"projects/{PROJECT}/locations/europe-west1/jobs/reset-eu"
    gcp.sched.jobs[far] = {"name": far, "schedule": "0 0 * * *", "timeZone": "UTC", "state": "ENABLED",
                           "httpTarget": {"uri": uri, "httpMethod": "POST"}}
    double = doctor(cli, gcp, sandbox)
    assert double.code == 1
    assert "✗ no other trigger starts these jobs: housejobs-quota-reset-stage also started by europe-west1/reset-eu" \
        in double.stdout
