"""The LR range test (the "LR finder"), without any framework: sweep, smoothing, suggestions.

A range test trains for ``num_steps`` batches while the learning rate climbs from
``start_lr`` to ``end_lr`` and records the loss of every batch. This module holds
everything that does not need a network: the rates to try (:func:`sweep_rates`), the
bias-corrected smoothing (:func:`smooth`), the stop rule and the record of one run
(:class:`RangeTest`), the reading of the curve (:func:`analyze`, one small function per
suggestion), whose result is a :class:`FinderResult`, and the loop that drives a model
(:func:`run_range_test`). ``lrcourse.keras_utils.find_lr`` and
``lrcourse.torch_utils.find_lr`` give that loop a :class:`FrameworkAdapter`: how to set
the rates, train one batch, and snapshot and restore the model.

Introduced in ``notebooks/06_lr_finder.ipynb``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from lrcourse import _validate

__all__ = [
    "FinderResult",
    "FrameworkAdapter",
    "RangeTest",
    "SUGGESTIONS",
    "analyze",
    "check_sweep",
    "run_range_test",
    "smooth",
    "sweep_rates",
]

MODES = ("exp", "linear")
#: The suggestion names :func:`analyze` computes, in the order it reports them.
SUGGESTIONS = ("valley", "steepest", "minimum_div_10")
STOP_REASONS = ("completed", "diverged", "non_finite")


def check_sweep(start_lr: object, end_lr: object, num_steps: object, mode: object) -> tuple:
    """Validate the four sweep settings; return them as ``(float, float, int, str)``.

    Raises:
        TypeError: for a rate or step count of the wrong type.
        ValueError: for a rate that is not > 0, ``start_lr >= end_lr``, ``num_steps < 2``
            or a mode other than ``"exp"`` and ``"linear"``.

    Example:
        >>> check_sweep(1e-5, 1.0, 50, "exp")
        (1e-05, 1.0, 50, 'exp')
        >>> check_sweep(1.0, 1e-5, 50, "exp")
        Traceback (most recent call last):
        ...
        ValueError: `start_lr` must be < `end_lr`. Received: start_lr=1.0, end_lr=1e-05

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    start_lr = _validate.positive_float("start_lr", start_lr)
    end_lr = _validate.positive_float("end_lr", end_lr)
    if start_lr >= end_lr:
        raise ValueError(f"`start_lr` must be < `end_lr`. Received: start_lr={start_lr!r}, "
                         f"end_lr={end_lr!r}")
    num_steps = _validate.integer("num_steps", num_steps, minimum=2)
    mode = _validate.choice("mode", mode, MODES)
    return start_lr, end_lr, num_steps, mode


