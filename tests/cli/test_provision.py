"""create-all-jobs, list-jobs --env, pause and resume: the real google-cloud-run and -scheduler clients
(REST, anonymous credentials) against the local fakes, which fill defaults and server fields like the
real services and check every body against Google's discovery documents. The normalisation itself is
tests/unit/gcp/test_specs.py; the ownership marker, tests/unit/provision/test_ownership.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.discovery import validate
from tests.support.cli import Cli
from tests.support.deploy_env import PARENT, PROJECT, REGION, RUNTIME_SA, SCHEDULER_SA, GcpEnv
from tests.support.sentinels import SENTINELS

JOBS = ["migrate", "bootstrap", "org-sync-all", "quota-reset", "quota-cleanup", "stale-cleanup", "alerts",
        "quota-monthly", "reminder"]
REPO = Path(__file__).resolve().parents[2]
TRIGGERS = ["quota-reset", "quota-cleanup", "stale-cleanup", "alerts", "quota-monthly",
            "reminder-utilities", "reminder-rent-warning", "reminder-rent-due"]


def deploy(cli: Cli, gcp: GcpEnv, *args: str, env: str = "stage", **kw: Any) -> Any:
    return cli("create-all-jobs", "--env", env, *args, env=gcp.env, **kw)


def stage_job(gcp: GcpEnv, job: str) -> dict[str, Any]:
    return gcp.run.job(f"{PARENT}/jobs/housejobs-{job}-stage")


def stage_trigger(gcp: GcpEnv, trigger: str) -> dict[str, Any]:
    return gcp.sched.job(f"{PARENT}/jobs/housejobs-{trigger}-stage")


# --- fresh create, rerun ---------------------------------------------------------------------------
def test_fresh_create_builds_every_job_and_trigger(cli: Cli, gcp: GcpEnv) -> None:
    result = deploy(cli, gcp, "--json")
    assert result.code == 0, result.stdout + result.stderr
    doc = result.json()
    assert doc["outcome"] == "applied"
    assert doc["counts"] == {"create": 17, "update": 0, "grant": 7, "prune": 0, "unchanged": 0, "applied": 24}
    assert sorted(gcp.run.jobs) == sorted(f"{PARENT}/jobs/housejobs-{j}-stage" for j in JOBS)
    assert sorted(gcp.sched.jobs) == sorted(f"{PARENT}/jobs/housejobs-{t}-stage" for t in TRIGGERS)

    job = stage_job(gcp, "quota-reset")
    assert job["labels"] == {"managed-by": "housejobs", "housejobs-env": "stage", "housejobs-job": "quota-reset"}
    task = job["template"]["template"]
    (container,) = task["containers"]
    assert container["image"] == "us-central1-docker.pkg.dev/cloudact-testing-1/housejobs/housejobs:latest"
    assert container["args"] == ["quota-reset"]  # the image's ENTRYPOINT is `housejobs`
    assert container["env"] == [
        {"name": "HOUSEJOBS_ENV", "value": "stage"},
        {"name": "HOUSEJOBS_MAX_RETRIES", "value": "3"},
        {"name": "CA_ROOT_API_KEY",
         "valueSource": {"secretKeyRef": {"secret": "ca-root-api-key-test", "version": "latest"}}},
    ]
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "512Mi"}
    assert (task["maxRetries"], task["timeout"], task["serviceAccount"]) == (3, "600s", RUNTIME_SA)
    sync = stage_job(gcp, "org-sync-all")["template"]
    assert (sync["taskCount"], sync["parallelism"], sync["template"]["maxRetries"]) == (4, 4, 0)
    assert stage_job(gcp, "quota-cleanup")["template"]["template"]["timeout"] == "3600s"
    assert [e["name"] for e in stage_job(gcp, "quota-cleanup")["template"]["template"]["containers"][0]["env"]] \
        == ["HOUSEJOBS_ENV", "HOUSEJOBS_MAX_RETRIES"]  # BigQuery through the service account, no secret
    migrate_env = stage_job(gcp, "migrate")["template"]["template"]["containers"][0]["env"]
    assert migrate_env[-1]["valueSource"]["secretKeyRef"]["secret"] == "supabase-access-token-test"
    # No secret value anywhere in what was sent.
    sent = json.dumps([r.body for r in gcp.run.requests])
    assert all(v not in sent for v in SENTINELS.values())


def test_triggers_start_their_job_with_the_right_request(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    trig = stage_trigger(gcp, "quota-reset")
    target = trig["httpTarget"]
    assert target["uri"] == f"https://run.googleapis.com/v2/{PARENT}/jobs/housejobs-quota-reset-stage:run"
    assert target["httpMethod"] == "POST"
    assert target["oauthToken"] == {"serviceAccountEmail": SCHEDULER_SA,
                                    "scope": "https://www.googleapis.com/auth/cloud-platform"}
    assert target["headers"]["Content-Type"] == "application/json"
    assert (trig["schedule"], trig["timeZone"], trig["attemptDeadline"]) == ("0 0 * * *", "Etc/UTC", "60s")
    assert trig["retryConfig"]["retryCount"] == 2
    assert gcp.sched.run_request_body("housejobs-quota-reset-stage") == {}
    assert gcp.sched.run_request_body("housejobs-reminder-rent-due-stage") == {
        "overrides": {"containerOverrides": [{"name": "housejobs", "args": ["reminder", "rent-due"]}]}}
    assert stage_trigger(gcp, "reminder-utilities")["timeZone"] == "Australia/Sydney"
    # Every body decodes to a valid Cloud Run RunJobRequest.
    for trigger in TRIGGERS:
        body = gcp.sched.run_request_body(f"housejobs-{trigger}-stage")
        assert isinstance(body, dict)
        assert validate("run.v2", "GoogleCloudRunV2RunJobRequest", body) == []
    # Fire one through the fakes: the execution runs `housejobs reminder utilities`.
    gcp.sched.targets["run.googleapis.com"] = gcp.run.endpoint
    status, _ = gcp.sched.fire("housejobs-reminder-utilities-stage")
    assert status == 200
    (execution,) = gcp.run.executions_of("housejobs-reminder-stage")
    assert execution["template"]["containers"][0]["args"] == ["reminder", "utilities"]


def test_the_scheduler_account_is_granted_run_rights_on_triggered_jobs(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    member = f"serviceAccount:{SCHEDULER_SA}"

    def roles(job: str) -> set[str]:
        policy = gcp.run.iam_policies.get(f"{PARENT}/jobs/housejobs-{job}-stage", {})
        return {b["role"] for b in policy.get("bindings", []) if member in b["members"]}

    assert roles("quota-reset") == {"roles/run.invoker"}
    assert roles("reminder") == {"roles/run.invoker", "roles/run.jobsExecutorWithOverrides"}
    assert roles("migrate") == set()  # manual: nothing schedules it


def test_rerun_makes_zero_writes(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    gcp.clear()
    result = deploy(cli, gcp, "--json")
    assert result.code == 0
    doc = result.json()
    assert doc["outcome"] == "skipped"
    assert doc["counts"]["unchanged"] == 24
    assert gcp.write_calls == 0
    assert doc["details"]["plan"]["in_sync"] is True


def test_plan_makes_no_writes_and_prints_the_plan(cli: Cli, gcp: GcpEnv) -> None:
    result = deploy(cli, gcp, "--plan")
    assert result.code == 0
    assert gcp.write_calls == 0
    out = result.stdout
    assert "outcome: dry-run (plan: 17 to create, 7 to grant)" in out
    assert "  + create    job     housejobs-quota-reset-stage" in out
    assert "  + create    trigger housejobs-reminder-rent-due-stage" in out
    assert "IAM bindings this deployment also needs (not changed by housejobs):" in out
    assert (f"serviceAccount:{RUNTIME_SA} needs roles/secretmanager.secretAccessor on "
            "projects/cloudact-testing-1/secrets/ca-root-api-key-test") in out
    assert "roles/bigquery.dataEditor on projects/cloudact-testing-1/datasets/quota_stage" in out
    assert "roles/bigquery.jobUser on projects/cloudact-testing-1" in out
    assert (f"  + grant     iam     housejobs-reminder-stage: roles/run.jobsExecutorWithOverrides to "
            f"serviceAccount:{SCHEDULER_SA}") in out


# --- drift -------------------------------------------------------------------------------------------
def test_drift_is_shown_field_by_field_and_repaired(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    # Someone edits things by hand in the console.
    bootstrap = stage_job(gcp, "bootstrap")
    bootstrap["template"]["template"]["maxRetries"] = 3
    bootstrap["template"]["template"]["containers"][0]["resources"]["limits"]["memory"] = "1Gi"
    bootstrap["labels"]["team"] = "platform"  # not housejobs' label: kept, not drift
    container = stage_job(gcp, "alerts")["template"]["template"]["containers"][0]
    container["env"].append({"name": "CA_ROOT_API_KEY_PLAIN", "value": SENTINELS["CA_ROOT_API_KEY"]})
    container["env"][2]["valueSource"]["secretKeyRef"]["version"] = "3"
    stage_trigger(gcp, "alerts")["schedule"] = "0 9 * * *"
    stage_trigger(gcp, "reminder-rent-due")["httpTarget"]["headers"]["X-Extra"] = "1"

    plan = deploy(cli, gcp, "--plan")
    assert plan.code == 0
    out = plan.stdout
    assert "  ~ update    job     housejobs-bootstrap-stage" in out
    assert "      template.template.maxRetries: 3 -> 0" in out
    assert "      template.template.containers[0].resources.limits.memory: 1Gi -> 512Mi" in out
    assert "template.template.containers[0].env.CA_ROOT_API_KEY_PLAIN: plain value (hidden) -> (unset)" in out
    assert ("template.template.containers[0].env.CA_ROOT_API_KEY: secret ca-root-api-key-test@3 -> "
            "secret ca-root-api-key-test@latest") in out
    assert "  ~ update    trigger housejobs-alerts-stage" in out
    assert "      schedule: 0 9 * * * -> 0 8 * * *" in out
    assert "      httpTarget.headers.x-extra: 1 -> (unset)" in out
    assert "team" not in out
    assert "outcome: dry-run (plan: 4 to update)" in out

    gcp.clear()
    fixed = deploy(cli, gcp, "--json")
    assert fixed.code == 0 and fixed.json()["outcome"] == "applied"
    assert gcp.write_calls == 4
    assert stage_job(gcp, "bootstrap")["template"]["template"]["maxRetries"] == 0
    assert stage_job(gcp, "bootstrap")["labels"]["team"] == "platform"  # updates keep others' labels
    assert stage_job(gcp, "bootstrap")["generation"] == "2"
    assert stage_trigger(gcp, "alerts")["schedule"] == "0 8 * * *"
    assert "X-Extra" not in stage_trigger(gcp, "reminder-rent-due")["httpTarget"]["headers"]
    gcp.clear()
    assert deploy(cli, gcp).code == 0
    assert gcp.write_calls == 0


def test_a_paused_trigger_is_not_drift(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    assert cli("pause", "quota-reset", "--env", "stage", env=gcp.env).code == 0
    gcp.clear()
    assert deploy(cli, gcp).code == 0
    assert gcp.write_calls == 0
    assert stage_trigger(gcp, "quota-reset")["state"] == "PAUSED"


def test_image_pins_the_image_and_shows_the_diff(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    digest = "us-central1-docker.pkg.dev/cloudact-testing-1/housejobs/housejobs@sha256:" + "ab" * 32
    result = deploy(cli, gcp, "--image", digest, "--only", "alerts")
    assert result.code == 0
    assert f"template.template.containers[0].image: us-central1-docker.pkg.dev/cloudact-testing-1/housejobs/" \
           f"housejobs:latest -> {digest}" in result.stdout
    assert stage_job(gcp, "alerts")["template"]["template"]["containers"][0]["image"] == digest
    bad = deploy(cli, gcp, "--image", "not an image")
    assert bad.code == 2
    assert "--image 'not an image' is not a container image reference" in bad.stdout


# --- --only, prune -------------------------------------------------------------------------------------
def test_only_limits_to_one_job_and_its_triggers(cli: Cli, gcp: GcpEnv) -> None:
    result = deploy(cli, gcp, "--only", "reminder", "--json")
    assert result.code == 0
    assert result.json()["counts"] == {"create": 4, "update": 0, "grant": 2, "prune": 0, "unchanged": 0,
                                       "applied": 6}
    assert list(gcp.run.jobs) == [f"{PARENT}/jobs/housejobs-reminder-stage"]
    assert len(gcp.sched.jobs) == 3
    # A single job is read by get, not by listing the project.
    assert not any(r.path.endswith("/jobs") and r.method == "GET" for r in gcp.run.requests)
    unknown = deploy(cli, gcp, "--only", "nope")
    assert unknown.code == 2 and "--only 'nope' is not a catalog job" in unknown.stdout
    both = deploy(cli, gcp, "--only", "reminder", "--prune")
    assert both.code == 2 and "--prune works on the whole catalog" in both.stdout


def _seed_job(gcp: GcpEnv, job_id: str, labels: dict[str, str]) -> None:
    gcp.run.seed_job(PARENT, job_id, {"labels": labels, "template": {"template": {"containers": [
        {"image": "us-docker.pkg.dev/cloudrun/container/job:latest"}]}}})


def _seed_trigger(gcp: GcpEnv, job_id: str, *, target: str | None = None, description: str | None = None,
                  schedule: str = "0 3 * * *", time_zone: str = "Etc/UTC", uri: str | None = None,
                  state: str = "ENABLED", location: str = REGION) -> None:
    """Straight into the store, as if someone had made it long ago (with gcloud, or an older housejobs).
    `target` is a Cloud Run job id the trigger starts (through the v2 jobs:run endpoint, in REGION);
    `location` is the Scheduler location the trigger itself lives in."""
    if uri is None:
        uri = f"https://run.googleapis.com/v2/{PARENT}/jobs/{target}:run" if target else "https://example.com/hook"
    name = f"projects/{PROJECT}/locations/{location}/jobs/{job_id}"
    trigger: dict[str, Any] = {
        "name": name, "schedule": schedule, "timeZone": time_zone, "state": state,
        "httpTarget": {"uri": uri, "httpMethod": "POST",
                       "oauthToken": {"serviceAccountEmail": SCHEDULER_SA,
                                      "scope": "https://www.googleapis.com/auth/cloud-platform"}}}
    if description is not None:
        trigger["description"] = description
    gcp.sched.jobs[name] = trigger


def _marker(env: str, job: str, trigger: str = "schedule") -> str:
    return f"[managed-by=housejobs env={env} job={job} trigger={trigger}]"


def test_prune_deletes_only_this_envs_managed_resources(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    assert deploy(cli, gcp, env="test").code == 0
    managed = {"managed-by": "housejobs", "housejobs-env": "stage", "housejobs-job": "retired"}
    _seed_job(gcp, "housejobs-retired-stage", managed)
    _seed_job(gcp, "housejobs-retired-test", {**managed, "housejobs-env": "test"})
    _seed_job(gcp, "legacy-cron", {})
    _seed_job(gcp, "housejobs-handmade-stage", {"owner": "alice"})  # our naming, not our label
    # What an earlier housejobs made for a job that has since left the catalog: marked, and it starts
    # a job labelled as housejobs' own in stage.
    _seed_trigger(gcp, "housejobs-retired-stage", target="housejobs-retired-stage",
                  description="housejobs retired in stage: gone " + _marker("stage", "retired"))
    _seed_trigger(gcp, "housejobs-retired-test", target="housejobs-retired-test",
                  description="housejobs retired in test: gone " + _marker("test", "retired"))
    _seed_trigger(gcp, "nightly-backup")
    _seed_trigger(gcp, "housejobs_stage")
    jobs_before, triggers_before = set(gcp.run.jobs), set(gcp.sched.jobs)

    gcp.clear()
    assert deploy(cli, gcp).code == 0  # without --prune nothing extra is touched
    assert gcp.write_calls == 0

    plan = deploy(cli, gcp, "--prune", "--plan")
    assert "  - prune     job     housejobs-retired-stage" in plan.stdout
    assert "  - prune     trigger housejobs-retired-stage" in plan.stdout
    assert "  · skip      job     housejobs-handmade-stage (not created by housejobs)" in plan.stdout
    assert "nightly-backup" not in plan.stdout and "retired-test" not in plan.stdout
    result = deploy(cli, gcp, "--prune", "--json")
    assert result.code == 0
    assert result.json()["counts"]["prune"] == 2
    assert jobs_before - set(gcp.run.jobs) == {f"{PARENT}/jobs/housejobs-retired-stage"}
    assert triggers_before - set(gcp.sched.jobs) == {f"{PARENT}/jobs/housejobs-retired-stage"}
    # The trigger went before the job it would have started.
    assert result.json()["details"]["applied"] == ["prune trigger housejobs-retired-stage",
                                                   "prune job housejobs-retired-stage"]
    assert len(gcp.run.jobs) == 9 + 9 + 3  # stage, test, and the three that are not stage's


def test_prune_keeps_a_gcloud_made_name_alike(cli: Cli, gcp: GcpEnv) -> None:
    # The old create-all-jobs.sh way: a job and its trigger made with gcloud, named like ours, never
    # labelled or marked. Named alike is not made by housejobs: both stay.
    assert deploy(cli, gcp).code == 0
    _seed_job(gcp, "housejobs-legacy-stage", {})
    _seed_trigger(gcp, "housejobs-legacy-stage", target="housejobs-legacy-stage", description="legacy cron")
    # A marker copied by hand onto a trigger whose target is not a housejobs job proves nothing either.
    _seed_trigger(gcp, "housejobs-copied-stage", target="housejobs-legacy-stage",
                  description=_marker("stage", "legacy"))
    gcp.clear()
    plan = deploy(cli, gcp, "--prune", "--plan", "--json")
    assert plan.code == 0
    doc = plan.json()["details"]
    assert doc["plan"]["counts"]["prune"] == 0
    assert {(s["kind"], s["id"], s["reason"]) for s in doc["plan"]["skipped"]} == {
        ("trigger", "housejobs-legacy-stage", "not created by housejobs"),
        ("trigger", "housejobs-copied-stage", "marked as housejobs-legacy-stage, but named housejobs-copied-stage"),
        ("job", "housejobs-legacy-stage", "not created by housejobs")}
    assert "  · skip      trigger housejobs-legacy-stage (not created by housejobs)" in doc["lines"]
    applied = deploy(cli, gcp, "--prune", "--json")
    assert applied.code == 0 and applied.json()["outcome"] == "skipped"
    assert gcp.write_calls == 0
    assert f"{PARENT}/jobs/housejobs-legacy-stage" in gcp.sched.jobs
    assert f"{PARENT}/jobs/housejobs-legacy-stage" in gcp.run.jobs


def test_adopting_gcloud_made_resources_marks_them(cli: Cli, gcp: GcpEnv) -> None:
    # A deployment made with gcloud under the catalog's names: updated in place, and marked.
    _seed_job(gcp, "housejobs-quota-reset-stage", {"team": "platform"})
    _seed_trigger(gcp, "housejobs-quota-reset-stage", target="housejobs-quota-reset-stage", schedule="0 0 * * *")
    plan = deploy(cli, gcp, "--only", "quota-reset", "--plan")
    assert plan.code == 0, plan.stdout
    assert "  ~ update    trigger housejobs-quota-reset-stage" in plan.stdout
    assert ("      description: (unset) -> housejobs quota-reset in stage: Reset every org's daily quota counters. "
            "[managed-by=housejobs env=stage job=quota-reset trigger=schedule]") in plan.stdout
    assert "      labels.managed-by: (unset) -> housejobs" in plan.stdout
    gcp.clear()
    assert deploy(cli, gcp, "--only", "quota-reset").code == 0
    trigger = stage_trigger(gcp, "quota-reset")
    assert trigger["description"].endswith(" [managed-by=housejobs env=stage job=quota-reset trigger=schedule]")
    assert stage_job(gcp, "quota-reset")["labels"] == {
        "team": "platform", "managed-by": "housejobs", "housejobs-env": "stage", "housejobs-job": "quota-reset"}
    gcp.clear()
    rerun = deploy(cli, gcp, "--json")  # the whole catalog now: the adopted pair plans no change
    assert rerun.code == 0
    assert rerun.json()["counts"]["update"] == 0
    gcp.clear()
    assert deploy(cli, gcp, "--json").json()["outcome"] == "skipped"
    assert gcp.write_calls == 0
    # Now proven housejobs', the trigger is one --prune could delete once it leaves the catalog.
    from housejobs.provision import ownership

    ours = ownership.housejobs_jobs(gcp.run.jobs, "stage")
    assert ownership.trigger_verdict(trigger, env="stage", project=PROJECT, region=REGION, ours=ours).owned


def test_descriptions_are_capped_without_cutting_the_marker(cli: Cli, gcp: GcpEnv, tmp_path: Path) -> None:
    jobs = tmp_path / "jobs"
    shutil.copytree(REPO / "jobs", jobs)
    catalog = jobs / "catalog.toml"
    long = "x" * 600
    catalog.write_text(catalog.read_text().replace('description = "Fix stale quota counters."',
                                                   f'description = "{long}"'))
    result = cli("create-all-jobs", "--env", "stage", "--only", "stale-cleanup",
                 env={**gcp.env, "HOUSEJOBS_JOBS_DIR": str(jobs)})
    assert result.code == 0, result.stdout
    description = stage_trigger(gcp, "stale-cleanup")["description"]
    assert len(description) == 500
    assert description.endswith(" [managed-by=housejobs env=stage job=stale-cleanup trigger=schedule]")


# --- double triggers --------------------------------------------------------------------------------
CONSOLE_URI = ("https://us-central1-run.googleapis.com/apis/run.googleapis.com/v1/namespaces/123456789012/jobs/"
               "housejobs-migrate-stage:run")
DAILY = ("also started by quota-reset-daily (0 0 * * * UTC): runs twice per period (not created by housejobs: "
         "delete it with --prune-foreign quota-reset-daily)")


def _double_triggers(gcp: GcpEnv) -> None:
    """A gcloud trigger with another name on a housejobs job, and the Console's default trigger (v1 URL)
    on a manual one; plus triggers that are not housejobs' business at all."""
    _seed_trigger(gcp, "quota-reset-daily", target="housejobs-quota-reset-stage", schedule="0 0 * * *",
                  time_zone="UTC")
    _seed_trigger(gcp, "housejobs-migrate-stage-scheduler-trigger", uri=CONSOLE_URI, schedule="0 4 * * 1")
    _seed_trigger(gcp, "quota-reset-test-daily", target="housejobs-quota-reset-test")  # test's job, not stage's
    _seed_trigger(gcp, "nightly-backup")


