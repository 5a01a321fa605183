"""Checkers for lesson 01: the fixed learning rate.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lrcourse.checks._core import Wrong, _number, question


def _spd_cases() -> list[np.ndarray]:
    from lrcourse.data import quadratic_bowl

    return [
        quadratic_bowl([4.0]).hessian,
        quadratic_bowl([1.0, 10.0]).hessian,
        quadratic_bowl([0.5, 3.0, 7.0], rotation_seed=3).hessian,
        quadratic_bowl([0.01, 0.2, 2.5, 2.6, 40.0], rotation_seed=11).hessian,
    ]


@question(
    "01.largest_stable_lr",
    "Largest stable learning rate of a quadratic bowl",
    "gradient descent multiplies the error along each eigenvector by (1 - lr * curvature); "
    "find where the worst direction stops shrinking",
)
def _check_largest_stable_lr(answer: Callable) -> None:
    # The answer runs before anything is computed from the case, and the verdict in a
    # frame of its own: no expected value is on the stack while learner code runs.
    for hessian in _spd_cases():
        received = _number(answer(hessian.copy()), "the learning rate")
        _judge_largest_stable_lr(hessian, received)


def _judge_largest_stable_lr(hessian: np.ndarray, received: float) -> None:
    curvatures = np.linalg.eigvalsh(hessian)
    expected = 2.0 / curvatures[-1]
    if math.isclose(received, expected, rel_tol=1e-6):
        return
    message = (f"for a bowl with curvatures {np.round(curvatures, 3).tolist()}: "
               f"expected {expected:.6g}, received {received:.6g}")
    traps = [
        (1.0 / curvatures[-1], "1/L reaches the minimum in one step along the steepest "
                               "direction; the stability limit is twice that"),
        (2.0 / curvatures[0], "you used the smallest curvature; the direction that blows "
                              "up first is the most curved one"),
        (2.0 / np.trace(hessian), "the trace sums all curvatures; the limit depends on "
                                  "the largest eigenvalue alone"),
        (2.0 / np.diag(hessian).max(), "diagonal entries are the curvatures only when the "
                                       "bowl is axis-aligned; use the eigenvalues"),
    ]
    for value, hint in traps:
        if math.isclose(received, value, rel_tol=1e-6):
            raise Wrong(message, hint)
    raise Wrong(message)


def _keras_step(optimizer, variable, gradient) -> np.ndarray:
    """Apply one gradient and return how far the variable moved."""
    before = np.array(variable.numpy())
    optimizer.apply_gradients([(gradient, variable)])
    return before - np.array(variable.numpy())


@question(
    "01.set_keras_learning_rate",
    "Change a Keras optimizer's learning rate mid-training",
    "in Keras 3 `optimizer.learning_rate` is a variable you can assign to",
)
def _check_set_keras_learning_rate(answer: Callable) -> None:
    import keras

    variable = keras.Variable(np.ones(3, dtype="float32"))
    gradient = np.array([1.0, -2.0, 0.5], dtype="float32")
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    _keras_step(optimizer, variable, gradient)  # training is under way
    for new_rate in (0.01, 0.25):
        answer(optimizer, new_rate)
        moved = _keras_step(optimizer, variable, gradient)
        used = float(np.mean(moved / gradient))
        if not np.allclose(moved, new_rate * gradient, rtol=1e-5):
            raise Wrong(
                f"after setting {new_rate}, the next SGD step used learning rate "
                f"{used:.4g}",
                "assign `optimizer.learning_rate = value` (or `.assign(value)`); an attribute "
                "such as `optimizer.lr` is not read by Keras 3",
            )
        read_back = float(optimizer.learning_rate)
        if not math.isclose(read_back, new_rate, rel_tol=1e-6):
            raise Wrong(f"the step used {new_rate} but `float(optimizer.learning_rate)` "
                        f"reads {read_back}")


def _torch_step(optimizer, parameters) -> list[np.ndarray]:
    """One SGD step with gradient ``[1, -2, 0.5]`` on each parameter; the distance moved."""
    import torch

    before = [p.detach().clone() for p in parameters]
    optimizer.zero_grad()
    loss = sum((p * torch.tensor([1.0, -2.0, 0.5])).sum() for p in parameters)
    loss.backward()
    optimizer.step()
    return [(b - p.detach()).numpy() for b, p in zip(before, parameters, strict=True)]


@question(
    "01.set_torch_learning_rate",
    "Change a PyTorch optimizer's learning rate mid-training",
    "PyTorch reads the rate from every dict in `optimizer.param_groups`",
)
def _check_set_torch_learning_rate(answer: Callable) -> None:
    import torch

    parameters = [torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)]
    optimizer = torch.optim.SGD(
        [{"params": [parameters[0]], "lr": 0.1}, {"params": [parameters[1]], "lr": 0.05}]
    )
    _torch_step(optimizer, parameters)  # training is under way
    gradient = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    for new_rate in (0.01, 0.3):
        answer(optimizer, new_rate)
        for group, moved in enumerate(_torch_step(optimizer, parameters)):
            if not np.allclose(moved, new_rate * gradient, rtol=1e-5):
                used = float(np.mean(moved / gradient))
                raise Wrong(
                    f"after setting {new_rate}, param group {group} still stepped with "
                    f"learning rate {used:.4g}",
                    "set `group['lr']` for every group in `optimizer.param_groups`; "
                    "`optimizer.lr` and `optimizer.defaults` are not read by `step()`",
                )


_SWEEP_CASES = [
    # (histories, target): lowest final loss, largest rate and NaN handling all give a
    # different answer from the right one in at least one case. The right answers are not
    # stored anywhere: _first_to_reach computes them after the learner's function returned.
    ({1e-3: [2.3, 2.1, 1.9, 1.7], 1e-2: [2.3, 1.5, 0.6, 0.2], 1e-1: [2.3, 0.8, 0.4, 0.35],
      1.0: [2.3, 3.5, math.nan, math.nan]}, 0.5),
    ({0.5: [1.0, 0.3, 0.2], 0.05: [1.0, 0.4, 0.1]}, 0.5),
    ({1e-4: [2.3, 2.29], 1e-3: [2.3, 2.2]}, 0.5),
    ({1.0: [math.nan, math.nan, math.nan], 0.01: [2.0, 1.5, 1.0]}, 1.0),
    ({0.3: [1.2, 0.9, 0.8], 0.03: [1.2, 1.1, 0.85, 0.7], 3.0: [1.2, math.inf, math.nan]}, 0.8),
]


def _first_to_reach(histories: dict, target: float) -> float | None:
    """The rate whose curve first has a loss <= target (NaN never counts; ties: smaller rate)."""
    reached = {}
    for rate, losses in histories.items():
        hit = next((epoch for epoch, loss in enumerate(losses) if loss <= target), None)
        if hit is not None:
            reached[rate] = hit
    return min(reached, key=lambda rate: (reached[rate], rate)) if reached else None


@question(
    "01.first_to_reach",
    "Pick the learning rate that first reaches a loss target",
    "walk each curve epoch by epoch and find the first loss <= target; NaN never counts; "
    "break ties by the smaller rate; return None when no run gets there",
)
def _check_first_to_reach(answer: Callable) -> None:
    for histories, target in _SWEEP_CASES:
        received = answer({rate: list(losses) for rate, losses in histories.items()}, target)
        _judge_first_to_reach(histories, target, received)


def _judge_first_to_reach(histories: dict, target: float, received: object) -> None:
    shown = {rate: list(losses) for rate, losses in histories.items()}
    expected = _first_to_reach(histories, target)
    if expected is None:
        if received is not None:
            raise Wrong(f"no run reaches {target} in {shown}, so expected None, "
                        f"received {received!r}")
        return
    if received is None:
        raise Wrong(f"expected {expected} for target {target} in {shown}, received None")
    value = _number(received, "a learning rate")
    if not math.isclose(value, expected, rel_tol=1e-9):
        raise Wrong(f"for target {target} in {shown}: expected {expected}, "
                    f"received {value}")
