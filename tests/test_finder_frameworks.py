"""find_lr in PyTorch and Keras: it sweeps what it says and restores everything, bit for bit,
after a normal end, a divergence, a NaN and an exception raised inside the sweep."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import copy
import random

import keras
import numpy as np
import pytest
import tensorflow as tf
import torch

from lrcourse import keras_utils, torch_utils
from lrcourse.finder import sweep_rates

torch.set_num_threads(1)
SCENARIOS = ["completed", "diverged", "non_finite", "exception"]
SWEEPS = {"completed": (1e-5, 1e-3), "diverged": (1e-4, 1e6), "non_finite": (1e-5, 1e-3),
          "exception": (1e-5, 1e-3)}
NAN_STEP, RAISE_STEP = 6, 7


# --------------------------------------------------------------------------- PyTorch

def torch_setup():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16),
                                torch.nn.ReLU(), torch.nn.Dropout(0.3), torch.nn.Linear(16, 3))
    optimizer = torch.optim.Adam([
        {"params": model[0].parameters(), "lr": 0.01},
        {"params": list(model[1].parameters()) + list(model[4].parameters()), "lr": 0.001},
    ])
    x, y = torch.randn(96, 8), torch.randint(0, 3, (96,))
    for _ in range(3):  # give Adam a state: moments and step counts
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x[:32]), y[:32]).backward()
        optimizer.step()
    model[3].eval()  # a mixed train/eval state the finder must give back as it found it
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16,
                                         shuffle=True)
    return model, optimizer, loader


def torch_state(model, optimizer):
    return {
        "weights": {k: v.clone() for k, v in model.state_dict().items()},
        "optimizer": copy.deepcopy(optimizer.state_dict()),  # the live dict holds live tensors
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "modes": [m.training for m in model.modules()],
        "rng": (torch.get_rng_state().clone(), np.random.get_state()[1].copy(),
                random.getstate()),
    }


def same(a, b):
    """Bitwise equality of nested tensors, arrays and plain values."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and a.device == b.device \
            and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


class Boom(RuntimeError):
    pass


def run_torch(scenario, model, optimizer, loader, seen=None):
    calls = []

    def loss_fn(outputs, targets):
        calls.append([group["lr"] for group in optimizer.param_groups])
        if seen is not None:
            seen.append(calls[-1])
        loss = torch.nn.functional.cross_entropy(outputs, targets)
        if scenario == "non_finite" and len(calls) == NAN_STEP:
            return loss * float("nan")
        if scenario == "exception" and len(calls) == RAISE_STEP:
            raise Boom("raised inside the sweep")
        return loss

    start, end = SWEEPS[scenario]
    return torch_utils.find_lr(model, optimizer, loss_fn, loader, start_lr=start, end_lr=end,
                               num_steps=40)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_torch_find_lr_restores_everything_bit_for_bit(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, optimizer, loader = torch_setup()
    before = torch_state(model, optimizer)
    if scenario == "exception":
        with pytest.raises(Boom):
            run_torch(scenario, model, optimizer, loader)
    else:
        result = run_torch(scenario, model, optimizer, loader)
        assert result.stop_reason == scenario
        if scenario == "non_finite":
            assert len(result.losses) == NAN_STEP and np.isnan(result.losses[-1])
    after = torch_state(model, optimizer)
    for key in before:
        assert same(before[key], after[key]), f"{key} was not restored after {scenario}"
    assert list(tmp_path.iterdir()) == [], "the finder wrote files"


def test_torch_restore_check_can_fail():
    """The comparison used above notices one changed bit of state."""
    model, optimizer, _ = torch_setup()
    before = torch_state(model, optimizer)
    optimizer.param_groups[1]["lr"] = 0.002
    assert not same(before["optimizer"], torch_state(model, optimizer)["optimizer"])
    model[0].bias.data[0] += 1e-7
    assert not same(before["weights"], torch_state(model, optimizer)["weights"])


def test_torch_sweep_keeps_the_group_ratio_and_records_the_rate_used():
    model, optimizer, loader = torch_setup()
    seen = []
    result = run_torch("completed", model, optimizer, loader, seen=seen)
    np.testing.assert_allclose(result.lrs, sweep_rates(1e-5, 1e-3, 40), rtol=1e-12)
    np.testing.assert_allclose([b / a for a, b in seen], 0.1, rtol=1e-12)
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, 0.001]


