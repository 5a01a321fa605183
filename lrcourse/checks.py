"""Exercise checkers: each question's answer gets PASS, NOT YET or WRONG with a hint.

An exercise notebook defines the learner's answer as a function and hands it to ``check``:

    >>> def largest_stable_lr(hessian):
    ...     raise NotImplementedError("Exercise: return the largest stable learning rate")
    >>> print(check("01.largest_stable_lr", largest_stable_lr).row())
    01.largest_stable_lr  NOT YET  hint: ...

``check`` never raises for anything the learner's code does; it only raises for a
question id that does not exist (a bug in the notebook, not in the answer). The
result displays as a coloured row in Jupyter and carries a machine-readable copy
(MIME type ``application/vnd.lrcourse.check+json``) that ``lrcourse check`` reads back
from the executed notebook.

Framework imports happen inside the checkers that need them.

Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
"""

from __future__ import annotations

import enum
import functools
import html
import itertools
import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MIME_TYPE = "application/vnd.lrcourse.check+json"


class Status(str, enum.Enum):
    """The three verdicts."""

    PASS = "PASS"
    NOT_YET = "NOT YET"
    WRONG = "WRONG"


class Wrong(Exception):
    """Raised by a checker: the answer is wrong. ``hint`` says what to look at."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class CheckResult:
    """One question's verdict: ``status``, what was wrong (``message``) and a ``hint``."""

    question: str
    status: Status
    message: str = ""
    hint: str = ""

    @property
    def passed(self) -> bool:
        """True for PASS."""
        return self.status is Status.PASS

    def row(self) -> str:
        """One line of text: question, verdict, then message and hint when there are any.

        >>> CheckResult("01.q", Status.WRONG, "expected 2, received 3", "add one").row()
        '01.q  WRONG  expected 2, received 3  hint: add one'
        """
        parts = [self.question, self.status.value]
        if self.message:
            parts.append(self.message)
        if self.hint:
            parts.append(f"hint: {self.hint}")
        return "  ".join(parts)

    def to_dict(self) -> dict:
        """A JSON-ready dict; ``from_dict`` reverses it."""
        return {"question": self.question, "status": self.status.value,
                "message": self.message, "hint": self.hint}

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        """Rebuild a result from ``to_dict`` output.

        >>> r = CheckResult("01.q", Status.PASS)
        >>> CheckResult.from_dict(r.to_dict()) == r
        True
        """
        return cls(data["question"], Status(data["status"]), data.get("message", ""),
                   data.get("hint", ""))

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        colour = {Status.PASS: "#1a7f37", Status.NOT_YET: "#9a6700", Status.WRONG: "#cf222e"}
        details = "".join(
            f"<div>{html.escape(label)}{html.escape(text)}</div>"
            for label, text in (("", self.message), ("hint: ", self.hint)) if text
        )
        rich = (
            f'<div style="border-left:4px solid {colour[self.status]};padding-left:8px">'
            f'<b style="color:{colour[self.status]}">{self.status.value}</b> '
            f"<code>{html.escape(self.question)}</code>{details}</div>"
        )
        return {"text/plain": self.row(), "text/html": rich, MIME_TYPE: self.to_dict()}


@dataclass(frozen=True)
class Question:
    """A registered exercise question."""

    id: str
    title: str
    hint: str
    checker: Callable[[Callable], None]

    @property
    def lesson(self) -> str:
        """The two-digit lesson number, the part of ``id`` before the dot."""
        return self.id.split(".", 1)[0]


QUESTIONS: dict[str, Question] = {}


def question(id: str, title: str, hint: str) -> Callable:
    """Register a checker under ``id`` (``"NN.name"``, NN the lesson number).

    The checker receives the learner's function and raises ``Wrong`` to reject it.

    Example:
        >>> @question("99.double", "Double a number", "multiply by two")
        ... def _check_double(answer):
        ...     if answer(2) != 4:
        ...         raise Wrong(f"answer(2): expected 4, received {answer(2)!r}")
        >>> check("99.double", lambda x: 2 * x).status.value
        'PASS'
        >>> check("99.double", lambda x: x + 1).row()
        '99.double  WRONG  answer(2): expected 4, received 3  hint: multiply by two'
        >>> _ = QUESTIONS.pop("99.double")
    """
    lesson, _, name = id.partition(".")
    if not (len(lesson) == 2 and lesson.isdigit() and name.isidentifier()):
        raise ValueError(f"question id must look like '01.name'. Received: {id!r}")

    def register(checker: Callable[[Callable], None]) -> Callable[[Callable], None]:
        if id in QUESTIONS:
            raise ValueError(f"question {id!r} is registered twice")
        QUESTIONS[id] = Question(id, title, hint, checker)
        return checker

    return register


def questions_for_lesson(lesson: str) -> list[Question]:
    """The questions of one lesson, in registration order.

    >>> [q.id for q in questions_for_lesson("01")][:2]
    ['01.largest_stable_lr', '01.set_keras_learning_rate']
    """
    return [q for q in QUESTIONS.values() if q.lesson == lesson]


def check(question_id: str, answer: object) -> CheckResult:
    """Check a learner's ``answer`` (a function) for ``question_id``.

    NOT YET when the answer raises ``NotImplementedError`` (the untouched stub), WRONG
    with a hint when it gives a wrong result, raises anything else or is not a function,
    PASS otherwise.

    Raises:
        ValueError: when ``question_id`` is not a registered question.

    Example:
        >>> import numpy as np
        >>> check("01.largest_stable_lr", lambda h: 2 / np.linalg.eigvalsh(h).max()).status
        <Status.PASS: 'PASS'>
        >>> check("01.largest_stable_lr", lambda h: 1 / np.linalg.eigvalsh(h).max()).row()
        '01.largest_stable_lr  WRONG  ... hint: ...'
    """
    if question_id not in QUESTIONS:
        raise ValueError(
            f"Unknown question {question_id!r}. Expected one of: {', '.join(QUESTIONS)}"
        )
    q = QUESTIONS[question_id]
    if not callable(answer):
        return CheckResult(
            question_id, Status.WRONG,
            f"expected a function, received {type(answer).__name__} {answer!r:.60}", q.hint,
        )
    try:
        q.checker(answer)
    except NotImplementedError:
        return CheckResult(question_id, Status.NOT_YET, "", q.hint)
    except Wrong as wrong:
        return CheckResult(question_id, Status.WRONG, wrong.message, wrong.hint or q.hint)
    except Exception as error:  # the learner's code may raise anything; report it, never crash
        return CheckResult(
            question_id, Status.WRONG,
            f"your code raised {type(error).__name__}: {error}", q.hint,
        )
    return CheckResult(question_id, Status.PASS)


def _number(received: object, what: str) -> float:
    """The answer as a float, or ``Wrong`` explaining what type was expected."""
    if isinstance(received, bool) or not isinstance(received, (numbers.Real, np.ndarray)):
        raise Wrong(f"expected {what} as a float, received {type(received).__name__} "
                    f"{received!r:.60}")
    try:
        value = np.asarray(received, dtype=np.float64)
    except (TypeError, ValueError):
        raise Wrong(f"expected {what} as a float, received an array of dtype "
                    f"{received.dtype}") from None
    if value.size != 1:
        raise Wrong(f"expected {what} as a single float, received an array of shape "
                    f"{value.shape}")
    return float(value.reshape(()))


# ---------------------------------------------------------------------------------------
# Lesson 01: the fixed learning rate


def _spd_cases() -> list[np.ndarray]:
    from lrcourse.data import quadratic_bowl

    return [
        quadratic_bowl([4.0]).hessian,
        quadratic_bowl([1.0, 10.0]).hessian,
        quadratic_bowl([0.5, 3.0, 7.0], rotation_seed=3).hessian,
        quadratic_bowl([0.01, 0.2, 2.5, 2.6, 40.0], rotation_seed=11).hessian,
    ]


