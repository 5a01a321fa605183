"""Offline data: scikit-learn's bundled digits, synthetic regression, quadratic bowls.

Nothing here touches the network. scikit-learn is imported only when the digits are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lrcourse import _validate


@dataclass(frozen=True)
class DigitsSplit:
    """The 8x8 digits as flat float32 feature rows and int64 labels, split into train and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def num_features(self) -> int:
        """Number of input features (64)."""
        return self.x_train.shape[1]

    @property
    def num_classes(self) -> int:
        """Number of classes (10)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1


def load_digits_split(
    *, test_fraction: float = 0.2, seed: int = 0, standardize: bool = True
) -> DigitsSplit:
    """Load scikit-learn's 1,797 bundled 8x8 digits and split them, stratified by class.

    The data ship inside scikit-learn, so this never downloads anything. With
    ``standardize=True`` each feature is shifted and scaled by the *training* mean and
    standard deviation (constant pixels keep scale 1), so no test statistics leak in.

    Args:
        test_fraction: share of the samples held out, strictly between 0 and 1.
        seed: seed of the shuffle; the same seed gives the same split.
        standardize: standardize features with training statistics.

    Returns:
        A ``DigitsSplit`` with float32 features of shape ``(n, 64)`` and int64 labels.

    Raises:
        TypeError, ValueError: for a bad ``test_fraction`` or ``seed``.

    Example:
        >>> split = load_digits_split(test_fraction=0.25, seed=0)
        >>> split.x_train.shape, split.x_test.shape, split.num_classes
        ((1347, 64), (450, 64), 10)
        >>> bool(abs(split.x_train.mean()) < 1e-6)
        True

    Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
    """
    test_fraction = _validate.fraction("test_fraction", test_fraction)
    seed = _validate.seed("seed", seed)
    if not isinstance(standardize, bool):
        raise TypeError(f"`standardize` must be a bool. Received: standardize={standardize!r}")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.data.astype(np.float32)
    y = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y
    )
    if standardize:
        mean = x_train.mean(axis=0)
        scale = x_train.std(axis=0)
        scale[scale == 0] = 1.0
        x_train = (x_train - mean) / scale
        x_test = (x_test - mean) / scale
    return DigitsSplit(
        x_train.astype(np.float32), y_train, x_test.astype(np.float32), y_test
    )


@dataclass(frozen=True)
class RegressionData:
    """Features ``x``, targets ``y = x @ weights + bias + noise`` and the true parameters."""

    x: np.ndarray
    y: np.ndarray
    weights: np.ndarray
    bias: float


def synthetic_regression(
    num_samples: int = 256, num_features: int = 4, *, noise: float = 0.1, seed: int = 0
) -> RegressionData:
    """A linear regression problem with known true weights.

    ``x`` has standard normal entries, the true weights are standard normal, the bias
    is 0.5, and Gaussian noise with standard deviation ``noise`` is added to ``y``.

    Args:
        num_samples: number of rows (>= 1).
        num_features: number of columns (>= 1).
        noise: standard deviation of the noise (>= 0).
        seed: seed of the generator.

    Returns:
        A ``RegressionData`` with float32 ``x`` of shape ``(num_samples, num_features)``
        and float32 ``y`` of shape ``(num_samples,)``.

    Raises:
        TypeError, ValueError: for bad sizes, a negative ``noise`` or a bad ``seed``.

    Example:
        >>> data = synthetic_regression(100, 3, noise=0.0, seed=1)
        >>> data.x.shape, data.y.shape
        ((100, 3), (100,))
        >>> bool(np.allclose(data.x @ data.weights + data.bias, data.y, atol=1e-5))
        True

    Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
    """
    num_samples = _validate.positive_int("num_samples", num_samples)
    num_features = _validate.positive_int("num_features", num_features)
    seed = _validate.seed("seed", seed)
    if isinstance(noise, bool) or not isinstance(noise, (int, float, np.floating)):
        raise TypeError(f"`noise` must be a number >= 0. Received: noise={noise!r}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"`noise` must be a finite number >= 0. Received: noise={noise!r}")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_samples, num_features)).astype(np.float32)
    weights = rng.standard_normal(num_features).astype(np.float32)
    bias = 0.5
    y = x @ weights + bias + noise * rng.standard_normal(num_samples).astype(np.float32)
    return RegressionData(x, y.astype(np.float32), weights, bias)


@dataclass(frozen=True)
class QuadraticBowl:
    """The quadratic ``f(x) = 1/2 x^T H x`` with a symmetric positive-definite Hessian ``H``.

    Gradient descent with a fixed rate ``lr`` maps ``x`` to ``(I - lr H) x``. Along the
    eigenvector with curvature ``c`` the error is multiplied by ``1 - lr c`` each step,
    so the iteration converges from every start exactly when ``0 < lr < 2 / L`` with
    ``L`` the largest curvature.

    Build one with ``quadratic_bowl``.
    """

    hessian: np.ndarray

    def __post_init__(self) -> None:
        hessian = np.asarray(self.hessian, dtype=np.float64)
        if hessian.ndim != 2 or hessian.shape[0] != hessian.shape[1] or hessian.shape[0] == 0:
            raise ValueError(
                f"`hessian` must be a non-empty square matrix. Received shape {hessian.shape}"
            )
        if not np.allclose(hessian, hessian.T):
            raise ValueError("`hessian` must be symmetric. Received a non-symmetric matrix")
        if np.linalg.eigvalsh(hessian).min() <= 0:
            raise ValueError("`hessian` must be positive definite. Received a matrix with an "
                             "eigenvalue <= 0")
        object.__setattr__(self, "hessian", hessian)

    @property
    def dim(self) -> int:
        """Number of coordinates."""
        return self.hessian.shape[0]

    @property
    def curvatures(self) -> np.ndarray:
        """Eigenvalues of the Hessian, ascending."""
        return np.linalg.eigvalsh(self.hessian)

    @property
    def max_stable_learning_rate(self) -> float:
        """``2 / L``: gradient descent converges for every rate strictly below this."""
        return 2.0 / float(self.curvatures[-1])

    @property
    def best_learning_rate(self) -> float:
        """``2 / (L + mu)``: the fixed rate with the fastest worst-case convergence."""
        curvatures = self.curvatures
        return 2.0 / float(curvatures[-1] + curvatures[0])

    def _point(self, x: object) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1:] != (self.dim,):
            raise ValueError(
                f"`x` must have last dimension {self.dim}. Received shape {x.shape}"
            )
        return x

    def value(self, x: object) -> np.ndarray:
        """``f(x) = 1/2 x^T H x`` over the last axis of ``x``."""
        x = self._point(x)
        return 0.5 * np.einsum("...i,ij,...j->...", x, self.hessian, x)

    def gradient(self, x: object) -> np.ndarray:
        """``grad f(x) = H x`` over the last axis of ``x``."""
        return self._point(x) @ self.hessian

    def trajectory(self, learning_rate: float, num_steps: int, start: object) -> np.ndarray:
        """Closed-form iterates of gradient descent, ``x_t = (I - lr H)^t x_0``.

        Computed in the eigenbasis of ``H``, without running the loop, so a lesson can
        check its own loop (or a framework's optimizer) against it.

        Args:
            learning_rate: the fixed rate (> 0).
            num_steps: number of steps (>= 0).
            start: the starting point, shape ``(dim,)``.

        Returns:
            Array of shape ``(num_steps + 1, dim)``; row ``t`` is ``x_t``.

        Example:
            >>> bowl = quadratic_bowl([4.0])
            >>> bowl.trajectory(0.25, 2, [1.0]).ravel().tolist()
            [1.0, 0.0, 0.0]
            >>> bowl.trajectory(0.5, 2, [1.0]).ravel().tolist()   # lr = 2/L bounces forever
            [1.0, -1.0, 1.0]
        """
        learning_rate = _validate.positive_float("learning_rate", learning_rate)
        num_steps = _validate.positive_int("num_steps", num_steps, minimum=0)
        start = self._point(start)
        if start.ndim != 1:
            raise ValueError(f"`start` must have shape ({self.dim},). Received {start.shape}")
        curvatures, basis = np.linalg.eigh(self.hessian)
        factors = (1.0 - learning_rate * curvatures) ** np.arange(num_steps + 1)[:, None]
        return (factors * (basis.T @ start)) @ basis.T


def quadratic_bowl(curvatures: object, *, rotation_seed: int | None = None) -> QuadraticBowl:
    """A quadratic bowl whose Hessian has the given positive curvatures (eigenvalues).

    Args:
        curvatures: one positive number per coordinate, e.g. ``[4.0]`` for ``f = 2 x**2``.
        rotation_seed: ``None`` keeps the axes aligned (a diagonal Hessian); an int
            rotates them by a random orthogonal matrix drawn with that seed.

    Returns:
        A ``QuadraticBowl``.

    Raises:
        TypeError, ValueError: for empty, non-finite or non-positive curvatures.

    Example:
        >>> bowl = quadratic_bowl([1.0, 10.0])
        >>> bowl.max_stable_learning_rate
        0.2
        >>> float(bowl.value([1.0, 1.0]))
        5.5

    Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
    """
    try:
        values = np.asarray(curvatures, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"`curvatures` must be a sequence of positive numbers. Received: {curvatures!r}"
        ) from None
    if values.ndim != 1 or values.size == 0:
        raise ValueError(
            f"`curvatures` must be a non-empty 1-D sequence. Received: {curvatures!r}"
        )
    if not (np.all(np.isfinite(values)) and np.all(values > 0)):
        raise ValueError(
            f"`curvatures` must all be finite and > 0. Received: {values.tolist()}"
        )
    hessian = np.diag(values)
    if rotation_seed is not None:
        rotation_seed = _validate.seed("rotation_seed", rotation_seed)
        rng = np.random.default_rng(rotation_seed)
        basis, _ = np.linalg.qr(rng.standard_normal((values.size, values.size)))
        hessian = basis @ hessian @ basis.T
        hessian = (hessian + hessian.T) / 2
    return QuadraticBowl(hessian)


# ---------------------------------------------------------------------------------------
# Lesson 05: 2-D test surfaces for optimizer trajectories


@dataclass(frozen=True)
class Surface2D:
    """A function of two variables with its gradient, its minimum and a plotting window.

    ``value`` and ``gradient`` take points with a last axis of size 2, so a whole grid can
    be evaluated at once for a contour plot. Build one with ``ill_conditioned_quadratic``,
    ``rosenbrock`` or ``beale``.
    """

    name: str
    formula: str
    minimum: tuple[float, float]
    start: tuple[float, float]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    _value: object = field(repr=False)
    _gradient: object = field(repr=False)

    def _point(self, point: object) -> np.ndarray:
        point = np.asarray(point, dtype=np.float64)
        if point.shape[-1:] != (2,):
            raise ValueError(f"`point` must have a last axis of size 2. Received shape "
                             f"{point.shape}")
        return point

    def value(self, point: object) -> np.ndarray:
        """The function at ``point`` (shape ``(..., 2)``), over the last axis."""
        point = self._point(point)
        return self._value(point[..., 0], point[..., 1])

    def gradient(self, point: object) -> np.ndarray:
        """The gradient at ``point`` (shape ``(..., 2)``), same shape as ``point``."""
        point = self._point(point)
        return np.stack(self._gradient(point[..., 0], point[..., 1]), axis=-1)


def ill_conditioned_quadratic(condition_number: float = 50.0) -> Surface2D:
    """``f(x, y) = (x**2 + condition_number * y**2) / 2``: a long, narrow valley.

    Its curvatures are 1 along ``x`` and ``condition_number`` along ``y``, so plain
    gradient descent must keep its rate below ``2 / condition_number`` and then crawls
    along ``x``. The minimum is at the origin.

    Args:
        condition_number: ratio of the two curvatures, a number >= 1.

    Returns:
        A ``Surface2D`` starting at ``(-4.5, 1.0)``.

    Raises:
        TypeError, ValueError: if ``condition_number`` is not a finite number >= 1.

    Example:
        >>> surface = ill_conditioned_quadratic(10.0)
        >>> float(surface.value([1.0, 1.0])), surface.gradient([1.0, 1.0]).tolist()
        (5.5, [1.0, 10.0])

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    kappa = _validate.real("condition_number", condition_number, expected="a number >= 1")
    if kappa < 1:
        raise ValueError(f"`condition_number` must be a number >= 1. "
                         f"Received: condition_number={condition_number!r}")
    return Surface2D(
        "ill-conditioned quadratic", f"(x^2 + {kappa:g} y^2) / 2", (0.0, 0.0), (-4.5, 1.0),
        (-5.0, 5.0), (-1.5, 1.5),
        lambda x, y: 0.5 * (x**2 + kappa * y**2),
        lambda x, y: (x, kappa * y))


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface2D:
    """Rosenbrock's banana: ``f(x, y) = (a - x)**2 + b (y - x**2)**2``, minimum at ``(a, a**2)``.

    The valley floor is curved and nearly flat along its length but steep across it.

    Args:
        a: position of the minimum, any finite number.
        b: steepness of the valley walls, a finite number > 0.

    Returns:
        A ``Surface2D`` starting at ``(-1.5, 2.0)``.

    Raises:
        TypeError, ValueError: for a non-finite ``a`` or a ``b`` that is not > 0.

    Example:
        >>> surface = rosenbrock()
        >>> float(surface.value([1.0, 1.0])), surface.gradient([1.0, 1.0]).tolist()
        (0.0, [0.0, 0.0])

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    a = _validate.real("a", a)
    b = _validate.positive_float("b", b)
    return Surface2D(
        "Rosenbrock", f"({a:g} - x)^2 + {b:g} (y - x^2)^2", (a, a * a), (-1.5, 2.0),
        (-2.0, 2.0), (-1.0, 3.0),
        lambda x, y: (a - x) ** 2 + b * (y - x**2) ** 2,
        lambda x, y: (-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)))


def beale() -> Surface2D:
    """Beale's function, with flat plateaus and sharp ridges; minimum 0 at ``(3, 0.5)``.

    ``f(x, y) = (1.5 - x + x y)**2 + (2.25 - x + x y**2)**2 + (2.625 - x + x y**3)**2``

    Returns:
        A ``Surface2D`` starting at ``(1.0, 1.4)``.

    Example:
        >>> surface = beale()
        >>> float(surface.value([3.0, 0.5])), surface.gradient([3.0, 0.5]).tolist()
        (0.0, [0.0, 0.0])

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    constants = (1.5, 2.25, 2.625)

    def value(x, y):
        return sum((c - x + x * y ** (k + 1)) ** 2 for k, c in enumerate(constants))

    def gradient(x, y):
        terms = [(c - x + x * y ** (k + 1), k + 1) for k, c in enumerate(constants)]
        dx = sum(2 * t * (y**power - 1) for t, power in terms)
        dy = sum(2 * t * x * power * y ** (power - 1) for t, power in terms)
        return dx, dy

    return Surface2D("Beale", "sum_k (c_k - x + x y^k)^2", (3.0, 0.5), (1.0, 1.4),
                     (-1.0, 4.5), (-1.5, 2.0), value, gradient)
