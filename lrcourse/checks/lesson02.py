"""Checkers for lesson 02: schedules.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from lrcourse.checks._core import Wrong, _number, question


def _rates(answer: Callable, steps: range, where: str) -> np.ndarray:
    """``answer(step)`` for each step as floats, or ``Wrong`` naming the first bad value."""
    return np.array([_number(answer(step), f"the rate at step {step} (with {where})")
                     for step in steps])


def _first_difference(received: np.ndarray, expected: np.ndarray,
                      rtol: float = 1e-6) -> int | None:
    """Index of the first step where ``received`` is not ``expected``, or None."""
    close = np.isclose(received, expected, rtol=rtol, atol=1e-12)
    return None if close.all() else int(np.argmin(close))


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-6, atol=1e-12))


_TRIANGULAR_CASES = [(0.001, 0.006, 4), (0.01, 0.1, 1), (0.05, 0.5, 7), (1e-4, 1e-2, 25)]


@question(
    "02.triangular_schedule",
    "A triangular cyclical learning rate",
    "start at base_lr at step 0, reach max_lr at step step_size, come back to base_lr at "
    "2 * step_size, repeat",
)
def _check_triangular_schedule(answer: Callable) -> None:
    from lrcourse.schedules import cyclical

    for base_lr, max_lr, step_size in _TRIANGULAR_CASES:
        steps = range(6 * step_size + 1)
        where = f"base_lr={base_lr}, max_lr={max_lr}, step_size={step_size}"
        received = _rates(lambda s, b=base_lr, m=max_lr, z=step_size: answer(s, b, m, z), steps,
                          where)
        reference = cyclical(base_lr, max_lr, step_size)
        expected = reference(np.array(steps))
        bad = _first_difference(received, expected, rtol=1e-9)
        if bad is None:
            continue
        message = (f"with {where}, at step {bad}: expected {expected[bad]:.10g}, "
                   f"received {received[bad]:.10g}")
        if _same(received, expected):
            raise Wrong(message, "right to about seven digits only: compute in Python floats "
                                 "(float64), not float32")
        later = reference(np.array(steps) + 1)
        earlier = reference(np.maximum(np.array(steps) - 1, 0))
        if _same(received[1:], later[1:]) or _same(received[1:], earlier[1:]):
            raise Wrong(message, "off by one step: steps count from 0, and step 0 is base_lr")
        if _same(received, reference(np.array(steps) + step_size)):
            raise Wrong(message, "your cycle starts at the top: step 0 must give base_lr")
        repeats_too_soon = _same(received[step_size:], received[:-step_size])
        if repeats_too_soon and np.ptp(received) > 0:
            raise Wrong(message, "a whole cycle (up and down) is 2 * step_size steps, "
                                 "step_size is only the way up")
        if _same(received + base_lr, expected):
            raise Wrong(message, "the triangle goes from base_lr to max_lr: add base_lr")
        if _same(received - base_lr, (expected - base_lr) * max_lr / (max_lr - base_lr)):
            raise Wrong(message, "the triangle's height is max_lr - base_lr, so the peak is "
                                 "max_lr, not base_lr + max_lr")
        raise Wrong(message)


_WARMUP_HOLD_CASES = [(0.1, 10, 5, 30, 0.001), (1.0, 3, 1, 7, 0.0), (0.5, 25, 40, 100, 0.05)]


@question(
    "02.warmup_hold_cosine",
    "Warmup, then constant, then cosine decay, as one schedule",
    "join three simple schedules at warmup_steps and warmup_steps + hold_steps; each piece "
    "counts from its own boundary, and the last one must hold final_lr",
)
def _check_warmup_hold_cosine(answer: Callable) -> None:
    from lrcourse.schedules import constant, cosine_decay, join, linear_warmup

    for peak_lr, warmup, hold, decay, final_lr in _WARMUP_HOLD_CASES:
        where = (f"peak_lr={peak_lr}, warmup_steps={warmup}, hold_steps={hold}, "
                 f"decay_steps={decay}, final_lr={final_lr}")
        schedule = answer(peak_lr, warmup, hold, decay, final_lr)
        if not callable(schedule):
            raise Wrong(f"expected a function step -> learning rate, received "
                        f"{type(schedule).__name__} {schedule!r:.60}",
                        "return the schedule itself, not its value")
        end = warmup + hold + decay
        steps = np.arange(end + 200)
        received = _rates(schedule, range(len(steps)), where)
        cosine = cosine_decay(peak_lr, decay, alpha=final_lr / peak_lr)
        pieces = [linear_warmup(peak_lr, warmup), constant(peak_lr), cosine]
        expected = join(pieces, [warmup, warmup + hold])(steps)
        bad = _first_difference(received, expected)
        if bad is None:
            continue
        message = (f"with {where}, at step {bad}: expected {expected[bad]:.6g}, "
                   f"received {received[bad]:.6g}")
        if bad > end:
            raise Wrong(message, f"after step {end} the rate must stay at final_lr={final_lr}; "
                                 "clip the cosine's progress at 1")
        for d_warm, d_hold in itertools.product((-1, 0, 1), repeat=2):
            edges = [warmup + d_warm, warmup + hold + d_hold]
            if (d_warm, d_hold) == (0, 0) or not 1 <= edges[0] < edges[1]:
                continue
            moved = [linear_warmup(peak_lr, edges[0]), pieces[1], cosine]
            for candidate in (join(pieces, edges)(steps), join(moved, edges)(steps)):
                first = _first_difference(received, candidate)
                if first is None or first > end + 1:
                    raise Wrong(message, "off by one at a boundary: warmup_steps is the first "
                                         "step at peak_lr, warmup_steps + hold_steps the first "
                                         "step of the decay")
        offset = warmup + hold
        segments = [(0, warmup), (warmup, offset), (offset, end + 1)]
        start, stop = next((a, b) for a, b in segments if a <= bad < b)
        for shift in (-1, 1):
            shifted = join(pieces, [warmup, offset])(np.maximum(steps + shift, 0))
            if _same(received[start:stop], shifted[start:stop]):
                raise Wrong(message, f"off by one step between steps {start} and {stop - 1}: "
                                     "the ramp is 0 at step 0 and reaches peak_lr at step "
                                     "warmup_steps; the cosine is peak_lr at its first step")
        for alpha, hint in ((final_lr, "cosine_decay's alpha is a fraction of the initial "
                                       "rate: alpha = final_lr / peak_lr"),
                            (0.0, f"the cosine must end at final_lr={final_lr}, not at 0")):
            if alpha == final_lr / peak_lr:
                continue
            floor = cosine_decay(peak_lr, decay, alpha=alpha)
            if _same(received, join([pieces[0], pieces[1], floor], [warmup, offset])(steps)):
                raise Wrong(message, hint)

        def cosine_from_zero(s, cosine=cosine, offset=offset):
            return cosine(s + offset)

        global_cosine = join([pieces[0], pieces[1], cosine_from_zero], [warmup, offset])(steps)
        if _same(received[: end + 1], global_cosine[: end + 1]):
            raise Wrong(message, "the cosine must count steps from its own start, "
                                 "warmup_steps + hold_steps, not from 0")
        raise Wrong(message)


_KERAS_TO_TORCH_CASES = [(0.1, 100, 0.5), (0.05, 45, 0.9), (1.0, 7, 0.25)]
STEPS_PER_EPOCH = 45  # 1,437 digits at batch 32, rounded up


@question(
    "02.keras_to_torch",
    "Reproduce a Keras schedule with a PyTorch scheduler",
    "ExponentialDecay(staircase=True) multiplies by decay_rate once every decay_steps "
    "optimizer steps; which PyTorch scheduler does exactly that?",
)
def _check_keras_to_torch(answer: Callable) -> None:
    import torch

    from lrcourse.schedules import exponential_decay

    for initial_lr, decay_steps, decay_rate in _KERAS_TO_TORCH_CASES:
        where = (f"ExponentialDecay({initial_lr}, decay_steps={decay_steps}, "
                 f"decay_rate={decay_rate}, staircase=True)")
        parameter = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([parameter], lr=initial_lr)
        scheduler = answer(optimizer, initial_lr, decay_steps, decay_rate)
        if isinstance(scheduler, type) or not callable(getattr(scheduler, "step", None)):
            received = scheduler.__name__ if isinstance(scheduler, type) else (
                f"{type(scheduler).__name__} {scheduler!r:.60}")
            raise Wrong(f"expected a PyTorch LR scheduler, received {received}",
                        "create the scheduler with the optimizer you were given and return it")
        if isinstance(scheduler, torch.optim.Optimizer):
            raise Wrong("expected a PyTorch LR scheduler, received the optimizer itself",
                        "wrap the optimizer in a scheduler from torch.optim.lr_scheduler")
        wrapped = getattr(scheduler, "optimizer", optimizer)
        if isinstance(wrapped, torch.optim.Optimizer) and wrapped is not optimizer:
            raise Wrong("the scheduler you returned drives another optimizer, so the rate of "
                        "the one you were given never changes",
                        "pass the `optimizer` argument to the scheduler; do not create a new one")
        steps = np.arange(3 * decay_steps + 10)
        received = []
        for _ in steps:
            received.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        received = np.array(received, dtype=np.float64)
        expected = exponential_decay(initial_lr, decay_rate, decay_steps, staircase=True)(steps)
        bad = _first_difference(received, expected)
        if bad is None:
            continue
        message = (f"for {where}, stepped once per optimizer step: at step {bad} expected "
                   f"{expected[bad]:.6g}, received {received[bad]:.6g}")
        smooth = exponential_decay(initial_lr, decay_rate, decay_steps)(steps)
        if _same(received, smooth):
            raise Wrong(message, "staircase=True holds the rate between drops; yours decays "
                                 "a little at every step")
        per_epoch = max(1, decay_steps // STEPS_PER_EPOCH)
        epochs_mistake = exponential_decay(initial_lr, decay_rate, per_epoch, staircase=True)
        if per_epoch != decay_steps and _same(received, epochs_mistake(steps)):
            raise Wrong(message, "decay_steps counts optimizer steps, not epochs: "
                                 "do not divide by the steps per epoch")
        drops = np.flatnonzero(~np.isclose(np.diff(received), 0.0, rtol=0, atol=1e-15))
        if not len(drops):
            raise Wrong(message, f"the rate never dropped in {len(steps)} steps, but the first "
                                 f"drop belongs at step {decay_steps}: decay_steps counts "
                                 "optimizer steps, not epochs")
        first = int(drops[0]) + 1
        if abs(first - decay_steps) == 1:
            raise Wrong(message, f"off by one step: the first drop belongs at step "
                                 f"{decay_steps} exactly, yours comes at step {first}")
        if first < decay_steps:
            raise Wrong(message, f"your rate first drops at step {first}; it must hold "
                                 f"{initial_lr} for decay_steps={decay_steps} optimizer steps, "
                                 "then multiply by decay_rate once")
        raise Wrong(message)
