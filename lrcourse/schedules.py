"""Learning-rate schedules as pure functions of the optimizer step.

Every factory here validates its arguments and returns a :class:`Schedule`: a function
``step -> learning rate`` with no state. Steps are 0-based optimizer steps (the first
update uses ``schedule(0)``), and a schedule accepts a single step or a NumPy array of
steps. Composite schedules are joins of simple ones (:func:`join`).

The Keras and PyTorch adapters (``lrcourse.keras_utils.as_keras_schedule``,
``lrcourse.torch_utils.as_lambda_lr``) wrap these same functions, and the tests prove
that the formulas here equal the frameworks' built-in schedules step by step.

This module imports only NumPy and ``math``.

Introduced in ``notebooks/02_schedules.ipynb``.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from lrcourse import _validate

__all__ = [
    "Schedule",
    "constant",
    "exponential_decay",
    "inverse_time_decay",
    "piecewise_constant",
    "polynomial_decay",
    "cosine_decay",
    "linear_warmup",
    "warmup_cosine",
    "cosine_restarts",
    "cyclical",
    "one_cycle",
    "join",
    "from_spec",
]


_PLAIN_NUMBERS = frozenset({int, float, np.int64, np.int32, np.float64, np.float32})


def _steps(step: object) -> np.ndarray:
    """``step`` as a float64 array, or raise if it is not finite, non-negative and numeric."""
    if isinstance(step, bool) or not isinstance(step, (numbers.Real, np.ndarray, list, tuple)):
        raise TypeError(
            "`step` must be a number or an array of numbers >= 0. "
            f"Received: step={step!r:.60} ({type(step).__name__})"
        )
    array = np.asarray(step)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise TypeError(
            f"`step` must be a number or an array of numbers >= 0. Received dtype {array.dtype}"
        )
    array = array.astype(np.float64)
    bad = ~np.isfinite(array) | (array < 0)
    if bad.any():
        raise ValueError(
            "`step` must be finite and >= 0 (steps count optimizer updates from 0). "
            f"Received: step={float(array[bad].ravel()[0])!r}"
        )
    return array


class Schedule:
    """A learning-rate schedule: a pure function of the 0-based optimizer step.

    Built by the factories in this module, never directly. Each factory gives two forms of
    its formula: ``scalar``, plain Python on one float step, and ``array``, NumPy on an
    array of steps. One step (an int or a float) takes the scalar form after a check that
    costs about as much as the formula; anything else (an array, a list) goes through
    the array form. The two agree to a few units in the last place at every step (a test
    checks them against each other, schedule by schedule). ``name`` and ``config`` record
    the recipe, so :meth:`spec` and :func:`from_spec` can rebuild the same function (the
    Keras adapter uses this to save and load models).

    Example:
        >>> schedule = exponential_decay(0.1, decay_rate=0.5, decay_steps=10)
        >>> schedule
        exponential_decay(initial_lr=0.1, decay_rate=0.5, decay_steps=10, staircase=False)
        >>> schedule(10)
        0.05
        >>> schedule(np.array([0, 10, 20]))
        array([0.1  , 0.05 , 0.025])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    __slots__ = ("name", "config", "_scalar", "_array")

    def __init__(self, name: str, config: dict, scalar: Callable[[float], float],
                 array: Callable[[np.ndarray], np.ndarray]):
        self.name = name
        self.config = config
        self._scalar = scalar
        self._array = array

    def __call__(self, step: object) -> float | np.ndarray:
        """The learning rate at ``step``: a float for one step, an array for an array."""
        if type(step) in _PLAIN_NUMBERS and 0 <= step < math.inf:  # NaN fails the test too
            return self._scalar(float(step))
        steps = _steps(step)
        if steps.ndim == 0:
            return self._scalar(float(steps))
        flat = steps.reshape(-1)
        values = np.asarray(self._array(flat), dtype=np.float64)
        if values.shape != flat.shape:
            values = np.broadcast_to(values, flat.shape).copy()
        return values.reshape(steps.shape)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.config.items())
        return f"{self.name}({arguments})"

    def spec(self) -> dict:
        """A JSON-friendly description ``{"name": ..., "config": {...}}`` of this schedule.

        >>> constant(0.01).spec()
        {'name': 'constant', 'config': {'learning_rate': 0.01}}
        """
        config = dict(self.config)
        if "schedules" in config:
            for i, piece in enumerate(config["schedules"]):
                if not isinstance(piece, Schedule):
                    raise TypeError(
                        f"Cannot describe this join: piece {i} ({piece!r:.60}) is not an lrcourse "
                        "schedule. Build every piece with the factories in lrcourse.schedules."
                    )
            config["schedules"] = [piece.spec() for piece in config["schedules"]]
        return {"name": self.name, "config": config}


