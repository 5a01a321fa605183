"""Keras 3 adapters for the lrcourse helpers. Importing this module imports Keras.

Sections follow the lessons: schedules (02), per-variable rates (03), per-batch rates (04)
and the LR range test (06).

Introduced in ``notebooks/02_schedules.ipynb``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import keras
import numpy as np

from lrcourse import _rules, _validate
from lrcourse import schedules as _schedules
from lrcourse.finder import FinderResult, RangeTest, run_range_test

__all__ = [
    "BatchLearningRateScheduler",
    "LearningRateLogger",
    "LrcourseSchedule",
    "RateTable",
    "ScaledSchedule",
    "as_keras_schedule",
    "find_lr",
    "learning_rate_at",
    "multi_optimizer",
    "rate_table",
]


# ---------------------------------------------------------------------------------------
# Keras internals this module needs, each behind one helper that a test pins
# (tests/test_adapters.py) for the Keras version in the pins.


def _rate_setting(optimizer: keras.optimizers.Optimizer):
    """What ``optimizer`` was given as its rate: a ``keras.Variable`` (for a number), a
    ``LearningRateSchedule`` or a callable. Keras keeps it as ``_learning_rate``; the public
    ``learning_rate`` evaluates it instead."""
    return optimizer._learning_rate


def _optimizer_choice(optimizer: keras.optimizers.MultiOptimizer):
    """The ``MultiOptimizer``'s map, ``variable -> sub-optimizer`` (an ``OptimizerMap`` or
    the function given to the constructor). Keras keeps it as ``_optimizer_map``."""
    return optimizer._optimizer_map


def _rate_writer(variable: keras.Variable) -> Callable[[float], None]:
    """A function ``value -> None`` that sets the Keras rate ``variable`` to ``value``.

    ``variable.assign`` (Keras converts, checks, and reads the value back) costs about
    90 us; on an epoch of a small model in ``fit`` that is about 20% more time per epoch
    (``benchmarks/per_batch.py``). On the TensorFlow backend, the ``tf.Variable`` Keras
    keeps behind ``variable.value`` (outside a layer's autocast scope, where callbacks run)
    is set directly with TensorFlow's public ``tf.raw_ops.AssignVariableOp``, about 10 us.
    A distributed variable, and any other backend, go through ``variable.assign``.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        target = variable.value
        if isinstance(target, tf.Variable) and not isinstance(
                target, tf.distribute.DistributedValues):
            handle, dtype = target.handle, target.dtype

            def write(value: float) -> None:
                tf.raw_ops.AssignVariableOp(resource=handle, value=tf.constant(value, dtype))

            return write
    return variable.assign


def _global_seed_state() -> keras.Variable:
    """The state variable of Keras's global seed generator, which dropout and the
    ``keras.random`` functions called without a seed advance. Keras has no public handle."""
    from keras.src.random.seed_generator import global_seed_generator

    return global_seed_generator().state


# ---------------------------------------------------------------------------------------
# Schedules (lesson 02)


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

    Introduced in ``notebooks/03_per_variable_learning_rates.ipynb``.
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
        self.factor = _validate.positive_float("factor", factor)

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


def _optimizer_of(model: keras.Model, optimizer: object) -> keras.optimizers.Optimizer:
    """``optimizer``, or the compiled ``model.optimizer`` when it is None; checked."""
    if optimizer is None:
        optimizer = getattr(model, "optimizer", None)
        if optimizer is None:
            raise ValueError("`model` is not compiled; pass `optimizer` or compile it first.")
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError("`optimizer` must be a Keras optimizer. "
                        f"Received: {optimizer!r:.60} ({type(optimizer).__name__})")
    return optimizer


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
    _validate.boolean("verbose", verbose)
    keys = _rules.check_rule_keys(rules)
    settings = {}
    for key in keys:
        setting = rules[key]
        if isinstance(setting, keras.optimizers.Optimizer):
            settings[key] = _check_optimizer(f"rules[{key!r}]", setting)
        elif isinstance(setting, (int, float, np.floating)) and not isinstance(setting, bool):
            factor = _validate.positive_float(f"rules[{key!r}]", setting)
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
    optimizer = _optimizer_of(model, optimizer)
    if isinstance(optimizer, keras.optimizers.MultiOptimizer):
        choose = _optimizer_choice(optimizer)
    else:
        def choose(variable):
            return optimizer
    rows = RateTable()
    for variable in variables:
        chosen = choose(variable)
        rows.append((variable.path, tuple(variable.shape), chosen.name,
                     learning_rate_at(chosen)))
    return rows


# ---------------------------------------------------------------------------------------
# Per-batch rates (lesson 04)


def _named_sub_optimizers(optimizer: object) -> list:
    """``[(name, optimizer)]``: the sub-optimizers of a ``MultiOptimizer``, or the optimizer.

    A ``LossScaleOptimizer`` (which ``compile`` wraps around the optimizer under a
    ``mixed_float16`` policy) is looked through: its own ``learning_rate`` variable is an
    unused 0.0, and the rate that the updates use is the wrapped optimizer's.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    if isinstance(optimizer, keras.optimizers.MultiOptimizer):
        return [(sub.name, sub) for sub in optimizer.optimizers]
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError("`model.optimizer` must be a Keras optimizer; compile the model first. "
                        f"Received: {optimizer!r:.60} ({type(optimizer).__name__})")
    return [(optimizer.name, optimizer)]


def _has_fixed_rate(optimizer: keras.optimizers.Optimizer) -> bool:
    """Whether the rate is a variable that can be set (not a schedule or a callable)."""
    return isinstance(_rate_setting(optimizer), keras.Variable)


class BatchLearningRateScheduler(keras.callbacks.Callback):
    """Set the learning rate before every batch to ``schedule(step)``.

    ``step`` is ``optimizer.iterations``, the number of updates so far (0-based), not the
    batch index inside the epoch, so the schedule carries on across epochs and ``fit``
    calls: the rate used by update ``t`` is ``schedule(t)``. (Keras's own
    ``LearningRateScheduler`` changes the rate once per epoch.)

    The optimizer must have a fixed (float) rate for the callback to overwrite; one with a
    ``LearningRateSchedule`` is refused. With a ``MultiOptimizer``, every sub-optimizer is
    set: give one schedule, or a dict ``{sub-optimizer name: schedule}``. Under a
    ``mixed_float16`` policy the wrapped optimizer's rate is set.

    Args:
        schedule: a function of the 0-based step returning the rate, such as an
            ``lrcourse.schedules`` schedule, or a dict of them by sub-optimizer name.

    Raises:
        TypeError: when ``schedule`` is not callable (nor a dict of callables).
        ValueError: when ``fit`` starts, for an optimizer whose rate is a schedule, a dict
            whose names do not match the sub-optimizers, or ``steps_per_execution`` > 1
            (Keras then calls batch hooks once per group of updates); during ``fit``, for
            a rate that is not a finite number >= 0.

    Example:
        >>> from lrcourse.schedules import linear_warmup
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
        >>> logger = LearningRateLogger()
        >>> x, y = np.ones((4, 2)), np.ones((4, 1))
        >>> _ = model.fit(x, y, batch_size=2, epochs=3, verbose=0,
        ...               callbacks=[BatchLearningRateScheduler(linear_warmup(0.5, 4)), logger])
        >>> [round(rate, 4) for rate in logger.history["learning_rate"]]
        [0.0, 0.125, 0.25, 0.375, 0.5, 0.5]

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """

    def __init__(self, schedule):
        super().__init__()
        if isinstance(schedule, dict):
            if not schedule:
                raise ValueError("`schedule` must not be an empty dict. Received: {}")
            for name, fn in schedule.items():
                if not callable(fn):
                    raise TypeError(f"`schedule[{name!r}]` must be a function of the step. "
                                    f"Received: {fn!r:.60} ({type(fn).__name__})")
        elif not callable(schedule):
            raise TypeError("`schedule` must be a function of the step (or a dict of them by "
                            f"sub-optimizer name). Received: {schedule!r:.60} "
                            f"({type(schedule).__name__})")
        self.schedule = schedule
        self._optimizer = None  # set when fit starts, with the (rate writer, schedule) pairs
        self._targets = []
        self._epoch_start = 0  # optimizer.iterations when the epoch began
        self._step_each_batch = False  # read optimizer.iterations before every batch

    def on_train_begin(self, logs=None):
        """Check the optimizer (and the dict's names) before the first batch."""
        optimizer = getattr(self.model, "optimizer", None)
        subs = _named_sub_optimizers(optimizer)
        every = getattr(self.model, "steps_per_execution", 1)
        if isinstance(every, int) and every > 1:
            raise ValueError(
                "BatchLearningRateScheduler sets the rate before every batch, but this model "
                f"was compiled with steps_per_execution={every}: Keras calls batch hooks once "
                f"per {every} updates, so each rate would be held for {every} steps. Compile "
                "with steps_per_execution=1, or put the schedule in the optimizer as a "
                "keras.optimizers.schedules.LearningRateSchedule."
            )
        for name, sub in subs:
            if not _has_fixed_rate(sub):
                raise ValueError(
                    f"optimizer {name!r} already has a LearningRateSchedule or callable rate "
                    f"({type(_rate_setting(sub)).__name__}); BatchLearningRateScheduler needs "
                    "a fixed rate to overwrite. Compile with a float learning_rate, or drop "
                    "this callback and keep the schedule."
                )
        if isinstance(self.schedule, dict):
            names = [name for name, _ in subs]
            if sorted(self.schedule) != sorted(names):
                raise ValueError(
                    "`schedule` must name every sub-optimizer exactly once. Expected names: "
                    f"{names}. Received: {sorted(self.schedule)}"
                )
            pairs = [(sub, self.schedule[name]) for name, sub in subs]
        else:
            pairs = [(sub, self.schedule) for _, sub in subs]
        self._targets = [(_rate_writer(_rate_setting(sub)), fn) for sub, fn in pairs]
        self._optimizer = optimizer
        # A LossScaleOptimizer skips the update of a batch whose gradients overflowed, and
        # its step does not advance: then the step is read before every batch.
        self._step_each_batch = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def on_epoch_begin(self, epoch, logs=None):
        """Read the optimizer's step once per epoch (reading a variable costs tens of us)."""
        self._epoch_start = int(self._optimizer.iterations)

    def on_train_batch_begin(self, batch, logs=None):
        """Assign ``schedule(optimizer.iterations)`` to each (sub-)optimizer's rate."""
        # The optimizer's step, not Keras's batch index (which restarts every epoch).
        if self._step_each_batch:
            step = int(self._optimizer.iterations)
        else:
            step = self._epoch_start + batch
        for write, fn in self._targets:
            write(_validate.scheduled_rate(float(fn(step)), step))


class LearningRateLogger(keras.callbacks.Callback):
    """Record the learning rate each batch actually used, one column per (sub-)optimizer.

    After every batch it reads the rate the update just applied: the rate variable, or an
    optimizer's ``LearningRateSchedule`` at the step just taken. Put it first in the
    callback list when another callback sets the rate in ``on_train_batch_end`` (Keras runs
    those hooks in list order). With ``steps_per_execution`` = k > 1 it records every k-th
    step (``steps`` says which). Each ``fit`` starts a fresh record.

    Attributes:
        steps: the 0-based optimizer step of each recorded batch.
        history: ``{"learning_rate": [...]}`` for one optimizer, or
            ``{"learning_rate_<name>": [...]}`` for each sub-optimizer of a
            ``MultiOptimizer`` (the names Keras's own LR callbacks use). Pass it to
            ``lrcourse.plotting.plot_learning_rates``.

    Example:
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> decay = keras.optimizers.schedules.ExponentialDecay(0.1, 1, 0.5)
        >>> model.compile(optimizer=keras.optimizers.SGD(decay), loss="mse")
        >>> logger = LearningRateLogger()
        >>> _ = model.fit(np.ones((6, 2)), np.ones((6, 1)), batch_size=2, verbose=0,
        ...               callbacks=[logger])
        >>> logger.steps, [round(rate, 4) for rate in logger.history["learning_rate"]]
        ([0, 1, 2], [0.1, 0.05, 0.025])

    Introduced in ``notebooks/04_per_batch_adjustment.ipynb``.
    """

    def __init__(self):
        super().__init__()
        self.steps: list[int] = []
        self.history: dict[str, list[float]] = {}
        self._subs = []

    def on_train_begin(self, logs=None):
        """Start a fresh record with one column per (sub-)optimizer."""
        optimizer = getattr(self.model, "optimizer", None)
        self._subs = _named_sub_optimizers(optimizer)
        self._optimizer = optimizer
        several = isinstance(optimizer, keras.optimizers.MultiOptimizer)
        self._keys = [f"learning_rate_{name}" if several else "learning_rate"
                      for name, _ in self._subs]
        self.steps = []
        self.history = {key: [] for key in self._keys}

    def on_train_batch_end(self, batch, logs=None):
        """Record the step just taken and the rate each (sub-)optimizer applied."""
        step = int(self._optimizer.iterations) - 1  # the update that just happened
        self.steps.append(step)
        for key, (_, sub) in zip(self._keys, self._subs, strict=True):
            rate = _rate_setting(sub)
            if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
                value = np.asarray(rate(step))
            elif _has_fixed_rate(sub):
                value = rate.numpy()
            else:  # a callable rate, which Keras calls without arguments
                value = np.asarray(rate())
            self.history[key].append(float(np.float32(value)))


# ---------------------------------------------------------------------------------------
# The LR range test (lesson 06)


def _fixed_rate_sub_optimizers(optimizer: keras.optimizers.Optimizer) -> list:
    """The plain optimizers whose rates the sweep sets: the optimizer, or a MultiOptimizer's."""
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        raise TypeError("find_lr does not support a LossScaleOptimizer; run the range test "
                        "in float32 with the inner optimizer.")
    inner = [sub for _, sub in _named_sub_optimizers(optimizer)]
    for sub in inner:
        if not _has_fixed_rate(sub):
            raise TypeError(
                f"optimizer {sub.name!r} has a learning-rate schedule (or a callable rate); "
                "the range test needs "
                "a fixed rate to sweep. Compile with a float rate for the test, then with "
                "your schedule (lesson 06 shows how to build one from the result).")
    return inner


def _batches(x, y, batch_size: int, seed: int):
    """Endless ``(x, y)`` batches: reshuffled NumPy arrays, or a repeated ``tf.data`` dataset."""
    import tensorflow as tf

    if isinstance(x, tf.data.Dataset):
        while True:
            count = 0
            for batch in x:
                count += 1
                yield batch[0], batch[1]
            if count == 0:  # a dataset of unknown cardinality that turned out empty
                raise ValueError("`x` is an empty tf.data.Dataset: it yields no batches.")
    rng = np.random.default_rng(seed)  # private generator: the global ones stay untouched
    while True:
        order = rng.permutation(len(x))
        for start in range(0, len(x), batch_size):
            chosen = order[start:start + batch_size]
            yield x[chosen], y[chosen]


class _KerasRangeTest:
    """What a range test does to a Keras model (see :class:`lrcourse.finder.FrameworkAdapter`).

    The snapshot holds every model variable (weights, BatchNorm statistics, dropout seed
    states), every optimizer variable (``iterations``, rates, slots), Keras's global seed
    state and the Python and NumPy RNG states. An optimizer not built yet is built first.
    """

    def __init__(self, model, optimizer, inner, loss_fn, batches):
        import tensorflow as tf

        self.model, self.optimizer, self.inner, self.batches = model, optimizer, inner, batches
        variables = list(model.trainable_variables)

        @tf.function(jit_compile=False)
        def train_step(inputs, targets):
            with tf.GradientTape() as tape:
                outputs = model(inputs, training=True)
                loss = tf.reduce_mean(loss_fn(targets, outputs))  # "mse" gives per-sample
                if model.losses:
                    loss = loss + tf.add_n(model.losses)
            gradients = tape.gradient(loss, variables)
            optimizer.apply_gradients(zip(gradients, variables, strict=True))
            return loss

        self.train_step = train_step

    def learning_rates(self) -> list[float]:
        return [learning_rate_at(sub) for sub in self.inner]

    def set_learning_rates(self, rates: list[float]) -> None:
        for sub, rate in zip(self.inner, rates, strict=True):
            sub.learning_rate.assign(rate)

    def train_batch(self) -> float:
        return float(self.train_step(*next(self.batches)))

    def snapshot(self) -> Callable[[], None]:
        if not self.optimizer.built:
            self.optimizer.build(self.model.trainable_variables)
        saved = [(v, v.numpy()) for v in [*self.model.variables, *self.optimizer.variables,
                                           _global_seed_state()]]
        rng = (random.getstate(), np.random.get_state())

        def restore() -> None:
            for variable, value in saved:
                variable.assign(value)
            random.setstate(rng[0])
            np.random.set_state(rng[1])

        return restore


def find_lr(
    model: keras.Model,
    x,
    y=None,
    *,
    batch_size: int = 32,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    optimizer: keras.optimizers.Optimizer | None = None,
    loss=None,
    beta: float = 0.9,
    diverge_factor: float = 4.0,
    suggestion: str = "minimum_div_10",
    seed: int = 0,
) -> FinderResult:
    """Run an LR range test on a Keras model and put everything back as it was.

    It drives its own ``tf.function`` step and records each batch's own loss (the loss
    plus the model's regularisation losses). ``model.fit`` would not do: its
    ``logs["loss"]`` is the mean over the epoch so far, which lags the rate and flattens
    the curve. Step ``i`` sets every sub-optimizer's rate to ``r_i`` times its ratio to
    the first one, so a ``MultiOptimizer`` keeps its ratios; ``lrs`` records the first
    sub-optimizer's rate as its float32 variable held it.

    Afterwards, also after an exception inside the sweep, every model variable (weights,
    BatchNorm statistics, dropout seed states), every optimizer variable (``iterations``,
    the rates, momentum and moment slots), Keras's global seed generator and the Python
    and NumPy RNG states are restored bit for bit. An optimizer that was not built yet is
    built first, with the zero slots ``fit`` would create. Nothing is written to disk.

    Args:
        model: a built Keras model (TensorFlow backend).
        x: input array, or a ``tf.data.Dataset`` of ``(inputs, targets)`` batches (then
            ``y`` must be None and ``batch_size`` is ignored). Either is cycled as needed.
        y: target array for array ``x``.
        batch_size: batch size for arrays; batches are drawn by a private shuffle.
        start_lr, end_lr, num_steps, mode: the sweep (see ``lrcourse.finder``).
        optimizer: the optimizer to sweep; None means ``model.optimizer``. Its rates must
            be fixed numbers, not schedules.
        loss: the loss, as ``model.compile`` takes it; None means the compiled loss.
        beta, diverge_factor, suggestion: as :func:`lrcourse.finder.analyze` and
            :class:`lrcourse.finder.RangeTest`.
        seed: seed of the private shuffle of array batches.

    Returns:
        A :class:`lrcourse.finder.FinderResult`.

    Raises:
        ValueError: for bad sweep settings, empty data, a model without loss or optimizer,
            before the model is touched.
        TypeError: for a model, data or optimizer of the wrong kind (including a
            learning-rate schedule).

    Example:
        >>> keras.utils.set_random_seed(0)
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), loss="mse")
        >>> x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        >>> y = x @ np.array([[1.0], [-2.0], [0.5]], dtype="float32")
        >>> before = [v.numpy() for v in model.variables]
        >>> result = find_lr(model, x, y, batch_size=16, start_lr=1e-4, end_lr=10.0,
        ...                  num_steps=60)
        >>> result.stop_reason, 1e-3 < result.suggested_lr < 1.0
        ('diverged', True)
        >>> all((b == v.numpy()).all() for b, v in zip(before, model.variables))
        True
        >>> int(model.optimizer.iterations), float(model.optimizer.learning_rate)
        (0, 0.1...)

    Introduced in ``notebooks/06_lr_finder.ipynb``.
    """
    import tensorflow as tf

    _trainable(model)
    test = RangeTest(start_lr, end_lr, num_steps, mode, beta=beta,
                     diverge_factor=diverge_factor, suggestion=suggestion)
    seed = _validate.seed("seed", seed)
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError("`y` must be None when `x` is a tf.data.Dataset of (inputs, "
                             "targets) batches. Received: y of type " + type(y).__name__)
        if x.cardinality() == 0:
            raise ValueError("`x` is an empty tf.data.Dataset: it yields no batches.")
    else:
        batch_size = _validate.integer("batch_size", batch_size, minimum=1)
        if y is None:
            raise ValueError("`y` is required when `x` is an array. Received: y=None")
        x, y = np.asarray(x), np.asarray(y)
        if len(x) == 0 or len(x) != len(y):
            raise ValueError("`x` and `y` must hold the same number of samples, at least one. "
                             f"Received: {len(x)} and {len(y)}")
    optimizer = _optimizer_of(model, optimizer)
    inner = _fixed_rate_sub_optimizers(optimizer)
    loss = getattr(model, "loss", None) if loss is None else loss
    if loss is None:
        raise ValueError("`model` has no compiled loss; pass `loss` or compile it first.")
    adapter = _KerasRangeTest(model, optimizer, inner, keras.losses.get(loss),
                              _batches(x, y, batch_size, seed))
    return run_range_test(test, adapter)


