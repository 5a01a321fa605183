"""Per-variable and per-group rates: lrcourse.keras_utils.multi_optimizer, rate_table,
lrcourse.torch_utils.param_groups, and the same update in both frameworks."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from lrcourse import keras_utils, torch_utils  # noqa: E402
from lrcourse.schedules import exponential_decay  # noqa: E402

pytestmark = pytest.mark.xdist_group("frameworks")


def keras_net(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(3, activation="tanh", name="features")(inputs)
    return keras.Model(inputs, keras.layers.Dense(2, name="classifier")(hidden))


def batch(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 2)).astype("float32")


# ---------------------------------------------------------------------------------------
# Keras


def test_keras_optimizer_map_sends_a_bare_layer_name_to_the_default_silently():
    """The trap the lesson teaches: OptimizerMap full-matches whole paths."""
    model = keras_net()
    fast, slow = keras.optimizers.SGD(0.5), keras.optimizers.SGD(0.01)
    optimizer = keras.optimizers.MultiOptimizer(
        keras.optimizers.OptimizerMap(slow, {"classifier": fast}))
    model.compile(optimizer, "mse")
    model.fit(*batch(), batch_size=8, epochs=1, verbose=0)
    assert int(fast.iterations) == 0 and int(slow.iterations) == 1
    assert {row[2] for row in keras_utils.rate_table(model)} == {slow.name}


def test_multi_optimizer_gives_each_layer_its_rate_inside_fit():
    model = keras_net()
    x, y = batch()
    before = [v.numpy().copy() for v in model.trainable_variables]
    gradients = tf_gradients(model, x, y)
    optimizer = keras_utils.multi_optimizer(model, {"features": 0.1},
                                            keras.optimizers.SGD(0.5, name="base"))
    model.compile(optimizer, "mse")
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
    rates = {"features": 0.05, "classifier": 0.5}
    for variable, start, grad in zip(model.trainable_variables, before, gradients, strict=True):
        rate = rates[variable.path.split("/")[0]]
        np.testing.assert_allclose(start - variable.numpy(), rate * grad, rtol=1e-4,
                                   atol=1e-7, err_msg=variable.path)
    table = keras_utils.rate_table(model)
    assert [(row[0], row[2]) for row in table] == [
        ("features/kernel", "base_x0.1"), ("features/bias", "base_x0.1"),
        ("classifier/kernel", "base"), ("classifier/bias", "base")]
    assert [row[3] for row in table] == pytest.approx([0.05, 0.05, 0.5, 0.5])


def tf_gradients(model, x, y) -> list[np.ndarray]:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = keras.losses.mean_squared_error(y, model(x))
        loss = tf.reduce_mean(loss)
    return [np.array(g) for g in tape.gradient(loss, model.trainable_variables)]


def test_multi_optimizer_rules_may_be_optimizers_regexes_and_nested_layer_names():
    block = keras.Sequential([keras.layers.Dense(3, name="inner")], name="block")
    model = keras.Sequential([keras.Input((4,)), block, keras.layers.Dense(2, name="head")],
                             name="net")
    adam = keras.optimizers.Adam(1e-3, name="adam")
    optimizer = keras_utils.multi_optimizer(
        model, {"block/inner": adam, r".*/head/bias": 2.0}, keras.optimizers.SGD(0.1, name="sgd"))
    names = {row[0]: row[2] for row in keras_utils.rate_table(model, optimizer)}
    assert names == {"net/block/inner/kernel": "adam", "net/block/inner/bias": "adam",
                     "net/head/kernel": "sgd", "net/head/bias": "sgd_x2"}


def test_multi_optimizer_scales_a_schedule_and_survives_save_and_load(tmp_path):
    model = keras_net()
    default = keras.optimizers.SGD(
        keras_utils.as_keras_schedule(exponential_decay(0.4, 0.5, decay_steps=1)))
    model.compile(keras_utils.multi_optimizer(model, {"features": 0.25}, default), "mse")
    model.fit(*batch(), batch_size=4, epochs=1, verbose=0)  # two steps
    rates = [row[3] for row in keras_utils.rate_table(model)]
    assert rates == pytest.approx([0.025, 0.025, 0.1, 0.1])
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert [row[3] for row in keras_utils.rate_table(loaded)] == pytest.approx(rates)
    assert int(loaded.optimizer.iterations) == 2


def test_multi_optimizer_refuses_rules_that_match_nothing_and_lists_the_paths():
    model = keras_net()
    with pytest.raises(ValueError) as caught:
        keras_utils.multi_optimizer(model, {"dense": 0.1, "features": 0.5, "head": 2.0},
                                    keras.optimizers.SGD(0.1))
    message = str(caught.value)
    assert "rule 'dense'" in message and "rule 'head'" in message
    assert "rule 'features'" not in message
    assert "features/kernel, features/bias, classifier/kernel, classifier/bias" in message


def test_multi_optimizer_refuses_a_variable_claimed_twice_and_frozen_only_rules():
    model = keras_net()
    with pytest.raises(ValueError, match="'features/kernel' is claimed by more than one rule"):
        keras_utils.multi_optimizer(model, {"features": 0.1, ".*kernel": 2.0},
                                    keras.optimizers.SGD(0.1))
    model.get_layer("features").trainable = False
    with pytest.raises(ValueError, match="rule 'features' .* matches only names that are not "
                                         "trainable"):
        keras_utils.multi_optimizer(model, {"features": 0.1}, keras.optimizers.SGD(0.1))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "net"}, TypeError, "`model` must be a keras.Model"),
        ({"rules": ["features"]}, TypeError, "`rules` must be a dict"),
        ({"rules": {}}, ValueError, "at least one rule"),
        ({"rules": {1: 0.1}}, TypeError, "non-empty string"),
        ({"rules": {"(": 0.1}}, ValueError, "not a valid regular expression|neither"),
        ({"rules": {"features": 0.0}}, ValueError, r"rules\['features'\].* > 0"),
        ({"rules": {"features": True}}, TypeError, r"rules\['features'\]"),
        ({"rules": {"features": "fast"}}, TypeError, r"rules\['features'\]"),
        ({"default": 0.1}, TypeError, "`default` must be a plain Keras optimizer"),
        ({"verbose": "yes"}, TypeError, "`verbose`"),
    ],
)
def test_multi_optimizer_bad_arguments(kwargs, error, match):
    arguments = {"model": keras_net(), "rules": {"features": 0.1},
                 "default": keras.optimizers.SGD(0.1)} | kwargs
    with pytest.raises(error, match=match):
        keras_utils.multi_optimizer(**arguments)


def test_unbuilt_model_is_refused_with_advice():
    model = keras.Sequential([keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no trainable variables yet. Build it first"):
        keras_utils.multi_optimizer(model, {"dense": 0.1}, keras.optimizers.SGD(0.1))
    with pytest.raises(ValueError, match="not compiled"):
        keras_utils.rate_table(keras_net())


def test_learning_rate_scheduler_sets_every_sub_optimizer_to_one_absolute_rate():
    """What Keras's LearningRateScheduler does with a MultiOptimizer (taught in lesson 03)."""
    x, y = batch()
    for schedule, expected in (
        (lambda epoch, lr: lr * 0.5, [0.025, 0.25]),  # relative: the ratio survives
        (lambda epoch: 0.1 * 0.5 ** epoch, [0.05, 0.05]),  # absolute: the ratio is lost
    ):
        model = keras_net()
        model.compile(keras_utils.multi_optimizer(model, {"features": 0.1},
                                                  keras.optimizers.SGD(1.0, name="sgd")), "mse")
        history = model.fit(x, y, epochs=2, verbose=0, callbacks=[
            keras.callbacks.LearningRateScheduler(schedule)])
        assert sorted(history.history) == ["learning_rate_sgd", "learning_rate_sgd_x0.1", "loss"]
        now = [float(np.array(opt.learning_rate)) for opt in model.optimizer.optimizers]
        assert sorted(now) == pytest.approx(sorted(expected))


