"""Lesson 03: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of (body, words the hint must contain); the first is planted into a
copy of the solution notebook by ``test_notebooks.py``.
"""

# The answer function's parameters, as the exercise notebook declares them.
SIGNATURES = {
    "03.fine_tune_groups": "model",
    "03.keras_two_rates": "model",
    "03.adam_gradient_scaling": "method, steps",
}

REFERENCE = {
    "03.fine_tune_groups": (
        "import torch\n"
        "model.base.requires_grad_(False)\n"
        "return torch.optim.SGD([{'params': model.middle.parameters(), 'lr': 0.01},\n"
        "                        {'params': model.head.parameters(), 'lr': 0.1}], momentum=0.9)"
    ),
    "03.keras_two_rates": (
        "import keras\n"
        "slow, fast = keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.1)\n"
        "rules = keras.optimizers.OptimizerMap(fast, {'.*/features/.*': slow})\n"
        "model.compile(optimizer=keras.optimizers.MultiOptimizer(rules),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))"
    ),
    "03.adam_gradient_scaling": (
        "import torch\n"
        "w1, w2 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)\n"
        "if method == 'scale_gradient':\n"
        "    optimizer, scale = torch.optim.Adam([w1, w2], lr=0.01), 0.1\n"
        "else:\n"
        "    optimizer = torch.optim.Adam([{'params': [w1], 'lr': 0.01},\n"
        "                                  {'params': [w2], 'lr': 0.001}])\n"
        "    scale = 1.0\n"
        "for _ in range(steps):\n"
        "    optimizer.zero_grad()\n"
        "    (w1 ** 2 + w2 ** 2).backward()\n"
        "    w2.grad *= scale\n"
        "    optimizer.step()\n"
        "return abs(w1.item() - 1.0), abs(w2.item() - 2.0)"
    ),
}

