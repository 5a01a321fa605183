"""Measure lesson 08: wall time in fast and full mode, peak memory per process, time per section.

    .venv/bin/python benchmarks/lesson08.py [--repeats N] [--modes fast full]

Each run is ``lrcourse run [--fast] notebooks/08_beyond_one_machine.ipynb`` in a fresh kernel,
started as a child of this script. The lesson starts more processes (two DDP workers, twice;
torchrun and its two workers; a TensorFlow process; two TensorFlow workers), so the peak
memory reported is the largest resident set of any single process of the run's tree (Linux
``wait4`` folds every reaped descendant's peak into the child's), next to the kernel's own
peak that ``lrcourse run`` prints. The issue's budget: full <= 150 s, fast <= 75 s, every
process < 2 GB. Times per section come from nbclient's cell timestamps of the median run.

Numbers go to stdout; nothing is asserted. Shared machines are noisy: read medians, and
compare with the load average printed at the end.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "08_beyond_one_machine.ipynb"


def _seconds(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def section_times(executed: Path) -> dict[str, float]:
    """Seconds spent in each '## ' section of an executed notebook."""
    notebook = json.loads(executed.read_text())
    sections: dict[str, float] = {}
    current = "setup"
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.startswith("## "):
            current = source.splitlines()[0][3:]
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            spent = _seconds(timing["shell.execute_reply"]) - _seconds(
                timing["iopub.execute_input"])
            sections[current] = sections.get(current, 0.0) + spent
    return sections


def one_run(fast: bool) -> dict:
    with tempfile.TemporaryDirectory() as build:
        command = [str(ROOT / ".venv" / "bin" / "lrcourse"), "run", str(LESSON),
                   "--build-dir", build] + (["--fast"] if fast else [])
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        row = next((line for line in output.splitlines()  # the table's row (path as given)
                    if line.split()[:1] and line.split()[0].endswith(LESSON.name)), "")
        parts = row.split()
        executed = next(Path(build).rglob("08_beyond_one_machine.ipynb"), None)
        return {"ok": os.waitstatus_to_exitcode(status) == 0 and "ok" in parts,
                "wall": wall, "lesson": float(parts[2]) if len(parts) > 3 else float("nan"),
                "kernel MB": float(parts[3]) if len(parts) > 3 else float("nan"),
                "any process MB": usage.ru_maxrss / 1024,
                "sections": section_times(executed) if executed else {}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--modes", nargs="+", choices=["fast", "full"], default=["fast", "full"])
    args = parser.parse_args(argv)
    print(f"lesson 08, {args.repeats} run(s) per mode, {os.cpu_count()} CPUs")
    print(f"{'mode':5s} {'ok':>3s} {'lesson s (median)':>18s} {'min':>7s} {'max':>7s} "
          f"{'kernel MB':>10s} {'any process MB':>15s}")
    for mode in args.modes:
        runs = [one_run(mode == "fast") for _ in range(args.repeats)]
        times = [run["lesson"] for run in runs]
        print(f"{mode:5s} {str(all(r['ok'] for r in runs)):>3s} {statistics.median(times):18.1f} "
              f"{min(times):7.1f} {max(times):7.1f} {max(r['kernel MB'] for r in runs):10.0f} "
              f"{max(r['any process MB'] for r in runs):15.0f}")
        median_run = sorted(runs, key=lambda r: r["lesson"])[len(runs) // 2]
        for section, spent in median_run["sections"].items():
            print(f"      {spent:6.1f} s  {section}")
    print(f"load average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    sys.exit(main())
