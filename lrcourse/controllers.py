"""Per-batch learning-rate controllers: small update rules with explicit state.

A controller looks at something measured on the current batch (the gradient norm, the
loss) and returns the learning rate to use for this batch's update. Like an optax
transformation it holds no state itself:

    state = controller.init(ops)
    learning_rate, state = controller.update(state, ops, loss=..., grad_norm=...)

The state is a small ``NamedTuple`` of scalars and arrays, and ``ops`` is the handful of
array operations the rules need, for one backend: ``backend_ops("numpy")``,
``backend_ops("tensorflow")`` or ``backend_ops("torch")``. The same rule therefore runs in
plain NumPy, inside a ``tf.function`` (keep the state in ``tf.Variable``s and assign the
new state after each step: one trace, no NumPy inside the graph) and in a PyTorch loop,
and gives the same numbers on the same inputs (TensorFlow computes in float32, NumPy and
PyTorch in float64).

The three controllers are the corrected versions of the ones in the course's seed
article on per-batch adjustment:

- :class:`GradientNormController`: a smaller rate when the gradient is large;
- :class:`LossTrendController`: multiply the rate down when the loss over a moving window
  rises, up (to a cap) when it falls, and wait until the window is full;
- :class:`CyclicalLossController`: any ``lrcourse.schedules`` schedule, times a small
  factor while the loss is below a threshold.

This module imports only NumPy; a backend's framework is imported when its ``ops`` are
first built.

Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from lrcourse import _validate

__all__ = [
    "CyclicalLossController",
    "GradientNormController",
    "LossTrendController",
    "Ops",
    "backend_ops",
    "run_controller",
]


@dataclass(frozen=True)
class Ops:
    """The array operations a controller needs, for one backend.

    ``scalar(x)`` turns a Python number or a backend scalar into the backend's float type;
    ``zeros(n)`` makes a float vector; ``schedule(fn, step)`` evaluates an
    ``lrcourse.schedules`` function at a (tensor) step. The rest mirror NumPy.
    """

    name: str
    scalar: Callable[[Any], Any]
    zeros: Callable[[int], Any]
    where: Callable[[Any, Any, Any], Any]
    maximum: Callable[[Any, Any], Any]
    minimum: Callable[[Any, Any], Any]
    mean: Callable[[Any], Any]
    concat: Callable[[list], Any]
    schedule: Callable[[Callable, Any], Any]


def _numpy_ops() -> Ops:
    def scalar(x):
        return np.asarray(x, dtype=np.float64).reshape(())

    return Ops(
        name="numpy",
        scalar=scalar,
        zeros=lambda n: np.zeros(n, dtype=np.float64),
        where=lambda c, a, b: np.asarray(np.where(c, a, b), dtype=np.float64),
        maximum=np.maximum,
        minimum=np.minimum,
        mean=np.mean,
        concat=np.concatenate,
        schedule=lambda fn, step: scalar(fn(float(step))),
    )


def _tensorflow_ops() -> Ops:
    import tensorflow as tf

    def scalar(x):
        return tf.reshape(tf.cast(x, tf.float32), ())

    def schedule(fn, step):
        def value(s):
            return np.float32(fn(float(s)))

        result = tf.numpy_function(value, [scalar(step)], tf.float32, stateful=False)
        return tf.reshape(result, ())

    return Ops(
        name="tensorflow",
        scalar=scalar,
        zeros=lambda n: tf.zeros([n], tf.float32),
        where=lambda c, a, b: tf.where(c, scalar(a), scalar(b)),
        maximum=lambda a, b: tf.maximum(scalar(a), scalar(b)),
        minimum=lambda a, b: tf.minimum(scalar(a), scalar(b)),
        mean=tf.reduce_mean,
        concat=lambda parts: tf.concat([tf.cast(p, tf.float32) for p in parts], 0),
        schedule=schedule,
    )


def _torch_ops() -> Ops:
    import torch

    def scalar(x):
        if isinstance(x, torch.Tensor):
            return x.detach().to(torch.float64).reshape(())
        return torch.tensor(float(x), dtype=torch.float64)

    return Ops(
        name="torch",
        scalar=scalar,
        zeros=lambda n: torch.zeros(n, dtype=torch.float64),
        where=lambda c, a, b: torch.where(c, scalar(a), scalar(b)),
        maximum=lambda a, b: torch.maximum(scalar(a), scalar(b)),
        minimum=lambda a, b: torch.minimum(scalar(a), scalar(b)),
        mean=torch.mean,
        concat=lambda parts: torch.cat([p.reshape(-1).to(torch.float64) for p in parts]),
        schedule=lambda fn, step: scalar(fn(float(step))),
    )


_BACKENDS = {"numpy": _numpy_ops, "tensorflow": _tensorflow_ops, "torch": _torch_ops}
_BUILT: dict[str, Ops] = {}


def backend_ops(backend: str = "numpy") -> Ops:
    """The :class:`Ops` for ``backend``: ``"numpy"``, ``"tensorflow"`` or ``"torch"``.

    Args:
        backend: which array library the controller's state and outputs live in.

    Returns:
        The ``Ops`` (built once per backend; building it imports that framework).

    Raises:
        ValueError: for any other backend name.

    Example:
        >>> ops = backend_ops("numpy")
        >>> float(ops.maximum(0.5, ops.scalar(2)))
        2.0

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """
    name = _validate.choice("backend", backend, tuple(_BACKENDS))
    if name not in _BUILT:
        _BUILT[name] = _BACKENDS[name]()
    return _BUILT[name]


def _check_ops(ops: object) -> Ops:
    if not isinstance(ops, Ops):
        raise TypeError("`ops` must come from lrcourse.controllers.backend_ops(...). "
                        f"Received: ops={ops!r:.60} ({type(ops).__name__})")
    return ops


def _signal(name: str, value: object) -> None:
    if value is None:
        raise ValueError(f"`{name}` is required by this controller. Received: {name}=None")


# ---------------------------------------------------------------------------------------
# Gradient norm


class GradientNormState(NamedTuple):
    """State of :class:`GradientNormController`: the smoothed norm and the step count."""

    average_norm: Any
    count: Any


@dataclass(frozen=True)
class GradientNormController:
    """A smaller rate for a larger gradient: the seed's rule, with its state made explicit.

    With ``g`` the global gradient norm of this batch, smoothed as
    ``a_t = smoothing * a_(t-1) + (1 - smoothing) * g_t`` (``a_0 = g_0``):

    ``lr_t = base_lr + boost`` when ``a_t < small_norm`` (nearly flat: step a little further),
    otherwise ``lr_t = max(min_lr, base_lr - slope * a_t)``.

    ``smoothing=0`` uses each batch's norm as it is (the seed's version).

    Args:
        base_lr: the rate for a zero gradient, > 0.
        slope: how much the rate drops per unit of gradient norm, >= 0.
        min_lr: the floor, > 0 and <= ``base_lr``.
        small_norm: below this norm the rate is ``base_lr + boost``, >= 0.
        boost: added to ``base_lr`` for a nearly flat gradient, >= 0.
        smoothing: weight of the old average, in [0, 1).

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> controller = GradientNormController(0.1, slope=0.005, min_lr=0.01)
        >>> ops = backend_ops("numpy")
        >>> state = controller.init(ops)
        >>> rates = []
        >>> for norm in [4.0, 30.0, 0.0]:
        ...     rate, state = controller.update(state, ops, grad_norm=norm)
        ...     rates.append(round(float(rate), 6))
        >>> rates
        [0.08, 0.01, 0.11]

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """

    base_lr: float
    slope: float = 0.005
    min_lr: float = 0.01
    small_norm: float = 1e-3
    boost: float = 0.01
    smoothing: float = 0.0

    def __post_init__(self) -> None:
        base_lr = _validate.positive_float("base_lr", self.base_lr)
        _validate.nonnegative_float("slope", self.slope)
        min_lr = _validate.positive_float("min_lr", self.min_lr)
        if min_lr > base_lr:
            raise ValueError(f"`min_lr` must be <= base_lr={base_lr}. Received: min_lr={min_lr}")
        _validate.nonnegative_float("small_norm", self.small_norm)
        _validate.nonnegative_float("boost", self.boost)
        _validate.decay_coefficient("smoothing", self.smoothing)

    def init(self, ops: Ops) -> GradientNormState:
        """A fresh state: no norm seen yet."""
        ops = _check_ops(ops)
        return GradientNormState(ops.scalar(0.0), ops.scalar(0.0))

    def update(self, state: GradientNormState, ops: Ops, *, grad_norm=None,
               loss=None) -> tuple[Any, GradientNormState]:
        """The rate for this batch from its gradient norm, and the new state."""
        ops = _check_ops(ops)
        _signal("grad_norm", grad_norm)
        norm = ops.scalar(grad_norm)
        average, count = state
        smoothed = self.smoothing * average + (1.0 - self.smoothing) * norm
        average = ops.where(count > 0, smoothed, norm)
        shrunk = ops.maximum(self.min_lr, self.base_lr - self.slope * average)
        rate = ops.where(average < self.small_norm, self.base_lr + self.boost, shrunk)
        return rate, GradientNormState(average, count + 1.0)


# ---------------------------------------------------------------------------------------
# Loss trend over a moving window


class LossTrendState(NamedTuple):
    """State of :class:`LossTrendController`: current rate, the window (newest first), count."""

    learning_rate: Any
    losses: Any
    count: Any


@dataclass(frozen=True)
class LossTrendController:
    """Multiply the rate down while the loss rises, up while it falls, over a moving window.

    The window holds the last ``window`` losses, newest first. Once it is full, with
    ``newer`` and ``older`` the means of its first and second halves:

    ``lr_t = max(min_lr, lr_(t-1) * decrease)`` if ``newer > older`` (the loss is rising),
    otherwise ``lr_t = min(max_lr, lr_(t-1) * increase)``.

    Until the window is full the rate stays at ``initial_lr``. The seed compared against a
    window of zeros instead, so it cut the rate at every one of its first steps; and it
    had no cap, so a falling loss grew the rate without bound.

    Args:
        initial_lr: the starting rate, in [``min_lr``, ``max_lr``].
        window: number of losses compared, an even integer >= 2.
        decrease: factor for a rising loss, in (0, 1].
        increase: factor for a falling loss, >= 1.
        min_lr, max_lr: the floor and the cap, 0 < min_lr <= max_lr.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> controller = LossTrendController(0.1, window=2, min_lr=0.01, max_lr=0.2)
        >>> ops = backend_ops("numpy")
        >>> state = controller.init(ops)
        >>> rates = []
        >>> for loss in [1.0, 0.9, 0.8, 1.5]:
        ...     rate, state = controller.update(state, ops, loss=loss)
        ...     rates.append(round(float(rate), 6))
        >>> rates
        [0.1, 0.105, 0.11025, 0.104738]

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """

    initial_lr: float
    window: int = 20
    decrease: float = 0.95
    increase: float = 1.05
    min_lr: float = 1e-6
    max_lr: float = 1.0

    def __post_init__(self) -> None:
        initial_lr = _validate.positive_float("initial_lr", self.initial_lr)
        window = _validate.integer("window", self.window, minimum=2)
        if window % 2:
            raise ValueError(f"`window` must be even (two halves are compared). "
                             f"Received: window={window}")
        decrease = _validate.positive_float("decrease", self.decrease)
        if decrease > 1:
            raise ValueError(f"`decrease` must be in (0, 1]. Received: decrease={decrease!r}")
        increase = _validate.positive_float("increase", self.increase)
        if increase < 1:
            raise ValueError(f"`increase` must be >= 1. Received: increase={increase!r}")
        min_lr = _validate.positive_float("min_lr", self.min_lr)
        max_lr = _validate.positive_float("max_lr", self.max_lr)
        if not min_lr <= initial_lr <= max_lr:
            raise ValueError("`initial_lr` must lie in [min_lr, max_lr]. Received: "
                             f"initial_lr={initial_lr}, min_lr={min_lr}, max_lr={max_lr}")

    def init(self, ops: Ops) -> LossTrendState:
        """A fresh state: the initial rate, an empty window."""
        ops = _check_ops(ops)
        return LossTrendState(ops.scalar(self.initial_lr), ops.zeros(self.window),
                              ops.scalar(0.0))

    def update(self, state: LossTrendState, ops: Ops, *, loss=None,
               grad_norm=None) -> tuple[Any, LossTrendState]:
        """The rate for this batch after seeing its loss, and the new state."""
        ops = _check_ops(ops)
        _signal("loss", loss)
        rate, losses, count = state
        newest = ops.scalar(loss)
        losses = ops.concat([newest[None], losses[:-1]])
        count = count + 1.0
        half = self.window // 2
        rising = ops.mean(losses[:half]) > ops.mean(losses[half:])
        adjusted = ops.where(rising, ops.maximum(self.min_lr, rate * self.decrease),
                             ops.minimum(self.max_lr, rate * self.increase))
        rate = ops.where(count >= self.window, adjusted, rate)
        return rate, LossTrendState(rate, losses, count)


# ---------------------------------------------------------------------------------------
# A schedule plus a loss tweak


class CyclicalLossState(NamedTuple):
    """State of :class:`CyclicalLossController`: the 0-based step of the next update."""

    step: Any


@dataclass(frozen=True)
class CyclicalLossController:
    """A schedule (cyclical, say) times ``factor`` while the loss is below ``loss_threshold``.

    ``lr_t = schedule(t) * (factor if loss_t < loss_threshold else 1)``

    The step lives in the state, so a compiled training step needs no Python step argument
    (passing one as a Python number retraces the ``tf.function`` at every call).

    Args:
        schedule: a function of the 0-based step from ``lrcourse.schedules`` (the seed's
            cycle is ``cosine_restarts(max_lr, cycle_length, t_mul=1.0, alpha=low / max_lr)``).
        loss_threshold: below this loss the rate is multiplied by ``factor``, a finite number.
        factor: the multiplier, > 0.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> from lrcourse.schedules import cyclical
        >>> controller = CyclicalLossController(cyclical(0.1, 0.3, step_size=2), factor=1.5)
        >>> ops = backend_ops("numpy")
        >>> state = controller.init(ops)
        >>> rates = []
        >>> for loss in [2.0, 2.0, 0.5, 0.5]:
        ...     rate, state = controller.update(state, ops, loss=loss)
        ...     rates.append(round(float(rate), 6))
        >>> rates
        [0.1, 0.2, 0.45, 0.3]

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """

    schedule: Callable
    loss_threshold: float = 1.0
    factor: float = 1.01

    def __post_init__(self) -> None:
        if not callable(self.schedule):
            raise TypeError("`schedule` must be a function of the step, such as one from "
                            f"lrcourse.schedules. Received: schedule={self.schedule!r:.60} "
                            f"({type(self.schedule).__name__})")
        _validate.real("loss_threshold", self.loss_threshold)
        _validate.positive_float("factor", self.factor)

    def init(self, ops: Ops) -> CyclicalLossState:
        """A fresh state at step 0."""
        ops = _check_ops(ops)
        return CyclicalLossState(ops.scalar(0.0))

    def update(self, state: CyclicalLossState, ops: Ops, *, loss=None,
               grad_norm=None) -> tuple[Any, CyclicalLossState]:
        """The rate for this batch, and the state for the next one."""
        ops = _check_ops(ops)
        _signal("loss", loss)
        (step,) = state
        base = ops.schedule(self.schedule, step)
        rate = ops.where(ops.scalar(loss) < self.loss_threshold, base * self.factor, base)
        return rate, CyclicalLossState(step + 1.0)


def run_controller(controller, signals: dict, backend: str = "numpy") -> np.ndarray:
    """Feed a controller a sequence of signals eagerly; return the rate after each one.

    Args:
        controller: one of the controllers in this module.
        signals: ``{"loss": [...]}`` and/or ``{"grad_norm": [...]}``, sequences of one length.
        backend: ``"numpy"``, ``"tensorflow"`` or ``"torch"``.

    Returns:
        The rates as a float64 NumPy array.

    Raises:
        TypeError, ValueError: for signals that are not a dict of equal-length sequences.

    Example:
        >>> run_controller(GradientNormController(0.1), {"grad_norm": [2.0, 4.0]})
        array([0.09, 0.08])

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """
    if not isinstance(signals, dict) or not signals or not set(signals) <= {"loss", "grad_norm"}:
        raise TypeError("`signals` must be a dict with keys 'loss' and/or 'grad_norm'. "
                        f"Received: signals={signals!r:.60}")
    lengths = {name: len(values) for name, values in signals.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"`signals` must all have the same length. Received lengths {lengths}")
    ops = backend_ops(backend)
    state = controller.init(ops)
    rates = []
    for i in range(next(iter(lengths.values()))):
        values = {name: _float(name, i, series[i]) for name, series in signals.items()}
        rate, state = controller.update(state, ops, **values)
        rates.append(float(rate))  # a 0-d array or tensor of any of the three backends
    return np.array(rates)


def _float(name: str, index: int, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating)):
        raise TypeError(f"`signals[{name!r}][{index}]` must be a number. "
                        f"Received: {value!r:.60} ({type(value).__name__})")
    if not math.isfinite(value):
        raise ValueError(f"`signals[{name!r}][{index}]` must be finite. Received: {value!r}")
    return float(value)
