"""Keras 3 adapters for the lrcourse helpers. Importing this module imports Keras.

Introduced in ``notebooks/02_schedules.ipynb`` (schedules) and
``notebooks/03_per_variable_learning_rates.ipynb`` (per-variable rates).
"""

from __future__ import annotations

import re

import keras
import numpy as np

from lrcourse import _rules
from lrcourse import _validate as check
from lrcourse import schedules as _schedules

__all__ = [
    "LrcourseSchedule",
    "RateTable",
    "ScaledSchedule",
    "as_keras_schedule",
    "learning_rate_at",
    "multi_optimizer",
    "rate_table",
]


@keras.saving.register_keras_serializable(package="lrcourse")
class LrcourseSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """A Keras ``LearningRateSchedule`` that evaluates an ``lrcourse.schedules`` function.

    Build it with :func:`as_keras_schedule`. It is registered with Keras serialisation,
    so a model compiled with it survives ``model.save`` and ``keras.models.load_model``.
    In a compiled TensorFlow graph the NumPy formula runs through ``tf.numpy_function``,
    so a model that uses it cannot be compiled with XLA (``jit_compile=True``).
    """

    def __init__(self, spec: dict):
        self.schedule = _schedules.from_spec(spec)
        self.spec = self.schedule.spec()

    def _value(self, step) -> np.ndarray:
        return np.float32(self.schedule(float(step)))

    def __call__(self, step):
        """The learning rate at ``step`` (the optimizer's ``iterations``) as a float32 tensor."""
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            if not tf.executing_eagerly():
                value = tf.numpy_function(self._value, [step], tf.float32, stateful=False)
                value.set_shape(())
                return value
        step = keras.ops.convert_to_numpy(keras.ops.convert_to_tensor(step))
        return keras.ops.convert_to_tensor(self._value(step))

    def get_config(self) -> dict:
        """``{"spec": ...}``, enough for ``from_config`` to rebuild the same schedule."""
        return {"spec": self.spec}

    def __repr__(self) -> str:
        return f"LrcourseSchedule({self.schedule!r})"


def as_keras_schedule(fn_or_spec: object) -> LrcourseSchedule:
    """Wrap an ``lrcourse.schedules`` schedule (or its spec) as a Keras schedule.

    The Keras optimizer calls it with its ``iterations`` counter, the same 0-based step
    the schedule expects, so ``optimizer.learning_rate`` before update ``k`` equals
    ``schedule(k)``.

    Args:
        fn_or_spec: a ``Schedule`` built by ``lrcourse.schedules`` or the dict from its
            ``spec()``. A plain Python function is refused: Keras could not save it.

    Returns:
        An ``LrcourseSchedule`` whose ``get_config``/``from_config`` round-trip.

    Raises:
        TypeError: for anything else (subclass ``LearningRateSchedule`` for your own
            formula, as lesson 02 shows).

    Example:
        >>> from lrcourse.schedules import cosine_decay
        >>> wrapped = as_keras_schedule(cosine_decay(0.1, decay_steps=100))
        >>> float(wrapped(50))
        0.05
        >>> type(wrapped).from_config(wrapped.get_config()).schedule
        cosine_decay(initial_lr=0.1, decay_steps=100, alpha=0.0)

    Introduced in ``notebooks/02_schedules.ipynb``.
    """
    if isinstance(fn_or_spec, _schedules.Schedule):
        return LrcourseSchedule(fn_or_spec.spec())
    if isinstance(fn_or_spec, dict):
        return LrcourseSchedule(fn_or_spec)
    raise TypeError(
        "`fn_or_spec` must be a schedule from lrcourse.schedules or its spec() dict, so that "
        f"Keras can save it. Received: {fn_or_spec!r:.60} ({type(fn_or_spec).__name__}). "
        "For a formula of your own, subclass keras.optimizers.schedules.LearningRateSchedule."
    )