def sweep_rates(start_lr: float, end_lr: float, num_steps: int, mode: str = "exp") -> np.ndarray:
    """The ``num_steps`` rates of a range test, from ``start_lr`` to ``end_lr`` inclusive.

    ``"exp"``: ``lr_i = start_lr * (end_lr / start_lr) ** (i / (num_steps - 1))``, evenly
    spaced on a log axis (the usual choice: it spends as many steps on 1e-6..1e-5 as on
    0.1..1). ``"linear"``: ``lr_i = start_lr + (end_lr - start_lr) * i / (num_steps - 1)``.

    Args:
        start_lr: the first rate, > 0.
        end_lr: the last rate, > ``start_lr``.
        num_steps: how many rates (training steps), >= 2.
        mode: ``"exp"`` or ``"linear"``.

    Returns:
        A float64 array of ``num_steps`` increasing rates.

    Raises:
        TypeError, ValueError: as :func:`check_sweep`.

    Example:
        >>> sweep_rates(1e-3, 1.0, 4).round(6).tolist()
        [0.001, 0.01, 0.1, 1.0]
        >>> sweep_rates(0.0, 1.0, 3)
        Traceback (most recent call last):
        ...
        ValueError: `start_lr` must be a finite number > 0. Received: start_lr=0.0

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    start_lr, end_lr, num_steps, mode = check_sweep(start_lr, end_lr, num_steps, mode)
    fraction = np.arange(num_steps) / (num_steps - 1)
    if mode == "exp":
        rates = start_lr * (end_lr / start_lr) ** fraction
    else:
        rates = start_lr + (end_lr - start_lr) * fraction
    rates[0], rates[-1] = start_lr, end_lr  # exact ends, whatever the rounding
    return rates


def smooth(losses: Sequence[float], beta: float = 0.9) -> np.ndarray:
    """Exponential moving average of ``losses`` with bias correction.

    With ``m_0 = 0`` and, for each finite loss ``l_t`` (t counted from 1),

    ``m_t = beta * m_(t-1) + (1 - beta) * l_t``  and  ``smoothed_t = m_t / (1 - beta ** t)``.

    Without the division the average starts near 0 and climbs for ~1/(1-beta) steps, a
    fake dip that a suggestion would read as "the loss falls fast here". A non-finite
    loss is skipped: its smoothed value is NaN and the average carries on without it.

    Args:
        losses: the raw loss of each step.
        beta: the weight of the past, in [0, 1); 0 means no smoothing. The average
            remembers about ``1 / (1 - beta)`` steps.

    Returns:
        A float64 array, one smoothed value per loss.

    Raises:
        ValueError, TypeError: for a ``beta`` outside [0, 1) or losses that are not 1-D.

    Example:
        >>> smooth([2.0, 2.0, 2.0], beta=0.9).tolist()
        [2.0, 2.0, 2.0]
        >>> smooth([4.0, 2.0, float("nan"), 0.0], beta=0.5).round(4).tolist()
        [4.0, 2.6667, nan, 1.1429]

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    beta = _validate.decay_coefficient("beta", beta)
    values = np.asarray(losses, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"`losses` must be a 1-D sequence. Received shape {values.shape}")
    out = np.full(values.shape, np.nan)
    average, count = 0.0, 0
    for i, loss in enumerate(values):
        if not math.isfinite(loss):
            continue
        count += 1
        average = beta * average + (1 - beta) * loss
        out[i] = average / (1 - beta**count)
    return out


