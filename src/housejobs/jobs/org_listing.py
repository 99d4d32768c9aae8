"""The active-org listing org-sync-all pages through, for one shard of the orgs.

    server offers listing-shards    GET /admin/orgs?status=active&shard=I/N   only shard I's orgs, checked:
                                    every page must echo "shard": "I/N" and every org must hash to I
    otherwise (an older server,     GET /admin/orgs?status=active             every org, kept if it hashes to I
    or N > 100,000)

Never trusted blindly. A server that lists an org of another shard (a contract error: counted, skipped,
never synced), echoes another shard or none (it ignored the parameter), may also have left out orgs of this
one — a different hash, another shard's pages — so the first such page ends the sharded listing: the run
lists everything again without `shard` and keeps its own orgs by hash, as with an older server. The orgs
it already took are not taken twice, so each org of the shard is still synced exactly once, at the price
of one more full listing for this shard only, and only when the server misbehaves.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from housejobs.api.capabilities import LISTING_SHARDS, Capabilities
from housejobs.errors import ApiProtocolError, one_line
from housejobs.shards import MAX_LISTED_SHARDS, shard_label, shard_of

if TYPE_CHECKING:
    from housejobs.api.client import ApiClient

SHARD, FULL = "shard", "full"  # how a run listed: the server's shard, or every org filtered here
MAX_PROBLEMS = 5


def owner(org: object, count: int) -> int:
    """The shard an entry belongs to: its slug's, or for an entry that is not a string, its printed form's
    (reported as invalid by that one shard only, not once per task)."""
    return shard_of(org if isinstance(org, str) else repr(org), count)


@dataclass
class Listing:
    """How one run listed the orgs (its JSON's `listing` and counts)."""

    mode: str = FULL
    calls: int = 0
    wrong_shard: int = 0  # orgs of another shard that the server's shard listing named: skipped
    problems: list[str] = field(default_factory=list)  # what the server did wrong, first few
    fell_back: bool = False

    def note(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def as_dict(self, shard: tuple[int, int] | None) -> dict[str, Any]:
        out: dict[str, Any] = {"mode": self.mode, "calls": self.calls}
        if shard is not None:
            out["shard"] = shard_label(*shard)
        if self.fell_back:
            out["fell_back"] = True
        if self.problems:
            out["problems"] = self.problems
        return out


async def list_orgs(api: ApiClient, page_size: int, shard: tuple[int, int] | None, offered: Capabilities | None,
                    record: Listing) -> AsyncIterator[tuple[object, bool]]:
    """(org id, whether the listing says it is active) for every entry of this shard, page by page."""
    index, count = shard or (0, 1)
    if 1 < count <= MAX_LISTED_SHARDS and offered is not None and offered.offers(LISTING_SHARDS):
        record.mode = SHARD
        took: set[str] = set()
        async for page in _pages(api, page_size, shard_label(index, count), record):
            bad = _misbehaviour(page, index, count, record)
            if bad:
                record.note(bad)
                record.fell_back = True
                break
            for org, active in _entries(page):
                if isinstance(org, str):
                    took.add(org)
                yield org, active
        else:
            return
        # Start again without the extension; what the sharded pages gave is not given twice.
        record.mode = FULL
        async for page in _pages(api, page_size, None, record):
            for org, active in _entries(page):
                if owner(org, count) != index:
                    continue
                if isinstance(org, str) and org in took:
                    took.discard(org)
                    continue
                yield org, active
        return
    async for page in _pages(api, page_size, None, record):
        for org, active in _entries(page):
            if count == 1 or owner(org, count) == index:
                yield org, active


def _misbehaviour(page: dict[str, Any], index: int, count: int, record: Listing) -> str:
    """What is wrong with a page of the server's shard listing ("" when nothing is)."""
    asked = shard_label(index, count)
    echo = page.get("shard")
    if echo != asked:
        if echo is None:
            return f"asked for shard {asked}, the page named no shard (the server ignored shard=)"
        return f"asked for shard {asked}, the page is for shard {one_line(str(echo), 40)!r}"
    foreign = [org for org, _ in _entries(page) if owner(org, count) != index]
    if foreign:
        record.wrong_shard += len(foreign)
        return (f"shard {asked} listed {len(foreign)} org{'s' if len(foreign) != 1 else ''} of another shard "
                f"({one_line(str(foreign[0]), 70)})")
    return ""


def _entries(page: dict[str, Any]) -> list[tuple[object, bool]]:
    # The contract lists objects; anything else is reported as an invalid id, never called. The query asks
    # for active orgs only, so an entry saying otherwise (or nothing) is not synced.
    return [(e.get("org_slug"), e.get("status") == "active") if isinstance(e, dict) else (None, True)
            for e in page["orgs"]]


async def _pages(api: ApiClient, page_size: int, shard: str | None, record: Listing) -> AsyncIterator[dict[str, Any]]:
    token: str | None = None
    seen: set[str] = set()  # a server handing back a token it already gave would page forever
    while True:
        params: dict[str, object] = {"status": "active", "page_size": page_size}
        if shard is not None:
            params["shard"] = shard
        if token:
            params["page_token"] = token
        record.calls += 1
        response = await api.get("/admin/orgs", params=params)
        data = response.data
        if not isinstance(data, dict) or not isinstance(data.get("orgs"), list):
            raise ApiProtocolError("GET /admin/orgs: unexpected answer (no orgs list)")
        yield data
        nxt = data.get("next_page_token")
        if not nxt:
            return
        if not isinstance(nxt, str):
            raise ApiProtocolError("GET /admin/orgs: unexpected answer (next_page_token)")
        if nxt in seen:
            raise ApiProtocolError("GET /admin/orgs: unexpected answer (next_page_token repeats an earlier page)")
        seen.add(nxt)
        token = nxt