def learning_rate_at(optimizer: keras.optimizers.Optimizer) -> float:
    """The rate ``optimizer`` will use for its next update, as a Python float.

    Works for a fixed rate and for a schedule (Keras evaluates the schedule at the
    optimizer's ``iterations``).

    Raises:
        TypeError: when ``optimizer`` is not a Keras optimizer.

    Example:
        >>> optimizer = keras.optimizers.SGD(learning_rate=0.05)
        >>> learning_rate_at(optimizer)
        0.05

    Introduced in ``notebooks/02_schedules.ipynb``.
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            "`optimizer` must be a keras.optimizers.Optimizer. "
            f"Received: {optimizer!r:.60} ({type(optimizer).__name__})"
        )
    value = keras.ops.convert_to_tensor(optimizer.learning_rate)
    return float(np.float32(keras.ops.convert_to_numpy(value)))


# ---------------------------------------------------------------------------------------
# Per-variable rates (lesson 03)


@keras.saving.register_keras_serializable(package="lrcourse")
class ScaledSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Another ``LearningRateSchedule`` multiplied by a constant ``factor``.

    :func:`multi_optimizer` uses it to give a group of variables a multiple of a scheduled
    rate. It is registered, so a saved model keeps it.

    Example:
        >>> inner = keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.5)
        >>> round(float(ScaledSchedule(inner, 0.1)(10)), 6)
        0.005
    """

    def __init__(self, schedule, factor: float):
        if isinstance(schedule, dict):
            schedule = keras.optimizers.schedules.deserialize(schedule)
        if not isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            raise TypeError(
                "`schedule` must be a keras.optimizers.schedules.LearningRateSchedule. "
                f"Received: {schedule!r:.60} ({type(schedule).__name__})"
            )
        self.schedule = schedule
        self.factor = check.positive_float("factor", factor)

    def __call__(self, step):
        """The inner schedule's rate at ``step`` times ``factor``."""
        return self.schedule(step) * self.factor

    def get_config(self) -> dict:
        """The inner schedule, serialised, and the factor."""
        return {"schedule": keras.optimizers.schedules.serialize(self.schedule),
                "factor": self.factor}


def _scaled_copy(default: keras.optimizers.Optimizer, factor: float, name: str):
    """A fresh optimizer like ``default`` whose learning rate is ``factor`` times its own."""
    config = default.get_config()
    rate = config["learning_rate"]
    if isinstance(rate, dict):
        rate = ScaledSchedule(keras.optimizers.schedules.deserialize(rate), factor)
    else:
        rate = float(rate) * factor
    config.update(learning_rate=rate, name=name)
    return type(default).from_config(config)


def _check_optimizer(name: str, value: object) -> keras.optimizers.Optimizer:
    if not isinstance(value, keras.optimizers.Optimizer) or isinstance(
        value, (keras.optimizers.MultiOptimizer, keras.optimizers.LossScaleOptimizer)
    ):
        raise TypeError(
            f"`{name}` must be a plain Keras optimizer such as keras.optimizers.SGD(...) "
            "(not a MultiOptimizer or LossScaleOptimizer). "
            f"Received: {value!r:.60} ({type(value).__name__})"
        )
    return value


def _trainable(model: object, argument: str = "model") -> list:
    if not isinstance(model, keras.Model):
        raise TypeError(f"`{argument}` must be a keras.Model. "
                        f"Received: {model!r:.60} ({type(model).__name__})")
    variables = list(model.trainable_variables)
    if not variables:
        raise ValueError(
            f"`{argument}` has no trainable variables yet. Build it first: start it with "
            "keras.Input(...), or call it once on a batch."
        )
    return variables


