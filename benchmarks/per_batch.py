"""What per-batch learning-rate control costs, in Keras ``fit``, in a PyTorch loop and in traces.

1. Keras: ``model.fit`` with ``lrcourse.keras_utils.BatchLearningRateScheduler`` (a one-cycle
   schedule set before every batch) against the same fit with a fixed rate.
2. PyTorch: the plain training loop with ``OneCycleLR`` stepped after every batch, and with
   ``lrcourse.torch_utils.as_lambda_lr`` (a ``LambdaLR`` evaluating the NumPy schedule), against
   the same loop with no scheduler.
3. Traces: a ``tf.function`` train step that changes the rate every step, with the rate passed as
   a tensor (held in the optimizer's variable) and as a Python float; and the three
   ``lrcourse.controllers`` inside a ``tf.function`` step with their state in variables.

Models: 64 -> Dense(32, relu) -> Dense(10) (small: the scheduler's share is largest) and
64 -> Dense(256, relu) -> Dense(256, relu) -> Dense(10) (a more usual size), on the 1,437
training digits, batch 32 (45 steps per epoch), one CPU thread for each framework. Before
timing, each set-up is checked to apply the scheduled rate, so the benchmark cannot time the
wrong thing. The set-ups of one framework and size share model, data and initial weights;
each gets a warm-up epoch (tracing, building, first allocations), then they take turns,
``--repeats`` rounds, in an order that rotates every round, after a ``gc.collect()``.

Keras: ``fit(epochs=1)`` is called once per epoch, and two times are taken: the epoch
itself, from ``on_epoch_begin`` to ``on_epoch_end`` (what a long ``fit`` pays every epoch;
the ratio the issue targets), and the whole call, whose fixed cost (adapting the arrays to a
dataset, building the callback list) dilutes the per-batch cost. Two diagnostic set-ups
show what Keras itself costs: a callback with an empty ``on_train_batch_begin`` (hook calls,
no work) and one with an empty ``on_train_batch_end`` (which turns off Keras 3's
asynchronous dispatch of batch-end hooks, so the loss is converted on the main thread).
Keras 3 calls every batch hook whether or not a callback defines it, and the begin hooks get
no logs, so neither costs much; what the scheduler pays is one schedule call, one read of
``optimizer.iterations`` and one eager TensorFlow operation per batch (the assignment of
the rate), and TensorFlow runs the compiled step that follows any eager kernel some tens
of microseconds slower.
PyTorch: besides ``OneCycleLR`` and ``as_lambda_lr``, a loop that writes the precomputed
rate into ``param_groups`` by hand shows the cost without ``LRScheduler``'s machinery.

The report gives the median wall time and the median process CPU time over the rounds, and
their ratios. CPU time is the steadier of the two on a machine that other jobs share.

    .venv/bin/python benchmarks/per_batch.py --repeats 41
"""

from __future__ import annotations

import argparse
import gc
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
SIZES = {"small": (32,), "larger": (256, 256)}  # hidden widths
LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


# ---------------------------------------------------------------------------------------
# Keras fit


def keras_model(widths) -> keras.Model:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((64,)),
                             *[keras.layers.Dense(width, activation="relu") for width in widths],
                             keras.layers.Dense(10)])


