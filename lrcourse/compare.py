"""Comparing training recipes over seeds: mean, spread, and whether a difference is real.

NumPy and SciPy only. Introduced in ``notebooks/07_putting_it_together.ipynb``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Comparison", "compare_runs", "summarize"]


def _scores(name: str, values: object) -> np.ndarray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a sequence of numbers, one per seed. "
                        f"Received: {values!r:.60}") from None
    if array.ndim != 1 or array.size < 2:
        raise ValueError(f"`{name}` must hold one score per seed, at least 2 seeds. "
                         f"Received shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` must be finite. Received: {array.tolist()}")
    return array


def summarize(values: object) -> tuple[float, float]:
    """Mean and sample standard deviation (``ddof=1``) of one recipe's per-seed scores.

    Args:
        values: one score per seed, at least two.

    Returns:
        ``(mean, std)``.

    Raises:
        TypeError, ValueError: for fewer than two scores or non-finite ones.

    Example:
        >>> summarize([0.90, 0.92, 0.94])
        (0.92, 0.02...)

    Introduced in ``notebooks/07_putting_it_together.ipynb``.
    """
    array = _scores("values", values)
    return float(array.mean()), float(array.std(ddof=1))


@dataclass(frozen=True)
class Comparison:
    """Recipe ``a`` against recipe ``b``: means, the difference and Welch's t-test.

    ``verdict`` is ``"a"`` or ``"b"`` (the better one, higher is better) when the p-value
    is below ``alpha``, and ``"tied"`` otherwise.
    """

    mean_a: float
    mean_b: float
    difference: float
    standard_error: float
    t: float
    p_value: float
    verdict: str

    def __str__(self) -> str:
        return (f"{self.mean_a:.4f} vs {self.mean_b:.4f}: difference {self.difference:+.4f} "
                f"+- {self.standard_error:.4f} (t = {self.t:.2f}, p = {self.p_value:.3g}) "
                f"-> {self.verdict}")


def compare_runs(a: object, b: object, *, alpha: float = 0.05) -> Comparison:
    """Is recipe ``a`` better than recipe ``b``, given one score per seed for each?

    Welch's t-test: ``t = (mean_a - mean_b) / sqrt(s_a**2 / n_a + s_b**2 / n_b)`` with
    the Welch-Satterthwaite degrees of freedom; the same number as
    ``scipy.stats.ttest_ind(a, b, equal_var=False)``. A difference smaller than the
    seed-to-seed spread gives a large p-value: the verdict is ``"tied"``.

    Args:
        a, b: one score (higher is better, such as validation accuracy) per seed, at
            least two each.
        alpha: the p-value below which a difference counts as real, in (0, 1).

    Returns:
        A :class:`Comparison`.

    Raises:
        TypeError, ValueError: for bad scores or ``alpha``.

    Example:
        >>> print(compare_runs([0.95, 0.96, 0.97], [0.90, 0.91, 0.92]))
        0.9600 vs 0.9100: difference +0.0500 +- 0.0082 (t = 6.12, p = 0.0036) -> a
        >>> compare_runs([0.95, 0.90, 0.97], [0.93, 0.91, 0.92]).verdict
        'tied'

    Introduced in ``notebooks/07_putting_it_together.ipynb``.
    """
    from lrcourse import _validate

    alpha = _validate.fraction("alpha", alpha)
    a, b = _scores("a", a), _scores("b", b)
    var_a, var_b = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    difference = float(a.mean() - b.mean())
    standard_error = math.sqrt(var_a + var_b)
    if standard_error == 0:
        t = 0.0 if difference == 0 else math.copysign(math.inf, difference)
        p_value = 1.0 if difference == 0 else 0.0
    else:
        from scipy import stats

        t = difference / standard_error
        dof = (var_a + var_b) ** 2 / (var_a**2 / (a.size - 1) + var_b**2 / (b.size - 1))
        p_value = float(2 * stats.t.sf(abs(t), dof))
    verdict = "tied" if p_value >= alpha else ("a" if difference > 0 else "b")
    return Comparison(float(a.mean()), float(b.mean()), difference, standard_error, float(t),
                      p_value, verdict)
