"""Checkers for lesson 03: per-variable and per-group rates.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lrcourse.checks._core import Wrong, _number, question


def _fine_tune_model():
    """The lesson's fine-tuning network: ``base`` -> ``middle`` -> ``head``, fixed weights."""
    from collections import OrderedDict

    import torch

    torch.manual_seed(3)
    return torch.nn.Sequential(OrderedDict(
        base=torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU()),
        middle=torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU()),
        head=torch.nn.Linear(8, 3),
    ))


@question(
    "03.fine_tune_groups",
    "Param groups for fine-tuning: frozen base, slow middle, fast head",
    "call model.base.requires_grad_(False), then give torch.optim.SGD one group per part: "
    "model.middle at lr 0.01 and model.head at lr 0.1, momentum 0.9",
)
def _check_fine_tune_groups(answer: Callable) -> None:
    import torch

    model = _fine_tune_model()
    try:
        optimizer = answer(model)
    except ValueError as error:
        if "more than one parameter group" in str(error):
            raise Wrong(f"PyTorch refused the groups: {error}",
                        "a parameter may sit in one group only; build each group from its "
                        "own module (model.middle.parameters(), model.head.parameters())"
                        ) from None
        raise
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise Wrong(f"expected the torch.optim optimizer, received "
                    f"{type(optimizer).__name__} {optimizer!r:.60}")
    if not isinstance(optimizer, torch.optim.SGD):
        raise Wrong(f"expected torch.optim.SGD, received {type(optimizer).__name__}")
    rate_of = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            rate_of[id(p)] = (group["lr"], group.get("momentum", 0.0))
    parts = {name: list(getattr(model, name).parameters()) for name in ("base", "middle", "head")}
    expected = {"middle": 0.01, "head": 0.1}
    for part, rate in expected.items():
        missing = [p for p in parts[part] if id(p) not in rate_of]
        if missing:
            raise Wrong(f"{len(missing)} of model.{part}'s parameters are in no group, so they "
                        "never train", f"add model.{part}.parameters() to a group")
        rates = {rate_of[id(p)][0] for p in parts[part]}
        if not all(math.isclose(r, rate, rel_tol=1e-9) for r in rates):
            other = expected["head" if part == "middle" else "middle"]
            swapped = all(math.isclose(r, other, rel_tol=1e-9) for r in rates)
            raise Wrong(f"model.{part} trains at lr {sorted(rates)}, expected {rate}",
                        "middle and head are swapped: the new head learns fastest, the "
                        "pretrained middle slower" if swapped else "")
        momenta = {rate_of[id(p)][1] for p in parts[part]}
        if not all(math.isclose(m, 0.9) for m in momenta):
            raise Wrong(f"model.{part} uses momentum {sorted(momenta)}, expected 0.9")
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.linspace(-1.0, 1.0, 24).reshape(4, 6)
    y = torch.tensor([0, 1, 2, 1])
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    moved = {id(p): not torch.equal(b, p.detach())
             for b, p in zip(before, model.parameters(), strict=True)}
    if any(moved[id(p)] for p in parts["base"]):
        raise Wrong("after three training steps model.base has moved: the frozen layer "
                    "still trains",
                    "freeze it with model.base.requires_grad_(False) and keep it out of the "
                    "optimizer; a group at lr 0 is not frozen once weight decay or a "
                    "scheduler changes it")
    if any(p.requires_grad for p in parts["base"]):
        raise Wrong("model.base is out of the optimizer but its parameters still have "
                    "requires_grad=True, so every backward pass computes gradients nobody "
                    "uses", "call model.base.requires_grad_(False)")
    if not all(moved[id(p)] for p in parts["middle"] + parts["head"]):
        raise Wrong("some of model.middle's or model.head's parameters did not move in "
                    "three training steps")


def _digits_net():
    """A small Sequential classifier named ``digits_net`` with ``features`` and ``classifier``."""
    import keras

    keras.utils.set_random_seed(5)
    return keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(8, activation="relu", name="features"),
        keras.layers.Dense(3, name="classifier"),
    ], name="digits_net")


def _one_fit_step_rates(model, x, y) -> dict:
    """Each layer's (weight change / gradient) over one step of ``model.fit`` (median)."""
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    gradients = [np.array(g) for g in tape.gradient(loss, model.trainable_variables)]
    before = [v.numpy().copy() for v in model.trainable_variables]
    model.fit(x, y, batch_size=len(x), epochs=1, verbose=0, shuffle=False)
    used: dict[str, list] = {}
    for variable, start, grad in zip(model.trainable_variables, before, gradients, strict=True):
        layer = variable.path.split("/")[-2]
        big = np.abs(grad) > 1e-4
        if not big.any():
            continue
        ratios = (start - variable.numpy())[big] / grad[big]
        used.setdefault(layer, []).append(float(np.median(ratios)))
    return {layer: float(np.median(values)) for layer, values in used.items()}


