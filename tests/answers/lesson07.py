"""Lesson 07: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of bodies; the first is planted into a copy of the solution notebook by
``test_notebooks.py``.
"""

SIGNATURES = {
    "07.choose_recipe": "a, b",
    "07.schedule_from_range_test": "result, num_epochs, steps_per_epoch",
    "07.discriminative_optimizer": "model, lr, decay",
}

REFERENCE = {
    "07.choose_recipe": (
        "from scipy import stats\n"
        "va, vb = a['validation'], b['validation']\n"
        "if stats.ttest_ind(va, vb, equal_var=False).pvalue >= 0.05:\n"
        "    return 'tied'\n"
        "return 'a' if np.mean(va) > np.mean(vb) else 'b'"
    ),
    "07.schedule_from_range_test": (
        "from lrcourse.schedules import warmup_cosine\n"
        "total = num_epochs * steps_per_epoch\n"
        "return warmup_cosine(result.suggested_lr, total, round(0.1 * total))"
    ),
    "07.discriminative_optimizer": (
        "import torch\n"
        "children = list(model.children())\n"
        "groups = [{'params': child.parameters(), 'lr': lr * decay ** (len(children) - 1 - i)}\n"
        "          for i, child in enumerate(children)]\n"
        "return torch.optim.SGD(groups, momentum=0.9)"
    ),
}

WRONG_ANSWERS = {
    "07.choose_recipe": [
        # the means alone, no spread
        "return 'a' if np.mean(a['validation']) > np.mean(b['validation']) else 'b'",
        # one run each
        "return 'a' if a['validation'][0] > b['validation'][0] else 'b'",
        # chosen on the test split
        "from lrcourse.compare import compare_runs\n"
        "return compare_runs(a['test'], b['test']).verdict",
        "return 'tied'",
        "return None",
        # a t-test that ignores which recipe is higher
        "from scipy import stats\n"
        "p = stats.ttest_ind(a['validation'], b['validation'], equal_var=False).pvalue\n"
        "return 'a' if p < 0.05 else 'tied'",
    ],
    "07.schedule_from_range_test": [
        # lengths in epochs
        "from lrcourse.schedules import warmup_cosine\n"
        "return warmup_cosine(result.suggested_lr, num_epochs, round(0.1 * num_epochs))",
        # peak at the bottom of the curve
        "from lrcourse.schedules import warmup_cosine\n"
        "total = num_epochs * steps_per_epoch\n"
        "return warmup_cosine(result.suggestions['cycle_max'], total, round(0.1 * total))",
        # Keras CosineDecay with decay_steps = total (counts after the warmup)
        "import keras\n"
        "total = num_epochs * steps_per_epoch\n"
        "return keras.optimizers.schedules.CosineDecay(0.0, total, warmup_target="
        "result.suggested_lr, warmup_steps=round(0.1 * total))",
        # no warmup
        "from lrcourse.schedules import cosine_decay\n"
        "return cosine_decay(result.suggested_lr, num_epochs * steps_per_epoch)",
        "return result.suggested_lr",
    ],
    "07.discriminative_optimizer": [
        # reversed: the first layer gets lr
        "import torch\n"
        "children = list(model.children())\n"
        "groups = [{'params': child.parameters(), 'lr': lr * decay ** i}\n"
        "          for i, child in enumerate(children)]\n"
        "return torch.optim.SGD(groups, momentum=0.9)",
        # one rate
        "import torch\nreturn torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)",
        # off by one: the head gets lr * decay
        "import torch\n"
        "children = list(model.children())\n"
        "groups = [{'params': child.parameters(), 'lr': lr * decay ** (len(children) - i)}\n"
        "          for i, child in enumerate(children)]\n"
        "return torch.optim.SGD(groups, momentum=0.9)",
        # the head left out
        "import torch\n"
        "children = list(model.children())[:-1]\n"
        "groups = [{'params': child.parameters(), 'lr': lr * decay ** (len(children) - i)}\n"
        "          for i, child in enumerate(children)]\n"
        "return torch.optim.SGD(groups, momentum=0.9)",
        # Adam
        "import torch\n"
        "children = list(model.children())\n"
        "groups = [{'params': child.parameters(), 'lr': lr * decay ** (len(children) - 1 - i)}\n"
        "          for i, child in enumerate(children)]\n"
        "return torch.optim.Adam(groups)",
    ],
}
