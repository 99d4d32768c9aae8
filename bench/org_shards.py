"""org-sync-all split over N shards, with and without the listing-shards extension (issue 24).

For each org count and N, N `org-sync-all --shard i/N --dry-run` processes (listing only: the sandbox offers
listing-shards but not dry-run, so no sync call is made, or, without the extension, nothing at all: an older
server) run against one sandbox in its own process, at most --parallel at a time (two cores: a hundred at
once would measure the scheduler, and total CPU is what matters). Printed per cell: total listing calls and
their ratio to the listing once (the N=1 run), total client CPU, the sandbox's CPU, the largest peak RSS of
one process, and wall time. Then a full sync of --sync orgs over 10 shards, with and without the extension.
Seeding time is the sandbox's start-up (a million orgs, each hashed once).

Usage: python -m bench.org_shards [--orgs 100000,1000000] [--shards 1,10,100] [--parallel 4] [--sync 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bench._common import KEY, cpu_seconds, housejobs, sandbox_server

DATE = "2026-01-01"
WITH, WITHOUT = "listing-shards", "none"  # the sandbox's --extensions for each side


@dataclass
class Task:
    doc: dict[str, Any]
    cpu_s: float
    rss_kb: int


@dataclass
class Cell:
    orgs: int
    shards: int
    extension: bool
    tasks: list[Task]
    server_cpu_s: float
    wall_s: float

    @property
    def calls(self) -> int:
        return sum(int(t.doc["counts"]["listing_calls"]) for t in self.tasks)

    @property
    def client_cpu_s(self) -> float:
        return sum(t.cpu_s for t in self.tasks)

    @property
    def rss_mb(self) -> float:
        return max(t.rss_kb for t in self.tasks) / 1024

    def count(self, name: str) -> int:
        return sum(int(t.doc["counts"][name]) for t in self.tasks)


def task(url: str, index: int, shards: int, *extra: str) -> Task:
    """One shard's run as a child process, with its own rusage (CPU, peak RSS)."""
    env = {**os.environ, "CA_ROOT_API_KEY": KEY}
    argv = housejobs("org-sync-all", "--api-url", url, "--shard", f"{index}/{shards}", "--date", DATE, "--json",
                     *extra)
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if code != 0:
        raise SystemExit(f"shard {index}/{shards} exited {code}: {text[-500:]}")
    return Task(json.loads(text), usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def cell(url: str, pid: int, orgs: int, shards: int, extension: bool, parallel: int, *extra: str) -> Cell:
    server_before = cpu_seconds(pid)
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        tasks = list(pool.map(lambda i: task(url, i, shards, *extra), range(shards)))
    wall = time.perf_counter() - start
    done = Cell(orgs, shards, extension, tasks, cpu_seconds(pid) - server_before, wall)
    modes = {t.doc["details"]["listing"]["mode"] for t in tasks}
    expected = {"shard"} if extension and shards > 1 else {"full"}
    if modes != expected:
        raise SystemExit(f"{orgs} orgs / {shards} shards: listed {modes}, expected {expected}")
    return done


def started(orgs: int, extensions: str, run: Callable[[str, int], None]) -> float:
    """Start a sandbox with `orgs` orgs, run `run(url, pid)` against it; return the seconds it took to start."""
    begin = time.perf_counter()
    with sandbox_server(orgs, extensions=extensions) as (url, proc):
        seeded = time.perf_counter() - begin
        run(url, proc.pid)
    return seeded


def row(c: Cell, once: int) -> str:
    return (f"  {c.orgs:>9,}  {c.shards:>4}  {'with' if c.extension else 'without':<8} {c.calls:>8,}  "
            f"{c.calls / once:>7.2f}  {c.client_cpu_s:>9.1f} s  {c.server_cpu_s:>8.1f} s  {c.rss_mb:>6.0f} MB  "
            f"{c.wall_s:>7.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", default="100000,1000000")
    parser.add_argument("--shards", default="1,10,100")
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--sync", type=int, default=20_000, help="orgs for the full sync over 10 shards (0: skip)")
    args = parser.parse_args()
    org_counts = [int(n) for n in args.orgs.split(",")]
    shard_counts = [int(n) for n in args.shards.split(",")]
    cells: list[Cell] = []
    seeding: dict[tuple[int, bool], float] = {}
    for orgs in org_counts:
        for extension in (True, False):
            def listing(url: str, pid: int, orgs: int = orgs, extension: bool = extension) -> None:
                for shards in shard_counts:
                    cells.append(cell(url, pid, orgs, shards, extension, args.parallel, "--dry-run"))
                    print(f"  … {orgs:,} orgs, {shards} shards, {'with' if extension else 'without'}: "
                          f"{cells[-1].wall_s:.1f} s", flush=True)

            seeding[(orgs, extension)] = started(orgs, WITH if extension else WITHOUT, listing)

    print(f"\norg-sync-all --dry-run (listing only) over N shard processes, at most {args.parallel} at a time;"
          " page size 500")
    print("       orgs     N  extension   calls  ÷ once   client CPU  server CPU  peak RSS     wall")
    for c in cells:
        once = next(o.calls for o in cells if o.orgs == c.orgs and o.shards == 1 and o.extension == c.extension)
        print(row(c, once))
    for orgs in org_counts:
        print(f"  sandbox start with {orgs:,} orgs seeded: {seeding[(orgs, True)]:.1f} s "
              f"(again: {seeding[(orgs, False)]:.1f} s)")
    biggest = max(org_counts)
    for extension in (True, False):
        ratios = ", ".join(f"N={c.shards}: {c.calls / next(o.calls for o in cells if o.orgs == c.orgs and o.shards == 1 and o.extension == extension):.2f}"  # noqa: E501
                           for c in cells if c.orgs == biggest and c.extension == extension)
        goal = "goal <= 1.1" if extension else "N without"
        print(f"  total listing calls ÷ the listing once at {biggest:,} orgs, {'with' if extension else 'without'} "
              f"the extension: {ratios} ({goal})")
    for c in (c for c in cells if c.extension and c.shards == max(shard_counts)):
        print(f"  per-task peak RSS, {c.shards} shards with the extension, {c.orgs:,} orgs: {c.rss_mb:.0f} MB "
              "(goal < 100 MB, flat in orgs)")
    if args.sync:
        print(f"\nfull sync of {args.sync:,} orgs over 10 shards, at most {args.parallel} at a time")
        for extension in (True, False):
            synced: list[Cell] = []

            def sync(url: str, pid: int, ext: bool = extension, into: list[Cell] = synced) -> None:
                into.append(cell(url, pid, args.sync, 10, ext, args.parallel))

            started(args.sync, WITH if extension else WITHOUT, sync)
            c = synced[0]
            if c.count("synced") != args.sync:
                raise SystemExit(f"synced {c.count('synced')} of {args.sync}")
            print(f"  {'with' if extension else 'without':<8} extension: {c.calls:>4} listing calls, "
                  f"{c.count('synced'):,} synced, client CPU {c.client_cpu_s:.1f} s, server CPU "
                  f"{c.server_cpu_s:.1f} s, peak RSS {c.rss_mb:.0f} MB, wall {c.wall_s:.1f} s")


if __name__ == "__main__":
    main()
