"""lrcourse.data's 2-D test surfaces and lrcourse.plotting.plot_trajectories (lesson 05)."""

import numpy as np
import pytest

from lrcourse.data import beale, ill_conditioned_quadratic, rosenbrock
from lrcourse.optimizers import adam, run
from lrcourse.plotting import plot_trajectories

SURFACES = [ill_conditioned_quadratic(), ill_conditioned_quadratic(7.0), rosenbrock(),
            rosenbrock(a=-0.5, b=10.0), beale()]


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name + s.formula)
def test_gradient_matches_finite_differences(surface):
    rng = np.random.default_rng(0)
    points = rng.uniform([surface.x_range[0], surface.y_range[0]],
                         [surface.x_range[1], surface.y_range[1]], size=(20, 2))
    step = 1e-6
    numeric = np.stack([(surface.value(points + step * e) - surface.value(points - step * e))
                        / (2 * step) for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(surface.gradient(points), numeric, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name + s.formula)
def test_minimum_is_a_stationary_point_inside_the_window(surface):
    assert np.allclose(surface.gradient(surface.minimum), 0.0, atol=1e-12)
    assert surface.value(surface.minimum) <= surface.value(surface.start)
    assert surface.x_range[0] < surface.minimum[0] < surface.x_range[1]
    assert surface.y_range[0] < surface.minimum[1] < surface.y_range[1]


def test_value_works_on_a_grid():
    grid = np.zeros((5, 7, 2))
    assert rosenbrock().value(grid).shape == (5, 7)
    assert beale().gradient(grid).shape == (5, 7, 2)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="`condition_number` must be a number >= 1"):
        ill_conditioned_quadratic(0.5)
    with pytest.raises(ValueError, match="`b` must be a finite number > 0"):
        rosenbrock(b=0.0)
    with pytest.raises(ValueError, match="last axis of size 2"):
        beale().value([1.0, 2.0, 3.0])


def test_plot_trajectories_draws_each_path_and_the_minimum():
    surface = rosenbrock()
    path = run(adam(0.1), np.array(surface.start), surface.gradient, 50)
    ax = plot_trajectories(surface, {"adam": path, "start only": [surface.start]})
    labels = [line.get_label() for line in ax.get_lines()]
    assert "adam" in labels and "start only" in labels
    star = ax.get_lines()[-1]
    assert star.get_marker() == "*" and list(star.get_xydata()[0]) == list(surface.minimum)
    assert ax.get_xlim() == surface.x_range and ax.get_title() == "Rosenbrock"


def test_plot_trajectories_refuses_bad_input():
    surface = beale()
    with pytest.raises(TypeError, match="`paths` must be a mapping"):
        plot_trajectories(surface, [[0.0, 0.0]])
    with pytest.raises(ValueError, match=r"`paths\['a'\]` must be a non-empty sequence"):
        plot_trajectories(surface, {"a": [[0.0, 0.0, 0.0]]})
    with pytest.raises(TypeError, match="`surface` must be a lrcourse.data.Surface2D"):
        plot_trajectories("beale", {"a": [[0.0, 0.0]]})
    with pytest.raises(ValueError, match="`levels` must be an integer >= 2"):
        plot_trajectories(surface, {"a": [[0.0, 0.0]]}, levels=1)


def test_plot_trajectories_keeps_overlapping_paths_distinguishable():
    surface = rosenbrock()
    start = np.array(surface.start)
    paths = {name: run(adam(rate), start, surface.gradient, 30)
             for name, rate in (("a", 0.1), ("b", 0.1), ("c", 0.1), ("d", 0.1), ("e", 0.1))}
    ax = plot_trajectories(surface, paths)
    lines = [line for line in ax.get_lines() if line.get_label() in paths]
    styles = {(line.get_color(), line.get_linestyle()) for line in lines}
    assert len(lines) == len(styles) == 5                  # identical paths, five looks
    widths = [line.get_linewidth() for line in lines]
    assert widths == sorted(widths, reverse=True) and widths[0] > widths[-1]
    ends = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(ends) == 5 and min(e.get_zorder() for e in ends) > max(
        line.get_zorder() for line in lines)
