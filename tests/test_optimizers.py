"""lrcourse.optimizers: the NumPy rules against keras.optimizers and torch.optim, step by step.

Every run feeds the same 120 gradients (two arrays of different shapes, with scales that
differ by orders of magnitude) to the NumPy rule, to Keras and to PyTorch, in float64, and
compares the parameters after every step. A second group of tests pins each difference
between the two frameworks' defaults and formulas, so a change in either one fails here.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from lrcourse import optimizers as O

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

NUM_STEPS = 120
RTOL = 1e-6
# Keras stores the rate in a float32 variable; a power of two is exact in float32, so both
# frameworks really use the same rate (test_keras_rounds_the_rate_to_float32 pins this).
LR = 2.0**-6
# Keras also computes Adam's bias corrections and SGD's momentum from float32 copies of the
# coefficients (test_keras_uses_float32_copies_of_beta_and_momentum pins this), so the parity
# runs use coefficients that float32 holds exactly.
MOMENTUM, BETA_1, BETA_2 = 0.875, 0.875, 1 - 2.0**-10


def gradient_sequence(num_steps=NUM_STEPS, seed=0):
    rng = np.random.default_rng(seed)
    scales = [np.array([[1e-3], [1.0], [30.0]]), np.array([0.05, 2.0, 1e-2, 5.0])]
    return [[rng.standard_normal((3, 4)) * scales[0] + 0.3 * scales[0],
             rng.standard_normal(4) * scales[1]] for _ in range(num_steps)]


START = [np.linspace(-1.0, 1.0, 12).reshape(3, 4), np.array([0.5, -2.0, 3.0, 0.1])]


def numpy_path(rule, grads=None):
    grads = gradient_sequence() if grads is None else grads
    params, state, path = [p.copy() for p in START], rule.init(START), []
    for g in grads:
        params, state = rule.update(params, g, state)
        path.append([p.copy() for p in params])
    return path


def keras_path(optimizer, grads=None, rates=None):
    grads = gradient_sequence() if grads is None else grads
    variables = [keras.Variable(p, dtype="float64") for p in START]
    path = []
    for step, g in enumerate(grads):
        if rates is not None:
            optimizer.learning_rate.assign(rates(step))
        tensors = [keras.ops.convert_to_tensor(gradient, dtype="float64") for gradient in g]
        optimizer.apply_gradients(zip(tensors, variables, strict=True))
        path.append([np.array(v.numpy()) for v in variables])
    return path


def torch_path(make_optimizer, grads=None, rates=None):
    grads = gradient_sequence() if grads is None else grads
    params = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in START]
    optimizer = make_optimizer(params)
    path = []
    for step, g in enumerate(grads):
        if rates is not None:
            for group in optimizer.param_groups:
                group["lr"] = rates(step)
        for p, gradient in zip(params, g, strict=True):
            p.grad = torch.tensor(gradient, dtype=torch.float64)
        optimizer.step()
        path.append([p.detach().numpy().copy() for p in params])
    return path


def max_relative_error(path_a, path_b):
    worst = 0.0
    for step_a, step_b in zip(path_a, path_b, strict=True):
        for a, b in zip(step_a, step_b, strict=True):
            worst = max(worst, float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))))
    return worst


def assert_same_path(received, expected, rtol=RTOL):
    assert len(received) == len(expected) >= 100
    for step, (a_list, b_list) in enumerate(zip(received, expected, strict=True)):
        for a, b in zip(a_list, b_list, strict=True):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=0, err_msg=f"at step {step + 1}")


# --------------------------------------------------------------------------------------
# parity: one configuration per row; (numpy rule for Keras, numpy rule for PyTorch, Keras, torch)

TO = torch.optim
KO = keras.optimizers
PARITY = {
    "sgd": (O.sgd(LR), O.sgd(LR), lambda: KO.SGD(LR), lambda p: TO.SGD(p, lr=LR)),
    "sgd momentum": (O.sgd(LR, momentum=MOMENTUM), O.sgd(LR, momentum=MOMENTUM),
                     lambda: KO.SGD(LR, momentum=MOMENTUM),
                     lambda p: TO.SGD(p, lr=LR, momentum=MOMENTUM)),
    "sgd nesterov": (O.sgd(LR, momentum=MOMENTUM, nesterov=True),
                     O.sgd(LR, momentum=MOMENTUM, nesterov=True),
                     lambda: KO.SGD(LR, momentum=MOMENTUM, nesterov=True),
                     lambda p: TO.SGD(p, lr=LR, momentum=MOMENTUM, nesterov=True)),
    "adagrad": (O.adagrad(LR, initial_accumulator_value=0.1, epsilon=1e-7,
                          epsilon_inside_sqrt=True),
                O.adagrad(LR, initial_accumulator_value=0.1, epsilon=1e-7),
                lambda: KO.Adagrad(LR, initial_accumulator_value=0.1, epsilon=1e-7),
                lambda p: TO.Adagrad(p, lr=LR, initial_accumulator_value=0.1, eps=1e-7)),
    "rmsprop": (O.rmsprop(LR, rho=0.9, epsilon=1e-7, epsilon_inside_sqrt=True),
                O.rmsprop(LR, rho=0.9, epsilon=1e-7),
                lambda: KO.RMSprop(LR, rho=0.9, epsilon=1e-7),
                lambda p: TO.RMSprop(p, lr=LR, alpha=0.9, eps=1e-7)),
    "rmsprop momentum centered": (
        O.rmsprop(LR, rho=0.95, epsilon=1e-7, momentum=0.5, centered=True,
                  epsilon_inside_sqrt=True),
        O.rmsprop(LR, rho=0.95, epsilon=1e-7, momentum=0.5, centered=True),
        lambda: KO.RMSprop(LR, rho=0.95, epsilon=1e-7, momentum=0.5, centered=True),
        lambda p: TO.RMSprop(p, lr=LR, alpha=0.95, eps=1e-7, momentum=0.5, centered=True)),
    "adam": (O.adam(LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=1e-7,
                    epsilon_before_correction=True),
             O.adam(LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=1e-7),
             lambda: KO.Adam(LR, beta_1=BETA_1, beta_2=BETA_2, epsilon=1e-7),
             lambda p: TO.Adam(p, lr=LR, betas=(BETA_1, BETA_2), eps=1e-7)),
    "adam amsgrad": (O.adam(LR, beta_1=0.75, beta_2=0.984375, amsgrad=True,
                            epsilon_before_correction=True),
                     O.adam(LR, beta_1=0.75, beta_2=0.984375, amsgrad=True),
                     lambda: KO.Adam(LR, beta_1=0.75, beta_2=0.984375, epsilon=1e-8,
                                     amsgrad=True),
                     lambda p: TO.Adam(p, lr=LR, betas=(0.75, 0.984375), amsgrad=True)),
    "adamw": (O.adamw(LR, beta_1=BETA_1, beta_2=BETA_2, weight_decay=0.5,
                      epsilon_before_correction=True),
              O.adamw(LR, beta_1=BETA_1, beta_2=BETA_2, weight_decay=0.5),
              lambda: KO.AdamW(LR, beta_1=BETA_1, beta_2=BETA_2, weight_decay=0.5, epsilon=1e-8),
              lambda p: TO.AdamW(p, lr=LR, betas=(BETA_1, BETA_2), weight_decay=0.5)),
}


@pytest.mark.parametrize("name", list(PARITY))
def test_numpy_rule_matches_keras_over_120_steps(name):
    keras_rule, _, make_keras, _ = PARITY[name]
    assert_same_path(numpy_path(keras_rule), keras_path(make_keras()))


@pytest.mark.parametrize("name", list(PARITY))
def test_numpy_rule_matches_torch_over_120_steps(name):
    _, torch_rule, _, make_torch = PARITY[name]
    assert_same_path(numpy_path(torch_rule), torch_path(make_torch))


def test_parity_is_far_tighter_than_required_in_float64():
    _, torch_rule, _, make_torch = PARITY["adam"]
    assert max_relative_error(numpy_path(torch_rule), torch_path(make_torch)) < 1e-12


def test_adam_l2_weight_decay_matches_torch_adam():
    rule = O.adam(LR, weight_decay=0.1)
    assert_same_path(numpy_path(rule), torch_path(lambda p: TO.Adam(p, lr=LR, weight_decay=0.1)))


def test_sgd_l2_weight_decay_and_dampening_match_torch():
    rule = O.sgd(LR, momentum=0.9, dampening=0.5, weight_decay=0.1)
    expected = torch_path(lambda p: TO.SGD(p, lr=LR, momentum=0.9, dampening=0.5,
                                           weight_decay=0.1))
    assert_same_path(numpy_path(rule), expected)


def test_a_schedule_as_learning_rate_matches_torch_and_keras_when_set_each_step():
    def rates(step):
        return 2.0**-5 / 2 ** (step // 30)   # powers of two: exact in float32 too

    rule = O.adam(rates, beta_1=BETA_1, beta_2=BETA_2, epsilon_before_correction=True)
    keras_run = keras_path(KO.Adam(1.0, beta_1=BETA_1, beta_2=BETA_2, epsilon=1e-8), rates=rates)
    assert_same_path(numpy_path(rule), keras_run)
    assert_same_path(numpy_path(O.adam(rates)),
                     torch_path(lambda p: TO.Adam(p, lr=1.0), rates=rates))


# --------------------------------------------------------------------------------------
# the differences, one test each


def test_default_learning_rates_differ():
    assert KO.SGD().learning_rate.numpy() == pytest.approx(0.01)
    assert TO.SGD([torch.zeros(1)]).defaults["lr"] == 0.001
    assert KO.RMSprop().learning_rate.numpy() == pytest.approx(0.001)
    assert TO.RMSprop([torch.zeros(1)]).defaults["lr"] == 0.01
    assert KO.Adagrad().learning_rate.numpy() == pytest.approx(0.001)
    assert TO.Adagrad([torch.zeros(1)]).defaults["lr"] == 0.01
    assert KO.Adam().learning_rate.numpy() == pytest.approx(0.001)
    assert TO.Adam([torch.zeros(1)]).defaults["lr"] == 0.001


def test_default_epsilons_differ():
    for keras_class in (KO.Adam, KO.AdamW, KO.RMSprop, KO.Adagrad):
        assert keras_class().epsilon == 1e-7
    assert TO.Adam([torch.zeros(1)]).defaults["eps"] == 1e-8
    assert TO.AdamW([torch.zeros(1)]).defaults["eps"] == 1e-8
    assert TO.RMSprop([torch.zeros(1)]).defaults["eps"] == 1e-8
    assert TO.Adagrad([torch.zeros(1)]).defaults["eps"] == 1e-10


def test_rmsprop_default_decay_differs():
    assert KO.RMSprop().rho == 0.9
    assert TO.RMSprop([torch.zeros(1)]).defaults["alpha"] == 0.99
    # the two out-of-the-box runs drift apart by far more than any rounding
    keras_default = keras_path(KO.RMSprop(LR))
    torch_default = torch_path(lambda p: TO.RMSprop(p, lr=LR))
    assert max_relative_error(keras_default, torch_default) > 1e-2


def test_adagrad_default_initial_accumulator_differs():
    assert KO.Adagrad().initial_accumulator_value == 0.1
    assert TO.Adagrad([torch.zeros(1)]).defaults["initial_accumulator_value"] == 0
    # PyTorch's first step is lr * sign(g) for every weight; Keras's is damped by 0.1
    tiny = [[np.full((3, 4), 1e-3), np.full(4, 1e-3)]]
    first_torch = torch_path(lambda p: TO.Adagrad(p, lr=LR), grads=tiny)[0]
    first_keras = keras_path(KO.Adagrad(LR), grads=tiny)[0]
    np.testing.assert_allclose(START[1] - first_torch[1], LR, rtol=1e-6)
    assert np.all(np.abs(START[1] - first_keras[1]) < 0.01 * LR)


def test_rmsprop_and_adagrad_put_epsilon_inside_the_root_in_keras():
    grads = [[g * 1e-3 for g in step] for step in gradient_sequence()]
    for numpy_rule, make_keras, make_torch in (
        (lambda inside: O.rmsprop(LR, rho=0.9, epsilon=1e-4, epsilon_inside_sqrt=inside),
         lambda: KO.RMSprop(LR, rho=0.9, epsilon=1e-4),
         lambda p: TO.RMSprop(p, lr=LR, alpha=0.9, eps=1e-4)),
        (lambda inside: O.adagrad(LR, epsilon=1e-4, epsilon_inside_sqrt=inside),
         lambda: KO.Adagrad(LR, initial_accumulator_value=0.0, epsilon=1e-4),
         lambda p: TO.Adagrad(p, lr=LR, eps=1e-4)),
    ):
        keras_run, torch_run = keras_path(make_keras(), grads), torch_path(make_torch, grads)
        assert max_relative_error(keras_run, torch_run) > 1e-3
        assert_same_path(numpy_path(numpy_rule(True), grads), keras_run)
        assert_same_path(numpy_path(numpy_rule(False), grads), torch_run)


def test_adam_adds_epsilon_before_bias_correction_in_keras():
    grads = [[g * 1e-4 for g in step] for step in gradient_sequence()]
    betas = {"beta_1": BETA_1, "beta_2": BETA_2}
    keras_run = keras_path(KO.Adam(LR, epsilon=1e-5, **betas), grads)
    torch_run = torch_path(lambda p: TO.Adam(p, lr=LR, betas=(BETA_1, BETA_2), eps=1e-5), grads)
    assert max_relative_error(keras_run, torch_run) > 1e-3
    assert_same_path(numpy_path(O.adam(LR, epsilon=1e-5, epsilon_before_correction=True,
                                       **betas), grads), keras_run)
    assert_same_path(numpy_path(O.adam(LR, epsilon=1e-5, **betas), grads), torch_run)
    # Keras's epsilon is a PyTorch epsilon of eps / sqrt(1 - beta_2**t): 32 eps at t=1 here
    first = [[g * 1e-4 for g in gradient_sequence(1)[0]]]
    keras_first = keras_path(KO.Adam(LR, epsilon=1e-5, **betas), first)
    scaled = torch_path(lambda p: TO.Adam(p, lr=LR, betas=(BETA_1, BETA_2),
                                          eps=1e-5 / np.sqrt(1 - BETA_2)), first)
    np.testing.assert_allclose(keras_first[0][0], scaled[0][0], rtol=1e-12)


def test_weight_decay_is_decoupled_in_keras_and_l2_in_torch_adam():
    keras_adam = keras_path(KO.Adam(LR, weight_decay=0.5))
    keras_adamw = keras_path(KO.AdamW(LR, weight_decay=0.5))
    assert_same_path(keras_adam, keras_adamw, rtol=1e-12)   # Keras Adam + weight_decay is AdamW
    torch_adam = torch_path(lambda p: TO.Adam(p, lr=LR, weight_decay=0.5))
    torch_adamw = torch_path(lambda p: TO.AdamW(p, lr=LR, weight_decay=0.5))
    assert max_relative_error(torch_adam, torch_adamw) > 1e-2  # PyTorch Adam + weight_decay is L2
    decoupled = torch_path(lambda p: TO.Adam(p, lr=LR, weight_decay=0.5,
                                             decoupled_weight_decay=True))
    assert_same_path(decoupled, torch_adamw, rtol=1e-12)


def test_keras_sgd_weight_decay_is_decoupled_torch_sgd_is_l2():
    keras_run = keras_path(KO.SGD(LR, weight_decay=0.5))
    torch_run = torch_path(lambda p: TO.SGD(p, lr=LR, weight_decay=0.5))
    # without momentum both shrink w by lr * wd * w per step: the same numbers
    assert_same_path(keras_run, torch_run)
    keras_momentum = keras_path(KO.SGD(LR, momentum=0.9, weight_decay=0.5))
    torch_momentum = torch_path(lambda p: TO.SGD(p, lr=LR, momentum=0.9, weight_decay=0.5))
    # with momentum the L2 term is accumulated in the buffer in PyTorch, not in Keras
    assert max_relative_error(keras_momentum, torch_momentum) > 1e-3


def test_adamw_default_weight_decay_differs():
    assert KO.AdamW().weight_decay == 0.004
    assert TO.AdamW([torch.zeros(1)]).defaults["weight_decay"] == 0.01


def test_keras_momentum_holds_the_rate_inside_the_buffer():
    def rates(step):
        return 2.0**-5 if step < 60 else 2.0**-8

    keras_run = keras_path(KO.SGD(1.0, momentum=MOMENTUM), rates=rates)
    torch_run = torch_path(lambda p: TO.SGD(p, lr=1.0, momentum=MOMENTUM), rates=rates)
    assert max_relative_error(keras_run[:60], torch_run[:60]) < 1e-12   # same while constant
    assert max_relative_error(keras_run[60:], torch_run[60:]) > 1e-3
    assert_same_path(numpy_path(O.sgd(rates, momentum=MOMENTUM)), torch_run)
    keras_rms = keras_path(KO.RMSprop(1.0, rho=0.9, momentum=0.5, epsilon=1e-14), rates=rates)
    torch_rms = torch_path(lambda p: TO.RMSprop(p, lr=1.0, alpha=0.9, momentum=0.5, eps=1e-14),
                           rates=rates)
    assert max_relative_error(keras_rms[:60], torch_rms[:60]) < 1e-4    # epsilon placement only
    assert max_relative_error(keras_rms[60:], torch_rms[60:]) > 1e-2


def test_keras_rounds_the_rate_to_float32():
    assert float(KO.Adam(0.1).learning_rate.numpy()) == pytest.approx(0.1, rel=1e-7)
    assert float(KO.Adam(0.1).learning_rate.numpy()) != 0.1
    assert float(KO.Adam(LR).learning_rate.numpy()) == LR
    assert TO.Adam([torch.zeros(1)], lr=0.1).param_groups[0]["lr"] == 0.1


def test_keras_uses_float32_copies_of_beta_and_momentum():
    # in a float64 run, Keras's bias correction sees beta_1 = 0.89999998, beta_2 = 0.99900001
    first = keras_path(KO.Adam(LR, epsilon=0.0), [[np.ones((3, 4)), np.ones(4)]])[0][1]
    f32 = lambda x: float(np.float32(x))  # noqa: E731
    expected = LR * np.sqrt(1 - f32(0.999)) / (1 - f32(0.9)) * 0.1 / np.sqrt(0.001)
    np.testing.assert_allclose(START[1] - first, expected, rtol=1e-12)
    assert abs(expected / LR - 1) > 6e-6      # the exact first Adam step would be LR
    keras_run = keras_path(KO.SGD(LR, momentum=0.9))
    assert max_relative_error(numpy_path(O.sgd(LR, momentum=f32(0.9))), keras_run) < 1e-12
    assert max_relative_error(numpy_path(O.sgd(LR, momentum=0.9)), keras_run) > 1e-7
    keras_run = keras_path(KO.Adagrad(LR, initial_accumulator_value=0.1, epsilon=1e-7))
    rounded = O.adagrad(LR, initial_accumulator_value=f32(0.1), epsilon=1e-7,
                        epsilon_inside_sqrt=True)
    assert max_relative_error(numpy_path(rounded), keras_run) < 1e-12


def test_torch_first_momentum_step_is_not_dampened():
    grads = [[np.ones((3, 4)), np.ones(4)]] * 2
    path = torch_path(lambda p: TO.SGD(p, lr=1.0, momentum=0.5, dampening=0.5), grads)
    np.testing.assert_allclose(START[1] - path[0][1], 1.0)           # b_1 = g, not (1 - d) g
    np.testing.assert_allclose(path[0][1] - path[1][1], 0.5 + 0.5)   # b_2 = 0.5 b_1 + 0.5 g
    assert "dampening" not in KO.SGD.__init__.__code__.co_varnames


# --------------------------------------------------------------------------------------
# properties of the NumPy rules themselves


def test_step_is_pure_and_structure_is_kept():
    rule = O.adam(0.1)
    w = np.array([1.0, 2.0])
    state = rule.init(w)
    first, state_1 = rule.update(w, np.array([0.5, -1.0]), state)
    again, _ = rule.update(w, np.array([0.5, -1.0]), state)
    assert np.array_equal(first, again) and state.step == 0 and state_1.step == 1
    assert w.tolist() == [1.0, 2.0]
    as_list, _ = rule.update([w], [np.array([0.5, -1.0])], state)
    assert isinstance(as_list, list) and np.array_equal(as_list[0], first)


@pytest.mark.parametrize("make_rule", [O.adam, O.rmsprop, O.adamw])
def test_adam_and_rmsprop_ignore_a_constant_gradient_scale(make_rule):
    grads = gradient_sequence(100)
    rule = make_rule(0.01, epsilon=0.0)
    scaled = [[1000.0 * g for g in step] for step in grads]
    assert_same_path(numpy_path(rule, scaled), numpy_path(rule, grads), rtol=1e-9)
    sgd_scaled = numpy_path(O.sgd(0.01), scaled)
    assert max_relative_error(sgd_scaled, numpy_path(O.sgd(0.01), grads)) > 1.0


def test_run_collects_the_path():
    path = O.run(O.sgd(0.1, momentum=0.5), np.array([1.0]), lambda w: 2 * w, 5)
    assert len(path) == 6 and path[0][0] == 1.0 and abs(path[-1][0]) < 1.0


@pytest.mark.parametrize("call, error, words", [
    (lambda: O.adam(0.0), ValueError, "`learning_rate` must be a finite number > 0"),
    (lambda: O.adam("0.1"), TypeError, "learning_rate='0.1'"),
    (lambda: O.adam(0.1, beta_1=1.0), ValueError, "`beta_1` must be a number in [0, 1)"),
    (lambda: O.rmsprop(0.1, rho=-0.1), ValueError, "`rho` must be a number in [0, 1)"),
    (lambda: O.adagrad(0.1, epsilon=-1.0), ValueError, "`epsilon` must be a finite number >= 0"),
    (lambda: O.adagrad(0.1, initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value"),
    (lambda: O.sgd(0.1, nesterov=True), ValueError, "Nesterov momentum needs `momentum` > 0"),
    (lambda: O.sgd(0.1, nesterov=1), TypeError, "`nesterov` must be a bool"),
    (lambda: O.adamw(0.1, weight_decay=-0.1), ValueError, "`weight_decay`"),
    (lambda: O.adam(0.1, amsgrad="yes"), TypeError, "`amsgrad` must be a bool"),
])
def test_bad_hyperparameters_are_refused_with_the_name(call, error, words):
    with pytest.raises(error) as info:
        call()
    assert words in str(info.value)


def test_bad_params_grads_and_state_are_refused():
    rule = O.sgd(0.1)
    w = [np.zeros(2), np.zeros(3)]
    state = rule.init(w)
    with pytest.raises(ValueError, match=r"`grads\[1\]` must have the shape of `params\[1\]`"):
        rule.update(w, [np.zeros(2), np.zeros(4)], state)
    with pytest.raises(ValueError, match="structure of `params`"):
        rule.update(w, [np.zeros(2)], state)
    with pytest.raises(TypeError, match="floating-point"):
        rule.update(w, [np.zeros(2), np.array(["a", "b", "c"])], state)
    with pytest.raises(TypeError, match="OptimizerState"):
        rule.update(w, [np.zeros(2), np.zeros(3)], {"step": 0})
    with pytest.raises(ValueError, match="does not belong"):
        rule.update(w, [np.zeros(2), np.zeros(3)], O.adam(0.1).init(w))
    with pytest.raises(ValueError, match=r"slot 'momentum'\[0\] has shape \(1,\), `params\[0\]` "
                                         r"has shape \(3,\)"):
        O.adam(0.1).update(np.zeros(3), np.ones(3), O.adam(0.1).init(np.zeros(1)))
    with pytest.raises(ValueError, match="non-empty list"):
        rule.init([])
    with pytest.raises(ValueError, match="schedule must return a finite number >= 0"):
        O.sgd(lambda step: -1.0).update(w, w, state)
    with pytest.raises(TypeError, match="`rule` must be an UpdateRule"):
        O.run("adam", w, lambda p: p, 3)


# --------------------------------------------------------------------------------------
# more rows of lesson 05's table: weight decay in RMSprop and Adagrad, Nesterov, AMSGrad,
# Adagrad's lr_decay


def decoupled_path(rule, decay, grads=None):
    """``rule`` with Keras's decoupled decay: shrink w by lr * decay first, then the step."""
    grads = gradient_sequence() if grads is None else grads
    params, state, path = [p.copy() for p in START], rule.init(START), []
    for g in grads:
        params = [p * (1 - LR * decay) for p in params]
        params, state = rule.update(params, g, state)
        path.append([p.copy() for p in params])
    return path


