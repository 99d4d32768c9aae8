"""A fake of the Secret Manager v1 API's read side over real HTTP.

    with SecretManagerFake() as sm:
        sm.add_secret("cloudact-testing-1", "root-key-test", b"s3cret")
        client = secretmanager_v1.SecretManagerServiceClient(
            transport="rest", credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=sm.endpoint))

It serves what housejobs reads: `versions/*:access` (payload with its CRC32C as a decimal int64
string), `secrets/*` and `secrets/*/versions/*` (for a doctor check), and the secret list. As on the
real API, answers name the project by number (`project_numbers`), `latest` is the most recently
created version (a disabled latest fails with FAILED_PRECONDITION rather than falling back), a
missing secret is 404 and a caller without access gets 403. `corrupt_crc = True` makes every
checksum wrong; `deny(project, secret)` makes one secret 403.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import google_crc32c

from tests.fakes._http import FakeServer, GoogleError, RecordedRequest, Route, paginate, route


@dataclass
class _Version:
    number: int
    data: bytes
    create_time: str
    state: str = "ENABLED"


@dataclass
class _Secret:
    project: str
    secret_id: str
    create_time: str
    versions: list[_Version] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)


class SecretManagerFake(FakeServer):
    api = "secretmanager.v1"

    def __init__(
        self,
        *,
        project_numbers: dict[str, str] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.project_numbers = dict(project_numbers or {})
        self.secrets: dict[tuple[str, str], _Secret] = {}
        self.corrupt_crc = False
        self.denied: set[tuple[str, str]] = set()
        super().__init__(clock=clock)

    def routes(self) -> list[Route]:
        secret = "/v1/projects/{project}/secrets/{secret}"
        version = secret + "/versions/{version}"
        m = "secretmanager.projects.secrets"
        return [
            route("GET", version + ":access", self._access, method_id=f"{m}.versions.access"),
            route("GET", version, self._get_version, method_id=f"{m}.versions.get"),
            route("GET", secret + "/versions", self._list_versions, method_id=f"{m}.versions.list"),
            route("GET", secret, self._get_secret, method_id=f"{m}.get"),
            route("GET", "/v1/projects/{project}/secrets", self._list_secrets, method_id=f"{m}.list"),
        ]

    # ---- test helpers ------------------------------------------------------------------------

    def add_secret(self, project: str, name: str, value: bytes, *, labels: dict[str, str] | None = None) -> str:
        """Add a version (creating the secret on first use); returns the version's resource name."""
        with self._lock:
            key = (project, name)
            if key not in self.secrets:
                self.secrets[key] = _Secret(project, name, self.now(), labels=dict(labels or {}))
            secret = self.secrets[key]
            version = _Version(len(secret.versions) + 1, bytes(value), self.now())
            secret.versions.append(version)
            return f"{self._secret_name(secret)}/versions/{version.number}"

    def disable_version(self, project: str, name: str, version: int) -> None:
        with self._lock:
            self.secrets[(project, name)].versions[version - 1].state = "DISABLED"

    def deny(self, project: str, name: str) -> None:
        """Callers lose `secretmanager.versions.access` (and get) on this secret."""
        with self._lock:
            self.denied.add((project, name))

    def allow(self, project: str, name: str) -> None:
        with self._lock:
            self.denied.discard((project, name))

    def project_number(self, project: str) -> str:
        if project not in self.project_numbers:
            if project.isdigit():
                return project
            # Stable per project id, shaped like a real 12-digit project number.
            digest = int(hashlib.sha256(project.encode()).hexdigest(), 16)
            self.project_numbers[project] = str(100000000000 + digest % 900000000000)
        return self.project_numbers[project]

    @property
    def access_count(self) -> int:
        return sum(1 for r in self.requests if r.path.endswith(":access"))

    # ---- handlers ----------------------------------------------------------------------------

    def _access(self, req: RecordedRequest, project: str, secret: str, version: str) -> dict[str, Any]:
        s, v = self._version(project, secret, version, permission="secretmanager.versions.access")
        if v.state != "ENABLED":
            raise GoogleError(
                "FAILED_PRECONDITION",
                f"Secret Version [{self._secret_name(s)}/versions/{v.number}] is in {v.state} state.",
            )
        crc = google_crc32c.value(v.data)
        if self.corrupt_crc:
            crc = (crc + 1) % 2**32
        return {
            "name": f"{self._secret_name(s)}/versions/{v.number}",
            "payload": {"data": base64.b64encode(v.data).decode("ascii"), "dataCrc32c": str(crc)},
        }

    def _get_version(self, req: RecordedRequest, project: str, secret: str, version: str) -> dict[str, Any]:
        s, v = self._version(project, secret, version, permission="secretmanager.versions.get")
        return self._render_version(req, s, v)

    def _list_versions(self, req: RecordedRequest, project: str, secret: str) -> dict[str, Any]:
        s = self._secret(project, secret, permission="secretmanager.versions.list")
        newest_first = sorted(s.versions, key=lambda v: v.number, reverse=True)
        page, token = paginate([{"v": v.number} for v in newest_first], req, default_size=25000, max_size=25000)
        out: dict[str, Any] = {"totalSize": len(s.versions)} if s.versions else {}
        if page:
            out["versions"] = [self._render_version(req, s, s.versions[p["v"] - 1]) for p in page]
        if token:
            out["nextPageToken"] = token
        return out

    def _get_secret(self, req: RecordedRequest, project: str, secret: str) -> dict[str, Any]:
        return self._render_secret(self._secret(project, secret, permission="secretmanager.secrets.get"))

    def _list_secrets(self, req: RecordedRequest, project: str) -> dict[str, Any]:
        pid = self._project_id(project)
        found = [self._render_secret(s) for (p, _), s in sorted(self.secrets.items()) if p == pid]
        page, token = paginate(found, req, default_size=25000, max_size=25000)
        out: dict[str, Any] = {"totalSize": len(found)} if found else {}
        if page:
            out["secrets"] = page
        if token:
            out["nextPageToken"] = token
        return out

    # ---- lookups -----------------------------------------------------------------------------

    def _project_id(self, project: str) -> str:
        # Callers may name the project by id or by number, as on the real API.
        for pid, number in self.project_numbers.items():
            if number == project:
                return pid
        return project

    def _secret_name(self, s: _Secret) -> str:
        return f"projects/{self.project_number(s.project)}/secrets/{s.secret_id}"

    def _secret(self, project: str, secret: str, *, permission: str) -> _Secret:
        pid = self._project_id(project)
        if (pid, secret) in self.denied:
            raise GoogleError(
                "PERMISSION_DENIED",
                f"Permission '{permission}' denied for resource "
                f"'projects/{project}/secrets/{secret}' (or it may not exist).",
            )
        found = self.secrets.get((pid, secret))
        if found is None:
            raise GoogleError("NOT_FOUND", f"Secret [projects/{self.project_number(pid)}/secrets/{secret}] not found.")
        return found

    def _version(self, project: str, secret: str, version: str, *, permission: str) -> tuple[_Secret, _Version]:
        pid = self._project_id(project)
        if (pid, secret) in self.denied:
            raise GoogleError(
                "PERMISSION_DENIED",
                f"Permission '{permission}' denied for resource "
                f"'projects/{project}/secrets/{secret}/versions/{version}' "
                "(or it may not exist).",
            )
        s = self.secrets.get((pid, secret))
        if s is None or not s.versions:
            raise GoogleError(
                "NOT_FOUND",
                f"Secret [projects/{self.project_number(pid)}/secrets/{secret}] not found or has no versions.",
            )
        if version == "latest":
            return s, s.versions[-1]
        if not version.isdigit() or not 1 <= int(version) <= len(s.versions):
            raise GoogleError("NOT_FOUND", f"Secret Version [{self._secret_name(s)}/versions/{version}] not found.")
        return s, s.versions[int(version) - 1]

    # ---- rendering ---------------------------------------------------------------------------

    def _render_secret(self, s: _Secret) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self._secret_name(s),
            "replication": {"automatic": {}},
            "createTime": s.create_time,
            "etag": f'"{s.create_time}"',
        }
        if s.labels:
            out["labels"] = dict(s.labels)
        return out

    def _render_version(self, req: RecordedRequest, s: _Secret, v: _Version) -> dict[str, Any]:
        out = {
            "name": f"{self._secret_name(s)}/versions/{v.number}",
            "createTime": v.create_time,
            "state": v.state,
            "replicationStatus": {"automatic": {}},
            "etag": f'"{v.create_time}"',
        }
        assert self.discovery is not None
        rendered: dict[str, Any] = self.discovery.enums_to_ints("SecretVersion", out) if req.int_enums else out
        return rendered
