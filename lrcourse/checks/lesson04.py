"""Checkers for lesson 04: per-batch adjustment.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lrcourse.checks._core import Wrong, question


def _tiny_keras_fit(callback, epochs: int) -> np.ndarray:
    """Fit a one-layer model (10 examples, batch 4: 3 steps per epoch) with ``callback``;
    return the rate each update used."""
    import keras

    from lrcourse.keras_utils import LearningRateLogger

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    logger = LearningRateLogger()
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, shuffle=False,
              callbacks=[logger, callback])  # first: it reads before others' batch-end hooks
    return np.array(logger.history["learning_rate"])


@question(
    "04.warmup_callback",
    "A per-batch linear warmup callback that keeps its place across epochs",
    "in on_train_batch_begin, read the global step int(self.model.optimizer.iterations) (not "
    "the batch index, which restarts every epoch) and assign "
    "peak_lr * min(1, step / warmup_steps) to self.model.optimizer.learning_rate",
)
def _check_warmup_callback(answer: Callable) -> None:
    import keras

    from lrcourse.schedules import linear_warmup

    steps_per_epoch, epochs = 3, 4
    steps = np.arange(steps_per_epoch * epochs)
    for peak_lr, warmup_steps in ((0.2, 5), (0.05, 7)):
        callback = answer(peak_lr, warmup_steps)
        if not isinstance(callback, keras.callbacks.Callback):
            raise Wrong(f"make_warmup_callback({peak_lr}, {warmup_steps}): expected a "
                        f"keras.callbacks.Callback, received {type(callback).__name__} "
                        f"{callback!r:.60}", "return an instance of your Callback subclass")
        received = _tiny_keras_fit(callback, epochs)
        warmup = linear_warmup(peak_lr, warmup_steps)
        expected = warmup(steps)
        if received.shape == expected.shape and np.allclose(received, expected, rtol=1e-5,
                                                            atol=1e-8):
            continue
        shown = np.round(received, 4).tolist()
        message = (f"with peak_lr={peak_lr}, warmup_steps={warmup_steps}, 3 batches per epoch, "
                   f"the updates used {shown}; expected {np.round(expected, 4).tolist()}")

        def same(values, received=received):
            return received.shape == values.shape and np.allclose(received, values, rtol=1e-5,
                                                                  atol=1e-8)

        if same(warmup(steps % steps_per_epoch)):
            raise Wrong(message, "your warmup restarts every epoch: `batch` counts from 0 again "
                                 "each epoch; use the optimizer's global step, "
                                 "self.model.optimizer.iterations")
        if same(warmup(steps + 1)) or same(warmup(np.maximum(steps - 1, 0))):
            raise Wrong(message, "off by one step: update 0 uses peak_lr * 0 / warmup_steps, "
                                 "update t uses peak_lr * t / warmup_steps")
        if np.isclose(received[0], 1.0) and same(np.concatenate([[1.0], expected[1:]])):
            raise Wrong(message, "the first update ran at the optimizer's initial rate: set the "
                                 "rate before each batch (on_train_batch_begin), not after")
        if same(np.repeat(warmup(steps[::steps_per_epoch]), steps_per_epoch)) or same(
                np.repeat(warmup(np.arange(epochs)), steps_per_epoch)):
            raise Wrong(message, "the rate changes only once per epoch: set it before every "
                                 "batch, in on_train_batch_begin")
        if np.allclose(received, received[0]):
            raise Wrong(message, "the rate never changed: assign the new value to "
                                 "self.model.optimizer.learning_rate before every batch")
        if same(peak_lr * steps / warmup_steps):
            raise Wrong(message, "the rate keeps growing after the warmup: hold it at peak_lr "
                                 "with min(1, step / warmup_steps)")
        if same(peak_lr * np.minimum(1, steps // warmup_steps)):
            raise Wrong(message, "integer division: step // warmup_steps is 0 until the end of "
                                 "the warmup, so the rate jumps from 0 to peak_lr; use "
                                 "step / warmup_steps")
        raise Wrong(message)


def _logged_sgd(make_scheduler):
    """A seeded ``Linear(4, 3)``, its SGD optimizer, the scheduler, and the list that an
    optimizer-step hook fills with the rate each update uses."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = make_scheduler(optimizer)
    used = []
    optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: used.append(opt.param_groups[0]["lr"]))
    return model, optimizer, scheduler, used