def l2_path(rule, decay, grads=None):
    """``rule`` with PyTorch's L2 decay: add decay * w to the gradient."""
    grads = gradient_sequence() if grads is None else grads
    params, state, path = [p.copy() for p in START], rule.init(START), []
    for g in grads:
        g = [x + decay * p for x, p in zip(g, params, strict=True)]
        params, state = rule.update(params, g, state)
        path.append([p.copy() for p in params])
    return path


@pytest.mark.parametrize("name", ["rmsprop", "adagrad"])
def test_rmsprop_and_adagrad_weight_decay_is_decoupled_in_keras_l2_in_torch(name):
    if name == "rmsprop":
        keras_rule = O.rmsprop(LR, rho=0.9, epsilon=1e-7, epsilon_inside_sqrt=True)
        torch_rule = O.rmsprop(LR, rho=0.9, epsilon=1e-7)
        make_keras = lambda: KO.RMSprop(LR, rho=0.9, epsilon=1e-7, weight_decay=0.5)  # noqa: E731
        make_torch = lambda p: TO.RMSprop(p, lr=LR, alpha=0.9, eps=1e-7,  # noqa: E731
                                          weight_decay=0.5)
    else:
        keras_rule = O.adagrad(LR, initial_accumulator_value=0.125, epsilon=1e-7,
                               epsilon_inside_sqrt=True)
        torch_rule = O.adagrad(LR, initial_accumulator_value=0.125, epsilon=1e-7)
        make_keras = lambda: KO.Adagrad(LR, initial_accumulator_value=0.125,  # noqa: E731
                                        epsilon=1e-7, weight_decay=0.5)
        make_torch = lambda p: TO.Adagrad(p, lr=LR, initial_accumulator_value=0.125,  # noqa: E731
                                          eps=1e-7, weight_decay=0.5)
    keras_run, torch_run = keras_path(make_keras()), torch_path(make_torch)
    assert_same_path(decoupled_path(keras_rule, 0.5), keras_run)
    assert_same_path(l2_path(torch_rule, 0.5), torch_run)
    assert max_relative_error(keras_run, torch_run) > 1e-2
    assert KO.RMSprop().weight_decay is None and KO.Adagrad().weight_decay is None
    assert TO.RMSprop([torch.zeros(1)]).defaults["weight_decay"] == 0
    assert TO.Adagrad([torch.zeros(1)]).defaults["weight_decay"] == 0


