"""Check JSON bodies against Google's published discovery documents.

The google-api-python-client wheel ships the discovery documents (run.v2, cloudscheduler.v1,
secretmanager.v1, ...). They are Google's own description of each REST surface, independent of the
client library that produced a request, so a body that passes here has the shape googleapis.com
accepts: no unknown fields (recursively, through `$ref`, arrays and maps), the right JSON types
(int64 and durations and timestamps as strings, bytes as base64) and valid enum values.

Enums need care. Google's clients send `$alt=json;enum-encoding=int`, so enums arrive as numbers,
but a discovery document lists only names. Almost every enum is numbered in list order; the few
that are not are listed in `_PROTO_NUMBERS`, with the numbers from their .proto files.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, ClassVar

# Enums whose proto numbers differ from their position in the discovery list.
# (google/api/launch_stage.proto, google/cloud/run/v2/condition.proto,
#  google/cloud/secretmanager/v1/resources.proto.) tests/fakes/test_fakes_gcp.py checks this table
# against the installed client libraries, so a new out-of-order enum does not slip by.
_PROTO_NUMBERS: dict[str, dict[str, int]] = {
    "LAUNCH_STAGE_UNSPECIFIED": {
        "LAUNCH_STAGE_UNSPECIFIED": 0,
        "UNIMPLEMENTED": 6,
        "PRELAUNCH": 7,
        "EARLY_ACCESS": 1,
        "ALPHA": 2,
        "BETA": 3,
        "GA": 4,
        "DEPRECATED": 5,
    },
    "COMMON_REASON_UNDEFINED": {
        "COMMON_REASON_UNDEFINED": 0,
        "UNKNOWN": 1,
        "REVISION_FAILED": 3,
        "PROGRESS_DEADLINE_EXCEEDED": 4,
        "CONTAINER_MISSING": 6,
        "CONTAINER_PERMISSION_DENIED": 7,
        "CONTAINER_IMAGE_UNAUTHORIZED": 8,
        "CONTAINER_IMAGE_AUTHORIZATION_CHECK_FAILED": 9,
        "ENCRYPTION_KEY_PERMISSION_DENIED": 10,
        "ENCRYPTION_KEY_CHECK_FAILED": 11,
        "SECRETS_ACCESS_CHECK_FAILED": 12,
        "WAITING_FOR_OPERATION": 13,
        "IMMEDIATE_RETRY": 14,
        "POSTPONED_RETRY": 15,
        "INTERNAL": 16,
        "VPC_NETWORK_NOT_FOUND": 17,
    },
    "SECRET_TYPE_UNSPECIFIED": {
        "SECRET_TYPE_UNSPECIFIED": 0,
        "CLOUD_SQL_DB_CREDENTIALS": 1,
        "ACCESS_KEY": 2,
        "CERTIFICATE": 3,
        "OTHER_DB_CREDENTIALS": 4,
        "OTHER": 50,
    },
}

# Query parameters every Google REST method accepts (besides its own). `$alt` is how the GAPIC
# REST transports spell `alt` plus the enum encoding.
_SYSTEM_QUERY = {"$alt", "$.xgafv", "$callback", "$fields", "$prettyPrint"}

_DURATION = re.compile(r"^-?\d+(\.\d{1,9})?s$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_INT = re.compile(r"^-?\d+$")
_LIMITS = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}


@dataclass(frozen=True)
class EnumSpec:
    names: tuple[str, ...]

    def _numbers(self) -> dict[str, int]:
        table = _PROTO_NUMBERS.get(self.names[0]) if self.names else None
        if table is not None:
            return table
        return {n: i for i, n in enumerate(self.names)}

    def number(self, name: str) -> int | None:
        return self._numbers().get(name)

    def name(self, number: int) -> str | None:
        for n, i in self._numbers().items():
            if i == number:
                return n
        return None


@dataclass
class Report:
    errors: list[str] = field(default_factory=list)
    # Fields marked output-only that were sent with a non-default value. Real APIs ignore them.
    output_only: list[str] = field(default_factory=list)


def _documents() -> Any:
    return resources.files("googleapiclient") / "discovery_cache" / "documents"


def _is_output_only(prop: Mapping[str, Any]) -> bool:
    desc = str(prop.get("description", "")).lstrip()
    return bool(prop.get("readOnly")) or desc.startswith(("Output only", "[Output Only]", "Output-only"))


def _is_default(value: Any) -> bool:
    return value in (None, "", 0, False, [], {}, "0", "0s")


class Discovery:
    """One discovery document: schemas, methods, and the checks and conversions over them."""

    _cache: ClassVar[dict[str, Discovery]] = {}

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc = doc
        self.name = f"{doc.get('name')}.{doc.get('version')}"
        self.schemas: Mapping[str, Any] = doc["schemas"]
        self.methods: dict[str, Mapping[str, Any]] = {}
        self._index_methods(doc)

    @classmethod
    def load(cls, api: str) -> Discovery:
        """`api` is the document's file stem, e.g. "run.v2" or "cloudscheduler.v1"."""
        if api not in cls._cache:
            path = _documents() / f"{api}.json"
            cls._cache[api] = cls(json.loads(path.read_text(encoding="utf-8")))
        return cls._cache[api]

    def _index_methods(self, node: Mapping[str, Any]) -> None:
        for res in node.get("resources", {}).values():
            for m in res.get("methods", {}).values():
                self.methods[m["id"]] = m
            self._index_methods(res)

    # ---- validation --------------------------------------------------------------------------

    def validate(self, schema: str, value: Any) -> list[str]:
        return self.check(schema, value).errors

    def check(self, schema: str, value: Any) -> Report:
        if schema not in self.schemas:
            raise KeyError(f"{self.name} has no schema {schema!r}")
        report = Report()
        self._check(self.schemas[schema], value, "$", report, in_output_only=False)
        return report

    def _resolve(self, node: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = node.get("$ref")
        return self.schemas[ref] if ref else node

    def _check(self, node: Mapping[str, Any], value: Any, path: str, report: Report, *, in_output_only: bool) -> None:
        node = self._resolve(node)
        err = report.errors.append
        kind = node.get("type")
        if kind == "any":
            return
        if "enum" in node:
            self._check_enum(EnumSpec(tuple(node["enum"])), value, path, err)
            return
        if kind == "string":
            self._check_string(node.get("format"), value, path, err)
        elif kind == "integer":
            if not isinstance(value, int) or isinstance(value, bool):
                err(f"{path}: expected integer, got {_jtype(value)}")
            else:
                lo, hi = _LIMITS.get(node.get("format", "int32"), _LIMITS["int64"])
                if not lo <= value <= hi:
                    err(f"{path}: {value} out of range for {node.get('format')}")
        elif kind == "number":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok and value not in ("NaN", "Infinity", "-Infinity"):
                err(f"{path}: expected number, got {_jtype(value)}")
        elif kind == "boolean":
            if not isinstance(value, bool):
                err(f"{path}: expected boolean, got {_jtype(value)}")
        elif kind == "array":
            if not isinstance(value, list):
                err(f"{path}: expected array, got {_jtype(value)}")
                return
            for i, item in enumerate(value):
                if item is None:
                    err(f"{path}[{i}]: null is not allowed in a repeated field")
                    continue
                self._check(node["items"], item, f"{path}[{i}]", report, in_output_only=in_output_only)
        elif kind == "object" or "properties" in node:
            self._check_object(node, value, path, report, in_output_only=in_output_only)
        else:
            err(f"{path}: schema type {kind!r} not understood by the validator")

    def _check_object(
        self, node: Mapping[str, Any], value: Any, path: str, report: Report, *, in_output_only: bool
    ) -> None:
        if not isinstance(value, dict):
            report.errors.append(f"{path}: expected object, got {_jtype(value)}")
            return
        props: Mapping[str, Any] = node.get("properties", {})
        extra: Mapping[str, Any] | None = node.get("additionalProperties")
        for key, item in value.items():
            child = f"{path}.{key}" if _SIMPLE_KEY.match(key) else f"{path}[{json.dumps(key)}]"
            if key in props:
                prop = props[key]
                output_only = _is_output_only(prop)
                if output_only and not in_output_only and not _is_default(item):
                    report.output_only.append(child)
                if item is None:
                    continue  # proto3 JSON: null means "default"
                self._check(prop, item, child, report, in_output_only=in_output_only or output_only)
            elif extra is not None:
                if item is None:
                    report.errors.append(f"{child}: null is not allowed as a map value")
                    continue
                self._check(extra, item, child, report, in_output_only=in_output_only)
            else:
                report.errors.append(f"{path}: unknown field {key!r}")

    @staticmethod
    def _check_enum(spec: EnumSpec, value: Any, path: str, err: Callable[[str], None]) -> None:
        if isinstance(value, bool):
            err(f"{path}: expected enum, got boolean")
        elif isinstance(value, int):
            if spec.name(value) is None:
                err(f"{path}: {value} is not a valid enum number (values: {', '.join(spec.names)})")
        elif isinstance(value, str):
            if value not in spec.names:
                err(f"{path}: {value!r} is not a valid enum name (values: {', '.join(spec.names)})")
        else:
            err(f"{path}: expected enum name or number, got {_jtype(value)}")

    @staticmethod
    def _check_string(fmt: str | None, value: Any, path: str, err: Callable[[str], None]) -> None:
        if fmt in _LIMITS:  # int64 family: strings on the wire, numbers tolerated by parsers
            if isinstance(value, int) and not isinstance(value, bool):
                number = value
            elif isinstance(value, str) and _INT.match(value):
                number = int(value)
            else:
                err(f"{path}: expected {fmt} (decimal string), got {value!r}")
                return
            lo, hi = _LIMITS[fmt]
            if not lo <= number <= hi:
                err(f"{path}: {number} out of range for {fmt}")
            return
        if not isinstance(value, str):
            err(f"{path}: expected string, got {_jtype(value)}")
            return
        if fmt == "google-duration" and not _DURATION.match(value):
            err(f"{path}: {value!r} is not a duration like '600s'")
        elif fmt == "google-datetime" and not _DATETIME.match(value):
            err(f"{path}: {value!r} is not an RFC 3339 timestamp")
        elif fmt == "byte" and not _is_base64(value):
            err(f"{path}: not valid base64")

    # ---- query parameters --------------------------------------------------------------------

    def check_query(self, method_id: str, query: Mapping[str, list[str]]) -> list[str]:
        """Unknown, mistyped or repeated query parameters of one REST method."""
        method = self.methods[method_id]
        params: Mapping[str, Any] = method.get("parameters", {})
        common: Mapping[str, Any] = self.doc.get("parameters", {})
        errors = []
        for name, values in query.items():
            if name in _SYSTEM_QUERY:
                continue
            spec = params.get(name) or common.get(name)
            if spec is None or spec.get("location") == "path":
                errors.append(f"query: unknown parameter {name!r} for {method_id}")
                continue
            if len(values) > 1 and not spec.get("repeated"):
                errors.append(f"query: {name!r} given {len(values)} times")
            for v in values:
                if spec.get("type") == "boolean" and v not in ("true", "false"):
                    errors.append(f"query: {name}={v!r} is not a boolean")
                elif spec.get("type") == "integer" and not _INT.match(v):
                    errors.append(f"query: {name}={v!r} is not an integer")
                elif "enum" in spec and v not in spec["enum"] and not _INT.match(v):
                    errors.append(f"query: {name}={v!r} is not one of {spec['enum']}")
        for name, spec in params.items():
            if spec.get("required") and spec.get("location") == "query" and name not in query:
                errors.append(f"query: required parameter {name!r} missing")
        return errors

    # ---- enum encoding -----------------------------------------------------------------------

    def enums_to_names(self, schema: str, value: Any) -> Any:
        """A copy of `value` with every enum as its name (numbers from a client converted)."""
        return self._convert(self.schemas[schema], value, _to_name)

    def enums_to_ints(self, schema: str, value: Any) -> Any:
        """A copy of `value` with every enum as its number, as `enum-encoding=int` asks."""
        return self._convert(self.schemas[schema], value, _to_int)

    def _convert(self, node: Mapping[str, Any], value: Any, fn: Callable[[EnumSpec, Any], Any]) -> Any:
        node = self._resolve(node)
        if value is None:
            return None
        if "enum" in node:
            return fn(EnumSpec(tuple(node["enum"])), value)
        kind = node.get("type")
        if kind == "array" and isinstance(value, list):
            return [self._convert(node["items"], v, fn) for v in value]
        if (kind == "object" or "properties" in node) and isinstance(value, dict):
            props: Mapping[str, Any] = node.get("properties", {})
            extra = node.get("additionalProperties")
            out = {}
            for k, v in value.items():
                sub = props.get(k, extra)
                out[k] = self._convert(sub, v, fn) if sub is not None else _deep_copy(v)
            return out
        return _deep_copy(value)


_SIMPLE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _to_name(spec: EnumSpec, value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return spec.name(value) or value
    return value


def _to_int(spec: EnumSpec, value: Any) -> Any:
    if isinstance(value, str):
        number = spec.number(value)
        return value if number is None else number
    return value


def _deep_copy(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _is_base64(text: str) -> bool:
    # Proto3 JSON accepts standard and URL-safe alphabets, with or without padding.
    normal = text.replace("-", "+").replace("_", "/")
    normal += "=" * (-len(normal) % 4)
    try:
        base64.b64decode(normal, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def b64decode(text: str) -> bytes:
    normal = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(normal + "=" * (-len(normal) % 4))


def _jtype(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def validate(api: str, schema: str, value: Any) -> list[str]:
    """Errors (with JSON paths) of `value` against schema `schema` of discovery document `api`."""
    return Discovery.load(api).validate(schema, value)