def constant(learning_rate: float) -> Schedule:
    """The same rate at every step: ``lr(step) = learning_rate``.

    Args:
        learning_rate: the rate, a finite number > 0.

    Raises:
        TypeError, ValueError: for a rate that is not a finite number > 0.

    Example:
        >>> constant(0.1)(np.array([0, 1000]))
        array([0.1, 0.1])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    learning_rate = _validate.positive_float("learning_rate", learning_rate)
    return Schedule("constant", {"learning_rate": learning_rate},
                    scalar=lambda step: learning_rate,
                    array=lambda steps: np.full_like(steps, learning_rate))


def exponential_decay(
    initial_lr: float, decay_rate: float, decay_steps: int, staircase: bool = False
) -> Schedule:
    """Multiply the rate by ``decay_rate`` every ``decay_steps`` steps.

    ``lr(step) = initial_lr * decay_rate ** (step / decay_steps)``, with the exponent
    rounded down when ``staircase=True``. Same as Keras ``ExponentialDecay``; PyTorch's
    ``ExponentialLR(gamma=decay_rate ** (1 / decay_steps))`` is the smooth form and
    ``StepLR(step_size=decay_steps, gamma=decay_rate)`` the staircase.

    Args:
        initial_lr: the rate at step 0, > 0.
        decay_rate: factor per ``decay_steps`` steps, > 0 (below 1 decays).
        decay_steps: steps per factor of ``decay_rate``, an integer >= 1.
        staircase: hold the rate constant within each block of ``decay_steps``.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> exponential_decay(1.0, 0.5, decay_steps=2)(np.arange(5))
        array([1.  , 0.707..., 0.5  , 0.353..., 0.25 ])
        >>> exponential_decay(1.0, 0.5, decay_steps=2, staircase=True)(np.arange(5))
        array([1.  , 1.  , 0.5 , 0.5 , 0.25])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    initial_lr = _validate.positive_float("initial_lr", initial_lr)
    decay_rate = _validate.positive_float("decay_rate", decay_rate)
    decay_steps = _validate.integer("decay_steps", decay_steps, minimum=1)
    staircase = _validate.boolean("staircase", staircase)

    def scalar(step):
        exponent = step / decay_steps
        return initial_lr * decay_rate ** (math.floor(exponent) if staircase else exponent)

    def array(steps):
        exponent = steps / decay_steps
        return initial_lr * decay_rate ** (np.floor(exponent) if staircase else exponent)

    config = {"initial_lr": initial_lr, "decay_rate": decay_rate, "decay_steps": decay_steps,
              "staircase": staircase}
    return Schedule("exponential_decay", config, scalar, array)


