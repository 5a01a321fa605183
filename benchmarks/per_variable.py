"""Train-step time of three Keras ways to give two layers their own learning rates.

1. seed-style: a custom loop whose ``tf.function`` step applies two ``SGD`` optimizers,
   one per layer (seed 000's first recipe, with the optimizers built before the first call);
2. ``keras.optimizers.MultiOptimizer`` with an ``OptimizerMap``, inside ``model.fit``;
3. ``lrcourse.keras_utils.multi_optimizer`` (which builds a ``MultiOptimizer``), inside ``fit``.

Model: 64 -> Dense(32, relu) "features" -> Dense(10) "classifier" on the 1,437 training digits,
batch 32 (45 steps per epoch). Before timing, each set-up is checked to move the features
kernel by 0.1 x the gradient step of the classifier's rate, so the benchmark cannot time the
wrong thing. Each run times one epoch (a ``fit`` call's fixed cost included) after a warm-up
epoch, the three set-ups taking turns; the report gives the median per-step time over
``--repeats`` runs and the ratios.

    .venv/bin/python benchmarks/per_variable.py --repeats 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from lrcourse.data import load_digits_split  # noqa: E402
from lrcourse.keras_utils import multi_optimizer  # noqa: E402

BATCH = 32
FAST, SLOW = 0.1, 0.01
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def make_model() -> keras.Model:
    keras.utils.set_random_seed(0)
    inputs = keras.Input((64,))
    hidden = keras.layers.Dense(32, activation="relu", name="features")(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, name="classifier")(hidden))


class SeedStyle:
    """Two SGD optimizers applied in one compiled step."""

    def __init__(self, model: keras.Model):
        self.model = model
        self.features = model.get_layer("features").trainable_variables
        self.classifier = model.get_layer("classifier").trainable_variables
        self.slow, self.fast = keras.optimizers.SGD(SLOW), keras.optimizers.SGD(FAST)
        self.slow.build(self.features)
        self.fast.build(self.classifier)
        self.step = tf.function(self._step)

    def _step(self, x, y):
        with tf.GradientTape() as tape:
            loss = LOSS(y, self.model(x, training=True))
        grads = tape.gradient(loss, self.features + self.classifier)
        n = len(self.features)
        self.slow.apply_gradients(zip(grads[:n], self.features, strict=True))
        self.fast.apply_gradients(zip(grads[n:], self.classifier, strict=True))
        return loss

    def epoch(self, dataset) -> None:
        for x, y in dataset:
            self.step(x, y)


class InFit:
    """A compiled model trained with ``fit``."""

    def __init__(self, model: keras.Model, optimizer):
        self.model = model
        model.compile(optimizer=optimizer, loss=LOSS)

    def epoch(self, dataset) -> None:
        self.model.fit(dataset, epochs=1, verbose=0, shuffle=False)


def set_ups() -> dict:
    def keras_map(model):
        return keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(
            keras.optimizers.SGD(FAST), {"features/.*": keras.optimizers.SGD(SLOW)}))

    def helper(model):
        return multi_optimizer(model, {"features": SLOW / FAST}, keras.optimizers.SGD(FAST))

    return {
        "seed-style two-optimizer tf.function loop": lambda: SeedStyle(make_model()),
        "MultiOptimizer inside model.fit": lambda: InFit(m := make_model(), keras_map(m)),
        "lrcourse multi_optimizer inside model.fit": lambda: InFit(m := make_model(), helper(m)),
    }


def check_rates(runner, x, y) -> None:
    """One step on one batch moves each layer's kernel by its own rate times the gradient."""
    model = runner.model
    with tf.GradientTape() as tape:
        loss = LOSS(y, model(x, training=True))
    kernels = [model.get_layer(n).kernel for n in ("features", "classifier")]
    grads = [g.numpy() for g in tape.gradient(loss, kernels)]
    before = [k.numpy().copy() for k in kernels]
    runner.epoch(tf.data.Dataset.from_tensor_slices((x, y)).batch(len(x)))
    for kernel, start, grad, rate in zip(kernels, before, grads, (SLOW, FAST), strict=True):
        np.testing.assert_allclose(start - kernel.numpy(), rate * grad, rtol=1e-3, atol=1e-7)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    data = load_digits_split(seed=0)
    dataset = tf.data.Dataset.from_tensor_slices((data.x_train, data.y_train)).batch(BATCH).cache()
    steps = int(dataset.cardinality())
    runners = {}
    for label, build in set_ups().items():
        check_rates(build(), data.x_train[:BATCH], data.y_train[:BATCH])
        runners[label] = build()
        runners[label].epoch(dataset)  # warm-up: tracing and building
    times = {label: [] for label in runners}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits all three alike
        for label, runner in runners.items():
            start = time.perf_counter()
            runner.epoch(dataset)
            times[label].append(time.perf_counter() - start)
    per_step = {label: statistics.median(t) / steps for label, t in times.items()}
    for label, value in per_step.items():
        print(f"{label:44s} {value * 1e3:7.3f} ms per step "
              f"(median of {args.repeats} epochs of {steps} steps)")
    seed, keras_map, helper = per_step.values()
    print(f"ratio MultiOptimizer-in-fit / seed-style loop:  {keras_map / seed:.2f}")
    print(f"ratio lrcourse helper / seed-style loop:        {helper / seed:.2f}")
    print(f"ratio lrcourse helper / MultiOptimizer-in-fit:  {helper / keras_map:.2f}")


if __name__ == "__main__":
    main()
