import numpy as np
import pytest
from scipy import stats

from lrcourse.compare import compare_runs, summarize


@pytest.mark.parametrize("seed", range(5))
def test_compare_runs_matches_scipy_welch(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.9, 0.02, 5), rng.normal(0.91, 0.01, 6)
    result = compare_runs(a, b)
    reference = stats.ttest_ind(a, b, equal_var=False)
    assert np.isclose(result.t, reference.statistic)
    assert np.isclose(result.p_value, reference.pvalue)
    assert result.verdict == ("tied" if reference.pvalue >= 0.05
                              else "a" if a.mean() > b.mean() else "b")


def test_verdicts_follow_the_spread_not_the_means():
    assert compare_runs([0.90, 0.91, 0.92], [0.95, 0.96, 0.97]).verdict == "b"
    noisy = compare_runs([0.80, 0.99, 0.90], [0.93, 0.92, 0.94])  # lower mean, but noise
    assert noisy.mean_a < noisy.mean_b and noisy.verdict == "tied"
    assert compare_runs([0.9, 0.9], [0.9, 0.9]).verdict == "tied"
    assert compare_runs([0.9, 0.9], [0.8, 0.8]).verdict == "a"


def test_summarize_uses_the_sample_standard_deviation():
    mean, std = summarize([1.0, 2.0, 3.0])
    assert mean == 2.0 and std == 1.0


@pytest.mark.parametrize("a, error, fragment", [
    ([0.9], ValueError, "at least 2 seeds"),
    ([0.9, float("nan")], ValueError, "finite"),
    (["a", "b"], TypeError, "sequence of numbers"),
    ([[0.9, 0.8]], ValueError, "one score per seed"),
])
def test_bad_scores(a, error, fragment):
    with pytest.raises(error, match=fragment):
        compare_runs(a, [0.9, 0.8])


def test_bad_alpha():
    with pytest.raises(ValueError, match="alpha"):
        compare_runs([0.9, 0.8], [0.9, 0.8], alpha=1.5)
