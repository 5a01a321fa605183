"""The Keras and PyTorch adapters: the rate an optimizer actually uses is the schedule."""

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from lrcourse import schedules as S  # noqa: E402
from lrcourse.keras_utils import LrcourseSchedule, as_keras_schedule, learning_rate_at  # noqa: E402
from lrcourse.torch_utils import as_lambda_lr  # noqa: E402

pytestmark = pytest.mark.xdist_group("frameworks")

SCHEDULES = {
    "warmup_cosine": S.warmup_cosine(0.2, total_steps=30, warmup_steps=5, final_lr=0.01),
    "one_cycle": S.one_cycle(0.5, total_steps=40),
    "piecewise": S.piecewise_constant([7, 19], [0.1, 0.05, 0.01]),
    "join": S.join([S.constant(0.05), S.cyclical(0.01, 0.2, 4)], [10]),
}
BATCH, NUM_BATCHES, EPOCHS = 8, 5, 8  # 40 optimizer steps


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(BATCH * NUM_BATCHES, 3)).astype("float32")
    return x, (x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32"))


class RecordRate(keras.callbacks.Callback):
    """The rate the optimizer will use for the coming batch, read from the optimizer."""

    def on_train_begin(self, logs=None):
        self.rates, self.steps = [], []

    def on_train_batch_begin(self, batch, logs=None):
        self.steps.append(int(self.model.optimizer.iterations.numpy()))
        self.rates.append(learning_rate_at(self.model.optimizer))


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_keras_fit_uses_the_schedule_at_every_step(name):
    schedule = SCHEDULES[name]
    x, y = tiny_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(as_keras_schedule(schedule)), loss="mse")
    recorder = RecordRate()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=[recorder])
    assert recorder.steps == list(range(NUM_BATCHES * EPOCHS))
    np.testing.assert_allclose(recorder.rates, schedule(np.arange(40)), rtol=1e-6)


def test_keras_update_size_is_the_scheduled_rate():
    """Not only what the optimizer reports: the step it takes is rate * gradient."""
    schedule = S.exponential_decay(0.1, 0.5, 1)
    variable = keras.Variable(np.zeros(2, dtype="float32"))
    optimizer = keras.optimizers.SGD(as_keras_schedule(schedule))
    gradient = np.ones(2, dtype="float32")
    for step in range(4):
        before = variable.numpy().copy()
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), variable)])
        np.testing.assert_allclose(before - variable.numpy(), schedule(step), rtol=1e-6)


def test_keras_model_with_the_schedule_survives_save_and_load(tmp_path):
    schedule = SCHEDULES["join"]
    x, y = tiny_data()
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(as_keras_schedule(schedule)), loss="mse")
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, LrcourseSchedule)
    assert restored.get_config() == {"spec": schedule.spec()}
    assert int(loaded.optimizer.iterations.numpy()) == 10
    assert learning_rate_at(loaded.optimizer) == pytest.approx(schedule(10), rel=1e-6)
    loaded.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)
    assert learning_rate_at(loaded.optimizer) == pytest.approx(schedule(15), rel=1e-6)


def test_keras_config_round_trip_through_serialize():
    wrapped = as_keras_schedule(SCHEDULES["one_cycle"].spec())
    copy = keras.optimizers.schedules.deserialize(keras.optimizers.schedules.serialize(wrapped))
    steps = np.arange(60)
    np.testing.assert_allclose([float(copy(s)) for s in steps], SCHEDULES["one_cycle"](steps),
                               rtol=1e-6)


@pytest.mark.parametrize("bad", [lambda step: 0.1, 0.1, "cosine", None])
def test_as_keras_schedule_refuses_what_keras_cannot_save(bad):
    with pytest.raises(TypeError, match="`fn_or_spec` must be a schedule from lrcourse"):
        as_keras_schedule(bad)


def test_as_keras_schedule_validates_a_spec():
    with pytest.raises(ValueError, match="decay_steps=0"):
        as_keras_schedule({"name": "cosine_decay", "config": {"initial_lr": 0.1,
                                                              "decay_steps": 0}})


def test_learning_rate_at_refuses_a_torch_optimizer():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    with pytest.raises(TypeError, match="`optimizer` must be a keras.optimizers.Optimizer"):
        learning_rate_at(optimizer)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_torch_loop_uses_the_schedule_at_every_step_in_every_group(name):
    schedule = SCHEDULES[name]
    torch.manual_seed(0)
    x, y = (torch.from_numpy(a) for a in tiny_data())
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD([{"params": [model.weight]},
                                 {"params": [model.bias], "lr": 0.25}], lr=1.0)
    scheduler = as_lambda_lr(optimizer, schedule)
    used = []
    for _ in range(EPOCHS):
        for batch in range(NUM_BATCHES):
            xb, yb = x[batch * BATCH:(batch + 1) * BATCH], y[batch * BATCH:(batch + 1) * BATCH]
            loss = torch.nn.functional.mse_loss(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            used.append([group["lr"] for group in optimizer.param_groups])
            optimizer.step()
            scheduler.step()
    used = np.asarray(used)
    np.testing.assert_allclose(used[:, 0], schedule(np.arange(40)), rtol=1e-12)
    np.testing.assert_allclose(used[:, 1], 0.25 * used[:, 0], rtol=1e-12)  # ratio kept


def test_torch_update_size_is_the_scheduled_rate():
    schedule = S.cosine_decay(0.3, 5)
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.3)
    scheduler = as_lambda_lr(optimizer, schedule)
    for step in range(7):
        before = parameter.detach().clone()
        parameter.grad = torch.ones(1)
        optimizer.step()
        scheduler.step()
        assert float(before - parameter.detach()) == pytest.approx(schedule(step), rel=1e-6)


