"""Plots the lessons share. Each takes ``ax=None`` and returns the ``Axes``; none prints or shows.

matplotlib is imported only when a plot is drawn. Sections follow the lessons (01, 04, 05, 06).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from lrcourse import _validate

__all__ = [
    "plot_learning_rates",
    "plot_loss_curves",
    "plot_lr_finder",
    "plot_lr_sweep",
    "plot_trajectories",
]


# ---------------------------------------------------------------------------------------
# Lesson 01: loss curves and learning-rate sweeps


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(6, 4))
    return ax


def _finite_prefix(values: Sequence[float]) -> tuple[np.ndarray, bool]:
    """The values up to the first non-finite one, and whether one was found."""
    array = np.asarray(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        return array[: bad[0]], True
    return array, False


def plot_loss_curves(
    histories: Mapping[object, Sequence[float]],
    *,
    ax=None,
    xlabel: str = "epoch",
    ylabel: str = "loss",
    log_scale: bool = True,
    title: str | None = None,
):
    """One loss curve per run; a run that hit NaN or inf ends in a cross marked "diverged".

    Args:
        histories: maps a label (for example a learning rate) to that run's losses.
        ax: the ``Axes`` to draw on; a new figure when ``None``.
        xlabel, ylabel, title: axis labels and optional title.
        log_scale: draw the loss axis on a log scale.

    Returns:
        The ``Axes``.

    Raises:
        TypeError: if ``histories`` is not a mapping.
        ValueError: if it is empty or a run has no losses.

    Example:
        >>> ax = plot_loss_curves({0.1: [2.3, 1.1, 0.6], 10.0: [2.3, 40.0, float("nan")]})
        >>> [line.get_label() for line in ax.get_lines()]
        ['lr=0.1', 'lr=10.0 (diverged)', '_child2']

    Introduced in ``notebooks/02_schedules.ipynb``.
    """
    if not isinstance(histories, Mapping):
        raise TypeError(
            "`histories` must be a mapping from label to a sequence of losses. "
            f"Received: {type(histories).__name__}"
        )
    if not histories:
        raise ValueError("`histories` must not be empty. Received: {}")
    ax = _axes(ax)
    for label, losses in histories.items():
        if len(losses) == 0:
            raise ValueError(f"`histories[{label!r}]` has no losses. Received: {losses!r}")
        finite, diverged = _finite_prefix(losses)
        name = f"lr={label}" if isinstance(label, (int, float)) else str(label)
        (line,) = ax.plot(np.arange(finite.size), finite,
                          label=name + (" (diverged)" if diverged else ""))
        if diverged and finite.size:
            ax.plot(finite.size - 1, finite[-1], "x", color=line.get_color(), markersize=10)
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_lr_sweep(
    learning_rates: Sequence[float],
    losses: Sequence[float],
    *,
    ax=None,
    label: str | None = None,
    ylabel: str = "final loss",
):
    """Final loss against learning rate on a log axis; diverged runs are crosses along the top.

    Args:
        learning_rates: the rates tried, all > 0.
        losses: the final loss of each run (NaN or inf for a run that diverged).
        ax: the ``Axes`` to draw on; a new figure when ``None``.
        label: legend label for this sweep.
        ylabel: label of the loss axis.

    Returns:
        The ``Axes``.

    Raises:
        ValueError: if the lengths differ, the sweep is empty or a rate is not > 0.

    Example:
        >>> ax = plot_lr_sweep([1e-3, 1e-2, 1e-1, 1.0], [2.2, 0.9, 0.3, float("inf")])
        >>> ax.get_xscale()
        'log'

    Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
    """
    rates = np.asarray(learning_rates, dtype=np.float64)
    values = np.asarray(losses, dtype=np.float64)
    if rates.ndim != 1 or rates.size == 0:
        raise ValueError(
            f"`learning_rates` must be a non-empty 1-D sequence. Received: {learning_rates!r}"
        )
    if values.shape != rates.shape:
        raise ValueError(
            "`losses` must have one value per learning rate. "
            f"Received {values.size} losses for {rates.size} learning rates"
        )
    if not np.all(rates > 0):
        raise ValueError(f"`learning_rates` must all be > 0. Received: {rates.tolist()}")
    ax = _axes(ax)
    finite = np.isfinite(values)
    (line,) = ax.plot(rates[finite], values[finite], "o-", label=label)
    if not finite.all():
        top = values[finite].max() if finite.any() else 1.0
        ax.plot(rates[~finite], np.full((~finite).sum(), top), "x", color=line.get_color(),
                markersize=10, label="diverged" if label is None else f"{label}: diverged")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel(ylabel)
    if label is not None or not finite.all():
        ax.legend(fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------
# Lesson 04: per-batch rates


def plot_learning_rates(
    history: Mapping[str, Sequence[float]],
    *,
    steps: Sequence[int] | None = None,
    ax=None,
    log_scale: bool = False,
    title: str | None = None,
):
    """The learning rate at every optimizer step, one line per column of ``history``.

    Args:
        history: maps a label to the rate used at each step, such as
            ``LearningRateLogger().history`` (one column per sub-optimizer).
        steps: the step of each entry (``LearningRateLogger().steps``); ``0, 1, 2, ...``
            when ``None``.
        ax: the ``Axes`` to draw on; a new figure when ``None``.
        log_scale: draw the rate axis on a log scale.
        title: optional title.

    Returns:
        The ``Axes``.

    Raises:
        TypeError: if ``history`` is not a mapping.
        ValueError: if it is empty, a column is empty, or a column's length differs from
            ``steps``.

    Example:
        >>> ax = plot_learning_rates({"learning_rate": [0.0, 0.05, 0.1, 0.1]})
        >>> ax.get_lines()[0].get_ydata().tolist()
        [0.0, 0.05, 0.1, 0.1]

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """
    if not isinstance(history, Mapping):
        raise TypeError("`history` must be a mapping from label to the rate at each step. "
                        f"Received: {type(history).__name__}")
    if not history:
        raise ValueError("`history` must not be empty. Received: {}")
    ax = _axes(ax)
    for label, rates in history.items():
        values = np.asarray(rates, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"`history[{label!r}]` must be a non-empty 1-D sequence of rates. "
                             f"Received shape {values.shape}")
        x = np.arange(values.size) if steps is None else np.asarray(steps)
        if x.shape != values.shape:
            raise ValueError(f"`steps` has {x.size} entries but `history[{label!r}]` has "
                             f"{values.size}; they must match.")
        ax.plot(x, values, label=str(label))
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("learning rate")
    if title:
        ax.set_title(title)
    if len(history) > 1:
        ax.legend(fontsize="small")
    return ax


# ---------------------------------------------------------------------------------------
# Lesson 05: optimizer trajectories on 2-D surfaces


def plot_trajectories(surface, paths: Mapping[str, Sequence], *, ax=None, levels: int = 30,
                      resolution: int = 200, title: str | None = None):
    """Contours of a 2-D surface with one optimizer path per entry, and the minimum as a star.

    Contour levels are spaced on a log scale above the minimum, so flat valleys show.
    A path that leaves the window is clipped by the axes, not dropped.

    Args:
        surface: a ``lrcourse.data.Surface2D`` (anything with ``value``, ``minimum``,
            ``x_range``, ``y_range`` and ``name``).
        paths: maps a label to a sequence of points, each of shape ``(2,)``.
        ax: the ``Axes`` to draw on; a new figure when ``None``.
        levels: number of contour levels (>= 2).
        resolution: grid points per axis (>= 10).
        title: the title; the surface's name when ``None``.

    Returns:
        The ``Axes``.

    Raises:
        TypeError: if ``paths`` is not a mapping, ``surface`` lacks the attributes, or
            ``levels`` or ``resolution`` is not an integer.
        ValueError: if a path is empty or its points are not 2-D, or ``levels`` < 2 or
            ``resolution`` < 10.

    Example:
        >>> from lrcourse.data import ill_conditioned_quadratic
        >>> surface = ill_conditioned_quadratic()
        >>> ax = plot_trajectories(surface, {"sgd": [[-4.5, 1.0], [-4.0, 0.5], [-3.6, 0.2]]})
        >>> [line.get_label() for line in ax.get_lines()][:1], ax.get_title()
        (['sgd'], 'ill-conditioned quadratic')

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    from matplotlib.colors import LogNorm

    for attribute in ("value", "minimum", "x_range", "y_range", "name"):
        if not hasattr(surface, attribute):
            raise TypeError(f"`surface` must be a lrcourse.data.Surface2D; it has no "
                            f"`{attribute}`. Received: {type(surface).__name__}")
    if not isinstance(paths, Mapping):
        raise TypeError("`paths` must be a mapping from label to a sequence of 2-D points. "
                        f"Received: {type(paths).__name__}")
    levels = _validate.integer("levels", levels, minimum=2)
    resolution = _validate.integer("resolution", resolution, minimum=10)
    arrays = {}
    for label, path in paths.items():
        points = np.asarray(path, dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2 or points.shape[0] == 0:
            raise ValueError(f"`paths[{label!r}]` must be a non-empty sequence of 2-D points. "
                             f"Received shape {points.shape}")
        arrays[label] = points
    ax = _axes(ax)
    xs = np.linspace(*surface.x_range, resolution)
    ys = np.linspace(*surface.y_range, resolution)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1)
    values = surface.value(grid)
    floor = float(surface.value(np.asarray(surface.minimum, dtype=np.float64)))
    shifted = values - floor + 1e-3
    contour_levels = np.geomspace(shifted.min(), shifted.max(), levels)
    ax.contour(xs, ys, shifted, levels=contour_levels, norm=LogNorm(), cmap="Greys",
               linewidths=0.6, alpha=0.8)
    # Paths that share a valley lie on top of each other: the first ones are drawn wider and
    # each with its own dash pattern, so the ones underneath still show at the edges, and
    # every end point goes on top of all the lines.
    dashes = ("-", "--", "-.", ":")
    ends = []
    for index, (label, points) in enumerate(arrays.items()):
        width = 1.0 + 2.0 * (len(arrays) - 1 - index) / max(len(arrays) - 1, 1)
        (line,) = ax.plot(points[:, 0], points[:, 1], linestyle=dashes[index % len(dashes)],
                          marker=".", markersize=3, linewidth=width, label=label)
        ends.append((points[-1], line.get_color()))
    for end, colour in ends:
        ax.plot(end[0], end[1], "o", color=colour, markeredgecolor="black", markersize=6,
                zorder=4)
    ax.plot(*surface.minimum, "*", color="black", markersize=12, zorder=5)
    ax.set_xlim(*surface.x_range)
    ax.set_ylim(*surface.y_range)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(surface.name if title is None else title)
    if arrays:
        ax.legend(fontsize="small", loc="best")
    return ax


