"""Argument checks shared by the lrcourse modules, with Keras-style messages."""

from __future__ import annotations

import math
import numbers


def integer(name: str, value: object, *, minimum: int) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``.

    >>> integer("num_steps", 3, minimum=1)
    3
    >>> integer("num_steps", 0, minimum=1)
    Traceback (most recent call last):
    ...
    ValueError: `num_steps` must be an integer >= 1. Received: num_steps=0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an integer >= {minimum}. "
            f"Received: {name}={value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value}")
    return int(value)


def positive_float(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0.

    >>> positive_float("learning_rate", 0.1)
    0.1
    >>> positive_float("learning_rate", -1)
    Traceback (most recent call last):
    ...
    ValueError: `learning_rate` must be a finite number > 0. Received: learning_rate=-1
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a finite number > 0. "
            f"Received: {name}={value!r} ({type(value).__name__})"
        )
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be a finite number > 0. Received: {name}={value!r}")
    return float(value)


def fraction(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise if it is not strictly between 0 and 1.

    >>> fraction("test_fraction", 0.25)
    0.25
    >>> fraction("test_fraction", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: `test_fraction` must be strictly between 0 and 1. Received: test_fraction=1.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be a number strictly between 0 and 1. "
            f"Received: {name}={value!r} ({type(value).__name__})"
        )
    if not 0 < value < 1:
        raise ValueError(f"`{name}` must be strictly between 0 and 1. Received: {name}={value!r}")
    return float(value)


def seed(name: str, value: object) -> int:
    """Return ``value`` as an int usable as a NumPy seed (0 <= seed < 2**32).

    >>> seed("seed", 7)
    7
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"`{name}` must be an int. Received: {name}={value!r} ({type(value).__name__})"
        )
    if not 0 <= value < 2**32:
        raise ValueError(f"`{name}` must be in [0, 2**32). Received: {name}={value}")
    return int(value)


def real(name: str, value: object, *, expected: str = "a finite number") -> float:
    """Return ``value`` as a float, or raise if it is not a finite real number.

    >>> real("gamma", 0.5)
    0.5
    >>> real("gamma", float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: `gamma` must be a finite number. Received: gamma=nan
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"`{name}` must be {expected}. Received: {name}={value!r} ({type(value).__name__})"
        )
    if not math.isfinite(value):
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    return float(value)


def nonnegative_float(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number >= 0.

    >>> nonnegative_float("final_lr", 0)
    0.0
    >>> nonnegative_float("final_lr", -0.1)
    Traceback (most recent call last):
    ...
    ValueError: `final_lr` must be a finite number >= 0. Received: final_lr=-0.1
    """
    number = real(name, value, expected="a finite number >= 0")
    if number < 0:
        raise ValueError(f"`{name}` must be a finite number >= 0. Received: {name}={value!r}")
    return number


def unit_interval(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise if it is not in the closed interval [0, 1].

    >>> unit_interval("alpha", 0.1)
    0.1
    >>> unit_interval("alpha", 2)
    Traceback (most recent call last):
    ...
    ValueError: `alpha` must be a number in [0, 1]. Received: alpha=2
    """
    number = real(name, value, expected="a number in [0, 1]")
    if not 0 <= number <= 1:
        raise ValueError(f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}")
    return number


def increasing_ints(name: str, value: object) -> tuple[int, ...]:
    """Return ``value`` as a tuple of strictly increasing integers >= 1.

    >>> increasing_ints("boundaries", [100, 200])
    (100, 200)
    >>> increasing_ints("boundaries", [200, 100])
    Traceback (most recent call last):
    ...
    ValueError: `boundaries` must be strictly increasing integers >= 1. Received: ...
    """
    expected = "strictly increasing integers >= 1"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(
            f"`{name}` must be a list of {expected}. "
            f"Received: {name}={value!r} ({type(value).__name__})"
        )
    items = list(value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(
                f"`{name}` must be {expected}. Received: {name}={items!r} "
                f"(element {item!r} is {type(item).__name__})"
            )
    pairs = zip(items[:-1], items[1:], strict=True)
    if any(item < 1 for item in items) or any(later <= earlier for earlier, later in pairs):
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={items!r}")
    return tuple(int(item) for item in items)


def choice(name: str, value: object, options: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``options``, or raise.

    >>> choice("mode", "triangular", ("triangular", "exp_range"))
    'triangular'
    >>> choice("mode", "cosine", ("triangular", "exp_range"))
    Traceback (most recent call last):
    ...
    ValueError: `mode` must be one of 'triangular', 'exp_range'. Received: mode='cosine'
    """
    if value not in options:
        allowed = ", ".join(repr(option) for option in options)
        raise ValueError(f"`{name}` must be one of {allowed}. Received: {name}={value!r}")
    return str(value)


def boolean(name: str, value: object) -> bool:
    """Return ``value`` if it is a bool, or raise ``TypeError``.

    >>> boolean("staircase", True)
    True
    """
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
    return value


def decay_coefficient(name: str, value: object) -> float:
    """Return ``value`` as a float, or raise if it is not in the half-open interval [0, 1).

    For the weight of the past in a moving average (``beta_1``, ``rho``, ``smoothing``).

    >>> decay_coefficient("beta", 0.9)
    0.9
    >>> decay_coefficient("beta", 1.0)
    Traceback (most recent call last):
    ...
    ValueError: `beta` must be a number in [0, 1). Received: beta=1.0
    """
    number = real(name, value, expected="a number in [0, 1)")
    if not 0 <= number < 1:
        raise ValueError(f"`{name}` must be a number in [0, 1). Received: {name}={value!r}")
    return number


def scheduled_rate(value: float, step: object) -> float:
    """Return ``value``, the rate a ``schedule`` gave at ``step``, or raise if it is not >= 0.

    >>> scheduled_rate(0.1, 3)
    0.1
    >>> scheduled_rate(float("nan"), 3)
    Traceback (most recent call last):
    ...
    ValueError: `schedule` returned nan at step 3; a learning rate must be a finite number >= 0.
    """
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"`schedule` returned {value!r} at step {step}; a learning rate "
                         "must be a finite number >= 0.")
    return value
