"""Lesson 01: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of (body, words the hint must contain); the first is planted into a
copy of the solution notebook by ``test_notebooks.py``.
"""

# The answer function's parameters, as the exercise notebook declares them.
SIGNATURES = {
    "01.largest_stable_lr": "hessian",
    "01.set_keras_learning_rate": "optimizer, value",
    "01.set_torch_learning_rate": "optimizer, value",
    "01.first_to_reach": "histories, target",
}

REFERENCE = {
    "01.largest_stable_lr": "return 2.0 / np.linalg.eigvalsh(hessian).max()",
    "01.set_keras_learning_rate": "optimizer.learning_rate.assign(value)",
    "01.set_torch_learning_rate": "for group in optimizer.param_groups:\n    group['lr'] = value",
    "01.first_to_reach": (
        "reached = {r: next((i for i, v in enumerate(l) if v <= target), None)"
        " for r, l in histories.items()}\n"
        "reached = {r: i for r, i in reached.items() if i is not None}\n"
        "return min(reached, key=lambda r: (reached[r], r)) if reached else None"
    ),
}

WRONG_ANSWERS = {
    "01.largest_stable_lr": [
        "return 1.0 / np.linalg.eigvalsh(hessian).max()",
        "return 2.0 / np.linalg.eigvalsh(hessian).min()",
        "return 2.0 / np.trace(hessian)",
        "return 2.0 / np.diag(hessian).max()",
        "return str(2.0 / np.linalg.eigvalsh(hessian).max())",
        "return 2.0 / np.linalg.eigvalsh(hessian)",
    ],
    "01.set_keras_learning_rate": [
        "optimizer.lr = value",
        "import keras\nkeras.backend.set_value(optimizer.learning_rate, value)",
        "optimizer = type(optimizer)(learning_rate=value)",
    ],
    "01.set_torch_learning_rate": [
        "optimizer.lr = value",
        "optimizer.param_groups[0]['lr'] = value",
        "optimizer.defaults['lr'] = value",
    ],
    "01.first_to_reach": [
        "return min(histories, key=lambda r: histories[r][-1])",
        "return max(histories)",
        "hits = [r for r, l in histories.items() if min(l) <= target]\n"
        "return min(hits) if hits else None",
        "return None",
    ],
}