def test_torch_records_each_batch_own_loss():
    torch.manual_seed(1)
    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    x, y = torch.randn(12, 4), torch.tensor([0, 1] * 6)
    loader = [(x[:6], y[:6]), (x[6:], y[6:])]
    expected = torch.nn.functional.cross_entropy(model(x[:6]), y[:6]).item()
    result = torch_utils.find_lr(model, optimizer, torch.nn.functional.cross_entropy, loader,
                                 start_lr=1e-9, end_lr=1e-8, num_steps=5)
    assert result.losses[0] == pytest.approx(expected, rel=1e-7)
    assert result.losses.size == 5  # the two-batch loader was cycled


class Untouchable(torch.utils.data.Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, index):
        raise AssertionError("the finder touched the data before checking its arguments")


@pytest.mark.parametrize("overrides, words", [
    ({"start_lr": 1.0, "end_lr": 0.1}, "`start_lr` must be < `end_lr`"),
    ({"num_steps": 1}, "`num_steps` must be an integer >= 2"),
    ({"start_lr": 0.0}, "`start_lr` must be a finite number > 0"),
    ({"mode": "log"}, "`mode` must be one of"),
    ({"loader": []}, "`train_loader` is empty"),
    ({"suggestion": "best"}, "`suggestion` must be one of"),
])
def test_torch_bad_arguments_raise_before_the_model_is_touched(overrides, words):
    model, optimizer, _ = torch_setup()
    before = torch_state(model, optimizer)
    loader = overrides.pop("loader", torch.utils.data.DataLoader(Untouchable(), batch_size=2))
    with pytest.raises(ValueError, match=words):
        torch_utils.find_lr(model, optimizer, torch.nn.functional.cross_entropy, loader,
                            **overrides)
    assert all(same(before[k], v) for k, v in torch_state(model, optimizer).items())


def test_torch_zero_group_rate_is_a_value_error():
    model, optimizer, loader = torch_setup()
    optimizer.param_groups[1]["lr"] = 0.0
    with pytest.raises(ValueError, match="learning rate > 0"):
        torch_utils.find_lr(model, optimizer, torch.nn.functional.cross_entropy, loader)


# --------------------------------------------------------------------------- Keras

def keras_setup(multi=False):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(16, name="features"),
        keras.layers.BatchNormalization(),
        keras.layers.Activation("relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(3, name="classifier"),
    ], name="net")
    if multi:
        optimizer = keras_utils.multi_optimizer(model, {"features": 0.1},
                                                keras.optimizers.Adam(0.01, name="adam"))
    else:
        optimizer = keras.optimizers.Adam(0.01)
    model.compile(optimizer=optimizer,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(96, 8)).astype("float32")
    y = rng.integers(0, 3, 96)
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # iterations = 3, moments non-zero
    return model, x, y


def keras_state(model):
    from keras.src.random.seed_generator import global_seed_generator

    return {
        "model": [v.numpy().copy() for v in model.variables],
        "optimizer": [v.numpy().copy() for v in model.optimizer.variables],
        "seed": global_seed_generator().state.numpy().copy(),
        "rng": (np.random.get_state()[1].copy(), random.getstate()),
    }


