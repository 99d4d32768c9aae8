"""Secrets from Google Secret Manager: latest version, CRC32C verified. The library loads only here."""

from __future__ import annotations

from typing import TYPE_CHECKING

# The Google libraries are untyped in places; they load only inside read_secret.
# mypy: disable-error-code=no-untyped-call
from housejobs.errors import SecretError
from housejobs.gcp.errors import google_errors
from housejobs.settings import Setting

if TYPE_CHECKING:
    from housejobs.settings_model import Settings


def read_secret(settings: Settings, name: str) -> str:
    project = settings.require(Setting.project, f"reading secret {name}")
    try:
        import google_crc32c

        from housejobs.gcp import clients
    except ImportError as exc:  # pragma: no cover - the wheel depends on them
        raise SecretError(f"cannot read secret {name}: {exc}") from None
    path = f"projects/{project}/secrets/{name}/versions/latest"
    # A secret that is missing or denied stops the run before any call (refused); so does no login at
    # all, and on a laptop the value may simply be set in the environment instead.
    with google_errors(f"secret {name} in project {project}",
                       not_found=SecretError(f"secret {name} not found in project {project}",
                                             hint="create it, or set the value in the environment"),
                       denied=SecretError(f"no access to secret {name} in project {project}",
                                          hint="grant roles/secretmanager.secretAccessor"),
                       no_credentials=SecretError(f"no Google credentials to read secret {name}",
                                                  hint="run `gcloud auth application-default login` or set the "
                                                       "value in the environment")):
        client = clients.secret_manager(settings)
        response = client.access_secret_version(request={"name": path}, timeout=15)
    data = response.payload.data
    crc = google_crc32c.Checksum()
    crc.update(data)
    if response.payload.data_crc32c is not None and int.from_bytes(crc.digest(), "big") != \
            response.payload.data_crc32c:
        raise SecretError(f"secret {name}: data corrupted in transit (CRC32C mismatch)")
    try:
        value: str = data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise SecretError(f"secret {name} is not UTF-8 text") from None
    if not value:
        raise SecretError(f"secret {name} is empty")
    return value