# ---------------------------------------------------------------------------------------
# PyTorch


def torch_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3),
                               torch.nn.Tanh(), torch.nn.Linear(3, 2))


def test_param_groups_cover_every_trainable_parameter_exactly_once():
    model = torch_net()
    groups = torch_utils.param_groups(model, {"0": 0.1, "3.weight": {"lr": 0.5}}, lr=0.01,
                                      weight_decay=0.1)
    ids = [id(p) for group in groups for p in group["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())
    assert [(g["name"], g["lr"], g["weight_decay"], len(g["params"])) for g in groups] == [
        ("0", pytest.approx(0.001), 0.1, 1), ("0 no_decay", pytest.approx(0.001), 0.0, 1),
        ("3.weight", 0.5, 0.1, 1), ("default no_decay", 0.01, 0.0, 3)]
    optimizer = torch.optim.SGD(groups)
    assert [g["name"] for g in optimizer.param_groups] == [g["name"] for g in groups]


def test_param_groups_skip_frozen_parameters_and_exclude_only_when_asked():
    model = torch_net()
    model[0].requires_grad_(False)
    groups = torch_utils.param_groups(model, {"3": 2.0}, lr=0.01)
    assert groups.frozen == ["0.weight", "0.bias"]
    assert [g["name"] for g in groups] == ["3", "default"]
    groups = torch_utils.param_groups(model, {"3": 2.0}, lr=0.01, unmatched="exclude")
    assert groups.excluded == ["1.weight", "1.bias"] and [g["name"] for g in groups] == ["3"]
    groups = torch_utils.param_groups(model, {"3": 2.0, "1": None}, lr=0.01)
    assert groups.excluded == ["1.weight", "1.bias"] and [g["name"] for g in groups] == ["3"]
    with pytest.raises(ValueError, match="no rule claims these trainable parameters: 1.weight"):
        torch_utils.param_groups(model, {"3": 2.0}, lr=0.01, unmatched="error")
    with pytest.raises(ValueError, match=r"rule '0' .* only names that are frozen"):
        torch_utils.param_groups(model, {"0": 0.1}, lr=0.01)
    summary = groups.summary()
    assert "(excluded)" in summary and "(frozen)" in summary and "0.weight" in summary


def test_param_groups_shared_parameters_appear_once():
    model = torch_net()
    model[3].weight = torch.nn.Parameter(torch.zeros(2, 3))
    tied = torch.nn.Sequential(model, torch.nn.Linear(3, 2))
    tied[1].weight = model[3].weight
    groups = torch_utils.param_groups(tied, {"0.3": 0.5}, lr=0.1)
    ids = [id(p) for g in groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(tied.parameters()))
    torch.optim.SGD(groups)  # PyTorch itself refuses a parameter in two groups


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "net"}, TypeError, "`model` must be a torch.nn.Module"),
        ({"lr": 0}, ValueError, "`lr` must be a finite number > 0"),
        ({"lr": "0.1"}, TypeError, "`lr`"),
        ({"weight_decay": -1.0}, ValueError, "`weight_decay`"),
        ({"unmatched": "drop"}, ValueError, "`unmatched`"),
        ({"no_decay": "bias"}, TypeError, "`no_decay` must be a function"),
        ({"rules": {}}, ValueError, "at least one rule"),
        ({"rules": {"0": -0.5}}, ValueError, r"rules\['0'\].* > 0"),
        ({"rules": {"0": "slow"}}, TypeError, r"rules\['0'\]` must be a learning-rate multiplier"),
        ({"rules": {"0": {"params": []}}}, ValueError, "not \\['params'\\]"),
        ({"rules": {"0": {"lr": 0.0}}}, ValueError, r"rules\['0'\]\['lr'\]"),
        ({"rules": {"default": 0.5}}, ValueError, "may not be called 'default'"),
        ({"rules": {"layer1": 0.5}}, ValueError, "rule 'layer1' in `rules` matches no trainable "
                                                 "parameter. The trainable parameters are: "
                                                 "0.weight, 0.bias"),
        ({"rules": {"0": 0.5, ".*bias": 2.0}}, ValueError, "'0.bias' is claimed by more than "
                                                           "one rule: '0', '.*bias'"),
    ],
)
def test_param_groups_bad_arguments(kwargs, error, match):
    arguments = {"model": torch_net(), "rules": {"0": 0.1}, "lr": 0.01} | kwargs
    with pytest.raises(error, match=match):
        torch_utils.param_groups(**arguments)


