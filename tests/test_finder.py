"""lrcourse.finder: the sweep, the smoothing, the stop rule and the suggestions, no framework."""

import math

import numpy as np
import pytest

from lrcourse.finder import FinderResult, RangeTest, analyze, smooth, sweep_rates


def test_exponential_sweep_is_even_on_a_log_axis_and_hits_both_ends_exactly():
    rates = sweep_rates(1e-7, 10.0, 100)
    assert rates[0] == 1e-7 and rates[-1] == 10.0 and rates.size == 100
    np.testing.assert_allclose(np.diff(np.log10(rates)), 8 / 99, rtol=1e-9)


def test_linear_sweep_is_even():
    np.testing.assert_allclose(sweep_rates(0.1, 1.0, 10, "linear"), np.linspace(0.1, 1.0, 10))


@pytest.mark.parametrize("arguments, words", [
    ((1.0, 1.0, 10, "exp"), "`start_lr` must be < `end_lr`"),
    ((2.0, 1.0, 10, "exp"), "`start_lr` must be < `end_lr`"),
    ((1e-3, 1.0, 1, "exp"), "`num_steps` must be an integer >= 2. Received: num_steps=1"),
    ((-1e-3, 1.0, 10, "exp"), "`start_lr` must be a finite number > 0"),
    ((1e-3, math.inf, 10, "exp"), "`end_lr` must be a finite number > 0"),
    ((1e-3, 1.0, 10, "cosine"), "`mode` must be one of 'exp', 'linear'. Received: mode='cosine'"),
])
def test_bad_sweep_settings_are_value_errors(arguments, words):
    with pytest.raises(ValueError, match=words.replace("(", r"\(").replace(")", r"\)")):
        sweep_rates(*arguments)


def test_a_float_step_count_is_a_type_error():
    with pytest.raises(TypeError, match="num_steps"):
        sweep_rates(1e-3, 1.0, 10.0)


def test_smoothing_matches_the_formula_written_out():
    losses = [3.0, 1.0, 2.0, 0.5]
    beta, average, expected = 0.7, 0.0, []
    for t, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        expected.append(average / (1 - beta**t))
    np.testing.assert_allclose(smooth(losses, beta), expected, rtol=1e-12)


def test_bias_correction_removes_the_fake_dip_at_the_start():
    flat = [2.0] * 30
    np.testing.assert_allclose(smooth(flat, 0.98), 2.0)
    uncorrected = np.cumsum([0.02 * 0.98**k for k in range(30)])[::-1][::-1] * 2.0
    assert uncorrected[0] < 0.1  # what the plain average would start at


def test_smoothing_skips_non_finite_losses():
    out = smooth([1.0, math.nan, math.inf, 3.0], beta=0.5)
    assert math.isnan(out[1]) and math.isnan(out[2])
    np.testing.assert_allclose(out[[0, 3]], smooth([1.0, 3.0], beta=0.5))


@pytest.mark.parametrize("beta", [1.0, -0.1, math.nan])
def test_bad_beta_is_a_value_error(beta):
    with pytest.raises(ValueError, match="`beta`"):
        smooth([1.0, 2.0], beta)


def test_range_test_stops_when_the_smoothed_loss_passes_the_factor():
    test = RangeTest(1e-3, 1.0, 50, beta=0.0, diverge_factor=3.0)
    losses = [1.0, 0.5, 0.4, 1.1, 1.3]
    going = [test.record(test.rate(i), loss) for i, loss in enumerate(losses)]
    assert going == [True, True, True, True, False]  # 1.3 > 3 * 0.4, 1.1 is not
    assert test.stop_reason == "diverged"


def test_range_test_stops_at_the_first_non_finite_loss_and_keeps_it_out():
    test = RangeTest(1e-3, 1.0, 50, beta=0.5)
    for i, loss in enumerate([1.0, 0.9, 0.8, 0.7, math.nan]):
        going = test.record(test.rate(i), loss)
    assert not going and test.stop_reason == "non_finite"
    result = test.result()
    assert math.isnan(result.losses[-1]) and math.isnan(result.smoothed_losses[-1])
    assert result.indices["minimum"] == 3 and result.suggestions["cycle_max"] == test.rate(3)


