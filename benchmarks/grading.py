"""How long the grader takes: one notebook, and a class of copies graded in parallel.

    .venv/bin/python benchmarks/grading.py [--repeats 3] [--copies 30] [--jobs 2] [--lesson 01]

1. One check: ``lrcourse check`` on the lesson's solution notebook (both phases, sandboxed
   when bubblewrap works), median of ``--repeats`` runs.
2. A class: ``--copies`` copies of the same solution in one folder, graded by ``lrcourse
   grade --jobs N`` (each copy in its own fresh processes), median of ``--repeats`` runs.

Reported: both wall times, the class time divided by one check (30 copies graded one after
the other would be about 30), and the isolation in use. Both go through the command line
exactly as a user types it, so start-up costs count. Every run must grade everything PASS,
else the script stops with the output. Shared machines are noisy: read medians, and rerun on
a quiet machine for the figure that counts.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LRCOURSE = [sys.executable, "-m", "lrcourse.cli"]


def timed(argv: list[str]) -> float:
    start = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    seconds = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--lesson", default="01")
    args = parser.parse_args()

    from lrcourse.checks import grading

    solution = next((ROOT / "solutions").glob(f"{args.lesson}_*.ipynb"))
    folder = Path(tempfile.mkdtemp(prefix="lrcourse-bench-"))
    try:
        for copy in range(args.copies):
            shutil.copy(solution, folder / f"{args.lesson}_student{copy:02d}.ipynb")
        one, many = [], []
        for _ in range(args.repeats):
            one.append(timed([*LRCOURSE, "check", str(solution)]))
            many.append(timed([*LRCOURSE, "grade", str(folder), "--lesson", args.lesson,
                               "--jobs", str(args.jobs), "--csv", str(folder / "scores.csv")]))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    single, group = statistics.median(one), statistics.median(many)
    print(f"isolation: {grading.isolation()}")
    print(f"lesson {args.lesson}, {args.repeats} repeats (median; all runs: one check "
          f"{[round(s, 1) for s in one]}, class {[round(s, 1) for s in many]})")
    print(f"{'what':<40} {'wall s':>8}")
    print(f"{'lrcourse check (one notebook)':<40} {single:8.1f}")
    print(f"{f'lrcourse grade ({args.copies} copies, --jobs {args.jobs})':<40} {group:8.1f}")
    print(f"class / one check: {group / single:.1f} (grading the copies one after the other "
          f"would be about {args.copies})")


if __name__ == "__main__":
    main()
