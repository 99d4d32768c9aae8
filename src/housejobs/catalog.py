"""jobs/catalog.toml: every job and trigger, validated on load (unknown keys, cron, time zones)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from housejobs.errors import ConfigError
from housejobs.jobs.periods import zone
from housejobs.settings import read_toml

KINDS = ("manual", "daily", "monthly", "scheduled")
JOB_KEYS = {"kind", "description", "calls", "triggers"}
TRIGGER_KEYS = {"name", "schedule", "time_zone", "args"}
_CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_CRON_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAME = re.compile(r"^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$")


@dataclass(frozen=True)
class Trigger:
    name: str
    schedule: str
    time_zone: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class JobDef:
    name: str
    kind: str
    description: str
    calls: str
    triggers: tuple[Trigger, ...] = field(default_factory=tuple)


def check_cron(expr: str, where: str) -> str:
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigError(f"{where}: schedule {expr!r} must have 5 cron fields")
    for value, (lo, hi) in zip(fields, _CRON_RANGES, strict=True):
        if not _CRON_FIELD.match(value):
            raise ConfigError(f"{where}: schedule {expr!r}: {value!r} is not a cron field")
        for number in re.findall(r"\d+", value.split("/")[0]):
            if not lo <= int(number) <= hi:
                raise ConfigError(f"{where}: schedule {expr!r}: {number} is outside {lo}-{hi}")
    return expr


def _trigger(job: str, index: int, raw: Any) -> Trigger:
    where = f"catalog.toml jobs.{job}.triggers[{index}]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(raw) - TRIGGER_KEYS
    if unknown:
        raise ConfigError(f"{where} has unknown key {sorted(unknown)[0]!r}")
    name = raw.get("name", "schedule")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"{where}: name {name!r} must be lowercase letters, digits and hyphens")
    schedule, tz = raw.get("schedule"), raw.get("time_zone", "Etc/UTC")
    if not isinstance(schedule, str):
        raise ConfigError(f"{where}: schedule is required")
    if not isinstance(tz, str):
        raise ConfigError(f"{where}: time_zone must be a string")
    zone(tz, where)
    args = raw.get("args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise ConfigError(f"{where}: args must be a list of strings")
    return Trigger(name, check_cron(schedule, where), tz, tuple(args))


def load_catalog(jobs_dir: Path) -> dict[str, JobDef]:
    data = read_toml(jobs_dir / "catalog.toml")
    jobs = data.get("jobs")
    unknown_top = set(data) - {"jobs"}
    if unknown_top:
        raise ConfigError(f"catalog.toml has unknown key {sorted(unknown_top)[0]!r}")
    if not isinstance(jobs, dict) or not jobs:
        raise ConfigError("catalog.toml has no [jobs.*] tables")
    out: dict[str, JobDef] = {}
    for name, raw in jobs.items():
        where = f"catalog.toml jobs.{name}"
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
        out[name] = JobDef(name, kind, str(raw.get("description", "")), str(raw.get("calls", "")), triggers)
    return out
