"""Checkers for lesson 05: adaptive optimizers.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lrcourse.checks._core import Wrong, question


def _adam_variant(grads: list, start: np.ndarray, lr: float, beta_1: float, beta_2: float,
                  epsilon: float, *, correct_m: bool = True, correct_v: bool = True,
                  placement: str = "after", first_t: int = 1, store_corrected: bool = False,
                  swap_betas: bool = False) -> list[np.ndarray]:
    """Adam's parameters after each gradient, with one of the usual mistakes switched on.

    ``first_t=0`` is a counter that starts at 0 and skips the correction while it is 0
    (the division by ``1 - beta**0 = 0`` would give nan).
    """
    if swap_betas:
        beta_1, beta_2 = beta_2, beta_1
    w, m, v, path = start.copy(), np.zeros_like(start), np.zeros_like(start), []
    with np.errstate(divide="ignore", invalid="ignore"):
        for t, g in enumerate(grads, start=first_t):
            m = beta_1 * m + (1 - beta_1) * g
            v = beta_2 * v + (1 - beta_2) * g * g
            c1 = 1 - beta_1**t if correct_m and t else 1.0
            c2 = 1 - beta_2**t if correct_v and t else 1.0
            if placement == "after":
                w = w - lr * (m / c1) / (np.sqrt(v / c2) + epsilon)
            elif placement == "before":
                w = w - lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + epsilon)
            else:  # inside the root
                w = w - lr * (m / c1) / np.sqrt(v / c2 + epsilon)
            if store_corrected:
                m, v = m / c1, v / c2
            path.append(w.copy())
    return path


_ADAM_CASES = [(1e-3, 0.9, 0.999, 1e-8), (0.05, 0.8, 0.99, 1e-6)]

_ADAM_TRAPS = [
    (dict(correct_m=False, correct_v=False),
     "bias correction is missing: divide m by 1 - beta_1**t and v by 1 - beta_2**t"),
    (dict(correct_m=False), "bias correction is missing on m: divide m by 1 - beta_1**t too"),
    (dict(correct_v=False), "bias correction is missing on v: divide v by 1 - beta_2**t too"),
    (dict(placement="before"), "epsilon is in the wrong place: you added it to sqrt(v) before "
                               "the bias correction (Keras's formula); PyTorch adds it to "
                               "sqrt(v_hat)"),
    (dict(placement="inside"), "epsilon is in the wrong place: it goes outside the root, "
                               "sqrt(v_hat) + epsilon, not sqrt(v_hat + epsilon)"),
    (dict(first_t=2), "the step counter is off by one: t must be 1 on the first update, not 2"),
    (dict(first_t=0), "the step counter starts at 0: increment it before the bias correction, "
                      "so t = 1 on the first update"),
    (dict(store_corrected=True), "the state must keep the raw averages m and v; the "
                                 "bias-corrected m_hat and v_hat are only for this step"),
    (dict(swap_betas=True), "beta_1 and beta_2 are swapped: beta_1 (0.9) averages the "
                            "gradient, beta_2 (0.999) its square"),
]


def _adam_gradients() -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(5)
    scales = np.array([1e-7, 1e-6, 1e-3, 1.0, 30.0])  # the tiny ones expose epsilon
    start = np.array([0.5, -1.0, 2.0, -0.3, 1.5])
    return start, [rng.standard_normal(5) * scales + 0.5 * scales for _ in range(25)]


@question(
    "05.adam_step",
    "One Adam step in NumPy that matches torch.optim.Adam",
    "increment state['step'] first (t = 1 on the first update), update m and v, divide each "
    "by its bias correction 1 - beta**t, then add epsilon to sqrt(v_hat), outside the root",
)
def _check_adam_step(answer: Callable) -> None:
    import torch

    start, grads = _adam_gradients()
    for lr, beta_1, beta_2, epsilon in _ADAM_CASES:
        # The learner's path first; PyTorch's, the expected one, only once it has returned.
        state = {"step": 0, "m": np.zeros_like(start), "v": np.zeros_like(start)}
        w, received, non_finite = start.copy(), [], None
        settings = f"lr={lr}, beta_1={beta_1}, beta_2={beta_2}, epsilon={epsilon}"
        for t, g in enumerate(grads, start=1):
            result = answer(w.copy(), g.copy(), state, lr, beta_1, beta_2, epsilon)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise Wrong(f"adam_step must return (new_param, new_state), received "
                            f"{type(result).__name__} {result!r:.60}")
            w, state = result
            w = np.asarray(w, dtype=np.float64)
            if w.shape != start.shape:
                raise Wrong(f"new_param has shape {w.shape}, expected {start.shape}")
            if not isinstance(state, dict) or state.get("step") != t:
                step = state.get("step") if isinstance(state, dict) else state
                raise Wrong(f"after update {t}, new_state['step'] is {step!r}, expected {t}",
                            "return the state with 'step' increased by one per update")
            if not np.all(np.isfinite(w)):
                non_finite = (t, w)
                break
            received.append(w.copy())
        param = torch.tensor(start.copy(), requires_grad=True)
        reference = torch.optim.Adam([param], lr=lr, betas=(beta_1, beta_2), eps=epsilon)
        expected = []
        for g in grads:
            param.grad = torch.tensor(g)
            reference.step()
            expected.append(param.detach().numpy().copy())
        first_bad = next((t for t, w in enumerate(received, start=1)
                          if not np.allclose(w, expected[t - 1], rtol=1e-6, atol=1e-12)), None)
        if first_bad is None and non_finite is not None:  # right until it blew up
            t, w = non_finite
            raise Wrong(f"with {settings}, update {t} gave a non-finite parameter "
                        f"{np.round(w, 6).tolist()}",
                        "the step counter starts at 0: with t = 0 the bias correction "
                        "1 - beta**0 is 0 and you divide by it; increment the step first, "
                        "so t = 1 on the first update" if t == 1 else "")
        if first_bad is None:
            continue
        message = (f"with {settings}, after update {first_bad} expected "
                   f"{np.round(expected[first_bad - 1], 8).tolist()}, received "
                   f"{np.round(received[first_bad - 1], 8).tolist()}")
        # name the mistake whose whole path the answer reproduces
        for options, hint in _ADAM_TRAPS:
            variant = _adam_variant(grads, start, lr, beta_1, beta_2, epsilon, **options)
            if np.allclose(received, variant[:len(received)], rtol=1e-6, atol=1e-12):
                raise Wrong(message, hint)
        raise Wrong(message)


def _keras_run_float64(optimizer, grads: list[np.ndarray], start: np.ndarray) -> np.ndarray:
    """The parameters after each of ``grads``, applied by a Keras optimizer in float64."""
    import keras

    variable = keras.Variable(start, dtype="float64")
    path = []
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), variable)])
        path.append(np.array(variable.numpy()))
    return np.array(path)


def _rule_path(rule, grads: list[np.ndarray], start: np.ndarray) -> np.ndarray:
    """The parameters after each of ``grads``, applied by an ``lrcourse.optimizers`` rule."""
    w, state, path = start, rule.init(start), []
    for g in grads:
        w, state = rule.update(w, g, state)
        path.append(w)
    return np.array(path)


@question(
    "05.keras_rmsprop_match",
    "Find the Keras RMSprop that matches torch.optim.RMSprop(params, lr=0.01)",
    "PyTorch's RMSprop defaults are alpha=0.99 and eps=1e-8; Keras calls alpha rho and "
    "defaults it to 0.9, and its epsilon (1e-7) sits inside the root",
)
def _check_keras_rmsprop_match(answer: Callable) -> None:
    import keras

    from lrcourse.optimizers import rmsprop

    optimizer = answer()
    if not isinstance(optimizer, keras.optimizers.RMSprop):
        raise Wrong(f"expected a keras.optimizers.RMSprop, received "
                    f"{type(optimizer).__name__} {optimizer!r:.60}")
    if optimizer.built:
        raise Wrong("the optimizer has already been used; return a new one")
    rng = np.random.default_rng(8)
    scales = np.array([0.1, 0.3, 1.0, 10.0])
    start = np.array([1.0, -2.0, 0.5, 3.0])
    grads = [rng.standard_normal(4) * scales + 0.3 * scales for _ in range(60)]
    received = _keras_run_float64(optimizer, grads, start)
    expected = _rule_path(rmsprop(0.01), grads, start)  # torch.optim.RMSprop's defaults
    if np.allclose(received, expected, rtol=1e-5, atol=1e-9):
        if float(getattr(optimizer, "momentum", 0.0)) or getattr(optimizer, "centered", False) \
                or optimizer.weight_decay:
            raise Wrong("the run matches only by chance: momentum, centered or weight decay is "
                        "switched on")
        return
    settings = (f"learning_rate={float(np.asarray(optimizer.learning_rate)):.6g}, "
                f"rho={optimizer.rho}, epsilon={optimizer.epsilon}, "
                f"momentum={optimizer.momentum}, centered={optimizer.centered}")
    step = int(np.argmax(~np.all(np.isclose(received, expected, rtol=1e-5, atol=1e-9), axis=1)))
    message = (f"with {settings}, after step {step + 1} the Keras run is at "
               f"{np.round(received[step], 7).tolist()}, the PyTorch run at "
               f"{np.round(expected[step], 7).tolist()}")
    if optimizer.momentum or optimizer.centered:
        raise Wrong(message, "PyTorch's default RMSprop has no momentum and is not centered")
    if optimizer.weight_decay:
        raise Wrong(message, "PyTorch's default RMSprop has no weight decay (weight_decay=0); "
                             "leave Keras's weight_decay at None")
    if not np.isclose(float(np.asarray(optimizer.learning_rate)), 0.01, rtol=1e-6):
        raise Wrong(message, "PyTorch's RMSprop defaults to lr=0.01, Keras's to 0.001: pass "
                             "learning_rate=0.01")
    if optimizer.rho != 0.99:
        raise Wrong(message, "the decay differs: PyTorch's alpha defaults to 0.99, Keras's "
                             "rho to 0.9; pass rho=0.99")
    raise Wrong(message, "epsilon: Keras adds it inside the root, so its default 1e-7 changes "
                         "the steps of small gradients; use PyTorch's 1e-8 or smaller")


_MYSTERY_NAMES = ("sgd", "momentum", "adagrad", "adam")
_MYSTERY_KEY = {"A": "momentum", "B": "adam", "C": "sgd", "D": "adagrad"}


def mystery_trajectories() -> dict[str, np.ndarray]:
    """Four optimizer paths on an ill-conditioned quadratic, labelled A to D.

    Which optimizer drew which path is the exercise ``05.which_optimizer``: plain SGD,
    SGD with momentum, Adagrad or Adam, each run for 40 steps from ``(4.0, -1.2)`` on
    ``(x**2 + 20 y**2) / 2`` with a rate that suits it. The surface, start and rates differ
    from the lesson's figure, so the answer has to come from the update rules, not from
    matching pictures.

    Returns:
        A dict from letter to an array of shape ``(41, 2)``, the start first.

    Example:
        >>> paths = mystery_trajectories()
        >>> sorted(paths), paths["A"].shape
        (['A', 'B', 'C', 'D'], (41, 2))

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    from lrcourse import optimizers
    from lrcourse.data import ill_conditioned_quadratic

    surface = ill_conditioned_quadratic(20.0)
    rules = {"sgd": optimizers.sgd(0.09), "momentum": optimizers.sgd(0.02, momentum=0.9),
             "adagrad": optimizers.adagrad(0.8), "adam": optimizers.adam(0.25)}
    start = np.array([4.0, -1.2])
    return {letter: np.array(optimizers.run(rules[name], start, surface.gradient, 40))
            for letter, name in _MYSTERY_KEY.items()}