def test_range_test_completes_after_num_steps():
    test = RangeTest(1e-3, 1.0, 3)
    assert [test.record(test.rate(i), 1.0 - 0.1 * i) for i in range(3)] == [True, True, False]
    assert test.stop_reason == "completed"


def test_diverge_factor_must_exceed_one():
    with pytest.raises(ValueError, match="`diverge_factor` must be > 1"):
        RangeTest(diverge_factor=1.0)


def textbook_curve(num_steps=81, noise=0.0, seed=0):
    """Flat, then a fall centred on 1e-3 (steepest there), a bottom near 0.05, then a blow-up."""
    lrs = sweep_rates(1e-6, 10.0, num_steps)
    x = np.log10(lrs)
    losses = 2.3 - 1.0 * np.tanh(2.0 * (x + 3)) + np.exp(4 * (x + 1.3))
    rng = np.random.default_rng(seed)
    return lrs, losses * (1 + noise * rng.standard_normal(num_steps))


def test_suggestions_on_a_textbook_curve():
    lrs, losses = textbook_curve()
    result = analyze(lrs, losses, beta=0.0)
    x_min = np.log10(lrs[np.argmin(losses)])
    assert math.isclose(np.log10(result.suggestions["steepest"]), -3, abs_tol=0.11)
    assert math.isclose(np.log10(result.suggestions["minimum_div_10"]), x_min - 1, abs_tol=1e-9)
    assert result.suggestions["cycle_max"] == lrs[np.argmin(losses)]
    # the fall starts where 10% of the drop from the plateau (3.3) to the bottom is covered
    top, bottom = losses[: np.argmin(losses) + 1].max(), losses.min()
    start = np.flatnonzero(losses <= top - 0.1 * (top - bottom))[0]  # the top is at step 0
    assert result.suggestions["cycle_min"] == lrs[start]
    assert -4.0 < np.log10(lrs[start]) < -3.5
    # valley: a third of the way from the start of the fall to the bottom, on the log axis
    third = np.log10(lrs[start]) + (x_min - np.log10(lrs[start])) / 3
    assert math.isclose(np.log10(result.suggestions["valley"]), third, abs_tol=0.05)
    assert result.suggested_lr == result.suggestions["minimum_div_10"]  # the default
    assert result.warnings == ()  # the loss rose at the end and there is a dip


def test_the_fall_starts_after_the_highest_point_not_at_a_low_first_batch():
    lrs, losses = textbook_curve()
    low_first = losses.copy()
    low_first[0] = 2.0  # a lucky first batch, below the plateau at 3.3
    result = analyze(lrs, low_first, beta=0.0)
    assert result.suggestions == analyze(lrs, losses, beta=0.0).suggestions


def test_steepest_ignores_the_fall_after_a_spike():
    """A pre-divergence spike that comes back down is not a dip to aim for."""
    lrs, losses = textbook_curve()
    spiked = losses.copy()
    spiked[60:63] += [3.0, 6.0, 3.0]  # a spike, then a steep fall back to the curve
    result = analyze(lrs, spiked, beta=0.0)
    assert result.suggestions["steepest"] < lrs[60]


def test_noisy_curve_smoothing_brings_the_suggestion_back():
    lrs, clean = textbook_curve()
    _, noisy = textbook_curve(noise=0.08, seed=3)
    unsmoothed = analyze(lrs, noisy, beta=0.0, suggestion="steepest").suggested_lr
    smoothed = analyze(lrs, noisy, beta=0.8, suggestion="steepest").suggested_lr
    truth = analyze(lrs, clean, beta=0.0, suggestion="steepest").suggested_lr
    assert abs(np.log10(smoothed / truth)) < abs(np.log10(unsmoothed / truth))


