"""Exercise checkers: each question's answer gets PASS, NOT YET or WRONG with a hint.

The core (verdicts, registry, ``check``) is ``lrcourse.checks._core``; each lesson's
checkers are ``lrcourse.checks.lessonNN``, imported when first needed.

    >>> from lrcourse.checks import check
    >>> def largest_stable_lr(hessian):
    ...     raise NotImplementedError("Exercise: return the largest stable learning rate")
    >>> print(check("01.largest_stable_lr", largest_stable_lr).row())
    01.largest_stable_lr  NOT YET  hint: ...

Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
"""

from lrcourse.checks._core import (
    MIME_TYPE,
    QUESTIONS,
    CheckResult,
    Question,
    Status,
    Wrong,
    all_questions,
    check,
    load_lesson,
    question,
    questions_for_lesson,
)

__all__ = [
    "MIME_TYPE", "QUESTIONS", "CheckResult", "Question", "Status", "Wrong", "all_questions",
    "check", "load_lesson", "question", "questions_for_lesson", "mystery_trajectories",
]


def __getattr__(name: str):
    # Lesson-specific public helpers, imported only when a notebook asks for them.
    if name == "mystery_trajectories":
        from lrcourse.checks.lesson05 import mystery_trajectories

        return mystery_trajectories
    raise AttributeError(f"module 'lrcourse.checks' has no attribute {name!r}")
