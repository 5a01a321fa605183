"""One call that seeds every random number generator a lesson uses."""

from __future__ import annotations

import random

import numpy as np

from lrcourse import _validate


def seed_everything(seed: int, *, tensorflow: bool = True, torch: bool = True) -> None:
    """Seed Python's ``random``, NumPy's global generator, TensorFlow/Keras and PyTorch.

    Keras is seeded through ``keras.utils.set_random_seed`` (which also seeds Python and
    NumPy) and PyTorch through ``torch.manual_seed``. Each framework is imported only when
    its flag is true, so a NumPy-only lesson does not pay for importing TensorFlow.

    Args:
        seed: a non-negative integer below 2**32.
        tensorflow: also seed TensorFlow/Keras.
        torch: also seed PyTorch.

    Raises:
        TypeError: if ``seed`` is not an integer (``bool`` is rejected too).
        ValueError: if ``seed`` is negative or not below 2**32.

    Example:
        >>> seed_everything(0, tensorflow=False, torch=False)
        >>> a = np.random.rand()
        >>> seed_everything(0, tensorflow=False, torch=False)
        >>> a == np.random.rand()
        True

    Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
    """
    seed = _validate.seed("seed", seed)
    random.seed(seed)
    np.random.seed(seed)
    if tensorflow:
        import keras

        keras.utils.set_random_seed(seed)
    if torch:
        import torch as torch_module

        torch_module.manual_seed(seed)
