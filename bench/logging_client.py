"""How to read Cloud Logging: google-cloud-logging or one REST call through google-auth (what housejobs does).

Side by side, alternating, each in a fresh interpreter against the Cloud Logging fake (tests/fakes/
cloudlogging.py) holding one execution's lines: the import alone, and the import plus what `run` does at
the end of an execution (read its run_summary entries: one entries:list with the filter housejobs sends).
Wall and CPU (user + system of the child), median of N runs. Then the CPU of a whole `housejobs run`
(Cloud Run fake, summary read from the Logging fake) to put the difference in proportion.

google-cloud-logging is not a dependency; give an interpreter that has it (the project's packages plus it):

    .tools/bin/uv venv /tmp/gcl --python .venv/bin/python
    .tools/bin/uv pip install --python /tmp/gcl/bin/python --no-deps google-cloud-logging==3.17.0 \\
        google-cloud-appengine-logging google-cloud-audit-log
    echo "$PWD/.venv/lib/python3.11/site-packages" > /tmp/gcl/lib/python3.11/site-packages/zz_base.pth
    .venv/bin/python -m bench.logging_client --gcl-python /tmp/gcl/bin/python

Usage: python -m bench.logging_client [--runs 15] [--gcl-python PATH]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime

from tests.fakes.cloudlogging import CloudLoggingFake
from tests.fakes.cloudrun import TaskRun
from tests.support.clock import FakeClock
from tests.support.cloud_run import gcp, log_summaries, seeded_run

from bench._common import ROOT, housejobs
from housejobs.gcp.log_query import job_filter

PROJECT, REGION, JOB, EXECUTION = "cloudact-testing-1", "us-central1", "housejobs-quota-reset-stage", "ex-1"
FILTER = job_filter(JOB, REGION, execution=EXECUTION, summaries=True)

# What `run` loads anyway (its Cloud Run client): the reading's cost in a run is what it adds to this.
RUN_IMPORT = "import google.cloud.run_v2"
REST_IMPORT = RUN_IMPORT + "; from google.auth.transport.requests import AuthorizedSession; " \
    "from google.api_core import exceptions"
GCL_IMPORT = RUN_IMPORT + "; import google.cloud.logging"
# The call gcp/cloud_logging.py makes, without the rest of housejobs (settings, retry) that a run loads anyway.
REST_READ = f"""
import google.cloud.run_v2
from google.api_core import exceptions
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
session = AuthorizedSession(AnonymousCredentials())
body = {{"resourceNames": ["projects/{PROJECT}"], "filter": {FILTER!r}, "orderBy": "timestamp asc", "pageSize": 1000}}
response = session.post("{{endpoint}}/v2/entries:list", json=body, timeout=10)
if response.status_code >= 400:
    raise exceptions.from_http_response(response)
entries = response.json().get("entries", [])
assert len(entries) == 1, entries
"""
GCL_READ = f"""
import google.cloud.run_v2
from google.auth.credentials import AnonymousCredentials
import google.cloud.logging
client = google.cloud.logging.Client(project="{PROJECT}", credentials=AnonymousCredentials(), _use_grpc=False,
                                     client_options={{"api_endpoint": "{{endpoint}}"}})
entries = list(client.list_entries(resource_names=["projects/{PROJECT}"], filter_={FILTER!r}, page_size=1000))
assert len(entries) == 1, entries
"""


def child(python: str, code: str, env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh interpreter running `code`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{python} failed: {done.stderr[-600:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def compare(label: str, cases: list[tuple[str, str, str]], runs: int) -> None:
    """Run each (name, python, code) in turn, `runs` times, and print medians and ratios to the first."""
    results: dict[str, list[tuple[float, float]]] = {name: [] for name, _, _ in cases}
    for _ in range(runs):
        for name, python, code in cases:
            results[name].append(child(python, code))
    print(label)
    base_wall = statistics.median(w for w, _ in results[cases[0][0]])
    base_cpu = statistics.median(c for _, c in results[cases[0][0]])
    for name, _, _ in cases:
        wall = statistics.median(w for w, _ in results[name])
        cpu = statistics.median(c for _, c in results[name])
        print(f"  {name:<44} {wall * 1000:7.1f} ms  {wall / base_wall:5.2f}   {cpu * 1000:7.1f} ms cpu  "
              f"{cpu / base_cpu:5.2f}")


def run_cpu(runs: int) -> None:
    """CPU of a whole `housejobs run` (fresh process) against the Cloud Run and Cloud Logging fakes."""
    clock = FakeClock(datetime.now(UTC))
    with seeded_run(clock, ("bootstrap",)) as run, tempfile.TemporaryDirectory() as tmp:
        run.auto_complete = "succeeded"
        log_summaries(run)
        env = {**os.environ, **gcp(run), "HOUSEJOBS_STATE_DIR": tmp}
        cpus = []
        for _ in range(runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            done = subprocess.run(housejobs("run", "bootstrap", "--env", "test", "--json"), capture_output=True,
                                  text=True, env=env, cwd=tmp, check=False)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if done.returncode != 0 or '"outcome": "applied"' not in done.stdout:
                raise SystemExit(f"run failed: {done.stdout[-400:]} {done.stderr[-400:]}")
            cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
        print(f"a whole `housejobs run bootstrap --env test` (REST read of its summary included): "
              f"{statistics.median(cpus) * 1000:.1f} ms cpu (median of {runs})")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--gcl-python", help="an interpreter with google-cloud-logging installed")
    args = parser.parse_args()
    ours = sys.executable
    gcl = args.gcl_python
    with CloudLoggingFake(delay_s=0.0) as logs:
        task = TaskRun(JOB, EXECUTION, 0, 1, 0, "image", [], [])
        # Recent times: google-cloud-logging adds `timestamp >= 24 h ago` to a filter that has no timestamp.
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        lines = [f'{{"severity":"INFO","message":"line {i}","time":"{now}"}}' for i in range(40)]
        lines.append(f'{{"severity":"INFO","message":"quota-reset applied","time":"{now}",'
                     '"event":"run_summary","outcome":"applied","exit_code":0,"counts":{"orgs_reset":25}}')
        logs.ingest(task, project=PROJECT, location=REGION, stderr="\n".join(lines))
        endpoint = logs.endpoint
        cases = [("import google.cloud.run_v2 (a run has it)", ours, RUN_IMPORT),
                 ("  + google-auth session, api_core (housejobs)", ours, REST_IMPORT)]
        if gcl:
            cases.append(("  + google.cloud.logging", gcl, GCL_IMPORT))
        compare(f"import, fresh interpreter, median of {args.runs} alternating runs", cases, args.runs)
        reads = [("import google.cloud.run_v2 (a run has it)", ours, RUN_IMPORT),
                 ("  + read summaries: REST, google-auth (housejobs)", ours, REST_READ.replace("{endpoint}", endpoint))]
        if gcl:
            reads.append(("  + read summaries: google-cloud-logging", gcl, GCL_READ.replace("{endpoint}", endpoint)))
        compare("... + one entries:list of an execution's summaries (import included)", reads, args.runs)
        print(f"  ({len(logs.list_calls())} entries:list calls served)")
    run_cpu(max(3, args.runs // 3))
    if not gcl:
        print("google-cloud-logging not measured: pass --gcl-python (see the module docstring)")


if __name__ == "__main__":
    main()
