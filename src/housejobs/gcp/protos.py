"""Google's messages ↔ the REST JSON housejobs plans with, and the few message edits provisioning makes.

Provisioning compares and stores resources as REST JSON (camelCase, enum names: what gcp/specs.py builds
and normalises); the client libraries take and return proto-plus or protobuf messages. The conversions
live here so that nothing outside gcp/ imports `google.*`, and the libraries load only when called.
"""

from __future__ import annotations

import json
from typing import Any

# mypy: disable-error-code=no-untyped-call


def to_dict(message: Any) -> dict[str, Any]:
    """A proto-plus message as REST JSON (camelCase, enum names, only the fields that are set)."""
    text = type(message).to_json(message, use_integers_for_enums=False, indent=None,
                                 always_print_fields_with_no_presence=False)
    out: dict[str, Any] = json.loads(text)
    return out


def from_dict(cls: Any, body: dict[str, Any]) -> Any:
    return cls.from_json(json.dumps(body))


def run_job(body: dict[str, Any]) -> Any:
    """A google.cloud.run_v2.Job from its REST JSON."""
    from google.cloud import run_v2

    return from_dict(run_v2.Job, body)


def scheduler_job(body: dict[str, Any]) -> Any:
    """A google.cloud.scheduler_v1.Job from its REST JSON."""
    from google.cloud import scheduler_v1

    return from_dict(scheduler_v1.Job, body)


def field_mask(paths: list[str]) -> Any:
    from google.protobuf import field_mask_pb2

    return field_mask_pb2.FieldMask(paths=paths)


def has_member(policy: Any, role: str, member: str) -> bool:
    """Does an IAM policy (google.iam.v1 Policy) give `member` the `role`, in any binding?"""
    return any(b.role == role and member in b.members for b in policy.bindings)


def add_member(policy: Any, role: str, member: str) -> None:
    """Add `member` to the policy's unconditional binding for `role` (made if missing). Conditional
    bindings are left alone: a member added there would hold the role only when the condition does."""
    from google.iam.v1 import policy_pb2

    for binding in policy.bindings:
        if binding.role == role and not binding.HasField("condition"):
            binding.members.append(member)
            return
    policy.bindings.append(policy_pb2.Binding(role=role, members=[member]))
