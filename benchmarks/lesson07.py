"""Lesson 07's budget: wall time in fast and full mode, and the kernel's peak memory.

    .venv/bin/python benchmarks/lesson07.py [--repeats N] [--mode fast|full|both]

Each run executes ``notebooks/07_putting_it_together.ipynb`` top to bottom in a fresh
kernel (``lrcourse.runner.execute_notebook``). Prints the median wall time per mode, the
largest peak RSS of the kernel (Linux VmHWM), each run's time, and the machine's load
average at the start and the end, because on a shared machine the wall time measures the
neighbours too. The issue's budget: full <= 120 s, fast <= 60 s, peak < 2 GB. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "07_putting_it_together.ipynb"
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--mode", choices=("fast", "full", "both"), default="both")
    args = parser.parse_args()
    from lrcourse.runner import execute_notebook

    modes = ("fast", "full") if args.mode == "both" else (args.mode,)
    rows = []
    for mode in modes:
        load_before = os.getloadavg()[0]
        runs = [execute_notebook(LESSON, fast=mode == "fast", timeout=1200)
                for _ in range(args.repeats)]
        failed = [f.describe() for run in runs for f in run.failures]
        if failed:
            raise SystemExit(f"lesson 07 failed in {mode} mode: {failed}")
        rows.append((mode, statistics.median(run.seconds for run in runs),
                     max(run.peak_rss_mb or 0 for run in runs),
                     [round(run.seconds, 1) for run in runs], load_before, os.getloadavg()[0]))
    print(f"{'mode':6s} {'median s':>9s} {'peak MB':>8s}  {'load 1-min start/end':>20s}  runs (s)")
    for mode, median, peak, each, before, after in rows:
        print(f"{mode:6s} {median:9.1f} {peak:8.0f}  {before:9.1f} / {after:<8.1f}  {each}")
    print(f"budget: full <= 120 s, fast <= 60 s, peak < 2048 MB on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