@question(
    "01.largest_stable_lr",
    "Largest stable learning rate of a quadratic bowl",
    "gradient descent multiplies the error along each eigenvector by (1 - lr * curvature); "
    "find where the worst direction stops shrinking",
)
def _check_largest_stable_lr(answer: Callable) -> None:
    for hessian in _spd_cases():
        curvatures = np.linalg.eigvalsh(hessian)
        expected = 2.0 / curvatures[-1]
        received = _number(answer(hessian.copy()), "the learning rate")
        if math.isclose(received, expected, rel_tol=1e-6):
            continue
        message = (f"for a bowl with curvatures {np.round(curvatures, 3).tolist()}: "
                   f"expected {expected:.6g}, received {received:.6g}")
        traps = [
            (1.0 / curvatures[-1], "1/L reaches the minimum in one step along the steepest "
                                   "direction; the stability limit is twice that"),
            (2.0 / curvatures[0], "you used the smallest curvature; the direction that blows "
                                  "up first is the most curved one"),
            (2.0 / np.trace(hessian), "the trace sums all curvatures; the limit depends on "
                                      "the largest eigenvalue alone"),
            (2.0 / np.diag(hessian).max(), "diagonal entries are the curvatures only when the "
                                           "bowl is axis-aligned; use the eigenvalues"),
        ]
        for value, hint in traps:
            if math.isclose(received, value, rel_tol=1e-6):
                raise Wrong(message, hint)
        raise Wrong(message)


def _keras_step(optimizer, variable, gradient) -> np.ndarray:
    """Apply one gradient and return how far the variable moved."""
    before = np.array(variable.numpy())
    optimizer.apply_gradients([(gradient, variable)])
    return before - np.array(variable.numpy())


@question(
    "01.set_keras_learning_rate",
    "Change a Keras optimizer's learning rate mid-training",
    "in Keras 3 `optimizer.learning_rate` is a variable you can assign to",
)
def _check_set_keras_learning_rate(answer: Callable) -> None:
    import keras

    variable = keras.Variable(np.ones(3, dtype="float32"))
    gradient = np.array([1.0, -2.0, 0.5], dtype="float32")
    optimizer = keras.optimizers.SGD(learning_rate=0.1)
    _keras_step(optimizer, variable, gradient)  # training is under way
    for new_rate in (0.01, 0.25):
        answer(optimizer, new_rate)
        moved = _keras_step(optimizer, variable, gradient)
        used = float(np.mean(moved / gradient))
        if not np.allclose(moved, new_rate * gradient, rtol=1e-5):
            raise Wrong(
                f"after setting {new_rate}, the next SGD step used learning rate "
                f"{used:.4g}",
                "assign `optimizer.learning_rate = value` (or `.assign(value)`); an attribute "
                "such as `optimizer.lr` is not read by Keras 3",
            )
        read_back = float(optimizer.learning_rate)
        if not math.isclose(read_back, new_rate, rel_tol=1e-6):
            raise Wrong(f"the step used {new_rate} but `float(optimizer.learning_rate)` "
                        f"reads {read_back}")


def _torch_step(optimizer, parameters) -> list[np.ndarray]:
    """One SGD step with gradient ``[1, -2, 0.5]`` on each parameter; the distance moved."""
    import torch

    before = [p.detach().clone() for p in parameters]
    optimizer.zero_grad()
    loss = sum((p * torch.tensor([1.0, -2.0, 0.5])).sum() for p in parameters)
    loss.backward()
    optimizer.step()
    return [(b - p.detach()).numpy() for b, p in zip(before, parameters, strict=True)]


@question(
    "01.set_torch_learning_rate",
    "Change a PyTorch optimizer's learning rate mid-training",
    "PyTorch reads the rate from every dict in `optimizer.param_groups`",
)
def _check_set_torch_learning_rate(answer: Callable) -> None:
    import torch

    parameters = [torch.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)]
    optimizer = torch.optim.SGD(
        [{"params": [parameters[0]], "lr": 0.1}, {"params": [parameters[1]], "lr": 0.05}]
    )
    _torch_step(optimizer, parameters)  # training is under way
    gradient = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    for new_rate in (0.01, 0.3):
        answer(optimizer, new_rate)
        for group, moved in enumerate(_torch_step(optimizer, parameters)):
            if not np.allclose(moved, new_rate * gradient, rtol=1e-5):
                used = float(np.mean(moved / gradient))
                raise Wrong(
                    f"after setting {new_rate}, param group {group} still stepped with "
                    f"learning rate {used:.4g}",
                    "set `group['lr']` for every group in `optimizer.param_groups`; "
                    "`optimizer.lr` and `optimizer.defaults` are not read by `step()`",
                )


_SWEEP_CASES = [
    # (histories, target, expected): lowest final loss, largest rate and NaN handling all
    # give a different answer from the right one in at least one case.
    ({1e-3: [2.3, 2.1, 1.9, 1.7], 1e-2: [2.3, 1.5, 0.6, 0.2], 1e-1: [2.3, 0.8, 0.4, 0.35],
      1.0: [2.3, 3.5, math.nan, math.nan]}, 0.5, 1e-1),
    ({0.5: [1.0, 0.3, 0.2], 0.05: [1.0, 0.4, 0.1]}, 0.5, 0.05),
    ({1e-4: [2.3, 2.29], 1e-3: [2.3, 2.2]}, 0.5, None),
    ({1.0: [math.nan, math.nan, math.nan], 0.01: [2.0, 1.5, 1.0]}, 1.0, 0.01),
    ({0.3: [1.2, 0.9, 0.8], 0.03: [1.2, 1.1, 0.85, 0.7], 3.0: [1.2, math.inf, math.nan]}, 0.8, 0.3),
]


@question(
    "01.first_to_reach",
    "Pick the learning rate that first reaches a loss target",
    "walk each curve epoch by epoch and find the first loss <= target; NaN never counts; "
    "break ties by the smaller rate; return None when no run gets there",
)
def _check_first_to_reach(answer: Callable) -> None:
    for histories, target, expected in _SWEEP_CASES:
        shown = {rate: list(losses) for rate, losses in histories.items()}
        received = answer({rate: list(losses) for rate, losses in histories.items()}, target)
        if expected is None:
            if received is not None:
                raise Wrong(f"no run reaches {target} in {shown}, so expected None, "
                            f"received {received!r}")
            continue
        if received is None:
            raise Wrong(f"expected {expected} for target {target} in {shown}, received None")
        value = _number(received, "a learning rate")
        if not math.isclose(value, expected, rel_tol=1e-9):
            raise Wrong(f"for target {target} in {shown}: expected {expected}, "
                        f"received {value}")


# ---------------------------------------------------------------------------------------
# Lesson 02: schedules


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


# ---------------------------------------------------------------------------------------
# Lesson 03: per-variable and per-group rates


def _fine_tune_model():
    """The lesson's fine-tuning network: ``base`` -> ``middle`` -> ``head``, fixed weights."""
    from collections import OrderedDict

    import torch

    torch.manual_seed(3)
    return torch.nn.Sequential(OrderedDict(
        base=torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU()),
        middle=torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU()),
        head=torch.nn.Linear(8, 3),
    ))