def _torch_epoch(make_scheduler, batches, *, zero_grad: bool = True):
    """One epoch of SGD on a small linear model; the rates used and the final weights."""
    import torch

    model, optimizer, scheduler, used = _logged_sgd(make_scheduler)
    for x, y in batches:
        if zero_grad:
            optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    return np.array(used), [p.detach().numpy().copy() for p in model.parameters()]


def _scheduler_cases(num_batches: int) -> dict:
    import torch

    def one_cycle(optimizer):
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5,
                                                   total_steps=num_batches,
                                                   cycle_momentum=False)

    def warmup(optimizer):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / 3))

    return {"LambdaLR(lambda step: min(1, step / 3))": warmup,
            "OneCycleLR(max_lr=0.5, total_steps=len(batches))": one_cycle}


def _stepped_twice(make_scheduler, num_steps: int) -> np.ndarray:
    """The rates of the first ``num_steps`` updates when the scheduler steps twice per batch."""
    import warnings

    import torch

    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    scheduler = make_scheduler(optimizer)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(num_steps):
            rates.append(optimizer.param_groups[0]["lr"])
            parameter.grad = torch.zeros(1)
            optimizer.step()
            scheduler.step()
            scheduler.step()
    return np.array(rates)


@question(
    "04.scheduler_order",
    "Fix a PyTorch loop that steps its scheduler in the wrong place",
    "per batch: optimizer.zero_grad(), loss.backward(), optimizer.step(), then "
    "scheduler.step(), once per batch and after the optimizer",
)
def _check_scheduler_order(answer: Callable) -> None:
    import warnings

    import torch

    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 4, generator=generator),
                torch.randint(0, 3, (8,), generator=generator)) for _ in range(8)]
    for name, make in _scheduler_cases(len(batches)).items():
        model, optimizer, scheduler, used = _logged_sgd(make)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch warns about the wrong order; we diagnose
            answer(model, optimizer, scheduler, batches)
        expected, expected_weights = _torch_epoch(make, batches)  # only once the answer ran
        received = np.array(used)
        message = (f"with {name} over {len(batches)} batches, the updates used "
                   f"{np.round(received, 4).tolist()}; expected {np.round(expected, 4).tolist()}")
        if len(received) != len(batches):
            raise Wrong(message + f" ({len(received)} optimizer steps for {len(batches)} "
                        "batches)", "call optimizer.step() exactly once per batch")
        if not np.allclose(received, expected, rtol=1e-9):
            if np.allclose(received[:-1], expected[1:], rtol=1e-9):
                raise Wrong(message, "off by one step: scheduler.step() ran before "
                                     "optimizer.step(), so every update used the next step's "
                                     "rate; call it after optimizer.step()")
            if np.allclose(received, expected[0], rtol=1e-9):
                raise Wrong(message, "the rate never moved during the epoch: call "
                                     "scheduler.step() once per batch, not once per epoch")
            if np.allclose(received[:4], _stepped_twice(make, 4), rtol=1e-9):
                raise Wrong(message, "scheduler.step() is called twice per batch")
            raise Wrong(message)
        weights = [p.detach().numpy() for p in model.parameters()]
        if all(np.allclose(a, b, rtol=1e-6, atol=1e-8)
               for a, b in zip(weights, expected_weights, strict=True)):
            continue
        _, summed = _torch_epoch(make, batches, zero_grad=False)
        if all(np.allclose(a, b, rtol=1e-6, atol=1e-8)
               for a, b in zip(weights, summed, strict=True)):
            raise Wrong(f"with {name}, the rates are right but the weights are not",
                        "gradients add up across batches: call optimizer.zero_grad() before "
                        "each loss.backward()")
        raise Wrong(f"with {name}, the rates are right but the final weights differ from one "
                    "epoch of SGD on cross_entropy(model(x), y) over the batches in order")


_LOSS_TREND = {"decrease": 0.95, "increase": 1.05, "min_lr": 0.01, "max_lr": 1.0}


def _loss_trend_sequences() -> dict:
    rng = np.random.default_rng(4)
    falling = np.linspace(3.0, 0.2, 80)
    return {
        "a steadily falling loss (80 steps)": (falling, 4),
        # long enough for the rate to reach its floor, min_lr
        "a rising loss (70 steps)": (np.linspace(0.5, 2.0, 70), 6),
        "a noisy loss (60 steps)": (np.abs(1.0 + 0.3 * rng.normal(size=60)), 10),
    }


