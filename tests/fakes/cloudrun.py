"""A stateful fake of the Cloud Run Admin API v2 (jobs, executions, operations) over real HTTP.

    with CloudRunFake() as run:
        client = run_v2.JobsClient(transport="rest", credentials=AnonymousCredentials(),
                                   client_options=ClientOptions(api_endpoint=run.endpoint))

It behaves like the real service where provisioning can tell the difference: it fills the defaults
a request left out (launch stage GA, taskCount 1, maxRetries 3, timeout 600s, 1 CPU / 512Mi, the
default compute service account), adds server fields (uid, etag, generation, timestamps, creator,
terminalCondition Ready, executionCount, latestCreatedExecution), bumps `generation` only when the
desired state changes, and answers with long-running operations. Every request body and query is
checked against Google's run.v2 discovery document (see `schema_violations`).

Executions are driven by the test: `run` creates one in the RUNNING state, and the RunJob operation
stays not-done until it finishes, as on the real API. Finish it with `finish_execution(...)`, or set
`auto_complete = "succeeded"` (or per job in `job_outcomes`) so it finishes on its own after
`auto_complete_after` polls (0: at once, so `operation.result()` returns immediately).

Or let it really run: set `executor` to a callable that runs one attempt of one task (a `TaskRun`: the
container's args and env as the execution stores them, and the CLOUD_RUN_* variables) and returns its
exit code. Each task then runs, retried up to the template's maxRetries, and the execution finishes
succeeded or failed by those exit codes (`ContainerFailed` from the executor: the container never
started, e.g. a secret it references is missing, and the execution's Completed condition says why).
The tasks run after the RunJob request has been handled and before its answer goes out, outside the
fake's lock: the caller sees the execution RUNNING, and its first poll sees it finished.

`seed_execution(job, created=..., outcome=...)` stores one that ran in the past (a month of history
for `housejobs history`): its times come from a clock held at `created`, not from the fake's own.
Executions are listed newest first by create time, as the API lists them.
"""

from __future__ import annotations

import json
import random
import re
import string
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

from tests.fakes._http import (
    RPC_CODE,
    FakeServer,
    GoogleError,
    RecordedRequest,
    Route,
    paginate,
    rfc3339,
    route,
)

Outcome = Literal["succeeded", "failed", "cancelled"]

JOB_TYPE = "type.googleapis.com/google.cloud.run.v2.Job"
EXECUTION_TYPE = "type.googleapis.com/google.cloud.run.v2.Execution"

_JOB_ID = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_SYSTEM_PREFIXES = ("run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev", "autoscaling.knative.dev")
_RESERVED_ENV = {
    "CLOUD_RUN_JOB",
    "CLOUD_RUN_EXECUTION",
    "CLOUD_RUN_TASK_INDEX",
    "CLOUD_RUN_TASK_ATTEMPT",
    "CLOUD_RUN_TASK_COUNT",
}
_CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
_MEMORY = re.compile(r"^\d+(\.\d+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$")
_DURATION_S = re.compile(r"^(\d+)(\.\d+)?s$")

# Fields the server owns: ignored on input (AIP-203), kept across updates.
_JOB_OUTPUT_ONLY = (
    "uid",
    "generation",
    "createTime",
    "updateTime",
    "deleteTime",
    "expireTime",
    "creator",
    "lastModifier",
    "observedGeneration",
    "terminalCondition",
    "conditions",
    "executionCount",
    "latestCreatedExecution",
    "reconciling",
    "satisfiesPzs",
    "etag",
)


@dataclass(frozen=True)
class TaskRun:
    """One attempt of one task of an execution, as its container sees it."""

    job: str  # the Cloud Run job id
    execution: str  # the execution id
    index: int
    count: int
    attempt: int
    image: str
    args: list[str]
    env: list[dict[str, Any]]  # the container's env as stored: plain values and secretKeyRefs

    def cloud_run_env(self) -> dict[str, str]:
        """What Cloud Run sets in every task's environment."""
        return {"CLOUD_RUN_JOB": self.job, "CLOUD_RUN_EXECUTION": self.execution,
                "CLOUD_RUN_TASK_INDEX": str(self.index), "CLOUD_RUN_TASK_COUNT": str(self.count),
                "CLOUD_RUN_TASK_ATTEMPT": str(self.attempt)}


class ContainerFailed(Exception):
    """An executor's way to say the container could not start; the message is what Cloud Run reports."""


Executor = Callable[[TaskRun], int]


@dataclass
class _Operation:
    name: str
    type_url: str
    # Finished operations keep a snapshot; a RunJob operation follows its live execution.
    snapshot: dict[str, Any]
    execution: str | None = None
    done: bool = True