def inverse_time_decay(
    initial_lr: float, decay_rate: float, decay_steps: int, staircase: bool = False
) -> Schedule:
    """Divide the rate by ``1 + decay_rate * step / decay_steps``.

    ``lr(step) = initial_lr / (1 + decay_rate * step / decay_steps)``, with
    ``step / decay_steps`` rounded down when ``staircase=True``. Same as Keras
    ``InverseTimeDecay``; PyTorch has no built-in (use ``LambdaLR``).

    Args:
        initial_lr: the rate at step 0, > 0.
        decay_rate: how fast the rate falls, > 0.
        decay_steps: steps per unit of decay, an integer >= 1.
        staircase: round ``step / decay_steps`` down.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> inverse_time_decay(1.0, decay_rate=1.0, decay_steps=10)(np.array([0, 10, 30]))
        array([1.  , 0.5 , 0.25])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    initial_lr = _validate.positive_float("initial_lr", initial_lr)
    decay_rate = _validate.positive_float("decay_rate", decay_rate)
    decay_steps = _validate.integer("decay_steps", decay_steps, minimum=1)
    staircase = _validate.boolean("staircase", staircase)

    def scalar(step):
        progress = step / decay_steps
        return initial_lr / (1.0 + decay_rate * (math.floor(progress) if staircase else progress))

    def array(steps):
        progress = steps / decay_steps
        return initial_lr / (1.0 + decay_rate * (np.floor(progress) if staircase else progress))

    config = {"initial_lr": initial_lr, "decay_rate": decay_rate, "decay_steps": decay_steps,
              "staircase": staircase}
    return Schedule("inverse_time_decay", config, scalar, array)


def piecewise_constant(boundaries: Sequence[int], values: Sequence[float]) -> Schedule:
    """``values[i]`` from step ``boundaries[i - 1]`` up to, not including, ``boundaries[i]``.

    ``lr(step) = values[number of boundaries <= step]``. The rate changes *at* the boundary
    step, as in PyTorch's ``MultiStepLR`` and optax. Keras ``PiecewiseConstantDecay``
    changes one step later (it keeps ``values[0]`` while ``step <= boundaries[0]``).

    Args:
        boundaries: strictly increasing integer steps >= 1.
        values: ``len(boundaries) + 1`` rates, each > 0.

    Raises:
        TypeError, ValueError: for bad boundaries, bad values or mismatched lengths.

    Example:
        >>> piecewise_constant([2, 4], [1.0, 0.1, 0.01])(np.arange(6))
        array([1.  , 1.  , 0.1 , 0.1 , 0.01, 0.01])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    boundaries = _validate.increasing_ints("boundaries", boundaries)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"`values` must be a list of rates. Received: values={values!r}")
    values = [_validate.positive_float(f"values[{i}]", value) for i, value in enumerate(values)]
    if len(values) != len(boundaries) + 1:
        raise ValueError(
            "`values` must have exactly one more entry than `boundaries`. "
            f"Received: {len(values)} values for {len(boundaries)} boundaries"
        )
    table = np.asarray(values)
    return Schedule(
        "piecewise_constant", {"boundaries": list(boundaries), "values": values},
        scalar=lambda step: values[bisect.bisect_right(boundaries, step)],
        array=lambda steps: table[np.searchsorted(boundaries, steps, side="right")],
    )


def polynomial_decay(
    initial_lr: float,
    decay_steps: int,
    final_lr: float = 0.0,
    power: float = 1.0,
    cycle: bool = False,
) -> Schedule:
    """Fall from ``initial_lr`` to ``final_lr`` along ``(1 - step / decay_steps) ** power``.

    ``lr(step) = (initial_lr - final_lr) * (1 - min(step, decay_steps) / decay_steps) ** power
    + final_lr``, holding ``final_lr`` afterwards. With ``cycle=True`` the decay restarts
    over ``decay_steps * ceil(step / decay_steps)`` steps instead (Keras ``cycle``). Keras
    ``PolynomialDecay`` defaults ``end_learning_rate`` to 1e-4; PyTorch ``PolynomialLR``
    always ends at 0.

    Args:
        initial_lr: the rate at step 0, > 0.
        decay_steps: steps to reach ``final_lr``, an integer >= 1.
        final_lr: the rate held after ``decay_steps``, >= 0.
        power: exponent of the decay, > 0 (1 is linear).
        cycle: restart the decay instead of holding ``final_lr``.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> polynomial_decay(1.0, decay_steps=4)(np.arange(6))
        array([1.  , 0.75, 0.5 , 0.25, 0.  , 0.  ])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    initial_lr = _validate.positive_float("initial_lr", initial_lr)
    decay_steps = _validate.integer("decay_steps", decay_steps, minimum=1)
    final_lr = _validate.nonnegative_float("final_lr", final_lr)
    power = _validate.positive_float("power", power)
    cycle = _validate.boolean("cycle", cycle)

    def scalar(step):
        if cycle:
            progress = step / (decay_steps * max(math.ceil(step / decay_steps), 1))
        else:
            progress = min(step, decay_steps) / decay_steps
        return (initial_lr - final_lr) * (1.0 - progress) ** power + final_lr

    def array(steps):
        if cycle:
            progress = steps / (decay_steps * np.maximum(np.ceil(steps / decay_steps), 1.0))
        else:
            progress = np.minimum(steps, decay_steps) / decay_steps
        return (initial_lr - final_lr) * (1.0 - progress) ** power + final_lr

    config = {"initial_lr": initial_lr, "decay_steps": decay_steps, "final_lr": final_lr,
              "power": power, "cycle": cycle}
    return Schedule("polynomial_decay", config, scalar, array)


def cosine_decay(initial_lr: float, decay_steps: int, alpha: float = 0.0) -> Schedule:
    """Half a cosine from ``initial_lr`` down to ``alpha * initial_lr``, then hold.

    ``lr(step) = initial_lr * ((1 - alpha) * (1 + cos(pi * min(step, decay_steps) / decay_steps))
    / 2 + alpha)``. Same as Keras ``CosineDecay`` without warmup. PyTorch's
    ``CosineAnnealingLR(T_max=decay_steps, eta_min=alpha * initial_lr)`` agrees up to
    ``decay_steps`` but does not hold: after it the rate climbs back up.

    Args:
        initial_lr: the rate at step 0, > 0.
        decay_steps: length of the half cosine, an integer >= 1.
        alpha: final rate as a fraction of ``initial_lr``, in [0, 1].

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> cosine_decay(1.0, decay_steps=4, alpha=0.1)(np.array([0, 2, 4, 100]))
        array([1.  , 0.55, 0.1 , 0.1 ])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    initial_lr = _validate.positive_float("initial_lr", initial_lr)
    decay_steps = _validate.integer("decay_steps", decay_steps, minimum=1)
    alpha = _validate.unit_interval("alpha", alpha)

    def scalar(step):
        progress = min(step, decay_steps) / decay_steps
        return initial_lr * ((1.0 - alpha) * 0.5 * (1.0 + math.cos(math.pi * progress)) + alpha)

    def array(steps):
        progress = np.minimum(steps, decay_steps) / decay_steps
        return initial_lr * ((1.0 - alpha) * 0.5 * (1.0 + np.cos(np.pi * progress)) + alpha)

    config = {"initial_lr": initial_lr, "decay_steps": decay_steps, "alpha": alpha}
    return Schedule("cosine_decay", config, scalar, array)