@question(
    "03.keras_two_rates",
    "Two layers, two rates, inside model.fit",
    "compile with a keras.optimizers.MultiOptimizer whose OptimizerMap keys match whole "
    "variable paths such as 'digits_net/features/kernel' (or use "
    "lrcourse.keras_utils.multi_optimizer, which takes layer names)",
)
def _check_keras_two_rates(answer: Callable) -> None:
    import keras

    model = _digits_net()
    result = answer(model)
    if result is not None and result is not model:
        raise Wrong(f"compile the model you were given and return nothing (or it); received "
                    f"{type(result).__name__}")
    if getattr(model, "optimizer", None) is None or not model.compiled:
        raise Wrong("the model is not compiled", "call model.compile(optimizer=..., loss=...)")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.integers(0, 3, size=16)
    rates = _one_fit_step_rates(model, x, y)
    expected = {"features": 0.01, "classifier": 0.1}
    if all(math.isclose(rates.get(k, math.nan), v, rel_tol=1e-3) for k, v in expected.items()):
        # A first step of SGD with momentum is rate x gradient too; the second is not.
        second = _one_fit_step_rates(model, x, y)
        if all(math.isclose(second.get(k, math.nan), v, rel_tol=1e-3)
               for k, v in expected.items()):
            return
        shown = ", ".join(f"{layer} {rate:.4g}" for layer, rate in second.items())
        raise Wrong(f"the first step of fit used the right rates, but the second moved the "
                    f"weights by (step / gradient) {shown}, not 0.01 and 0.1",
                    "the question asks for plain SGD: momentum (or Nesterov) adds earlier "
                    "gradients to every later step; use keras.optimizers.SGD(rate) with "
                    "momentum=0")
    shown = ", ".join(f"{layer} {rate:.4g}" for layer, rate in rates.items())
    message = f"one step of fit used these rates: {shown}; expected features 0.01, classifier 0.1"
    if isinstance(model.optimizer, keras.optimizers.MultiOptimizer) and math.isclose(
            rates.get("features", math.nan), rates.get("classifier", math.nan), rel_tol=1e-3):
        raise Wrong(message, "both layers got the same optimizer, so a key matched no variable "
                             "and they fell to the default. OptimizerMap full-matches the whole "
                             "path; in this Sequential model that is 'digits_net/features/kernel'"
                             "; lrcourse.keras_utils.rate_table(model) shows who gets what")
    if math.isclose(rates.get("features", math.nan), 0.1, rel_tol=1e-3) and math.isclose(
            rates.get("classifier", math.nan), 0.01, rel_tol=1e-3):
        raise Wrong(message, "the rates are swapped")
    raise Wrong(message, "use plain SGD with no momentum, so one step moves each weight by "
                         "rate x gradient")


def _adam_moves(scales: tuple[float, float], rates: tuple[float, float], steps: int) -> tuple:
    """How far w1 and w2 move under Adam (Keras defaults) on w1^2 + w2^2 from (1, 2)."""
    w = np.array([1.0, 2.0])
    m = np.zeros(2)
    v = np.zeros(2)
    for t in range(1, steps + 1):
        g = 2.0 * w * np.array(scales)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
        w = w - np.array(rates) * m_hat / (np.sqrt(v_hat) + 1e-7)
    return tuple(np.abs(w - np.array([1.0, 2.0])))


def _sgd_moves(scales: tuple[float, float], rates: tuple[float, float], steps: int) -> tuple:
    w = np.array([1.0, 2.0])
    for _ in range(steps):
        w = w - np.array(rates) * 2.0 * w * np.array(scales)
    return tuple(np.abs(w - np.array([1.0, 2.0])))


@question(
    "03.adam_gradient_scaling",
    "Gradient scaling under Adam, measured, then fixed",
    "'scale_gradient': one Adam(0.01), w2's gradient times 0.1; 'separate_rates': Adam(0.01) "
    "for w1 and Adam(0.001) for w2; return how far each variable moved",
)
def _check_adam_gradient_scaling(answer: Callable) -> None:
    for steps in (1, 5, 20):
        methods = {
            "scale_gradient": ((1.0, 0.1), (0.01, 0.01)),
            "separate_rates": ((1.0, 1.0), (0.01, 0.001)),
        }
        for method, (scales, rates) in methods.items():
            received = answer(method, steps)
            if not isinstance(received, (tuple, list, np.ndarray)) or len(received) != 2:
                raise Wrong(f"train({method!r}, {steps}): expected a pair (moved_w1, moved_w2), "
                            f"received {type(received).__name__} {received!r:.60}")
            moved = np.array([_number(r, f"how far a variable moved ({method})")
                              for r in received])
            expected = np.array(_adam_moves(scales, rates, steps))
            if np.allclose(moved, expected, rtol=2e-3, atol=1e-7):
                continue
            message = (f"train({method!r}, {steps}) returned moves {np.round(moved, 6).tolist()}; "
                       f"expected {np.round(expected, 6).tolist()}")
            traps = [
                (_sgd_moves(scales, rates, steps),
                 "that is what SGD does; the exercise is about Adam"),
                (_adam_moves((1.0, 0.1), (0.01, 0.01), steps),
                 "'separate_rates' must not scale the gradient: give w2 its own Adam with "
                 "learning_rate=0.001"),
                (_adam_moves((0.1, 1.0), (0.01, 0.01), steps),
                 "you slowed w1 instead of w2"),
                (_adam_moves((1.0, 1.0), (0.001, 0.01), steps),
                 "you slowed w1 instead of w2"),
                (_adam_moves(scales, rates, steps + 1), f"that is {steps + 1} steps, not {steps}"),
                (_adam_moves(scales, rates, max(steps - 1, 0)),
                 f"that is {steps - 1} steps, not {steps}"),
            ]
            for value, hint in traps:
                if np.allclose(moved, value, rtol=2e-3, atol=1e-7):
                    raise Wrong(message, hint)
            raise Wrong(message, "start from w1 = 1.0 and w2 = 2.0 each call, minimise "
                                 "w1**2 + w2**2 and return abs(final - start) for both")
