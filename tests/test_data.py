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
