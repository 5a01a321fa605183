"""Every lesson's reference and planted wrong answers, collected from ``lessonNN.py``.

A lesson with exercises adds ``tests/answers/lessonNN.py`` defining ``SIGNATURES``,
``REFERENCE`` and ``WRONG_ANSWERS``; ``test_checks.py`` fails until every registered
question has all three.
"""

import importlib
import pkgutil

SIGNATURES: dict[str, str] = {}
REFERENCE: dict[str, str] = {}
WRONG_ANSWERS: dict[str, list] = {}

for _name in sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("lesson")):
    _answers = importlib.import_module(f"{__name__}.{_name}")
    SIGNATURES.update(_answers.SIGNATURES)
    REFERENCE.update(_answers.REFERENCE)
    WRONG_ANSWERS.update(_answers.WRONG_ANSWERS)