# ---------------------------------------------------------------------------------------
# Lesson 06: the LR range test

_SUGGESTION_STYLE = {"valley": ("o", "C3"), "steepest": ("s", "C2"),
                     "minimum_div_10": ("^", "C4")}


def plot_lr_finder(result, ax=None, *, show_raw: bool = True, show_cycle: bool = True):
    """Loss against learning rate from a range test, with each suggestion marked.

    The smoothed curve is the line; the raw per-batch losses are faint dots; a
    non-finite loss is a cross along the top; each point suggestion is a marker on the
    smoothed curve, named in the legend with its rate; Smith's cycle bounds shade the
    band between them.

    Args:
        result: a ``lrcourse.finder.FinderResult``.
        ax: the ``Axes`` to draw on; a new figure when ``None``.
        show_raw: also draw the raw losses.
        show_cycle: shade the band from ``cycle_min`` to ``cycle_max``.

    Returns:
        The ``Axes``.

    Raises:
        TypeError: if ``result`` is not a ``FinderResult``.

    Example:
        >>> from lrcourse.finder import analyze, sweep_rates
        >>> lrs = sweep_rates(1e-4, 1.0, 41)
        >>> result = analyze(lrs, 2.0 - np.tanh(3 * (np.log10(lrs) + 2.5)) + 40 * (lrs > 0.3))
        >>> ax = plot_lr_finder(result)
        >>> [label.split(" ")[0] for label in ax.get_legend_handles_labels()[1]]
        ['smoothed', 'per-batch', 'valley', 'steepest', 'minimum_div_10', 'cycle']

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    from lrcourse.finder import FinderResult

    if not isinstance(result, FinderResult):
        raise TypeError("`result` must be a lrcourse.finder.FinderResult. "
                        f"Received: {type(result).__name__}")
    ax = _axes(ax)
    lrs, smoothed = result.lrs, result.smoothed_losses
    finite = np.isfinite(smoothed)
    ax.plot(lrs[finite], smoothed[finite], color="C0", label="smoothed loss")
    raw_finite = np.isfinite(result.losses)
    if show_raw:
        ax.plot(lrs[raw_finite], result.losses[raw_finite], ".", color="C0", alpha=0.3,
                markersize=3, label="per-batch loss")
    if not raw_finite.all():
        top = smoothed[finite].max() if finite.any() else 1.0
        ax.plot(lrs[~raw_finite], np.full((~raw_finite).sum(), top), "x", color="k",
                markersize=9, label="non-finite loss")
    for name, (marker, colour) in _SUGGESTION_STYLE.items():
        if name not in result.suggestions:
            continue
        rate = result.suggestions[name]
        height = np.interp(np.log10(rate), np.log10(lrs[finite]), smoothed[finite])
        star = " (suggested_lr)" if name == result.suggestion else ""
        ax.plot([rate], [height], marker, color=colour, markersize=9,
                label=f"{name} {rate:.2g}{star}")
    if show_cycle and "cycle_min" in result.suggestions:
        ax.axvspan(result.suggestions["cycle_min"], result.suggestions["cycle_max"],
                   color="C1", alpha=0.12, label="cycle bounds")
    if finite.any():
        low, high = smoothed[finite].min(), smoothed[finite][0]
        span = max(high - low, 1e-12)
        ax.set_ylim(low - 0.1 * span, max(smoothed[finite].max(), high) + 0.3 * span)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.set_title(f"LR range test ({result.stop_reason})")
    ax.legend(fontsize="small")
    return ax
