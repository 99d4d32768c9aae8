"""provision/ownership.py: the marker housejobs puts in what it creates, read back strictly, and which
Cloud Run job a Scheduler trigger starts. Directly, without any server."""

from __future__ import annotations

import pytest

from tests.support.deploy_env import PARENT, PROJECT, REGION


@pytest.mark.parametrize(("description", "marker"), [
    ("x [managed-by=housejobs env=stage job=quota-reset trigger=schedule]", ("stage", "quota-reset", "schedule")),
    ("[managed-by=housejobs env=prod job=reminder trigger=rent-due]", ("prod", "reminder", "rent-due")),
    ("x\n[managed-by=housejobs env=test job=alerts trigger=schedule]", ("test", "alerts", "schedule")),
    ("x [managed-by=housejobs env=stage job=quota-reset trigger=schedule] and more", None),
    ("x [managed-by=housejobs env=stage job=quota-reset trigger=schedule] ", None),
    ("x[managed-by=housejobs env=stage job=quota-reset trigger=schedule]", None),
    ("x [managed-by=housejobs job=quota-reset env=stage trigger=schedule]", None),
    ("x [managed-by=housejobs  env=stage job=quota-reset trigger=schedule]", None),
    ("x [managed-by=gcloud env=stage job=quota-reset trigger=schedule]", None),
    ("x [managed-by=housejobs env=stage job=quota-reset trigger=schedule owner=me]", None),
    ("x [managed-by=housejobs env=Stage job=quota-reset trigger=schedule]", None),
    ("", None),
    (None, None),
])
def test_the_marker_is_parsed_back_strictly(description: str | None, marker: tuple[str, str, str] | None) -> None:
    from housejobs.provision import ownership

    found = ownership.parse_marker(description)
    assert (None if found is None else (found.env, found.job, found.trigger)) == marker


def test_the_marker_survives_the_description_cap() -> None:
    from housejobs.provision import ownership

    marker = ownership.Marker("stage", "org-sync-all", "schedule")
    for text in ("", "short", "y" * 1000, "a  b\n c"):
        description = ownership.with_marker(text, marker)
        assert len(description) <= 500
        assert ownership.parse_marker(description) == marker
    assert ownership.with_marker("a  b\n c", marker).startswith("a b c [managed-by=")


@pytest.mark.parametrize(("uri", "target"), [
    (f"https://run.googleapis.com/v2/{PARENT}/jobs/housejobs-alerts-stage:run", "housejobs-alerts-stage"),
    (f"https://us-central1-run.googleapis.com/v2/{PARENT}/jobs/housejobs-alerts-stage:run", "housejobs-alerts-stage"),
    ("https://us-central1-run.googleapis.com/apis/run.googleapis.com/v1/namespaces/cloudact-testing-1/jobs/"
     "housejobs-alerts-stage:run", "housejobs-alerts-stage"),
    ("https://us-central1-run.googleapis.com/apis/run.googleapis.com/v1/namespaces/123456789012/jobs/j:run", "j"),
    ("https://europe-west1-run.googleapis.com/apis/run.googleapis.com/v1/namespaces/123/jobs/j:run", None),
    ("https://run.googleapis.com/v2/projects/other/locations/us-central1/jobs/j:run", None),
    ("https://run.googleapis.com/v2/projects/cloudact-testing-1/locations/europe-west1/jobs/j:run", None),
    (f"http://run.googleapis.com/v2/{PARENT}/jobs/j:run", None),
    (f"https://run.googleapis.com.evil.example/v2/{PARENT}/jobs/j:run", None),
    (f"https://run.googleapis.com/v2/{PARENT}/jobs/j", None),
    ("https://example.com/hook", None),
    ("", None),
])
def test_which_cloud_run_job_a_trigger_starts(uri: str, target: str | None) -> None:
    from housejobs.provision import ownership

    assert ownership.run_target({"httpTarget": {"uri": uri}}, PROJECT, REGION) == target


MANAGED = {"managed-by": "housejobs", "housejobs-env": "stage", "housejobs-job": "alerts"}


@pytest.mark.parametrize(("job_id", "labels", "owned", "reason"), [
    ("housejobs-alerts-stage", MANAGED, True, ""),
    ("someone-elses-job", MANAGED, False, "labelled as housejobs' alerts job, but not named housejobs-alerts-stage"),
    ("housejobs-alerts-test", MANAGED, False,
     "labelled as housejobs' alerts job, but not named housejobs-alerts-stage"),
    ("housejobs-alerts-stage", {**MANAGED, "housejobs-job": ""}, False,
     "labelled managed-by=housejobs without housejobs-job"),
    ("housejobs-alerts-stage", {"managed-by": "housejobs", "housejobs-env": "stage"}, False,
     "labelled managed-by=housejobs without housejobs-job"),
    ("housejobs-alerts-stage", {**MANAGED, "housejobs-env": "test"}, False, "not created by housejobs"),
    ("housejobs-alerts-stage", {}, False, "not created by housejobs"),
])
def test_a_cloud_run_job_is_ours_by_its_name_and_complete_labels(job_id: str, labels: dict[str, str], owned: bool,
                                                                 reason: str) -> None:
    from housejobs.provision import ownership

    verdict = ownership.job_verdict(f"{PARENT}/jobs/{job_id}", {"labels": labels}, "stage")
    assert (verdict.owned, verdict.reason) == (owned, reason)


MARK = "[managed-by=housejobs env=stage job=alerts trigger=schedule]"
TARGET = f"https://run.googleapis.com/v2/{PARENT}/jobs/housejobs-alerts-stage:run"


@pytest.mark.parametrize(("name", "description", "owned", "reason"), [
    (f"{PARENT}/jobs/housejobs-alerts-stage", f"x {MARK}", True, ""),
    (f"{PARENT}/jobs/forged", f"x {MARK}", False, "marked as housejobs-alerts-stage, but named forged"),
    ("projects/cloudact-testing-1/locations/europe-west1/jobs/housejobs-alerts-stage", f"x {MARK}", False,
     "marked as housejobs-alerts-stage, but named housejobs-alerts-stage in europe-west1"),
    (f"{PARENT}/jobs/housejobs-alerts-stage", f"{MARK} {MARK}", False, "2 housejobs markers in its description"),
    (f"{PARENT}/jobs/housejobs-alerts-stage", f"{MARK} and then {MARK.replace('alerts', 'other')}", False,
     "2 housejobs markers in its description"),
    (f"{PARENT}/jobs/housejobs-alerts-stage", f"{MARK} trailing", False,
     "a housejobs marker that does not parse, or not at the end of its description"),
    (f"{PARENT}/jobs/housejobs-alerts-stage", "made with gcloud", False, "not created by housejobs"),
])
def test_a_trigger_is_ours_by_one_marker_agreeing_with_its_name_and_target(name: str, description: str, owned: bool,
                                                                           reason: str) -> None:
    from housejobs.provision import ownership

    trigger = {"name": name, "description": description, "httpTarget": {"uri": TARGET}}
    verdict = ownership.trigger_verdict(trigger, env="stage", project=PROJECT, region=REGION,
                                        ours={"housejobs-alerts-stage": "alerts"})
    assert (verdict.owned, verdict.reason) == (owned, reason)