def linear_warmup(peak_lr: float, warmup_steps: int, initial_lr: float = 0.0) -> Schedule:
    """Ramp linearly from ``initial_lr`` to ``peak_lr`` over ``warmup_steps``, then hold.

    ``lr(step) = initial_lr + (peak_lr - initial_lr) * min(step, warmup_steps) / warmup_steps``.
    With ``initial_lr=0`` the very first update does nothing, as in Keras and optax warmup.
    PyTorch ``LinearLR(start_factor=initial_lr / peak_lr, total_iters=warmup_steps)`` is the
    same ramp but needs ``initial_lr > 0``.

    Args:
        peak_lr: the rate reached at ``warmup_steps`` and held, > 0.
        warmup_steps: length of the ramp, an integer >= 1.
        initial_lr: the rate at step 0, in [0, ``peak_lr``].

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> linear_warmup(1.0, warmup_steps=4)(np.arange(6))
        array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    peak_lr = _validate.positive_float("peak_lr", peak_lr)
    warmup_steps = _validate.integer("warmup_steps", warmup_steps, minimum=1)
    initial_lr = _validate.nonnegative_float("initial_lr", initial_lr)
    if initial_lr > peak_lr:
        raise ValueError(
            f"`initial_lr` must be <= peak_lr={peak_lr}. Received: initial_lr={initial_lr!r}"
        )

    def scalar(step):
        return initial_lr + (peak_lr - initial_lr) * min(step, warmup_steps) / warmup_steps

    def array(steps):
        return initial_lr + (peak_lr - initial_lr) * np.minimum(steps, warmup_steps) / warmup_steps

    config = {"peak_lr": peak_lr, "warmup_steps": warmup_steps, "initial_lr": initial_lr}
    return Schedule("linear_warmup", config, scalar, array)


def warmup_cosine(
    peak_lr: float, total_steps: int, warmup_steps: int, final_lr: float = 0.0
) -> Schedule:
    """Linear warmup from 0 to ``peak_lr``, then cosine decay to ``final_lr`` by ``total_steps``.

    ``join([linear_warmup(peak_lr, warmup_steps), cosine_decay(peak_lr, total_steps -
    warmup_steps, alpha=final_lr / peak_lr)], [warmup_steps])``: ``total_steps`` *includes*
    the warmup (as in optax). Keras ``CosineDecay(0.0, decay_steps, warmup_target=peak_lr,
    warmup_steps=...)`` counts ``decay_steps`` *after* the warmup instead.

    Args:
        peak_lr: the rate at the end of warmup, > 0.
        total_steps: steps from 0 to the end of the decay, an integer > ``warmup_steps``.
        warmup_steps: length of the warmup, an integer >= 0 (0 means no warmup).
        final_lr: the rate held after ``total_steps``, in [0, ``peak_lr``].

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> warmup_cosine(1.0, total_steps=6, warmup_steps=2)(np.arange(8))
        array([0.  , 0.5 , 1.  , 0.853..., 0.5  , 0.146..., 0.  , 0.  ])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    peak_lr = _validate.positive_float("peak_lr", peak_lr)
    total_steps = _validate.integer("total_steps", total_steps, minimum=2)
    warmup_steps = _validate.integer("warmup_steps", warmup_steps, minimum=0)
    final_lr = _validate.nonnegative_float("final_lr", final_lr)
    if warmup_steps >= total_steps:
        raise ValueError(f"`warmup_steps` must be < total_steps={total_steps}. "
                         f"Received: warmup_steps={warmup_steps}")
    if final_lr > peak_lr:
        raise ValueError(
            f"`final_lr` must be <= peak_lr={peak_lr}. Received: final_lr={final_lr!r}")
    joined = cosine_decay(peak_lr, total_steps - warmup_steps, alpha=final_lr / peak_lr)
    if warmup_steps:
        joined = join([linear_warmup(peak_lr, warmup_steps), joined], [warmup_steps])
    config = {"peak_lr": peak_lr, "total_steps": total_steps, "warmup_steps": warmup_steps,
              "final_lr": final_lr}
    return Schedule("warmup_cosine", config, joined._scalar, joined._array)