@question(
    "03.fine_tune_groups",
    "Param groups for fine-tuning: frozen base, slow middle, fast head",
    "call model.base.requires_grad_(False), then give torch.optim.SGD one group per part: "
    "model.middle at lr 0.01 and model.head at lr 0.1, momentum 0.9",
)
def _check_fine_tune_groups(answer: Callable) -> None:
    import torch

    model = _fine_tune_model()
    try:
        optimizer = answer(model)
    except ValueError as error:
        if "more than one parameter group" in str(error):
            raise Wrong(f"PyTorch refused the groups: {error}",
                        "a parameter may sit in one group only; build each group from its "
                        "own module (model.middle.parameters(), model.head.parameters())"
                        ) from None
        raise
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise Wrong(f"expected the torch.optim optimizer, received "
                    f"{type(optimizer).__name__} {optimizer!r:.60}")
    if not isinstance(optimizer, torch.optim.SGD):
        raise Wrong(f"expected torch.optim.SGD, received {type(optimizer).__name__}")
    rate_of = {}
    for group in optimizer.param_groups:
        for p in group["params"]:
            rate_of[id(p)] = (group["lr"], group.get("momentum", 0.0))
    parts = {name: list(getattr(model, name).parameters()) for name in ("base", "middle", "head")}
    expected = {"middle": 0.01, "head": 0.1}
    for part, rate in expected.items():
        missing = [p for p in parts[part] if id(p) not in rate_of]
        if missing:
            raise Wrong(f"{len(missing)} of model.{part}'s parameters are in no group, so they "
                        "never train", f"add model.{part}.parameters() to a group")
        rates = {rate_of[id(p)][0] for p in parts[part]}
        if not all(math.isclose(r, rate, rel_tol=1e-9) for r in rates):
            other = expected["head" if part == "middle" else "middle"]
            swapped = all(math.isclose(r, other, rel_tol=1e-9) for r in rates)
            raise Wrong(f"model.{part} trains at lr {sorted(rates)}, expected {rate}",
                        "middle and head are swapped: the new head learns fastest, the "
                        "pretrained middle slower" if swapped else "")
        momenta = {rate_of[id(p)][1] for p in parts[part]}
        if not all(math.isclose(m, 0.9) for m in momenta):
            raise Wrong(f"model.{part} uses momentum {sorted(momenta)}, expected 0.9")
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.linspace(-1.0, 1.0, 24).reshape(4, 6)
    y = torch.tensor([0, 1, 2, 1])
    for _ in range(3):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    moved = {id(p): not torch.equal(b, p.detach())
             for b, p in zip(before, model.parameters(), strict=True)}
    if any(moved[id(p)] for p in parts["base"]):
        raise Wrong("after three training steps model.base has moved: the frozen layer "
                    "still trains",
                    "freeze it with model.base.requires_grad_(False) and keep it out of the "
                    "optimizer; a group at lr 0 is not frozen once weight decay or a "
                    "scheduler changes it")
    if any(p.requires_grad for p in parts["base"]):
        raise Wrong("model.base is out of the optimizer but its parameters still have "
                    "requires_grad=True, so every backward pass computes gradients nobody "
                    "uses", "call model.base.requires_grad_(False)")
    if not all(moved[id(p)] for p in parts["middle"] + parts["head"]):
        raise Wrong("some of model.middle's or model.head's parameters did not move in "
                    "three training steps")


def _digits_net():
    """A small Sequential classifier named ``digits_net`` with ``features`` and ``classifier``."""
    import keras

    keras.utils.set_random_seed(5)
    return keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(8, activation="relu", name="features"),
        keras.layers.Dense(3, name="classifier"),
    ], name="digits_net")


@question(
    "03.keras_two_rates",
    "Two layers, two rates, inside model.fit",
    "compile with a keras.optimizers.MultiOptimizer whose OptimizerMap keys match whole "
    "variable paths such as 'digits_net/features/kernel' (or use "
    "lrcourse.keras_utils.multi_optimizer, which takes layer names)",
)
def _check_keras_two_rates(answer: Callable) -> None:
    import keras
    import tensorflow as tf

    model = _digits_net()
    result = answer(model)
    if result is not None and result is not model:
        raise Wrong(f"compile the model you were given and return nothing (or it); received "
                    f"{type(result).__name__}")
    if getattr(model, "optimizer", None) is None or not model.compiled:
        raise Wrong("the model is not compiled", "call model.compile(optimizer=..., loss=...)")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 6)).astype("float32")
    y = rng.integers(0, 3, size=16)
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=x, y=y, y_pred=model(x, training=True))
    gradients = [np.array(g) for g in tape.gradient(loss, model.trainable_variables)]
    before = [v.numpy().copy() for v in model.trainable_variables]
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, shuffle=False)
    expected = {"features": 0.01, "classifier": 0.1}
    used = {}
    for variable, start, grad in zip(model.trainable_variables, before, gradients, strict=True):
        layer = variable.path.split("/")[-2]
        big = np.abs(grad) > 1e-4
        if not big.any():
            continue
        ratios = (start - variable.numpy())[big] / grad[big]
        used.setdefault(layer, []).append(float(np.median(ratios)))
    rates = {layer: float(np.median(values)) for layer, values in used.items()}
    shown = ", ".join(f"{layer} {rate:.4g}" for layer, rate in rates.items())
    if all(math.isclose(rates.get(k, math.nan), v, rel_tol=1e-3) for k, v in expected.items()):
        return
    message = f"one step of fit used these rates: {shown}; expected features 0.01, classifier 0.1"
    if isinstance(model.optimizer, keras.optimizers.MultiOptimizer) and math.isclose(
            rates.get("features", math.nan), rates.get("classifier", math.nan), rel_tol=1e-3):
        raise Wrong(message, "both layers got the same optimizer, so a key matched no variable "
                             "and they fell to the default. OptimizerMap full-matches the whole "
                             "path; in this Sequential model that is 'digits_net/features/kernel'"
                             "; lrcourse.keras_utils.rate_table(model) shows who gets what")
    if math.isclose(rates.get("features", math.nan), 0.1, rel_tol=1e-3) and math.isclose(
            rates.get("classifier", math.nan), 0.01, rel_tol=1e-3):
        raise Wrong(message, "the rates are swapped")
    raise Wrong(message, "use plain SGD with no momentum, so one step moves each weight by "
                         "rate x gradient")


def _adam_moves(scales: tuple[float, float], rates: tuple[float, float], steps: int) -> tuple:
    """How far w1 and w2 move under Adam (Keras defaults) on w1^2 + w2^2 from (1, 2)."""
    w = np.array([1.0, 2.0])
    m = np.zeros(2)
    v = np.zeros(2)
    for t in range(1, steps + 1):
        g = 2.0 * w * np.array(scales)
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        m_hat, v_hat = m / (1 - 0.9 ** t), v / (1 - 0.999 ** t)
        w = w - np.array(rates) * m_hat / (np.sqrt(v_hat) + 1e-7)
    return tuple(np.abs(w - np.array([1.0, 2.0])))


def _sgd_moves(scales: tuple[float, float], rates: tuple[float, float], steps: int) -> tuple:
    w = np.array([1.0, 2.0])
    for _ in range(steps):
        w = w - np.array(rates) * 2.0 * w * np.array(scales)
    return tuple(np.abs(w - np.array([1.0, 2.0])))


@question(
    "03.adam_gradient_scaling",
    "Gradient scaling under Adam, measured, then fixed",
    "'scale_gradient': one Adam(0.01), w2's gradient times 0.1; 'separate_rates': Adam(0.01) "
    "for w1 and Adam(0.001) for w2; return how far each variable moved",
)
def _check_adam_gradient_scaling(answer: Callable) -> None:
    for steps in (1, 5, 20):
        methods = {
            "scale_gradient": ((1.0, 0.1), (0.01, 0.01)),
            "separate_rates": ((1.0, 1.0), (0.01, 0.001)),
        }
        for method, (scales, rates) in methods.items():
            received = answer(method, steps)
            if not isinstance(received, (tuple, list, np.ndarray)) or len(received) != 2:
                raise Wrong(f"train({method!r}, {steps}): expected a pair (moved_w1, moved_w2), "
                            f"received {type(received).__name__} {received!r:.60}")
            moved = np.array([_number(r, f"how far a variable moved ({method})")
                              for r in received])
            expected = np.array(_adam_moves(scales, rates, steps))
            if np.allclose(moved, expected, rtol=2e-3, atol=1e-7):
                continue
            message = (f"train({method!r}, {steps}) returned moves {np.round(moved, 6).tolist()}; "
                       f"expected {np.round(expected, 6).tolist()}")
            traps = [
                (_sgd_moves(scales, rates, steps),
                 "that is what SGD does; the exercise is about Adam"),
                (_adam_moves((1.0, 0.1), (0.01, 0.01), steps),
                 "'separate_rates' must not scale the gradient: give w2 its own Adam with "
                 "learning_rate=0.001"),
                (_adam_moves((0.1, 1.0), (0.01, 0.01), steps),
                 "you slowed w1 instead of w2"),
                (_adam_moves((1.0, 1.0), (0.001, 0.01), steps),
                 "you slowed w1 instead of w2"),
                (_adam_moves(scales, rates, steps + 1), f"that is {steps + 1} steps, not {steps}"),
                (_adam_moves(scales, rates, max(steps - 1, 0)),
                 f"that is {steps - 1} steps, not {steps}"),
            ]
            for value, hint in traps:
                if np.allclose(moved, value, rtol=2e-3, atol=1e-7):
                    raise Wrong(message, hint)
            raise Wrong(message, "start from w1 = 1.0 and w2 = 2.0 each call, minimise "
                                 "w1**2 + w2**2 and return abs(final - start) for both")