WRONG_ANSWERS = {
    "03.fine_tune_groups": [
        "import torch\n"
        "both = [*model.base.parameters(), *model.middle.parameters()]\n"
        "return torch.optim.SGD([{'params': both, 'lr': 0.01},\n"
        "                        {'params': model.head.parameters(), 'lr': 0.1}], momentum=0.9)",
        "import torch\n"
        "model.base.requires_grad_(False)\n"
        "return torch.optim.SGD([{'params': model.parameters(), 'lr': 0.01},\n"
        "                        {'params': model.head.parameters(), 'lr': 0.1}], momentum=0.9)",
        "import torch\n"
        "model.base.requires_grad_(False)\n"
        "return torch.optim.SGD([{'params': model.middle.parameters(), 'lr': 0.1},\n"
        "                        {'params': model.head.parameters(), 'lr': 0.01}], momentum=0.9)",
        "import torch\n"
        "model.base.requires_grad_(False)\n"
        "return torch.optim.SGD(model.middle.parameters(), lr=0.01, momentum=0.9)",
        "import torch\n"
        "return torch.optim.SGD([{'params': model.middle.parameters(), 'lr': 0.01},\n"
        "                        {'params': model.head.parameters(), 'lr': 0.1}], momentum=0.9)",
        "import torch\n"
        "model.base.requires_grad_(False)\n"
        "return torch.optim.SGD([{'params': model.middle.parameters(), 'lr': 0.01},\n"
        "                        {'params': model.head.parameters(), 'lr': 0.1}])",
        "import torch\n"
        "model.base.requires_grad_(False)\n"
        "return torch.optim.Adam([{'params': model.middle.parameters(), 'lr': 0.01},\n"
        "                         {'params': model.head.parameters(), 'lr': 0.1}])",
        "model.base.requires_grad_(False)",
    ],
    "03.keras_two_rates": [
        "import keras\n"
        "slow, fast = keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.1)\n"
        "rules = keras.optimizers.OptimizerMap(fast, {'features/.*': slow})\n"
        "model.compile(optimizer=keras.optimizers.MultiOptimizer(rules),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))",
        "import keras\n"
        "slow, fast = keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.1)\n"
        "rules = keras.optimizers.OptimizerMap(fast, {'features': slow})\n"
        "model.compile(optimizer=keras.optimizers.MultiOptimizer(rules),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))",
        "import keras\n"
        "slow, fast = keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.1)\n"
        "rules = keras.optimizers.OptimizerMap(slow, {'.*/features/.*': fast})\n"
        "model.compile(optimizer=keras.optimizers.MultiOptimizer(rules),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))",
        "return None",
        "import keras\n"
        "model.compile(optimizer=keras.optimizers.SGD(0.1),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))",
        "import keras\n"
        "slow = keras.optimizers.SGD(0.01, momentum=0.9)\n"
        "fast = keras.optimizers.SGD(0.1, momentum=0.9)\n"
        "rules = keras.optimizers.OptimizerMap(fast, {'.*/features/.*': slow})\n"
        "model.compile(optimizer=keras.optimizers.MultiOptimizer(rules),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))\n"
        "model.fit(np.zeros((4, 6)), np.zeros(4), verbose=0)",
        "import keras\n"
        "slow = keras.optimizers.SGD(0.01, momentum=0.9)\n"
        "fast = keras.optimizers.SGD(0.1, momentum=0.9)\n"
        "rules = keras.optimizers.OptimizerMap(fast, {'.*/features/.*': slow})\n"
        "model.compile(optimizer=keras.optimizers.MultiOptimizer(rules),\n"
        "              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))"
    ],
    "03.adam_gradient_scaling": [
        "import torch\n"
        "w1, w2 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)\n"
        "optimizer = torch.optim.Adam([w1, w2], lr=0.01)\n"
        "for _ in range(steps):\n"
        "    optimizer.zero_grad()\n"
        "    (w1 ** 2 + w2 ** 2).backward()\n"
        "    w2.grad *= 0.1\n"
        "    optimizer.step()\n"
        "return abs(w1.item() - 1.0), abs(w2.item() - 2.0)",
        "import torch\n"
        "w1, w2 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)\n"
        "optimizer = torch.optim.SGD([w1, w2], lr=0.01)\n"
        "for _ in range(steps):\n"
        "    optimizer.zero_grad()\n"
        "    (w1 ** 2 + w2 ** 2).backward()\n"
        "    w2.grad *= (0.1 if method == 'scale_gradient' else 1.0)\n"
        "    optimizer.step()\n"
        "return abs(w1.item() - 1.0), abs(w2.item() - 2.0)",
        "import torch\n"
        "w1, w2 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)\n"
        "optimizer = (torch.optim.Adam([w1, w2], lr=0.01) if method == 'scale_gradient'\n"
        "             else torch.optim.Adam([{'params': [w1], 'lr': 0.01},\n"
        "                                   {'params': [w2], 'lr': 0.001}]))\n"
        "for _ in range(steps + 1):\n"
        "    optimizer.zero_grad()\n"
        "    (w1 ** 2 + w2 ** 2).backward()\n"
        "    w2.grad *= (0.1 if method == 'scale_gradient' else 1.0)\n"
        "    optimizer.step()\n"
        "return abs(w1.item() - 1.0), abs(w2.item() - 2.0)",
        "import torch\n"
        "w1, w2 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)\n"
        "optimizer = (torch.optim.Adam([w1, w2], lr=0.01) if method == 'scale_gradient'\n"
        "             else torch.optim.Adam([{'params': [w1], 'lr': 0.001},\n"
        "                                   {'params': [w2], 'lr': 0.01}]))\n"
        "for _ in range(steps):\n"
        "    optimizer.zero_grad()\n"
        "    (w1 ** 2 + w2 ** 2).backward()\n"
        "    w2.grad *= (0.1 if method == 'scale_gradient' else 1.0)\n"
        "    optimizer.step()\n"
        "return abs(w1.item() - 1.0), abs(w2.item() - 2.0)",
        "import torch\n"
        "w1, w2 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)\n"
        "optimizer = (torch.optim.Adam([w1, w2], lr=0.01) if method == 'scale_gradient'\n"
        "             else torch.optim.Adam([{'params': [w1], 'lr': 0.01},\n"
        "                                   {'params': [w2], 'lr': 0.001}]))\n"
        "for _ in range(steps):\n"
        "    optimizer.zero_grad()\n"
        "    (w1 ** 2 + w2 ** 2).backward()\n"
        "    w2.grad *= (0.1 if method == 'scale_gradient' else 1.0)\n"
        "    optimizer.step()\n"
        "return w1.item(), w2.item()",
        "import torch\n"
        "w1, w2 = torch.tensor(1.0, requires_grad=True), torch.tensor(2.0, requires_grad=True)\n"
        "optimizer = (torch.optim.Adam([w1, w2], lr=0.01) if method == 'scale_gradient'\n"
        "             else torch.optim.Adam([{'params': [w1], 'lr': 0.01},\n"
        "                                   {'params': [w2], 'lr': 0.001}]))\n"
        "for _ in range(steps):\n"
        "    optimizer.zero_grad()\n"
        "    (w1 ** 2 + w2 ** 2).backward()\n"
        "    w2.grad *= (0.1 if method == 'scale_gradient' else 1.0)\n"
        "    optimizer.step()\n"
        "return abs(w1.item() - 1.0)",
    ],
}