class _RestartPeriods:
    """Where the cosine periods of :func:`cosine_restarts` start, in units of the first one.

    Period ``i`` starts at ``(t_mul ** i - 1) / (t_mul - 1)`` (at ``i`` when ``t_mul`` is 1)
    and lasts ``t_mul ** i``. Both forms of the schedule take these numbers from the same
    plain-Python :meth:`start` and :meth:`length`, so that they put each restart at the
    same step.
    """

    def __init__(self, t_mul: float):
        self.t_mul = t_mul

    def start(self, i: int) -> float:
        if self.t_mul == 1.0:
            return float(i)
        return (self.t_mul**i - 1.0) / (self.t_mul - 1.0)

    def length(self, i: int) -> float:
        return self.t_mul**i

    def index(self, progress: float) -> int:
        """The period ``progress`` falls in: a logarithm's guess, settled exactly."""
        if self.t_mul == 1.0:
            return math.floor(progress)
        i = math.floor(math.log1p(progress * (self.t_mul - 1.0)) / math.log(self.t_mul))
        if self.start(i + 1) <= progress:
            i += 1
        elif self.start(i) > progress:
            i -= 1
        return i

    def indices(self, progress: np.ndarray) -> np.ndarray:
        """:meth:`index` of every entry, as an integer array."""
        if self.t_mul == 1.0:
            return np.floor(progress).astype(np.int64)
        guess = np.floor(np.log1p(progress * (self.t_mul - 1.0)) / math.log(self.t_mul))
        guess = guess.astype(np.int64)
        nearby = np.arange(max(guess.min() - 1, 0), guess.max() + 2)
        starts = np.array([self.start(int(i)) for i in nearby])
        return nearby[np.searchsorted(starts, progress, side="right") - 1]

    @staticmethod
    def table(index: np.ndarray, value) -> np.ndarray:
        """``value(i)`` for every entry of ``index``, each computed once in plain Python."""
        unique, inverse = np.unique(index, return_inverse=True)
        return np.array([value(int(i)) for i in unique])[inverse]


