"""Checkers for lesson 06: the LR range test.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lrcourse.checks._core import Wrong, _number, question

_SMOOTH_CASES = [([2.0, 1.0, 3.0, 0.5, 0.25], 0.9), ([4.0, 2.0, 1.0], 0.5),
                 ([1.0, 1.0, 1.0, 1.0], 0.98), ([0.3, 5.0, 0.1, 0.2, 0.4, 0.9], 0.0)]


def _smooth_variants(losses: list, beta: float) -> dict:
    """Smoothed curves the usual mistakes produce, keyed by the hint that names them."""
    out = {}
    average, plain, swapped, fed_back = 0.0, [], [], []
    for loss in losses:
        average = beta * average + (1 - beta) * loss
        plain.append(average)
    out["divide the average by 1 - beta**t, t counted from 1: without it the curve starts "
        "near 0 and climbs, a fake dip"] = plain
    average = 0.0
    for loss in losses:
        average = (1 - beta) * average + beta * loss
        swapped.append(average / (1 - beta ** (len(swapped) + 1)) if beta < 1 else average)
    out["beta weighs the past average and 1 - beta the new loss; you swapped them"] = swapped
    average = 0.0
    for t, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        average = average / (1 - beta**t)
        fed_back.append(average)
    out["keep the uncorrected average as the running state and correct only the value you "
        "return; you fed the corrected value back in"] = fed_back
    if beta > 0:
        off = []
        average = 0.0
        for t, loss in enumerate(losses, start=1):
            average = beta * average + (1 - beta) * loss
            off.append(average / (1 - beta ** (t + 1)))
        out["off by one: the first step is t = 1, so the first correction is 1 - beta"] = off
    seeded, average = [], losses[0]
    for loss in losses:
        average = beta * average + (1 - beta) * loss
        seeded.append(average)
    out["start from m = 0 and correct by 1 - beta**t; starting the average at the first loss "
        "is another smoother (it gives the first loss extra weight), not the one asked "
        "for"] = seeded
    return out


_FROM_ZERO_HINT = ("count t from 1, not 0: the first correction is 1 - beta, while 1 - beta**0 "
                   "is 0 and divides by zero (enumerate(losses, start=1))")


@question(
    "06.smooth_losses",
    "Bias-corrected exponential smoothing of a loss curve",
    "m = beta * m + (1 - beta) * loss, starting from m = 0, and return m / (1 - beta**t) "
    "for t = 1, 2, ...",
)
def _check_smooth_losses(answer: Callable) -> None:
    from collections.abc import Iterator

    from lrcourse.finder import smooth

    for losses, beta in _SMOOTH_CASES:
        try:
            received = answer(list(losses), beta)
        except ZeroDivisionError as error:
            raise Wrong(f"with losses={losses}, beta={beta}: your code raised "
                        f"ZeroDivisionError: {error}", _FROM_ZERO_HINT) from None
        if isinstance(received, Iterator):  # a generator of the values is a fine answer too
            received = list(received)
        try:
            values = np.asarray(received, dtype=np.float64)
        except (TypeError, ValueError):
            raise Wrong(f"expected a list of floats, received {type(received).__name__} "
                        f"{received!r:.60}") from None
        expected = smooth(losses, beta)
        if values.shape != expected.shape:
            raise Wrong(f"with losses={losses}, beta={beta}: expected {len(losses)} values, "
                        f"received shape {values.shape}", "one smoothed value per loss")
        if np.allclose(values, expected, rtol=1e-9, atol=1e-12):
            continue
        message = (f"with losses={losses}, beta={beta}: expected "
                   f"{np.round(expected, 4).tolist()}, received {np.round(values, 4).tolist()}")
        if beta > 0 and not np.isfinite(values[0]) and np.all(np.isfinite(values[1:])):
            raise Wrong(message, _FROM_ZERO_HINT)  # NumPy's x / 0.0 gives inf, not an error
        for hint, variant in _smooth_variants(losses, beta).items():
            if np.allclose(values, variant, rtol=1e-9, atol=1e-12):
                raise Wrong(message, hint)
        raise Wrong(message)


def _finder_curve(kind: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A range-test curve and the band of good rates (from the start of the fall to a
    third of the rate at the bottom) for the choose-a-rate exercise."""
    from lrcourse.finder import sweep_rates

    lrs = sweep_rates(1e-6, 10.0, 101)
    x = np.log10(lrs)
    rng = np.random.default_rng({"clean": 0, "noisy": 1, "spike": 2, "shifted": 3,
                                 "early": 4}[kind])
    centre = {"shifted": -1.5, "early": -3.5}.get(kind, -2.5)
    clean = 2.3 - np.tanh(1.6 * (x - centre)) + np.exp(3.5 * (x - centre - 1.9))
    losses = clean
    if kind in ("noisy", "spike"):
        losses = losses * (1 + 0.03 * rng.standard_normal(lrs.size))
    if kind == "spike":
        near = int(np.argmin(losses)) + 3
        losses[near:near + 4] = losses[near] + np.array([2.5, 6.0, 1.0, 0.2]) * 0.6
        losses[near + 4:near + 6] = losses.min() * np.array([0.96, 0.93])  # a fake dip
        losses[near + 6:] = np.maximum(losses[near + 6:], 8.0)
    bottom = lrs[np.argmin(clean)]
    return lrs, losses, 10.0 ** (centre - 1.0), bottom / 3


