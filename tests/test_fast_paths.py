"""The per-step fast paths of the schedule adapters give the same rates as the schedule.

``as_lambda_lr`` evaluates an lrcourse schedule a block of steps at a time and
``BatchLearningRateScheduler`` a Keras epoch at a time; a schedule asked for one step must
give the same float as the same schedule asked for an array of steps.
"""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import torch  # noqa: E402

from lrcourse import schedules as S  # noqa: E402
from lrcourse.torch_utils import as_lambda_lr  # noqa: E402

SCHEDULES = [
    S.exponential_decay(0.3, 0.7, decay_steps=7),
    S.inverse_time_decay(0.2, 0.5, decay_steps=3, staircase=True),
    S.polynomial_decay(1.0, 300, final_lr=0.01, power=2.0),
    S.warmup_cosine(0.5, total_steps=700, warmup_steps=50, final_lr=0.01),
    S.cosine_restarts(1.0, 13, t_mul=1.5, m_mul=0.9, alpha=0.05),
    S.cyclical(0.1, 0.5, step_size=11, mode="exp_range", gamma=0.999),
    S.one_cycle(0.5, 1000),
    S.join([S.linear_warmup(1.0, 10), S.exponential_decay(1.0, 0.5, 100)], [10]),
]


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_one_step_equals_the_same_step_in_an_array(schedule):
    steps = np.arange(600)
    one_at_a_time = np.array([schedule(int(step)) for step in steps])
    np.testing.assert_array_equal(one_at_a_time, schedule(steps))  # bit for bit


def sgd(lr=1.0):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_as_lambda_lr_gives_the_exact_rate_across_blocks(schedule):
    optimizer = sgd(0.5)
    scheduler = as_lambda_lr(optimizer, schedule)
    used = []
    for _ in range(600):  # more than two blocks of 256 steps
        used.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    expected = [0.5 * (schedule(step) / 0.5) for step in range(600)]
    assert used == expected


def test_as_lambda_lr_state_dict_and_resume():
    schedule = S.one_cycle(0.5, 1000)
    optimizer = sgd()
    scheduler = as_lambda_lr(optimizer, schedule)
    for _ in range(300):
        optimizer.step()
        scheduler.step()
    state = scheduler.state_dict()
    assert state["lr_lambdas"] == [None]  # the factor is a plain function: nothing to pickle
    resumed_optimizer = sgd()
    resumed = as_lambda_lr(resumed_optimizer, schedule)
    resumed.load_state_dict(state)
    resumed_optimizer.step()
    resumed.step()
    assert resumed_optimizer.param_groups[0]["lr"] == schedule(301)


@pytest.mark.parametrize("schedule", [
    lambda step: float("nan") if step == 3 else 0.1,
    S.join([S.constant(0.1), lambda steps: np.where(steps >= 0, -1.0, 0.0)], [3]),
], ids=["function", "lrcourse schedule"])
def test_as_lambda_lr_refuses_a_bad_rate_at_the_step_that_reaches_it(schedule):
    optimizer = sgd()
    scheduler = as_lambda_lr(optimizer, schedule)  # steps 0-2 are fine
    for _ in range(2):
        optimizer.step()
        scheduler.step()
    optimizer.step()
    with pytest.raises(ValueError, match="at step 3; a learning rate must be a finite number"):
        scheduler.step()


# ---------------------------------------------------------------------------------------
# BatchLearningRateScheduler: the direct write, and mixed precision

import keras  # noqa: E402

from lrcourse.keras_utils import BatchLearningRateScheduler, LearningRateLogger  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(12, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]])).astype("float32")


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                             keras.layers.Dense(1, dtype="float32")])


def test_the_rate_is_written_to_the_tensorflow_variable_behind_keras():
    model = mlp()
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    schedule = S.cyclical(0.01, 0.2, step_size=3)
    callback = BatchLearningRateScheduler(schedule)
    logger = LearningRateLogger()
    model.fit(X, Y, batch_size=4, epochs=3, verbose=0, shuffle=False,
              callbacks=[logger, callback])
    if keras.backend.backend() == "tensorflow":
        (write,) = callback._writers  # the fast path ran, on the variable Keras reads
        assert write.keywords["resource"] is model.optimizer.learning_rate.value.handle
    # Keras's own view of the variable and the rate the updates used: the float32 schedule.
    expected = np.float32(schedule(np.arange(9)))
    np.testing.assert_array_equal(np.float32(logger.history["learning_rate"]), expected)
    assert float(model.optimizer.learning_rate) == expected[-1]


def test_mixed_precision_sets_the_wrapped_optimizer_at_its_own_step(mixed_float16):
    model = mlp()
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.optimizer.inner_optimizer.learning_rate.dtype == "float32"
    schedule = S.linear_warmup(0.05, warmup_steps=7)
    logger = LearningRateLogger()
    model.fit(X, Y, batch_size=4, epochs=3, verbose=0, shuffle=False,
              callbacks=[logger, BatchLearningRateScheduler(schedule)])
    steps = np.asarray(logger.steps)
    # The first batches overflow at the initial loss scale: their updates are skipped and
    # the step does not advance (so counting batches would run ahead of the step).
    assert len(np.unique(steps)) < len(steps)
    applied = np.flatnonzero(np.diff(np.concatenate([[-1], steps])) == 1)
    assert len(applied) == int(model.optimizer.iterations) >= 3
    np.testing.assert_array_equal(np.float32(logger.history["learning_rate"])[applied],
                                  np.float32(schedule(steps[applied])))


def test_a_plain_function_and_a_float64_rate_take_the_general_path():
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
        assert model.optimizer.learning_rate.dtype == "float64"
        logger = LearningRateLogger()
        model.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False,
                  callbacks=[logger, BatchLearningRateScheduler(lambda step: 0.1 / (step + 1))])
    finally:
        keras.config.set_floatx("float32")
    assert logger.history["learning_rate"] == [np.float32(0.1 / (step + 1)) for step in range(6)]


def test_mixed_precision_refuses_a_schedule_inside_the_loss_scale_optimizer(mixed_float16):
    model = mlp()
    decay = keras.optimizers.schedules.ExponentialDecay(0.2, 2, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(decay), loss="mse")
    with pytest.raises(ValueError, match="already has a LearningRateSchedule"):
        model.fit(X, Y, verbose=0, callbacks=[BatchLearningRateScheduler(S.constant(0.1))])
