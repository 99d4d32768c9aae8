"""The Google API fakes, driven by the real client libraries over real sockets.

These pin down what the fakes promise the rest of the suite: that google-cloud-run,
google-cloud-scheduler and google-cloud-secret-manager (REST transport, anonymous credentials) work
against them unchanged, that they answer like the real services (defaults, server fields, errors),
and that anything off-schema is rejected and recorded.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import google_crc32c
import proto
import pytest
from google.api import launch_stage_pb2
from google.api_core import exceptions as gexc
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2, scheduler_v1, secretmanager_v1
from google.protobuf import duration_pb2, field_mask_pb2

from tests.fakes._http import ticking_clock
from tests.fakes.cloudrun import CloudRunFake, ContainerFailed, TaskRun
from tests.fakes.discovery import Discovery, EnumSpec, validate
from tests.fakes.scheduler import SchedulerFake
from tests.fakes.secretmanager import SecretManagerFake

PROJECT = "cloudact-testing-1"
REGION = "europe-west3"
PARENT = f"projects/{PROJECT}/locations/{REGION}"
RUN_SA = f"housejobs-runner@{PROJECT}.iam.gserviceaccount.com"
SCHED_SA = f"housejobs-scheduler@{PROJECT}.iam.gserviceaccount.com"
T0 = datetime(2026, 11, 24, 10, 0, 0, tzinfo=UTC)




def options(endpoint: str) -> dict[str, Any]:
    return {"credentials": AnonymousCredentials(), "client_options": ClientOptions(api_endpoint=endpoint)}


def raw(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


@pytest.fixture
def run_fake() -> Iterator[CloudRunFake]:
    with CloudRunFake(clock=ticking_clock()) as fake:
        yield fake
        assert fake.output_only_sent == []


@pytest.fixture
def jobs(run_fake: CloudRunFake) -> run_v2.JobsClient:
    return run_v2.JobsClient(transport="rest", **options(run_fake.endpoint))


@pytest.fixture
def executions(run_fake: CloudRunFake) -> run_v2.ExecutionsClient:
    return run_v2.ExecutionsClient(transport="rest", **options(run_fake.endpoint))


@pytest.fixture
def sched_fake() -> Iterator[SchedulerFake]:
    with SchedulerFake(clock=ticking_clock()) as fake:
        yield fake


@pytest.fixture
def scheduler(sched_fake: SchedulerFake) -> scheduler_v1.CloudSchedulerClient:
    return scheduler_v1.CloudSchedulerClient(transport="rest", **options(sched_fake.endpoint))


@pytest.fixture
def sm_fake() -> Iterator[SecretManagerFake]:
    with SecretManagerFake(project_numbers={PROJECT: "614527803912"}) as fake:
        yield fake


@pytest.fixture
def secrets(sm_fake: SecretManagerFake) -> secretmanager_v1.SecretManagerServiceClient:
    return secretmanager_v1.SecretManagerServiceClient(transport="rest", **options(sm_fake.endpoint))


def housejobs_job(args: list[str] | None = None) -> run_v2.Job:
    """A job shaped like the ones create-all-jobs provisions."""
    container = run_v2.Container(
        image="europe-west3-docker.pkg.dev/cloudact-testing-1/housejobs/housejobs:1.4.0",
        args=args or ["quota-reset"],
        env=[
            run_v2.EnvVar(name="HOUSEJOBS_ENV", value="test"),
            run_v2.EnvVar(
                name="CA_ROOT_API_KEY",
                value_source=run_v2.EnvVarSource(
                    secret_key_ref=run_v2.SecretKeySelector(secret="ca-root-api-key-test", version="latest")
                ),
            ),
        ],
        resources=run_v2.ResourceRequirements(limits={"cpu": "1", "memory": "1Gi"}),
    )
    return run_v2.Job(
        labels={"app": "housejobs", "env": "test", "job": "quota-reset"},
        template=run_v2.ExecutionTemplate(
            task_count=1,
            parallelism=1,
            template=run_v2.TaskTemplate(
                containers=[container],
                max_retries=0,
                timeout=duration_pb2.Duration(seconds=900),
                service_account=RUN_SA,
            ),
        ),
    )


def create(jobs: run_v2.JobsClient, job_id: str = "housejobs-quota-reset-test", **kw: Any) -> run_v2.Job:
    job: run_v2.Job = jobs.create_job(parent=PARENT, job=housejobs_job(**kw), job_id=job_id).result(timeout=5)
    return job


# ---- discovery validator ---------------------------------------------------------------------


def test_validator_reads_the_documents_shipped_in_the_wheel() -> None:
    run = Discovery.load("run.v2")
    assert run.name == "run.v2"
    assert "GoogleCloudRunV2Job" in run.schemas
    assert "Job" in Discovery.load("cloudscheduler.v1").schemas
    assert "AccessSecretVersionResponse" in Discovery.load("secretmanager.v1").schemas


def test_validator_finds_unknown_fields_through_refs_arrays_and_maps() -> None:
    body = {
        "labels": {"env": 3},
        "template": {
            "taskCount": "2",
            "template": {
                "containers": [{"image": "x", "envv": [], "resources": {"limits": {"cpu": "1"}, "cpuIdel": True}}],
                "maxRetries": 0,
                "timeout": "10 minutes",
            },
        },
        "launchStage": 99,
        "generation": "12x",
    }
    assert sorted(validate("run.v2", "GoogleCloudRunV2Job", body)) == sorted(
        [
            "$.labels.env: expected string, got number",
            "$.template.taskCount: expected integer, got string",
            "$.template.template.containers[0]: unknown field 'envv'",
            "$.template.template.containers[0].resources: unknown field 'cpuIdel'",
            "$.template.template.timeout: '10 minutes' is not a duration like '600s'",
            "$.launchStage: 99 is not a valid enum number (values: LAUNCH_STAGE_UNSPECIFIED, UNIMPLEMENTED, "
            "PRELAUNCH, EARLY_ACCESS, ALPHA, BETA, GA, DEPRECATED)",
            "$.generation: expected int64 (decimal string), got '12x'",
        ]
    )


def test_validator_accepts_what_the_real_clients_send() -> None:
    good = {
        "launchStage": 4,  # GA as the proto numbers it, not its place in the discovery list
        "template": {"taskCount": 2, "template": {"containers": [{"image": "x"}], "maxRetries": 0}},
    }
    assert validate("run.v2", "GoogleCloudRunV2Job", good) == []
    assert validate("run.v2", "GoogleCloudRunV2Job", {"launchStage": "BETA"}) == []
    sched = {"name": "a", "httpTarget": {"httpMethod": 1, "body": "e30=", "headers": {"A": "b"}}}
    assert validate("cloudscheduler.v1", "Job", sched) == []
    assert validate("cloudscheduler.v1", "Job", {"httpTarget": {"body": "not base64!"}}) == [
        "$.httpTarget.body: not valid base64"
    ]
    assert validate("cloudscheduler.v1", "Job", {"userUpdateTime": "yesterday"}) == [
        "$.userUpdateTime: 'yesterday' is not an RFC 3339 timestamp"
    ]


def test_validator_reports_output_only_fields_separately() -> None:
    report = Discovery.load("run.v2").check("GoogleCloudRunV2Job", {"uid": "u", "executionCount": 0})
    assert report.errors == []
    assert report.output_only == ["$.uid"]  # a default value is not "sent"


def _proto_enums() -> Iterator[tuple[str, list[tuple[str, int]]]]:
    seen: set[type] = set()

    def walk(obj: Any, path: str) -> Iterator[tuple[str, list[tuple[str, int]]]]:
        for name, value in vars(obj).items():
            if not isinstance(value, type) or value in seen:
                continue
            seen.add(value)
            if issubclass(value, proto.Enum):
                yield f"{path}.{name}", [(m.name, m.value) for m in value]
            elif issubclass(value, proto.Message):
                yield from walk(value, f"{path}.{name}")

    for module in (run_v2, scheduler_v1, secretmanager_v1):
        yield from walk(module, module.__name__)
    yield "google.api.LaunchStage", list(launch_stage_pb2.LaunchStage.items())


def test_enum_numbers_agree_with_the_installed_protos() -> None:
    # Guards the validator's one assumption: enums are numbered in list order unless listed.
    for where, members in _proto_enums():
        spec = EnumSpec(tuple(name for name, _ in members))
        for name, number in members:
            assert spec.number(name) == number, f"{where}.{name}: add it to discovery._PROTO_NUMBERS"


# ---- Cloud Run ---------------------------------------------------------------------------------


def test_create_fills_defaults_and_server_fields(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    job = create(jobs)
    assert job.name == f"{PARENT}/jobs/housejobs-quota-reset-test"
    got = jobs.get_job(name=job.name)
    # what was sent is kept
    task = got.template.template
    assert task.max_retries == 0
    assert task.timeout == timedelta(seconds=900)
    assert task.service_account == RUN_SA
    assert dict(task.containers[0].resources.limits) == {"cpu": "1", "memory": "1Gi"}
    secret_env = task.containers[0].env[1]
    assert secret_env.value_source.secret_key_ref.secret == "ca-root-api-key-test"
    assert secret_env.value_source.secret_key_ref.version == "latest"
    assert dict(got.labels) == {"app": "housejobs", "env": "test", "job": "quota-reset"}
    assert got.template.task_count == 1
    assert got.template.parallelism == 1
    # what the server adds
    assert got.launch_stage == launch_stage_pb2.GA
    assert got.uid and got.etag
    assert got.generation == got.observed_generation == 1
    assert got.create_time == got.update_time
    assert got.creator == "tester@housejobs.example"
    assert got.terminal_condition.type_ == "Ready"
    assert got.terminal_condition.state == run_v2.Condition.State.CONDITION_SUCCEEDED
    assert got.execution_count == 0
    assert run_fake.schema_violations == []


def test_create_fills_what_a_bare_job_leaves_out(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    bare = run_v2.Job(template=run_v2.ExecutionTemplate(template=run_v2.TaskTemplate(
        containers=[run_v2.Container(image="busybox")])))  # fmt: skip
    job = jobs.create_job(parent=PARENT, job=bare, job_id="bare").result(timeout=5)
    assert job.template.task_count == 1
    assert job.template.template.max_retries == 3
    assert job.template.template.timeout == timedelta(seconds=600)
    assert dict(job.template.template.containers[0].resources.limits) == {"cpu": "1000m", "memory": "512Mi"}
    assert job.template.template.service_account == "123456789012-compute@developer.gserviceaccount.com"


def test_responses_follow_the_requested_enum_encoding(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    job = create(jobs)
    assert all(r.int_enums for r in run_fake.requests)  # the client asks for numeric enums
    url = f"{run_fake.endpoint}/v2/{job.name}"
    assert raw("GET", url + "?%24alt=json%3Benum-encoding%3Dint")[1]["launchStage"] == 4
    assert raw("GET", url)[1]["launchStage"] == "GA"


def test_update_bumps_generation_only_on_change(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    job = create(jobs)
    same = jobs.update_job(job=run_v2.Job(name=job.name, **_spec(housejobs_job()))).result(timeout=5)
    assert same.generation == 1
    assert same.etag == job.etag

    changed = housejobs_job(args=["quota-reset", "--date", "2026-11-24"])
    updated = jobs.update_job(job=run_v2.Job(name=job.name, **_spec(changed))).result(timeout=5)
    assert updated.generation == updated.observed_generation == 2
    assert updated.etag != job.etag
    assert updated.uid == job.uid
    assert updated.create_time == job.create_time
    assert updated.update_time > job.update_time
    assert list(jobs.get_job(name=job.name).template.template.containers[0].args) == [
        "quota-reset",
        "--date",
        "2026-11-24",
    ]
    assert run_fake.schema_violations == []


def _spec(job: run_v2.Job) -> dict[str, Any]:
    return {"labels": job.labels, "template": job.template}


def test_update_of_a_missing_job(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    name = f"{PARENT}/jobs/housejobs-alerts-test"
    with pytest.raises(gexc.NotFound):
        jobs.update_job(job=run_v2.Job(name=name, **_spec(housejobs_job())))
    request = run_v2.UpdateJobRequest(job=run_v2.Job(name=name, **_spec(housejobs_job())), allow_missing=True)
    created = jobs.update_job(request=request).result(timeout=5)
    assert created.generation == 1
    assert run_fake.requests[-1].query["allowMissing"] == ["true"]


def test_update_with_a_stale_etag_is_aborted(jobs: run_v2.JobsClient) -> None:
    job = create(jobs)
    jobs.update_job(job=run_v2.Job(name=job.name, **_spec(housejobs_job(args=["x"])))).result(timeout=5)
    # Google's REST front end maps the status to HTTP 409, which api_core raises as Conflict.
    with pytest.raises(gexc.Conflict, match="etag"):
        jobs.update_job(job=run_v2.Job(name=job.name, etag=job.etag, **_spec(housejobs_job(args=["y"]))))


def test_output_only_fields_are_ignored_unless_strict(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    job = create(jobs)
    got = jobs.get_job(name=job.name)
    # Read-modify-write sends uid, timestamps, conditions back; the real API ignores them (AIP-203).
    same = jobs.update_job(job=got).result(timeout=5)
    assert same.generation == 1
    assert f"PATCH /v2/{job.name}: $.uid" in run_fake.output_only_sent
    run_fake.output_only_sent.clear()

    with CloudRunFake(reject_output_only=True) as strict:
        body = {"uid": "mine", "template": {"template": {"containers": [{"image": "x"}]}}}
        status, answer = raw("POST", f"{strict.endpoint}/v2/{PARENT}/jobs?jobId=strict", body)
        assert status == 400
        assert "$.uid: output-only field set in a request" in answer["error"]["message"]
        assert strict.jobs == {}


def test_validate_only_changes_nothing(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    request = run_v2.CreateJobRequest(parent=PARENT, job=housejobs_job(), job_id="dry", validate_only=True)
    preview = jobs.create_job(request=request).result(timeout=5)
    assert preview.template.template.timeout == timedelta(seconds=900)
    assert run_fake.jobs == {}
    assert run_fake.requests[-1].query["validateOnly"] == ["true"]


def test_seed_job_stores_like_create(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    run_fake.seed_job(PARENT, "seeded", {"template": {"template": {"containers": [{"image": "busybox"}]}}})
    got = jobs.get_job(name=f"{PARENT}/jobs/seeded")
    assert got.template.template.max_retries == 3
    assert run_fake.job("seeded")["launchStage"] == "GA"  # stored with enum names
    assert run_fake.write_calls == 0


def test_list_pages_and_delete(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    for job_id in ("housejobs-c-test", "housejobs-a-test", "housejobs-b-test"):
        create(jobs, job_id)
    pager = jobs.list_jobs(request=run_v2.ListJobsRequest(parent=PARENT, page_size=2))
    assert [j.name.rsplit("/", 1)[-1] for j in pager] == ["housejobs-a-test", "housejobs-b-test", "housejobs-c-test"]
    assert [r.param("pageToken") for r in run_fake.requests if r.method == "GET"] == ["", "o2"]

    deleted = jobs.delete_job(name=f"{PARENT}/jobs/housejobs-b-test").result(timeout=5)
    assert deleted.delete_time
    with pytest.raises(gexc.NotFound):
        jobs.get_job(name=f"{PARENT}/jobs/housejobs-b-test")
    assert len(list(jobs.list_jobs(parent=PARENT))) == 2


def test_create_twice_conflicts_and_bad_ids_are_rejected(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    create(jobs)
    with pytest.raises(gexc.Conflict, match="already exists"):
        create(jobs)
    with pytest.raises(gexc.BadRequest):
        create(jobs, "Housejobs_Bad")
    assert run_fake.schema_violations == [
        f"POST /v2/{PARENT}/jobs: jobId 'Housejobs_Bad': lowercase letters, digits and hyphens, "
        "starting with a letter, at most 63 characters"
    ]


def test_semantic_rules_are_enforced(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    bad = housejobs_job()
    bad.template.template.max_retries = 11
    bad.template.template.containers[0].env.append(run_v2.EnvVar(name="HOUSEJOBS_ENV", value="again"))
    bad.labels["Env"] = "Test"
    with pytest.raises(gexc.BadRequest) as err:
        jobs.create_job(parent=PARENT, job=bad, job_id="bad")
    assert "maxRetries: must be between 0 and 10" in err.value.message
    where = f"POST /v2/{PARENT}/jobs: "
    assert sorted(run_fake.schema_violations) == [
        where + "labels: invalid label key 'Env'",
        where + "labels: invalid label value 'Test' for 'Env'",
        where + "template.template.containers[0].env[2].name: duplicate environment variable 'HOUSEJOBS_ENV'",
        where + "template.template.maxRetries: must be between 0 and 10",
    ]


def test_unknown_field_is_rejected_in_googles_error_shape(run_fake: CloudRunFake) -> None:
    body = {"template": {"template": {"containers": [{"image": "x", "argz": ["a"]}]}}}
    status, answer = raw("POST", f"{run_fake.endpoint}/v2/{PARENT}/jobs?jobId=typo", body)
    assert status == 400
    assert answer["error"]["code"] == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT"
    assert "unknown field 'argz'" in answer["error"]["message"]
    assert run_fake.schema_violations == [
        f"POST /v2/{PARENT}/jobs: $.template.template.containers[0]: unknown field 'argz'"
    ]
    assert run_fake.jobs == {}


def test_unknown_query_parameter_and_unknown_path(run_fake: CloudRunFake) -> None:
    status, answer = raw("GET", f"{run_fake.endpoint}/v2/{PARENT}/jobs?page_size=5")
    assert status == 400
    assert "unknown parameter 'page_size'" in answer["error"]["message"]
    status, answer = raw("GET", f"{run_fake.endpoint}/v1/namespaces/{PROJECT}/jobs")
    assert status == 404
    assert answer["error"]["status"] == "NOT_FOUND"


def test_write_calls_count_only_mutations(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    job = create(jobs)
    jobs.get_job(name=job.name)
    list(jobs.list_jobs(parent=PARENT))
    assert run_fake.write_calls == 1
    run_fake.clear_requests()
    jobs.run_job(name=job.name)
    assert run_fake.write_calls == 1
    assert [(r.method, r.path) for r in run_fake.writes()] == [("POST", f"/v2/{job.name}:run")]


def test_run_with_overrides_then_succeed(
    run_fake: CloudRunFake, jobs: run_v2.JobsClient, executions: run_v2.ExecutionsClient
) -> None:
    job = create(jobs)
    overrides = run_v2.RunJobRequest.Overrides(
        container_overrides=[
            run_v2.RunJobRequest.Overrides.ContainerOverride(
                args=["quota-reset", "--date", "2026-11-23"],
                env=[run_v2.EnvVar(name="HOUSEJOBS_ENV", value="stage")],
            )
        ],
        task_count=3,
    )
    op = jobs.run_job(request=run_v2.RunJobRequest(name=job.name, overrides=overrides))
    name = op.metadata.name
    assert name.startswith(f"{job.name}/executions/housejobs-quota-reset-test-")
    assert not op.done()  # the RunJob operation lasts as long as the execution

    running = executions.get_execution(name=name)
    assert running.task_count == 3
    assert running.running_count == 1  # the job's parallelism
    assert running.reconciling
    assert not running.completion_time
    assert running.job == "housejobs-quota-reset-test"
    container = running.template.containers[0]
    assert list(container.args) == ["quota-reset", "--date", "2026-11-23"]
    assert {e.name: e.value for e in container.env}["HOUSEJOBS_ENV"] == "stage"
    assert container.env[1].value_source.secret_key_ref.secret == "ca-root-api-key-test"
    assert running.log_uri.startswith("https://console.cloud.google.com/logs/viewer?project=cloudact-testing-1")

    run_fake.finish_execution(name)
    done = op.result(timeout=5)
    assert isinstance(done, run_v2.Execution)
    assert (done.succeeded_count, done.failed_count, done.running_count) == (3, 0, 0)
    assert done.completion_time
    completed = next(c for c in done.conditions if c.type_ == "Completed")
    assert completed.state == run_v2.Condition.State.CONDITION_SUCCEEDED

    after = jobs.get_job(name=job.name)
    assert after.execution_count == 1
    assert after.latest_created_execution.name == name
    assert after.latest_created_execution.completion_status == (
        run_v2.ExecutionReference.CompletionStatus.EXECUTION_SUCCEEDED
    )
    assert [e.name for e in executions.list_executions(parent=job.name)] == [name]
    assert run_fake.schema_violations == []


def test_a_failed_execution_fails_the_run_operation(
    run_fake: CloudRunFake, jobs: run_v2.JobsClient, executions: run_v2.ExecutionsClient
) -> None:
    job = create(jobs)
    op = jobs.run_job(name=job.name)
    run_fake.finish_execution(op.metadata.name, failed=1)
    with pytest.raises(gexc.GoogleAPICallError, match="failed with message: The container exited with an error"):
        op.result(timeout=5)
    ex = executions.get_execution(name=op.metadata.name)
    assert (ex.failed_count, ex.succeeded_count) == (1, 0)
    completed = next(c for c in ex.conditions if c.type_ == "Completed")
    assert completed.state == run_v2.Condition.State.CONDITION_FAILED
    assert completed.execution_reason == run_v2.Condition.ExecutionReason.NON_ZERO_EXIT_CODE
    ref = jobs.get_job(name=job.name).latest_created_execution
    assert ref.completion_status == run_v2.ExecutionReference.CompletionStatus.EXECUTION_FAILED


def test_cancel_an_execution(
    run_fake: CloudRunFake, jobs: run_v2.JobsClient, executions: run_v2.ExecutionsClient
) -> None:
    job = create(jobs)
    op = jobs.run_job(name=job.name)
    cancelled = executions.cancel_execution(name=op.metadata.name).result(timeout=5)
    assert cancelled.cancelled_count == 1
    assert cancelled.running_count == 0
    # As on the real API the RunJob operation ends without an error; the counts tell.
    result = op.result(timeout=5)
    assert result.cancelled_count == 1
    assert result.succeeded_count == 0
    with pytest.raises(gexc.BadRequest, match="already completed"):
        executions.cancel_execution(name=op.metadata.name)
    ref = jobs.get_job(name=job.name).latest_created_execution
    assert ref.completion_status == run_v2.ExecutionReference.CompletionStatus.EXECUTION_CANCELLED


def test_auto_complete_policies(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    ok, bad = create(jobs, "housejobs-ok-test"), create(jobs, "housejobs-bad-test")
    run_fake.auto_complete = "succeeded"
    run_fake.job_outcomes["housejobs-bad-test"] = "failed"
    assert jobs.run_job(name=ok.name).result(timeout=5).succeeded_count == 1
    with pytest.raises(gexc.GoogleAPICallError):
        jobs.run_job(name=bad.name).result(timeout=5)

    run_fake.auto_complete_after = 2
    op = jobs.run_job(name=ok.name)
    assert not op.done()  # first poll
    assert op.done()  # second poll completes it
    assert op.result(timeout=5).succeeded_count == 1


def test_an_executor_runs_every_task_and_its_exit_codes_decide(
    run_fake: CloudRunFake, jobs: run_v2.JobsClient, executions: run_v2.ExecutionsClient
) -> None:
    seen: list[TaskRun] = []

    def executor(task: TaskRun) -> int:
        seen.append(task)
        if task.index == 1 and task.attempt < 1:
            return 3  # the second task fails once, then succeeds on Cloud Run's retry
        return 0

    job = create(jobs)
    run_fake.executor = executor
    overrides = run_v2.RunJobRequest.Overrides(task_count=2, container_overrides=[
        run_v2.RunJobRequest.Overrides.ContainerOverride(args=["quota-reset", "--dry-run"])])
    op = jobs.run_job(request=run_v2.RunJobRequest(name=job.name, overrides=overrides))
    assert not op.metadata.completion_time  # answered as started; the tasks had run by the time it arrived
    done = executions.get_execution(name=op.metadata.name)
    # maxRetries is 0 on this job: the second task's failure is final, and so the execution's.
    assert (done.succeeded_count, done.failed_count, done.retried_count) == (1, 1, 0)
    assert [(t.index, t.attempt) for t in seen] == [(0, 0), (1, 0)]
    with pytest.raises(gexc.GoogleAPICallError, match="The container exited with an error"):
        op.result(timeout=5)

    retrying = create(jobs, "housejobs-retry-test")
    run_fake.jobs[retrying.name]["template"]["template"]["maxRetries"] = 2
    seen.clear()
    op = jobs.run_job(request=run_v2.RunJobRequest(name=retrying.name, overrides=overrides))
    done = executions.get_execution(name=op.metadata.name)
    assert (done.succeeded_count, done.failed_count, done.retried_count) == (2, 0, 1)
    assert op.result(timeout=5).succeeded_count == 2
    assert [(t.index, t.attempt) for t in seen] == [(0, 0), (1, 0), (1, 1)]
    task = seen[-1]
    assert task.args == ["quota-reset", "--dry-run"] and task.image.endswith("housejobs:1.4.0")
    assert task.cloud_run_env() == {"CLOUD_RUN_JOB": "housejobs-retry-test", "CLOUD_RUN_EXECUTION": done.name.rsplit(
        "/", 1)[-1], "CLOUD_RUN_TASK_INDEX": "1", "CLOUD_RUN_TASK_COUNT": "2", "CLOUD_RUN_TASK_ATTEMPT": "1"}
    assert task.env[1] == {"name": "CA_ROOT_API_KEY",
                           "valueSource": {"secretKeyRef": {"secret": "ca-root-api-key-test", "version": "latest"}}}


def test_a_container_that_cannot_start_fails_with_the_reason(
    run_fake: CloudRunFake, jobs: run_v2.JobsClient, executions: run_v2.ExecutionsClient
) -> None:
    def executor(task: TaskRun) -> int:
        raise ContainerFailed("secret ca-root-api-key-test was not found")

    job = create(jobs)
    run_fake.executor = executor
    op = jobs.run_job(name=job.name)
    with pytest.raises(gexc.GoogleAPICallError, match="could not start: secret ca-root-api-key-test was not found"):
        op.result(timeout=5)
    ex = executions.get_execution(name=op.metadata.name)
    assert (ex.failed_count, ex.succeeded_count) == (1, 0)
    assert jobs.get_job(name=job.name).latest_created_execution.completion_status == (
        run_v2.ExecutionReference.CompletionStatus.EXECUTION_FAILED)


def test_injected_fault_answers_once(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    job = create(jobs)
    run_fake.fail_next("UNAVAILABLE", method="GET")
    with pytest.raises(gexc.ServiceUnavailable):
        jobs.get_job(name=job.name)
    assert jobs.get_job(name=job.name).name == job.name


def test_iam_policy_round_trip(run_fake: CloudRunFake, jobs: run_v2.JobsClient) -> None:
    from google.iam.v1 import iam_policy_pb2, policy_pb2

    job = create(jobs)
    policy = jobs.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=job.name))
    policy.bindings.append(policy_pb2.Binding(role="roles/run.invoker", members=[f"serviceAccount:{SCHED_SA}"]))
    jobs.set_iam_policy(request=iam_policy_pb2.SetIamPolicyRequest(resource=job.name, policy=policy))
    again = jobs.get_iam_policy(request=iam_policy_pb2.GetIamPolicyRequest(resource=job.name))
    assert [(b.role, list(b.members)) for b in again.bindings] == [
        ("roles/run.invoker", [f"serviceAccount:{SCHED_SA}"])
    ]
    assert run_fake.schema_violations == []


# ---- Cloud Scheduler ---------------------------------------------------------------------------


def run_uri(job_id: str = "housejobs-quota-reset-test") -> str:
    return f"https://run.googleapis.com/v2/{PARENT}/jobs/{job_id}:run"


def trigger(
    job_id: str = "housejobs-quota-reset-test", body: dict[str, Any] | None = None, **target: Any
) -> scheduler_v1.Job:
    request = body if body is not None else {"overrides": {"containerOverrides": [{"args": ["quota-reset"]}]}}
    http = {
        "uri": run_uri(),
        "http_method": scheduler_v1.HttpMethod.POST,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(request).encode(),
        "oauth_token": scheduler_v1.OAuthToken(service_account_email=SCHED_SA),
        **target,
    }
    return scheduler_v1.Job(
        name=f"{PARENT}/jobs/{job_id}",
        description="housejobs quota-reset (test)",
        schedule="0 0 * * *",
        time_zone="Etc/UTC",
        http_target=scheduler_v1.HttpTarget(**http),
    )


def test_scheduler_create_adds_its_fields(
    sched_fake: SchedulerFake, scheduler: scheduler_v1.CloudSchedulerClient
) -> None:
    created = scheduler.create_job(parent=PARENT, job=trigger())
    got = scheduler.get_job(name=created.name)
    assert dict(got.http_target.headers) == {"Content-Type": "application/json", "User-Agent": "Google-Cloud-Scheduler"}
    assert got.http_target.http_method == scheduler_v1.HttpMethod.POST
    assert got.http_target.oauth_token.service_account_email == SCHED_SA
    assert json.loads(got.http_target.body) == {"overrides": {"containerOverrides": [{"args": ["quota-reset"]}]}}
    assert got.state == scheduler_v1.Job.State.ENABLED
    assert got.attempt_deadline == timedelta(seconds=180)
    assert got.retry_config.min_backoff_duration == timedelta(seconds=5)
    assert got.retry_config.max_backoff_duration == timedelta(seconds=3600)
    assert got.retry_config.max_doublings == 5
    assert got.retry_config.retry_count == 0
    assert got.time_zone == "Etc/UTC"
    assert got.user_update_time
    assert got.schedule_time == datetime(2026, 11, 25, tzinfo=UTC)
    assert sched_fake.run_request_body(created.name) == {
        "overrides": {"containerOverrides": [{"args": ["quota-reset"]}]}
    }
    assert sched_fake.schema_violations == []


def test_scheduler_defaults_time_zone_and_content_type(
    sched_fake: SchedulerFake, scheduler: scheduler_v1.CloudSchedulerClient
) -> None:
    job = trigger(headers={})
    job.time_zone = ""
    got = scheduler.create_job(parent=PARENT, job=job)
    assert got.time_zone == "Etc/UTC"
    assert dict(got.http_target.headers) == {
        "Content-Type": "application/octet-stream",
        "User-Agent": "Google-Cloud-Scheduler",
    }
    # Cloud Run would refuse an octet-stream body; Scheduler accepts the job, the fake notes it.
    assert sched_fake.schema_violations == [
        f"POST /v1/{PARENT}/jobs: httpTarget.headers: Content-Type must be application/json, "
        "not 'application/octet-stream'"
    ]


def test_scheduler_patch_pause_resume_list_delete(
    sched_fake: SchedulerFake, scheduler: scheduler_v1.CloudSchedulerClient
) -> None:
    created = scheduler.create_job(parent=PARENT, job=trigger())
    patched = scheduler.update_job(
        job=scheduler_v1.Job(name=created.name, schedule="5 0 1 * *", time_zone="Europe/Berlin"),
        update_mask=field_mask_pb2.FieldMask(paths=["schedule", "time_zone"]),
    )
    assert sched_fake.requests[-1].query["updateMask"] == ["schedule,timeZone"]
    assert patched.schedule == "5 0 1 * *"
    assert patched.time_zone == "Europe/Berlin"
    assert patched.schedule_time == datetime(2026, 11, 30, 23, 5, tzinfo=UTC)  # 00:05 in Berlin
    assert patched.http_target.uri == run_uri()  # untouched by the mask
    assert patched.description == "housejobs quota-reset (test)"
    assert patched.user_update_time > created.user_update_time

    assert scheduler.pause_job(name=created.name).state == scheduler_v1.Job.State.PAUSED
    assert scheduler.get_job(name=created.name).state == scheduler_v1.Job.State.PAUSED
    assert scheduler.resume_job(name=created.name).state == scheduler_v1.Job.State.ENABLED

    scheduler.create_job(parent=PARENT, job=trigger("housejobs-alerts-test"))
    assert [j.name.rsplit("/", 1)[-1] for j in scheduler.list_jobs(parent=PARENT)] == [
        "housejobs-alerts-test",
        "housejobs-quota-reset-test",
    ]
    scheduler.delete_job(name=created.name)
    with pytest.raises(gexc.NotFound):
        scheduler.get_job(name=created.name)
    with pytest.raises(gexc.Conflict, match="already exists"):
        scheduler.create_job(parent=PARENT, job=trigger("housejobs-alerts-test"))
    assert sched_fake.schema_violations == []
    assert sched_fake.write_calls == 7


def test_scheduler_lists_its_locations_and_keeps_jobs_per_location(
    sched_fake: SchedulerFake, scheduler: scheduler_v1.CloudSchedulerClient
) -> None:
    first = scheduler.list_locations(request={"name": f"projects/{PROJECT}", "page_size": 2})
    assert [loc.location_id for loc in first.locations] == ["us-central1", "europe-west1"]
    assert first.locations[1].name == f"projects/{PROJECT}/locations/europe-west1"
    rest = scheduler.list_locations(request={"name": f"projects/{PROJECT}", "page_token": first.next_page_token})
    assert [loc.location_id for loc in rest.locations] == ["asia-northeast1"] and rest.next_page_token == ""
    assert sched_fake.requests[0].path == f"/v1/projects/{PROJECT}/locations"
    far = f"projects/{PROJECT}/locations/europe-west1"
    job = trigger()
    job.name = f"{far}/jobs/housejobs-quota-reset-test"
    scheduler.create_job(parent=far, job=job)
    assert [j.name for j in scheduler.list_jobs(parent=far)] == [f"{far}/jobs/housejobs-quota-reset-test"]
    assert list(scheduler.list_jobs(parent=PARENT)) == []
    assert sched_fake.schema_violations == []


def test_scheduler_flags_a_run_target_cloud_run_would_refuse(
    sched_fake: SchedulerFake, scheduler: scheduler_v1.CloudSchedulerClient
) -> None:
    body = {"overrides": {"containerOverrides": [{"argv": ["quota-reset"]}], "taskCount": "1"}}
    job = trigger(body=body, oauth_token=None, oidc_token=scheduler_v1.OidcToken(service_account_email=SCHED_SA))
    scheduler.create_job(parent=PARENT, job=job)  # Scheduler itself accepts it
    where = f"POST /v1/{PARENT}/jobs: "
    assert sched_fake.schema_violations == [
        where + "httpTarget.oauthToken: required for *.googleapis.com targets (OIDC tokens are rejected)",
        where + "httpTarget.body.overrides.containerOverrides[0]: unknown field 'argv'",
        where + "httpTarget.body.overrides.taskCount: expected integer, got string",
    ]


def test_scheduler_rejects_off_schema_bodies(sched_fake: SchedulerFake) -> None:
    body = {"name": f"{PARENT}/jobs/x", "schedule": "0 0 * * *", "httpTarget": {"url": "https://x"}}
    status, answer = raw("POST", f"{sched_fake.endpoint}/v1/{PARENT}/jobs", body)
    assert status == 400
    assert answer["error"]["status"] == "INVALID_ARGUMENT"
    assert sched_fake.schema_violations == [f"POST /v1/{PARENT}/jobs: $.httpTarget: unknown field 'url'"]
    status, answer = raw("POST", f"{sched_fake.endpoint}/v1/{PARENT}/jobs", {**body, "httpTarget": {}})
    assert status == 400  # on-schema but without a target: the service's own rule
    assert sched_fake.jobs == {}


def test_scheduler_fires_into_the_cloud_run_fake(
    sched_fake: SchedulerFake, scheduler: scheduler_v1.CloudSchedulerClient, run_fake: CloudRunFake,
    jobs: run_v2.JobsClient,
) -> None:  # fmt: skip
    create(jobs)
    sched_fake.targets["run.googleapis.com"] = run_fake.endpoint
    created = scheduler.create_job(parent=PARENT, job=trigger())
    run_fake.clear_requests()
    status, answer = sched_fake.fire(created.name)
    assert status == 200
    assert answer["metadata"]["@type"] == "type.googleapis.com/google.cloud.run.v2.Execution"
    (delivered,) = run_fake.requests
    assert delivered.headers["User-Agent"] == "Google-Cloud-Scheduler"
    assert delivered.headers["Authorization"] == f"Bearer fake-token-for-{SCHED_SA}"
    (ex,) = run_fake.executions.values()
    assert ex["template"]["containers"][0]["args"] == ["quota-reset"]
    assert scheduler.get_job(name=created.name).last_attempt_time
    assert run_fake.schema_violations == sched_fake.schema_violations == []


# ---- Secret Manager ----------------------------------------------------------------------------


def test_secret_access_with_crc32c(
    sm_fake: SecretManagerFake, secrets: secretmanager_v1.SecretManagerServiceClient
) -> None:
    sm_fake.add_secret(PROJECT, "ca-root-api-key-test", b"first")
    sm_fake.add_secret(PROJECT, "ca-root-api-key-test", b"s3cret-\xff-bytes")
    got = secrets.access_secret_version(name=f"projects/{PROJECT}/secrets/ca-root-api-key-test/versions/latest")
    assert got.payload.data == b"s3cret-\xff-bytes"
    assert got.payload.data_crc32c == google_crc32c.value(got.payload.data)
    assert got.name == "projects/614527803912/secrets/ca-root-api-key-test/versions/2"
    first = secrets.access_secret_version(name=f"projects/{PROJECT}/secrets/ca-root-api-key-test/versions/1")
    assert first.payload.data == b"first"
    wire = sm_fake.requests[-1]
    assert wire.int_enums and wire.path.endswith("/versions/1:access")

    secret = secrets.get_secret(name=f"projects/{PROJECT}/secrets/ca-root-api-key-test")
    assert secret.name == "projects/614527803912/secrets/ca-root-api-key-test"
    assert sm_fake.access_count == 2
    assert sm_fake.write_calls == 0


def test_secret_corruption_denial_and_absence(
    sm_fake: SecretManagerFake, secrets: secretmanager_v1.SecretManagerServiceClient
) -> None:
    name = f"projects/{PROJECT}/secrets/supabase-token-test/versions/latest"
    with pytest.raises(gexc.NotFound):
        secrets.access_secret_version(name=name)
    sm_fake.add_secret(PROJECT, "supabase-token-test", b"token")
    sm_fake.corrupt_crc = True
    got = secrets.access_secret_version(name=name)
    assert got.payload.data_crc32c != google_crc32c.value(got.payload.data)
    sm_fake.corrupt_crc = False
    sm_fake.deny(PROJECT, "supabase-token-test")
    with pytest.raises(gexc.Forbidden, match=r"secretmanager\.versions\.access"):
        secrets.access_secret_version(name=name)
    sm_fake.allow(PROJECT, "supabase-token-test")
    sm_fake.disable_version(PROJECT, "supabase-token-test", 1)
    with pytest.raises(gexc.BadRequest, match="DISABLED"):
        secrets.access_secret_version(name=name)


def test_secret_wire_format(sm_fake: SecretManagerFake) -> None:
    sm_fake.add_secret(PROJECT, "s", b"\x00\x01")
    status, answer = raw("GET", f"{sm_fake.endpoint}/v1/projects/{PROJECT}/secrets/s/versions/latest:access")
    assert status == 200
    assert answer["payload"] == {"data": base64.b64encode(b"\x00\x01").decode(), "dataCrc32c": str(
        google_crc32c.value(b"\x00\x01"))}  # fmt: skip
    assert validate("secretmanager.v1", "AccessSecretVersionResponse", answer) == []
