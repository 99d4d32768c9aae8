"""jobs/catalog.toml: every job and trigger, validated on load.

Checked before anything is built from it: unknown keys, cron syntax, IANA time zones, the ranges Cloud
Run and Cloud Scheduler accept (max retries 0-10, task timeout 1 s-168 h, Scheduler retry count 0-5,
attempt deadline 15 s-30 min), and the resource names every environment derives from it
(`housejobs-<job>-<env>` for Cloud Run, `housejobs-<job>[-<trigger>]-<env>` for Scheduler), so a bad
catalog fails on a laptop rather than halfway through a deployment.

Durations are strings with a unit: "90s", "10m", "2h" (one format, the one Google's APIs print).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housejobs.cron import check_cron
from housejobs.errors import ConfigError
from housejobs.jobs.spec import MODULE_NAME
from housejobs.periods import zone
from housejobs.settings import ENV_NAMES, read_toml

KINDS = ("manual", "daily", "monthly", "scheduled")
JOB_KEYS = {"kind", "description", "calls", "module", "triggers", "args", "timeout", "max_retries", "task_count",
            "parallelism", "cpu", "memory", "secrets"}
TRIGGER_KEYS = {"name", "schedule", "time_zone", "args", "retry_count", "attempt_deadline"}
DEFAULT_TRIGGER = "schedule"
# The environment variable a job reads → the Secret Manager secret it comes from (plus the env suffix).
SECRET_NAMES = {
    "CA_ROOT_API_KEY": "ca-root-api-key",
    "SCHEDULER_SHARED_SECRET": "scheduler-shared-secret",
    "SUPABASE_ACCESS_TOKEN": "supabase-access-token",
}
# ASCII digits and \Z throughout: `\d` takes other scripts' digits ("１０m") and `$` a final newline,
# values Python reads but Cloud Run and Cloud Scheduler refuse halfway through a deployment.
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?\Z")
_DURATION = re.compile(r"^([0-9]{1,7})(s|m|h)\Z")
_CPU = re.compile(r"^([0-9]+(\.[0-9]+)?|[0-9]+m)\Z")
_MEMORY = re.compile(r"^([0-9]+)(Mi|Gi)\Z")
# Cloud Run: a job id is a DNS label (lowercase, digits, hyphens, starts with a letter, at most 63).
RUN_JOB_ID = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?\Z")
# Cloud Scheduler: letters, digits, hyphens and underscores, at most 500.
SCHEDULER_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,500}\Z")


@dataclass(frozen=True)
class Trigger:
    name: str
    schedule: str
    time_zone: str
    args: tuple[str, ...] = ()
    retry_count: int = 0
    attempt_deadline_s: int = 180


@dataclass(frozen=True)
class JobDef:
    name: str
    kind: str
    description: str
    calls: str
    triggers: tuple[Trigger, ...] = field(default_factory=tuple)
    module: str | None = None  # the Python module that declares its JobSpec (housejobs.jobs.registry)
    args: tuple[str, ...] = ()
    timeout_s: int = 600
    max_retries: int = 0
    task_count: int = 1
    parallelism: int = 1
    cpu: str = "1"
    memory: str = "512Mi"
    secrets: tuple[str, ...] = ()

    def container_args(self, extra: tuple[str, ...] | list[str] = ()) -> list[str]:
        """What the image's `housejobs` entrypoint gets: the job, its catalog args, then a trigger's or
        an operator's own. Provisioning, triggers and `run` all build it here, so they cannot drift."""
        return [self.name, *self.args, *extra]


def run_job_id(job: str, env: str) -> str:
    """The Cloud Run Job id of a catalog job in an environment."""
    return f"housejobs-{job}-{env}"


def trigger_id(job: str, trigger: str, env: str) -> str:
    """The Cloud Scheduler job id of a trigger; a job's only, default trigger shares the job's id."""
    if trigger == DEFAULT_TRIGGER:
        return f"housejobs-{job}-{env}"
    return f"housejobs-{job}-{trigger}-{env}"


def parse_duration(value: Any, where: str, *, lo: int, hi: int) -> int:
    """'90s', '10m' or '2h' → seconds, within [lo, hi]."""
    m = _DURATION.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(f"{where} {value!r} is not a duration", hint='write e.g. "90s", "10m" or "2h"')
    seconds = int(m.group(1)) * {"s": 1, "m": 60, "h": 3600}[m.group(2)]
    if not lo <= seconds <= hi:
        raise ConfigError(f"{where} {value!r} is outside {_human(lo)}-{_human(hi)}")
    return seconds


def _human(seconds: int) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size} {unit}"
    return f"{seconds} s"


def _int(raw: dict[str, Any], key: str, where: str, default: int, lo: int, hi: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ConfigError(f"{where}: {key} must be a whole number from {lo} to {hi}, got {value!r}")
    return value


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if not isinstance(value, list) or not all(isinstance(a, str) and a for a in value):
        raise ConfigError(f"{where}: {key} must be a list of non-empty strings")
    return tuple(value)


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key, "")
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string")
    return value


def _cpu(value: Any, where: str) -> str:
    # Cloud Run jobs take 0.08-8 vCPU; "1000m" and "1" are the same request.
    if not isinstance(value, str) or not _CPU.match(value):
        raise ConfigError(f"{where}: cpu {value!r} is not a CPU quantity", hint='e.g. "1", "2" or "500m"')
    cores = int(value[:-1]) / 1000 if value.endswith("m") else float(value)
    if not 0.08 <= cores <= 8:
        raise ConfigError(f"{where}: cpu {value!r} is outside 0.08-8")
    return value


