"""Reference optimizers in NumPy: pure update rules with explicit state, optax-style.

Each factory returns an ``UpdateRule`` with two functions:

- ``init(params) -> state``: the optimizer's state for these parameters (step 0, zero slots);
- ``update(params, grads, state) -> (new_params, new_state)``: one update. Nothing is
  modified in place, so the same state can be updated twice and gives the same answer.

``params`` and ``grads`` are one NumPy array or a list of arrays with matching shapes; the
new parameters come back in the same form. ``learning_rate`` is a number > 0 or a schedule,
a function of the 0-based step such as the ones in ``lrcourse.schedules``.

The defaults follow PyTorch. Where Keras puts epsilon elsewhere, a keyword switches the rule
to the Keras formula (``epsilon_inside_sqrt``, ``epsilon_before_correction``), so each rule
can reproduce either framework to the last digit. Lesson 05 tabulates every difference.

Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lrcourse import _validate

__all__ = ["OptimizerState", "UpdateRule", "adagrad", "adam", "adamw", "rmsprop", "run", "sgd"]


@dataclass(frozen=True)
class OptimizerState:
    """The state of an update rule: the number of steps taken and the per-parameter slots.

    ``slots`` maps a slot name (``"momentum"``, ``"velocity"``, ...) to a tuple holding one
    array per parameter. ``step`` is 0 before the first update.
    """

    step: int
    slots: dict[str, tuple[np.ndarray, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateRule:
    """A pure optimizer: ``init(params) -> state`` and ``update(params, grads, state)``.

    (``update``, not ``step``: ``OptimizerState.step`` is the step counter.)
    """

    name: str
    init: Callable[[object], OptimizerState]
    update: Callable[[object, object, OptimizerState], tuple[object, OptimizerState]]
    hyperparameters: dict[str, object]

    def __repr__(self) -> str:
        settings = ", ".join(f"{key}={value!r}" for key, value in self.hyperparameters.items())
        return f"{self.name}({settings})"


# --------------------------------------------------------------------------------------
# shared plumbing


def _as_list(name: str, value: object) -> tuple[list[np.ndarray], bool]:
    """The arrays of ``value`` as a list, and whether ``value`` was a single array."""
    single = not isinstance(value, (list, tuple))
    items = [value] if single else list(value)
    if not items:
        raise ValueError(f"`{name}` must be an array or a non-empty list of arrays. "
                         f"Received: {name}={value!r}")
    arrays = []
    for index, item in enumerate(items):
        where = name if single else f"{name}[{index}]"
        try:
            array = np.asarray(item)
        except (TypeError, ValueError):
            raise TypeError(f"`{where}` must be a floating-point array. "
                            f"Received: {type(item).__name__}") from None
        if array.dtype == object or not np.issubdtype(array.dtype, np.floating):
            if np.issubdtype(array.dtype, np.number) and not np.issubdtype(array.dtype,
                                                                            np.complexfloating):
                array = array.astype(np.float64)
            else:
                raise TypeError(f"`{where}` must be a floating-point array. "
                                f"Received dtype {array.dtype}")
        arrays.append(array)
    return arrays, single


def _matching(params: object, grads: object) -> tuple[list, list, bool]:
    params_list, single = _as_list("params", params)
    grads_list, grads_single = _as_list("grads", grads)
    if single != grads_single or len(params_list) != len(grads_list):
        raise ValueError(
            "`grads` must have the structure of `params`. Received "
            f"{'one array' if grads_single else f'{len(grads_list)} arrays'} of gradients for "
            f"{'one array' if single else f'{len(params_list)} arrays'} of parameters")
    for index, (p, g) in enumerate(zip(params_list, grads_list, strict=True)):
        if p.shape != g.shape:
            raise ValueError(f"`grads[{index}]` must have the shape of `params[{index}]`, "
                             f"{p.shape}. Received shape {g.shape}")
    return params_list, grads_list, single


def _state(name: str, state: object, slot_names: tuple[str, ...],
           shapes: list[tuple[int, ...]]) -> OptimizerState:
    count = len(shapes)
    if not isinstance(state, OptimizerState):
        raise TypeError(f"`state` must be the OptimizerState returned by {name}.init or "
                        f"{name}.update. Received: {type(state).__name__}")
    if set(state.slots) != set(slot_names) or any(
            len(state.slots[slot]) != count for slot in slot_names):
        raise ValueError(f"`state` does not belong to this {name} rule and these params: it has "
                         f"slots {sorted(state.slots)}, expected {list(slot_names)} with "
                         f"{count} array(s) each")
    for slot in slot_names:
        for index, (array, shape) in enumerate(zip(state.slots[slot], shapes, strict=True)):
            if np.shape(array) != shape:
                raise ValueError(f"`state` does not belong to these params: its slot "
                                 f"{slot!r}[{index}] has shape {np.shape(array)}, "
                                 f"`params[{index}]` has shape {shape}. Call init(params) "
                                 f"with the parameters you step")
    return state


def _learning_rate(value: object) -> Callable[[int], float] | float:
    if callable(value):
        return value
    return _validate.positive_float("learning_rate", value)


def _rate_at(learning_rate, step: int) -> float:
    if callable(learning_rate):
        rate = learning_rate(step)
        try:
            rate = float(rate)
        except (TypeError, ValueError):
            raise TypeError(f"the learning-rate schedule must return a number. At step {step} "
                            f"it returned {rate!r}") from None
        if not (np.isfinite(rate) and rate >= 0):
            raise ValueError(f"the learning-rate schedule must return a finite number >= 0. "
                             f"At step {step} it returned {rate!r}")
        return rate
    return learning_rate


def _rule(name: str, slot_names: tuple[str, ...], update, hyperparameters: dict,
          start_value: float = 0.0) -> UpdateRule:
    """Wrap a per-parameter ``update(p, g, slots, rate, t) -> (p, slots)`` into a rule.

    Every slot starts at ``start_value`` (only Adagrad's accumulator uses another than 0).
    """

    def init(params: object) -> OptimizerState:
        arrays, _ = _as_list("params", params)
        slots = {slot: tuple(np.full_like(p, start_value) for p in arrays)
                 for slot in slot_names}
        return OptimizerState(0, slots)

    def update_params(params: object, grads: object, state: OptimizerState):
        params_list, grads_list, single = _matching(params, grads)
        state = _state(name, state, slot_names, [p.shape for p in params_list])
        rate = _rate_at(hyperparameters["learning_rate"], state.step)
        new_params, new_slots = [], {slot: [] for slot in slot_names}
        for index, (p, g) in enumerate(zip(params_list, grads_list, strict=True)):
            slots = {slot: state.slots[slot][index] for slot in slot_names}
            p, slots = update(p, g, slots, rate, state.step + 1)
            new_params.append(p)
            for slot in slot_names:
                new_slots[slot].append(slots[slot])
        new_state = OptimizerState(state.step + 1,
                                   {slot: tuple(arrays) for slot, arrays in new_slots.items()})
        return (new_params[0] if single else new_params), new_state

    return UpdateRule(name, init, update_params, hyperparameters)


# --------------------------------------------------------------------------------------
# the rules


def sgd(learning_rate, *, momentum: float = 0.0, dampening: float = 0.0,
        nesterov: bool = False, weight_decay: float = 0.0) -> UpdateRule:
    r"""Stochastic gradient descent with optional momentum, Nesterov and L2 weight decay.

    With ``t`` the 1-based step, ``g`` the gradient and ``b`` the momentum buffer
    (``torch.optim.SGD``'s formula)::

        g   = g + weight_decay * w                 # L2 penalty, in the gradient
        b_1 = g ;  b_t = momentum * b_{t-1} + (1 - dampening) * g
        d   = g + momentum * b_t   if nesterov   else   b_t
        w   = w - lr * d

    Keras's ``SGD`` keeps ``lr`` inside its buffer (``m = momentum * m - lr * g``), which
    gives the same steps while the rate is constant, different steps once it changes.

    Args:
        learning_rate: a number > 0 or a schedule ``step -> lr`` (0-based step).
        momentum: momentum coefficient in [0, 1); 0 turns momentum off.
        dampening: in [0, 1); scales the gradient entering the buffer after step 1.
        nesterov: look ahead along the buffer; needs ``momentum > 0`` and no dampening.
        weight_decay: L2 coefficient >= 0, added to the gradient as ``weight_decay * w``.

    Returns:
        An ``UpdateRule`` with slot ``"momentum"`` (zeros until the first step).

    Raises:
        TypeError, ValueError: for a bad hyperparameter, named in the message.

    Example:
        >>> rule = sgd(0.1, momentum=0.9)
        >>> w, state = np.array([1.0]), rule.init(np.array([1.0]))
        >>> for _ in range(2):
        ...     w, state = rule.update(w, np.array([1.0]), state)
        >>> w.tolist(), state.step     # 1 - 0.1 * 1 - 0.1 * (0.9 + 1)
        ([0.71], 2)

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    learning_rate = _learning_rate(learning_rate)
    momentum = _validate.decay_coefficient("momentum", momentum)
    dampening = _validate.decay_coefficient("dampening", dampening)
    nesterov = _validate.boolean("nesterov", nesterov)
    weight_decay = _validate.nonnegative_float("weight_decay", weight_decay)
    if nesterov and (momentum == 0 or dampening != 0):
        raise ValueError("Nesterov momentum needs `momentum` > 0 and `dampening` = 0. Received: "
                         f"momentum={momentum}, dampening={dampening}")

    def update(w, g, slots, rate, t):
        if weight_decay:
            g = g + weight_decay * w
        buffer = slots["momentum"]
        if momentum:
            buffer = g if t == 1 else momentum * buffer + (1 - dampening) * g
            g = g + momentum * buffer if nesterov else buffer
        return w - rate * g, {"momentum": buffer}

    return _rule("sgd", ("momentum",), update, {
        "learning_rate": learning_rate, "momentum": momentum, "dampening": dampening,
        "nesterov": nesterov, "weight_decay": weight_decay})


def adagrad(learning_rate, *, initial_accumulator_value: float = 0.0, epsilon: float = 1e-10,
            epsilon_inside_sqrt: bool = False) -> UpdateRule:
    r"""Adagrad: divide by the root of the sum of every squared gradient so far.

    With ``a`` the accumulator (``a_0 = initial_accumulator_value``)::

        a_t = a_{t-1} + g**2
        w   = w - lr * g / (sqrt(a_t) + epsilon)      # PyTorch
        w   = w - lr * g / sqrt(a_t + epsilon)        # Keras: epsilon_inside_sqrt=True

    The effective rate ``lr / sqrt(a_t)`` only ever shrinks. PyTorch starts the accumulator
    at 0, so the first step moves every weight by ``lr`` whatever its gradient; Keras starts
    it at 0.1.

    Args:
        learning_rate: a number > 0 or a schedule ``step -> lr`` (0-based step).
        initial_accumulator_value: the accumulator's start value, >= 0.
        epsilon: >= 0, keeps the division finite.
        epsilon_inside_sqrt: add epsilon under the root, as Keras does.

    Returns:
        An ``UpdateRule`` with slot ``"accumulator"``.

    Raises:
        TypeError, ValueError: for a bad hyperparameter, named in the message.

    Example:
        >>> rule = adagrad(0.1)
        >>> w, state = rule.update(np.array([1.0, 1.0]), np.array([5.0, 0.01]),
        ...                      rule.init(np.array([1.0, 1.0])))
        >>> np.round(w, 6).tolist()      # both move by lr on the first step
        [0.9, 0.9]

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    learning_rate = _learning_rate(learning_rate)
    initial_accumulator_value = _validate.nonnegative_float("initial_accumulator_value",
                                                            initial_accumulator_value)
    epsilon = _validate.nonnegative_float("epsilon", epsilon)
    epsilon_inside_sqrt = _validate.boolean("epsilon_inside_sqrt", epsilon_inside_sqrt)

    def update(w, g, slots, rate, t):
        accumulator = slots["accumulator"] + g * g
        if epsilon_inside_sqrt:
            denominator = np.sqrt(accumulator + epsilon)
        else:
            denominator = np.sqrt(accumulator) + epsilon
        return w - rate * g / denominator, {"accumulator": accumulator}

    return _rule("adagrad", ("accumulator",), update, {
        "learning_rate": learning_rate, "initial_accumulator_value": initial_accumulator_value,
        "epsilon": epsilon, "epsilon_inside_sqrt": epsilon_inside_sqrt},
        start_value=initial_accumulator_value)


def rmsprop(learning_rate, *, rho: float = 0.99, epsilon: float = 1e-8, momentum: float = 0.0,
            centered: bool = False, epsilon_inside_sqrt: bool = False) -> UpdateRule:
    r"""RMSprop: divide by the root of a moving average of squared gradients.

    With ``v`` the average of ``g**2`` and, when centered, ``a`` the average of ``g``::

        v_t = rho * v_{t-1} + (1 - rho) * g**2
        a_t = rho * a_{t-1} + (1 - rho) * g            (centered only)
        s   = v_t - a_t**2  if centered  else  v_t
        u   = g / (sqrt(s) + epsilon)                  # PyTorch
        u   = g / sqrt(s + epsilon)                    # Keras: epsilon_inside_sqrt=True
        b_t = momentum * b_{t-1} + u ;  w = w - lr * b_t     (or w = w - lr * u)

    PyTorch calls ``rho`` ``alpha`` (default 0.99); Keras's default ``rho`` is 0.9. Keras
    keeps ``lr`` inside its momentum buffer, which is the same while the rate is constant.

    Args:
        learning_rate: a number > 0 or a schedule ``step -> lr`` (0-based step).
        rho: decay of the moving averages, in [0, 1).
        epsilon: >= 0, keeps the division finite.
        momentum: momentum coefficient in [0, 1); 0 turns it off.
        centered: divide by an estimate of the variance instead of the raw second moment.
        epsilon_inside_sqrt: add epsilon under the root, as Keras does.

    Returns:
        An ``UpdateRule`` with slots ``"velocity"``, ``"average_gradient"``, ``"momentum"``.

    Raises:
        TypeError, ValueError: for a bad hyperparameter, named in the message.

    Example:
        >>> rule = rmsprop(0.01, rho=0.9, epsilon=0.0)
        >>> w, _ = rule.update(np.array([0.0]), np.array([3.0]), rule.init(np.array([0.0])))
        >>> np.round(w, 6).tolist()      # -0.01 * 3 / sqrt(0.1 * 9)
        [-0.031623]

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    learning_rate = _learning_rate(learning_rate)
    rho = _validate.decay_coefficient("rho", rho)
    epsilon = _validate.nonnegative_float("epsilon", epsilon)
    momentum = _validate.decay_coefficient("momentum", momentum)
    centered = _validate.boolean("centered", centered)
    epsilon_inside_sqrt = _validate.boolean("epsilon_inside_sqrt", epsilon_inside_sqrt)

    def update(w, g, slots, rate, t):
        velocity = rho * slots["velocity"] + (1 - rho) * g * g
        average = slots["average_gradient"]
        second = velocity
        if centered:
            average = rho * average + (1 - rho) * g
            second = velocity - average * average
        if epsilon_inside_sqrt:
            direction = g / np.sqrt(second + epsilon)
        else:
            direction = g / (np.sqrt(second) + epsilon)
        buffer = slots["momentum"]
        if momentum:
            buffer = momentum * buffer + direction
            direction = buffer
        return w - rate * direction, {"velocity": velocity, "average_gradient": average,
                                      "momentum": buffer}

    return _rule("rmsprop", ("velocity", "average_gradient", "momentum"), update, {
        "learning_rate": learning_rate, "rho": rho, "epsilon": epsilon, "momentum": momentum,
        "centered": centered, "epsilon_inside_sqrt": epsilon_inside_sqrt})


def _adam_rule(name: str, learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
               epsilon_before_correction, *, decoupled: bool) -> UpdateRule:
    """Adam (``decoupled=False``: L2 in the gradient) or AdamW (decoupled decay), checked."""
    learning_rate = _learning_rate(learning_rate)
    beta_1 = _validate.decay_coefficient("beta_1", beta_1)
    beta_2 = _validate.decay_coefficient("beta_2", beta_2)
    epsilon = _validate.nonnegative_float("epsilon", epsilon)
    amsgrad = _validate.boolean("amsgrad", amsgrad)
    weight_decay = _validate.nonnegative_float("weight_decay", weight_decay)
    epsilon_before_correction = _validate.boolean("epsilon_before_correction",
                                                  epsilon_before_correction)
    l2, shrink = (0.0, weight_decay) if decoupled else (weight_decay, 0.0)

    def update(w, g, slots, rate, t):
        if shrink:
            w = w * (1 - rate * shrink)
        if l2:
            g = g + l2 * w
        m = beta_1 * slots["momentum"] + (1 - beta_1) * g
        v = beta_2 * slots["velocity"] + (1 - beta_2) * g * g
        v_max = np.maximum(slots["max_velocity"], v) if amsgrad else slots["max_velocity"]
        second = v_max if amsgrad else v
        correction_1 = 1 - beta_1**t
        correction_2 = 1 - beta_2**t
        if epsilon_before_correction:
            step = rate * np.sqrt(correction_2) / correction_1 * m / (np.sqrt(second) + epsilon)
        else:
            step = rate * (m / correction_1) / (np.sqrt(second / correction_2) + epsilon)
        return w - step, {"momentum": m, "velocity": v, "max_velocity": v_max}

    return _rule(name, ("momentum", "velocity", "max_velocity"), update, {
        "learning_rate": learning_rate, "beta_1": beta_1, "beta_2": beta_2, "epsilon": epsilon,
        "amsgrad": amsgrad, "weight_decay": weight_decay,
        "epsilon_before_correction": epsilon_before_correction})


def adam(learning_rate, *, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
         amsgrad: bool = False, weight_decay: float = 0.0,
         epsilon_before_correction: bool = False) -> UpdateRule:
    r"""Adam: momentum on the gradient, divided by the root of a moving average of its square.

    With ``t`` the 1-based step::

        g     = g + weight_decay * w                   # L2 penalty, in the gradient
        m_t   = beta_1 * m_{t-1} + (1 - beta_1) * g
        v_t   = beta_2 * v_{t-1} + (1 - beta_2) * g**2
        m_hat = m_t / (1 - beta_1**t) ;  v_hat = v_t / (1 - beta_2**t)
        w     = w - lr * m_hat / (sqrt(v_hat) + epsilon)                          # PyTorch
        w     = w - lr * sqrt(1 - beta_2**t) / (1 - beta_1**t) * m_t / (sqrt(v_t) + epsilon)
                                                # Keras: epsilon_before_correction=True

    With AMSGrad, ``v_t`` in the division is replaced by the largest ``v`` seen so far.
    Multiplying every gradient by ``c > 0`` multiplies ``m`` by ``c`` and ``sqrt(v)`` by
    ``c``: the step does not change, apart from epsilon.

    Args:
        learning_rate: a number > 0 or a schedule ``step -> lr`` (0-based step).
        beta_1, beta_2: decay of the first and second moment averages, in [0, 1).
        epsilon: >= 0, keeps the division finite.
        amsgrad: divide by the running maximum of ``v``.
        weight_decay: L2 coefficient >= 0 added to the gradient, like
            ``torch.optim.Adam(weight_decay=...)``. For decoupled decay use ``adamw``.
        epsilon_before_correction: add epsilon to ``sqrt(v_t)`` before the bias correction,
            as Keras does; PyTorch adds it after.

    Returns:
        An ``UpdateRule`` with slots ``"momentum"``, ``"velocity"``, ``"max_velocity"``.

    Raises:
        TypeError, ValueError: for a bad hyperparameter, named in the message.

    Example:
        >>> rule = adam(0.1)
        >>> w, state = rule.update(np.array([1.0, 1.0]), np.array([1e3, 1e-3]),
        ...                      rule.init(np.array([1.0, 1.0])))
        >>> np.round(w, 6).tolist()      # the first step is lr * sign(g), whatever |g|
        [0.9, 0.9]

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    return _adam_rule("adam", learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                      epsilon_before_correction, decoupled=False)


def adamw(learning_rate, *, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-8,
          weight_decay: float = 0.01, amsgrad: bool = False,
          epsilon_before_correction: bool = False) -> UpdateRule:
    r"""AdamW: Adam with weight decay decoupled from the gradient.

    First shrink the weights, then take the plain Adam step (see ``adam``)::

        w = w * (1 - lr * weight_decay)
        w = w - lr * m_hat / (sqrt(v_hat) + epsilon)

    The decay never passes through ``m`` and ``v``, so every weight shrinks by the same
    fraction ``lr * weight_decay`` per step, whatever its gradient history. With L2 in the
    gradient (``adam(weight_decay=...)``) the penalty is divided by ``sqrt(v_hat)`` like the
    rest of the gradient, so weights with large gradients are barely decayed.
    PyTorch's default ``weight_decay`` is 0.01, Keras's 0.004.

    Args:
        learning_rate: a number > 0 or a schedule ``step -> lr`` (0-based step).
        beta_1, beta_2: decay of the moment averages, in [0, 1).
        epsilon: >= 0, keeps the division finite.
        weight_decay: decoupled decay coefficient >= 0.
        amsgrad: divide by the running maximum of ``v``.
        epsilon_before_correction: the Keras placement of epsilon (see ``adam``).

    Returns:
        An ``UpdateRule`` with slots ``"momentum"``, ``"velocity"``, ``"max_velocity"``.

    Raises:
        TypeError, ValueError: for a bad hyperparameter, named in the message.

    Example:
        >>> rule = adamw(0.1, weight_decay=0.5)
        >>> w, _ = rule.update(np.array([2.0]), np.array([0.0]), rule.init(np.array([2.0])))
        >>> w.tolist()                   # zero gradient: only the decay, 2 * (1 - 0.05)
        [1.9]

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    return _adam_rule("adamw", learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                      epsilon_before_correction, decoupled=True)


def run(rule: UpdateRule, params: object, gradient: Callable[[object], object],
        num_steps: int) -> list:
    """Apply ``rule`` for ``num_steps`` steps, taking each gradient at the current point.

    Args:
        rule: an ``UpdateRule`` from this module.
        params: the starting parameters (one array or a list of arrays).
        gradient: a function ``params -> grads`` with the structure of ``params``.
        num_steps: number of updates, >= 0.

    Returns:
        The ``num_steps + 1`` parameter values, the start first.

    Raises:
        TypeError, ValueError: for a bad ``rule`` or ``num_steps``.

    Example:
        >>> path = run(sgd(0.25), np.array([1.0]), lambda w: 2 * w, 3)   # f = w**2
        >>> [float(w[0]) for w in path]
        [1.0, 0.5, 0.25, 0.125]

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    if not isinstance(rule, UpdateRule):
        raise TypeError(f"`rule` must be an UpdateRule from lrcourse.optimizers. "
                        f"Received: {type(rule).__name__}")
    if not callable(gradient):
        raise TypeError(f"`gradient` must be a function params -> grads. "
                        f"Received: {type(gradient).__name__}")
    num_steps = _validate.integer("num_steps", num_steps, minimum=0)
    state = rule.init(params)
    path = [params]
    for _ in range(num_steps):
        params, state = rule.update(params, gradient(params), state)
        path.append(params)
    return path


