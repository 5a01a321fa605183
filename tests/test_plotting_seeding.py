import math
import random

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest

from lrcourse import seed_everything
from lrcourse.plotting import plot_loss_curves, plot_lr_sweep


def test_loss_curves_draw_on_the_given_axes_and_mark_divergence():
    _, ax = plt.subplots()
    returned = plot_loss_curves({0.1: [2.0, 1.0], 5.0: [2.0, 9.0, math.inf]}, ax=ax,
                                title="sweep")
    assert returned is ax
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels[:2] == ["lr=0.1", "lr=5.0 (diverged)"]
    cross = ax.get_lines()[2]
    assert cross.get_marker() == "x" and list(cross.get_ydata()) == [9.0]
    assert ax.get_yscale() == "log" and ax.get_title() == "sweep"
    plt.close("all")


@pytest.mark.parametrize(
    "histories, error",
    [([1.0, 2.0], TypeError), ({}, ValueError), ({0.1: []}, ValueError)],
)
def test_loss_curves_bad_input(histories, error):
    with pytest.raises(error, match="histories"):
        plot_loss_curves(histories)


def test_sweep_puts_diverged_runs_at_the_top():
    ax = plot_lr_sweep([0.01, 0.1, 1.0], [1.0, 0.2, math.nan], label="keras")
    finite, crosses = ax.get_lines()
    assert list(finite.get_xdata()) == [0.01, 0.1]
    assert list(crosses.get_xdata()) == [1.0] and list(crosses.get_ydata()) == [1.0]
    assert ax.get_xscale() == "log"
    plt.close("all")


@pytest.mark.parametrize(
    "rates, losses, fragment",
    [([], [], "non-empty"), ([0.1, 1.0], [1.0], "one value per"), ([0.0, 1.0], [1, 2], "> 0")],
)
def test_sweep_bad_input(rates, losses, fragment):
    with pytest.raises(ValueError, match=fragment):
        plot_lr_sweep(rates, losses)


def test_seed_everything_makes_every_generator_repeat():
    import keras
    import torch

    def draw():
        return (random.random(), np.random.rand(), float(keras.random.uniform(())),
                float(torch.rand(())))

    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


@pytest.mark.parametrize("seed, error", [(-1, ValueError), (2**32, ValueError),
                                         (1.0, TypeError), (True, TypeError), ("1", TypeError)])
def test_seed_everything_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        seed_everything(seed, tensorflow=False, torch=False)