@dataclass(frozen=True)
class FinderResult:
    """What a range test measured and what it suggests.

    Attributes:
        lrs: the rate actually used at each recorded step (for several param groups or
            sub-optimizers, the reference one's: group 0, or the first sub-optimizer).
        losses: each step's own training loss (NaN or inf where it blew up).
        smoothed_losses: :func:`smooth` of ``losses`` (NaN at non-finite points).
        suggestions: ``{name: rate}`` for every suggestion that could be computed, plus
            ``"cycle_min"`` and ``"cycle_max"``: bounds for a cyclical or one-cycle
            schedule.
        suggested_lr: the rate of the suggestion named ``suggestion`` (None if the curve
            was too short to suggest anything).
        stop_reason: ``"completed"`` (all steps ran), ``"diverged"`` (the smoothed loss
            went above ``diverge_factor`` times its best) or ``"non_finite"``.
        suggestion: the name of the suggestion behind ``suggested_lr``.
        warnings: plain-language cautions about reading this curve.
        indices: ``{name: index into lrs}`` for each suggestion taken from a point.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestions: dict
    suggested_lr: float | None
    stop_reason: str
    suggestion: str = "minimum_div_10"
    warnings: tuple = ()
    indices: dict = field(default_factory=dict)

    def summary(self) -> str:
        """A few lines: steps, stop reason, each suggestion, each warning.

        Example:
            >>> lrs = sweep_rates(1e-4, 1.0, 40)
            >>> losses = 1.0 + (np.log10(lrs) + 2) ** 2
            >>> print(analyze(lrs, losses, beta=0.0).summary())
            40 steps, 0.0001 -> 1, stopped: completed
            valley          0.000522
            steepest        0.000127
            minimum_div_10  0.000889  <- suggested_lr
            cycle_min       0.000127
            cycle_max       0.00889
            warning: the loss already falls at the first rates: start_lr is too high ...
            warning: the steepest suggestion lies at the edge of the range (0.000127): ...
        """
        lines = [f"{self.lrs.size} steps, {self.lrs[0]:.3g} -> {self.lrs[-1]:.3g}, "
                 f"stopped: {self.stop_reason}"]
        for name, rate in self.suggestions.items():
            marker = "  <- suggested_lr" if name == self.suggestion else ""
            lines.append(f"{name:15s} {rate:.3g}{marker}")
        lines.extend(f"warning: {text}" for text in self.warnings)
        return "\n".join(lines)


def analyze(
    lrs: Sequence[float],
    losses: Sequence[float],
    *,
    beta: float = 0.9,
    suggestion: str = "minimum_div_10",
    stop_reason: str = "completed",
) -> FinderResult:
    """Read a range-test curve: smooth it and compute every suggestion.

    Only finite points count. On the smoothed curve ``s`` against ``x = log10(lr)``:

    - the *fall*: from the first point after the highest value of ``s`` (before its
      minimum) where ``s`` has covered 10% of its drop from there to the minimum, to the
      minimum of ``s``.
    - ``valley``: one third of the way along the fall, on the log axis: well into the
      fall, far below the rate at the bottom, which is already at the edge of divergence.
      This is not fastai's ``valley`` (``fastai/callback/schedule.py``): fastai finds the
      longest decreasing subsequence of the recorded losses (its Recorder's smoothed
      losses, ``beta=0.98``, with ``lr_find`` dropping the first ``num_it // 10`` and the
      last 5 points), with start ``a`` and end ``b``, and returns the rate at point index
      ``a + int((b - a) / 3) + int((b - a) / 6)``, about half way along it by point count
      (its docs say "roughly 2/3"). lrcourse measures the fall on its own smoothed curve,
      from the highest point to the minimum, and goes one third of the way along it on
      the log-rate axis.
    - ``steepest``: the point of most negative slope ``ds/dx`` (``numpy.gradient``), looked
      for only before the minimum of ``s`` (a drop after the minimum is not learning) and
      after the first ``round(1 / (1 - beta))`` points (too few losses averaged there).
    - ``minimum_div_10``: the rate at the minimum of ``s``, divided by 10.
    - ``cycle_min`` / ``cycle_max`` (Smith's bounds for a cyclical or one-cycle schedule):
      where the fall starts and where ``s`` is lowest.

    Args:
        lrs: the rate used at each step, > 0.
        losses: the raw loss at each step; NaN or inf allowed (left out).
        beta: smoothing weight for :func:`smooth`.
        suggestion: which of ``SUGGESTIONS`` becomes ``suggested_lr``. The default is
            ``minimum_div_10``; in ``benchmarks/lr_finder.py`` it is tied with ``valley``
            and ``steepest`` (on a validation split, over 5 seeds). Every
            suggestion depends on ``start_lr``: the smoothed curve, and so where its
            minimum falls, depends on the whole sweep (lesson 06 shows ``minimum_div_10``
            move with ``start_lr``); ``valley`` and ``cycle_min`` more so, since the fall
            they measure starts at the highest point after ``start_lr``.
        stop_reason: how the run ended, recorded in the result and used by the warnings.

    Returns:
        A :class:`FinderResult`. ``warnings`` says when the loss never rose at the end
        (the test stopped before the rate got too high, so ``end_lr`` may be too low), when
        the curve has no dip (``start_lr`` too high, or the model cannot learn) and when a
        suggestion sits at the edge of the finite points.

    Raises:
        ValueError: for lengths that differ, fewer than 2 points, a rate not > 0, an
            unknown suggestion or stop reason.

    Example:
        >>> lrs = sweep_rates(1e-4, 1.0, 41)
        >>> losses = 2.0 - np.tanh(3 * (np.log10(lrs) + 2.5)) + 40 * (lrs > 0.3)
        >>> result = analyze(lrs, losses, beta=0.0)
        >>> {name: float(f"{rate:.2g}") for name, rate in result.suggestions.items()}
        {'valley': 0.0079, 'steepest': 0.0032, 'minimum_div_10': 0.025, 'cycle_min': 0.0016,
         'cycle_max': 0.25}

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    rates = np.asarray(lrs, dtype=np.float64)
    values = np.asarray(losses, dtype=np.float64)
    if rates.ndim != 1 or values.shape != rates.shape:
        raise ValueError(f"`lrs` and `losses` must be 1-D and of the same length. Received "
                         f"shapes {rates.shape} and {values.shape}")
    if rates.size < 2:
        raise ValueError(f"a range test needs at least 2 points. Received: {rates.size}")
    if not np.all(np.isfinite(rates) & (rates > 0)):
        raise ValueError(f"`lrs` must all be finite and > 0. Received: {rates.tolist()!r:.80}")
    suggestion = _validate.choice("suggestion", suggestion, SUGGESTIONS)
    beta = _validate.decay_coefficient("beta", beta)
    stop_reason = _validate.choice("stop_reason", stop_reason, STOP_REASONS)
    smoothed = smooth(values, beta)

    finite = np.flatnonzero(np.isfinite(smoothed))
    suggestions, indices, warnings = {}, {}, []
    if finite.size >= 3:
        curve = _Curve(smoothed[finite], np.log10(rates[finite]))
        points = {"valley": _valley(curve), "steepest": _steepest(curve, beta),
                  "minimum": curve.low, "cycle_min": curve.fall_start, "cycle_max": curve.low}
        indices = {name: int(finite[point]) for name, point in points.items()}
        suggestions = {"valley": float(rates[indices["valley"]]),
                       "steepest": float(rates[indices["steepest"]]),
                       "minimum_div_10": _minimum_div_10(rates[indices["minimum"]]),
                       "cycle_min": float(rates[indices["cycle_min"]]),
                       "cycle_max": float(rates[indices["cycle_max"]])}
        warnings = _warnings(curve, points, suggestions, stop_reason)
    else:
        warnings.append(f"only {finite.size} finite point(s): too few to suggest a rate; "
                        "lower start_lr or use more steps")
    return FinderResult(
        lrs=rates, losses=values, smoothed_losses=smoothed, suggestions=suggestions,
        suggested_lr=suggestions.get(suggestion), stop_reason=stop_reason,
        suggestion=suggestion, warnings=tuple(warnings), indices=indices,
    )


# One small function per suggestion, on the finite points of the smoothed curve.


@dataclass(frozen=True)
class _Curve:
    """The finite smoothed losses ``s`` against ``x = log10(lr)``, with where it falls.

    ``low`` is the minimum of ``s``; ``fall_start`` the first point after the highest
    value before it where ``s`` has covered 10% of its drop from there to ``low``.
    """

    s: np.ndarray
    x: np.ndarray

    @property
    def low(self) -> int:
        return int(np.argmin(self.s))

    @property
    def fall_start(self) -> int:
        peak = int(np.argmax(self.s[: self.low + 1]))  # the fall starts after the highest point
        threshold = self.s[peak] - 0.1 * (self.s[peak] - self.s[self.low])
        return peak + int(np.argmax(self.s[peak: self.low + 1] <= threshold))


def _valley(curve: _Curve) -> int:
    """One third of the way along the fall, on the log axis."""
    start, low = curve.fall_start, curve.low
    third = curve.x[start] + (curve.x[low] - curve.x[start]) / 3
    return start + int(np.argmin(np.abs(curve.x[start:low + 1] - third)))


def _steepest(curve: _Curve, beta: float) -> int:
    """The most negative slope before the minimum, after the first ``1 / (1 - beta)`` points.

    Those first smoothed points average too few losses for a trustworthy slope: noise there
    would look like the steepest fall of the whole curve.
    """
    low = curve.low
    warm = min(int(round(1 / (1 - beta))), max(low - 2, 0))
    if low - warm < 2:
        return low
    slope = np.gradient(curve.s[warm: low + 1], curve.x[warm: low + 1])
    return warm + int(np.argmin(slope))


def _minimum_div_10(rate_at_minimum: float) -> float:
    """The rate at the minimum of the smoothed loss, divided by 10."""
    return float(rate_at_minimum) / 10


def _warnings(curve: _Curve, points: dict, suggestions: dict, stop_reason: str) -> list[str]:
    """Plain-language cautions about reading this curve."""
    s, warnings = curve.s, []
    if s.min() > s[0] - 0.05 * abs(s[0]):
        warnings.append("the curve has no dip: the smoothed loss never fell 5% below its "
                        "start. start_lr may be too high, or the model is not learning; "
                        "no suggestion can be trusted")
    if stop_reason == "completed" and s[-1] <= 1.5 * s.min():
        warnings.append("the loss never diverged: the rate never got high enough to "
                        "hurt, so the curve does not show where training breaks; raise "
                        "end_lr")
    if curve.fall_start < 2:
        warnings.append("the loss already falls at the first rates: start_lr is too high "
                        "to show the flat start, so valley and cycle_min are too low; "
                        "lower start_lr")
    for name in ("valley", "steepest"):
        if points[name] < 2 or points[name] > s.size - 3:
            warnings.append(f"the {name} suggestion lies at the edge of the range "
                            f"({suggestions[name]:.3g}): widen start_lr/end_lr")
    return warnings


class RangeTest:
    """The state of one range test: the rates to use, what was recorded, when to stop.

    A training loop asks :meth:`rate` for step ``i``, trains one batch with it, and
    calls :meth:`record` with the rate it really used and that batch's loss; ``record``
    returns False when the test must stop. :meth:`result` reads the curve.

    The stop rule: stop at the first non-finite loss, or when the smoothed loss goes above
    ``diverge_factor`` times the lowest smoothed loss so far.

    Args:
        start_lr, end_lr, num_steps, mode: the sweep, as :func:`sweep_rates`.
        beta: smoothing weight, as :func:`smooth`.
        diverge_factor: a number > 1.
        suggestion: which of ``SUGGESTIONS`` :meth:`result` makes ``suggested_lr``; checked
            here, before any training.

    Example:
        >>> test = RangeTest(1e-3, 1.0, 4, diverge_factor=2.0, beta=0.0)
        >>> [test.record(test.rate(i), loss) for i, loss in enumerate([1.0, 0.5, 2.0])]
        [True, True, False]
        >>> test.stop_reason, test.losses
        ('diverged', [1.0, 0.5, 2.0])

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """

    def __init__(self, start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100,
                 mode: str = "exp", *, beta: float = 0.9, diverge_factor: float = 4.0,
                 suggestion: str = "minimum_div_10"):
        self.rates = sweep_rates(start_lr, end_lr, num_steps, mode)
        self.beta = _validate.decay_coefficient("beta", beta)
        self.suggestion = _validate.choice("suggestion", suggestion, SUGGESTIONS)
        self.diverge_factor = _validate.positive_float("diverge_factor", diverge_factor)
        if self.diverge_factor <= 1:
            raise ValueError("`diverge_factor` must be > 1. "
                             f"Received: diverge_factor={diverge_factor!r}")
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.stop_reason = "completed"
        self._best = math.inf  # the lowest smoothed loss so far

    def rate(self, step: int) -> float:
        """The rate the sweep asks for at 0-based ``step``.

        Example:
            >>> RangeTest(0.01, 1.0, 3).rate(1)
            0.1
        """
        return float(self.rates[step])

    def record(self, lr: float, loss: float) -> bool:
        """Store one step; True to go on, False to stop (diverged, non-finite or done).

        Example:
            >>> test = RangeTest(0.1, 1.0, 2)
            >>> test.record(0.1, float("nan")), test.stop_reason
            (False, 'non_finite')
        """
        loss = float(loss)
        self.lrs.append(float(lr))
        self.losses.append(loss)
        if not math.isfinite(loss):
            self.stop_reason = "non_finite"
            return False
        smoothed = float(smooth(self.losses, self.beta)[-1])
        self._best = min(self._best, smoothed)
        if smoothed > self.diverge_factor * self._best:
            self.stop_reason = "diverged"
            return False
        return len(self.losses) < self.rates.size

    def result(self) -> FinderResult:
        """:func:`analyze` of what was recorded, with this test's ``suggestion``.

        Example:
            >>> test = RangeTest(1e-3, 1.0, 3)
            >>> test.result()
            Traceback (most recent call last):
            ...
            ValueError: a range test needs at least 2 points. Received: 0
        """
        return analyze(self.lrs, self.losses, beta=self.beta, suggestion=self.suggestion,
                       stop_reason=self.stop_reason)


class FrameworkAdapter(Protocol):
    """What :func:`run_range_test` needs from a framework: the only code that differs.

    :func:`run_range_test`'s example is one, on a one-weight quadratic.

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """

    def learning_rates(self) -> list[float]:
        """The rate of each param group (or sub-optimizer); the first is the reference."""

    def set_learning_rates(self, rates: list[float]) -> None:
        """Set every group's rate, in the order ``learning_rates`` reads them."""

    def train_batch(self) -> float:
        """Train on the next batch and return its loss."""

    def snapshot(self) -> Callable[[], None]:
        """Save everything a range test changes; return the function that puts it back."""


def run_range_test(test: RangeTest, adapter: FrameworkAdapter) -> FinderResult:
    """Drive a range test through ``adapter``, restoring everything afterwards.

    Step ``i`` sets the reference rate to ``test.rate(i)`` and every other group's to the
    same multiple of its starting rate, so the ratios between groups survive; trains one
    batch; and records the reference rate as the framework holds it, with the loss. The
    test stops when :meth:`RangeTest.record` says so. Whatever happens inside the sweep,
    an exception included, the function from ``adapter.snapshot()`` runs before this
    returns or raises.

    Args:
        test: a fresh :class:`RangeTest`.
        adapter: a :class:`FrameworkAdapter` for the model and optimizer.

    Returns:
        ``test.result()``, a :class:`FinderResult`.

    Raises:
        ValueError: when a starting rate is not > 0 (before anything is changed).

    Example:
        >>> class Quadratic:  # the loss (w - 1) ** 2, one gradient step per "batch"
        ...     def __init__(self): self.w, self.lr = 0.0, 0.1
        ...     def learning_rates(self): return [self.lr]
        ...     def set_learning_rates(self, rates): self.lr = rates[0]
        ...     def train_batch(self):
        ...         loss, self.w = (self.w - 1) ** 2, self.w - self.lr * 2 * (self.w - 1)
        ...         return loss
        ...     def snapshot(self):
        ...         saved = self.w, self.lr
        ...         def restore(): self.w, self.lr = saved
        ...         return restore
        >>> adapter = Quadratic()
        >>> result = run_range_test(RangeTest(1e-3, 10.0, 40, beta=0.0), adapter)
        >>> result.stop_reason, (adapter.w, adapter.lr)
        ('diverged', (0.0, 0.1))

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    base = [float(rate) for rate in adapter.learning_rates()]
    if not all(rate > 0 for rate in base):
        raise ValueError("every param group (or sub-optimizer) needs a learning rate > 0, the "
                         f"base the sweep multiplies. Received: lr={base}")
    ratios = [rate / base[0] for rate in base]
    restore = adapter.snapshot()
    try:
        for step in range(test.rates.size):
            rate = test.rate(step)
            adapter.set_learning_rates([rate * ratio for ratio in ratios])
            loss = adapter.train_batch()
            if not test.record(adapter.learning_rates()[0], loss):
                break
    finally:
        restore()
    return test.result()
