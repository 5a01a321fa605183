"""Lesson 02: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of (body, words the hint must contain); the first is planted into a
copy of the solution notebook by ``test_notebooks.py``.
"""

# The answer function's parameters, as the exercise notebook declares them.
SIGNATURES = {
    "02.triangular_schedule": "step, base_lr, max_lr, step_size",
    "02.warmup_hold_cosine": "peak_lr, warmup_steps, hold_steps, decay_steps, final_lr",
    "02.keras_to_torch": "optimizer, initial_lr, decay_steps, decay_rate",
}

REFERENCE = {
    "02.triangular_schedule": (
        "cycle = math.floor(1 + step / (2 * step_size))\n"
        "x = abs(step / step_size - 2 * cycle + 1)\n"
        "return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)"
    ),
    "02.warmup_hold_cosine": (
        "from lrcourse.schedules import constant, cosine_decay, join, linear_warmup\n"
        "return join([linear_warmup(peak_lr, warmup_steps), constant(peak_lr),\n"
        "             cosine_decay(peak_lr, decay_steps, alpha=final_lr / peak_lr)],\n"
        "            [warmup_steps, warmup_steps + hold_steps])"
    ),
    "02.keras_to_torch": (
        "import torch\n"
        "return torch.optim.lr_scheduler.StepLR(optimizer, step_size=decay_steps, gamma=decay_rate)"
    ),
}

WRONG_ANSWERS = {
    "02.triangular_schedule": [
        "cycle = math.floor(1 + (step + 1) / (2 * step_size))\n"
        "x = abs((step + 1) / step_size - 2 * cycle + 1)\n"
        "return base_lr + (max_lr - base_lr) * max(0.0, 1 - x)",
        "x = abs(step / step_size % 2 - 1)\n"
        "return base_lr + (max_lr - base_lr) * x",
        "cycle = math.floor(1 + step / (2 * step_size))\n"
        "x = abs(step / step_size - 2 * cycle + 1)\n"
        "return (max_lr - base_lr) * max(0.0, 1 - x)",
        "x = abs((2 * step / step_size) % 2 - 1)\n"
        "return base_lr + (max_lr - base_lr) * (1 - x)",
        "return str(base_lr)",
        "return max_lr",
        "return base_lr + (max_lr - base_lr) * (1 - abs(2 * (step % step_size) / step_size - 1))",
        "cycle = math.floor(1 + step / (2 * step_size))\n"
        "x = abs(step / step_size - 2 * cycle + 1)\n"
        "return base_lr + max_lr * max(0.0, 1 - x)",
        "cycle = math.floor(1 + step / (2 * step_size))\n"
        "x = abs(step / step_size - 2 * cycle + 1)\n"
        "return np.float32(base_lr + (max_lr - base_lr) * max(0.0, 1 - x))",
        "return np.array([base_lr, max_lr])",
        "return None",
    ],
    "02.warmup_hold_cosine": [
        "import math\n"
        "def schedule(step):\n"
        "    if step < warmup_steps:\n"
        "        return peak_lr * step / warmup_steps\n"
        "    if step < warmup_steps + hold_steps:\n"
        "        return peak_lr\n"
        "    t = (step - warmup_steps - hold_steps) / decay_steps\n"
        "    return final_lr + (peak_lr - final_lr) * (1 + math.cos(math.pi * t)) / 2\n"
        "return schedule",
        "import math\n"
        "def schedule(step):\n"
        "    if step < warmup_steps:\n"
        "        return peak_lr * step / warmup_steps\n"
        "    if step <= warmup_steps + hold_steps:\n"
        "        return peak_lr\n"
        "    t = min(1, (step - warmup_steps - hold_steps - 1) / decay_steps)\n"
        "    return final_lr + (peak_lr - final_lr) * (1 + math.cos(math.pi * t)) / 2\n"
        "return schedule",
        "import math\n"
        "def schedule(step):\n"
        "    if step < warmup_steps:\n"
        "        return peak_lr * step / warmup_steps\n"
        "    if step < warmup_steps + hold_steps:\n"
        "        return peak_lr\n"
        "    t = min(1, step / decay_steps)\n"
        "    return final_lr + (peak_lr - final_lr) * (1 + math.cos(math.pi * t)) / 2\n"
        "return schedule",
        "return peak_lr",
        "from lrcourse.schedules import warmup_cosine\n"
        "return warmup_cosine(peak_lr, warmup_steps + hold_steps + decay_steps, warmup_steps,\n"
        "                     final_lr)",
        "import math\n"
        "def schedule(step):\n"
        "    if step < warmup_steps:\n"
        "        return peak_lr * (step + 1) / warmup_steps\n"
        "    if step < warmup_steps + hold_steps:\n"
        "        return peak_lr\n"
        "    t = min(1, (step - warmup_steps - hold_steps) / decay_steps)\n"
        "    return final_lr + (peak_lr - final_lr) * (1 + math.cos(math.pi * t)) / 2\n"
        "return schedule",
        "from lrcourse.schedules import constant, cosine_decay, join, linear_warmup\n"
        "return join([linear_warmup(peak_lr, warmup_steps), constant(peak_lr),\n"
        "             cosine_decay(peak_lr, decay_steps, alpha=final_lr)],\n"
        "            [warmup_steps, warmup_steps + hold_steps])",
        "from lrcourse.schedules import constant, cosine_decay, join, linear_warmup\n"
        "return join([linear_warmup(peak_lr, warmup_steps), constant(peak_lr),\n"
        "             cosine_decay(peak_lr, decay_steps)],\n"
        "            [warmup_steps, warmup_steps + hold_steps])",
        "return lambda step: 'a rate'",
    ],
    "02.keras_to_torch": [
        "import torch\n"
        "gamma = decay_rate ** (1 / decay_steps)\n"
        "return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)",
        "import torch\n"
        "return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, decay_steps // 45),\n"
        "                                       gamma=decay_rate)",
        "import torch\n"
        "return torch.optim.lr_scheduler.StepLR(optimizer, step_size=decay_steps + 1,\n"
        "                                       gamma=decay_rate)",
        "import torch\n"
        "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=decay_steps,\n"
        "                                            gamma=decay_rate)\n"
        "scheduler.step()\n"
        "return scheduler",
        "return decay_rate",
        "import torch\n"
        "return torch.optim.lr_scheduler.StepLR(optimizer, step_size=decay_steps * 45,\n"
        "                                       gamma=decay_rate)",
        "import torch\n"
        "return torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=decay_rate)",
        "return optimizer",
        "import torch\n"
        "return torch.optim.lr_scheduler.StepLR",
        "import torch\n"
        "own = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=initial_lr)\n"
        "return torch.optim.lr_scheduler.StepLR(own, step_size=decay_steps, gamma=decay_rate)",
    ],
}
