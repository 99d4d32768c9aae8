"""create-all-jobs against the local Cloud Run and Cloud Scheduler fakes (started in this process).

Prints the wall time of a first apply (every job, grant and trigger created) beside a no-op rerun, each
run as the operator runs it (a fresh `housejobs` process, so interpreter start-up and the Google
libraries' import are in it) and in-process (the work alone), with each run's write and read calls.
The rerun must make 0 writes.   Usage: python -m bench.provision [--reruns 5]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from tests.fakes.cloudrun import CloudRunFake
from tests.fakes.scheduler import SchedulerFake

from bench._common import housejobs, timed
from housejobs.cli.main import run_cli
from housejobs.context import Runtime


def calls(run: CloudRunFake, sched: SchedulerFake) -> tuple[int, int]:
    reads = sum(1 for r in run.requests + sched.requests if not r.is_write)
    return run.write_calls + sched.write_calls, reads


def clear(run: CloudRunFake, sched: SchedulerFake) -> None:
    run.clear_requests()
    sched.clear_requests()


def subprocess_run(env: dict[str, str], cwd: str) -> float:
    wall, done = timed(housejobs("create-all-jobs", "--env", "stage", "--json"), env, cwd)
    if done.returncode != 0:
        raise SystemExit(f"create-all-jobs exited {done.returncode}: {done.stdout[-400:]} {done.stderr[-400:]}")
    return wall


def in_process_run(env: dict[str, str], cwd: str) -> float:
    out, err = io.StringIO(), io.StringIO()
    rt = Runtime(environ=env, stdin=io.StringIO(""), stdout=out, stderr=err, stdin_tty=False, stdout_tty=False,
                 stderr_tty=False, cwd=Path(cwd))
    start = time.perf_counter()
    code = run_cli(["create-all-jobs", "--env", "stage", "--json"], rt)
    wall = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"create-all-jobs exited {code}: {out.getvalue()[-400:]}")
    return wall


def measure(mode: str, runner: object, reruns: int) -> None:
    assert callable(runner)
    with CloudRunFake() as run, SchedulerFake() as sched, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HOUSEJOBS_RUN_API_ENDPOINT": run.endpoint,
               "HOUSEJOBS_SCHEDULER_API_ENDPOINT": sched.endpoint, "HOUSEJOBS_STATE_DIR": tmp}
        first = runner(env, tmp)
        first_writes, first_reads = calls(run, sched)
        times, writes = [], 0
        for _ in range(reruns):
            clear(run, sched)
            times.append(runner(env, tmp))
            w, reads = calls(run, sched)
            writes = max(writes, w)
        rerun = statistics.median(times)
        problems = run.schema_violations + sched.schema_violations
    print(f"  {mode}:")
    print(f"    first apply  {first * 1000:7.0f} ms   {first_writes:2d} writes  {first_reads:2d} reads")
    print(f"    no-op rerun  {rerun * 1000:7.0f} ms   {writes:2d} writes  {reads:2d} reads   "
          f"(median of {reruns})   rerun/first {rerun / first:.2f}")
    if writes != 0 or problems:
        raise SystemExit(f"FAIL: rerun wrote {writes} times; schema violations: {problems}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reruns", type=int, default=5)
    args = parser.parse_args()
    print("create-all-jobs --env stage against the Cloud Run and Scheduler fakes "
          "(9 jobs, 7 IAM grants, 8 triggers)")
    measure("a fresh housejobs process per run", subprocess_run, args.reruns)
    # Loaded once up front, so the in-process numbers are the work alone, not the ~0.9 s import.
    import google.cloud.run_v2
    import google.cloud.scheduler_v1  # noqa: F401

    measure("in-process, Google libraries already loaded (the work alone)", in_process_run, args.reruns)


if __name__ == "__main__":
    main()