# ---------------------------------------------------------------------------------------
# Lesson 06: the LR range test


_SMOOTH_CASES = [([2.0, 1.0, 3.0, 0.5, 0.25], 0.9), ([4.0, 2.0, 1.0], 0.5),
                 ([1.0, 1.0, 1.0, 1.0], 0.98), ([0.3, 5.0, 0.1, 0.2, 0.4, 0.9], 0.0)]


def _smooth_variants(losses: list, beta: float) -> dict:
    """Smoothed curves the usual mistakes produce, keyed by the hint that names them."""
    out = {}
    average, plain, swapped, fed_back = 0.0, [], [], []
    for loss in losses:
        average = beta * average + (1 - beta) * loss
        plain.append(average)
    out["divide the average by 1 - beta**t, t counted from 1: without it the curve starts "
        "near 0 and climbs, a fake dip"] = plain
    average = 0.0
    for loss in losses:
        average = (1 - beta) * average + beta * loss
        swapped.append(average / (1 - beta ** (len(swapped) + 1)) if beta < 1 else average)
    out["beta weighs the past average and 1 - beta the new loss; you swapped them"] = swapped
    average = 0.0
    for t, loss in enumerate(losses, start=1):
        average = beta * average + (1 - beta) * loss
        average = average / (1 - beta**t)
        fed_back.append(average)
    out["keep the uncorrected average as the running state and correct only the value you "
        "return; you fed the corrected value back in"] = fed_back
    if beta > 0:
        off = []
        average = 0.0
        for t, loss in enumerate(losses, start=1):
            average = beta * average + (1 - beta) * loss
            off.append(average / (1 - beta ** (t + 1)))
        out["off by one: the first step is t = 1, so the first correction is 1 - beta"] = off
    seeded, average = [], losses[0]
    for loss in losses:
        average = beta * average + (1 - beta) * loss
        seeded.append(average)
    out["start from m = 0 and correct by 1 - beta**t; starting the average at the first loss "
        "is another smoother (it gives the first loss extra weight), not the one asked "
        "for"] = seeded
    return out


_FROM_ZERO_HINT = ("count t from 1, not 0: the first correction is 1 - beta, while 1 - beta**0 "
                   "is 0 and divides by zero (enumerate(losses, start=1))")


@question(
    "06.smooth_losses",
    "Bias-corrected exponential smoothing of a loss curve",
    "m = beta * m + (1 - beta) * loss, starting from m = 0, and return m / (1 - beta**t) "
    "for t = 1, 2, ...",
)
def _check_smooth_losses(answer: Callable) -> None:
    from collections.abc import Iterator

    from lrcourse.finder import smooth

    for losses, beta in _SMOOTH_CASES:
        try:
            received = answer(list(losses), beta)
        except ZeroDivisionError as error:
            raise Wrong(f"with losses={losses}, beta={beta}: your code raised "
                        f"ZeroDivisionError: {error}", _FROM_ZERO_HINT) from None
        if isinstance(received, Iterator):  # a generator of the values is a fine answer too
            received = list(received)
        try:
            values = np.asarray(received, dtype=np.float64)
        except (TypeError, ValueError):
            raise Wrong(f"expected a list of floats, received {type(received).__name__} "
                        f"{received!r:.60}") from None
        expected = smooth(losses, beta)
        if values.shape != expected.shape:
            raise Wrong(f"with losses={losses}, beta={beta}: expected {len(losses)} values, "
                        f"received shape {values.shape}", "one smoothed value per loss")
        if np.allclose(values, expected, rtol=1e-9, atol=1e-12):
            continue
        message = (f"with losses={losses}, beta={beta}: expected "
                   f"{np.round(expected, 4).tolist()}, received {np.round(values, 4).tolist()}")
        if beta > 0 and not np.isfinite(values[0]) and np.all(np.isfinite(values[1:])):
            raise Wrong(message, _FROM_ZERO_HINT)  # NumPy's x / 0.0 gives inf, not an error
        for hint, variant in _smooth_variants(losses, beta).items():
            if np.allclose(values, variant, rtol=1e-9, atol=1e-12):
                raise Wrong(message, hint)
        raise Wrong(message)


def _finder_curve(kind: str) -> tuple[np.ndarray, np.ndarray, float, float]:
    """A range-test curve and the band of good rates (from the start of the fall to a
    third of the rate at the bottom) for the choose-a-rate exercise."""
    from lrcourse.finder import sweep_rates

    lrs = sweep_rates(1e-6, 10.0, 101)
    x = np.log10(lrs)
    rng = np.random.default_rng({"clean": 0, "noisy": 1, "spike": 2, "shifted": 3}[kind])
    centre = -1.5 if kind == "shifted" else -2.5
    clean = 2.3 - np.tanh(1.6 * (x - centre)) + np.exp(3.5 * (x - centre - 1.9))
    losses = clean
    if kind in ("noisy", "spike"):
        losses = losses * (1 + 0.03 * rng.standard_normal(lrs.size))
    if kind == "spike":
        near = int(np.argmin(losses)) + 3
        losses[near:near + 4] = losses[near] + np.array([2.5, 6.0, 1.0, 0.2]) * 0.6
        losses[near + 4:near + 6] = losses.min() * np.array([0.96, 0.93])  # a fake dip
        losses[near + 6:] = np.maximum(losses[near + 6:], 8.0)
    bottom = lrs[np.argmin(clean)]
    return lrs, losses, 10.0 ** (centre - 1.0), bottom / 3


@question(
    "06.choose_rate",
    "Read a range-test curve and choose a learning rate",
    "smooth the curve, find its lowest point, and choose a rate well before it: where the "
    "smoothed loss falls fastest, or about a tenth of the rate at the bottom",
)
def _check_choose_rate(answer: Callable) -> None:
    from lrcourse.finder import smooth

    for kind in ("clean", "noisy", "spike", "shifted"):
        lrs, losses, low, high = _finder_curve(kind)
        received = _number(answer(lrs.copy(), losses.copy()), "a learning rate")
        where = f"on the {kind} curve"
        if not (math.isfinite(received) and received > 0):
            raise Wrong(f"{where}: expected a learning rate > 0, received {received!r}")
        raw_bottom = float(lrs[np.argmin(losses)])
        if low <= received <= high:
            continue
        message = (f"{where}: you chose {received:.3g}; good rates lie between {low:.3g} and "
                   f"{high:.3g}")
        if received > high:
            if kind == "spike":  # its raw minimum is a fake dip just after a spike
                raise Wrong(message, "the lowest points of this curve come right after a "
                                     "spike, on the way to divergence: that is not a dip. "
                                     "Smooth first, and stay well left of where the loss "
                                     "blows up")
            bottoms = [raw_bottom] + [float(lrs[np.argmin(smooth(losses, beta))])
                                      for beta in (0.8, 0.9, 0.95, 0.98)]
            if any(math.isclose(received, bottom, rel_tol=1e-9) for bottom in bottoms):
                raise Wrong(message, "you picked the lowest loss itself (raw or smoothed): "
                                     "the bottom of the curve is where training is about to "
                                     "blow up, not a rate to train at; go back about ten "
                                     "times lower")
            raise Wrong(message, "too close to where the loss blows up: go back about ten "
                                 "times below the lowest point of the smoothed curve. A "
                                 "beta near 1 makes the smoothed curve lag, so its bottom "
                                 "comes later than the loss's own; for about 100 steps, "
                                 "smooth with beta = 0.9 or less")
        raise Wrong(message, "that rate is on the flat start of the curve, where the loss "
                             "does not fall yet: training there is needlessly slow"
                    + ("; smooth before you take a slope: on single-batch losses one noisy "
                       "batch can look like the steepest fall" if kind != "clean" else ""))