def _memory(value: Any, where: str) -> str:
    m = _MEMORY.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(f"{where}: memory {value!r} is not a memory quantity", hint='e.g. "512Mi" or "2Gi"')
    mib = int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)
    if not 512 <= mib <= 32 * 1024:
        raise ConfigError(f"{where}: memory {value!r} is outside 512Mi-32Gi")
    return m.group(0)


def _shown(name: str) -> str:
    """A job name as an error line can carry it: as written when it is a plain word, else quoted (a name
    holding a newline or a control character would break the one error line)."""
    return name if name.isprintable() and not any(c.isspace() for c in name) else repr(name)


def _trigger(job: str, index: int, raw: Any) -> Trigger:
    where = f"catalog.toml jobs.{_shown(job)}.triggers[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(raw) - TRIGGER_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown key {sorted(unknown)[0]!r}")
    name = raw.get("name", DEFAULT_TRIGGER)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: name {name!r} must be lowercase letters, digits and hyphens")
    schedule, tz = raw.get("schedule"), raw.get("time_zone", "Etc/UTC")
    if not isinstance(schedule, str):
        raise ConfigError(f"{where}: schedule is required")
    if not isinstance(tz, str):
        raise ConfigError(f"{where}: time_zone must be a string")
    zone(tz, where)
    return Trigger(
        name, check_cron(schedule, where), tz, _strings(raw, "args", where),
        retry_count=_int(raw, "retry_count", where, 0, 0, 5),
        attempt_deadline_s=parse_duration(raw.get("attempt_deadline", "180s"), f"{where}: attempt_deadline",
                                          lo=15, hi=1800),
    )


def _job(name: str, raw: Any) -> JobDef:
    where = f"catalog.toml jobs.{_shown(name)}"
    if not _NAME.match(name):
        raise ConfigError(f"{where}: job name must be lowercase letters, digits and hyphens")
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(raw) - JOB_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown key {sorted(unknown)[0]!r}")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}: kind {kind!r} must be one of {', '.join(KINDS)}")
    triggers_raw = raw.get("triggers", [])
    if not isinstance(triggers_raw, list):
        raise ConfigError(f"{where}: triggers must be an array of tables")
    triggers = tuple(_trigger(name, i, t) for i, t in enumerate(triggers_raw))
    if kind == "manual" and triggers:
        raise ConfigError(f"{where}: a manual job has no triggers")
    if kind != "manual" and not triggers:
        raise ConfigError(f"{where}: a {kind} job needs at least one trigger")
    names = [t.name for t in triggers]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: trigger names must be unique")
    task_count = _int(raw, "task_count", where, 1, 1, 10000)
    secrets = _strings(raw, "secrets", where)
    for secret in secrets:
        if secret not in SECRET_NAMES:
            raise ConfigError(f"{where}: unknown secret {secret!r}", hint="known: " + ", ".join(SECRET_NAMES))
    module = raw.get("module")
    if module is not None and (not isinstance(module, str) or not MODULE_NAME.match(module)):
        raise ConfigError(f"{where}: module {module!r} is not a Python module name",
                          hint='e.g. module = "housejobs.jobs.admin"')
    return JobDef(
        name, kind, _text(raw, "description", where), _text(raw, "calls", where), triggers, module=module,
        args=_strings(raw, "args", where),
        timeout_s=parse_duration(raw.get("timeout", "600s"), f"{where}: timeout", lo=1, hi=168 * 3600),
        max_retries=_int(raw, "max_retries", where, 0, 0, 10),
        task_count=task_count,
        parallelism=_int(raw, "parallelism", where, task_count, 1, task_count),
        cpu=_cpu(raw.get("cpu", "1"), where),
        memory=_memory(raw.get("memory", "512Mi"), where),
        secrets=secrets,
    )


def _check_names(jobs: dict[str, JobDef]) -> None:
    """Every resource name each environment derives must be legal and unique."""
    for env in ENV_NAMES:
        seen: dict[str, str] = {}
        for job in jobs.values():
            run_id = run_job_id(job.name, env)
            if not RUN_JOB_ID.match(run_id):
                raise ConfigError(f"catalog.toml jobs.{_shown(job.name)}: Cloud Run job name {run_id!r} is not valid",
                                  hint="at most 63 lowercase letters, digits and hyphens")
            for trigger in job.triggers:
                sched_id = trigger_id(job.name, trigger.name, env)
                where = f"catalog.toml jobs.{_shown(job.name)} trigger {trigger.name!r}"
                if not SCHEDULER_JOB_ID.match(sched_id):
                    raise ConfigError(f"{where}: Scheduler job name {sched_id!r} is not valid")
                if sched_id in seen:
                    raise ConfigError(f"{where}: Scheduler job name {sched_id!r} is also used by {seen[sched_id]}")
                seen[sched_id] = f"jobs.{job.name} trigger {trigger.name!r}"


def load_catalog(jobs_dir: Path) -> dict[str, JobDef]:
    data = read_toml(jobs_dir / "catalog.toml")
    jobs = data.get("jobs")
    unknown_top = set(data) - {"jobs"}
    if unknown_top:
        raise ConfigError(f"catalog.toml has unknown key {sorted(unknown_top)[0]!r}")
    if not isinstance(jobs, dict) or not jobs:
        raise ConfigError("catalog.toml has no [jobs.*] tables")
    out = {name: _job(name, raw) for name, raw in jobs.items()}
    _check_names(out)
    return out
