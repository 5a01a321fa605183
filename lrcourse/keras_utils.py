"""Keras 3 adapters for the lrcourse helpers. Importing this module imports Keras.

Introduced in ``notebooks/02_schedules.ipynb``.
"""

from __future__ import annotations

import keras
import numpy as np

from lrcourse import schedules as _schedules

__all__ = ["LrcourseSchedule", "as_keras_schedule", "learning_rate_at"]


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
