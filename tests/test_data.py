import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrcourse.data import (
    QuadraticBowl,
    load_digits_split,
    quadratic_bowl,
    synthetic_regression,
)


def test_digits_split_is_stratified_reproducible_and_standardized():
    first = load_digits_split(test_fraction=0.2, seed=3)
    second = load_digits_split(test_fraction=0.2, seed=3)
    other = load_digits_split(test_fraction=0.2, seed=4)
    assert first.x_train.dtype == np.float32 and first.y_train.dtype == np.int64
    assert len(first.x_train) + len(first.x_test) == 1797
    np.testing.assert_array_equal(first.x_test, second.x_test)
    assert not np.array_equal(first.y_test, other.y_test)
    assert np.bincount(first.y_test).min() >= 35  # every class is in the test set
    np.testing.assert_allclose(first.x_train.mean(axis=0), 0, atol=1e-5)
    assert first.num_features == 64 and first.num_classes == 10


def test_digits_unstandardized_keeps_pixel_range():
    split = load_digits_split(standardize=False)
    assert split.x_train.min() == 0 and split.x_train.max() == 16


@pytest.mark.parametrize(
    "kwargs, error, fragment",
    [
        ({"test_fraction": 0.0}, ValueError, "test_fraction"),
        ({"test_fraction": 1.5}, ValueError, "Received: test_fraction=1.5"),
        ({"test_fraction": "0.2"}, TypeError, "test_fraction"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 1.5}, TypeError, "seed"),
        ({"standardize": "yes"}, TypeError, "standardize"),
    ],
)
def test_digits_bad_arguments(kwargs, error, fragment):
    with pytest.raises(error, match=fragment):
        load_digits_split(**kwargs)


def test_regression_recovers_weights_by_least_squares():
    data = synthetic_regression(500, 3, noise=0.01, seed=2)
    design = np.c_[data.x, np.ones(len(data.x))]
    solution, *_ = np.linalg.lstsq(design, data.y, rcond=None)
    np.testing.assert_allclose(solution[:3], data.weights, atol=0.01)
    assert math.isclose(solution[3], data.bias, abs_tol=0.01)


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        ((0, 3), {}, ValueError),
        ((10, 0), {}, ValueError),
        ((10.0, 3), {}, TypeError),
        ((10, 3), {"noise": -0.1}, ValueError),
        ((10, 3), {"noise": "big"}, TypeError),
        ((10, 3), {"seed": None}, TypeError),
    ],
)
def test_regression_bad_arguments(args, kwargs, error):
    with pytest.raises(error):
        synthetic_regression(*args, **kwargs)


def test_bowl_limits_come_from_the_extreme_curvatures():
    bowl = quadratic_bowl([0.5, 2.0, 8.0], rotation_seed=1)
    assert not np.allclose(bowl.hessian, np.diag(np.diag(bowl.hessian)))  # really rotated
    np.testing.assert_allclose(bowl.curvatures, [0.5, 2.0, 8.0])
    assert math.isclose(bowl.max_stable_learning_rate, 0.25)
    assert math.isclose(bowl.best_learning_rate, 2 / 8.5)