def test_non_finite_points_are_left_out_of_every_suggestion():
    lrs, losses = textbook_curve()
    with_nan = losses.copy()
    with_nan[[5, 20]] = [math.nan, math.inf]
    result = analyze(lrs, with_nan, beta=0.0)
    assert set(result.indices.values()).isdisjoint({5, 20})
    assert all(math.isfinite(rate) for rate in result.suggestions.values())


def test_warnings_no_divergence_no_dip_and_edge():
    lrs = sweep_rates(1e-4, 1e-2, 30)
    falling = 2.0 - np.linspace(0, 1, 30) ** 2  # still falling at end_lr: never diverged
    warned = analyze(lrs, falling, beta=0.0).warnings
    assert any("never diverged" in w for w in warned)
    assert any("edge of the range" in w for w in warned)
    assert not any("already falls" in w for w in warned)
    from_the_start = 2.0 - np.sqrt(np.linspace(0, 1, 30))  # 10% of the drop after one step
    assert any("already falls at the first rates" in w
               for w in analyze(lrs, from_the_start, beta=0.0).warnings)
    flat = analyze(lrs, np.full(30, 2.0) + np.linspace(0, 0.01, 30), beta=0.0).warnings
    assert any("no dip" in w for w in flat)
    lrs, losses = textbook_curve()
    assert analyze(lrs, losses, beta=0.0, stop_reason="diverged").warnings == ()


def test_too_few_finite_points_warns_and_suggests_nothing():
    result = analyze([1e-3, 1e-2, 1e-1], [1.0, math.nan, math.nan])
    assert result.suggested_lr is None and result.suggestions == {}
    assert "too few" in result.warnings[0]


@pytest.mark.parametrize("lrs, losses, words", [
    ([1e-3, 1e-2], [1.0], "same length"),
    ([1e-3], [1.0], "at least 2 points"),
    ([0.0, 1e-2], [1.0, 1.0], "finite and > 0"),
])
def test_bad_curves_are_value_errors(lrs, losses, words):
    with pytest.raises(ValueError, match=words):
        analyze(lrs, losses)


def test_unknown_suggestion_is_a_value_error():
    lrs, losses = textbook_curve()
    with pytest.raises(ValueError, match="`suggestion` must be one of 'valley'"):
        analyze(lrs, losses, suggestion="best")


def test_result_is_a_frozen_dataclass_with_the_documented_fields():
    lrs, losses = textbook_curve()
    result = analyze(lrs, losses)
    assert isinstance(result, FinderResult)
    for name in ("lrs", "losses", "smoothed_losses", "suggestions", "suggested_lr",
                 "stop_reason"):
        assert hasattr(result, name)
    with pytest.raises(AttributeError):
        result.suggested_lr = 1.0
    assert "<- suggested_lr" in result.summary()


def test_plot_lr_finder_marks_the_suggestions_and_the_non_finite_losses():
    from lrcourse.plotting import plot_lr_finder

    lrs = sweep_rates(1e-4, 1.0, 41)
    losses = 2.0 - np.tanh(3 * (np.log10(lrs) + 2.5))
    losses[-2:] = math.nan  # the run blew up
    result = analyze(lrs, losses, beta=0.0)
    ax = plot_lr_finder(result, show_raw=False)
    lines = {line.get_label(): line for line in ax.get_lines()}
    crosses = lines["non-finite loss"].get_xdata().tolist()
    assert crosses == lrs[-2:].tolist()
    marked = [label for label in lines if label.endswith("(suggested_lr)")]
    assert marked == [f"minimum_div_10 {result.suggested_lr:.2g} (suggested_lr)"]
    assert ax.get_xscale() == "log" and "per-batch loss" not in lines
    with pytest.raises(TypeError, match="`result` must be a lrcourse.finder.FinderResult"):
        plot_lr_finder({"lrs": lrs})
