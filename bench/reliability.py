"""Reliability report: run the fault matrix (and the races) and tabulate what the tests observed.

Runs `pytest -m faults` with HOUSEJOBS_RELIABILITY_REPORT pointing at a temporary file: every matrix cell
appends one JSON line there (exit code, outcome, runs, tracebacks, sentinel leaks, units applied twice,
units still missing after the clean rerun). Pass/fail comes from pytest's own JUnit XML. Then the races
(tests/reliability/test_races.py) and the secret-leak tests (tests/reliability/test_secret_leaks.py) run and
are counted.
Prints Markdown, ready for the README's Reliability section, and exits non-zero when a cell failed or
any of the must-be-zero counts is not zero.

    Usage: python -m bench.reliability [--no-races] [-- extra pytest args]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT_ENV = "HOUSEJOBS_RELIABILITY_REPORT"


@dataclass
class Suite:
    results: dict[str, str] = field(default_factory=dict)  # test name -> passed / failed / skipped
    seconds: float = 0.0


def run_pytest(args: list[str], junit: Path, report: Path | None) -> Suite:
    env = {**os.environ}
    if report is not None:
        env[REPORT_ENV] = str(report)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", *args],
                   cwd=ROOT, env=env, check=False, stdout=subprocess.DEVNULL)
    suite = Suite(seconds=time.perf_counter() - start)
    if not junit.exists():
        raise SystemExit(f"pytest wrote no report ({' '.join(args)})")
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - written by our own pytest run
        status = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
            elif child.tag == "skipped" and status != "failed":
                status = "skipped"
        suite.results[case.get("name", "")] = status
    return suite


def load(report: Path) -> dict[str, dict[str, Any]]:
    cells: dict[str, dict[str, Any]] = {}
    if report.exists():
        for line in report.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            cells[str(record["nodeid"]).split("::", 1)[1]] = record
    return cells


def matrix_tables(suite: Suite, cells: dict[str, dict[str, Any]]) -> tuple[list[str], bool]:
    jobs: list[str] = []
    faults: list[str] = []
    for record in cells.values():
        if record["job"] not in jobs:
            jobs.append(record["job"])
        if record["fault"] not in faults:
            faults.append(record["fault"])
    n_a = {name: r for name, r in cells.items() if r["status"] == "n/a"}
    ran = {name: r for name, r in cells.items() if r["status"] == "run"}
    unobserved = [name for name in suite.results if name not in cells and suite.results[name] != "skipped"]
    passed = [name for name, r in ran.items() if r["passed"] and suite.results.get(name) == "passed"]
    failed = sorted(set(ran) - set(passed)) + unobserved
    twice = sum(r["twice"] or 0 for r in ran.values())
    unmeasured = [name for name, r in ran.items() if r["twice"] is None]
    lost = sum(r["lost"] or 0 for r in ran.values())
    lost_unknown = [name for name, r in ran.items() if r["lost"] is None]
    tracebacks = sum(r["tracebacks"] for r in ran.values())
    leaks = sum(r["leaks"] for r in ran.values())
    no_summary = sum(r["missing_summaries"] for r in ran.values())
    runs = sum(r["runs"] for r in ran.values())

    def unknown(names: list[str]) -> str:
        return f" ({len(names)} not measured)" if names else ""

    lines = [
        f"Fault matrix: {len(jobs)} jobs × {len(faults)} faults, `pytest -m faults` in {suite.seconds:.0f} s",
        "",
        "| | count |",
        "|---|---:|",
        f"| scenarios (job × fault cells) | {len(cells) + len(unobserved)} |",
        f"| run | {len(ran) + len(unobserved)} |",
        f"| not applicable (skipped, reason below) | {len(n_a)} |",
        f"| passed | {len(passed)} |",
        f"| failed | {len(failed)} |",
        f"| CLI runs (faulted runs and reruns) | {runs} |",
        f"| effects applied twice | {twice}{unknown(unmeasured)} |",
        f"| effects lost (missing after the rerun) | {lost}{unknown(lost_unknown)} |",
        f"| tracebacks | {tracebacks} |",
        f"| secret leaks | {leaks} |",
        f"| runs without a summary line | {no_summary} |",
        "",
        "| job | " + " | ".join(faults) + " |",
        "|---|" + "---|" * len(faults),
    ]
    by_cell: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
        (r["job"], r["fault"]): (name, r) for name, r in cells.items()}
    for job in jobs:
        row = []
        for fault in faults:
            name, cell = by_cell.get((job, fault), ("", None))
            if cell is None:
                row.append("?")
            elif cell["status"] == "n/a":
                row.append("n/a")
            else:
                mark = "✓" if name in passed else "✗"
                code = cell["exit"]
                row.append(f"{mark} {'killed' if code == -9 else code}")
        lines.append(f"| {job} | " + " | ".join(row) + " |")
    lines += ["", "Cells show the faulted run's exit code (SIGKILL: the killed run; its rerun exits 0).", ""]
    if n_a:
        lines.append("Not applicable:")
        lines += [f"- {r['job']} × {r['fault']}: {r['reason']}" for r in n_a.values()]
    if failed:
        lines += ["", "Failed: " + ", ".join(failed)]
    clean = not failed and not unmeasured and not lost_unknown and not (twice or lost or tracebacks or leaks
                                                                         or no_summary)
    return lines, clean


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-races", action="store_true", help="run the fault matrix only (no races, no leak tests)")
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "matrix.jsonl"
        suite = run_pytest(["-m", "faults", "tests", *args.pytest_args], Path(tmp) / "matrix.xml", report)
        lines, clean = matrix_tables(suite, load(report))
        if not args.no_races:
            for path, title in (("tests/reliability/test_races.py", "Races (8 simultaneous runs)"),
                                ("tests/reliability/test_secret_leaks.py",
                                 "Secret sentinels (--debug, refusals, settings, an internal error's traceback)")):
                suite = run_pytest([path, *args.pytest_args], Path(tmp) / "suite.xml", None)
                ok = sum(s == "passed" for s in suite.results.values())
                lines += ["", f"{title}, {path}, {suite.seconds:.0f} s: {ok} of {len(suite.results)} passed"]
                listed = suite.results.items() if path.endswith("races.py") else \
                    [(name, status) for name, status in suite.results.items() if status != "passed"]
                lines += [f"- {'✓' if status == 'passed' else '✗'} {name}" for name, status in listed]
                clean = clean and ok == len(suite.results) and bool(suite.results)
    print("\n".join(lines))
    sys.exit(0 if clean else 1)


if __name__ == "__main__":
    main()
