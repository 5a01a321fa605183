"""Measure lesson 05 and the pieces the issue names, and print a table.

    .venv/bin/python benchmarks/adaptive_optimizers.py [--repeats N] [--skip-lesson]

1. Lesson 05 wall time in fast and full mode (median of N runs), the kernel's peak RSS, and
   how the median full run splits over the lesson's sections (nbclient's cell timings).
2. The parity checks: every lrcourse rule against its Keras and PyTorch optimizer over 120
   steps, as the lesson runs them (eager Keras ``apply_gradients``, PyTorch ``step``).
3. The trajectories: every rule on the three 2-D surfaces, 60 + 2 x 1,000 steps, with and
   without drawing the contour figure.
4. One NumPy update of each rule on a 10,000-parameter array, in microseconds.

Numbers go to stdout; nothing is asserted. Shared machines are noisy: read medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "05_adaptive_optimizers.ipynb"
sys.path.insert(0, str(ROOT))


def median_seconds(function, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def parity_seconds(repeats: int) -> dict[str, float]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras
    import numpy as np
    import torch

    from lrcourse import optimizers as O

    rng = np.random.default_rng(0)
    start = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    grads = [[rng.standard_normal((3, 4)), rng.standard_normal(4)] for _ in range(120)]
    lr = 2.0**-6
    cases = {
        "sgd": (O.sgd(lr, momentum=0.875), lambda: keras.optimizers.SGD(lr, momentum=0.875),
                lambda p: torch.optim.SGD(p, lr=lr, momentum=0.875)),
        "adagrad": (O.adagrad(lr), lambda: keras.optimizers.Adagrad(lr),
                    lambda p: torch.optim.Adagrad(p, lr=lr)),
        "rmsprop": (O.rmsprop(lr), lambda: keras.optimizers.RMSprop(lr),
                    lambda p: torch.optim.RMSprop(p, lr=lr)),
        "adam": (O.adam(lr), lambda: keras.optimizers.Adam(lr),
                 lambda p: torch.optim.Adam(p, lr=lr)),
        "adamw": (O.adamw(lr), lambda: keras.optimizers.AdamW(lr),
                  lambda p: torch.optim.AdamW(p, lr=lr)),
    }

    def numpy_runs():
        for rule, _, _ in cases.values():
            params, state = start, rule.init(start)
            for g in grads:
                params, state = rule.update(params, g, state)

    def keras_runs():
        for _, make, _ in cases.values():
            optimizer = make()
            variables = [keras.Variable(p, dtype="float64") for p in start]
            for g in grads:
                optimizer.apply_gradients(zip(
                    [keras.ops.convert_to_tensor(x, dtype="float64") for x in g], variables,
                    strict=True))

    def torch_runs():
        for _, _, make in cases.values():
            params = [torch.tensor(p, requires_grad=True) for p in start]
            optimizer = make(params)
            for g in grads:
                for p, x in zip(params, g, strict=True):
                    p.grad = torch.tensor(x)
                optimizer.step()

    return {
        "parity, 5 rules x 120 steps: lrcourse (NumPy), s": median_seconds(numpy_runs, repeats),
        "parity, 5 rules x 120 steps: Keras eager, s": median_seconds(keras_runs, repeats),
        "parity, 5 rules x 120 steps: PyTorch, s": median_seconds(torch_runs, repeats),
    }


def trajectory_seconds(repeats: int) -> dict[str, float]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from lrcourse import optimizers as O
    from lrcourse.data import beale, ill_conditioned_quadratic, rosenbrock
    from lrcourse.plotting import plot_trajectories

    surfaces = [(ill_conditioned_quadratic(50.0), 60), (rosenbrock(), 1000), (beale(), 1000)]
    rules = [O.sgd(1e-3), O.sgd(5e-4, momentum=0.9), O.adagrad(0.5), O.rmsprop(0.01),
             O.adam(0.05)]

    def compute():
        return [[np.array(O.run(rule, np.array(s.start), s.gradient, steps)) for rule in rules]
                for s, steps in surfaces]

    def compute_and_draw():
        paths = compute()
        fig, axes = plt.subplots(1, 3, figsize=(17, 5))
        for ax, (surface, _), runs in zip(axes, surfaces, paths, strict=True):
            plot_trajectories(surface, {str(i): p for i, p in enumerate(runs)}, ax=ax)
        fig.canvas.draw()
        plt.close(fig)

    return {"trajectories, 5 rules x 3 surfaces (2,060 steps each), s":
            median_seconds(compute, repeats),
            "trajectories computed and drawn (3 contour panels), s":
            median_seconds(compute_and_draw, repeats)}


def step_microseconds(repeats: int) -> dict[str, float]:
    import numpy as np

    from lrcourse import optimizers as O

    w = np.random.default_rng(0).standard_normal(10_000)
    g = np.random.default_rng(1).standard_normal(10_000)
    result = {}
    for name, rule in (("sgd", O.sgd(0.1, momentum=0.9)), ("adagrad", O.adagrad(0.1)),
                       ("rmsprop", O.rmsprop(0.01)), ("adam", O.adam(0.001)),
                       ("adamw", O.adamw(0.001))):
        state = rule.init(w)

        def hundred_steps(rule=rule, state=state):
            for _ in range(100):
                rule.update(w, g, state)

        result[f"one {name} step on 10,000 parameters, us"] = (
            1e4 * median_seconds(hundred_steps, repeats))
    return result


def section_seconds(notebook) -> dict[str, float]:
    """Seconds spent in each ``## `` section of an executed notebook (nbclient's timings)."""
    from datetime import datetime

    def moment(stamp: str) -> datetime:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00"))

    section, totals = "setup", {}
    for cell in notebook.cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            section = cell.source.splitlines()[0][3:].split(":")[0]
        timing = cell.metadata.get("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in timing:
            seconds = (moment(timing["shell.execute_reply"])
                       - moment(timing["iopub.execute_input"])).total_seconds()
            totals[section] = totals.get(section, 0.0) + seconds
    return totals


def lesson_runs(repeats: int) -> dict[str, float]:
    """Median wall time per mode, peak kernel RSS, and the full run's time per section."""
    from foundation import timed_runs

    result: dict[str, float] = {}
    for mode, fast in (("fast", True), ("full", False)):
        runs = timed_runs(LESSON, fast=fast, repeats=repeats)
        result[f"lesson 05 {mode} s"] = statistics.median(run.seconds for run in runs)
        result[f"lesson 05 {mode} peak MB"] = max(run.peak_rss_mb or 0 for run in runs)
        if not fast:
            median_run = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
            for section, seconds in section_seconds(median_run.notebook).items():
                result[f"  full mode, section {section[:44]}, s"] = seconds
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-lesson", action="store_true", help="skip the lesson runs")
    args = parser.parse_args()
    results: dict[str, float] = {}
    results.update(parity_seconds(args.repeats))
    results.update(trajectory_seconds(args.repeats))
    results.update(step_microseconds(args.repeats))
    if not args.skip_lesson:
        results.update(lesson_runs(args.repeats))
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.2f}")


if __name__ == "__main__":
    main()