_MYSTERY_HINTS = {
    frozenset({"adam", "adagrad"}): "Adam and Adagrad both take a first step of exactly lr in "
    "each coordinate (a diagonal segment); Adam carries momentum, so it overshoots the valley "
    "floor and curls back, while Adagrad's steps only shrink",
    frozenset({"sgd", "momentum"}): "plain SGD's first step points straight down the gradient, "
    "6 times longer in y than in x, and it zigzags across the valley with a shrinking swing; "
    "momentum builds speed and swings in wide arcs",
}


_MYSTERY_ALIASES = {
    "plain sgd": "sgd", "vanilla sgd": "sgd", "gradient descent": "sgd", "gd": "sgd",
    "sgd with momentum": "momentum", "sgd momentum": "momentum", "sgd+momentum": "momentum",
    "sgd + momentum": "momentum", "momentum sgd": "momentum", "heavy ball": "momentum",
    "heavy-ball": "momentum",
}


def _mystery_name(name: object) -> str:
    """An answer's optimizer name in the key's spelling: case, spaces and aliases ignored."""
    text = " ".join(str(name).strip().lower().split())
    return _MYSTERY_ALIASES.get(text, text)


@question(
    "05.which_optimizer",
    "Which optimizer drew which trajectory?",
    "look at the first step of each path: a gradient step points down the steep y direction, "
    "Adam and Adagrad move by exactly lr in both coordinates; then look for overshooting",
)
def _check_which_optimizer(answer: Callable) -> None:
    received = answer()
    if not isinstance(received, dict):
        raise Wrong(f"expected a dict from letter to optimizer name, received "
                    f"{type(received).__name__} {received!r:.60}")
    received = {str(letter).strip().upper(): name for letter, name in received.items()}
    if set(received) != set(_MYSTERY_KEY):
        raise Wrong(f"expected the letters A, B, C, D as keys, received {sorted(received)!r}")
    names = {letter: _mystery_name(name) for letter, name in received.items()}
    unknown = sorted(set(names.values()) - set(_MYSTERY_NAMES))
    if unknown:
        raise Wrong(f"unknown optimizer name(s) {unknown}; use "
                    f"{', '.join(repr(n) for n in _MYSTERY_NAMES)}")
    if len(set(names.values())) != 4:
        raise Wrong(f"each optimizer drew exactly one path; received {names}")
    wrong = sorted(letter for letter in _MYSTERY_KEY if names[letter] != _MYSTERY_KEY[letter])
    if not wrong:
        return
    confused = frozenset(names[letter] for letter in wrong) | frozenset(
        _MYSTERY_KEY[letter] for letter in wrong)
    hint = _MYSTERY_HINTS.get(confused, "")
    raise Wrong(f"{len(wrong)} of the 4 paths are wrong: {', '.join(wrong)}", hint)
