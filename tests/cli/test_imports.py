"""`housejobs --help` and the API-only jobs never load a Google library (each costs 0.3-0.45 s)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.support.sandbox import SandboxHandle
from tests.support.sentinels import ROOT_KEY

PROBE = """
import io, json, sys
from housejobs.cli.main import run_cli
from housejobs.runtime import Runtime
out = io.StringIO()
code = run_cli(sys.argv[1:], Runtime(stdout=out, stderr=io.StringIO()))
print(json.dumps({"code": code, "google": sorted(m for m in sys.modules if m.startswith("google"))}))
"""


def probe(*argv: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True,
                          env={**os.environ, "CA_ROOT_API_KEY": ROOT_KEY})
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_help_imports_no_google() -> None:
    result = probe("--help")
    assert result == {"code": 0, "google": []}


def test_api_only_jobs_import_no_google(sandbox: SandboxHandle) -> None:
    for argv in (["quota-reset"], ["stale-cleanup"], ["alerts"], ["quota-monthly"], ["bootstrap"],
                 ["org-sync-all"], ["list-jobs"]):
        result = probe(*argv, "--api-url", sandbox.url) if argv != ["list-jobs"] else probe(*argv)
        assert result == {"code": 0, "google": []}, argv


def test_embedded_sandbox_runs_import_no_google() -> None:
    assert probe("quota-reset") == {"code": 0, "google": []}
    assert probe("reminder", "utilities") == {"code": 0, "google": []}


LAZY_PROBE = """
import io, json, sys
from housejobs.cli.main import run_cli
from housejobs.runtime import Runtime
code = run_cli(sys.argv[1:], Runtime(stdout=io.StringIO(), stderr=io.StringIO()))
# (housejobs registers a file-less stand-in for httpx's own CLI module, httpx._main: not httpx loaded)
print(json.dumps({"code": code, "loaded": sorted({m.split(".")[0] for m in sys.modules if m != "httpx._main"}
                                                & {"cronsim", "httpx", "google"})}))
"""


def test_help_loads_neither_cronsim_nor_httpx() -> None:
    # cronsim is for the commands that validate or compute schedules; help and the history/backfill
    # help pages must not pay for it.
    for argv in (["--help"], ["history", "--help"], ["backfill", "--help"]):
        done = subprocess.run([sys.executable, "-c", LAZY_PROBE, *argv], capture_output=True, text=True,
                              check=True)
        assert json.loads(done.stdout.strip().splitlines()[-1]) == {"code": 0, "loaded": []}, argv


def test_help_and_the_notifier_load_no_tenacity() -> None:
    # Retries are built when a call is made (api/retry.py imports tenacity inside `retrying`): `--help`, and
    # the modules every run imports (the runner, the notifier, the retry rule itself), do not pay for it.
    code = ("import io, sys\nfrom housejobs.cli.main import run_cli\nfrom housejobs.runtime import Runtime\n"
            "run_cli(['--help'], Runtime(stdout=io.StringIO(), stderr=io.StringIO()))\n"
            "import housejobs.runner, housejobs.notify.notifier, housejobs.api.retry\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'tenacity'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"
