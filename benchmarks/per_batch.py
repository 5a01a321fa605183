"""What per-batch learning-rate control costs, in Keras ``fit``, in a PyTorch loop and in traces.

1. Keras: ``model.fit`` with ``lrcourse.keras_utils.BatchLearningRateScheduler`` (a one-cycle
   schedule set before every batch) against the same fit with a fixed rate.
2. PyTorch: the plain training loop with ``OneCycleLR`` stepped after every batch, and with
   ``lrcourse.torch_utils.as_lambda_lr`` (a ``LambdaLR`` evaluating the NumPy schedule), against
   the same loop with no scheduler.
3. Traces: a ``tf.function`` train step that changes the rate every step, with the rate passed as
   a tensor (held in the optimizer's variable) and as a Python float; and the three
   ``lrcourse.controllers`` inside a ``tf.function`` step with their state in variables.

Model: 64 -> Dense(32, relu) -> Dense(10) on the 1,437 training digits, batch 32 (45 steps per
epoch), one CPU thread for each framework. Before timing, each set-up is checked to apply the
scheduled rate, so the benchmark cannot time the wrong thing. Each run times one epoch after a
warm-up epoch, the set-ups taking turns; the report gives the median wall time and the median
process CPU time of an epoch over ``--repeats`` runs, and their ratios. CPU time is the steadier
of the two on a machine that other jobs share.

    .venv/bin/python benchmarks/per_batch.py --repeats 15
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

from lrcourse import schedules  # noqa: E402
from lrcourse.controllers import (  # noqa: E402
    CyclicalLossController,
    GradientNormController,
    LossTrendController,
    backend_ops,
)
from lrcourse.data import load_digits_split  # noqa: E402
from lrcourse.keras_utils import BatchLearningRateScheduler, LearningRateLogger  # noqa: E402
from lrcourse.torch_utils import as_lambda_lr  # noqa: E402

BATCH = 32
PEAK = 0.5
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


# ---------------------------------------------------------------------------------------
# Keras fit


class KerasFit:
    """A compiled model; ``epoch()`` runs one ``fit`` epoch with the given callbacks."""

    def __init__(self, data, callbacks):
        keras.utils.set_random_seed(0)
        self.model = keras.Sequential([keras.Input((64,)),
                                       keras.layers.Dense(32, activation="relu"),
                                       keras.layers.Dense(10)])
        self.model.compile(optimizer=keras.optimizers.SGD(PEAK), loss=LOSS)
        self.data = data
        self.callbacks = callbacks

    def epoch(self) -> None:
        self.model.fit(self.data.x_train, self.data.y_train, batch_size=BATCH, epochs=1,
                       verbose=0, shuffle=False, callbacks=self.callbacks)


def check_keras(data, schedule) -> None:
    logger = LearningRateLogger()
    runner = KerasFit(data, [logger, BatchLearningRateScheduler(schedule)])
    runner.epoch()
    runner.epoch()
    steps = np.arange(len(logger.history["learning_rate"])) + logger.steps[0]
    np.testing.assert_allclose(logger.history["learning_rate"], schedule(steps), rtol=1e-6)


# ---------------------------------------------------------------------------------------
# PyTorch loop


class TorchLoop:
    """The plain loop; ``make_scheduler(optimizer)`` or None."""

    def __init__(self, data, make_scheduler):
        torch.manual_seed(0)
        self.model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(),
                                         torch.nn.Linear(32, 10))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=PEAK)
        self.scheduler = make_scheduler(self.optimizer) if make_scheduler else None
        x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
        self.batches = [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x), BATCH)]

    def epoch(self) -> None:
        for x, y in self.batches:
            self.optimizer.zero_grad()
            torch.nn.functional.cross_entropy(self.model(x), y).backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()


def check_torch(data, make_scheduler, schedule, epochs: int) -> None:
    runner = TorchLoop(data, make_scheduler)
    used = []
    runner.optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: used.append(opt.param_groups[0]["lr"]))
    for _ in range(epochs):
        runner.epoch()
    np.testing.assert_allclose(used, schedule(np.arange(len(used))), rtol=1e-9)


# ---------------------------------------------------------------------------------------
# Traces


def trace_counts(data, rates) -> dict:
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(10)])
    optimizer = keras.optimizers.SGD(PEAK)
    optimizer.build(model.trainable_variables)

    def step(x, y, rate):
        optimizer.learning_rate.assign(rate)
        with tf.GradientTape() as tape:
            loss = LOSS(y, model(x, training=True))
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables, strict=True))

    spec = [tf.TensorSpec([None, 64], tf.float32), tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([], tf.float32)]
    with_tensor, with_float = tf.function(step, input_signature=spec), tf.function(step)
    batches = [(data.x_train[i:i + BATCH], data.y_train[i:i + BATCH])
               for i in range(0, len(data.x_train), BATCH)]
    for (x, y), rate in zip(batches, rates, strict=True):
        with_tensor(x, y, tf.constant(rate, tf.float32))
        with_float(tf.constant(x), tf.constant(y), float(rate))
    counts = {"rate as a tensor": with_tensor.experimental_get_tracing_count(),
              "rate as a Python float": with_float.experimental_get_tracing_count()}

    controllers = {
        "GradientNormController": (GradientNormController(0.1, smoothing=0.9), "grad_norm"),
        "LossTrendController": (LossTrendController(0.1, window=10, max_lr=PEAK), "loss"),
        "CyclicalLossController": (CyclicalLossController(
            schedules.cosine_restarts(PEAK, 20, t_mul=1.0, alpha=0.1)), "loss"),
    }
    ops = backend_ops("tensorflow")
    for name, (controller, signal) in controllers.items():
        fresh = controller.init(ops)
        state = [tf.Variable(value) for value in fresh]

        def controlled(x, y, controller=controller, signal=signal, fresh=fresh, state=state):
            with tf.GradientTape() as tape:
                loss = LOSS(y, model(x, training=True))
            gradients = tape.gradient(loss, model.trainable_variables)
            measured = {"loss": loss, "grad_norm": tf.linalg.global_norm(gradients)}[signal]
            rate, new = controller.update(type(fresh)(*state), ops, **{signal: measured})
            for variable, value in zip(state, new, strict=True):
                variable.assign(value)
            optimizer.learning_rate.assign(rate)
            optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))

        compiled = tf.function(controlled, input_signature=spec[:2])
        for x, y in batches:
            compiled(x, y)
        counts[name] = compiled.experimental_get_tracing_count()
    return counts


def timed(runners: dict, repeats: int) -> tuple[dict, dict]:
    """Median wall time and median process CPU time of one epoch, per set-up."""
    for runner in runners.values():
        runner.epoch()  # warm-up: tracing, building, first allocations
    wall = {label: [] for label in runners}
    cpu = {label: [] for label in runners}
    for _ in range(repeats):  # interleaved, so drift in machine load hits every set-up alike
        for label, runner in runners.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            runner.epoch()
            wall[label].append(time.perf_counter() - start)
            cpu[label].append(time.process_time() - start_cpu)
    return ({label: statistics.median(values) for label, values in wall.items()},
            {label: statistics.median(values) for label, values in cpu.items()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    data = load_digits_split(seed=0)
    steps_per_epoch = math.ceil(len(data.x_train) / BATCH)
    total = (args.repeats + 2) * steps_per_epoch  # long enough for every epoch that runs
    schedule = schedules.one_cycle(PEAK, total)

    check_keras(data, schedule)
    keras_times = timed({
        "Keras fit, fixed rate": KerasFit(data, []),
        "Keras fit, BatchLearningRateScheduler": KerasFit(
            data, [BatchLearningRateScheduler(schedule)]),
    }, args.repeats)

    def one_cycle(optimizer):
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=PEAK, total_steps=total,
                                                   cycle_momentum=False)

    def lambda_lr(optimizer):
        return as_lambda_lr(optimizer, schedule)

    check_torch(data, one_cycle, schedule, 2)
    check_torch(data, lambda_lr, schedule, 2)
    torch_times = timed({
        "PyTorch loop, no scheduler": TorchLoop(data, None),
        "PyTorch loop, OneCycleLR per batch": TorchLoop(data, one_cycle),
        "PyTorch loop, as_lambda_lr per batch": TorchLoop(data, lambda_lr),
    }, args.repeats)

    print(f"median epoch time over {args.repeats} epochs of {steps_per_epoch} steps "
          f"(batch {BATCH}, digits MLP, one thread per framework):")
    print(f"  {'set-up':40s} {'wall ms':>9s} {'CPU ms':>9s}")
    for label in {**keras_times[0], **torch_times[0]}:
        times = keras_times if label in keras_times[0] else torch_times
        print(f"  {label:40s} {times[0][label] * 1e3:9.2f} {times[1][label] * 1e3:9.2f}")
    for kind, index in (("wall", 0), ("CPU", 1)):
        fixed, scheduled = keras_times[index].values()
        none, cycle, wrapped = torch_times[index].values()
        print(f"ratios of median {kind} time:")
        print(f"  Keras BatchLearningRateScheduler / fixed rate:  {scheduled / fixed:.3f}"
              "  (target <= 1.05)")
        print(f"  PyTorch OneCycleLR per batch / no scheduler:    {cycle / none:.3f}"
              "  (target <= 1.02)")
        print(f"  PyTorch as_lambda_lr per batch / no scheduler:  {wrapped / none:.3f}")

    rates = schedule(np.arange(steps_per_epoch))
    print(f"\ntf.function traces over one epoch ({steps_per_epoch} steps, "
          f"{len(set(rates.tolist()))} distinct rates):")
    for label, count in trace_counts(data, rates).items():
        print(f"  {label:40s} {count:4d}")


if __name__ == "__main__":
    main()
