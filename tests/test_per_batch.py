"""Per-batch learning rates (lesson 04): the Keras callbacks, the controllers in three
backends, and the one-trace rule for a ``tf.function`` step whose rate changes."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

from lrcourse import schedules  # noqa: E402
from lrcourse.controllers import (  # noqa: E402
    CyclicalLossController,
    GradientNormController,
    LossTrendController,
    backend_ops,
    run_controller,
)
from lrcourse.keras_utils import (  # noqa: E402
    BatchLearningRateScheduler,
    LearningRateLogger,
    multi_optimizer,
)
from lrcourse.plotting import plot_learning_rates  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(10, 3)).astype("float32")
Y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1).astype("float32")


def linear_model(name="net"):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3,))
    hidden = keras.layers.Dense(2, name="features")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(hidden), name=name)


# ---------------------------------------------------------------------------------------
# BatchLearningRateScheduler and LearningRateLogger


def test_schedule_follows_the_global_step_across_epochs_and_fit_calls():
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    schedule = schedules.linear_warmup(0.05, warmup_steps=7)
    logger = LearningRateLogger()
    # 10 examples, batch 4: three batches per epoch (the last one smaller).
    model.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False,
              callbacks=[BatchLearningRateScheduler(schedule), logger])
    np.testing.assert_allclose(logger.history["learning_rate"], schedule(np.arange(6)), rtol=1e-6)
    assert logger.steps == list(range(6))
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False,
              callbacks=[BatchLearningRateScheduler(schedule), logger])
    assert logger.steps == [6, 7, 8]  # a second fit carries on from the optimizer's step
    np.testing.assert_allclose(logger.history["learning_rate"], schedule(np.arange(6, 9)),
                               rtol=1e-6)


def test_the_update_uses_the_scheduled_rate():
    # Full-batch linear regression without bias: weights after fit == NumPy GD with the schedule.
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    w = model.get_weights()[0].astype(np.float64)
    schedule = schedules.cyclical(0.01, 0.2, step_size=3)
    model.fit(X, Y, batch_size=len(X), epochs=9, verbose=0, shuffle=False,
              callbacks=[BatchLearningRateScheduler(schedule)])
    for step in range(9):
        gradient = 2.0 * X.T @ (X @ w - Y) / len(X)
        w = w - schedule(step) * gradient
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-4, atol=1e-6)


def test_multi_optimizer_one_schedule_or_one_per_sub_optimizer():
    model = linear_model()
    optimizer = multi_optimizer(model, {"features": 0.1}, keras.optimizers.SGD(0.5, name="sgd"))
    model.compile(optimizer=optimizer, loss="mse")
    slow, fast = schedules.constant(0.001), schedules.exponential_decay(0.3, 0.5, 1)
    logger = LearningRateLogger()
    model.fit(X, Y, batch_size=5, epochs=2, verbose=0,
              callbacks=[logger, BatchLearningRateScheduler({"sgd_x0.1": slow, "sgd": fast})])
    assert sorted(logger.history) == ["learning_rate_sgd", "learning_rate_sgd_x0.1"]
    np.testing.assert_allclose(logger.history["learning_rate_sgd"], fast(np.arange(4)), rtol=1e-6)
    np.testing.assert_allclose(logger.history["learning_rate_sgd_x0.1"], [0.001] * 4, rtol=1e-6)
    model.fit(X, Y, batch_size=5, epochs=1, verbose=0,
              callbacks=[BatchLearningRateScheduler(fast), logger])
    for column in logger.history.values():
        np.testing.assert_allclose(column, fast(np.arange(4, 6)), rtol=1e-6)


def test_logger_reads_a_keras_schedule_at_the_step_just_taken():
    decay = keras.optimizers.schedules.ExponentialDecay(0.2, decay_steps=2, decay_rate=0.5)
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(decay), loss="mse")
    logger = LearningRateLogger()
    model.fit(X, Y, batch_size=2, epochs=1, verbose=0, callbacks=[logger])
    expected = [float(decay(step)) for step in range(5)]
    np.testing.assert_allclose(logger.history["learning_rate"], expected, rtol=1e-6)


@pytest.mark.parametrize("bad, error, words", [
    (0.1, TypeError, "must be a function of the step"),
    ({}, ValueError, "empty dict"),
    ({"sgd": 0.1}, TypeError, "schedule['sgd']"),
])
def test_scheduler_refuses_bad_schedules(bad, error, words):
    with pytest.raises(error) as info:
        BatchLearningRateScheduler(bad)
    assert words in str(info.value)


def test_scheduler_refuses_a_callable_rate_and_the_logger_reads_it():
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(lambda: 0.05), loss="mse")
    with pytest.raises(ValueError, match="already has a LearningRateSchedule or callable rate"):
        model.fit(X, Y, verbose=0, callbacks=[BatchLearningRateScheduler(schedules.constant(0.1))])
    logger = LearningRateLogger()
    model.fit(X, Y, batch_size=5, verbose=0, callbacks=[logger])
    np.testing.assert_allclose(logger.history["learning_rate"], [0.05, 0.05], rtol=1e-6)


def test_scheduler_refuses_an_optimizer_with_a_schedule_and_unknown_names():
    model = linear_model()
    decay = keras.optimizers.schedules.ExponentialDecay(0.2, 2, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(decay), loss="mse")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="already has a LearningRateSchedule"):
        model.fit(X, Y, verbose=0, callbacks=[BatchLearningRateScheduler(schedules.constant(0.1))])
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    model = linear_model()
    model.compile(optimizer=multi_optimizer(model, {"features": 0.1},
                                            keras.optimizers.SGD(0.5, name="sgd")), loss="mse")
    with pytest.raises(ValueError, match=r"Expected names: \['sgd_x0.1', 'sgd'\]"):
        model.fit(X, Y, verbose=0,
                  callbacks=[BatchLearningRateScheduler({"sgd": schedules.constant(0.1)})])


def test_scheduler_refuses_steps_per_execution_above_one_before_any_update():
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse", steps_per_execution=2)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match="steps_per_execution=2"):
        model.fit(X, Y, batch_size=2, epochs=1, verbose=0,
                  callbacks=[BatchLearningRateScheduler(schedules.constant(0.1))])
    assert int(model.optimizer.iterations) == 0
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_scheduler_refuses_a_rate_that_is_not_finite():
    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    with pytest.raises(ValueError, match="returned nan at step 0"):
        model.fit(X, Y, verbose=0, callbacks=[BatchLearningRateScheduler(lambda step: np.nan)])


# ---------------------------------------------------------------------------------------
# Controllers


LOSSES = np.abs(2.0 * np.exp(-np.arange(120) / 40) + 0.3 * RNG.normal(size=120)) + 0.05
NORMS = np.abs(6.0 + 4.0 * RNG.normal(size=120))

CONTROLLERS = {
    "gradient_norm": (GradientNormController(0.1, slope=0.005, min_lr=0.01), "grad_norm"),
    "gradient_norm_smoothed": (GradientNormController(0.1, smoothing=0.9), "grad_norm"),
    "loss_trend": (LossTrendController(0.05, window=10, max_lr=0.2), "loss"),
    "cyclical_loss": (CyclicalLossController(
        schedules.cosine_restarts(0.01, 25, t_mul=1.0, alpha=0.1), factor=1.01), "loss"),
}


def signals(kind):
    return {"loss": LOSSES} if kind == "loss" else {"grad_norm": NORMS}


def compiled_rates(controller, kind):
    """The controller inside one tf.function, its state in tf.Variables; rates and traces."""
    ops = backend_ops("tensorflow")
    state = [tf.Variable(value) for value in controller.init(ops)]
    traces = []

    @tf.function
    def step(value):
        traces.append(1)
        rate, new_state = controller.update(type(controller.init(ops))(*state), ops,
                                            **{kind: value})
        for variable, new in zip(state, new_state, strict=True):
            variable.assign(new)
        return rate

    series = LOSSES if kind == "loss" else NORMS
    rates = [float(step(tf.constant(value, tf.float32))) for value in series]
    return np.array(rates), len(traces)


@pytest.mark.parametrize("name", list(CONTROLLERS))
def test_controllers_give_the_same_rates_in_numpy_tf_function_and_torch(name):
    controller, kind = CONTROLLERS[name]
    reference = run_controller(controller, signals(kind), "numpy")
    in_torch = run_controller(controller, signals(kind), "torch")
    in_graph, traces = compiled_rates(controller, kind)
    np.testing.assert_allclose(in_torch, reference, rtol=1e-12)
    # float32 in TensorFlow; the loss-trend rate compounds a factor each step.
    np.testing.assert_allclose(in_graph, reference, rtol=2e-5)
    assert traces == 1
    assert np.ptp(reference) > 0  # the rate really moved


def test_gradient_norm_controller_is_the_seed_rule_without_smoothing():
    rates = run_controller(GradientNormController(0.1), {"grad_norm": [0.0, 5e-4, 2.0, 50.0]})
    np.testing.assert_allclose(rates, [0.11, 0.11, 0.09, 0.01])
    smoothed = run_controller(GradientNormController(0.1, smoothing=0.5),
                              {"grad_norm": [2.0, 6.0]})
    np.testing.assert_allclose(smoothed, [0.1 - 0.005 * 2.0, 0.1 - 0.005 * 4.0])


def test_loss_trend_waits_for_a_full_window_then_moves_with_the_trend():
    controller = LossTrendController(0.1, window=4, max_lr=0.11, min_lr=0.09)
    falling = run_controller(controller, {"loss": [4.0, 3.0, 2.0, 1.0, 0.5, 0.4, 0.3]})
    np.testing.assert_allclose(falling[:3], 0.1)
    np.testing.assert_allclose(falling[3:], [0.105, 0.11, 0.11, 0.11])  # up, then capped
    rising = run_controller(controller, {"loss": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]})
    np.testing.assert_allclose(rising, [0.1, 0.1, 0.1, 0.095, 0.09025, 0.09])  # down, then floored


def test_cyclical_loss_controller_is_the_schedule_times_the_factor_below_threshold():
    schedule = schedules.cyclical(0.1, 0.5, step_size=2)
    controller = CyclicalLossController(schedule, loss_threshold=1.0, factor=2.0)
    losses = [3.0, 0.5, 3.0, 0.5, 0.5]
    expected = schedule(np.arange(5)) * np.where(np.array(losses) < 1.0, 2.0, 1.0)
    np.testing.assert_allclose(run_controller(controller, {"loss": losses}), expected)


@pytest.mark.parametrize("make, error, words", [
    (lambda: GradientNormController(0.1, min_lr=0.2), ValueError, "`min_lr` must be <="),
    (lambda: GradientNormController(0.1, smoothing=1.0), ValueError,
     "`smoothing` must be a number in [0, 1)"),
    (lambda: GradientNormController("0.1"), TypeError, "`base_lr`"),
    (lambda: LossTrendController(0.1, window=5), ValueError, "`window` must be even"),
    (lambda: LossTrendController(0.1, increase=0.9), ValueError, "`increase` must be >= 1"),
    (lambda: LossTrendController(2.0), ValueError, "[min_lr, max_lr]"),
    (lambda: CyclicalLossController(0.1), TypeError, "`schedule` must be a function"),
    (lambda: CyclicalLossController(schedules.constant(0.1), factor=0), ValueError, "`factor`"),
    (lambda: backend_ops("jax"), ValueError, "`backend`"),
    (lambda: GradientNormController(0.1).init("numpy"), TypeError, "`ops` must come from"),
    (lambda: run_controller(GradientNormController(0.1), {"loss": [1.0]}), ValueError,
     "`grad_norm` is required"),
    (lambda: run_controller(LossTrendController(0.1), {"loss": [1.0, float("nan")]}), ValueError,
     "must be finite"),
    (lambda: run_controller(LossTrendController(0.1), {"loss": [1.0], "grad_norm": []}),
     ValueError, "same length"),
])
def test_controllers_refuse_bad_arguments(make, error, words):
    with pytest.raises(error) as info:
        make()
    assert words in str(info.value)


def test_controller_in_a_torch_loop_sets_the_rate_each_update_uses():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    controller = GradientNormController(0.1, slope=0.01, min_lr=0.001)
    ops = backend_ops("torch")
    state = controller.init(ops)
    used, norms = [], []
    optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: used.append(opt.param_groups[0]["lr"]))
    x, y = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(5):
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        norm = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
        norms.append(float(norm))
        rate, state = controller.update(state, ops, grad_norm=norm)
        for group in optimizer.param_groups:
            group["lr"] = float(rate)
        optimizer.step()
    np.testing.assert_allclose(used, run_controller(controller, {"grad_norm": norms}), rtol=1e-12)


# ---------------------------------------------------------------------------------------
# The one-trace rule


def test_a_rate_held_in_a_variable_traces_once_a_python_float_every_time():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    optimizer = keras.optimizers.SGD(0.1)
    optimizer.build(model.trainable_variables)
    traces = {"variable": 0, "float": 0}

    @tf.function
    def step_with_variable(x, y, rate):
        traces["variable"] += 1
        optimizer.learning_rate.assign(rate)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((model(x) - y) ** 2)
        optimizer.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                                      model.trainable_variables, strict=True))

    @tf.function
    def step_with_float(x, y, rate):
        traces["float"] += 1
        optimizer.learning_rate.assign(rate)

    rates = schedules.cosine_decay(0.1, 8)(np.arange(8))
    for rate in rates:
        step_with_variable(X, Y, tf.constant(rate, tf.float32))
        step_with_float(X, Y, float(rate))
    assert traces == {"variable": 1, "float": len(set(rates.tolist()))}
    assert float(optimizer.learning_rate) == pytest.approx(rates[-1], rel=1e-6)


def test_plot_learning_rates_draws_each_column_and_refuses_bad_input():
    ax = plot_learning_rates({"a": [0.1, 0.2], "b": [0.3, 0.4]}, steps=[5, 6])
    assert [line.get_xdata().tolist() for line in ax.get_lines()] == [[5, 6], [5, 6]]
    with pytest.raises(ValueError, match="`steps` has 3 entries"):
        plot_learning_rates({"a": [0.1, 0.2]}, steps=[1, 2, 3])
    with pytest.raises(TypeError, match="`history` must be a mapping"):
        plot_learning_rates([0.1, 0.2])
    with pytest.raises(ValueError, match="must not be empty"):
        plot_learning_rates({})


def test_logger_first_records_the_rate_used_even_when_a_callback_sets_it_after_the_batch():
    class SetAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(0.01 * (batch + 2))

    model = linear_model()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
    logger = LearningRateLogger()
    model.fit(X, Y, batch_size=4, epochs=1, verbose=0, shuffle=False,
              callbacks=[logger, SetAfter()])
    np.testing.assert_allclose(logger.history["learning_rate"], [0.5, 0.02, 0.03], rtol=1e-6)


def test_logger_order_matters_only_against_a_batch_end_setter():
    # The documented limit: after a callback that sets the next batch's rate at batch end,
    # the logger reads that next rate. Before or after BatchLearningRateScheduler, it is right.
    class SetAfter(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.model.optimizer.learning_rate.assign(0.01 * (batch + 2))

    schedule = schedules.linear_warmup(0.3, warmup_steps=4)
    runs = {}
    for name, make in (("setter first", lambda logger: [SetAfter(), logger]),
                       ("scheduler first", lambda logger: [
                           BatchLearningRateScheduler(schedule), logger]),
                       ("logger first", lambda logger: [
                           logger, BatchLearningRateScheduler(schedule)])):
        model = linear_model()
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        logger = LearningRateLogger()
        model.fit(X, Y, batch_size=4, epochs=2, verbose=0, shuffle=False, callbacks=make(logger))
        runs[name] = logger.history["learning_rate"]
    np.testing.assert_allclose(runs["setter first"], [0.02, 0.03, 0.04] * 2, rtol=1e-6)  # wrong
    for name in ("scheduler first", "logger first"):
        np.testing.assert_allclose(runs[name], schedule(np.arange(6)), rtol=1e-6)


def test_a_plain_function_and_an_lrcourse_schedule_give_the_same_rates():
    # An lrcourse schedule is evaluated once per epoch for all its steps; a plain function per
    # batch. Both must follow the global step.
    schedule = schedules.one_cycle(0.3, 12)
    columns = []
    for fn in (schedule, lambda step: float(schedule(step))):
        model = linear_model()
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
        logger = LearningRateLogger()
        model.fit(X, Y, batch_size=4, epochs=4, verbose=0, shuffle=False,
                  callbacks=[logger, BatchLearningRateScheduler(fn)])
        columns.append(logger.history["learning_rate"])
    np.testing.assert_allclose(columns[0], schedule(np.arange(12)), rtol=1e-6)
    np.testing.assert_array_equal(columns[0], columns[1])


# ---------------------------------------------------------------------------------------
# BatchLearningRateScheduler with mixed precision and other dtypes

X_MIXED = np.random.default_rng(0).normal(size=(12, 3)).astype("float32")
Y_MIXED = (X_MIXED @ np.array([[1.0], [-2.0], [0.5]])).astype("float32")


@pytest.fixture
def mixed_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    yield
    keras.mixed_precision.set_global_policy("float32")


def mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(4),
                             keras.layers.Dense(1, dtype="float32")])


def test_the_rate_is_written_to_the_variable_keras_reads():
    model = mlp()
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    schedule = schedules.cyclical(0.01, 0.2, step_size=3)
    callback = BatchLearningRateScheduler(schedule)
    logger = LearningRateLogger()
    model.fit(X_MIXED, Y_MIXED, batch_size=4, epochs=3, verbose=0, shuffle=False,
              callbacks=[logger, callback])
    # the state fit started: one writer (TensorFlow's assign op, not Keras's) per schedule
    [(write, fn)] = callback._targets
    assert fn is schedule and write != model.optimizer.learning_rate.assign
    assert callback._epoch_start == 6 and not callback._step_each_batch  # the 3rd epoch's
    # Keras's own view of the variable and the rate the updates used: the float32 schedule.
    expected = np.float32(schedule(np.arange(9)))
    np.testing.assert_array_equal(np.float32(logger.history["learning_rate"]), expected)
    assert float(model.optimizer.learning_rate) == expected[-1]


def test_the_direct_writer_sets_the_value_in_the_variables_dtype():
    from lrcourse.keras_utils import _rate_writer

    for dtype in ("float32", "float64"):
        variable = keras.Variable(1.0, dtype=dtype)
        write = _rate_writer(variable)
        assert write != variable.assign  # the TensorFlow backend's direct write
        write(0.1)
        assert variable.dtype == dtype
        assert float(variable.numpy()) == float(np.dtype(dtype).type(0.1))


def test_mixed_precision_sets_the_wrapped_optimizer_at_its_own_step(mixed_float16):
    model = mlp()
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.optimizer.inner_optimizer.learning_rate.dtype == "float32"
    schedule = schedules.linear_warmup(0.05, warmup_steps=7)
    logger = LearningRateLogger()
    model.fit(X_MIXED, Y_MIXED, batch_size=4, epochs=3, verbose=0, shuffle=False,
              callbacks=[logger, BatchLearningRateScheduler(schedule)])
    steps = np.asarray(logger.steps)
    # The first batches overflow at the initial loss scale: their updates are skipped and
    # the step does not advance (so counting batches would run ahead of the step).
    assert len(np.unique(steps)) < len(steps)
    applied = np.flatnonzero(np.diff(np.concatenate([[-1], steps])) == 1)
    assert len(applied) == int(model.optimizer.iterations) >= 3
    np.testing.assert_array_equal(np.float32(logger.history["learning_rate"])[applied],
                                  np.float32(schedule(steps[applied])))


def test_a_plain_function_and_a_float64_rate():
    keras.config.set_floatx("float64")
    try:
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
        assert model.optimizer.learning_rate.dtype == "float64"
        logger = LearningRateLogger()
        model.fit(X_MIXED, Y_MIXED, batch_size=4, epochs=2, verbose=0, shuffle=False,
                  callbacks=[logger, BatchLearningRateScheduler(lambda step: 0.1 / (step + 1))])
    finally:
        keras.config.set_floatx("float32")
    assert logger.history["learning_rate"] == [np.float32(0.1 / (step + 1)) for step in range(6)]


def test_mixed_precision_refuses_a_schedule_inside_the_loss_scale_optimizer(mixed_float16):
    model = mlp()
    decay = keras.optimizers.schedules.ExponentialDecay(0.2, 2, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(decay), loss="mse")
    with pytest.raises(ValueError, match="already has a LearningRateSchedule"):
        model.fit(X_MIXED, Y_MIXED, verbose=0,
                  callbacks=[BatchLearningRateScheduler(schedules.constant(0.1))])
