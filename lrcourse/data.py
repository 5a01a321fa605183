"""Offline data: scikit-learn's bundled digits, synthetic regression, quadratic bowls, MNIST.

Nothing here touches the network, except ``load_mnist(download=True)`` when the learner
asks for it. scikit-learn is imported only when the digits are loaded.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

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
    num_samples = _validate.integer("num_samples", num_samples, minimum=1)
    num_features = _validate.integer("num_features", num_features, minimum=1)
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
        num_steps = _validate.integer("num_steps", num_steps, minimum=0)
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


# ---------------------------------------------------------------------------------------
# Lesson 07: MNIST from a verified cache, and train/validation/test splits

MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte.gz",
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
    "train_labels": ("train-labels-idx1-ubyte.gz",
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
    "test_images": ("t10k-images-idx3-ubyte.gz",
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
    "test_labels": ("t10k-labels-idx1-ubyte.gz",
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
}
"""The four standard MNIST files: ``{role: (file name, SHA-256 of the file)}``."""

MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"
"""The mirror ``load_mnist(download=True)`` fetches from (the one TensorFlow Datasets uses)."""

_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def data_dir() -> Path:
    """The folder where lrcourse keeps downloaded data.

    ``$LRCOURSE_DATA`` when set, otherwise ``lrcourse`` under the user's cache folder
    (``$XDG_CACHE_HOME`` or ``~/.cache`` on Linux, ``~/Library/Caches`` on macOS,
    ``%LOCALAPPDATA%`` on Windows). Nothing is created here.

    Example:
        >>> import os
        >>> os.environ["LRCOURSE_DATA"] = "/tmp/my-data"
        >>> str(data_dir())
        '/tmp/my-data'
        >>> del os.environ["LRCOURSE_DATA"]

    Introduced in ``notebooks/07_putting_it_together.ipynb``.
    """
    configured = os.environ.get("LRCOURSE_DATA")
    if configured:
        return Path(configured).expanduser()
    if sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "lrcourse"


def read_idx(data: bytes, *, name: str = "data") -> np.ndarray:
    """Decode one IDX file (the MNIST format), already read into memory.

    The header is two zero bytes, a type code (``0x08`` = unsigned bytes), the number of
    dimensions ``d``, then ``d`` big-endian 32-bit sizes; the values follow. A gzipped
    file (as MNIST is published) is decompressed first.

    Args:
        data: the file's bytes.
        name: what to call the file in error messages.

    Returns:
        The array, with the shape the header gives.

    Raises:
        ValueError: for a bad magic number, an unknown type code, or a file shorter or
            longer than its header says (a truncated download).

    Example:
        >>> header = bytes([0, 0, 0x08, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big")
        >>> read_idx(header + bytes(range(6))).tolist()
        [[0, 1, 2], [3, 4, 5]]

    Introduced in ``notebooks/07_putting_it_together.ipynb``.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError(f"`data` must be bytes. Received: {type(data).__name__}")
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as error:
            raise ValueError(f"{name} is a damaged gzip file ({error}); delete it and "
                             "download it again") from None
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] not in _IDX_TYPES:
        raise ValueError(f"{name} is not an IDX file: it must start with two zero bytes and a "
                         f"known type code. Received header {bytes(data[:4])!r}")
    ndim = data[3]
    offset = 4 + 4 * ndim
    if ndim == 0 or len(data) < offset:
        raise ValueError(f"{name} has a damaged header: {ndim} dimensions, {len(data)} bytes")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_IDX_TYPES[data[2]])
    expected = offset + int(np.prod(shape)) * dtype.itemsize
    if len(data) != expected:
        raise ValueError(f"{name} holds {len(data)} bytes but its header (shape {shape}) needs "
                         f"{expected}: the file is truncated or damaged; delete it and "
                         "download it again")
    values = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    return values.astype(dtype.newbyteorder("="))


