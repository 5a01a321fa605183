"""Measure lesson 02 and the schedule functions, and print a table.

    .venv/bin/python benchmarks/schedules.py [--repeats N]

1. Lesson 02 wall time in fast and full mode (median of N runs) and the kernel's peak RSS.
2. Evaluating each lrcourse schedule at 1,000,000 steps as one array, and at 1,000 steps one
   Python call at a time (what LambdaLR does), median of N.
3. The overhead of the Keras adapter: a Keras fit of 900 steps with a built-in CosineDecay
   versus the same schedule through as_keras_schedule (tf.numpy_function per step).

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
LESSON = ROOT / "notebooks" / "02_schedules.ipynb"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def lesson_runs(repeats: int) -> dict[str, float]:
    from foundation import lesson_runs as timed_lesson

    return {f"lesson 02 {key}": value for key, value in timed_lesson(repeats, LESSON).items()}


def schedule_speed(repeats: int) -> dict[str, float]:
    import numpy as np

    from lrcourse import schedules as S

    recipes = {
        "exponential_decay": S.exponential_decay(0.1, 0.5, 1000),
        "piecewise_constant": S.piecewise_constant([1000, 5000], [0.1, 0.01, 0.001]),
        "cosine_restarts": S.cosine_restarts(0.1, 100, t_mul=1.5),
        "one_cycle": S.one_cycle(0.1, 1_000_000),
        "warmup_cosine (a join)": S.warmup_cosine(0.1, 1_000_000, 10_000),
    }
    steps = np.arange(1_000_000)
    result = {}
    for name, schedule in recipes.items():
        array_times, call_times = [], []
        for _ in range(repeats):
            start = time.perf_counter()
            schedule(steps)
            array_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            for step in range(1000):
                schedule(step)
            call_times.append(time.perf_counter() - start)
        result[f"{name}: 1e6 steps as an array, ms"] = 1e3 * statistics.median(array_times)
        result[f"{name}: one call, us"] = 1e3 * statistics.median(call_times)
    return result


def keras_adapter_overhead(repeats: int) -> dict[str, float]:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import keras

    from lrcourse import schedules as S
    from lrcourse.data import load_digits_split
    from lrcourse.keras_utils import as_keras_schedule

    data = load_digits_split()
    total = 20 * 45

    def fit_seconds(learning_rate) -> float:
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                                  keras.layers.Dense(10)])
        model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        start = time.perf_counter()
        model.fit(data.x_train, data.y_train, batch_size=32, epochs=20, verbose=0)
        return time.perf_counter() - start

    built_in = [fit_seconds(keras.optimizers.schedules.CosineDecay(0.5, total))
                for _ in range(repeats)]
    adapter = [fit_seconds(as_keras_schedule(S.cosine_decay(0.5, total))) for _ in range(repeats)]
    return {"Keras fit 900 steps, built-in CosineDecay, s": statistics.median(built_in),
            "Keras fit 900 steps, as_keras_schedule, s": statistics.median(adapter)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    results = {}
    results.update(schedule_speed(args.repeats))
    results.update(keras_adapter_overhead(args.repeats))
    results.update(lesson_runs(args.repeats))
    width = max(len(name) for name in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.2f}")


if __name__ == "__main__":
    main()
