"""Measure what the foundation issue asks for and print a table.

    .venv/bin/python benchmarks/foundation.py [--skip-clone] [--repeats N]

1. `make test` on a fresh clone, setup (creating .venv) and tests timed separately, then
   `make test-fast`; how many times `make test` executed each notebook (nbval, the course's
   runner, and JupyterLab in the browser, read from the runs' logs).
2. Lesson 01 wall time in fast and full mode (median of N runs), and the kernel's peak RSS
   in full mode (VmHWM of the kernel process).
3. `import lrcourse` time in a fresh interpreter (median of N).
4. Two fast runs of lesson 01 side by side, with and without one compute thread per kernel.

Numbers go to stdout; nothing is asserted. Shared machines are noisy: read medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "01_fixed_learning_rate.ipynb"
sys.path.insert(0, str(ROOT))


def timed(command: list[str], cwd: Path, env: dict | None = None) -> float:
    start = time.monotonic()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def fresh_clone_make_test() -> dict[str, object]:
    """Times of `make setup`, `make test`, `make test-fast` in a fresh clone, and executions."""
    import json
    import os
    from collections import Counter

    with tempfile.TemporaryDirectory() as directory:
        clone = Path(directory) / "lrcourse"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        log = Path(directory) / "executions.log"
        env = {**os.environ, "LRCOURSE_EXECUTION_LOG": str(log)}
        result: dict[str, object] = {"setup": timed(["make", "setup"], clone)}
        result["test"] = timed(["make", "test"], clone, env=env)
        result["test-fast"] = timed(["make", "test-fast"], clone)
        runs = Counter()
        for line in log.read_text().splitlines() if log.is_file() else []:
            tool, path = line.split(" ", 1)
            if Path(path).is_relative_to(clone):
                runs[Path(path).relative_to(clone).as_posix()] += 1
        browser = clone / "build" / "screenshots" / "timings.json"
        for lesson in json.loads(browser.read_text()) if browser.is_file() else []:
            runs[f"notebooks/{lesson}.ipynb"] += 1
        result["executions"] = runs
    return result


def timed_runs(lesson: Path, *, fast: bool, repeats: int) -> list:
    """``repeats`` fresh-kernel runs of ``lesson``; exits naming the failures if any run fails."""
    from lrcourse.runner import execute_notebook

    runs = [execute_notebook(lesson, fast=fast, timeout=1200) for _ in range(repeats)]
    failed = [f.describe() for run in runs for f in run.failures]
    if failed:
        raise SystemExit(f"{lesson.name} failed in {'fast' if fast else 'full'} mode: {failed}")
    return runs


def lesson_runs(repeats: int, lesson: Path = LESSON) -> dict[str, object]:
    """Median wall time per mode and peak kernel RSS of ``lesson`` (also used by schedules.py)."""
    result: dict[str, object] = {}
    for mode, fast in (("fast", True), ("full", False)):
        runs = timed_runs(lesson, fast=fast, repeats=repeats)
        result[f"{mode} s"] = statistics.median(run.seconds for run in runs)
        result[f"{mode} peak MB"] = max(run.peak_rss_mb or 0 for run in runs)
    return result


def import_time(repeats: int) -> float:
    code = "import time; t = time.perf_counter(); import lrcourse; print(time.perf_counter() - t)"
    samples = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    check=True).stdout) for _ in range(repeats)]
    return statistics.median(samples)


def threads_comparison() -> dict[str, float]:
    """Two fast runs of lesson 01 at once (as `make test -n 2` does), with and without a cap."""
    lrcourse = str(Path(sys.executable).with_name("lrcourse"))
    out = {}
    for label, extra in (("default threads", []), ("1 thread per kernel", ["--threads", "1"])):
        with tempfile.TemporaryDirectory() as build:
            start = time.monotonic()
            processes = [
                subprocess.Popen([lrcourse, "run", str(LESSON), "--fast", "--build-dir",
                                  f"{build}/{i}", *extra], cwd=ROOT, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
                for i in range(2)
            ]
            if any(process.wait() for process in processes):
                raise SystemExit(f"lesson 01 failed with {label}")
            out[label] = time.monotonic() - start
    return out


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__)
    options.add_argument("--skip-clone", action="store_true", help="skip the fresh-clone run")
    options.add_argument("--repeats", type=int, default=3)
    args = options.parse_args()
    rows: list[tuple[str, str]] = []
    rows.append(("import lrcourse (median)", f"{import_time(max(args.repeats, 5)) * 1000:.0f} ms"))
    for key, value in lesson_runs(args.repeats).items():
        rows.append((f"lesson 01 {key}", f"{value:.1f}"))
    for key, value in threads_comparison().items():
        rows.append((f"2 x lesson 01 fast side by side, {key}", f"{value:.1f} s"))
    if not args.skip_clone:
        clone = fresh_clone_make_test()
        rows.append(("fresh clone: make setup", f"{clone['setup']:.0f} s"))
        rows.append(("fresh clone: make test (after setup)", f"{clone['test']:.0f} s"))
        total = clone["setup"] + clone["test"]
        rows.append(("fresh clone: make setup + make test", f"{total:.0f} s"))
        rows.append(("fresh clone: make test-fast", f"{clone['test-fast']:.0f} s"))
        runs = clone["executions"]
        lessons = sorted(name for name in runs if name.startswith("notebooks/"))
        rows.append(("notebooks executed by make test", str(len(runs))))
        rows.append(("most executions of one notebook", str(max(runs.values(), default=0))))
        for name in lessons:
            rows.append((f"  executions of {name}", str(runs[name])))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
