"""Argument checks shared by the lrcourse modules, with Keras-style messages."""

from __future__ import annotations

import math
import numbers


def positive_int(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= ``minimum``.

    >>> positive_int("num_steps", 3)
    3
    >>> positive_int("num_steps", 0)
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
