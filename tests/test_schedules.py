"""lrcourse.schedules: formulas, shapes, specs and a table of bad inputs."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrcourse import schedules as S

GOOD = {
    "constant": lambda: S.constant(0.1),
    "exponential_decay": lambda: S.exponential_decay(0.1, 0.5, 10, staircase=True),
    "inverse_time_decay": lambda: S.inverse_time_decay(0.1, 0.5, 10),
    "piecewise_constant": lambda: S.piecewise_constant([10, 20], [0.1, 0.01, 0.001]),
    "polynomial_decay": lambda: S.polynomial_decay(0.1, 10, final_lr=0.01, power=2.0),
    "cosine_decay": lambda: S.cosine_decay(0.1, 10, alpha=0.1),
    "linear_warmup": lambda: S.linear_warmup(0.1, 10),
    "warmup_cosine": lambda: S.warmup_cosine(0.1, 100, 10, final_lr=0.001),
    "cosine_restarts": lambda: S.cosine_restarts(0.1, 10, t_mul=2.0, m_mul=0.5),
    "cyclical": lambda: S.cyclical(0.01, 0.1, 5, mode="exp_range", gamma=0.99),
    "one_cycle": lambda: S.one_cycle(0.1, 100, anneal="linear"),
    "join": lambda: S.join([S.linear_warmup(0.1, 5), S.cosine_decay(0.1, 20)], [5]),
}


@pytest.mark.parametrize("name", list(GOOD))
def test_scalar_and_array_agree_and_specs_round_trip(name):
    schedule = GOOD[name]()
    steps = np.arange(200)
    values = schedule(steps)
    assert values.shape == (200,) and values.dtype == np.float64
    assert [schedule(int(s)) for s in steps] == pytest.approx(values.tolist(), rel=1e-12)
    assert isinstance(schedule(3), float)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    rebuilt = S.from_spec(schedule.spec())
    np.testing.assert_array_equal(rebuilt(steps), values)
    assert rebuilt.spec() == schedule.spec()
    assert repr(rebuilt) == repr(schedule)


def test_formulas_at_hand_computed_points():
    assert S.exponential_decay(0.1, 0.96, 1000)(500) == pytest.approx(0.1 * 0.96**0.5)
    assert S.inverse_time_decay(0.1, 0.5, 100)(300) == pytest.approx(0.1 / 2.5)
    assert S.polynomial_decay(1.0, 10, power=2.0)(5) == pytest.approx(0.25)
    assert S.cosine_decay(1.0, 10)(5) == pytest.approx(0.5)
    assert S.cyclical(0.0 + 1e-3, 1e-3 + 1.0, 4, mode="triangular2")(12) == pytest.approx(
        1e-3 + 0.5)
    one = S.one_cycle(1.0, 100, pct_start=0.25)
    assert one(0) == pytest.approx(1 / 25) and one(24) == pytest.approx(1.0)
    assert one(99) == pytest.approx(1 / 25 / 1e4)


def test_warmup_cosine_is_a_join_of_two_simple_schedules():
    joined = S.join([S.linear_warmup(0.3, 40), S.cosine_decay(0.3, 160, alpha=0.1)], [40])
    np.testing.assert_allclose(S.warmup_cosine(0.3, 200, 40, final_lr=0.03)(np.arange(300)),
                               joined(np.arange(300)), rtol=1e-12)


def test_warmup_cosine_without_warmup_is_cosine_decay():
    np.testing.assert_array_equal(S.warmup_cosine(0.1, 50, 0)(np.arange(80)),
                                  S.cosine_decay(0.1, 50)(np.arange(80)))


@given(st.integers(1, 50), st.sampled_from([1.0, 1.5, 2.0, 3.0]), st.integers(0, 5000))
def test_restarts_restart_exactly_at_each_period_start(first, t_mul, index):
    schedule = S.cosine_restarts(1.0, first, t_mul=t_mul)
    starts = np.cumsum([0.0] + [first * t_mul**i for i in range(40)])
    exact = [s for s in starts if float(s).is_integer() and s < 1e7]
    step = exact[index % len(exact)]
    assert schedule(step) == pytest.approx(1.0)


def test_join_accepts_plain_functions_but_cannot_describe_them():
    joined = S.join([lambda s: 0.1 + 0 * s, S.constant(0.01)], [3])
    np.testing.assert_allclose(joined(np.arange(5)), [0.1, 0.1, 0.1, 0.01, 0.01])
    with pytest.raises(TypeError, match="piece 0 .* is not an lrcourse schedule"):
        joined.spec()


NAN, INF = math.nan, math.inf

BAD = [
    # (factory call, exception, words the message must contain)
    (lambda: S.constant(0.0), ValueError, "`learning_rate` must be a finite number > 0. "
     "Received: learning_rate=0.0"),
    (lambda: S.constant(-0.1), ValueError, "learning_rate=-0.1"),
    (lambda: S.constant(NAN), ValueError, "learning_rate=nan"),
    (lambda: S.constant(INF), ValueError, "learning_rate=inf"),
    (lambda: S.constant("0.1"), TypeError, "learning_rate='0.1' (str)"),
    (lambda: S.constant(True), TypeError, "learning_rate=True (bool)"),
    (lambda: S.exponential_decay(-0.1, 0.5, 10), ValueError, "initial_lr=-0.1"),
    (lambda: S.exponential_decay(0.1, 0.0, 10), ValueError, "decay_rate=0.0"),
    (lambda: S.exponential_decay(0.1, 0.5, 0), ValueError,
     "`decay_steps` must be an integer >= 1. Received: decay_steps=0"),
    (lambda: S.exponential_decay(0.1, 0.5, -5), ValueError, "decay_steps=-5"),
    (lambda: S.exponential_decay(0.1, 0.5, 10.5), TypeError, "decay_steps=10.5 (float)"),
    (lambda: S.exponential_decay(0.1, 0.5, 10, staircase="yes"), TypeError, "staircase='yes'"),
    (lambda: S.inverse_time_decay(0.1, NAN, 10), ValueError, "decay_rate=nan"),
    (lambda: S.inverse_time_decay(0.1, 0.5, 0), ValueError, "decay_steps=0"),
    (lambda: S.piecewise_constant([10, 10], [1.0, 0.5, 0.1]), ValueError,
     "`boundaries` must be strictly increasing integers >= 1. Received: boundaries=[10, 10]"),
    (lambda: S.piecewise_constant([20, 10], [1.0, 0.5, 0.1]), ValueError, "boundaries=[20, 10]"),
    (lambda: S.piecewise_constant([0, 10], [1.0, 0.5, 0.1]), ValueError, "boundaries=[0, 10]"),
    (lambda: S.piecewise_constant([10, 20], [1.0, 0.5]), ValueError,
     "exactly one more entry than `boundaries`. Received: 2 values for 2 boundaries"),
    (lambda: S.piecewise_constant([10], [1.0, -0.5]), ValueError, "values[1]=-0.5"),
    (lambda: S.piecewise_constant([10], [1.0, INF]), ValueError, "values[1]=inf"),
    (lambda: S.piecewise_constant(10, [1.0, 0.5]), TypeError, "boundaries=10 (int)"),
    (lambda: S.piecewise_constant([1.5], [1.0, 0.5]), TypeError, "element 1.5 is float"),
    (lambda: S.polynomial_decay(0.1, 0), ValueError, "decay_steps=0"),
    (lambda: S.polynomial_decay(0.1, 10, final_lr=-1e-3), ValueError, "final_lr=-0.001"),
    (lambda: S.polynomial_decay(0.1, 10, power=0.0), ValueError, "power=0.0"),
    (lambda: S.cosine_decay(0.0, 10), ValueError, "initial_lr=0.0"),
    (lambda: S.cosine_decay(0.1, 0), ValueError, "decay_steps=0"),
    (lambda: S.cosine_decay(0.1, 10, alpha=1.5), ValueError, "`alpha` must be a number in "
     "[0, 1]. Received: alpha=1.5"),
    (lambda: S.linear_warmup(0.1, 0), ValueError, "warmup_steps=0"),
    (lambda: S.linear_warmup(0.1, 10, initial_lr=0.2), ValueError,
     "`initial_lr` must be <= peak_lr=0.1. Received: initial_lr=0.2"),
    (lambda: S.warmup_cosine(0.1, 100, 100), ValueError,
     "`warmup_steps` must be < total_steps=100. Received: warmup_steps=100"),
    (lambda: S.warmup_cosine(0.1, 100, -1), ValueError, "warmup_steps=-1"),
    (lambda: S.warmup_cosine(0.1, 100, 10, final_lr=0.2), ValueError, "final_lr=0.2"),
    (lambda: S.warmup_cosine(-0.1, 100, 10), ValueError, "peak_lr=-0.1"),
    (lambda: S.cosine_restarts(0.1, 0), ValueError, "first_decay_steps=0"),
    (lambda: S.cosine_restarts(0.1, 10, t_mul=0.5), ValueError, "t_mul=0.5"),
    (lambda: S.cosine_restarts(0.1, 10, m_mul=1.5), ValueError, "m_mul=1.5"),
    (lambda: S.cosine_restarts(0.1, 10, m_mul=NAN), ValueError, "m_mul=nan"),
    (lambda: S.cyclical(0.1, 0.01, 10), ValueError,
     "`max_lr` must be >= base_lr=0.1. Received: max_lr=0.01"),
    (lambda: S.cyclical(0.0, 0.1, 10), ValueError, "base_lr=0.0"),
    (lambda: S.cyclical(0.01, 0.1, 0), ValueError, "step_size=0"),
    (lambda: S.cyclical(0.01, 0.1, 10, mode="sine"), ValueError,
     "`mode` must be one of 'triangular', 'triangular2', 'exp_range'. Received: mode='sine'"),
    (lambda: S.cyclical(0.01, 0.1, 10, gamma=1.5), ValueError, "gamma=1.5"),
    (lambda: S.one_cycle(0.1, 100, pct_start=0.0), ValueError,
     "`pct_start` must be strictly between 0 and 1. Received: pct_start=0.0"),
    (lambda: S.one_cycle(0.1, 100, pct_start=1.0), ValueError, "pct_start=1.0"),
    (lambda: S.one_cycle(0.1, 100, pct_start=1.2), ValueError, "pct_start=1.2"),
    (lambda: S.one_cycle(0.1, 3, pct_start=0.3), ValueError, "`pct_start * total_steps` must "
     "be > 1"),
    (lambda: S.one_cycle(0.1, 1), ValueError, "total_steps=1"),
    (lambda: S.one_cycle(-1.0, 100), ValueError, "max_lr=-1.0"),
    (lambda: S.one_cycle(0.1, 100, div_factor=0), ValueError, "div_factor=0"),
    (lambda: S.one_cycle(0.1, 100, anneal="cosine"), ValueError, "anneal='cosine'"),
    (lambda: S.join([S.constant(0.1)], [10]), ValueError, "Received: 1 schedules for 1 "
     "boundaries"),
    (lambda: S.join([S.constant(0.1), 0.01], [10]), TypeError, "`schedules[1]` must be a "
     "function of the step. Received: 0.01 (float)"),
    (lambda: S.join([S.constant(0.1), S.constant(0.01)], [-10]), ValueError,
     "boundaries=[-10]"),
    (lambda: S.constant(0.1)(-1), ValueError, "`step` must be finite and >= 0"),
    (lambda: S.constant(0.1)(np.array([0, 5, -2])), ValueError, "Received: step=-2.0"),
    (lambda: S.cosine_decay(0.1, 10)(NAN), ValueError, "Received: step=nan"),
    (lambda: S.cosine_decay(0.1, 10)("3"), TypeError, "step='3' (str)"),
    (lambda: S.cosine_decay(0.1, 10)(np.array(["a"])), TypeError, "Received dtype <U1"),
    (lambda: S.from_spec({"name": "cosine_decay"}), TypeError, "`spec` must be a dict"),
    (lambda: S.from_spec({"name": "nope", "config": {}}), ValueError,
     "`spec['name']` must be one of constant"),
]


@pytest.mark.parametrize("call, error, words", BAD, ids=[words[:40] for _, _, words in BAD])
def test_bad_input_raises_naming_the_argument(call, error, words):
    with pytest.raises(error) as raised:
        call()
    assert words in str(raised.value)


# ---------------------------------------------------------------------------------------
# One step takes a plain-Python formula, an array the NumPy one: they agree at every step.

RATE = st.floats(1e-4, 10.0)
STEPS = st.integers(1, 60)
SCHEDULE_DRAWS = {
    "constant": st.builds(S.constant, RATE),
    "exponential_decay": st.builds(S.exponential_decay, RATE, st.floats(0.05, 2.0), STEPS,
                                   st.booleans()),
    "inverse_time_decay": st.builds(S.inverse_time_decay, RATE, st.floats(0.01, 5.0), STEPS,
                                    st.booleans()),
    "piecewise_constant": st.lists(st.integers(1, 300), min_size=1, max_size=5, unique=True)
    .flatmap(lambda edges: st.builds(S.piecewise_constant, st.just(sorted(edges)),
                                     st.lists(RATE, min_size=len(edges) + 1,
                                              max_size=len(edges) + 1))),
    "polynomial_decay": st.builds(S.polynomial_decay, RATE, STEPS, st.floats(0.0, 1e-4),
                                  st.floats(0.1, 4.0), st.booleans()),
    "cosine_decay": st.builds(S.cosine_decay, RATE, STEPS, st.floats(0.0, 1.0)),
    "linear_warmup": st.builds(S.linear_warmup, st.floats(1e-3, 10.0), STEPS,
                               st.floats(0.0, 1e-3)),
    "warmup_cosine": st.integers(0, 40).flatmap(lambda warmup: st.builds(
        S.warmup_cosine, RATE, st.integers(max(warmup + 1, 2), warmup + 200), st.just(warmup),
        st.floats(0.0, 1e-4))),
    "cosine_restarts": st.builds(S.cosine_restarts, RATE, STEPS,
                                 st.one_of(st.sampled_from([1.0, 1.5, 2.0, 3.0]),
                                           st.floats(1.0, 4.0)),
                                 st.floats(0.1, 1.0), st.floats(0.0, 1.0)),
    "cyclical": st.builds(S.cyclical, st.floats(1e-4, 1e-3), st.floats(1e-3, 1.0), STEPS,
                          st.sampled_from(["triangular", "triangular2", "exp_range"]),
                          st.floats(0.9, 1.0)),
    "one_cycle": st.builds(S.one_cycle, RATE, st.integers(20, 400), st.floats(0.1, 0.9),
                           st.floats(1.0, 100.0), st.floats(1.0, 1e4),
                           st.sampled_from(["cos", "linear"])),
}
SCHEDULE_DRAWS["join"] = st.builds(
    lambda first, second, boundary: S.join([first, second], [boundary]),
    SCHEDULE_DRAWS["linear_warmup"], SCHEDULE_DRAWS["cosine_restarts"], STEPS)


def test_every_factory_has_a_drawn_case():
    assert set(SCHEDULE_DRAWS) == set(S._FACTORIES) | {"join"}


@pytest.mark.parametrize("name", list(SCHEDULE_DRAWS))
@given(data=st.data())
def test_the_scalar_formula_agrees_with_the_array_formula_at_every_step(name, data):
    schedule = data.draw(SCHEDULE_DRAWS[name])
    steps = np.arange(700)
    one_at_a_time = np.array([schedule(int(step)) for step in steps])
    as_floats = np.array([schedule(float(step)) for step in steps])
    together = schedule(steps)
    np.testing.assert_array_equal(one_at_a_time, as_floats)
    # Python's ** and math.log1p may differ from NumPy's in the last place, nothing more.
    scale = together.max()
    np.testing.assert_allclose(one_at_a_time, together, rtol=1e-13, atol=1e-13 * scale)
    # A single step in any other form (a NumPy integer, a 0-d array) takes the scalar formula.
    assert schedule(np.int64(17)) == schedule(np.array(17)) == one_at_a_time[17]
    assert type(schedule(np.int64(17))) is float and type(schedule(3)) is float


def test_a_join_of_plain_functions_takes_the_scalar_path_too():
    joined = S.join([lambda step: 0.1 / (1 + step), S.constant(0.01)], [3])
    assert [joined(step) for step in range(5)] == [0.1, 0.05, 0.1 / 3, 0.01, 0.01]
    assert joined(2) == joined(np.arange(5))[2]