@settings(max_examples=30, deadline=None)
@given(
    curvatures=st.lists(st.floats(0.1, 10.0), min_size=1, max_size=4),
    fraction=st.floats(0.05, 2.5),
    seed=st.integers(0, 1000),
)
def test_bowl_closed_form_matches_the_plain_loop(curvatures, fraction, seed):
    bowl = quadratic_bowl(curvatures, rotation_seed=seed)
    learning_rate = fraction * bowl.max_stable_learning_rate / 2
    start = np.linspace(1.0, -1.0, bowl.dim)
    x, expected = start.copy(), [start.copy()]
    for _ in range(8):
        x = x - learning_rate * bowl.gradient(x)
        expected.append(x.copy())
    np.testing.assert_allclose(bowl.trajectory(learning_rate, 8, start), expected,
                               rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("fraction, converges", [(0.5, True), (0.99, True), (1.01, False)])
def test_bowl_converges_exactly_below_two_over_l(fraction, converges):
    bowl = quadratic_bowl([1.0, 10.0], rotation_seed=5)
    path = bowl.trajectory(fraction * bowl.max_stable_learning_rate, 3000, [1.0, 1.0])
    assert (np.linalg.norm(path[-1]) < 1e-6) == converges


def test_bowl_value_and_gradient_broadcast_over_points():
    bowl = quadratic_bowl([1.0, 4.0])
    points = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    np.testing.assert_allclose(bowl.value(points), [0.5, 2.0, 2.5])
    np.testing.assert_allclose(bowl.gradient(points), [[1, 0], [0, 4], [1, 4]])


@pytest.mark.parametrize(
    "curvatures, error",
    [([], ValueError), ([1.0, -2.0], ValueError), ([1.0, math.nan], ValueError),
     ([[1.0, 2.0]], ValueError), (["a"], TypeError), (None, ValueError)],
)
def test_bowl_bad_curvatures(curvatures, error):
    with pytest.raises(error, match="curvatures"):
        quadratic_bowl(curvatures)


@pytest.mark.parametrize(
    "hessian, fragment",
    [(np.ones((2, 3)), "square"), (np.array([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
     (np.array([[1.0, 0.0], [0.0, -1.0]]), "positive definite")],
)
def test_bowl_bad_hessian(hessian, fragment):
    with pytest.raises(ValueError, match=fragment):
        QuadraticBowl(hessian)


@pytest.mark.parametrize(
    "args, error",
    [((0.0, 3, [1.0]), ValueError), ((0.1, -1, [1.0]), ValueError),
     ((0.1, 3, [1.0, 2.0]), ValueError), ((0.1, 2.5, [1.0]), TypeError)],
)
def test_trajectory_bad_arguments(args, error):
    with pytest.raises(error):
        quadratic_bowl([1.0]).trajectory(*args)


# ---------------------------------------------------------------------------------------
# Lesson 07: the MNIST loader, on small IDX files written here (never the network)

import gzip  # noqa: E402
import hashlib  # noqa: E402

from lrcourse.data import (  # noqa: E402
    MNIST_FILES,
    data_dir,
    load_mnist,
    read_idx,
    train_val_test_split,
)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_small_mnist(folder, *, damage=None):
    """Four tiny gzipped IDX files under the MNIST names; returns the ``files`` table."""
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (6, 28, 28)),
              "train_labels": np.arange(6) % 10,
              "test_images": rng.integers(0, 256, (3, 28, 28)),
              "test_labels": np.array([7, 2, 1])}
    files = {}
    for role, array in arrays.items():
        data = gzip.compress(idx_bytes(array))
        if damage == role:
            data = gzip.compress(idx_bytes(array)[:-5])  # a truncated file
        name = MNIST_FILES[role][0]
        (folder / name).write_bytes(data)
        files[role] = (name, hashlib.sha256(data).hexdigest())
    return files, arrays


def test_mnist_loads_good_files_with_their_checksums(tmp_path):
    files, arrays = write_small_mnist(tmp_path)
    mnist = load_mnist(tmp_path, files=files)
    np.testing.assert_array_equal(mnist.x_train, arrays["train_images"])
    np.testing.assert_array_equal(mnist.y_test, [7, 2, 1])
    assert mnist.x_train.dtype == np.uint8 and mnist.y_train.dtype == np.int64
    assert mnist.x_test.shape == (3, 28, 28)


def test_mnist_wrong_checksum_is_refused_with_both_digests(tmp_path):
    files, _ = write_small_mnist(tmp_path)
    name, digest = files["test_labels"]
    files["test_labels"] = (name, "0" * 64)
    with pytest.raises(ValueError, match=f"SHA-256 {digest}, expected 0000"):
        load_mnist(tmp_path, files=files)


def test_mnist_truncated_file_is_named(tmp_path):
    files, _ = write_small_mnist(tmp_path, damage="train_images")
    with pytest.raises(ValueError, match="train-images-idx3-ubyte.gz holds .* truncated"):
        load_mnist(tmp_path, files=files)


def test_mnist_missing_file_says_where_and_how_and_never_downloads(tmp_path, monkeypatch):
    files, _ = write_small_mnist(tmp_path)
    (tmp_path / files["train_labels"][0]).unlink()

    def no_network(*args, **kwargs):
        raise AssertionError("load_mnist tried to download without download=True")

    monkeypatch.setattr("urllib.request.urlopen", no_network)
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte.gz is missing from "
                       ".*download=True"):
        load_mnist(tmp_path, files=files)


def test_mnist_default_folder_follows_lrcourse_data(tmp_path, monkeypatch):
    monkeypatch.setenv("LRCOURSE_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "mnist")):
        load_mnist()
    monkeypatch.delenv("LRCOURSE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    if data_dir().parent == tmp_path / "cache":  # Linux-style cache folders
        assert data_dir() == tmp_path / "cache" / "lrcourse"


def test_mnist_images_and_labels_must_match(tmp_path):
    files, _ = write_small_mnist(tmp_path)
    data = gzip.compress(idx_bytes(np.arange(5)))  # 5 labels for 6 images
    (tmp_path / files["train_labels"][0]).write_bytes(data)
    files["train_labels"] = (files["train_labels"][0], hashlib.sha256(data).hexdigest())
    with pytest.raises(ValueError, match="do not belong together"):
        load_mnist(tmp_path, files=files)


@pytest.mark.parametrize("data, fragment", [
    (b"\x01\x00\x08\x01" + (2).to_bytes(4, "big") + b"ab", "not an IDX file"),
    (b"\x00\x00\x08\x02" + (2).to_bytes(4, "big"), "damaged header"),
    (b"\x00\x00\x08\x01" + (3).to_bytes(4, "big") + b"abcd", "holds 12 bytes"),
    (b"\x1f\x8b\x08\x00broken", "damaged gzip"),
])
def test_read_idx_rejects_bad_files(data, fragment):
    with pytest.raises(ValueError, match=fragment):
        read_idx(data)


def test_read_idx_big_endian_ints():
    data = b"\x00\x00\x0c\x01" + (2).to_bytes(4, "big") + (1).to_bytes(4, "big") + \
        (-3).to_bytes(4, "big", signed=True)
    assert read_idx(data).tolist() == [1, -3]


def test_mnist_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="download"):
        load_mnist(tmp_path, download="yes")
    with pytest.raises(ValueError, match="files"):
        load_mnist(tmp_path, files={"train_images": ("a", "b")})


def test_three_way_split_is_disjoint_stratified_and_fixed_by_seed():
    x = np.repeat(np.arange(10), 20)[:, None] * np.ones((1, 3)) + np.arange(200)[:, None]
    y = np.repeat(np.arange(10), 20)
    first = train_val_test_split(x, y, seed=1)
    again = train_val_test_split(x, y, seed=1)
    other = train_val_test_split(x, y, seed=2)
    np.testing.assert_array_equal(first.x_val, again.x_val)
    assert not np.array_equal(first.y_val, other.y_val)
    assert (len(first.y_train), len(first.y_val), len(first.y_test)) == (120, 40, 40)
    assert np.bincount(first.y_val).tolist() == [4] * 10
    raw = train_val_test_split(x, y, seed=1, standardize=False)
    ids = [set(part[:, 0] - part[:, 0] % 1) for part in (raw.x_train, raw.x_val, raw.x_test)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    np.testing.assert_allclose(first.x_train.mean(axis=0), 0, atol=1e-5)
    assert abs(first.x_val.mean()) > 0  # validation is scaled by training statistics only


@pytest.mark.parametrize("kwargs, fragment", [
    ({"validation_fraction": 0.5, "test_fraction": 0.5}, "must be < 1"),
    ({"validation_fraction": 0.0}, "validation_fraction"),
    ({"seed": -1}, "seed"),
])
def test_three_way_split_bad_arguments(kwargs, fragment):
    with pytest.raises(ValueError, match=fragment):
        train_val_test_split(np.zeros((40, 2)), np.arange(40) % 2, **kwargs)