@question(
    "06.choose_rate",
    "Read a range-test curve and choose a learning rate",
    "smooth the curve, find its lowest point, and choose a rate well before it: where the "
    "smoothed loss falls fastest, or about a tenth of the rate at the bottom",
)
def _check_choose_rate(answer: Callable) -> None:
    # Every curve is answered before any good band is computed, so no band is on the stack
    # while learner code runs. The curves fall in different places ("shifted" and "early"
    # have no good rate in common), so one constant cannot pass.
    kinds = ("clean", "noisy", "spike", "shifted", "early")
    chosen = {}
    for kind in kinds:
        lrs, losses = _finder_curve(kind)[:2]
        chosen[kind] = _number(answer(lrs.copy(), losses.copy()), "a learning rate")
    if len(set(chosen.values())) == 1:
        raise Wrong(f"you chose {chosen['clean']:.3g} for every curve, but these curves fall "
                    "in different places", "read each curve: smooth it, find its bottom and "
                    "go back about ten times lower; a fixed number cannot follow the curve")
    for kind in kinds:
        _judge_choose_rate(kind, chosen[kind])


def _judge_choose_rate(kind: str, received: float) -> None:
    from lrcourse.finder import smooth

    lrs, losses, low, high = _finder_curve(kind)
    where = f"on the {kind} curve"
    if not (math.isfinite(received) and received > 0):
        raise Wrong(f"{where}: expected a learning rate > 0, received {received!r}")
    raw_bottom = float(lrs[np.argmin(losses)])
    if low <= received <= high:
        return
    message = (f"{where}: you chose {received:.3g}; good rates lie between {low:.3g} and "
               f"{high:.3g}")
    if received > high:
        if kind == "spike":  # its raw minimum is a fake dip just after a spike
            raise Wrong(message, "the lowest points of this curve come right after a "
                                 "spike, on the way to divergence: that is not a dip. "
                                 "Smooth first, and stay well left of where the loss "
                                 "blows up")
        bottoms = [raw_bottom] + [float(lrs[np.argmin(smooth(losses, beta))])
                                  for beta in (0.8, 0.9, 0.95, 0.98)]
        if any(math.isclose(received, bottom, rel_tol=1e-9) for bottom in bottoms):
            raise Wrong(message, "you picked the lowest loss itself (raw or smoothed): "
                                 "the bottom of the curve is where training is about to "
                                 "blow up, not a rate to train at; go back about ten "
                                 "times lower")
        raise Wrong(message, "too close to where the loss blows up: go back about ten "
                             "times below the lowest point of the smoothed curve. A "
                             "beta near 1 makes the smoothed curve lag, so its bottom "
                             "comes later than the loss's own; for about 100 steps, "
                             "smooth with beta = 0.9 or less")
    raise Wrong(message, "that rate is on the flat start of the curve, where the loss "
                         "does not fall yet: training there is needlessly slow"
                + ("; smooth before you take a slope: on single-batch losses one noisy "
                   "batch can look like the steepest fall" if kind != "clean" else ""))


def _wine_data():
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    data = load_wine()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.astype("float32"), data.target, test_size=0.3, random_state=0,
        stratify=data.target)
    mean, scale = x_train.mean(0), x_train.std(0)
    return (x_train - mean) / scale, y_train, (x_test - mean) / scale, y_test