@dataclass(frozen=True)
class Mnist:
    """MNIST as uint8 images ``(n, 28, 28)`` and int64 labels: 60,000 train, 10,000 test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def _download(url: str, target: Path) -> None:
    import urllib.request

    partial = target.with_name(target.name + ".part")
    with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
        shutil.copyfileobj(response, out)
    partial.replace(target)


def load_mnist(
    directory: str | os.PathLike | None = None, *, download: bool = False,
    files: dict | None = None,
) -> Mnist:
    """Load MNIST from the four standard IDX files, after checking their SHA-256.

    Nothing is downloaded unless ``download=True``; then only the missing files are
    fetched from ``MNIST_URL`` into ``directory``. A file whose checksum does not match is
    never used (and never overwritten silently: delete it yourself).

    Args:
        directory: the folder holding the files; None means ``data_dir() / "mnist"``.
        download: fetch missing files from the network.
        files: ``{role: (file name, sha256)}`` for the four roles of ``MNIST_FILES``
            (default ``MNIST_FILES``); tests pass their own small files this way.

    Returns:
        An :class:`Mnist`.

    Raises:
        FileNotFoundError: when a file is missing and ``download`` is False; the message
            says where the files should be and how to get them.
        ValueError: for a checksum that does not match, a truncated or damaged file, or
            images and labels of different lengths.
        TypeError: for a ``download`` that is not a bool.

    Example:
        >>> import tempfile
        >>> try:
        ...     load_mnist(tempfile.mkdtemp())
        ... except FileNotFoundError as error:
        ...     print(str(error)[:40])
        MNIST file train-images-idx3-ubyte.gz is

    Introduced in ``notebooks/07_putting_it_together.ipynb``.
    """
    if not isinstance(download, bool):
        raise TypeError(f"`download` must be a bool. Received: download={download!r}")
    files = MNIST_FILES if files is None else files
    if not (isinstance(files, dict) and set(files) == set(MNIST_FILES)):
        raise ValueError(f"`files` must map {sorted(MNIST_FILES)} to (file name, sha256). "
                         f"Received: {files!r:.80}")
    folder = data_dir() / "mnist" if directory is None else Path(directory)
    arrays = {}
    for role, (file_name, sha256) in files.items():
        path = folder / file_name
        if not path.exists():
            if not download:
                raise FileNotFoundError(
                    f"MNIST file {file_name} is missing from {folder}. Copy the four MNIST "
                    f"files there (or set LRCOURSE_DATA), or call load_mnist(download=True) "
                    f"to fetch them from {MNIST_URL}")
            folder.mkdir(parents=True, exist_ok=True)
            _download(MNIST_URL + file_name, path)
        data = path.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        if digest != sha256:
            raise ValueError(f"{path} has SHA-256 {digest}, expected {sha256}: the file is "
                             "damaged or not the MNIST file. Delete it and download it again")
        arrays[role] = read_idx(data, name=str(path))
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"the {part} images (shape {images.shape}) and labels (shape "
                             f"{labels.shape}) do not belong together")
    return Mnist(arrays["train_images"], arrays["train_labels"].astype(np.int64),
                 arrays["test_images"], arrays["test_labels"].astype(np.int64))


@dataclass(frozen=True)
class ThreeWaySplit:
    """Features and labels split three ways: choose on validation, report test once."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str = ""


def train_val_test_split(
    x: np.ndarray, y: np.ndarray, *, validation_fraction: float = 0.2,
    test_fraction: float = 0.2, seed: int = 0, standardize: bool = True, source: str = "",
) -> ThreeWaySplit:
    """Split ``x`` (one row per sample) and ``y`` three ways, stratified, fixed by ``seed``.

    Features become float32 rows (images are flattened); with ``standardize=True`` they
    are shifted and scaled by the *training* mean and standard deviation per feature
    (constant features keep scale 1), so no validation or test statistics leak in.

    Args:
        x: samples, shape ``(n, ...)``.
        y: integer labels, shape ``(n,)``.
        validation_fraction, test_fraction: shares of the samples, each in (0, 1), with a
            sum below 1.
        seed: seed of the shuffle.
        standardize: standardize with training statistics.
        source: a name for the data, kept in the result.

    Returns:
        A :class:`ThreeWaySplit`.

    Raises:
        TypeError, ValueError: for bad fractions, a bad seed or mismatched lengths.

    Example:
        >>> from sklearn.datasets import load_digits
        >>> digits = load_digits()
        >>> split = train_val_test_split(digits.data, digits.target, seed=0)
        >>> len(split.x_train), len(split.x_val), len(split.x_test)
        (1077, 360, 360)

    Introduced in ``notebooks/07_putting_it_together.ipynb``.
    """
    validation_fraction = _validate.fraction("validation_fraction", validation_fraction)
    test_fraction = _validate.fraction("test_fraction", test_fraction)
    seed = _validate.seed("seed", seed)
    standardize = _validate.boolean("standardize", standardize)
    if validation_fraction + test_fraction >= 1:
        raise ValueError("`validation_fraction + test_fraction` must be < 1. Received: "
                         f"{validation_fraction} + {test_fraction}")
    x = np.asarray(x)
    y = np.asarray(y)
    if y.ndim != 1 or len(x) != len(y):
        raise ValueError(f"`x` and `y` must hold the same number of samples, `y` 1-D. "
                         f"Received shapes {x.shape} and {y.shape}")
    from sklearn.model_selection import train_test_split

    x = x.reshape(len(x), -1).astype(np.float32)
    y = y.astype(np.int64)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation_fraction / (1 - test_fraction),
        random_state=seed, stratify=y_rest)
    if standardize:
        mean = x_train.mean(axis=0)
        scale = x_train.std(axis=0)
        scale[scale == 0] = 1.0
        x_train, x_val, x_test = ((part - mean) / scale for part in (x_train, x_val, x_test))
    return ThreeWaySplit(*(part.astype(np.float32) if part.dtype.kind == "f" else part
                           for part in (x_train, y_train, x_val, y_val, x_test, y_test)),
                         source=source)