def _wine_data():
    from sklearn.datasets import load_wine
    from sklearn.model_selection import train_test_split

    data = load_wine()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data.astype("float32"), data.target, test_size=0.3, random_state=0,
        stratify=data.target)
    mean, scale = x_train.mean(0), x_train.std(0)
    return (x_train - mean) / scale, y_train, (x_test - mean) / scale, y_test


def _wine_model(rate: float):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((13,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dense(3)], name="wine_net")
    model.compile(optimizer=keras.optimizers.SGD(rate, momentum=0.9),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def _wine_loss_after(rate: float, data: tuple, epochs: int = 8) -> float:
    x_train, y_train, x_test, y_test = data
    model = _wine_model(rate)
    model.fit(x_train, y_train, batch_size=16, epochs=epochs, verbose=0)
    loss = float(model.evaluate(x_test, y_test, verbose=0)[0])
    return loss if math.isfinite(loss) else math.inf


@functools.lru_cache(maxsize=1)
def _wine_grid_best() -> tuple[list, float]:
    """The grid the chosen rate is compared with, and its best validation loss (computed once)."""
    grid = [0.003, 0.01, 0.03, 0.1, 0.3]
    data = _wine_data()
    return grid, min(_wine_loss_after(rate, data) for rate in grid)


@question(
    "06.rate_for_new_data",
    "Run the range test on a new dataset (wine) and choose a rate",
    "call lrcourse.keras_utils.find_lr(model, x, y, batch_size=16, start_lr=1e-4, "
    "end_lr=10.0) and return the result's suggested_lr as a float",
)
def _check_rate_for_new_data(answer: Callable) -> None:
    data = _wine_data()
    model = _wine_model(0.01)
    model.optimizer.build(model.trainable_variables)
    optimizer, tracked = model.optimizer, [*model.variables, *model.optimizer.variables]
    before = [v.numpy().copy() for v in tracked]
    received = answer(model, data[0], data[1])
    if model.optimizer is not optimizer:
        raise Wrong("your range test replaced the model's optimizer: model.optimizer is now "
                    f"{type(model.optimizer).__name__} {model.optimizer.name!r}, not the "
                    f"compiled {type(optimizer).__name__} {optimizer.name!r}",
                    "do not call model.compile in a range test: run it on the optimizer the "
                    "model was compiled with, and leave that optimizer in place")
    after = [v.numpy() for v in tracked]
    changed = [v.path for v, a, b in zip(tracked, before, after, strict=True)
               if not np.array_equal(a, b)]
    if changed:
        raise Wrong(f"your range test left the model changed: {', '.join(changed[:3])} "
                    "differ from before", "a range test must put the weights and the "
                    "optimizer back; lrcourse.keras_utils.find_lr does")
    rate = _number(received, "the chosen learning rate")
    if not (math.isfinite(rate) and 1e-6 < rate < 100):
        raise Wrong(f"expected a learning rate between 1e-6 and 100, received {rate!r}")
    grid, best = _wine_grid_best()
    mine = _wine_loss_after(rate, data)
    if not mine <= 1.5 * best + 0.02:
        raise Wrong(f"training 8 epochs at {rate:.3g} ends at validation loss {mine:.3f}; "
                    f"the best of the grid {grid} reaches {best:.3f}",
                    "too high: the lowest point of the curve is where training breaks"
                    if rate > 0.3 else "too low: pick a rate on the steep part of the fall")


# ---------------------------------------------------------------------------------------
# Lesson 04: per-batch adjustment


def _tiny_keras_fit(callback, epochs: int) -> np.ndarray:
    """Fit a one-layer model (10 examples, batch 4: 3 steps per epoch) with ``callback``;
    return the rate each update used."""
    import keras

    from lrcourse.keras_utils import LearningRateLogger

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 3)).astype("float32")
    y = rng.normal(size=(10, 1)).astype("float32")
    logger = LearningRateLogger()
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, shuffle=False,
              callbacks=[logger, callback])  # first: it reads before others' batch-end hooks
    return np.array(logger.history["learning_rate"])


@question(
    "04.warmup_callback",
    "A per-batch linear warmup callback that keeps its place across epochs",
    "in on_train_batch_begin, read the global step int(self.model.optimizer.iterations) (not "
    "the batch index, which restarts every epoch) and assign "
    "peak_lr * min(1, step / warmup_steps) to self.model.optimizer.learning_rate",
)
def _check_warmup_callback(answer: Callable) -> None:
    import keras

    from lrcourse.schedules import linear_warmup

    steps_per_epoch, epochs = 3, 4
    steps = np.arange(steps_per_epoch * epochs)
    for peak_lr, warmup_steps in ((0.2, 5), (0.05, 7)):
        callback = answer(peak_lr, warmup_steps)
        if not isinstance(callback, keras.callbacks.Callback):
            raise Wrong(f"make_warmup_callback({peak_lr}, {warmup_steps}): expected a "
                        f"keras.callbacks.Callback, received {type(callback).__name__} "
                        f"{callback!r:.60}", "return an instance of your Callback subclass")
        received = _tiny_keras_fit(callback, epochs)
        warmup = linear_warmup(peak_lr, warmup_steps)
        expected = warmup(steps)
        if received.shape == expected.shape and np.allclose(received, expected, rtol=1e-5,
                                                            atol=1e-8):
            continue
        shown = np.round(received, 4).tolist()
        message = (f"with peak_lr={peak_lr}, warmup_steps={warmup_steps}, 3 batches per epoch, "
                   f"the updates used {shown}; expected {np.round(expected, 4).tolist()}")

        def same(values, received=received):
            return received.shape == values.shape and np.allclose(received, values, rtol=1e-5,
                                                                  atol=1e-8)

        if same(warmup(steps % steps_per_epoch)):
            raise Wrong(message, "your warmup restarts every epoch: `batch` counts from 0 again "
                                 "each epoch; use the optimizer's global step, "
                                 "self.model.optimizer.iterations")
        if same(warmup(steps + 1)) or same(warmup(np.maximum(steps - 1, 0))):
            raise Wrong(message, "off by one step: update 0 uses peak_lr * 0 / warmup_steps, "
                                 "update t uses peak_lr * t / warmup_steps")
        if np.isclose(received[0], 1.0) and same(np.concatenate([[1.0], expected[1:]])):
            raise Wrong(message, "the first update ran at the optimizer's initial rate: set the "
                                 "rate before each batch (on_train_batch_begin), not after")
        if same(np.repeat(warmup(steps[::steps_per_epoch]), steps_per_epoch)) or same(
                np.repeat(warmup(np.arange(epochs)), steps_per_epoch)):
            raise Wrong(message, "the rate changes only once per epoch: set it before every "
                                 "batch, in on_train_batch_begin")
        if np.allclose(received, received[0]):
            raise Wrong(message, "the rate never changed: assign the new value to "
                                 "self.model.optimizer.learning_rate before every batch")
        if same(peak_lr * steps / warmup_steps):
            raise Wrong(message, "the rate keeps growing after the warmup: hold it at peak_lr "
                                 "with min(1, step / warmup_steps)")
        if same(peak_lr * np.minimum(1, steps // warmup_steps)):
            raise Wrong(message, "integer division: step // warmup_steps is 0 until the end of "
                                 "the warmup, so the rate jumps from 0 to peak_lr; use "
                                 "step / warmup_steps")
        raise Wrong(message)


def _logged_sgd(make_scheduler):
    """A seeded ``Linear(4, 3)``, its SGD optimizer, the scheduler, and the list that an
    optimizer-step hook fills with the rate each update uses."""
    import torch

    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = make_scheduler(optimizer)
    used = []
    optimizer.register_step_pre_hook(
        lambda opt, args, kwargs: used.append(opt.param_groups[0]["lr"]))
    return model, optimizer, scheduler, used


def _torch_epoch(make_scheduler, batches, *, zero_grad: bool = True):
    """One epoch of SGD on a small linear model; the rates used and the final weights."""
    import torch

    model, optimizer, scheduler, used = _logged_sgd(make_scheduler)
    for x, y in batches:
        if zero_grad:
            optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        scheduler.step()
    return np.array(used), [p.detach().numpy().copy() for p in model.parameters()]


def _scheduler_cases(num_batches: int) -> dict:
    import torch

    def one_cycle(optimizer):
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.5,
                                                   total_steps=num_batches,
                                                   cycle_momentum=False)

    def warmup(optimizer):
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, step / 3))

    return {"LambdaLR(lambda step: min(1, step / 3))": warmup,
            "OneCycleLR(max_lr=0.5, total_steps=len(batches))": one_cycle}


