"""Cloud Run Jobs and Cloud Scheduler jobs as REST JSON: the bodies housejobs sends, and the normalised
views both sides of a comparison are reduced to.

Google answers with more than it was sent: server fields (uid, etag, generation, conditions,
timestamps, state), defaults for what a request left out (Cloud Run: launchStage, taskCount 1,
maxRetries 3, timeout 600s, 1 CPU / 512Mi, the compute service account; Scheduler: httpMethod POST,
attemptDeadline 180s, the retryConfig backoff, timeZone Etc/UTC) and, in Scheduler, headers of its own
(`User-Agent: Google-Cloud-Scheduler`). A view keeps only what housejobs manages, with those defaults
filled in and values in one canonical spelling ("1000m" and "1" CPU, "1Gi" and "1024Mi", "600s" and
"600.000s"), as a flat `path → value` map, so a diff is a list of `path: old -> new` lines and a
second run of an unchanged catalog compares equal.

Pure functions over dicts: no Google import, so they are cheap to test and to reuse.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

CONTAINER = "housejobs"  # the one container's name; trigger overrides address it by name
CLOUD_PLATFORM = "https://www.googleapis.com/auth/cloud-platform"
# Plain env values a plan may print; any other is shown as hidden.
PUBLIC_ENV = frozenset({"HOUSEJOBS_ENV", "HOUSEJOBS_MAX_RETRIES"})
# What Cloud Run fills in when a job leaves them out.
DEFAULT_TASK_COUNT, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT = 1, 3, "600s"
DEFAULT_CPU, DEFAULT_MEMORY = "1000m", "512Mi"
SCHEDULER_RETRY_DEFAULTS = {"retryCount": 0, "minBackoffDuration": "5s", "maxBackoffDuration": "3600s",
                            "maxDoublings": 5, "maxRetryDuration": "0s"}
# Job fields the server owns (output only): never sent back in an update.
RUN_OUTPUT_ONLY = frozenset({
    "name", "uid", "generation", "createTime", "updateTime", "deleteTime", "expireTime", "creator",
    "lastModifier", "observedGeneration", "terminalCondition", "conditions", "executionCount",
    "latestCreatedExecution", "reconciling", "satisfiesPzs",
})
# Labels and annotations in these namespaces belong to Google (v2 rejects them as input).
_SYSTEM_PREFIXES = ("run.googleapis.com", "cloud.googleapis.com", "serving.knative.dev",
                    "autoscaling.knative.dev")
_SCHEDULER_ADDED_HEADERS = ("user-agent", "x-cloudscheduler", "x-goog-")
_UNSET = "(unset)"


# --- bodies -------------------------------------------------------------------------------------
def secret_env(name: str, secret: str) -> dict[str, Any]:
    return {"name": name, "valueSource": {"secretKeyRef": {"secret": secret, "version": "latest"}}}


def run_job_body(*, image: str, args: list[str], env: list[dict[str, Any]], labels: dict[str, str],
                 service_account: str, max_retries: int, timeout_s: int, task_count: int, parallelism: int,
                 cpu: str, memory: str) -> dict[str, Any]:
    """A Cloud Run v2 Job (REST JSON, no name: the id goes in the create call)."""
    container = {"name": CONTAINER, "image": image, "args": args, "env": env,
                 "resources": {"limits": {"cpu": cpu, "memory": memory}}}
    return {
        "labels": dict(labels),
        "template": {
            "taskCount": task_count,
            "parallelism": parallelism,
            "template": {"containers": [container], "maxRetries": max_retries, "timeout": f"{timeout_s}s",
                         "serviceAccount": service_account},
        },
    }


def run_request_body(args: list[str] | None) -> dict[str, Any]:
    """The RunJobRequest a trigger posts: container overrides only when it passes args."""
    if not args:
        return {}
    return {"overrides": {"containerOverrides": [{"name": CONTAINER, "args": list(args)}]}}


def scheduler_job_body(*, name: str, description: str, schedule: str, time_zone: str, run_job: str,
                       run_request: dict[str, Any], service_account: str, retry_count: int,
                       attempt_deadline_s: int) -> dict[str, Any]:
    """A Cloud Scheduler job that starts Cloud Run Job `run_job` (its full resource name)."""
    payload = json.dumps(run_request, separators=(",", ":"), sort_keys=True).encode()
    return {
        "name": name,
        "description": description,
        "schedule": schedule,
        "timeZone": time_zone,
        "httpTarget": {
            "uri": f"https://run.googleapis.com/v2/{run_job}:run",
            "httpMethod": "POST",
            "headers": {"Content-Type": "application/json"},
            "body": base64.b64encode(payload).decode("ascii"),
            # OAuth, not OIDC: googleapis.com accepts only access tokens.
            "oauthToken": {"serviceAccountEmail": service_account, "scope": CLOUD_PLATFORM},
        },
        "retryConfig": {"retryCount": retry_count},
        "attemptDeadline": f"{attempt_deadline_s}s",
    }


def run_update_body(desired: dict[str, Any], actual: dict[str, Any]) -> dict[str, Any]:
    """What an update sends: the live job's own fields kept (labels and annotations others set, Binary
    Authorization, volumes...), what housejobs manages overlaid, and the etag so a concurrent change
    fails the update instead of being overwritten. Cloud Run v2 updates replace the whole job."""
    body = {k: v for k, v in actual.items() if k not in RUN_OUTPUT_ONLY}
    body["labels"] = {**_user_keys(actual.get("labels")), **desired["labels"]}
    body["annotations"] = _user_keys(actual.get("annotations"))
    tmpl = dict(body.get("template") or {})
    want = desired["template"]
    tmpl.update(taskCount=want["taskCount"], parallelism=want["parallelism"])
    for key in ("labels", "annotations"):
        if key in tmpl:
            tmpl[key] = _user_keys(tmpl[key])
    task = dict(tmpl.get("template") or {})
    task.update(want["template"])
    tmpl["template"] = task
    body["template"] = tmpl
    return {k: v for k, v in body.items() if v not in (None, {}, [], "")}


def _user_keys(mapping: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (mapping or {}).items() if not k.split("/")[0].endswith(_SYSTEM_PREFIXES)}


# --- views --------------------------------------------------------------------------------------
def run_job_view(job: dict[str, Any], managed_labels: set[str]) -> dict[str, Any]:
    """The managed part of a Cloud Run Job, defaults filled, as `path → value`."""
    out: dict[str, Any] = {}
    labels = job.get("labels") or {}
    for key in sorted(managed_labels):
        out[f"labels.{key}"] = labels.get(key, _UNSET)
    tmpl = job.get("template") or {}
    task_count = tmpl.get("taskCount") or DEFAULT_TASK_COUNT
    out["template.taskCount"] = task_count
    # 0 means "as many as possible", which is taskCount.
    out["template.parallelism"] = min(tmpl.get("parallelism") or task_count, task_count)
    task = tmpl.get("template") or {}
    out["template.template.maxRetries"] = task.get("maxRetries", DEFAULT_MAX_RETRIES)
    out["template.template.timeout"] = duration(task.get("timeout") or DEFAULT_TIMEOUT)
    out["template.template.serviceAccount"] = task.get("serviceAccount") or "(compute default)"
    for key in ("volumes", "vpcAccess"):
        if task.get(key):
            out[f"template.template.{key}"] = task[key]
    containers = task.get("containers") or []
    out["template.template.containers"] = len(containers)
    for i, container in enumerate(containers):
        out.update(_container_view(f"template.template.containers[{i}]", container))
    return out


def _container_view(prefix: str, c: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {f"{prefix}.image": c.get("image", ""), f"{prefix}.name": c.get("name") or _UNSET,
                           f"{prefix}.args": list(c.get("args") or [])}
    for key in ("command", "volumeMounts"):
        if c.get(key):
            out[f"{prefix}.{key}"] = c[key]
    if c.get("workingDir"):
        out[f"{prefix}.workingDir"] = c["workingDir"]
    for env in c.get("env") or []:
        out[f"{prefix}.env.{env.get('name', '')}"] = _env_value(env)
    limits = (c.get("resources") or {}).get("limits") or {}
    out[f"{prefix}.resources.limits.cpu"] = cpu(limits.get("cpu") or DEFAULT_CPU)
    out[f"{prefix}.resources.limits.memory"] = memory(limits.get("memory") or DEFAULT_MEMORY)
    for key in sorted(set(limits) - {"cpu", "memory"}):
        out[f"{prefix}.resources.limits.{key}"] = limits[key]
    return out


def _env_value(env: dict[str, Any]) -> dict[str, str]:
    ref = (env.get("valueSource") or {}).get("secretKeyRef")
    if ref is not None:
        return {"secret": ref.get("secret", ""), "version": ref.get("version", "")}
    return {"value": env.get("value", "")}


def scheduler_job_view(job: dict[str, Any]) -> dict[str, Any]:
    """The managed part of a Scheduler job (state, status and schedule times are not managed)."""
    out: dict[str, Any] = {
        "description": job.get("description") or _UNSET,
        "schedule": job.get("schedule", ""),
        "timeZone": time_zone(job.get("timeZone") or "Etc/UTC"),
        "attemptDeadline": duration(job.get("attemptDeadline") or "180s"),
    }
    retry = job.get("retryConfig") or {}
    for key, default in SCHEDULER_RETRY_DEFAULTS.items():
        value = retry.get(key) or default
        out[f"retryConfig.{key}"] = duration(value) if key.endswith("Duration") else value
    for other in ("pubsubTarget", "appEngineHttpTarget"):
        if job.get(other):
            out[other] = job[other]
    target = job.get("httpTarget")
    if target is None:
        out["httpTarget"] = _UNSET
        return out
    out["httpTarget.uri"] = target.get("uri", "")
    method = target.get("httpMethod") or "POST"
    out["httpTarget.httpMethod"] = "POST" if method in ("HTTP_METHOD_UNSPECIFIED", 0) else method
    for key, value in sorted((target.get("headers") or {}).items()):
        if not key.lower().startswith(_SCHEDULER_ADDED_HEADERS):
            out[f"httpTarget.headers.{key.lower()}"] = value
    out["httpTarget.body"] = _body(target.get("body"))
    if target.get("oauthToken") is not None:
        token = target["oauthToken"]
        out["httpTarget.oauthToken.serviceAccountEmail"] = token.get("serviceAccountEmail", "")
        out["httpTarget.oauthToken.scope"] = token.get("scope") or CLOUD_PLATFORM
    if target.get("oidcToken") is not None:
        out["httpTarget.oidcToken"] = target["oidcToken"]
    return out


def _body(b64: str | None) -> Any:
    if not b64:
        return _UNSET
    try:
        raw = base64.b64decode(b64, validate=True)
        return json.loads(raw)
    except (binascii.Error, ValueError):
        return b64  # not JSON: compare the bytes as sent


# --- canonical spellings ------------------------------------------------------------------------
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_FACTORS = {None: 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
            "Ti": 2**40}


def duration(text: Any) -> str:
    """'600s', '600.000s' → '600s'; anything else unchanged (it will show as a difference)."""
    if isinstance(text, str) and text.endswith("s"):
        try:
            seconds = float(text[:-1])
        except ValueError:
            return text
        return f"{seconds:g}s" if seconds != int(seconds) else f"{int(seconds)}s"
    return str(text)


def cpu(text: str) -> str:
    """'1000m', '1', '1.0' → '1'; '500m' → '0.5'."""
    m = _QUANTITY.match(text)
    if m is None:
        return text
    cores = float(m.group(1)) / (1000 if m.group(2) == "m" else 1)
    return f"{cores:g}"


def memory(text: str) -> str:
    """'1Gi', '1024Mi' → '1Gi'; decimal units kept exact ('1G' → '1000Mi' would lie: it is 953.67Mi)."""
    m = _QUANTITY.match(text)
    if m is None or m.group(2) == "m":
        return text
    size = float(m.group(1)) * _FACTORS[m.group(2)]
    if size != int(size):
        return text
    n = int(size)
    for unit in ("Ti", "Gi", "Mi", "Ki"):
        if n and n % _FACTORS[unit] == 0:
            return f"{n // _FACTORS[unit]}{unit}"
    return str(n)


def time_zone(name: str) -> str:
    return "Etc/UTC" if name in ("UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Etc/Zulu") else name


# --- diffs --------------------------------------------------------------------------------------
def diff(actual: dict[str, Any], desired: dict[str, Any]) -> list[str]:
    """`path: old -> new` for every managed path that differs, sorted by path (a job's fields stay
    together, in the order a reader scans them)."""
    lines = []
    for path in sorted(set(actual) | set(desired)):
        old, new = actual.get(path, _UNSET), desired.get(path, _UNSET)
        if old != new:
            lines.append(f"{path}: {show(path, old)} -> {show(path, new)}")
    return lines


def show(path: str, value: Any) -> str:
    """A value for a plan line. Plain env values other than PUBLIC_ENV are hidden: someone may have
    pasted a secret into the console, and a plan is printed and logged."""
    if isinstance(value, dict) and set(value) == {"value"} and ".env." in path:
        name = path.rsplit(".env.", 1)[1]
        return f"plain {value['value']!r}" if name in PUBLIC_ENV else "plain value (hidden)"
    if isinstance(value, dict) and set(value) == {"secret", "version"} and ".env." in path:
        return f"secret {value['secret']}@{value['version']}"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