def test_nesterov_without_momentum_is_plain_sgd_in_keras_an_error_in_torch():
    quiet = KO.SGD(LR, nesterov=True)
    assert quiet.nesterov and quiet.momentum == 0.0
    assert_same_path(keras_path(quiet), numpy_path(O.sgd(LR)), rtol=1e-12)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum"):
        TO.SGD([torch.zeros(1)], lr=LR, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero damp"):
        TO.SGD([torch.zeros(1)], lr=LR, momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="Nesterov momentum needs `momentum` > 0"):
        O.sgd(LR, nesterov=True)


def test_nesterov_steps_differ_from_plain_momentum_in_both():
    plain = keras_path(KO.SGD(LR, momentum=MOMENTUM))
    ahead = keras_path(KO.SGD(LR, momentum=MOMENTUM, nesterov=True))
    assert max_relative_error(plain, ahead) > 1e-3
    torch_ahead = torch_path(lambda p: TO.SGD(p, lr=LR, momentum=MOMENTUM, nesterov=True))
    assert max_relative_error(ahead, torch_ahead) < 1e-12


def test_amsgrad_is_off_by_default_and_the_same_rule_in_both():
    for keras_class in (KO.Adam, KO.AdamW):
        assert keras_class().amsgrad is False
    assert TO.Adam([torch.zeros(1)]).defaults["amsgrad"] is False
    assert TO.AdamW([torch.zeros(1)]).defaults["amsgrad"] is False
    betas = {"beta_1": 0.75, "beta_2": 0.984375}
    # both take the maximum of the raw v_t; with a negligible epsilon the runs coincide
    keras_run = keras_path(KO.Adam(LR, epsilon=1e-14, amsgrad=True, **betas))
    torch_run = torch_path(lambda p: TO.Adam(p, lr=LR, betas=(0.75, 0.984375), eps=1e-14,
                                             amsgrad=True))
    assert max_relative_error(keras_run, torch_run) < 1e-6
    plain = torch_path(lambda p: TO.Adam(p, lr=LR, betas=(0.75, 0.984375), eps=1e-14))
    assert max_relative_error(plain, torch_run) > 1e-3     # and AMSGrad does change the path
    # and lrcourse's amsgrad=True is PyTorch's
    assert_same_path(numpy_path(O.adam(LR, amsgrad=True, **betas)), torch_path(
        lambda p: TO.Adam(p, lr=LR, betas=(0.75, 0.984375), amsgrad=True)))


def test_torch_adagrad_lr_decay_is_a_schedule_keras_has_none():
    assert "lr_decay" not in KO.Adagrad.__init__.__code__.co_varnames
    assert TO.Adagrad([torch.zeros(1)]).defaults["lr_decay"] == 0
    decayed = torch_path(lambda p: TO.Adagrad(p, lr=LR, lr_decay=0.5))
    rule = O.adagrad(lambda step: LR / (1 + step * 0.5))     # step is 0-based: t - 1
    assert_same_path(numpy_path(rule), decayed)
    assert max_relative_error(decayed, torch_path(lambda p: TO.Adagrad(p, lr=LR))) > 1e-2


def test_keras_inverse_time_decay_reproduces_torch_adagrad_lr_decay():
    schedule = KO.schedules.InverseTimeDecay(LR, decay_steps=1, decay_rate=0.5)
    keras_run = keras_path(KO.Adagrad(schedule, initial_accumulator_value=0.0, epsilon=1e-14))
    torch_run = torch_path(lambda p: TO.Adagrad(p, lr=LR, lr_decay=0.5, eps=1e-14))
    assert max_relative_error(keras_run, torch_run) < 1e-7   # float32 schedule, epsilon placement
    plain = keras_path(KO.Adagrad(LR, initial_accumulator_value=0.0, epsilon=1e-14))
    assert max_relative_error(plain, torch_run) > 1e-2


def test_a_rule_has_no_step_attribute_that_could_be_mistaken_for_the_step_counter():
    rule = O.adam(0.1)
    state = rule.init(np.array([1.0, -2.0]))
    assert not hasattr(rule, "step") and state.step == 0
