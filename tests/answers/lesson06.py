"""Lesson 06: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of (body, words the hint must contain); the first is planted into a
copy of the solution notebook by ``test_notebooks.py``.
"""

# The answer function's parameters, as the exercise notebook declares them.
SIGNATURES = {
    "06.smooth_losses": "losses, beta",
    "06.choose_rate": "lrs, losses",
    "06.rate_for_new_data": "model, x, y",
}

REFERENCE = {
    # Lesson 06: the LR range test
    "06.smooth_losses": (
        "out, average = [], 0.0\n"
        "for t, loss in enumerate(losses, start=1):\n"
        "    average = beta * average + (1 - beta) * loss\n"
        "    out.append(average / (1 - beta ** t))\n"
        "return out"
    ),
    "06.choose_rate": (
        "from lrcourse.finder import analyze\n"
        "return analyze(lrs, losses).suggested_lr"
    ),
    "06.rate_for_new_data": (
        "from lrcourse.keras_utils import find_lr\n"
        "return find_lr(model, x, y, batch_size=16, start_lr=1e-4, end_lr=10.0).suggested_lr"
    ),
}

WRONG_ANSWERS = {
    # Lesson 06: the LR range test
    "06.smooth_losses": [
        "out, average = [], 0.0\nfor loss in losses:\n"
        "    average = beta * average + (1 - beta) * loss\n    out.append(average)\nreturn out",
        "out, average = [], 0.0\nfor t, loss in enumerate(losses, start=1):\n"
        "    average = (1 - beta) * average + beta * loss\n"
        "    out.append(average / (1 - beta ** t))\nreturn out",
        "out, average = [], 0.0\nfor t, loss in enumerate(losses, start=1):\n"
        "    average = (beta * average + (1 - beta) * loss) / (1 - beta ** t)\n"
        "    out.append(average)\nreturn out",
        "out, average = [], 0.0\nfor t, loss in enumerate(losses, start=1):\n"
        "    average = beta * average + (1 - beta) * loss\n"
        "    out.append(average / (1 - beta ** (t + 1)))\nreturn out",
        "average = 0.0\nfor t, loss in enumerate(losses, start=1):\n"
        "    average = beta * average + (1 - beta) * loss\nreturn average / (1 - beta ** t)",
        "return 'smoothed'",
        "out, average = [], 0.0\nfor t, loss in enumerate(losses):\n"
        "    average = beta * average + (1 - beta) * loss\n"
        "    out.append(average / (1 - beta ** t))\nreturn out",
        "out, average = np.zeros(len(losses)), 0.0\nfor t, loss in enumerate(losses):\n"
        "    average = beta * average + (1 - beta) * loss\n"
        "    with np.errstate(divide='ignore'):\n"
        "        out[t] = average / (1 - np.float64(beta) ** t)\nreturn out",
        "out, average = [], losses[0]\nfor loss in losses:\n"
        "    average = beta * average + (1 - beta) * loss\n    out.append(average)\nreturn out",
    ],
    "06.choose_rate": [
        "return lrs[np.argmin(losses)]",
        "return lrs[np.argmin(np.gradient(losses))]",
        "return lrs[0]",
        "return lrs[np.argmin(losses)] / 10",
        "return None",
        "from lrcourse.finder import smooth\nreturn float(lrs[np.argmin(smooth(losses, 0.9))])",
        "return float(lrs[np.argmin(np.gradient(losses, np.log10(lrs)))])",
        "from lrcourse.finder import smooth\n"
        "return float(lrs[np.argmin(smooth(losses, 0.98))] / 10)",
        "return 0.003",
    ],
    "06.rate_for_new_data": [
        "for rate in np.geomspace(1e-4, 10.0, 20):\n"
        "    model.optimizer.learning_rate.assign(rate)\n"
        "    model.train_on_batch(x[:16], y[:16])\n"
        "return 0.03",
        "from lrcourse.keras_utils import find_lr\n"
        "return find_lr(model, x, y, batch_size=16, start_lr=1e-4, end_lr=10.0)",
        "from lrcourse.keras_utils import find_lr\n"
        "result = find_lr(model, x, y, batch_size=16, start_lr=1e-4, end_lr=10.0)\n"
        "return float(result.lrs[np.nanargmin(result.smoothed_losses)])",
        "return 1e-4",
        "import keras\nfrom lrcourse.keras_utils import find_lr\n"
        "model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=model.loss)\n"
        "return find_lr(model, x, y, batch_size=16, start_lr=1e-4, end_lr=10.0).suggested_lr",
        "from lrcourse.keras_utils import find_lr\n"
        "rate = find_lr(model, x, y, batch_size=16, start_lr=1e-4, end_lr=10.0).suggested_lr\n"
        "model.optimizer.learning_rate.assign(rate)\nreturn rate",
        "return 0.03",
    ],
}