def multi_optimizer(
    model: keras.Model,
    rules: dict,
    default: keras.optimizers.Optimizer,
    *,
    verbose: bool = False,
) -> keras.optimizers.MultiOptimizer:
    """A ``keras.optimizers.MultiOptimizer`` that gives groups of variables their own rate.

    Pass the result to ``model.compile``; it works inside ``model.fit``, saves and loads.
    Keras's own ``OptimizerMap`` matches its keys against whole variable paths, so a key
    such as ``"classifier"`` matches nothing (the path is ``"classifier/kernel"``) and the
    variables silently go to the default optimizer. This helper checks every rule against
    the model's variables first and maps each variable by its exact path.

    Args:
        model: a built Keras model.
        rules: ``{key: setting}``. A key is a layer name anywhere on a variable's path
            (``"classifier"``, ``"block/inner"``), a whole path, or a regular expression
            matched against the whole path. A setting is a Keras optimizer, or a number
            ``m > 0``: a copy of ``default`` whose rate is ``m`` times its rate (a schedule
            is scaled too, with :class:`ScaledSchedule`).
        default: the Keras optimizer for every variable no rule claims.
        verbose: print :func:`rate_table` for the new optimizer.

    Returns:
        The ``MultiOptimizer``. Each multiplier's copy is named ``<default>_x<m>``, so the
        per-optimizer ``learning_rate_<name>`` entries that Keras's LR callbacks log stay
        distinct.

    Raises:
        ValueError: for each rule that matches no trainable variable (the message lists
            the variable paths the model has), for a variable claimed by two rules, and
            for a model without variables.
        TypeError: for a model that is not a Keras model, a default or rule optimizer that
            is not a plain Keras optimizer, or a setting that is neither.

    Example:
        >>> inputs = keras.Input((3,))
        >>> hidden = keras.layers.Dense(4, name="features")(inputs)
        >>> model = keras.Model(inputs, keras.layers.Dense(2, name="classifier")(hidden))
        >>> optimizer = multi_optimizer(model, {"features": 0.1},
        ...                             keras.optimizers.SGD(0.5, name="sgd"))
        >>> print(rate_table(model, optimizer))
        variable           shape   optimizer  learning rate
        features/kernel    (3, 4)  sgd_x0.1   0.05
        features/bias      (4,)    sgd_x0.1   0.05
        classifier/kernel  (4, 2)  sgd        0.5
        classifier/bias    (2,)    sgd        0.5
        >>> multi_optimizer(model, {"dense": 0.1}, keras.optimizers.SGD(0.5))
        Traceback (most recent call last):
        ...
        ValueError: rule 'dense' in `rules` matches no trainable variable. ...

    Introduced in ``notebooks/03_per_variable_learning_rates.ipynb``.
    """
    variables = _trainable(model)
    default = _check_optimizer("default", default)
    check.boolean("verbose", verbose)
    keys = _rules.check_rule_keys(rules)
    settings = {}
    for key in keys:
        setting = rules[key]
        if isinstance(setting, keras.optimizers.Optimizer):
            settings[key] = _check_optimizer(f"rules[{key!r}]", setting)
        elif isinstance(setting, (int, float, np.floating)) and not isinstance(setting, bool):
            factor = check.positive_float(f"rules[{key!r}]", setting)
            suffix = re.sub(r"[^0-9A-Za-z.]+", "_", f"{factor:g}")
            settings[key] = _scaled_copy(default, factor, f"{default.name}_x{suffix}")
        else:
            raise TypeError(
                f"`rules[{key!r}]` must be a Keras optimizer or a learning-rate multiplier "
                f"> 0. Received: {setting!r:.60} ({type(setting).__name__})"
            )
    paths = [variable.path for variable in variables]
    if len(set(paths)) != len(paths):
        repeated = sorted({path for path in paths if paths.count(path) > 1})
        raise ValueError(f"`model` has several trainable variables with the same path "
                         f"({', '.join(repeated)}); give its layers unique names.")
    frozen = [v.path for v in model.variables if v.path not in set(paths)]
    owner = _rules.assign(paths, keys, separator="/", anywhere=True,
                          what="trainable variable", others=frozen,
                          others_are="not trainable (frozen layers, BatchNorm statistics)")
    mapping = {re.escape(path): settings[key] for path, key in owner.items() if key is not None}
    optimizer = keras.optimizers.MultiOptimizer(keras.optimizers.OptimizerMap(default, mapping))
    if verbose:
        print(rate_table(model, optimizer))
    return optimizer


class RateTable(list):
    """Rows of ``(variable path, shape, optimizer name, learning rate)``; prints as a table."""

    def __str__(self) -> str:
        header = ("variable", "shape", "optimizer", "learning rate")
        rows = [header] + [(path, str(shape), name, f"{rate:.6g}")
                           for path, shape, name, rate in self]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True))
            + "  " + row[3]
            for row in rows
        )

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def rate_table(
    model: keras.Model, optimizer: keras.optimizers.Optimizer | None = None
) -> RateTable:
    """Which optimizer, at which current rate, updates each trainable variable of ``model``.

    Use it on any optimizer, including a ``MultiOptimizer`` written by hand: it shows the
    variables that a mistaken pattern sent to the default optimizer.

    Args:
        model: a built Keras model.
        optimizer: the optimizer to describe; ``None`` means ``model.optimizer`` (the
            model must be compiled).

    Returns:
        A :class:`RateTable`: a list of ``(path, shape, optimizer name, rate)`` tuples
        that prints as a table.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")],
        ...                          name="net")
        >>> rate_table(model, keras.optimizers.Adam(0.01, name="adam"))[0]
        ('net/out/kernel', (2, 1), 'adam', 0.01)

    Introduced in ``notebooks/03_per_variable_learning_rates.ipynb``.
    """
    variables = _trainable(model)
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            raise ValueError("`model` is not compiled; pass `optimizer` or compile it first.")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError("`optimizer` must be a Keras optimizer. "
                        f"Received: {optimizer!r:.60} ({type(optimizer).__name__})")
    if isinstance(optimizer, keras.optimizers.MultiOptimizer):
        # The map (an OptimizerMap or a function) is the constructor's argument; Keras keeps
        # it as ``_optimizer_map`` and calls it on each variable in ``build``.
        choose = optimizer._optimizer_map
    else:
        def choose(variable):
            return optimizer
    rows = RateTable()
    for variable in variables:
        chosen = choose(variable)
        rows.append((variable.path, tuple(variable.shape), chosen.name,
                     learning_rate_at(chosen)))
    return rows