class CloudRunFake(FakeServer):
    api = "run.v2"

    def __init__(
        self,
        *,
        project_number: str = "123456789012",
        principal: str = "tester@housejobs.example",
        clock: Callable[[], datetime] | None = None,
        seed: int = 0,
        reject_output_only: bool = False,
    ) -> None:
        self.project_number = project_number
        self.principal = principal
        self.jobs: dict[str, dict[str, Any]] = {}  # full name → job, enums as names
        self.executions: dict[str, dict[str, Any]] = {}  # full name → execution
        self.operations: dict[str, _Operation] = {}
        self.iam_policies: dict[str, dict[str, Any]] = {}
        self.auto_complete: Outcome | None = None
        self.auto_complete_after = 0
        self.job_outcomes: dict[str, Outcome] = {}  # job id → outcome, overrides auto_complete
        self.executor: Executor | None = None  # runs the tasks for real (see the module docstring)
        # The Cloud Logging fake this project's logs go to (tests/fakes/cloudlogging.py), for the tests'
        # plumbing: the executor is what writes to it.
        self.logging: Any = None
        # Called as an execution finishes (execution, tasks succeeded, tasks failed): what a test uses to
        # stand in for the containers' output when no executor runs them.
        self.finish_hooks: list[Callable[[dict[str, Any], int, int], None]] = []
        self._to_execute: list[str] = []
        # The real API reports a failed execution as a failed RunJob operation; its exact code is
        # not documented, so it is a knob.
        self.failed_execution_status = "FAILED_PRECONDITION"
        self._polls: dict[str, int] = {}
        self._latest: dict[str, str] = {}  # job name → its newest execution
        self._rng = random.Random(seed)
        self._seed = seed
        # Each job's execution names come from a generator of its own (seeded by the job's name), so they do
        # not depend on the order in which executions of different jobs start: `smoke` starts them at once.
        self._name_rngs: dict[str, random.Random] = {}
        super().__init__(clock=clock, reject_output_only=reject_output_only)

    def routes(self) -> list[Route]:
        loc = "/v2/projects/{project}/locations/{location}"
        job = loc + "/jobs/{job}"
        ex = job + "/executions/{execution}"
        op = loc + "/operations/{operation}"
        m = "run.projects.locations"
        table: list[tuple[str, str, Callable[..., Any], str, str | None]] = [
            ("POST", loc + "/jobs", self._create_job, "jobs.create", "GoogleCloudRunV2Job"),
            ("GET", loc + "/jobs", self._list_jobs, "jobs.list", None),
            ("GET", job, self._get_job, "jobs.get", None),
            ("PATCH", job, self._update_job, "jobs.patch", "GoogleCloudRunV2Job"),
            ("DELETE", job, self._delete_job, "jobs.delete", None),
            ("POST", job + ":run", self._run_job, "jobs.run", "GoogleCloudRunV2RunJobRequest"),
            ("GET", job + ":getIamPolicy", self._get_iam, "jobs.getIamPolicy", None),
            ("POST", job + ":setIamPolicy", self._set_iam, "jobs.setIamPolicy", "GoogleIamV1SetIamPolicyRequest"),
            ("POST", job + ":testIamPermissions", self._test_iam, "jobs.testIamPermissions",
             "GoogleIamV1TestIamPermissionsRequest"),
            ("GET", job + "/executions", self._list_executions, "jobs.executions.list", None),
            ("GET", ex, self._get_execution, "jobs.executions.get", None),
            ("DELETE", ex, self._delete_execution, "jobs.executions.delete", None),
            ("POST", ex + ":cancel", self._cancel_execution, "jobs.executions.cancel",
             "GoogleCloudRunV2CancelExecutionRequest"),
            ("GET", loc + "/operations", self._list_operations, "operations.list", None),
            ("GET", op, self._get_operation, "operations.get", None),
            ("DELETE", op, self._delete_operation, "operations.delete", None),
            ("POST", op + ":wait", self._wait_operation, "operations.wait", "GoogleLongrunningWaitOperationRequest"),
        ]  # fmt: skip
        # POSTs that change nothing do not count as writes.
        reads = {"jobs.testIamPermissions", "operations.wait"}
        return [
            route(verb, path, handler, method_id=f"{m}.{mid}", body_schema=schema, read=mid in reads)
            for verb, path, handler, mid, schema in table
        ]

    # ---- test helpers ------------------------------------------------------------------------

    def job(self, name: str) -> dict[str, Any]:
        """The stored job (enums as names) by full name or job id."""
        with self._lock:
            return self.jobs[self._find(self.jobs, name)]

    def execution(self, name: str) -> dict[str, Any]:
        """The stored execution by full name or execution id."""
        with self._lock:
            return self.executions[self._find(self.executions, name)]

    def executions_of(self, job: str) -> list[dict[str, Any]]:
        """A job's executions, newest first (job by full name or id)."""
        with self._lock:
            short = job.rsplit("/", 1)[-1]
            return _newest_first(e for e in self.executions.values() if e["job"] == short)

    def seed_job(self, parent: str, job_id: str, job: dict[str, Any]) -> dict[str, Any]:
        """Store a job as if created through the API (defaults and server fields filled), unrecorded."""
        with self._lock:
            return self._store_new(f"{parent}/jobs/{job_id}", self._input_job(job))

    def seed_execution(
        self,
        job: str,
        *,
        created: datetime,
        outcome: Outcome | None = "succeeded",
        duration_s: float = 30.0,
        start_delay_s: float = 5.0,
        args: list[str] | None = None,
        task_count: int | None = None,
    ) -> dict[str, Any]:
        """Store an execution as if it had been started at `created` and had run since (unrecorded, like
        `seed_job`): it goes through the same code as one RunJob makes and one that finishes, on a clock
        held at those past times. `outcome` None leaves it running; `args` stand for container overrides."""
        with self._lock:
            current = self.jobs[self._find(self.jobs, job)]
            tmpl = _json_copy(current["template"])
            if args is not None:
                tmpl["template"]["containers"][0]["args"] = list(args)
            if task_count is not None:
                tmpl["taskCount"] = task_count
            clock = self.clock
            try:
                self.clock = lambda: created
                ex = self._new_execution(current, tmpl)
                started = created + timedelta(seconds=start_delay_s)
                ex["startTime"] = rfc3339(started)
                self.executions[ex["name"]] = ex
                current["executionCount"] = current.get("executionCount", 0) + 1
                latest = self._latest.get(current["name"])
                if latest is None or self.executions[latest]["createTime"] <= ex["createTime"]:
                    self._latest[current["name"]] = ex["name"]
                if outcome is not None:
                    self.clock = lambda: started + timedelta(seconds=duration_s)
                    self._auto_finish(ex, outcome)
                self._sync_reference(ex)
            finally:
                self.clock = clock
            return ex

    def finish_execution(
        self, name: str, *, succeeded: int | None = None, failed: int = 0, cancelled: int = 0, retried: int = 0
    ) -> dict[str, Any]:
        """End a running execution with these task counts (`succeeded` defaults to the rest)."""
        with self._lock:
            ex = self.executions[self._find(self.executions, name)]
            if ex.get("completionTime"):
                raise ValueError(f"{ex['name']} already finished")
            total = ex["taskCount"]
            if succeeded is None:
                succeeded = total - failed - cancelled
            if min(succeeded, failed, cancelled) < 0 or succeeded + failed + cancelled != total:
                raise ValueError(f"task counts must add up to taskCount {total}")
            self._finish(ex, succeeded=succeeded, failed=failed, cancelled=cancelled, retried=retried)
            return ex

    # ---- jobs --------------------------------------------------------------------------------

    def _create_job(self, req: RecordedRequest, project: str, location: str) -> dict[str, Any]:
        job_id = req.param("jobId")
        if not _JOB_ID.match(job_id):
            self.violation(
                req,
                [
                    f"jobId {job_id!r}: lowercase letters, digits and hyphens, "
                    "starting with a letter, at most 63 characters"
                ],
            )
        name = f"projects/{project}/locations/{location}/jobs/{job_id}"
        if req.body.get("name") not in (None, "", name):
            raise GoogleError("INVALID_ARGUMENT", f"job.name must be empty or {name}")
        if name in self.jobs:
            raise GoogleError("ALREADY_EXISTS", f"Resource '{job_id}' already exists.")
        spec = self._input_job(req.body, req)
        if req.param("validateOnly") == "true":
            return self._done_op(req, location, JOB_TYPE, self._new_job(name, spec))
        return self._done_op(req, location, JOB_TYPE, self._store_new(name, spec))

    def _list_jobs(self, req: RecordedRequest, project: str, location: str) -> dict[str, Any]:
        prefix = f"projects/{project}/locations/{location}/jobs/"
        if location == "-":
            prefix = f"projects/{project}/locations/"
        found = [j for n, j in sorted(self.jobs.items()) if n.startswith(prefix)]
        page, token = paginate(found, req)
        out: dict[str, Any] = {}
        if page:
            out["jobs"] = [self._render(req, "GoogleCloudRunV2Job", j) for j in page]
        if token:
            out["nextPageToken"] = token
        return out

    def _get_job(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        return self._render(req, "GoogleCloudRunV2Job", self._job_or_404(project, location, job))

    def _update_job(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        name = f"projects/{project}/locations/{location}/jobs/{job}"
        if req.body.get("name") not in (None, "", name):
            raise GoogleError("INVALID_ARGUMENT", f"job.name {req.body['name']!r} does not match the URL")
        spec = self._input_job(req.body, req)
        validate_only = req.param("validateOnly") == "true"
        current = self.jobs.get(name)
        if current is None:
            if req.param("allowMissing") != "true":
                raise GoogleError(
                    "NOT_FOUND",
                    f"Resource '{job}' of kind 'JOB' in region '{location}' in project '{project}' does not exist.",
                )
            if validate_only:
                return self._done_op(req, location, JOB_TYPE, self._new_job(name, spec))
            return self._done_op(req, location, JOB_TYPE, self._store_new(name, spec))
        self._check_etag(req, req.body.get("etag"), current)
        updated = _json_copy(current)
        if _spec(current) != spec:
            for key in list(updated):
                if key not in _JOB_OUTPUT_ONLY and key != "name":
                    del updated[key]
            updated.update(_json_copy(spec))
            generation = int(current["generation"]) + 1
            updated.update(
                generation=str(generation),
                observedGeneration=str(generation),
                updateTime=self.now(),
                lastModifier=self.principal,
                etag=self._etag(),
            )
        if not validate_only:
            self.jobs[name] = updated
        return self._done_op(req, location, JOB_TYPE, updated)

    def _delete_job(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        self._check_etag(req, req.param("etag"), current)
        deleted = {**_json_copy(current), "deleteTime": self.now()}
        if req.param("validateOnly") != "true":
            del self.jobs[current["name"]]
            for ex_name in [n for n in self.executions if n.startswith(current["name"] + "/")]:
                del self.executions[ex_name]
            self._latest.pop(current["name"], None)
            self.iam_policies.pop(current["name"], None)
        return self._done_op(req, location, JOB_TYPE, deleted)

    def _run_job(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        body = self.discovery_names("GoogleCloudRunV2RunJobRequest", req.body)
        self._check_etag(req, body.get("etag"), current)
        template = self._apply_overrides(req, current, body.get("overrides") or {})
        ex = self._new_execution(current, template)
        if body.get("validateOnly"):
            return self._render_op(req, _Operation(self._op_name(project, location), EXECUTION_TYPE, ex))
        self.executions[ex["name"]] = ex
        current["executionCount"] = current.get("executionCount", 0) + 1
        self._latest[current["name"]] = ex["name"]
        self._sync_reference(ex)
        op = _Operation(self._op_name(project, location), EXECUTION_TYPE, ex, execution=ex["name"], done=False)
        self.operations[op.name] = op
        if self.executor is not None:
            self._to_execute.append(ex["name"])
        elif self._outcome_for(ex) is not None and self.auto_complete_after <= 0:
            self._auto_finish(ex)
        return self._render_op(req, op)

    def dispatch(self, req: RecordedRequest) -> tuple[int, Any]:
        answer = super().dispatch(req)
        # Outside the lock: a container may take a while, and other callers (the smoke's other
        # workers following their executions) must be served meanwhile.
        self._execute_started()
        return answer

    def _execute_started(self) -> None:
        with self._lock:
            names, self._to_execute = self._to_execute, []
        for name in names:
            self._execute(name)

    def _execute(self, name: str) -> None:
        executor = self.executor
        with self._lock:
            ex = self.executions.get(name)
            if executor is None or ex is None:
                return
            container = dict(ex["template"]["containers"][0])
            count, max_retries = ex["taskCount"], ex["template"].get("maxRetries", 3)
            job_id, ex_id = ex["job"], name.rsplit("/", 1)[-1]
        failed = retried = 0
        why = ""
        for index in range(count):
            for attempt in range(max_retries + 1):
                task = TaskRun(job_id, ex_id, index, count, attempt, container.get("image", ""),
                               list(container.get("args") or []), _json_copy(container.get("env") or []))
                try:
                    code = executor(task)
                except ContainerFailed as exc:
                    code, why = 1, f"Task {ex_id}-task{index} could not start: {exc}"
                if code == 0:
                    break
                if attempt < max_retries:
                    retried += 1
            else:
                failed += 1
        with self._lock:
            if not ex.get("completionTime"):  # a cancel may have ended it meanwhile
                self._finish(ex, succeeded=count - failed, failed=failed, cancelled=0, retried=retried,
                             message=why or None)

    # ---- IAM (provisioning grants the scheduler's service account run.invoker on a job) -------

    def _get_iam(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        return self.iam_policies.get(current["name"], {"etag": "ACAB"})

    def _set_iam(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        current = self._job_or_404(project, location, job)
        policy: dict[str, Any] = _json_copy(req.body.get("policy") or {})
        old = self.iam_policies.get(current["name"], {"etag": "ACAB"})
        if policy.get("etag") not in (None, "", old["etag"]):
            raise GoogleError("ABORTED", "There were concurrent policy changes.")
        policy["etag"] = self._etag()
        self.iam_policies[current["name"]] = policy
        return policy

    def _test_iam(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        self._job_or_404(project, location, job)
        perms = req.body.get("permissions") or []
        return {"permissions": perms} if perms else {}

    # ---- executions --------------------------------------------------------------------------

    def _list_executions(self, req: RecordedRequest, project: str, location: str, job: str) -> dict[str, Any]:
        if job != "-" and location != "-":
            self._job_or_404(project, location, job)
        prefix = f"projects/{project}/locations/"
        found = _newest_first(
            e
            for e in self.executions.values()
            if e["name"].startswith(prefix)
            and (location == "-" or e["name"].split("/")[3] == location)
            and (job == "-" or e["job"] == job)
        )
        page, token = paginate(found, req)
        out: dict[str, Any] = {}
        if page:
            out["executions"] = [self._render(req, "GoogleCloudRunV2Execution", e) for e in page]
        if token:
            out["nextPageToken"] = token
        return out

    def _get_execution(
        self, req: RecordedRequest, project: str, location: str, job: str, execution: str
    ) -> dict[str, Any]:
        ex = self._execution_or_404(project, location, job, execution)
        self._poll(ex)
        return self._render(req, "GoogleCloudRunV2Execution", ex)

    def _delete_execution(
        self, req: RecordedRequest, project: str, location: str, job: str, execution: str
    ) -> dict[str, Any]:
        ex = self._execution_or_404(project, location, job, execution)
        self._check_etag(req, req.param("etag"), ex)
        deleted = {**_json_copy(ex), "deleteTime": self.now()}
        if req.param("validateOnly") != "true":
            del self.executions[ex["name"]]
        return self._done_op(req, location, EXECUTION_TYPE, deleted)

    def _cancel_execution(
        self, req: RecordedRequest, project: str, location: str, job: str, execution: str
    ) -> dict[str, Any]:
        ex = self._execution_or_404(project, location, job, execution)
        self._check_etag(req, req.body.get("etag"), ex)
        if ex.get("completionTime"):
            raise GoogleError("FAILED_PRECONDITION", f"Execution '{execution}' has already completed.")
        if req.body.get("validateOnly"):
            return self._done_op(req, location, EXECUTION_TYPE, ex)
        self._finish(ex, succeeded=0, failed=0, cancelled=ex["taskCount"], retried=0)
        return self._done_op(req, location, EXECUTION_TYPE, ex)

    # ---- operations --------------------------------------------------------------------------

    def _get_operation(self, req: RecordedRequest, project: str, location: str, operation: str) -> dict[str, Any]:
        op = self._op_or_404(project, location, operation)
        if op.execution and op.execution in self.executions:
            self._poll(self.executions[op.execution])
        return self._render_op(req, op)

    def _wait_operation(self, req: RecordedRequest, project: str, location: str, operation: str) -> dict[str, Any]:
        # A real :wait blocks up to its timeout; here time does not pass, so it counts as one poll.
        return self._get_operation(req, project, location, operation)

    def _list_operations(self, req: RecordedRequest, project: str, location: str) -> dict[str, Any]:
        prefix = f"projects/{project}/locations/{location}/operations/"
        found = [op for n, op in sorted(self.operations.items()) if n.startswith(prefix)]
        page, token = paginate(found, req)
        out: dict[str, Any] = {}
        if page:
            out["operations"] = [self._render_op(req, op) for op in page]
        if token:
            out["nextPageToken"] = token
        return out

    def _delete_operation(self, req: RecordedRequest, project: str, location: str, operation: str) -> dict[str, Any]:
        op = self._op_or_404(project, location, operation)
        del self.operations[op.name]
        return {}

    # ---- state machinery ---------------------------------------------------------------------

    def discovery_names(self, schema: str, body: Any) -> Any:
        assert self.discovery is not None
        return self.discovery.enums_to_names(schema, body)

    def _input_job(self, body: dict[str, Any], req: RecordedRequest | None = None) -> dict[str, Any]:
        """The desired state a request asks for: output-only fields dropped, defaults filled."""
        job: dict[str, Any] = self.discovery_names("GoogleCloudRunV2Job", body)
        for key in (*_JOB_OUTPUT_ONLY, "name"):
            job.pop(key, None)
        errors = _semantic_job_errors(job)
        if errors:
            if req is None:
                raise ValueError("; ".join(errors))
            self.violation(req, errors)
        job.setdefault("launchStage", "GA")
        tmpl = job.setdefault("template", {})
        if not tmpl.get("taskCount"):
            tmpl["taskCount"] = 1
        task = tmpl.setdefault("template", {})
        task.setdefault("maxRetries", 3)
        task.setdefault("timeout", "600s")
        task.setdefault("serviceAccount", f"{self.project_number}-compute@developer.gserviceaccount.com")
        for container in task.get("containers", []):
            limits = container.setdefault("resources", {}).setdefault("limits", {})
            limits.setdefault("cpu", "1000m")
            limits.setdefault("memory", "512Mi")
        return job

    def _new_job(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        now = self.now()
        return {
            "name": name,
            "uid": str(self._uuid()),
            "generation": "1",
            "createTime": now,
            "updateTime": now,
            "creator": self.principal,
            "lastModifier": self.principal,
            **_json_copy(spec),
            "observedGeneration": "1",
            "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": now},
            "etag": self._etag(),
        }

    def _store_new(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        job = self._new_job(name, spec)
        self.jobs[name] = job
        return job

    def _apply_overrides(self, req: RecordedRequest, job: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
        tmpl: dict[str, Any] = _json_copy(job["template"])
        task = tmpl["template"]
        containers = task.get("containers", [])
        errors = []
        for i, co in enumerate(overrides.get("containerOverrides", [])):
            if co.get("name"):
                target = next((c for c in containers if c.get("name") == co["name"]), None)
            else:
                target = containers[0] if len(containers) == 1 else None
            if target is None:
                errors.append(f"overrides.containerOverrides[{i}]: no container named {co.get('name', '')!r}")
                continue
            if co.get("clearArgs"):
                if co.get("args"):
                    errors.append(f"overrides.containerOverrides[{i}]: clearArgs with args")
                target.pop("args", None)
            elif "args" in co:
                target["args"] = list(co["args"])
            if co.get("env"):
                env = {e["name"]: e for e in target.get("env", [])}
                env.update({e["name"]: e for e in co["env"]})
                target["env"] = list(env.values())
        if "taskCount" in overrides:
            if not 1 <= overrides["taskCount"] <= 10000:
                errors.append("overrides.taskCount: must be between 1 and 10000")
            tmpl["taskCount"] = overrides["taskCount"]
        if overrides.get("timeout"):
            task["timeout"] = overrides["timeout"]
        if errors:
            self.violation(req, errors)
        return tmpl

    def _new_execution(self, job: dict[str, Any], tmpl: dict[str, Any]) -> dict[str, Any]:
        job_id = job["name"].rsplit("/", 1)[-1]
        names = self._name_rngs.setdefault(job["name"], random.Random(f"{self._seed}:{job['name']}"))
        suffix = "".join(names.choices(string.ascii_lowercase + string.digits, k=5))
        ex_id = f"{job_id}-{suffix}"
        name = f"{job['name']}/executions/{ex_id}"
        project, location = job["name"].split("/")[1], job["name"].split("/")[3]
        now = self.now()
        task_count = tmpl["taskCount"]
        parallelism = tmpl.get("parallelism") or task_count
        ex: dict[str, Any] = {
            "name": name,
            "uid": str(self._uuid()),
            "creator": self.principal,
            "generation": "1",
            "createTime": now,
            "startTime": now,
            "updateTime": now,
            "launchStage": job.get("launchStage", "GA"),
            "job": job_id,
            "parallelism": parallelism,
            "taskCount": task_count,
            "template": tmpl["template"],
            "reconciling": True,
            "conditions": [
                {"type": "ResourcesAvailable", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": now},
                {"type": "Started", "state": "CONDITION_SUCCEEDED", "lastTransitionTime": now},
                {"type": "Completed", "state": "CONDITION_RECONCILING", "lastTransitionTime": now},
            ],
            "observedGeneration": "1",
            "runningCount": min(parallelism, task_count),
            "logUri": _log_uri(project, location, job_id, ex_id),
            "etag": self._etag(),
        }
        for key in ("labels", "annotations"):
            if tmpl.get(key):
                ex[key] = dict(tmpl[key])
        return ex

    def _outcome_for(self, ex: dict[str, Any]) -> Outcome | None:
        return self.job_outcomes.get(ex["job"], self.auto_complete)

    def _poll(self, ex: dict[str, Any]) -> None:
        if ex.get("completionTime") or self._outcome_for(ex) is None:
            return
        polls = self._polls.get(ex["name"], 0) + 1
        self._polls[ex["name"]] = polls
        if polls >= self.auto_complete_after:
            self._auto_finish(ex)

    def _auto_finish(self, ex: dict[str, Any], outcome: Outcome | None = None) -> None:
        outcome = outcome or self._outcome_for(ex)
        n = ex["taskCount"]
        counts = {
            "succeeded": {"succeeded": n, "failed": 0, "cancelled": 0},
            "failed": {"succeeded": 0, "failed": n, "cancelled": 0},
            "cancelled": {"succeeded": 0, "failed": 0, "cancelled": n},
        }[outcome or "succeeded"]
        self._finish(ex, retried=0, **counts)

    def _finish(
        self,
        ex: dict[str, Any],
        *,
        succeeded: int,
        failed: int,
        cancelled: int,
        retried: int,
        message: str | None = None,
    ) -> None:
        now = self.now()
        ex.update(runningCount=0, completionTime=now, updateTime=now, etag=self._etag())
        ex.pop("reconciling", None)
        for key, value in (
            ("succeededCount", succeeded),
            ("failedCount", failed),
            ("cancelledCount", cancelled),
            ("retriedCount", retried),
        ):
            if value:
                ex[key] = value
            else:
                ex.pop(key, None)
        completed: dict[str, Any] = {"type": "Completed", "lastTransitionTime": now}
        if failed:
            first = ex["name"].rsplit("/", 1)[-1]
            completed.update(
                state="CONDITION_FAILED",
                executionReason="NON_ZERO_EXIT_CODE",
                message=message or f"Task {first}-task0 failed with message: The container exited with an error.",
            )
        elif cancelled:
            completed.update(
                state="CONDITION_FAILED", executionReason="CANCELLED", message="The execution was cancelled."
            )
        else:
            completed.update(state="CONDITION_SUCCEEDED", message="Execution completed successfully.")
        ex["conditions"] = [c for c in ex["conditions"] if c["type"] != "Completed"] + [completed]
        for op in self.operations.values():
            if op.execution == ex["name"]:
                op.snapshot, op.done = ex, True
        self._sync_reference(ex)
        for hook in self.finish_hooks:
            hook(ex, succeeded, failed)

    def _sync_reference(self, ex: dict[str, Any]) -> None:
        job_name = ex["name"].split("/executions/")[0]
        job = self.jobs.get(job_name)
        if job is None or self._latest.get(job_name) != ex["name"]:
            return
        status = "EXECUTION_RUNNING"
        if ex.get("completionTime"):
            completed = next(c for c in ex["conditions"] if c["type"] == "Completed")
            status = {
                "CANCELLED": "EXECUTION_CANCELLED",
                "NON_ZERO_EXIT_CODE": "EXECUTION_FAILED",
            }.get(completed.get("executionReason", ""), "EXECUTION_SUCCEEDED")
        # The full name: the API says to pass it to GetExecution as is.
        ref = {"name": ex["name"], "createTime": ex["createTime"], "completionStatus": status}
        if ex.get("completionTime"):
            ref["completionTime"] = ex["completionTime"]
        job["latestCreatedExecution"] = ref

    # ---- rendering ---------------------------------------------------------------------------

    def _render(self, req: RecordedRequest, schema: str, resource: dict[str, Any]) -> dict[str, Any]:
        assert self.discovery is not None
        if req.int_enums:
            out: dict[str, Any] = self.discovery.enums_to_ints(schema, resource)
        else:
            out = _json_copy(resource)
        return out

    def _render_op(self, req: RecordedRequest, op: _Operation) -> dict[str, Any]:
        schema = "GoogleCloudRunV2Job" if op.type_url == JOB_TYPE else "GoogleCloudRunV2Execution"
        resource = op.snapshot
        if op.execution and op.execution in self.executions:
            resource = self.executions[op.execution]
        body = {"@type": op.type_url, **self._render(req, schema, resource)}
        out: dict[str, Any] = {"name": op.name, "metadata": body}
        if not op.done:
            return out
        out["done"] = True
        if op.execution and resource.get("failedCount"):
            completed = next(c for c in resource["conditions"] if c["type"] == "Completed")
            status = self.failed_execution_status
            out["error"] = {"code": RPC_CODE[status], "message": completed.get("message", "Execution failed.")}
        else:
            out["response"] = body
        return out

    def _done_op(self, req: RecordedRequest, location: str, type_url: str, resource: dict[str, Any]) -> dict[str, Any]:
        project = resource["name"].split("/")[1]
        op = _Operation(self._op_name(project, location), type_url, _json_copy(resource))
        self.operations[op.name] = op
        return self._render_op(req, op)

    # ---- small utilities ---------------------------------------------------------------------

    def _op_name(self, project: str, location: str) -> str:
        return f"projects/{project}/locations/{location}/operations/{self._uuid()}"

    def _uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self._rng.getrandbits(128), version=4)

    def _etag(self) -> str:
        return "".join(self._rng.choices(string.ascii_letters + string.digits, k=16))

    def _check_etag(self, req: RecordedRequest, etag: str | None, current: dict[str, Any]) -> None:
        if etag and etag != current.get("etag"):
            raise GoogleError("ABORTED", f"The etag {etag!r} does not match the current etag of {current['name']}.")

    def _job_or_404(self, project: str, location: str, job: str) -> dict[str, Any]:
        found = self.jobs.get(f"projects/{project}/locations/{location}/jobs/{job}")
        if found is None:
            raise GoogleError(
                "NOT_FOUND",
                f"Resource '{job}' of kind 'JOB' in region '{location}' in project '{project}' does not exist.",
            )
        return found

    def _execution_or_404(self, project: str, location: str, job: str, execution: str) -> dict[str, Any]:
        found = self.executions.get(f"projects/{project}/locations/{location}/jobs/{job}/executions/{execution}")
        if found is None:
            raise GoogleError(
                "NOT_FOUND",
                f"Resource '{execution}' of kind 'EXECUTION' in region "
                f"'{location}' in project '{project}' does not exist.",
            )
        return found

    def _op_or_404(self, project: str, location: str, operation: str) -> _Operation:
        name = f"projects/{project}/locations/{location}/operations/{operation}"
        op = self.operations.get(name)
        if op is None:
            raise GoogleError("NOT_FOUND", f"Operation '{name}' not found.")
        return op

    @staticmethod
    def _find(store: dict[str, dict[str, Any]], name: str) -> str:
        if name in store:
            return name
        matches = [n for n in store if n.rsplit("/", 1)[-1] == name]
        if len(matches) != 1:
            raise KeyError(name)
        return matches[0]


def _newest_first(executions: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    # Newest first by create time, as the API lists them; among equal times the later stored first.
    indexed = list(enumerate(executions))
    return [e for _, e in sorted(indexed, key=lambda ie: (ie[1]["createTime"], ie[0]), reverse=True)]


def _spec(job: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in job.items() if k not in _JOB_OUTPUT_ONLY and k != "name"}


def _json_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _log_uri(project: str, location: str, job: str, execution: str) -> str:
    query = (
        'resource.type="cloud_run_job"\n'
        f'resource.labels.job_name="{job}"\n'
        f'resource.labels.location="{location}"\n'
        f'labels."run.googleapis.com/execution_name"="{execution}"'
    )
    return f"https://console.cloud.google.com/logs/viewer?project={project}&advancedFilter={quote(query)}"


def _semantic_job_errors(job: dict[str, Any]) -> list[str]:
    """Rules the real API enforces that a JSON schema cannot say."""
    errors: list[str] = []
    tmpl = job.get("template")
    if not isinstance(tmpl, dict) or not isinstance(tmpl.get("template"), dict):
        return ["template.template: required"]
    _check_labels("labels", job.get("labels"), errors)
    _check_labels("template.labels", tmpl.get("labels"), errors)
    for where, notes in (("annotations", job.get("annotations")), ("template.annotations", tmpl.get("annotations"))):
        for key in notes or {}:
            if key.split("/")[0].endswith(_SYSTEM_PREFIXES):
                errors.append(f"{where}: system annotation {key!r} is not allowed in v2")
    task_count = tmpl.get("taskCount", 1)
    if not 1 <= task_count <= 10000:
        errors.append("template.taskCount: must be between 1 and 10000")
    if tmpl.get("parallelism", 0) < 0:
        errors.append("template.parallelism: must not be negative")
    task = tmpl["template"]
    if not 0 <= task.get("maxRetries", 3) <= 10:
        errors.append("template.template.maxRetries: must be between 0 and 10")
    timeout = _DURATION_S.match(task.get("timeout", "600s"))
    if timeout is None or not 1 <= int(timeout.group(1)) <= 168 * 3600:
        errors.append("template.template.timeout: must be between 1s and 168h")
    containers = task.get("containers") or []
    if not containers:
        errors.append("template.template.containers: a job needs one container")
    for i, c in enumerate(containers):
        _check_container(f"template.template.containers[{i}]", c, errors)
    return errors


def _check_labels(where: str, labels: dict[str, str] | None, errors: list[str]) -> None:
    for key, value in (labels or {}).items():
        if key.split("/")[0].endswith(_SYSTEM_PREFIXES):
            errors.append(f"{where}: system label {key!r} is not allowed in v2")
        elif not _LABEL_KEY.match(key):
            errors.append(f"{where}: invalid label key {key!r}")
        if not _LABEL_VALUE.match(value):
            errors.append(f"{where}: invalid label value {value!r} for {key!r}")


def _check_container(where: str, c: dict[str, Any], errors: list[str]) -> None:
    if not c.get("image"):
        errors.append(f"{where}.image: required")
    seen: set[str] = set()
    for j, env in enumerate(c.get("env", [])):
        at = f"{where}.env[{j}]"
        name = env.get("name", "")
        if not name:
            errors.append(f"{at}.name: required")
        if name in seen:
            errors.append(f"{at}.name: duplicate environment variable {name!r}")
        if name in _RESERVED_ENV:
            errors.append(f"{at}.name: {name!r} is reserved by Cloud Run")
        seen.add(name)
        if "value" in env and "valueSource" in env:
            errors.append(f"{at}: set either value or valueSource, not both")
        ref = (env.get("valueSource") or {}).get("secretKeyRef")
        if "valueSource" in env and not ref:
            errors.append(f"{at}.valueSource.secretKeyRef: required")
        if ref is not None:
            if not ref.get("secret"):
                errors.append(f"{at}.valueSource.secretKeyRef.secret: required")
            if not ref.get("version"):
                errors.append(f"{at}.valueSource.secretKeyRef.version: required ('latest' or a number)")
    limits = (c.get("resources") or {}).get("limits") or {}
    for key, value in limits.items():
        if key not in ("cpu", "memory", "nvidia.com/gpu"):
            errors.append(f"{where}.resources.limits: unsupported key {key!r}")
        elif key == "cpu" and not _CPU.match(value):
            errors.append(f"{where}.resources.limits.cpu: invalid quantity {value!r}")
        elif key == "memory" and not _MEMORY.match(value):
            errors.append(f"{where}.resources.limits.memory: invalid quantity {value!r}")
