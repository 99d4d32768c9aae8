"""Start-up cost: `housejobs --help` beside `python -c "import typer"`, and what a job run costs, side by side.

Runs each command alternately N times (so machine noise hits all alike) and prints the medians of wall
time and of CPU time (user + system of the child), and their ratios to `import typer`. The job runs are
`config show --json` and `quota-reset --date 2026-11-24 --dry-run` against the embedded sandbox, in an
empty folder with their own state folder (no ./.env, no HOUSEJOBS_* from this shell), so they measure
what every job pays before its first call: the context and its settings. Off a terminal (a pipe, CI,
Cloud Run) output is plain text; `--tty` measures in a pseudo-terminal.
`--vs PYTHON` also runs the same commands with another checkout's interpreter (its venv's python, e.g. a
worktree of an older commit), alternately with this one's, so a before/after is measured side by side.
Usage: python -m bench.startup [-n 30] [--tty] [--vs PATH/TO/.venv/bin/python]
"""

from __future__ import annotations

import argparse
import os
import pty
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._common import housejobs


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], tty: bool, env: dict[str, str], cwd: str | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of `argv`."""
    cpu, start = cpu_of_children(), time.perf_counter()
    if tty:
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(argv, stdout=secondary, stderr=secondary, env=env, cwd=cwd)
        os.close(secondary)
        while True:  # drain, so the child never blocks on a full pty
            try:
                if not os.read(primary, 65536):
                    break
            except OSError:
                break
        proc.wait()
        os.close(primary)
    else:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=cwd, check=True)
    return time.perf_counter() - start, cpu_of_children() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--tty", action="store_true", help="run all in a pseudo-terminal")
    parser.add_argument("--vs", metavar="PYTHON", help="another checkout's python, measured alternately")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="housejobs-bench-") as tmp:
        # Measure what is on disk and write nothing; the job runs see none of this shell's settings.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("HOUSEJOBS_") and k not in ("CA_ROOT_API_KEY", "GOOGLE_APPLICATION_CREDENTIALS")}
        env.update(PYTHONDONTWRITEBYTECODE="1", HOUSEJOBS_STATE_DIR=str(Path(tmp) / "state"))
        jobs = {
            "housejobs --help": ("--help",),
            "housejobs config show --json": ("config", "show", "--json"),
            "housejobs quota-reset --dry-run": ("quota-reset", "--date", "2026-11-24", "--dry-run"),
        }
        commands = {"python -c 'import typer'": [sys.executable, "-c", "import typer"]}
        for name, words in jobs.items():
            commands[name] = housejobs(*words)
            if args.vs:
                commands[f"  (--vs) {name[len('housejobs '):]}"] = [args.vs, "-m", "housejobs", *words]
        for argv in commands.values():  # warm the file cache (and make the sandbox's database once)
            run(argv, args.tty, env, tmp)
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.n):
            for name, argv in commands.items():
                times[name].append(run(argv, args.tty, env, tmp))
    wall = {name: statistics.median(t[0] for t in runs) for name, runs in times.items()}
    cpu = {name: statistics.median(t[1] for t in runs) for name, runs in times.items()}
    base = "python -c 'import typer'"
    where = "in a pseudo-terminal" if args.tty else "off a terminal"
    print(f"median of {args.n} alternating runs, {where}; ratios to `import typer`"
          + (f"; (--vs) rows: {args.vs}" if args.vs else ""))
    print(f"  {'':33} {'wall':>9} {'ratio':>6} {'cpu':>9} {'ratio':>6}")
    for name in commands:
        goal = "   (goal <= 2.0)" if name == "housejobs --help" else ""
        print(f"  {name:33} {wall[name] * 1000:6.1f} ms {wall[name] / wall[base]:6.2f} "
              f"{cpu[name] * 1000:6.1f} ms {cpu[name] / cpu[base]:6.2f}{goal}")


if __name__ == "__main__":
    main()
