"""Keras 3 adapters for the lrcourse helpers. Importing this module imports Keras.

Introduced in ``notebooks/02_schedules.ipynb`` (schedules) and
``notebooks/03_per_variable_learning_rates.ipynb`` (per-variable rates).
"""

from __future__ import annotations

import functools
import random
import re

import keras
import numpy as np

from lrcourse import _rules
from lrcourse import _validate as check
from lrcourse import schedules as _schedules
from lrcourse.finder import FinderResult, RangeTest

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
    optimizer = _optimizer_of(model, optimizer)
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


# ---------------------------------------------------------------------------------------
# Lesson 06: the LR range test (LR finder)

__all__ += ["find_lr"]


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
    from keras.src.random.seed_generator import global_seed_generator

    variables = _trainable(model)
    test = RangeTest(start_lr, end_lr, num_steps, mode, beta=beta,
                     diverge_factor=diverge_factor, suggestion=suggestion)
    seed = check.seed("seed", seed)
    if isinstance(x, tf.data.Dataset):
        if y is not None:
            raise ValueError("`y` must be None when `x` is a tf.data.Dataset of (inputs, "
                             "targets) batches. Received: y of type " + type(y).__name__)
        if x.cardinality() == 0:
            raise ValueError("`x` is an empty tf.data.Dataset: it yields no batches.")
    else:
        batch_size = check.positive_int("batch_size", batch_size)
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
    loss_fn = keras.losses.get(loss)
    base = [learning_rate_at(sub) for sub in inner]
    if not all(rate > 0 for rate in base):
        raise ValueError(f"every optimizer needs a learning rate > 0. Received: {base}")
    ratios = [rate / base[0] for rate in base]

    if not optimizer.built:
        optimizer.build(variables)
    saved = [(v, v.numpy()) for v in [*model.variables, *optimizer.variables,
                                       global_seed_generator().state]]
    rng = (random.getstate(), np.random.get_state())

    @tf.function(jit_compile=False)
    def train_step(inputs, targets):
        with tf.GradientTape() as tape:
            outputs = model(inputs, training=True)
            value = tf.reduce_mean(loss_fn(targets, outputs))  # a "mse" string gives per-sample
            if model.losses:
                value = value + tf.add_n(model.losses)
        gradients = tape.gradient(value, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return value

    try:
        batches = _batches(x, y, batch_size, seed)
        for step in range(num_steps):
            inputs, targets = next(batches)
            rate = test.rate(step)
            for sub, ratio in zip(inner, ratios, strict=True):
                sub.learning_rate.assign(rate * ratio)
            value = float(train_step(inputs, targets))
            if not test.record(learning_rate_at(inner[0]), value):
                break
    finally:
        for variable, value in saved:
            variable.assign(value)
        random.setstate(rng[0])
        np.random.set_state(rng[1])
    return test.result()


# ---------------------------------------------------------------------------------------
# Per-batch rates (lesson 04)

__all__ += ["BatchLearningRateScheduler", "LearningRateLogger"]


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
    return isinstance(optimizer._learning_rate, keras.Variable)


def _step_of(optimizer) -> int:
    return int(optimizer.iterations)  # about 3x faster than .numpy() on a Keras variable


def _rate_writer(variable):
    """A function ``value= -> None`` that sets the Keras rate ``variable`` to ``value``.

    On TensorFlow, ``variable.value`` is the ``tf.Variable`` that holds the rate (outside a
    layer's autocast scope, which is where callbacks run; the rate variable keeps its own
    dtype, float32, under a ``mixed_float16`` policy too). Given a tensor of that dtype,
    the public ``tf.raw_ops.AssignVariableOp`` sets it in about 8 us, where Keras's
    ``assign`` (which converts, checks and reads the value back) takes about 45 us and
    ``tf.Variable.assign`` about 18 us, on every batch. A distributed variable goes
    through its own ``assign``, which sets every replica; any other backend through
    ``variable.assign``.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        target = variable.value
        if isinstance(target, tf.distribute.DistributedValues):
            return functools.partial(target.assign, read_value=False)
        if isinstance(target, tf.Variable):
            return functools.partial(tf.raw_ops.AssignVariableOp, resource=target.handle)
    return variable.assign


class BatchLearningRateScheduler(keras.callbacks.Callback):
    """Set the learning rate before every batch from the optimizer's global step.

    ``keras.callbacks.LearningRateScheduler`` changes the rate once per epoch. This callback
    calls ``schedule(step)`` before every batch, where ``step`` is ``optimizer.iterations``
    (the number of updates so far, 0-based), not the batch index inside the epoch, so the
    schedule carries on across epochs and across several ``fit`` calls:

    ``rate used by update t = schedule(t)``

    With a ``keras.optimizers.MultiOptimizer`` it sets every sub-optimizer: give one
    schedule for all of them, or a dict ``{sub-optimizer name: schedule}`` that names each.
    The optimizer must be compiled with a fixed (float) rate, which Keras keeps in a
    variable; an optimizer that already has a ``LearningRateSchedule`` is refused, since
    two schedules would fight over the rate. Under a ``mixed_float16`` policy, ``compile``
    wraps the optimizer in a ``LossScaleOptimizer``; the callback sets the wrapped
    optimizer's rate.

    The step is read once per epoch and counted up by one per batch, as Keras's
    ``train_step`` makes one update per batch; a ``LossScaleOptimizer`` may skip the
    update of a batch whose gradients overflow, so with one the step is read before every
    batch. An ``lrcourse`` schedule is evaluated for a whole epoch in one call.

    Args:
        schedule: a function of the 0-based step returning the rate, such as an
            ``lrcourse.schedules`` schedule, or a dict of them by sub-optimizer name.

    Raises:
        TypeError: when ``schedule`` is not callable (nor a dict of callables).
        ValueError: at the start of ``fit``, for an optimizer whose rate is a
            ``LearningRateSchedule``, a dict whose names do not match the
            sub-optimizers, or a model compiled with ``steps_per_execution`` > 1 (Keras
            then runs the batch hooks once per group of that many updates, so every
            rate would be held for the whole group); during ``fit``, when the schedule
            returns a rate that is not a finite number >= 0.

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
        self._targets = []
        self._writers = []
        self._step_each_batch = False
        self._epoch_start = 0
        self._planned = None

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
                    f"({type(sub._learning_rate).__name__}); BatchLearningRateScheduler needs "
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
            self._targets = [(sub, self.schedule[name]) for name, sub in subs]
        else:
            self._targets = [(sub, self.schedule) for _, sub in subs]
        self._writers = [_rate_writer(sub.learning_rate) for sub, _ in self._targets]
        self._optimizer = optimizer
        # A LossScaleOptimizer skips the update of a batch whose gradients overflow, and
        # its step does not advance; then the step is read before every batch.
        self._step_each_batch = isinstance(optimizer, keras.optimizers.LossScaleOptimizer)

    def on_epoch_begin(self, epoch, logs=None):
        """Read the global step once; an ``lrcourse`` schedule is evaluated for the whole epoch.

        The epoch's rates are made into tensors of the rate variable's dtype in one
        operation, so that each batch only assigns one.
        """
        self._epoch_start = _step_of(self._optimizer)
        steps = (self.params or {}).get("steps")
        self._planned = None
        if steps and all(isinstance(fn, _schedules.Schedule) for _, fn in self._targets):
            window = np.arange(self._epoch_start, self._epoch_start + steps)
            self._planned = []
            for sub, fn in self._targets:
                values = np.asarray(fn(window), dtype=np.float64)
                tensors = keras.ops.unstack(
                    keras.ops.convert_to_tensor(values, dtype=sub.learning_rate.dtype))
                self._planned.append((values.tolist(), tensors))

    def on_train_batch_begin(self, batch, logs=None):
        """Assign ``schedule(optimizer.iterations)`` to each (sub-)optimizer's rate."""
        # Keras's batch index restarts every epoch; the global step is the epoch's first step
        # (read from optimizer.iterations) plus the index.
        if self._step_each_batch:
            step = _step_of(self._optimizer)
        else:
            step = self._epoch_start + batch
        index = step - self._epoch_start
        planned = self._planned is not None and 0 <= index < len(self._planned[0][0])
        for i, (write, (sub, fn)) in enumerate(zip(self._writers, self._targets, strict=True)):
            if planned:
                values, tensors = self._planned[i]
                check.scheduled_rate(values[index], step)
                write(value=tensors[index])
            else:
                value = check.scheduled_rate(float(fn(step)), step)
                write(value=keras.ops.convert_to_tensor(value, dtype=sub.learning_rate.dtype))


class LearningRateLogger(keras.callbacks.Callback):
    """Record the learning rate each batch actually used, one column per (sub-)optimizer.

    After every batch (``on_train_batch_end``) it reads the rate the update just applied:
    the rate variable, or, for an optimizer with a ``LearningRateSchedule``, the schedule at
    the step just taken. The rate may come from a schedule, from a callback that sets it
    before the batch (such as :class:`BatchLearningRateScheduler`) or from a ``train_step``
    that changes it. Put the logger first in the callback list: Keras runs the batch-end
    hooks in list order, so it then reads before any other callback sets the rate for the
    next batch. With ``steps_per_execution`` = k > 1, Keras calls the batch hooks once per k
    updates, so the logger records every k-th step (``steps`` says which). (Only such
    batch-end setters make the order matter; a callback that sets
    the rate in ``on_train_batch_begin``, as ``BatchLearningRateScheduler`` does, may come
    before or after the logger. A Keras callback cannot see the others, so the logger cannot
    check its place.) Each ``fit`` starts a fresh record.

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
        step = _step_of(self._optimizer) - 1  # the update that just happened
        self.steps.append(step)
        for key, (_, sub) in zip(self._keys, self._subs, strict=True):
            rate = sub._learning_rate
            if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
                value = np.asarray(rate(step))
            elif _has_fixed_rate(sub):
                value = rate.numpy()
            else:  # a callable rate, which Keras calls without arguments
                value = np.asarray(rate())
            self.history[key].append(float(np.float32(value)))