@pytest.mark.parametrize("optimizer, schedule, error, words", [
    ("not an optimizer", S.constant(0.1), TypeError, "`optimizer` must be a torch.optim"),
    (None, S.constant(0.1), TypeError, "Received: None (NoneType)"),
    ("sgd", 0.1, TypeError, "`schedule` must be a function of the step. Received: 0.1"),
    ("sgd-zero", S.constant(0.1), ValueError, "must have a learning rate > 0"),
])
def test_as_lambda_lr_bad_input(optimizer, schedule, error, words):
    if optimizer in ("sgd", "sgd-zero"):
        lr = 0.0 if optimizer == "sgd-zero" else 0.1
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        as_lambda_lr(optimizer, schedule)


# ---------------------------------------------------------------------------------------
# as_lambda_lr over many steps: exact rates, state_dict, a bad rate

LONG_SCHEDULES = [
    S.exponential_decay(0.3, 0.7, decay_steps=7),
    S.inverse_time_decay(0.2, 0.5, decay_steps=3, staircase=True),
    S.polynomial_decay(1.0, 300, final_lr=0.01, power=2.0),
    S.warmup_cosine(0.5, total_steps=700, warmup_steps=50, final_lr=0.01),
    S.cosine_restarts(1.0, 13, t_mul=1.5, m_mul=0.9, alpha=0.05),
    S.cyclical(0.1, 0.5, step_size=11, mode="exp_range", gamma=0.999),
    S.one_cycle(0.5, 1000),
    S.join([S.linear_warmup(1.0, 10), S.exponential_decay(1.0, 0.5, 100)], [10]),
]


def sgd(lr=1.0):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)


@pytest.mark.parametrize("schedule", LONG_SCHEDULES, ids=lambda s: s.name)
def test_as_lambda_lr_gives_the_exact_rate_at_every_step(schedule):
    optimizer = sgd(0.5)
    scheduler = as_lambda_lr(optimizer, schedule)
    used = []
    for _ in range(600):
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
# The private framework internals the adapters use, each behind one helper: these tests pin
# what each gives in the pinned Keras and PyTorch, so an upgrade that moves one fails here.

from lrcourse import keras_utils, torch_utils  # noqa: E402


def test_keras_rate_setting_is_what_the_optimizer_was_given():
    fixed = keras.optimizers.SGD(0.1)
    assert isinstance(keras_utils._rate_setting(fixed), keras.Variable)
    assert keras_utils._rate_setting(fixed) is fixed.learning_rate
    decay = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    assert keras_utils._rate_setting(keras.optimizers.SGD(decay)) is decay

    def rate():
        return 0.1

    assert keras_utils._rate_setting(keras.optimizers.SGD(rate)) is rate


def test_keras_optimizer_choice_maps_each_variable_to_its_sub_optimizer():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3, name="body"),
                              keras.layers.Dense(1, name="head")], name="net")
    default, head = keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.01)
    optimizer = keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(default, {"net/head/kernel": head, "net/head/bias": head}))
    choose = keras_utils._optimizer_choice(optimizer)
    chosen = {variable.path: choose(variable) for variable in model.trainable_variables}
    assert chosen == {"net/body/kernel": default, "net/body/bias": default,
                      "net/head/kernel": head, "net/head/bias": head}


def test_keras_global_seed_state_is_what_unseeded_random_ops_advance():
    state = keras_utils._global_seed_state()
    assert isinstance(state, keras.Variable)
    before = state.numpy().copy()
    keras.random.normal((2,))  # no seed: Keras draws one from the global generator
    assert not np.array_equal(state.numpy(), before)
    assert keras_utils._global_seed_state() is state  # one generator for the process


def test_torch_norm_base_covers_batch_and_instance_norm_only():
    base = torch_utils._batch_and_instance_norm_base()
    for layer in (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d,
                  torch.nn.SyncBatchNorm, torch.nn.InstanceNorm1d, torch.nn.InstanceNorm2d,
                  torch.nn.LazyBatchNorm1d):
        assert issubclass(layer, base), layer
    for layer in (torch.nn.LayerNorm, torch.nn.GroupNorm, torch.nn.RMSNorm, torch.nn.Linear):
        assert not issubclass(layer, base), layer
