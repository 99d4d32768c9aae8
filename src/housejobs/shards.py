"""How orgs divide over shards, one copy for the client (jobs/org_sync.py) and the sandbox (sandbox/store.py).

An org's shard of N is the first 8 bytes of SHA-256 of its slug, read big-endian, mod N (docs/api.md,
`listing-shards`): stable across processes, runs and machines (never Python's salted hash()), so a server
and a client agree on it without talking, and every org belongs to exactly one shard of N.
"""

from __future__ import annotations

import hashlib
import re

_SHARD = re.compile(r"([0-9]+)/([0-9]+)")
OFFSET = 1 << 63  # SQLite integers are signed 64-bit: a store keeps hash - OFFSET (the same order)
# The most shards a server's listing-shards serves (docs/api.md); Cloud Run runs at most 10,000 tasks. A
# client split finer lists every org and keeps its own, as with a server without the extension.
MAX_LISTED_SHARDS = 100_000


def shard_hash(slug: str) -> int:
    """The org's 64-bit shard hash (0 .. 2**64 - 1)."""
    return int.from_bytes(hashlib.sha256(slug.encode("utf-8", "surrogatepass")).digest()[:8], "big")


def shard_of(slug: str, count: int) -> int:
    return shard_hash(slug) % count


def stored_key(slug: str) -> int:
    """The hash as a signed 64-bit integer (a SQLite column): shard_hash - 2**63."""
    return shard_hash(slug) - OFFSET


def parse_shard(value: str) -> tuple[int, int] | None:
    """`I/N` with 0 <= I < N as (I, N); None for anything else."""
    m = _SHARD.fullmatch(value.strip())
    try:
        index, count = (int(m.group(1)), int(m.group(2))) if m else (-1, 0)
    except ValueError:  # more digits than int() reads (Python's limit on a string's digits)
        return None
    return (index, count) if 0 <= index < count else None


def shard_label(index: int, count: int) -> str:
    return f"{index}/{count}"
