"""The admin API's contract extensions (docs/api.md, `GET /admin/capabilities`), as data.

    GET /admin/capabilities  →  {"extensions": ["dry-run", "listing-shards"]}   authenticated
                             →  404: an older server, which offers none

A client asks once per run (ApiClient.capabilities keeps the answer in the run's `Asked`) and never uses
an extension the server did not offer: an older server ignores a query parameter it does not know, so
`?dry_run=true` sent to it would apply the call, and `shard=I/N` would list every org.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from housejobs.errors import ApiProtocolError

PATH = "/admin/capabilities"
DRY_RUN = "dry-run"
LISTING_SHARDS = "listing-shards"
KNOWN = (DRY_RUN, LISTING_SHARDS)


@dataclass(frozen=True)
class Capabilities:
    extensions: frozenset[str]
    # False: the server answered 404 (an older server, no extensions); True: it listed its extensions.
    answered: bool = True

    def offers(self, name: str) -> bool:
        return name in self.extensions

    def names(self) -> list[str]:
        return sorted(self.extensions)

    def lacking(self, name: str) -> str:
        """Why `name` is not used, in a few words (a result's message says it)."""
        if not self.answered:
            return f"the server has no {PATH} (an older server: no extensions)"
        return f"the server does not offer {name}"


NONE = Capabilities(frozenset(), answered=False)


@dataclass
class Asked:
    """One run's answer, shared by every client the run makes for that API (context.admin_client), so the
    run asks once however many clients it uses (org-sync-all has one per worker)."""

    answer: Capabilities | None = None


def from_answer(data: Any) -> Capabilities:
    """The server's answer, refused unless it is the contract's shape. Names this client does not know are
    kept (a newer server); only those it knows are ever used."""
    extensions = data.get("extensions") if isinstance(data, dict) else None
    if not isinstance(extensions, list) or not all(isinstance(name, str) for name in extensions):
        raise ApiProtocolError(f"GET {PATH}: unexpected answer (no extensions list)")
    return Capabilities(frozenset(extensions))
