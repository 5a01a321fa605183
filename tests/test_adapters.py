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
