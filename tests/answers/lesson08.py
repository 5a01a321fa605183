"""Lesson 08: the reference answer and the planted wrong answers of each question.

Each answer is the body of the learner's function, as text; ``WRONG_ANSWERS`` maps a
question to a list of bodies; the first is planted into a copy of the solution notebook by
``test_notebooks.py``.
"""

# The answer function's parameters, as the exercise notebook declares them.
SIGNATURES = {
    "08.scaled_rate": "base_lr, base_batch, new_batch, dataset_size, rule, warmup_epochs",
    "08.ddp_epoch": "dataset_size, batch_per_worker, world_size, drop_last",
    "08.average_gradients": "model",
}

REFERENCE = {
    "08.scaled_rate": (
        "k = new_batch / base_batch\n"
        "factor = k if rule == 'linear' else math.sqrt(k)\n"
        "return base_lr * factor, warmup_epochs * math.ceil(dataset_size / new_batch)"
    ),
    "08.ddp_epoch": (
        "if drop_last:\n"
        "    per_rank = dataset_size // world_size\n"
        "else:\n"
        "    per_rank = math.ceil(dataset_size / world_size)\n"
        "steps = math.ceil(per_rank / batch_per_worker)\n"
        "return world_size * batch_per_worker, steps, world_size * per_rank"
    ),
    "08.average_gradients": (
        "import torch.distributed as dist\n"
        "for p in model.parameters():\n"
        "    dist.all_reduce(p.grad)\n"
        "    p.grad /= dist.get_world_size()"
    ),
}

WRONG_ANSWERS = {
    "08.scaled_rate": [
        "k = base_batch / new_batch\n"
        "factor = k if rule == 'linear' else math.sqrt(k)\n"
        "return base_lr * factor, warmup_epochs * math.ceil(dataset_size / new_batch)",
        "k = new_batch / base_batch\n"
        "factor = math.sqrt(k) if rule == 'linear' else k\n"
        "return base_lr * factor, warmup_epochs * math.ceil(dataset_size / new_batch)",
        "k = new_batch / base_batch\n"
        "factor = k if rule == 'linear' else math.sqrt(k)\n"
        "return base_lr * factor, warmup_epochs",
        "k = new_batch / base_batch\n"
        "factor = k if rule == 'linear' else math.sqrt(k)\n"
        "return base_lr * factor, warmup_epochs * math.ceil(dataset_size / base_batch)",
        "k = new_batch / base_batch\n"
        "factor = k if rule == 'linear' else math.sqrt(k)\n"
        "return base_lr * factor, warmup_epochs * (dataset_size // new_batch)",
        "return (base_lr * new_batch / base_batch,\n"
        "        warmup_epochs * math.ceil(dataset_size / new_batch))",
        "return 0.1, 5",
        "return base_lr",
    ],
    "08.ddp_epoch": [
        "per_rank = math.ceil(dataset_size / world_size)\n"
        "steps = math.ceil(per_rank / batch_per_worker)\n"
        "return world_size * batch_per_worker, steps, dataset_size",
        "per_rank = math.ceil(dataset_size / world_size)\n"
        "steps = math.ceil(per_rank / batch_per_worker)\n"
        "return batch_per_worker, steps, world_size * per_rank",
        "per_rank = math.ceil(dataset_size / world_size)\n"
        "if drop_last:\n"
        "    per_rank = dataset_size // world_size\n"
        "return world_size * batch_per_worker, math.ceil(dataset_size / batch_per_worker), "
        "world_size * per_rank",
        "per_rank = math.ceil(dataset_size / world_size)\n"
        "if drop_last:\n"
        "    per_rank = dataset_size // world_size\n"
        "return world_size * batch_per_worker, per_rank // batch_per_worker, world_size * per_rank",
        "per_rank = math.ceil(dataset_size / world_size)\n"
        "steps = math.ceil(per_rank / batch_per_worker)\n"
        "return world_size * batch_per_worker, steps, world_size * per_rank",
        "return 32, 10, 100",
        "return (1, 2)",
    ],
    "08.average_gradients": [
        "import torch.distributed as dist\n"
        "for p in model.parameters():\n"
        "    dist.all_reduce(p.grad)",
        "import torch.distributed as dist\n"
        "for p in model.parameters():\n"
        "    dist.all_reduce(p.grad)\n"
        "    p.grad /= 2",
        "import torch.distributed as dist\n"
        "for p in model.parameters():\n"
        "    dist.all_reduce(p.grad.clone())\n"
        "    p.grad /= dist.get_world_size()",
        "import torch.distributed as dist\n"
        "for p in model.parameters():\n"
        "    dist.broadcast(p.grad, 0)",
        "import torch.distributed as dist\n"
        "p = next(iter(model.parameters()))\n"
        "dist.all_reduce(p.grad)\n"
        "p.grad /= dist.get_world_size()",
    ],
}