def test_a_scheduler_per_group():
    model = torch_net()
    optimizer = torch.optim.SGD(torch_utils.param_groups(model, {"0": 0.1}, lr=1.0))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lr_lambda=[lambda step: 0.5 ** step, lambda step: 1.0])
    for _ in range(3):
        optimizer.step()
        scheduler.step()
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([0.1 / 8, 1.0])


# ---------------------------------------------------------------------------------------
# One idea, two frameworks


def test_keras_and_torch_take_the_same_per_group_sgd_updates():
    keras_model = keras_net(seed=3)
    torch_model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(),
                                      torch.nn.Linear(3, 2))
    with torch.no_grad():
        for layer, name in ((torch_model[0], "features"), (torch_model[2], "classifier")):
            kernel, bias = keras_model.get_layer(name).get_weights()
            layer.weight.copy_(torch.from_numpy(kernel.T.copy()))
            layer.bias.copy_(torch.from_numpy(bias))
    keras_model.compile(
        keras_utils.multi_optimizer(keras_model, {"features": 0.1}, keras.optimizers.SGD(0.5)),
        "mse")
    optimizer = torch.optim.SGD(torch_utils.param_groups(torch_model, {"0": 0.1}, lr=0.5))
    x, y = batch(seed=7)
    steps = 5
    keras_model.fit(x, y, batch_size=8, epochs=steps, verbose=0, shuffle=False)
    for _ in range(steps):
        optimizer.zero_grad()
        loss = torch.nn.functional.mse_loss(torch_model(torch.from_numpy(x)), torch.from_numpy(y))
        loss.backward()
        optimizer.step()
    for layer, name in ((torch_model[0], "features"), (torch_model[2], "classifier")):
        kernel, bias = keras_model.get_layer(name).get_weights()
        np.testing.assert_allclose(layer.weight.detach().numpy().T, kernel, rtol=1e-5,
                                   atol=1e-6)
        np.testing.assert_allclose(layer.bias.detach().numpy(), bias, rtol=1e-5, atol=1e-6)
    start = keras_net(seed=3).get_layer("features").get_weights()[0]
    assert not np.allclose(start, keras_model.get_layer("features").get_weights()[0])