def _wine_model(rate: float):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((13,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3)], name="wine_net")
    model.compile(optimizer=keras.optimizers.SGD(rate, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _wine_loss_after(rate: float, data: tuple, epochs: int = 8) -> float:
    x_train, y_train, x_test, y_test = data
    model = _wine_model(rate)
    model.fit(x_train, y_train, batch_size=16, epochs=epochs, verbose=0)
    loss = float(model.evaluate(x_test, y_test, verbose=0)[0])
    return loss if math.isfinite(loss) else math.inf


def _wine_grid_best(data: tuple) -> tuple[list, float]:
    """The grid the chosen rate is compared with, and its best validation loss.

    Computed after the learner's function has returned, never cached where it could read it.
    """
    grid = [0.001, 0.003, 0.01, 0.03, 0.1, 0.3]
    return grid, min(_wine_loss_after(rate, data) for rate in grid)


_WINE_SCALES = (1.0, 8.0)
"""The inputs the answer sees: wine standardised, then the same inputs x8 (whose good rates
are about ten times lower), so a fixed number cannot pass both."""


def _scaled(data: tuple, scale: float) -> tuple:
    x_train, y_train, x_test, y_test = data
    return x_train * scale, y_train, x_test * scale, y_test


def _reference_rate(data: tuple) -> float:
    from lrcourse.keras_utils import find_lr

    return float(find_lr(_wine_model(0.01), data[0], data[1], batch_size=16, start_lr=1e-4,
                         end_lr=10.0).suggested_lr)


@question(
    "06.rate_for_new_data",
    "Run the range test on a new dataset (wine) and choose a rate",
    "call lrcourse.keras_utils.find_lr(model, x, y, batch_size=16, start_lr=1e-4, "
    "end_lr=10.0) and return the result's suggested_lr as a float",
)
def _check_rate_for_new_data(answer: Callable) -> None:
    # The answer runs on every dataset first; reference rates and losses are computed after.
    received = [_rate_from(answer, _scaled(_wine_data(), scale)) for scale in _WINE_SCALES]
    if len(set(received)) == 1:
        raise Wrong(f"you returned {received[0]:.3g} for the wine inputs and for the same "
                    f"inputs x{_WINE_SCALES[1]:g}, whose good rates are about ten times lower",
                    "run the range test inside your function on the model and data it is "
                    "given; a fixed number cannot follow the data")
    for scale, rate in zip(_WINE_SCALES, received, strict=True):
        _judge_rate_for_new_data(scale, rate)


def _rate_from(answer: Callable, data: tuple) -> float:
    model = _wine_model(0.01)
    model.optimizer.build(model.trainable_variables)
    optimizer, tracked = model.optimizer, [*model.variables, *model.optimizer.variables]
    before = [v.numpy().copy() for v in tracked]
    received = answer(model, data[0], data[1])
    if model.optimizer is not optimizer:
        raise Wrong("your range test replaced the model's optimizer: model.optimizer is now "
                    f"{type(model.optimizer).__name__} {model.optimizer.name!r}, not the "
                    f"compiled {type(optimizer).__name__} {optimizer.name!r}",
                    "do not call model.compile in a range test: run it on the optimizer the "
                    "model was compiled with, and leave that optimizer in place")
    after = [v.numpy() for v in tracked]
    changed = [v.path for v, a, b in zip(tracked, before, after, strict=True)
               if not np.array_equal(a, b)]
    if changed:
        raise Wrong(f"your range test left the model changed: {', '.join(changed[:3])} "
                    "differ from before", "a range test must put the weights and the "
                    "optimizer back; lrcourse.keras_utils.find_lr does")
    rate = _number(received, "the chosen learning rate")
    if not (math.isfinite(rate) and 1e-6 < rate < 100):
        raise Wrong(f"expected a learning rate between 1e-6 and 100, received {rate!r}")
    return rate


def _judge_rate_for_new_data(scale: float, rate: float) -> None:
    data = _scaled(_wine_data(), scale)
    where = "wine" if scale == 1 else f"wine with inputs x{scale:g}"
    reference = _reference_rate(data)
    if not reference / 10 <= rate <= reference * 3:
        raise Wrong(f"on {where}: you returned {rate:.3g}; the range test "
                    f"(find_lr(model, x, y, batch_size=16, start_lr=1e-4, end_lr=10.0)) "
                    f"suggests {reference:.3g}",
                    "return the suggestion of a range test run on the model and data you are "
                    "given" if scale != 1 else
                    "too high: the lowest point of the curve is where training breaks"
                    if rate > reference else "too low: pick a rate on the steep part of the fall")
    grid, best = _wine_grid_best(data)
    mine = _wine_loss_after(rate, data)
    allowed = 1.5 * best + 0.02 if scale == 1 else best + 0.15
    if not mine <= allowed:
        raise Wrong(f"on {where}: training 8 epochs at {rate:.3g} ends at validation loss "
                    f"{mine:.3f}; the best of the grid {grid} reaches {best:.3f}",
                    "too high: the lowest point of the curve is where training breaks"
                    if rate > reference else "too low: pick a rate on the steep part of the fall")