class EpochTimer(keras.callbacks.Callback):
    """Wall and CPU time from ``on_epoch_begin`` to ``on_epoch_end`` (first in the list)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.elapsed = (time.perf_counter() - self.start[0], time.process_time() - self.start[1])


class EmptyBatchBegin(keras.callbacks.Callback):
    """Diagnostic: a batch-begin hook that does nothing."""

    def on_train_batch_begin(self, batch, logs=None):
        pass


class EmptyBatchEnd(keras.callbacks.Callback):
    """Diagnostic: a batch-end hook that does nothing (Keras then calls it synchronously)."""

    def on_train_batch_end(self, batch, logs=None):
        pass


class KerasFit:
    """A compiled model; ``epoch()`` runs one ``fit`` epoch with the given callbacks."""

    def __init__(self, data, callbacks, widths):
        self.model = keras_model(widths)
        self.model.compile(optimizer=keras.optimizers.SGD(PEAK), loss=LOSS)
        self.data = data
        self.timer = EpochTimer()
        self.callbacks = [self.timer, *callbacks]

    def epoch(self) -> dict:
        """``{"epoch": (wall, cpu), "fit call": (wall, cpu)}`` in seconds."""
        start, start_cpu = time.perf_counter(), time.process_time()
        self.model.fit(self.data.x_train, self.data.y_train, batch_size=BATCH, epochs=1,
                       verbose=0, shuffle=False, callbacks=self.callbacks)
        call = (time.perf_counter() - start, time.process_time() - start_cpu)
        return {"epoch": self.timer.elapsed, "fit call": call}


def check_keras(data, schedule, widths) -> None:
    logger = LearningRateLogger()
    runner = KerasFit(data, [logger, BatchLearningRateScheduler(schedule)], widths)
    runner.epoch()
    runner.epoch()
    steps = np.arange(len(logger.history["learning_rate"])) + logger.steps[0]
    np.testing.assert_allclose(logger.history["learning_rate"], schedule(steps), rtol=1e-6)


# ---------------------------------------------------------------------------------------
# PyTorch loop


def torch_model(widths) -> torch.nn.Module:
    torch.manual_seed(0)
    layers, width_in = [], 64
    for width in widths:
        layers += [torch.nn.Linear(width_in, width), torch.nn.ReLU()]
        width_in = width
    return torch.nn.Sequential(*layers, torch.nn.Linear(width_in, 10))


class TorchLoop:
    """The plain loop; ``make_scheduler(optimizer)`` or None; or ``rates`` written by hand."""

    def __init__(self, data, make_scheduler, widths, rates=None):
        self.model = torch_model(widths)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=PEAK)
        self.scheduler = make_scheduler(self.optimizer) if make_scheduler else None
        self.rates, self.step = rates, 0
        x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
        self.batches = [(x[i:i + BATCH], y[i:i + BATCH]) for i in range(0, len(x), BATCH)]

    def epoch(self) -> dict:
        """``{"epoch": (wall, cpu)}`` in seconds."""
        start, start_cpu = time.perf_counter(), time.process_time()
        for x, y in self.batches:
            if self.rates is not None:
                self.optimizer.param_groups[0]["lr"] = self.rates[self.step]
                self.step += 1
            self.optimizer.zero_grad()
            torch.nn.functional.cross_entropy(self.model(x), y).backward()
            self.optimizer.step()
            if self.scheduler is not None:
                self.scheduler.step()
        return {"epoch": (time.perf_counter() - start, time.process_time() - start_cpu)}


def check_torch(runner: TorchLoop, schedule, epochs: int) -> None:
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


def eager_op_cost(data, rounds: int = 30, calls: int = 100) -> dict:
    """CPU time of one compiled Keras train step, alone and after other work, in seconds.

    The median over ``rounds`` of the mean over ``calls`` steps: the step alone; after the
    rate assignment ``BatchLearningRateScheduler`` makes (Keras's ``variable.assign`` of a
    Python float); after an unrelated eager kernel (``tf.identity``); after 15 us of plain
    Python.
    """
    model = keras_model(SIZES["small"])
    model.compile(optimizer=keras.optimizers.SGD(PEAK), loss=LOSS)
    x, y = tf.constant(data.x_train[:BATCH]), tf.constant(data.y_train[:BATCH])
    step = tf.function(lambda x, y: model.train_step((x, y)))
    step(x, y)
    rates = tf.unstack(tf.constant(np.full(calls, PEAK), dtype=tf.float32))
    variable = model.optimizer.learning_rate

    def busy(seconds):
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            pass

    variants = {
        "compiled step alone": lambda i: step(x, y),
        "after the rate assignment": lambda i: (variable.assign(PEAK), step(x, y)),
        "after a tf.identity": lambda i: (tf.identity(rates[i]), step(x, y)),
        "after 15 us of Python": lambda i: (busy(15e-6), step(x, y)),
        "the rate assignment alone": lambda i: variable.assign(PEAK),
    }
    samples = {label: [] for label in variants}
    for _ in range(rounds):
        for label, run in variants.items():
            start = time.process_time()
            for i in range(calls):
                run(i)
            samples[label].append((time.process_time() - start) / calls)
    return {label: statistics.median(values) for label, values in samples.items()}


RATIOS = [  # (set-up, baseline, measure, target)
    ("Keras BatchLearningRateScheduler", "Keras fixed rate", "epoch", 1.05),
    ("Keras BatchLearningRateScheduler", "Keras fixed rate", "fit call", None),
    ("Keras empty on_train_batch_begin", "Keras fixed rate", "epoch", None),
    ("Keras empty on_train_batch_end", "Keras fixed rate", "epoch", None),
    ("PyTorch OneCycleLR", "PyTorch no scheduler", "epoch", 1.02),
    ("PyTorch as_lambda_lr", "PyTorch no scheduler", "epoch", 1.02),
    ("PyTorch param_groups by hand", "PyTorch no scheduler", "epoch", None),
]


def timed(runners: dict, repeats: int) -> dict:
    """``{(set-up, measure): (median wall, median CPU time)}`` of one epoch, in seconds."""
    for runner in runners.values():
        runner.epoch()  # warm-up: tracing, building, first allocations
    labels = list(runners)
    samples = {}
    for round_ in range(repeats):  # taking turns, so drift in machine load hits every set-up
        shift = round_ % len(labels)  # and the order rotates: none always runs after another
        for label in labels[shift:] + labels[:shift]:
            gc.collect()  # no set-up pays for the garbage of the one before it
            for measure, (wall, cpu) in runners[label].epoch().items():
                walls, cpus = samples.setdefault((label, measure), ([], []))
                walls.append(wall)
                cpus.append(cpu)
    return {key: (statistics.median(walls), statistics.median(cpus))
            for key, (walls, cpus) in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=41)
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    args = parser.parse_args()
    torch.set_num_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    data = load_digits_split(seed=0)
    steps_per_epoch = math.ceil(len(data.x_train) / BATCH)
    total = (args.repeats + 2) * steps_per_epoch  # long enough for every epoch that runs
    schedule = schedules.one_cycle(PEAK, total)
    rates = schedule(np.arange(total)).tolist()

    def one_cycle(optimizer):
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=PEAK, total_steps=total,
                                                   cycle_momentum=False)

    def lambda_lr(optimizer):
        return as_lambda_lr(optimizer, schedule)

    print(f"median time of an epoch over {args.repeats} rounds, {steps_per_epoch} steps of "
          f"batch {BATCH} on digits, one thread per framework:")
    for size in args.sizes:
        widths = SIZES[size]
        check_keras(data, schedule, widths)
        keras_times = timed({
            "Keras fixed rate": KerasFit(data, [], widths),
            "Keras BatchLearningRateScheduler": KerasFit(
                data, [BatchLearningRateScheduler(schedule)], widths),
            "Keras empty on_train_batch_begin": KerasFit(data, [EmptyBatchBegin()], widths),
            "Keras empty on_train_batch_end": KerasFit(data, [EmptyBatchEnd()], widths),
        }, args.repeats)
        for make in (one_cycle, lambda_lr):
            check_torch(TorchLoop(data, make, widths), schedule, 2)
        check_torch(TorchLoop(data, None, widths, rates=rates), schedule, 2)
        torch_times = timed({
            "PyTorch no scheduler": TorchLoop(data, None, widths),
            "PyTorch OneCycleLR": TorchLoop(data, one_cycle, widths),
            "PyTorch as_lambda_lr": TorchLoop(data, lambda_lr, widths),
            "PyTorch param_groups by hand": TorchLoop(data, None, widths, rates=rates),
        }, args.repeats)
        times = {**keras_times, **torch_times}

        model = f"64-{'-'.join(map(str, widths))}-10"
        print(f"\n{size} MLP {model}:")
        print(f"  {'set-up':36s} {'measure':9s} {'wall ms':>9s} {'CPU ms':>9s}")
        for (label, measure), (wall, cpu) in times.items():
            print(f"  {label:36s} {measure:9s} {wall * 1e3:9.2f} {cpu * 1e3:9.2f}")

        print(f"  {'ratio of medians':52s} {'wall':>6s} {'CPU':>6s}")
        for label, base, measure, target in RATIOS:
            (top_wall, top_cpu), (base_wall, base_cpu) = (times[(label, measure)],
                                                          times[(base, measure)])
            name = f"{label} / {base.split(' ', 1)[1]}, {measure}"
            print(f"  {name:52s} {top_wall / base_wall:6.3f} {top_cpu / base_cpu:6.3f}"
                  + (f"  (target <= {target})" if target else ""))

    print("\nCPU time of one compiled Keras step (small MLP), median of 30 x 100 steps:")
    for label, seconds in eager_op_cost(data).items():
        print(f"  {label:40s} {seconds * 1e6:7.1f} us")

    steps = schedule(np.arange(steps_per_epoch))
    print(f"\ntf.function traces over one epoch ({steps_per_epoch} steps, "
          f"{len(set(steps.tolist()))} distinct rates):")
    for label, count in trace_counts(data, steps).items():
        print(f"  {label:40s} {count:4d}")


if __name__ == "__main__":
    main()
