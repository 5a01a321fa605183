"""lrcourse.schedules equals the Keras and PyTorch built-ins at every step.

Each case runs at least 1,000 steps and compares with rtol 1e-6 (plus an absolute
1e-12 for rates that reach exactly zero). Keras is evaluated in float64 (its schedules
take the dtype of ``initial_learning_rate``), so the comparison measures the formulas,
not float32 rounding. Where a framework's convention differs, a test pins the difference.
"""

import math
import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from torch.optim import lr_scheduler as torch_schedulers  # noqa: E402

from lrcourse import schedules as S  # noqa: E402

pytestmark = pytest.mark.xdist_group("frameworks")

NUM_STEPS = 1200
STEPS = np.arange(NUM_STEPS)
KS = keras.optimizers.schedules


def keras_values(schedule, steps=STEPS):
    """Evaluate a Keras schedule at each step, one call per step as an optimizer does."""
    return np.array([keras.ops.convert_to_numpy(schedule(step)) for step in steps])


def torch_values(make_scheduler, lr, num_steps=NUM_STEPS):
    """The rate a torch optimizer uses at each of ``num_steps`` steps, stepping properly."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(num_steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.asarray(rates)


def assert_same(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


F = np.float64  # Keras computes in the dtype of the initial rate

KERAS_CASES = {
    "exponential smooth": (
        S.exponential_decay(0.1, 0.96, 100),
        KS.ExponentialDecay(F(0.1), 100, F(0.96))),
    "exponential staircase": (
        S.exponential_decay(0.5, 0.5, 250, staircase=True),
        KS.ExponentialDecay(F(0.5), 250, F(0.5), staircase=True)),
    "exponential growth": (
        S.exponential_decay(1e-4, 10.0, 400),
        KS.ExponentialDecay(F(1e-4), 400, F(10.0))),
    "inverse time smooth": (
        S.inverse_time_decay(0.1, 0.5, 100),
        KS.InverseTimeDecay(F(0.1), 100, F(0.5))),
    "inverse time staircase": (
        S.inverse_time_decay(1.0, 2.0, 300, staircase=True),
        KS.InverseTimeDecay(F(1.0), 300, F(2.0), staircase=True)),
    "polynomial linear": (
        S.polynomial_decay(0.1, 1000, final_lr=1e-4),
        KS.PolynomialDecay(F(0.1), 1000, F(1e-4))),
    "polynomial square": (
        S.polynomial_decay(0.3, 700, final_lr=0.01, power=2.0),
        KS.PolynomialDecay(F(0.3), 700, F(0.01), power=2.0)),
    "polynomial cycle": (
        S.polynomial_decay(0.3, 250, final_lr=0.01, power=0.5, cycle=True),
        KS.PolynomialDecay(F(0.3), 250, F(0.01), power=0.5, cycle=True)),
    "cosine to zero": (
        S.cosine_decay(0.1, 1000),
        KS.CosineDecay(F(0.1), 1000)),
    "cosine alpha": (
        S.cosine_decay(2.0, 333, alpha=0.05),
        KS.CosineDecay(F(2.0), 333, alpha=0.05)),
    "restarts t_mul 2": (
        S.cosine_restarts(0.1, 100),
        KS.CosineDecayRestarts(F(0.1), 100)),
    "restarts t_mul 1, m_mul, alpha": (
        S.cosine_restarts(1.0, 150, t_mul=1.0, m_mul=0.8, alpha=0.1),
        KS.CosineDecayRestarts(F(1.0), 150, t_mul=1.0, m_mul=0.8, alpha=0.1)),
    "restarts t_mul 3": (
        S.cosine_restarts(0.5, 40, t_mul=3.0, m_mul=0.5),
        KS.CosineDecayRestarts(F(0.5), 40, t_mul=3.0, m_mul=0.5)),
    "restarts t_mul 1.5": (
        S.cosine_restarts(0.5, 100, t_mul=1.5, alpha=0.01),
        KS.CosineDecayRestarts(F(0.5), 100, t_mul=1.5, alpha=0.01)),
    "warmup then cosine": (
        S.warmup_cosine(0.1, total_steps=1000, warmup_steps=100, final_lr=0.001),
        KS.CosineDecay(F(0.0), 900, alpha=0.01, warmup_target=F(0.1), warmup_steps=100)),
    "warmup then cosine, long warmup": (
        S.warmup_cosine(1.0, total_steps=800, warmup_steps=500),
        KS.CosineDecay(F(0.0), 300, warmup_target=F(1.0), warmup_steps=500)),
}


@pytest.mark.parametrize("name", list(KERAS_CASES))
def test_lrcourse_equals_keras_builtin(name):
    ours, theirs = KERAS_CASES[name]
    assert_same(ours(STEPS), keras_values(theirs))


def test_piecewise_constant_switches_one_step_earlier_than_keras():
    boundaries, values = [100, 250, 600], [0.1, 0.05, 0.01, 0.001]
    ours = S.piecewise_constant(boundaries, values)(STEPS)
    keras_schedule = KS.PiecewiseConstantDecay(boundaries, [F(v) for v in values])
    theirs = keras_values(keras_schedule)
    # Keras keeps values[i] while step <= boundaries[i]; lrcourse, PyTorch and optax
    # switch at step == boundaries[i]. So Keras at step s equals lrcourse at s - 1.
    assert_same(ours[:-1], theirs[1:])
    assert theirs[0] == ours[0]
    for boundary, old, new in zip(boundaries, values[:-1], values[1:], strict=True):
        assert theirs[boundary] == old and ours[boundary] == new


TORCH_CASES = {
    "exponential smooth": (
        S.exponential_decay(0.1, 0.96, 100),
        lambda o: torch_schedulers.ExponentialLR(o, gamma=0.96 ** (1 / 100)), 0.1),
    "exponential staircase = StepLR": (
        S.exponential_decay(0.5, 0.5, 250, staircase=True),
        lambda o: torch_schedulers.StepLR(o, step_size=250, gamma=0.5), 0.5),
    "piecewise = MultiStepLR": (
        S.piecewise_constant([100, 250, 600], [0.1, 0.01, 0.001, 0.0001]),
        lambda o: torch_schedulers.MultiStepLR(o, milestones=[100, 250, 600], gamma=0.1), 0.1),
    "polynomial = PolynomialLR": (
        S.polynomial_decay(0.1, 1000, power=1.0),
        lambda o: torch_schedulers.PolynomialLR(o, total_iters=1000, power=1.0), 0.1),
    "polynomial square = PolynomialLR": (
        S.polynomial_decay(0.3, 700, power=2.0),
        lambda o: torch_schedulers.PolynomialLR(o, total_iters=700, power=2.0), 0.3),
    "linear warmup = LinearLR": (
        S.linear_warmup(0.1, 300, initial_lr=0.01),
        lambda o: torch_schedulers.LinearLR(o, start_factor=0.1, total_iters=300), 0.1),
    "restarts = CosineAnnealingWarmRestarts T_mult 1": (
        S.cosine_restarts(0.1, 150, t_mul=1.0, alpha=0.1),
        lambda o: torch_schedulers.CosineAnnealingWarmRestarts(o, T_0=150, T_mult=1,
                                                              eta_min=0.01), 0.1),
    "restarts = CosineAnnealingWarmRestarts T_mult 2": (
        S.cosine_restarts(0.5, 100, t_mul=2.0),
        lambda o: torch_schedulers.CosineAnnealingWarmRestarts(o, T_0=100, T_mult=2), 0.5),
    "restarts = CosineAnnealingWarmRestarts T_mult 3": (
        S.cosine_restarts(0.5, 40, t_mul=3.0, alpha=0.02),
        lambda o: torch_schedulers.CosineAnnealingWarmRestarts(o, T_0=40, T_mult=3,
                                                              eta_min=0.01), 0.5),
    "one-cycle cos": (
        S.one_cycle(0.1, NUM_STEPS),
        lambda o: torch_schedulers.OneCycleLR(o, max_lr=0.1, total_steps=NUM_STEPS,
                                              cycle_momentum=False), 0.1),
    "one-cycle linear, odd split": (
        S.one_cycle(1.0, NUM_STEPS, pct_start=0.45, div_factor=10.0, final_div_factor=100.0,
                    anneal="linear"),
        lambda o: torch_schedulers.OneCycleLR(o, max_lr=1.0, total_steps=NUM_STEPS,
                                              pct_start=0.45, div_factor=10.0,
                                              final_div_factor=100.0, anneal_strategy="linear",
                                              cycle_momentum=False), 1.0),
    "cyclical triangular": (
        S.cyclical(0.001, 0.1, 200),
        lambda o: torch_schedulers.CyclicLR(o, 0.001, 0.1, step_size_up=200,
                                            cycle_momentum=False), 0.1),
    "cyclical triangular2": (
        S.cyclical(0.01, 0.5, 150, mode="triangular2"),
        lambda o: torch_schedulers.CyclicLR(o, 0.01, 0.5, step_size_up=150, mode="triangular2",
                                            cycle_momentum=False), 0.5),
    "cyclical exp_range": (
        S.cyclical(0.01, 0.5, 100, mode="exp_range", gamma=0.999),
        lambda o: torch_schedulers.CyclicLR(o, 0.01, 0.5, step_size_up=100, mode="exp_range",
                                            gamma=0.999, cycle_momentum=False), 0.5),
}


@pytest.mark.parametrize("name", list(TORCH_CASES))
def test_lrcourse_equals_torch_builtin(name):
    ours, make_scheduler, lr = TORCH_CASES[name]
    assert_same(ours(STEPS), torch_values(make_scheduler, lr))


def test_cosine_annealing_agrees_until_t_max_then_climbs_back():
    ours = S.cosine_decay(0.1, 1000, alpha=0.01)(STEPS)
    theirs = torch_values(
        lambda o: torch_schedulers.CosineAnnealingLR(o, T_max=1000, eta_min=0.001), 0.1)
    assert_same(ours[:1001], theirs[:1001])
    # lrcourse and Keras hold alpha * initial_lr; CosineAnnealingLR is a full cosine wave.
    assert np.all(ours[1001:] == pytest.approx(0.001))
    assert theirs[-1] > 0.005 and np.all(np.diff(theirs[1000:]) > 0)


def test_one_cycle_holds_its_last_rate_where_torch_raises():
    schedule = S.one_cycle(0.1, total_steps=100)
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    scheduler = torch_schedulers.OneCycleLR(optimizer, max_lr=0.1, total_steps=100)
    for _ in range(99):
        optimizer.step()
        scheduler.step()
    assert optimizer.param_groups[0]["lr"] == pytest.approx(schedule(99), rel=1e-9)
    # The 100th scheduler.step() (after the last of the 100 updates) still works, but it
    # extrapolates the cosine past its end: the rate goes back up.
    optimizer.step()
    scheduler.step()
    assert optimizer.param_groups[0]["lr"] > 100 * schedule(99)
    optimizer.step()
    with pytest.raises(ValueError, match="Tried to step 101 times"):
        scheduler.step()
    assert schedule(150) == schedule(100) == schedule(99) == pytest.approx(0.1 / 25 / 1e4)


def test_keras_restarts_can_miss_a_restart_when_t_mul_is_not_an_integer():
    """Keras finds the period with a logarithm; in float64 at step 844 it lands just short."""
    ours = S.cosine_restarts(0.5, 64, t_mul=1.5, alpha=0.01)
    starts = np.cumsum([64 * 1.5**i for i in range(6)])
    assert starts[4] == 844  # 64 * (1 + 1.5 + 1.5**2 + 1.5**3 + 1.5**4), exactly
    values = keras_values(KS.CosineDecayRestarts(F(0.5), 64, t_mul=1.5, alpha=0.01))
    assert ours(844) == 0.5 and values[844] == pytest.approx(0.005)  # the floor, not a restart
    mask = STEPS != 844
    assert_same(ours(STEPS)[mask], values[mask])


def test_keras_cosine_warmup_counts_decay_steps_after_the_warmup():
    keras_schedule = KS.CosineDecay(F(0.0), 900, warmup_target=F(0.1), warmup_steps=100)
    same_total = S.warmup_cosine(0.1, total_steps=900, warmup_steps=100)
    values = keras_values(keras_schedule)
    # With the same number 900, Keras is still decaying at step 900; lrcourse has ended.
    assert values[900] > 0.001 and same_total(900) == 0.0
    assert values[1000] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("boundary", [1, 57, 300])
def test_join_counts_each_piece_from_its_boundary(boundary):
    warm = S.linear_warmup(0.2, boundary)
    decay = S.exponential_decay(0.2, 0.5, 50)
    joined = S.join([warm, decay], [boundary])(STEPS)
    assert_same(joined[:boundary], warm(STEPS[:boundary]))
    assert_same(joined[boundary:], decay(STEPS[boundary:] - boundary))
    assert joined[boundary] == 0.2


def test_torch_sequential_lr_matches_join():
    ours = S.join([S.linear_warmup(0.1, 100, initial_lr=0.001),
                   S.exponential_decay(0.1, 0.9, 50)], [100])(STEPS)

    def make(optimizer):
        warm = torch_schedulers.LinearLR(optimizer, start_factor=0.01, total_iters=100)
        decay = torch_schedulers.ExponentialLR(optimizer, gamma=0.9 ** (1 / 50))
        return torch_schedulers.SequentialLR(optimizer, [warm, decay], milestones=[100])

    assert_same(ours, torch_values(make, 0.1))


def test_float32_keras_is_close_but_not_exact():
    """What a learner sees with Keras defaults: float32, relative error around 1e-7."""
    values = keras_values(KS.ExponentialDecay(0.1, 100, 0.96))
    ours = S.exponential_decay(0.1, 0.96, 100)(STEPS)
    assert values.dtype == np.float32
    assert np.max(np.abs(values / ours - 1)) < 1e-6
    assert not math.isclose(float(values[777]), float(ours[777]), rel_tol=1e-12)
