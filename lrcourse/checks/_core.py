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

This module is the small core every lesson shares: the verdicts, the registry and the
comparison helpers. Each lesson's checkers live in ``lrcourse/checks/lessonNN.py`` and are
imported the first time one of that lesson's questions is needed, so checking lesson 01
never imports lesson 04's TensorFlow code. Framework imports happen inside the checkers
that need them.

Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
"""

from __future__ import annotations

import enum
import html
import importlib
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

MIME_TYPE = "application/vnd.lrcourse.check+json"
CHECK_CELL = "lrcourse_restored"  # metadata the grader puts on the check cells it restored


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


def not_evaluated(question_id: str, answer: object = None) -> CheckResult:
    """What ``check`` stands for while the grader executes a submission: no verdict.

    The grader's execution phase runs the learner's cells but calls no answer (the answers
    are called only by its evaluation, which writes the verdicts into the executed copy),
    so a check cell gets this NOT YET and a cell after it that reads ``result.passed``
    still runs.

    >>> not_evaluated("01.q", print).passed
    False
    """
    return CheckResult(question_id, Status.NOT_YET,
                       "not called in the grader's execution; its evaluation decides")


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
"""Every question registered so far; ``load_lesson`` and ``all_questions`` fill it."""


def load_lesson(lesson: str) -> None:
    """Import lesson ``lesson``'s checker module (``lrcourse.checks.lessonNN``) once.

    A lesson without a checker module is not an error: it simply has no questions.

    Raises:
        ValueError: when ``lesson`` is not a two-digit string.

    Example:
        >>> load_lesson("01")
        >>> "01.largest_stable_lr" in QUESTIONS
        True
    """
    if not (isinstance(lesson, str) and len(lesson) == 2 and lesson.isdigit()):
        raise ValueError(f"lesson must be a two-digit string like '01'. Received: {lesson!r}")
    name = f"lrcourse.checks.lesson{lesson}"
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise


def all_questions() -> dict[str, Question]:
    """Every question of every lesson, importing each lesson's checkers.

    >>> [q for q in all_questions()][0]
    '01.largest_stable_lr'
    """
    for lesson in range(1, 100):
        load_lesson(f"{lesson:02d}")
    by_lesson = sorted(QUESTIONS.values(), key=lambda q: q.lesson)  # stable: keeps each
    return {q.id: q for q in by_lesson}  # lesson's questions in registration order


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
    if not (isinstance(lesson, str) and len(lesson) == 2 and lesson.isdigit()):
        return []
    load_lesson(lesson)
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
    if isinstance(question_id, str) and question_id[:2].isdigit():
        load_lesson(question_id[:2])
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
