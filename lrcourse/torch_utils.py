"""PyTorch adapters for the lrcourse helpers. Importing this module imports torch.

Introduced in ``notebooks/02_schedules.ipynb``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["as_lambda_lr"]


def as_lambda_lr(optimizer: torch.optim.Optimizer, schedule: Callable) -> LambdaLR:
    """A ``LambdaLR`` that gives param group 0 exactly ``schedule(step)``.

    Call ``scheduler.step()`` once after every ``optimizer.step()``. ``LambdaLR`` multiplies
    each group's initial rate by a factor, so the factor here is
    ``schedule(step) / initial rate of group 0``: group 0 follows the schedule's absolute
    rates and every other group keeps its ratio to group 0 (a group created with half of
    group 0's rate always gets half the scheduled rate).

    Args:
        optimizer: a ``torch.optim.Optimizer``; group 0's rate (its ``initial_lr`` if a
            scheduler already set one) must be > 0.
        schedule: a function of the 0-based step, such as an ``lrcourse.schedules`` schedule.

    Returns:
        The ``LambdaLR``. Creating it already sets every group to step 0 of the schedule.

    Raises:
        TypeError: for an optimizer that is not a torch optimizer or a schedule that is not
            callable.
        ValueError: when group 0's rate is not > 0.

    Example:
        >>> from lrcourse.schedules import exponential_decay
        >>> weights, bias = torch.nn.Parameter(torch.zeros(2)), torch.nn.Parameter(torch.zeros(1))
        >>> optimizer = torch.optim.SGD([{"params": [weights]},
        ...                              {"params": [bias], "lr": 0.5}], lr=1.0)
        >>> scheduler = as_lambda_lr(optimizer, exponential_decay(0.2, 0.5, decay_steps=1))
        >>> [group["lr"] for group in optimizer.param_groups]
        [0.2, 0.1]
        >>> optimizer.step(); scheduler.step()
        >>> [group["lr"] for group in optimizer.param_groups]
        [0.1, 0.05]

    Introduced in ``notebooks/02_schedules.ipynb``.
    """
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            "`optimizer` must be a torch.optim.Optimizer. "
            f"Received: {optimizer!r:.60} ({type(optimizer).__name__})"
        )
    if not callable(schedule):
        raise TypeError(
            "`schedule` must be a function of the step. "
            f"Received: {schedule!r:.60} ({type(schedule).__name__})"
        )
    first = optimizer.param_groups[0]
    reference = float(first.get("initial_lr", first["lr"]))
    if not reference > 0:
        raise ValueError(
            "param group 0 of `optimizer` must have a learning rate > 0 to scale against. "
            f"Received: lr={reference}"
        )

    def factor(step: int) -> float:
        return float(schedule(step)) / reference

    return LambdaLR(optimizer, lr_lambda=factor)