def _stepped_twice(make_scheduler, num_steps: int) -> np.ndarray:
    """The rates of the first ``num_steps`` updates when the scheduler steps twice per batch."""
    import warnings

    import torch

    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=0.1)
    scheduler = make_scheduler(optimizer)
    rates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(num_steps):
            rates.append(optimizer.param_groups[0]["lr"])
            parameter.grad = torch.zeros(1)
            optimizer.step()
            scheduler.step()
            scheduler.step()
    return np.array(rates)


@question(
    "04.scheduler_order",
    "Fix a PyTorch loop that steps its scheduler in the wrong place",
    "per batch: optimizer.zero_grad(), loss.backward(), optimizer.step(), then "
    "scheduler.step(), once per batch and after the optimizer",
)
def _check_scheduler_order(answer: Callable) -> None:
    import warnings

    import torch

    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(8, 4, generator=generator),
                torch.randint(0, 3, (8,), generator=generator)) for _ in range(8)]
    for name, make in _scheduler_cases(len(batches)).items():
        expected, expected_weights = _torch_epoch(make, batches)
        model, optimizer, scheduler, used = _logged_sgd(make)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch warns about the wrong order; we diagnose
            answer(model, optimizer, scheduler, batches)
        received = np.array(used)
        message = (f"with {name} over {len(batches)} batches, the updates used "
                   f"{np.round(received, 4).tolist()}; expected {np.round(expected, 4).tolist()}")
        if len(received) != len(batches):
            raise Wrong(message + f" ({len(received)} optimizer steps for {len(batches)} "
                        "batches)", "call optimizer.step() exactly once per batch")
        if not np.allclose(received, expected, rtol=1e-9):
            if np.allclose(received[:-1], expected[1:], rtol=1e-9):
                raise Wrong(message, "off by one step: scheduler.step() ran before "
                                     "optimizer.step(), so every update used the next step's "
                                     "rate; call it after optimizer.step()")
            if np.allclose(received, expected[0], rtol=1e-9):
                raise Wrong(message, "the rate never moved during the epoch: call "
                                     "scheduler.step() once per batch, not once per epoch")
            if np.allclose(received[:4], _stepped_twice(make, 4), rtol=1e-9):
                raise Wrong(message, "scheduler.step() is called twice per batch")
            raise Wrong(message)
        weights = [p.detach().numpy() for p in model.parameters()]
        if all(np.allclose(a, b, rtol=1e-6, atol=1e-8)
               for a, b in zip(weights, expected_weights, strict=True)):
            continue
        _, summed = _torch_epoch(make, batches, zero_grad=False)
        if all(np.allclose(a, b, rtol=1e-6, atol=1e-8)
               for a, b in zip(weights, summed, strict=True)):
            raise Wrong(f"with {name}, the rates are right but the weights are not",
                        "gradients add up across batches: call optimizer.zero_grad() before "
                        "each loss.backward()")
        raise Wrong(f"with {name}, the rates are right but the final weights differ from one "
                    "epoch of SGD on cross_entropy(model(x), y) over the batches in order")


_LOSS_TREND = {"decrease": 0.95, "increase": 1.05, "min_lr": 0.01, "max_lr": 1.0}


def _loss_trend_sequences() -> dict:
    rng = np.random.default_rng(4)
    falling = np.linspace(3.0, 0.2, 80)
    return {
        "a steadily falling loss (80 steps)": (falling, 4),
        # long enough for the rate to reach its floor, min_lr
        "a rising loss (70 steps)": (np.linspace(0.5, 2.0, 70), 6),
        "a noisy loss (60 steps)": (np.abs(1.0 + 0.3 * rng.normal(size=60)), 10),
    }


