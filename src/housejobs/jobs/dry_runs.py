"""`--dry-run` against the admin API: what every admin job's dry run shares.

A dry run first asks `GET /admin/capabilities` (ApiClient.capabilities), so a wrong key is `refused` and an
unreachable API `failed`, as in a real run. Where the server offers `dry-run`, the mutating call goes as the
server's own dry run (`?dry_run=true`: validated and answered, nothing stored) and the result reports the
server's answer; where it does not, the dry run stays client-side and says so. Either way the result lists
the calls a real run would send (method, path, key).
"""

from __future__ import annotations

from typing import Any

from housejobs.api.capabilities import DRY_RUN, Capabilities

SERVER, CLIENT = "server", "client"


def mode(offered: Capabilities) -> str:
    return SERVER if offered.offers(DRY_RUN) else CLIENT


def details(offered: Capabilities) -> dict[str, Any]:
    """What a dry run's JSON says about how it was made."""
    return {"dry_run": mode(offered), "extensions": offered.names()}


def note(offered: Capabilities) -> str:
    """The message's words for how the dry run was made."""
    if offered.offers(DRY_RUN):
        return "server-side dry run"
    return f"client-side dry run: {offered.lacking(DRY_RUN)}"