def cosine_restarts(
    initial_lr: float,
    first_decay_steps: int,
    t_mul: float = 2.0,
    m_mul: float = 1.0,
    alpha: float = 0.0,
) -> Schedule:
    """Cosine decay that restarts (SGDR): period ``i`` lasts ``first_decay_steps * t_mul ** i``.

    Within period ``i`` at fraction ``f`` of its length, ``lr = initial_lr * ((1 - alpha) *
    m_mul ** i * (1 + cos(pi * f)) / 2 + alpha)``. Same as Keras ``CosineDecayRestarts``;
    PyTorch ``CosineAnnealingWarmRestarts(T_0=first_decay_steps, T_mult=t_mul,
    eta_min=alpha * initial_lr)`` is the case ``m_mul=1`` with integer ``t_mul``.

    Args:
        initial_lr: the rate at step 0 and at each restart (times ``m_mul ** i``), > 0.
        first_decay_steps: length of the first period, an integer >= 1.
        t_mul: growth factor of the period length, >= 1.
        m_mul: factor applied to the peak at each restart, in (0, 1].
        alpha: the floor as a fraction of ``initial_lr``, in [0, 1].

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> cosine_restarts(1.0, first_decay_steps=2, t_mul=2.0)(np.arange(8))
        array([1.  , 0.5 , 1.  , 0.853..., 0.5  , 0.146..., 1.  , 0.961...])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    initial_lr = _validate.positive_float("initial_lr", initial_lr)
    first_decay_steps = _validate.integer("first_decay_steps", first_decay_steps, minimum=1)
    t_mul = _validate.real("t_mul", t_mul, expected="a finite number >= 1")
    if t_mul < 1:
        raise ValueError(f"`t_mul` must be a finite number >= 1. Received: t_mul={t_mul!r}")
    m_mul = _validate.positive_float("m_mul", m_mul)
    if m_mul > 1:
        raise ValueError(f"`m_mul` must be in (0, 1]. Received: m_mul={m_mul!r}")
    alpha = _validate.unit_interval("alpha", alpha)
    period = _RestartPeriods(t_mul)

    def scalar(step):
        progress = step / first_decay_steps
        index = period.index(progress)
        fraction = (progress - period.start(index)) / period.length(index)
        cosine = 0.5 * m_mul**index * (1.0 + math.cos(math.pi * fraction))
        return initial_lr * ((1.0 - alpha) * cosine + alpha)

    def array(steps):
        progress = steps / first_decay_steps
        index = period.indices(progress)
        starts, lengths = period.table(index, period.start), period.table(index, period.length)
        fraction = (progress - starts) / lengths
        cosine = 0.5 * period.table(index, lambda i: m_mul**i) * (1.0 + np.cos(np.pi * fraction))
        return initial_lr * ((1.0 - alpha) * cosine + alpha)

    config = {"initial_lr": initial_lr, "first_decay_steps": first_decay_steps, "t_mul": t_mul,
              "m_mul": m_mul, "alpha": alpha}
    return Schedule("cosine_restarts", config, scalar, array)


def cyclical(
    base_lr: float,
    max_lr: float,
    step_size: int,
    mode: str = "triangular",
    gamma: float = 1.0,
) -> Schedule:
    """Cyclical learning rate (Smith 2017): up from ``base_lr`` to ``max_lr`` and back.

    With ``cycle = floor(1 + step / (2 * step_size))`` and
    ``x = |step / step_size - 2 * cycle + 1|``:
    ``lr = base_lr + (max_lr - base_lr) * max(0, 1 - x) * scale``, where ``scale`` is 1
    (``"triangular"``), ``1 / 2 ** (cycle - 1)`` (``"triangular2"``) or ``gamma ** step``
    (``"exp_range"``). Same as PyTorch ``CyclicLR(step_size_up=step_size)``; Keras has no
    built-in.

    Args:
        base_lr: the low end, > 0.
        max_lr: the high end, >= ``base_lr``.
        step_size: steps from low to high (half a cycle), an integer >= 1.
        mode: ``"triangular"``, ``"triangular2"`` or ``"exp_range"``.
        gamma: per-step factor of the amplitude in ``"exp_range"``, in (0, 1].

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> cyclical(0.1, 0.5, step_size=2)(np.arange(6))
        array([0.1, 0.3, 0.5, 0.3, 0.1, 0.3])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    base_lr = _validate.positive_float("base_lr", base_lr)
    max_lr = _validate.positive_float("max_lr", max_lr)
    if max_lr < base_lr:
        raise ValueError(f"`max_lr` must be >= base_lr={base_lr}. Received: max_lr={max_lr!r}")
    step_size = _validate.integer("step_size", step_size, minimum=1)
    mode = _validate.choice("mode", mode, ("triangular", "triangular2", "exp_range"))
    gamma = _validate.positive_float("gamma", gamma)
    if gamma > 1:
        raise ValueError(f"`gamma` must be in (0, 1]. Received: gamma={gamma!r}")

    def scale(step, cycle):
        if mode == "triangular":
            return 1.0
        if mode == "triangular2":
            return 1.0 / 2.0 ** (cycle - 1.0)
        return gamma**step

    def scalar(step):
        cycle = math.floor(1.0 + step / (2 * step_size))
        x = abs(step / step_size - 2.0 * cycle + 1.0)
        return base_lr + (max_lr - base_lr) * max(0.0, 1.0 - x) * scale(step, cycle)

    def array(steps):
        cycle = np.floor(1.0 + steps / (2 * step_size))
        x = np.abs(steps / step_size - 2.0 * cycle + 1.0)
        return base_lr + (max_lr - base_lr) * np.maximum(0.0, 1.0 - x) * scale(steps, cycle)

    config = {"base_lr": base_lr, "max_lr": max_lr, "step_size": step_size, "mode": mode,
              "gamma": gamma}
    return Schedule("cyclical", config, scalar, array)


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    anneal: str = "cos",
) -> Schedule:
    """One cycle (Smith 2018): up from ``max_lr / div_factor`` to ``max_lr``, then far down.

    The rise ends at step ``pct_start * total_steps - 1``; the fall ends at step
    ``total_steps - 1`` at ``max_lr / (div_factor * final_div_factor)``, held afterwards.
    Each phase interpolates with ``anneal``: ``"cos"`` is ``end + (start - end) * (1 +
    cos(pi * pct)) / 2``, ``"linear"`` is ``start + (end - start) * pct``. Same as PyTorch
    ``OneCycleLR`` (two phases), which raises instead of holding after ``total_steps``.

    Args:
        max_lr: the peak, > 0.
        total_steps: the length of the cycle in optimizer steps, an integer >= 2.
        pct_start: share of the steps spent rising, in (0, 1), with ``pct_start *
            total_steps > 1``.
        div_factor: ``max_lr / div_factor`` is the first rate, > 0.
        final_div_factor: the last rate is the first divided by this, > 0.
        anneal: ``"cos"`` or ``"linear"``.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> schedule = one_cycle(1.0, total_steps=10, pct_start=0.3, anneal="linear")
        >>> schedule(np.array([0, 1, 2, 9, 50]))
        array([4.e-02, 5.2e-01, 1.e+00, 4.e-06, 4.e-06])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    max_lr = _validate.positive_float("max_lr", max_lr)
    total_steps = _validate.integer("total_steps", total_steps, minimum=2)
    pct_start = _validate.fraction("pct_start", pct_start)
    div_factor = _validate.positive_float("div_factor", div_factor)
    final_div_factor = _validate.positive_float("final_div_factor", final_div_factor)
    anneal = _validate.choice("anneal", anneal, ("cos", "linear"))
    rise_end = float(pct_start * total_steps) - 1.0
    if rise_end <= 0:
        raise ValueError(
            "`pct_start * total_steps` must be > 1 so the rise lasts at least one step. "
            f"Received: pct_start={pct_start!r}, total_steps={total_steps}"
        )
    initial_lr = max_lr / div_factor
    final_lr = initial_lr / final_div_factor
    fall_end = float(total_steps - 1)

    def interpolate(begin, end, pct, cos):
        if anneal == "cos":
            return end + (begin - end) / 2.0 * (cos(math.pi * pct) + 1.0)
        return (end - begin) * pct + begin

    def scalar(step):
        if step <= rise_end:
            return interpolate(initial_lr, max_lr, step / rise_end, math.cos)
        pct = (min(step, fall_end) - rise_end) / (fall_end - rise_end)
        return interpolate(max_lr, final_lr, pct, math.cos)

    def array(steps):
        rising = interpolate(initial_lr, max_lr, steps / rise_end, np.cos)
        falling = interpolate(max_lr, final_lr, (np.minimum(steps, fall_end) - rise_end)
                              / (fall_end - rise_end), np.cos)
        return np.where(steps <= rise_end, rising, falling)

    config = {"max_lr": max_lr, "total_steps": total_steps, "pct_start": pct_start,
              "div_factor": div_factor, "final_div_factor": final_div_factor, "anneal": anneal}
    return Schedule("one_cycle", config, scalar, array)


def join(schedules: Sequence[Callable], boundaries: Sequence[int]) -> Schedule:
    """Run ``schedules[i]`` from ``boundaries[i - 1]`` up to ``boundaries[i]``.

    ``lr(step) = schedules[i](step - boundaries[i - 1])`` where ``i`` is the number of
    boundaries ``<= step`` (``boundaries[-1]`` is taken as 0): each later piece counts
    steps from its own boundary, as in optax's ``join_schedules``.

    Args:
        schedules: ``len(boundaries) + 1`` schedules (functions of the step that accept arrays).
        boundaries: strictly increasing integer steps >= 1.

    Raises:
        TypeError, ValueError: for a piece that is not callable, bad boundaries or
        mismatched lengths.

    Example:
        >>> warm_then_decay = join([linear_warmup(1.0, 2), exponential_decay(1.0, 0.5, 1)], [2])
        >>> warm_then_decay(np.arange(5))
        array([0.  , 0.5 , 1.  , 0.5 , 0.25])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """

    boundaries = _validate.increasing_ints("boundaries", boundaries)
    if isinstance(schedules, (str, bytes)) or not hasattr(schedules, "__iter__"):
        raise TypeError(f"`schedules` must be a list of schedules. Received: {schedules!r:.60}")
    schedules = list(schedules)
    for i, piece in enumerate(schedules):
        if not callable(piece):
            raise TypeError(
                f"`schedules[{i}]` must be a function of the step. "
                f"Received: {piece!r:.60} ({type(piece).__name__})"
            )
    if len(schedules) != len(boundaries) + 1:
        raise ValueError(
            "`schedules` must have exactly one more entry than `boundaries`. "
            f"Received: {len(schedules)} schedules for {len(boundaries)} boundaries"
        )
    starts = (0, *boundaries)

    def scalar(step):
        i = bisect.bisect_right(boundaries, step)
        return float(schedules[i](step - starts[i]))

    def array(steps):
        which = np.searchsorted(boundaries, steps, side="right")
        values = np.empty_like(steps)
        for i, piece in enumerate(schedules):
            mask = which == i
            if mask.any():
                values[mask] = piece(steps[mask] - starts[i])
        return values

    config = {"schedules": schedules, "boundaries": list(boundaries)}
    return Schedule("join", config, scalar, array)


_FACTORIES: dict[str, Callable[..., Schedule]] = {
    "constant": constant,
    "exponential_decay": exponential_decay,
    "inverse_time_decay": inverse_time_decay,
    "piecewise_constant": piecewise_constant,
    "polynomial_decay": polynomial_decay,
    "cosine_decay": cosine_decay,
    "linear_warmup": linear_warmup,
    "warmup_cosine": warmup_cosine,
    "cosine_restarts": cosine_restarts,
    "cyclical": cyclical,
    "one_cycle": one_cycle,
}


def from_spec(spec: Any) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.spec` (for saving and loading).

    Raises:
        TypeError, ValueError: when ``spec`` is not a spec of a schedule in this module.

    Example:
        >>> schedule = join([linear_warmup(0.1, 5), cosine_decay(0.1, 95)], [5])
        >>> from_spec(schedule.spec())(np.array([0, 5, 100]))
        array([0. , 0.1, 0. ])

    Introduced in ``notebooks/02_schedules.ipynb``.
    """
    if not (isinstance(spec, dict) and set(spec) == {"name", "config"}
            and isinstance(spec["config"], dict)):
        raise TypeError(
            "`spec` must be a dict {'name': ..., 'config': {...}} from Schedule.spec(). "
            f"Received: spec={spec!r:.80}"
        )
    name, config = spec["name"], dict(spec["config"])
    if name == "join":
        pieces = config.get("schedules")
        if not isinstance(pieces, list):
            raise TypeError(f"`spec` of a join needs a list of schedules. Received: {pieces!r:.80}")
        return join([from_spec(piece) for piece in pieces], config.get("boundaries"))
    if name not in _FACTORIES:
        raise ValueError(
            f"`spec['name']` must be one of {', '.join(_FACTORIES)}, join. Received: {name!r}"
        )
    return _FACTORIES[name](**config)