def _loss_trend_variant(losses, window: int, *, flip=False, wait=True, clamp=True,
                        threshold=None) -> np.ndarray:
    """The loss-trend rule with one thing changed, for diagnosing wrong answers."""
    rate, history, rates = 0.1, np.zeros(window), []
    full_at = window if threshold is None else threshold
    for count, loss in enumerate(losses, start=1):
        history = np.concatenate([[loss], history[:-1]])
        rising = history[: window // 2].mean() > history[window // 2:].mean()
        if flip:
            rising = not rising
        if count >= full_at or not wait:
            rate = rate * (_LOSS_TREND["decrease"] if rising else _LOSS_TREND["increase"])
            if clamp:
                rate = min(max(rate, _LOSS_TREND["min_lr"]), _LOSS_TREND["max_lr"])
        rates.append(rate)
    return np.array(rates)


def _compiled_loss_trend(answer: Callable, window: int):
    """The learner's update in a ``tf.function`` whose state lives in variables."""
    import tensorflow as tf

    rate = tf.Variable(0.1, dtype=tf.float32)
    history = tf.Variable(tf.zeros([window], tf.float32))
    count = tf.Variable(0.0, dtype=tf.float32)
    traces = []

    @tf.function
    def step(loss):
        traces.append(1)
        # Hand the answer tensors read from the variables, as a training step would, so that
        # `count += 1` or `count = count + 1` both work.
        new_rate, new_history, new_count = answer(rate.read_value(), history.read_value(),
                                                  count.read_value(), loss)
        rate.assign(tf.reshape(tf.cast(new_rate, tf.float32), ()))
        history.assign(tf.reshape(tf.cast(new_history, tf.float32), [window]))
        count.assign(tf.reshape(tf.cast(new_count, tf.float32), ()))
        return rate.read_value()

    return step, traces


@question(
    "04.loss_trend_tf",
    "The loss-trend controller, written to run inside tf.function",
    "TensorFlow ops only (tf.concat, tf.reduce_mean, tf.where, tf.minimum, tf.maximum; no "
    "NumPy and no .numpy() on a tensor); put the new loss first, compare the newer half's "
    "mean with the older half's, and change the rate only once count >= window",
)
def _check_loss_trend_tf(answer: Callable) -> None:
    import tensorflow as tf

    from lrcourse.controllers import LossTrendController, run_controller

    for name, (losses, window) in _loss_trend_sequences().items():
        reference = LossTrendController(0.1, window=window, **_LOSS_TREND)
        expected = run_controller(reference, {"loss": losses})
        step, traces = _compiled_loss_trend(answer, window)
        try:
            received = np.array([float(step(tf.constant(value, tf.float32)))
                                 for value in losses])
        except NotImplementedError as error:
            if "Exercise:" in str(error):
                raise  # the untouched stub
            # NumPy on a symbolic tensor: "numpy() is only available when eager execution
            # is enabled" or "Cannot convert a symbolic tf.Tensor to a numpy array"
            raise Wrong(f"your code raised NotImplementedError inside tf.function: {error}",
                        "no NumPy and no .numpy() inside tf.function: while tracing, tensors "
                        "have no values; use TensorFlow ops on the variables") from None
        if len(traces) != 1:
            raise Wrong(f"the step was traced {len(traces)} times over {len(losses)} calls",
                        "keep everything as tensors: no Python numbers computed from the loss")
        if np.allclose(received, expected, rtol=1e-4):
            continue
        bad = int(np.argmin(np.isclose(received, expected, rtol=1e-4)))
        message = (f"with {name} and window={window}, at step {bad}: expected rate "
                   f"{expected[bad]:.6g}, received {received[bad]:.6g}")
        traps = [
            (dict(flip=True), "the trend is backwards: the window is newest first (the new "
                              "loss goes in front), and when the newer half's mean is above "
                              "the older half's the loss is rising, so the rate must go down"),
            (dict(wait=False), "wait until the window is full (count >= window) before "
                               "changing the rate; a window padded with zeros looks like a "
                               "rising loss"),
            (dict(threshold=window + 1), "off by one step: the window is full as soon as "
                                         "count >= window, counting this loss"),
            (dict(threshold=window - 1), "off by one step: the window is full as soon as "
                                         "count >= window, counting this loss"),
            (dict(clamp=False), "clamp the rate to [min_lr, max_lr] = [0.01, 1.0]"),
        ]
        for change, hint in traps:
            if np.allclose(received, _loss_trend_variant(losses, window, **change), rtol=1e-4):
                raise Wrong(message, hint)
        raise Wrong(message)


# ---------------------------------------------------------------------------------------
# Lesson 05: adaptive optimizers


def _adam_variant(grads: list, start: np.ndarray, lr: float, beta_1: float, beta_2: float,
                  epsilon: float, *, correct_m: bool = True, correct_v: bool = True,
                  placement: str = "after", first_t: int = 1, store_corrected: bool = False,
                  swap_betas: bool = False) -> list[np.ndarray]:
    """Adam's parameters after each gradient, with one of the usual mistakes switched on.

    ``first_t=0`` is a counter that starts at 0 and skips the correction while it is 0
    (the division by ``1 - beta**0 = 0`` would give nan).
    """
    if swap_betas:
        beta_1, beta_2 = beta_2, beta_1
    w, m, v, path = start.copy(), np.zeros_like(start), np.zeros_like(start), []
    with np.errstate(divide="ignore", invalid="ignore"):
        for t, g in enumerate(grads, start=first_t):
            m = beta_1 * m + (1 - beta_1) * g
            v = beta_2 * v + (1 - beta_2) * g * g
            c1 = 1 - beta_1**t if correct_m and t else 1.0
            c2 = 1 - beta_2**t if correct_v and t else 1.0
            if placement == "after":
                w = w - lr * (m / c1) / (np.sqrt(v / c2) + epsilon)
            elif placement == "before":
                w = w - lr * np.sqrt(c2) / c1 * m / (np.sqrt(v) + epsilon)
            else:  # inside the root
                w = w - lr * (m / c1) / np.sqrt(v / c2 + epsilon)
            if store_corrected:
                m, v = m / c1, v / c2
            path.append(w.copy())
    return path


_ADAM_CASES = [(1e-3, 0.9, 0.999, 1e-8), (0.05, 0.8, 0.99, 1e-6)]

_ADAM_TRAPS = [
    (dict(correct_m=False, correct_v=False),
     "bias correction is missing: divide m by 1 - beta_1**t and v by 1 - beta_2**t"),
    (dict(correct_m=False), "bias correction is missing on m: divide m by 1 - beta_1**t too"),
    (dict(correct_v=False), "bias correction is missing on v: divide v by 1 - beta_2**t too"),
    (dict(placement="before"), "epsilon is in the wrong place: you added it to sqrt(v) before "
                               "the bias correction (Keras's formula); PyTorch adds it to "
                               "sqrt(v_hat)"),
    (dict(placement="inside"), "epsilon is in the wrong place: it goes outside the root, "
                               "sqrt(v_hat) + epsilon, not sqrt(v_hat + epsilon)"),
    (dict(first_t=2), "the step counter is off by one: t must be 1 on the first update, not 2"),
    (dict(first_t=0), "the step counter starts at 0: increment it before the bias correction, "
                      "so t = 1 on the first update"),
    (dict(store_corrected=True), "the state must keep the raw averages m and v; the "
                                 "bias-corrected m_hat and v_hat are only for this step"),
    (dict(swap_betas=True), "beta_1 and beta_2 are swapped: beta_1 (0.9) averages the "
                            "gradient, beta_2 (0.999) its square"),
]


def _adam_gradients() -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(5)
    scales = np.array([1e-7, 1e-6, 1e-3, 1.0, 30.0])  # the tiny ones expose epsilon
    start = np.array([0.5, -1.0, 2.0, -0.3, 1.5])
    return start, [rng.standard_normal(5) * scales + 0.5 * scales for _ in range(25)]


@question(
    "05.adam_step",
    "One Adam step in NumPy that matches torch.optim.Adam",
    "increment state['step'] first (t = 1 on the first update), update m and v, divide each "
    "by its bias correction 1 - beta**t, then add epsilon to sqrt(v_hat), outside the root",
)
def _check_adam_step(answer: Callable) -> None:
    import torch

    start, grads = _adam_gradients()
    for lr, beta_1, beta_2, epsilon in _ADAM_CASES:
        param = torch.tensor(start.copy(), requires_grad=True)
        reference = torch.optim.Adam([param], lr=lr, betas=(beta_1, beta_2), eps=epsilon)
        expected = []
        for g in grads:
            param.grad = torch.tensor(g)
            reference.step()
            expected.append(param.detach().numpy().copy())
        state = {"step": 0, "m": np.zeros_like(start), "v": np.zeros_like(start)}
        w, received, first_bad = start.copy(), [], None
        settings = f"lr={lr}, beta_1={beta_1}, beta_2={beta_2}, epsilon={epsilon}"
        for t, g in enumerate(grads, start=1):
            result = answer(w.copy(), g.copy(), state, lr, beta_1, beta_2, epsilon)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise Wrong(f"adam_step must return (new_param, new_state), received "
                            f"{type(result).__name__} {result!r:.60}")
            w, state = result
            w = np.asarray(w, dtype=np.float64)
            if w.shape != start.shape:
                raise Wrong(f"new_param has shape {w.shape}, expected {start.shape}")
            if not isinstance(state, dict) or state.get("step") != t:
                step = state.get("step") if isinstance(state, dict) else state
                raise Wrong(f"after update {t}, new_state['step'] is {step!r}, expected {t}",
                            "return the state with 'step' increased by one per update")
            if not np.all(np.isfinite(w)):
                if first_bad is not None:   # already wrong; judge the path so far
                    break
                raise Wrong(f"with {settings}, update {t} gave a non-finite parameter "
                            f"{np.round(w, 6).tolist()}",
                            "the step counter starts at 0: with t = 0 the bias correction "
                            "1 - beta**0 is 0 and you divide by it; increment the step first, "
                            "so t = 1 on the first update" if t == 1 else "")
            received.append(w.copy())
            if first_bad is None and not np.allclose(w, expected[t - 1], rtol=1e-6,
                                                     atol=1e-12):
                first_bad = t
        if first_bad is None:
            continue
        message = (f"with {settings}, after update {first_bad} expected "
                   f"{np.round(expected[first_bad - 1], 8).tolist()}, received "
                   f"{np.round(received[first_bad - 1], 8).tolist()}")
        # name the mistake whose whole path the answer reproduces
        for options, hint in _ADAM_TRAPS:
            variant = _adam_variant(grads, start, lr, beta_1, beta_2, epsilon, **options)
            if np.allclose(received, variant[:len(received)], rtol=1e-6, atol=1e-12):
                raise Wrong(message, hint)
        raise Wrong(message)


def _keras_run_float64(optimizer, grads: list[np.ndarray], start: np.ndarray) -> np.ndarray:
    """The parameters after each of ``grads``, applied by a Keras optimizer in float64."""
    import keras

    variable = keras.Variable(start, dtype="float64")
    path = []
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(g, dtype="float64"), variable)])
        path.append(np.array(variable.numpy()))
    return np.array(path)