def test_a_foreign_trigger_is_reported_in_the_plan(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    _double_triggers(gcp)
    gcp.clear()
    plan = deploy(cli, gcp, "--plan", "--json")
    assert plan.code == 0
    details = plan.json()["details"]
    assert f"  ! warning   job     housejobs-quota-reset-stage: {DAILY}" in details["lines"]
    assert ("  ! warning   job     housejobs-migrate-stage: also started by housejobs-migrate-stage-scheduler-trigger "
            "(0 4 * * 1 UTC): a manual job started on a schedule (not created by housejobs: delete it with "
            "--prune-foreign housejobs-migrate-stage-scheduler-trigger)") in details["lines"]
    warnings = {w["id"]: w for w in details["plan"]["warnings"]}
    assert set(warnings) == {"quota-reset-daily", "housejobs-migrate-stage-scheduler-trigger"}
    assert warnings["quota-reset-daily"]["cloud_run_job"] == "housejobs-quota-reset-stage"
    assert warnings["quota-reset-daily"]["effect"] == "runs twice per period"
    assert warnings["quota-reset-daily"]["created_by_housejobs"] is False
    assert details["plan"]["in_sync"] is True  # a warning, not a change: nothing of housejobs' own drifted
    # The apply prints it too, and leaves the foreign trigger alone.
    applied = deploy(cli, gcp)
    assert applied.code == 0 and DAILY in applied.stdout
    assert gcp.write_calls == 0
    assert f"{PARENT}/jobs/quota-reset-daily" in gcp.sched.jobs
    # --only looks at the one job's foreign triggers.
    only = deploy(cli, gcp, "--only", "alerts", "--plan", "--json").json()["details"]["plan"]
    assert only["warnings"] == []


def test_prune_foreign_deletes_only_the_named_trigger(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    _double_triggers(gcp)
    triggers_before = set(gcp.sched.jobs)
    gcp.clear()
    for name, why in (("housejobs-quota-reset-stage", "is not a trigger outside the catalog"),
                      ("nightly-backup", "is not a trigger outside the catalog"),
                      ("quota-reset-test-daily", "is not a trigger outside the catalog"),
                      ("no-such-trigger", "is not a trigger outside the catalog")):
        refused = deploy(cli, gcp, "--prune-foreign", name)
        assert refused.code == 2, name
        assert f"--prune-foreign {name!r} {why}" in refused.stdout
        assert "foreign triggers in projects/cloudact-testing-1/locations/us-central1: " \
               "housejobs-migrate-stage-scheduler-trigger, quota-reset-daily" in refused.stdout
    assert gcp.write_calls == 0
    prod = deploy(cli, gcp, "--prune-foreign", "quota-reset-daily", env="prod")
    assert prod.code == 2 and "prod not confirmed" in prod.stdout

    plan = deploy(cli, gcp, "--prune-foreign", "quota-reset-daily", "--plan")
    assert ("  - prune     trigger quota-reset-daily (not created by housejobs; starts housejobs-quota-reset-stage; "
            "asked for by --prune-foreign)") in plan.stdout
    assert DAILY not in plan.stdout  # the plan deletes it: no warning for it
    assert gcp.write_calls == 0
    result = deploy(cli, gcp, "--prune-foreign", "quota-reset-daily", "--json")
    assert result.code == 0, result.stdout
    assert result.json()["details"]["applied"] == ["prune trigger quota-reset-daily"]
    assert triggers_before - set(gcp.sched.jobs) == {f"{PARENT}/jobs/quota-reset-daily"}
    assert [r.method for r in gcp.sched.writes()] == ["DELETE"]
    gone = deploy(cli, gcp, "--prune-foreign", "quota-reset-daily")
    assert gone.code == 2


def test_prune_foreign_refuses_a_trigger_housejobs_made(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    _seed_trigger(gcp, "housejobs-alerts-hourly-stage", target="housejobs-alerts-stage", schedule="0 * * * *",
                  description="housejobs alerts (hourly) in stage " + _marker("stage", "alerts", "hourly"))
    gcp.clear()
    plan = deploy(cli, gcp, "--plan", "--json").json()["details"]["plan"]
    (warning,) = plan["warnings"]
    assert warning["created_by_housejobs"] is True
    assert warning["warning"].endswith("(made by housejobs, no longer in the catalog: --prune deletes it)")
    refused = deploy(cli, gcp, "--prune-foreign", "housejobs-alerts-hourly-stage")
    assert refused.code == 2 and "was created by housejobs" in refused.stdout
    pruned = deploy(cli, gcp, "--prune", "--json")
    assert pruned.code == 0
    assert pruned.json()["details"]["applied"] == ["prune trigger housejobs-alerts-hourly-stage"]
    assert pruned.json()["details"]["plan"]["warnings"] == []


def test_prune_leaves_what_housejobs_never_made_however_it_is_labelled_or_marked(cli: Cli, gcp: GcpEnv) -> None:
    """Only the name housejobs gives a job in an env, with complete labels that agree with it (and, for a
    trigger, exactly one marker agreeing with its name and target) is housejobs' own."""
    assert deploy(cli, gcp).code == 0
    managed = {"managed-by": "housejobs", "housejobs-env": "stage", "housejobs-job": "retired"}
    _seed_job(gcp, "housejobs-retired-stage", managed)  # what an older housejobs made: pruned
    _seed_trigger(gcp, "housejobs-retired-stage", target="housejobs-retired-stage",
                  description="housejobs retired in stage " + _marker("stage", "retired"))
    _seed_job(gcp, "someone-elses-job", managed)  # labels copied from ours
    _seed_job(gcp, "housejobs-oldjob3-stage", {"managed-by": "housejobs", "housejobs-env": "stage"})
    _seed_trigger(gcp, "forged-catalog-target", target="housejobs-alerts-stage",
                  description=_marker("stage", "alerts"))
    _seed_trigger(gcp, "two-markers", target="housejobs-retired-stage",
                  description=_marker("stage", "retired") + " " + _marker("stage", "retired"))
    _seed_trigger(gcp, "housejobs-retired-hourly-stage", target="housejobs-retired-stage",
                  description=_marker("stage", "retired", "x") + "\n" + _marker("stage", "retired", "hourly"))
    jobs_before, triggers_before = set(gcp.run.jobs), set(gcp.sched.jobs)
    gcp.clear()
    plan = deploy(cli, gcp, "--prune", "--plan", "--json").json()["details"]["plan"]
    assert {(s["kind"], s["id"], s["reason"]) for s in plan["skipped"]} == {
        ("job", "someone-elses-job", "labelled as housejobs' retired job, but not named housejobs-retired-stage"),
        ("job", "housejobs-oldjob3-stage", "labelled managed-by=housejobs without housejobs-job"),
        ("trigger", "forged-catalog-target", "marked as housejobs-alerts-stage, but named forged-catalog-target"),
        ("trigger", "two-markers", "2 housejobs markers in its description"),
        ("trigger", "housejobs-retired-hourly-stage", "2 housejobs markers in its description")}
    # Not ours, so each is a foreign trigger: on a catalog job a double trigger, reported as one.
    effects = {w["id"]: w["effect"] for w in plan["warnings"]}
    assert effects == {"forged-catalog-target": "runs twice per period",
                       "two-markers": "starts a job that is no longer in the catalog",
                       "housejobs-retired-hourly-stage": "starts a job that is no longer in the catalog"}
    result = deploy(cli, gcp, "--prune", "--json")
    assert result.code == 0, result.stdout
    assert result.json()["details"]["applied"] == ["prune trigger housejobs-retired-stage",
                                                   "prune job housejobs-retired-stage"]
    assert jobs_before - set(gcp.run.jobs) == {f"{PARENT}/jobs/housejobs-retired-stage"}
    assert triggers_before - set(gcp.sched.jobs) == {f"{PARENT}/jobs/housejobs-retired-stage"}


def test_a_double_trigger_in_another_scheduler_region_is_reported(cli: Cli, gcp: GcpEnv) -> None:
    """Scheduler jobs live per location; one in europe-west1 can start our us-central1 job all the same."""
    assert deploy(cli, gcp).code == 0
    _seed_trigger(gcp, "alerts-eu", target="housejobs-alerts-stage", location="europe-west1", schedule="0 8 * * *")
    # Even named and marked exactly like ours: housejobs makes its triggers in its own region only.
    _seed_trigger(gcp, "housejobs-alerts-stage", target="housejobs-alerts-stage", location="europe-west1",
                  schedule="0 8 * * *", description="copied " + _marker("stage", "alerts"))
    gcp.clear()
    plan = deploy(cli, gcp, "--plan", "--json").json()["details"]
    warnings = {w["id"]: w for w in plan["plan"]["warnings"]}
    assert set(warnings) == {"europe-west1/alerts-eu", "europe-west1/housejobs-alerts-stage"}
    assert warnings["europe-west1/alerts-eu"]["location"] == "europe-west1"
    assert warnings["europe-west1/alerts-eu"]["created_by_housejobs"] is False
    assert ("  ! warning   job     housejobs-alerts-stage: also started by europe-west1/alerts-eu (0 8 * * * UTC): "
            "runs twice per period (not created by housejobs: delete it with --prune-foreign "
            "europe-west1/alerts-eu)") in plan["lines"]
    assert any(r.path == f"/v1/projects/{PROJECT}/locations" for r in gcp.sched.requests)
    listed = cli("list-jobs", "--env", "stage", "--json", env=gcp.env).json()
    alerts = next(j for j in listed["jobs"] if j["name"] == "alerts")
    assert sorted(f["id"] for f in alerts["foreign_triggers"]) == sorted(warnings)
    # --prune leaves both alone; --prune-foreign deletes the one named, by its location and id.
    assert deploy(cli, gcp, "--prune", "--json").json()["counts"]["prune"] == 0
    assert deploy(cli, gcp, "--prune-foreign", "alerts-eu").code == 2  # ambiguous without its location
    gone = deploy(cli, gcp, "--prune-foreign", "europe-west1/alerts-eu", "--json")
    assert gone.code == 0, gone.stdout
    assert f"projects/{PROJECT}/locations/europe-west1/jobs/alerts-eu" not in gcp.sched.jobs
    assert f"projects/{PROJECT}/locations/europe-west1/jobs/housejobs-alerts-stage" in gcp.sched.jobs


def test_a_paused_foreign_trigger_is_a_note_not_a_double(cli: Cli, gcp: GcpEnv) -> None:
    """A paused trigger starts nothing: it is noted (it would double the job if resumed), not a warning."""
    assert deploy(cli, gcp).code == 0
    _seed_trigger(gcp, "quota-reset-daily", target="housejobs-quota-reset-stage", schedule="0 0 * * *",
                  time_zone="UTC", state="PAUSED")
    gcp.clear()
    result = deploy(cli, gcp, "--plan", "--json")
    assert result.code == 0
    doc = result.json()
    assert doc["details"]["plan"]["warnings"] == [] and "warning" not in doc["message"]
    (note,) = doc["details"]["plan"]["notes"]
    assert (note["id"], note["state"], note["active"]) == ("quota-reset-daily", "PAUSED", False)
    assert note["effect"] == "paused (if resumed: runs twice per period)"
    assert ("  · note      job     housejobs-quota-reset-stage: also started by quota-reset-daily (0 0 * * * UTC): "
            "paused (if resumed: runs twice per period) (not created by housejobs: delete it with --prune-foreign "
            "quota-reset-daily)") in doc["details"]["lines"]
    lines = cli("list-jobs", "--env", "stage", env=gcp.env).stdout.splitlines()
    reset = next(i for i, line in enumerate(lines) if line.startswith("quota-reset "))
    assert lines[reset + 1].strip().startswith("· also started by quota-reset-daily")
    assert not any(line.strip().startswith("! ") for line in lines)


# --- failures and prod ---------------------------------------------------------------------------
def test_prod_is_refused_without_confirmation(cli: Cli, gcp: GcpEnv) -> None:
    result = deploy(cli, gcp, env="prod")
    assert result.code == 2
    assert "prod not confirmed" in result.stdout
    assert gcp.run.requests == [] and gcp.sched.requests == []
    planned = deploy(cli, gcp, "--plan", env="prod")  # a plan changes nothing: no confirmation needed
    assert planned.code == 0 and gcp.write_calls == 0
    piped = deploy(cli, gcp, "--only", "alerts", env="prod", stdin="yes\n")
    assert piped.code == 0
    assert "projects/cloudact-prod/locations/us-central1/jobs/housejobs-alerts-prod" in gcp.run.jobs
    assert deploy(cli, gcp, "--yes", env="prod").code == 0


def test_a_failed_write_stops_the_apply_and_a_rerun_finishes(cli: Cli, gcp: GcpEnv) -> None:
    gcp.sched.fail_next("INTERNAL", method="POST", message="backend error")
    result = deploy(cli, gcp, "--json")
    assert result.code == 3
    doc = result.json()
    assert doc["outcome"] == "partial"
    assert doc["failures"][0]["unit"] == "create trigger housejobs-quota-reset-stage"
    assert "backend error" in doc["failures"][0]["reason"]
    assert len(gcp.run.jobs) == 9 and gcp.sched.jobs == {}
    gcp.clear()
    again = deploy(cli, gcp, "--json")
    assert again.code == 0
    assert again.json()["counts"]["create"] == 8
    assert gcp.sched.write_calls == 8 and gcp.run.write_calls == 0


def test_permission_denied_on_the_first_read_is_refused(cli: Cli, gcp: GcpEnv) -> None:
    gcp.run.fail_next("PERMISSION_DENIED", method="GET", message="Permission 'run.jobs.list' denied")
    result = deploy(cli, gcp)
    assert result.code == 2
    assert "permission denied" in result.stdout
    assert gcp.write_calls == 0


def test_unreachable_api_fails_in_one_line(cli: Cli, gcp: GcpEnv) -> None:
    env = {**gcp.env, "HOUSEJOBS_RUN_API_ENDPOINT": "http://127.0.0.1:9"}
    result = cli("create-all-jobs", "--env", "stage", env=env)
    assert result.code == 1
    assert "Cloud Run: reading jobs" in result.stdout


# --- list-jobs --env, pause, resume -----------------------------------------------------------------
def test_list_jobs_env_shows_state_triggers_and_last_execution(cli: Cli, gcp: GcpEnv) -> None:
    before = cli("list-jobs", "--env", "stage", "--json", env=gcp.env)
    assert before.code == 0
    assert {j["state"] for j in before.json()["jobs"]} == {"missing"}
    assert deploy(cli, gcp).code == 0
    stage_job(gcp, "alerts")["template"]["template"]["timeout"] = "60s"
    del gcp.sched.jobs[f"{PARENT}/jobs/housejobs-reminder-rent-due-stage"]
    assert cli("pause", "quota-reset", "--env", "stage", env=gcp.env).code == 0
    gcp.run.auto_complete = "succeeded"
    gcp.sched.targets["run.googleapis.com"] = gcp.run.endpoint
    gcp.sched.fire("housejobs-quota-monthly-stage")
    gcp.clear()

    doc = cli("list-jobs", "--env", "stage", "--json", env=gcp.env).json()
    jobs = {j["name"]: j for j in doc["jobs"]}
    assert list(jobs) == JOBS
    assert jobs["alerts"]["state"] == "drift"
    assert jobs["reminder"]["state"] == "drift"
    assert jobs["bootstrap"]["state"] == "in sync"
    assert jobs["quota-reset"]["triggers"][0]["state"] == "PAUSED"
    rent_due = {t["name"]: t for t in jobs["reminder"]["triggers"]}["rent-due"]
    assert (rent_due["state"], rent_due["sync"]) == ("missing", "missing")
    last = jobs["quota-monthly"]["last_execution"]
    assert last["status"] == "succeeded" and last["name"].startswith("housejobs-quota-monthly-stage-")
    assert jobs["migrate"]["last_execution"] is None

    table = cli("list-jobs", "--env", "stage", env=gcp.env)
    assert table.code == 0
    lines = table.stdout.splitlines()
    assert lines[0] == "stage · project cloudact-testing-1 · region us-central1"
    assert lines[1].split() == ["NAME", "KIND", "STATE", "TRIGGER", "LAST", "EXECUTION"]
    assert any(line.split()[:7] == ["quota-reset", "daily", "in", "sync", "0", "0", "*"] and "PAUSED" in line
               for line in lines)
    assert any(line.split()[:1] == ["quota-monthly"] and " succeeded 2026-11-24T" in line for line in lines)
    assert any(line.strip() == "rent-due: 0 9 1 * * Australia/Sydney missing (missing)" for line in lines)
    assert gcp.write_calls == 0
    assert not any(r.path.endswith(":getIamPolicy") for r in gcp.run.requests)  # a listing needs no IAM


def test_list_jobs_env_marks_a_job_that_another_trigger_also_starts(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    _double_triggers(gcp)
    _seed_job(gcp, "housejobs-retired-stage", {"managed-by": "housejobs", "housejobs-env": "stage",
                                               "housejobs-job": "retired"})
    _seed_trigger(gcp, "retired-nightly", target="housejobs-retired-stage")
    gcp.clear()
    doc = cli("list-jobs", "--env", "stage", "--json", env=gcp.env).json()
    jobs = {j["name"]: j for j in doc["jobs"]}
    (daily,) = jobs["quota-reset"]["foreign_triggers"]
    assert (daily["id"], daily["schedule"], daily["effect"]) == ("quota-reset-daily", "0 0 * * *",
                                                                 "runs twice per period")
    assert jobs["quota-reset"]["state"] == "in sync"  # its own resources match; the marker says the rest
    assert [f["id"] for f in jobs["migrate"]["foreign_triggers"]] == ["housejobs-migrate-stage-scheduler-trigger"]
    assert jobs["alerts"]["foreign_triggers"] == []
    assert {f["id"] for f in doc["foreign_triggers"]} == {"quota-reset-daily", "retired-nightly",
                                                          "housejobs-migrate-stage-scheduler-trigger"}

    text = cli("list-jobs", "--env", "stage", env=gcp.env)
    assert text.code == 0
    lines = text.stdout.splitlines()
    reset = next(i for i, line in enumerate(lines) if line.startswith("quota-reset "))
    assert lines[reset + 1].strip() == f"! {DAILY}"
    migrate = next(line for line in lines if line.startswith("migrate "))
    assert "—" in migrate  # a manual job's own row keeps its cells; the warning goes below it
    assert ("! housejobs-retired-stage: also started by retired-nightly (0 3 * * * UTC): starts a job that is no "
            "longer in the catalog (not created by housejobs: delete it with --prune-foreign retired-nightly)"
            ) in lines
    assert gcp.write_calls == 0


def test_list_jobs_env_warnings_widen_no_column(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    _double_triggers(gcp)
    plain = cli("list-jobs", "--env", "stage", env=gcp.env).stdout.splitlines()
    last = plain[1].index("LAST EXECUTION")
    reset = next(i for i, line in enumerate(plain) if line.startswith("quota-reset "))
    # The last-execution column starts after the longest schedule, though the warning runs far past it.
    assert last == plain[1].index("TRIGGER") + len("rent-warning: 0 9 25 * * Australia/Sydney ENABLED") + 2
    assert plain[reset][last:] == "—"
    assert plain[reset + 1].index("! ") == plain[1].index("TRIGGER") and len(plain[reset + 1]) > last + 40
    # On a (160-column) terminal: a rich table under a rule, the warning wrapped inside the trigger column.
    wide = {**gcp.env, "NO_COLOR": "1", "COLUMNS": "160"}
    drawn = cli("list-jobs", "--env", "stage", tty=True, env=wide).stdout.splitlines()
    assert drawn[1].split() == ["NAME", "KIND", "STATE", "TRIGGER", "LAST", "EXECUTION"]
    assert set(drawn[2]) == {"─"} and len(drawn[2]) < 120
    assert all(len(line) <= len(drawn[2]) for line in drawn if not line.startswith("! "))
    reset = next(i for i, line in enumerate(drawn) if line.startswith("quota-reset "))
    assert drawn[reset + 1].strip().startswith("! also started by quota-reset-daily")


def test_list_jobs_env_refuses_an_unknown_env(cli: Cli, gcp: GcpEnv) -> None:
    result = cli("list-jobs", "--env", "qa", env=gcp.env)
    assert result.code == 2
    assert "unknown environment 'qa'" in result.stderr


def test_pause_and_resume_a_jobs_triggers(cli: Cli, gcp: GcpEnv) -> None:
    assert deploy(cli, gcp).code == 0
    paused = cli("pause", "reminder", "--env", "stage", "--json", env=gcp.env)
    assert paused.code == 0 and paused.json()["counts"] == {"paused": 3, "already": 0}
    assert {stage_trigger(gcp, t)["state"] for t in TRIGGERS if t.startswith("reminder")} == {"PAUSED"}
    assert stage_trigger(gcp, "alerts")["state"] == "ENABLED"
    gcp.clear()
    again = cli("pause", "reminder", "--env", "stage", "--json", env=gcp.env)
    assert again.json()["outcome"] == "skipped" and gcp.write_calls == 0
    one = cli("resume", "reminder", "--env", "stage", "--trigger", "rent-due", env=gcp.env)
    assert one.code == 0
    assert stage_trigger(gcp, "reminder-rent-due")["state"] == "ENABLED"
    assert stage_trigger(gcp, "reminder-utilities")["state"] == "PAUSED"
    assert cli("resume", "reminder", "--env", "stage", env=gcp.env).code == 0
    assert {stage_trigger(gcp, t)["state"] for t in TRIGGERS} == {"ENABLED"}


def test_pause_refusals(cli: Cli, gcp: GcpEnv) -> None:
    manual = cli("pause", "migrate", "--env", "stage", env=gcp.env)
    assert manual.code == 2 and "migrate is a manual job" in manual.stdout
    missing = cli("pause", "alerts", "--env", "stage", env=gcp.env)
    assert missing.code == 2 and "trigger housejobs-alerts-stage does not exist in stage" in missing.stdout
    wrong = cli("pause", "reminder", "--env", "stage", "--trigger", "rent", env=gcp.env)
    assert wrong.code == 2 and "reminder has no trigger 'rent'" in wrong.stdout
    prod = cli("pause", "alerts", "--env", "prod", env=gcp.env)
    assert prod.code == 2 and "prod not confirmed" in prod.stdout
    assert gcp.write_calls == 0


# --- what --help and the provisioning modules load ---------------------------------------------------
def test_help_and_the_provisioning_modules_load_no_google_library() -> None:
    code = ("import sys, io, contextlib\n"
            "from housejobs.cli.main import run_cli\n"
            "import housejobs.provision.apply, housejobs.jobs.deploy, housejobs.gcp.specs, housejobs.gcp.protos\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    run_cli(['--help']); run_cli(['create-all-jobs', '--help']); run_cli(['doctor', '--help'])\n"
            "loaded = sorted(m for m in sys.modules if m == 'google' or m.startswith('google.'))\n"
            "assert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --- the wrapper scripts ---------------------------------------------------------------------------
@pytest.mark.parametrize("script", ["create-all-jobs.sh", "list-jobs.sh"])
@pytest.mark.parametrize("argv", [[], ["dev"], ["Stage"], ["prod; rm -rf /"], ["--env"]])
def test_scripts_accept_only_known_envs(script: str, argv: list[str]) -> None:
    done = subprocess.run(["bash", str(REPO / "scripts" / script), *argv], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 2
    assert f"usage: {script} test|stage|prod" in done.stderr


def test_scripts_run_the_cli(gcp: GcpEnv, tmp_path: Path) -> None:
    env = {**os.environ, **gcp.env}
    created = subprocess.run(["bash", str(REPO / "scripts" / "create-all-jobs.sh"), "test", "--only", "alerts",
                              "--json"], capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
                             check=False)
    assert created.returncode == 0, created.stdout + created.stderr
    assert json.loads(created.stdout)["outcome"] == "applied"
    listed = subprocess.run(["bash", str(REPO / "scripts" / "list-jobs.sh"), "test", "--json"], capture_output=True,
                            text=True, timeout=60, env=env, cwd=tmp_path, check=False)
    assert listed.returncode == 0, listed.stderr
    states = {j["name"]: j["state"] for j in json.loads(listed.stdout)["jobs"]}
    assert states["alerts"] == "in sync" and states["bootstrap"] == "missing"
