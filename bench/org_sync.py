"""org-sync-all throughput and memory against the sandbox (in its own process).

Prints wall time for 5,000 orgs at 20 ms injected latency and concurrency 32 beside the ideal
orgs x latency / concurrency, a concurrency-1 sample projected to the full run, and the peak RSS of a
100,000-org run.   Usage: python -m bench.org_sync [--orgs 5000] [--big 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time

from bench._common import KEY, housejobs, sandbox_process


def run_sync(url: str, *extra: str) -> tuple[float, dict[str, object], int]:
    """Run org-sync-all as a child; return its wall time, JSON result and its own peak RSS (KiB)."""
    env = {**os.environ, "CA_ROOT_API_KEY": KEY}
    argv = housejobs("org-sync-all", "--api-url", url, "--json", *extra)
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.DEVNULL, env=env)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage, nobody else's
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise SystemExit(f"org-sync-all exited {proc.returncode}: {text[-500:]}")
    return wall, json.loads(text), usage.ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orgs", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--big", type=int, default=100_000, help="org count for the memory run (0: skip)")
    args = parser.parse_args()
    lat = args.latency_ms / 1000

    with sandbox_process(args.orgs, args.latency_ms) as url:
        wall, doc, _ = run_sync(url, "--concurrency", str(args.concurrency), "--date", "2026-01-01")
        counts = doc["counts"]
        assert isinstance(counts, dict) and counts["synced"] == args.orgs, counts
        ideal = args.orgs * lat / args.concurrency
        sample = [f"org-{i:06d}" for i in range(1, args.sample + 1)]
        org_args = [a for org in sample for a in ("--org", org)]
        one_wall, _, _ = run_sync(url, "--concurrency", "1", "--date", "2026-01-02", *org_args)
    projected = one_wall / args.sample * args.orgs
    print(f"org-sync-all, {args.orgs} orgs, {args.latency_ms:g} ms latency per sync call")
    print(f"  concurrency {args.concurrency}: {wall:6.2f} s   ideal {ideal:5.2f} s   "
          f"ratio {wall / ideal:.2f} (goal <= 1.3)")
    print(f"  concurrency 1:  {one_wall:6.2f} s for {args.sample} orgs -> projected {projected:6.1f} s for "
          f"{args.orgs}  ({projected / wall:.1f}x slower than concurrency {args.concurrency})")
    if args.big:
        with sandbox_process(args.big, 0.0) as url:
            big_wall, doc, rss_kb = run_sync(url, "--concurrency", "64", "--date", "2026-01-03")
        counts = doc["counts"]
        assert isinstance(counts, dict) and counts["synced"] == args.big, counts
        print(f"  {args.big} orgs, no latency, concurrency 64: {big_wall:6.1f} s "
              f"({args.big / big_wall:.0f} orgs/s), peak RSS {rss_kb / 1024:.0f} MB (goal < 200 MB)")


if __name__ == "__main__":
    main()