def _loss_trend_variant(losses, window: int, *, flip=False, wait=True, clamp=True,
                        threshold=None) -> np.ndarray:
    """The loss-trend rule with one thing changed, for diagnosing wrong answers."""
    rate, history, rates = 0.1, np.zeros(window), []
    full_at = window if threshold is None else threshold
    for count, loss in enumerate(losses, start=1):
        history = np.concatenate([[loss], history[:-1]])
        rising = history[: window // 2].mean() > history[window // 2:].mean()
        if flip:
            rising = not rising
        if count >= full_at or not wait:
            rate = rate * (_LOSS_TREND["decrease"] if rising else _LOSS_TREND["increase"])
            if clamp:
                rate = min(max(rate, _LOSS_TREND["min_lr"]), _LOSS_TREND["max_lr"])
        rates.append(rate)
    return np.array(rates)


def _compiled_loss_trend(answer: Callable, window: int):
    """The learner's update in a ``tf.function`` whose state lives in variables."""
    import tensorflow as tf

    rate = tf.Variable(0.1, dtype=tf.float32)
    history = tf.Variable(tf.zeros([window], tf.float32))
    count = tf.Variable(0.0, dtype=tf.float32)
    traces = []

    @tf.function
    def step(loss):
        traces.append(1)
        # Hand the answer tensors read from the variables, as a training step would, so that
        # `count += 1` or `count = count + 1` both work.
        new_rate, new_history, new_count = answer(rate.read_value(), history.read_value(),
                                                  count.read_value(), loss)
        rate.assign(tf.reshape(tf.cast(new_rate, tf.float32), ()))
        history.assign(tf.reshape(tf.cast(new_history, tf.float32), [window]))
        count.assign(tf.reshape(tf.cast(new_count, tf.float32), ()))
        return rate.read_value()

    return step, traces


@question(
    "04.loss_trend_tf",
    "The loss-trend controller, written to run inside tf.function",
    "TensorFlow ops only (tf.concat, tf.reduce_mean, tf.where, tf.minimum, tf.maximum; no "
    "NumPy and no .numpy() on a tensor); put the new loss first, compare the newer half's "
    "mean with the older half's, and change the rate only once count >= window",
)
def _check_loss_trend_tf(answer: Callable) -> None:
    import tensorflow as tf

    from lrcourse.controllers import LossTrendController, run_controller

    for name, (losses, window) in _loss_trend_sequences().items():
        step, traces = _compiled_loss_trend(answer, window)
        try:
            received = np.array([float(step(tf.constant(value, tf.float32)))
                                 for value in losses])
        except NotImplementedError as error:
            if "Exercise:" in str(error):
                raise  # the untouched stub
            # NumPy on a symbolic tensor: "numpy() is only available when eager execution
            # is enabled" or "Cannot convert a symbolic tf.Tensor to a numpy array"
            raise Wrong(f"your code raised NotImplementedError inside tf.function: {error}",
                        "no NumPy and no .numpy() inside tf.function: while tracing, tensors "
                        "have no values; use TensorFlow ops on the variables") from None
        if len(traces) != 1:
            raise Wrong(f"the step was traced {len(traces)} times over {len(losses)} calls",
                        "keep everything as tensors: no Python numbers computed from the loss")
        reference = LossTrendController(0.1, window=window, **_LOSS_TREND)  # after the answer
        expected = run_controller(reference, {"loss": losses})
        if np.allclose(received, expected, rtol=1e-4):
            continue
        bad = int(np.argmin(np.isclose(received, expected, rtol=1e-4)))
        message = (f"with {name} and window={window}, at step {bad}: expected rate "
                   f"{expected[bad]:.6g}, received {received[bad]:.6g}")
        traps = [
            (dict(flip=True), "the trend is backwards: the window is newest first (the new "
                              "loss goes in front), and when the newer half's mean is above "
                              "the older half's the loss is rising, so the rate must go down"),
            (dict(wait=False), "wait until the window is full (count >= window) before "
                               "changing the rate; a window padded with zeros looks like a "
                               "rising loss"),
            (dict(threshold=window + 1), "off by one step: the window is full as soon as "
                                         "count >= window, counting this loss"),
            (dict(threshold=window - 1), "off by one step: the window is full as soon as "
                                         "count >= window, counting this loss"),
            (dict(clamp=False), "clamp the rate to [min_lr, max_lr] = [0.01, 1.0]"),
        ]
        for change, hint in traps:
            if np.allclose(received, _loss_trend_variant(losses, window, **change), rtol=1e-4):
                raise Wrong(message, hint)
        raise Wrong(message)