def _rule_path(rule, grads: list[np.ndarray], start: np.ndarray) -> np.ndarray:
    """The parameters after each of ``grads``, applied by an ``lrcourse.optimizers`` rule."""
    w, state, path = start, rule.init(start), []
    for g in grads:
        w, state = rule.step(w, g, state)
        path.append(w)
    return np.array(path)


@question(
    "05.keras_rmsprop_match",
    "Find the Keras RMSprop that matches torch.optim.RMSprop(params, lr=0.01)",
    "PyTorch's RMSprop defaults are alpha=0.99 and eps=1e-8; Keras calls alpha rho and "
    "defaults it to 0.9, and its epsilon (1e-7) sits inside the root",
)
def _check_keras_rmsprop_match(answer: Callable) -> None:
    import keras

    from lrcourse.optimizers import rmsprop

    optimizer = answer()
    if not isinstance(optimizer, keras.optimizers.RMSprop):
        raise Wrong(f"expected a keras.optimizers.RMSprop, received "
                    f"{type(optimizer).__name__} {optimizer!r:.60}")
    if optimizer.built:
        raise Wrong("the optimizer has already been used; return a new one")
    rng = np.random.default_rng(8)
    scales = np.array([0.1, 0.3, 1.0, 10.0])
    start = np.array([1.0, -2.0, 0.5, 3.0])
    grads = [rng.standard_normal(4) * scales + 0.3 * scales for _ in range(60)]
    received = _keras_run_float64(optimizer, grads, start)
    expected = _rule_path(rmsprop(0.01), grads, start)  # torch.optim.RMSprop's defaults
    if np.allclose(received, expected, rtol=1e-5, atol=1e-9):
        if float(getattr(optimizer, "momentum", 0.0)) or getattr(optimizer, "centered", False) \
                or optimizer.weight_decay:
            raise Wrong("the run matches only by chance: momentum, centered or weight decay is "
                        "switched on")
        return
    settings = (f"learning_rate={float(np.asarray(optimizer.learning_rate)):.6g}, "
                f"rho={optimizer.rho}, epsilon={optimizer.epsilon}, "
                f"momentum={optimizer.momentum}, centered={optimizer.centered}")
    step = int(np.argmax(~np.all(np.isclose(received, expected, rtol=1e-5, atol=1e-9), axis=1)))
    message = (f"with {settings}, after step {step + 1} the Keras run is at "
               f"{np.round(received[step], 7).tolist()}, the PyTorch run at "
               f"{np.round(expected[step], 7).tolist()}")
    if optimizer.momentum or optimizer.centered:
        raise Wrong(message, "PyTorch's default RMSprop has no momentum and is not centered")
    if optimizer.weight_decay:
        raise Wrong(message, "PyTorch's default RMSprop has no weight decay (weight_decay=0); "
                             "leave Keras's weight_decay at None")
    if not np.isclose(float(np.asarray(optimizer.learning_rate)), 0.01, rtol=1e-6):
        raise Wrong(message, "PyTorch's RMSprop defaults to lr=0.01, Keras's to 0.001: pass "
                             "learning_rate=0.01")
    if optimizer.rho != 0.99:
        raise Wrong(message, "the decay differs: PyTorch's alpha defaults to 0.99, Keras's "
                             "rho to 0.9; pass rho=0.99")
    raise Wrong(message, "epsilon: Keras adds it inside the root, so its default 1e-7 changes "
                         "the steps of small gradients; use PyTorch's 1e-8 or smaller")


_MYSTERY_NAMES = ("sgd", "momentum", "adagrad", "adam")
_MYSTERY_KEY = {"A": "momentum", "B": "adam", "C": "sgd", "D": "adagrad"}


def mystery_trajectories() -> dict[str, np.ndarray]:
    """Four optimizer paths on an ill-conditioned quadratic, labelled A to D.

    Which optimizer drew which path is the exercise ``05.which_optimizer``: plain SGD,
    SGD with momentum, Adagrad or Adam, each run for 40 steps from ``(4.0, -1.2)`` on
    ``(x**2 + 20 y**2) / 2`` with a rate that suits it. The surface, start and rates differ
    from the lesson's figure, so the answer has to come from the update rules, not from
    matching pictures.

    Returns:
        A dict from letter to an array of shape ``(41, 2)``, the start first.

    Example:
        >>> paths = mystery_trajectories()
        >>> sorted(paths), paths["A"].shape
        (['A', 'B', 'C', 'D'], (41, 2))

    Introduced in ``notebooks/05_adaptive_optimizers.ipynb``.
    """
    from lrcourse import optimizers
    from lrcourse.data import ill_conditioned_quadratic

    surface = ill_conditioned_quadratic(20.0)
    rules = {"sgd": optimizers.sgd(0.09), "momentum": optimizers.sgd(0.02, momentum=0.9),
             "adagrad": optimizers.adagrad(0.8), "adam": optimizers.adam(0.25)}
    start = np.array([4.0, -1.2])
    return {letter: np.array(optimizers.run(rules[name], start, surface.gradient, 40))
            for letter, name in _MYSTERY_KEY.items()}


_MYSTERY_HINTS = {
    frozenset({"adam", "adagrad"}): "Adam and Adagrad both take a first step of exactly lr in "
    "each coordinate (a diagonal segment); Adam carries momentum, so it overshoots the valley "
    "floor and curls back, while Adagrad's steps only shrink",
    frozenset({"sgd", "momentum"}): "plain SGD's first step points straight down the gradient, "
    "6 times longer in y than in x, and it zigzags across the valley with a shrinking swing; "
    "momentum builds speed and swings in wide arcs",
}


_MYSTERY_ALIASES = {
    "plain sgd": "sgd", "vanilla sgd": "sgd", "gradient descent": "sgd", "gd": "sgd",
    "sgd with momentum": "momentum", "sgd momentum": "momentum", "sgd+momentum": "momentum",
    "sgd + momentum": "momentum", "momentum sgd": "momentum", "heavy ball": "momentum",
    "heavy-ball": "momentum",
}


def _mystery_name(name: object) -> str:
    """An answer's optimizer name in the key's spelling: case, spaces and aliases ignored."""
    text = " ".join(str(name).strip().lower().split())
    return _MYSTERY_ALIASES.get(text, text)


@question(
    "05.which_optimizer",
    "Which optimizer drew which trajectory?",
    "look at the first step of each path: a gradient step points down the steep y direction, "
    "Adam and Adagrad move by exactly lr in both coordinates; then look for overshooting",
)
def _check_which_optimizer(answer: Callable) -> None:
    received = answer()
    if not isinstance(received, dict):
        raise Wrong(f"expected a dict from letter to optimizer name, received "
                    f"{type(received).__name__} {received!r:.60}")
    received = {str(letter).strip().upper(): name for letter, name in received.items()}
    if set(received) != set(_MYSTERY_KEY):
        raise Wrong(f"expected the letters A, B, C, D as keys, received {sorted(received)!r}")
    names = {letter: _mystery_name(name) for letter, name in received.items()}
    unknown = sorted(set(names.values()) - set(_MYSTERY_NAMES))
    if unknown:
        raise Wrong(f"unknown optimizer name(s) {unknown}; use "
                    f"{', '.join(repr(n) for n in _MYSTERY_NAMES)}")
    if len(set(names.values())) != 4:
        raise Wrong(f"each optimizer drew exactly one path; received {names}")
    wrong = sorted(letter for letter in _MYSTERY_KEY if names[letter] != _MYSTERY_KEY[letter])
    if not wrong:
        return
    confused = frozenset(names[letter] for letter in wrong) | frozenset(
        _MYSTERY_KEY[letter] for letter in wrong)
    hint = _MYSTERY_HINTS.get(confused, "")
    raise Wrong(f"{len(wrong)} of the 4 paths are wrong: {', '.join(wrong)}", hint)
