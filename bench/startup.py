"""Start-up cost: `housejobs --help` beside `python -c "import typer"`, measured side by side.

Runs each command alternately N times (so machine noise hits both alike) and prints the medians and
their ratio. Off a terminal (a pipe, CI, Cloud Run) help is plain text; `--tty` measures it in a
pseudo-terminal.   Usage: python -m bench.startup [-n 30] [--tty]
"""

from __future__ import annotations

import argparse
import os
import pty
import statistics
import subprocess
import sys
import time


def run(argv: list[str], tty: bool) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # measure what is on disk, write nothing
    start = time.perf_counter()
    if tty:
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(argv, stdout=secondary, stderr=secondary, env=env)
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
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=30)
    parser.add_argument("--tty", action="store_true", help="run both in a pseudo-terminal")
    args = parser.parse_args()
    typer_cmd = [sys.executable, "-c", "import typer"]
    help_cmd = [sys.executable, "-m", "housejobs", "--help"]
    job_cmd = [sys.executable, "-c", "import housejobs.cli.main, housejobs.api.client, housejobs.jobs.admin"]
    run(help_cmd, args.tty)  # warm the file cache
    base, helps, jobs = [], [], []
    for _ in range(args.n):
        base.append(run(typer_cmd, args.tty))
        helps.append(run(help_cmd, args.tty))
        jobs.append(run(job_cmd, args.tty))
    b, h, j = statistics.median(base), statistics.median(helps), statistics.median(jobs)
    where = "in a pseudo-terminal" if args.tty else "off a terminal"
    print(f"start-up, median of {args.n} alternating runs, {where}")
    print(f"  python -c 'import typer'       {b * 1000:6.1f} ms")
    print(f"  housejobs --help               {h * 1000:6.1f} ms   ratio {h / b:.2f} (goal <= 2.0)")
    print(f"  import of an API-only job path {j * 1000:6.1f} ms   ratio {j / b:.2f}")


if __name__ == "__main__":
    main()