def dataset(x, y, scenario):
    """A tf.data pipeline whose batch NAN_STEP holds NaN inputs, or which raises at RAISE_STEP."""

    def batches():
        for step in range(1000):
            start = (step * 16) % len(x)
            xb, yb = x[start:start + 16].copy(), y[start:start + 16]
            if scenario == "non_finite" and step == NAN_STEP - 1:
                xb[:] = np.nan
            if scenario == "exception" and step == RAISE_STEP - 1:
                raise Boom("raised inside the sweep")
            yield xb, yb

    signature = (tf.TensorSpec((None, 8), tf.float32), tf.TensorSpec((None,), tf.int64))
    return tf.data.Dataset.from_generator(batches, output_signature=signature)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_keras_find_lr_restores_everything_bit_for_bit(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model, x, y = keras_setup()
    before = keras_state(model)
    assert int(model.optimizer.iterations) == 3
    start, end = SWEEPS[scenario]
    data = dataset(x, y, scenario)
    if scenario == "exception":
        with pytest.raises(Exception, match="raised inside the sweep"):
            keras_utils.find_lr(model, data, start_lr=start, end_lr=end, num_steps=40)
    else:
        result = keras_utils.find_lr(model, data, start_lr=start, end_lr=end, num_steps=40)
        assert result.stop_reason == scenario
    after = keras_state(model)
    for key in ("model", "optimizer", "seed"):
        assert len(before[key]) == len(after[key])
        assert all(a.dtype == b.dtype and np.array_equal(a, b)
                   for a, b in zip(before[key], after[key], strict=True)), key
    assert np.array_equal(before["rng"][0], after["rng"][0])
    assert before["rng"][1] == after["rng"][1]
    assert list(tmp_path.iterdir()) == []


def test_keras_restore_check_can_fail():
    model, x, y = keras_setup()
    before = keras_state(model)
    model.fit(x[:16], y[:16], verbose=0)
    after = keras_state(model)
    assert not all(np.array_equal(a, b) for a, b in zip(before["optimizer"], after["optimizer"],
                                                         strict=True))


def test_keras_multi_optimizer_keeps_its_ratio_and_is_restored():
    model, x, y = keras_setup(multi=True)
    before = keras_state(model)
    result = keras_utils.find_lr(model, x, y, batch_size=16, start_lr=1e-5, end_lr=1e-3,
                                 num_steps=12)
    first = model.optimizer.optimizers[0]
    assert first.name == "adam_x0.1"  # the sweep's reference: the first sub-optimizer
    np.testing.assert_allclose(result.lrs, sweep_rates(1e-5, 1e-3, 12), rtol=1e-6)
    assert all(np.array_equal(a, b) for a, b in zip(before["optimizer"],
                                                     keras_state(model)["optimizer"],
                                                     strict=True))
    assert [round(keras_utils.learning_rate_at(o), 6) for o in model.optimizer.optimizers] \
        == [0.001, 0.01]


def test_keras_records_each_batch_own_loss_not_a_running_mean():
    model, x, y = keras_setup()
    model.layers[3].rate = 0.0  # no dropout, so the loss can be recomputed exactly
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    ds = dataset(x, y, "completed")
    first = float(loss(y[:16], model(x[:16], training=True)))
    result = keras_utils.find_lr(model, ds, start_lr=1e-9, end_lr=1e-8, num_steps=4)
    assert result.losses[0] == pytest.approx(first, rel=1e-5)
    second = float(loss(y[16:32], model(x[16:32], training=True)))
    assert result.losses[1] == pytest.approx(second, rel=1e-4)  # not (first + second) / 2


@pytest.mark.parametrize("overrides, words", [
    ({"start_lr": 1.0, "end_lr": 0.1}, "`start_lr` must be < `end_lr`"),
    ({"num_steps": 1}, "`num_steps` must be an integer >= 2"),
    ({"end_lr": -1.0}, "`end_lr` must be a finite number > 0"),
    ({"mode": "log"}, "`mode` must be one of"),
    ({"x": np.zeros((0, 8), "float32"), "y": np.zeros(0)}, "at least one"),
    ({"x": tf.data.Dataset.from_tensor_slices((np.zeros((0, 8)), np.zeros(0))).batch(4),
      "y": None}, "empty tf.data.Dataset"),
    ({"x": tf.data.Dataset.from_tensor_slices((np.zeros((8, 8)), np.zeros(8)))
      .filter(lambda inputs, target: False).batch(4), "y": None}, "empty tf.data.Dataset"),
])
def test_keras_bad_arguments_raise_before_the_model_is_touched(overrides, words):
    model, x, y = keras_setup()
    before = keras_state(model)
    arguments = {"x": x, "y": y, **overrides}
    with pytest.raises(ValueError, match=words):
        keras_utils.find_lr(model, arguments.pop("x"), arguments.pop("y"), **arguments)
    after = keras_state(model)
    assert all(np.array_equal(a, b) for a, b in zip(before["model"] + before["optimizer"],
                                                     after["model"] + after["optimizer"],
                                                     strict=True))


def test_keras_schedule_is_refused_with_a_clear_type_error():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    with pytest.raises(TypeError, match="learning-rate schedule"):
        keras_utils.find_lr(model, np.zeros((4, 2)), np.zeros((4, 1)))


def test_keras_callable_rate_is_refused_like_a_schedule():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lambda: 0.1), loss="mse")
    with pytest.raises(TypeError, match="learning-rate schedule \\(or a callable rate\\)"):
        keras_utils.find_lr(model, np.zeros((4, 2)), np.zeros((4, 1)))


def test_keras_loss_includes_the_regularisation_losses():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(
        2, kernel_regularizer=keras.regularizers.L2(10.0))])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    x, y = np.ones((8, 4), "float32"), np.zeros((8, 2), "float32")
    expected = float(keras.ops.mean((model(x) - y) ** 2)) + float(sum(model.losses))
    result = keras_utils.find_lr(model, x, y, batch_size=8, start_lr=1e-9, end_lr=1e-8,
                                 num_steps=2)
    assert result.losses[0] == pytest.approx(expected, rel=1e-5)


def test_torch_optimizer_with_a_scheduler_attached_is_restored():
    model, optimizer, loader = torch_setup()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    before = torch_state(model, optimizer)
    scheduler_before = copy.deepcopy(scheduler.state_dict())
    run_torch("diverged", model, optimizer, loader)
    assert same(before["optimizer"], torch_state(model, optimizer)["optimizer"])
    assert scheduler.state_dict() == scheduler_before
