"""Checkers for lesson 08: batch size, the learning rate and data parallelism.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked. The
gradient-averaging question runs the learner's function in a real gloo process group of 3
processes on 127.0.0.1 (through ``lrcourse.distributed.launch``).
"""

from __future__ import annotations

import math
import random
import types
from collections.abc import Callable

from lrcourse.checks._core import Wrong, _number, question

_RATE_CASES = [
    # base_lr, base_batch, new_batch, dataset_size, rule, warmup_epochs
    (0.1, 256, 8192, 1_281_167, "linear", 5),
    (0.1, 256, 8192, 1_281_167, "sqrt", 5),
    (0.02, 32, 96, 1000, "linear", 3),
    (0.05, 64, 1024, 50_000, "sqrt", 2),
    (0.3, 128, 32, 10_007, "linear", 1),
    (0.008, 16, 400, 999, "sqrt", 4),
]


def _pair(received: object, what: str) -> tuple:
    if not isinstance(received, (tuple, list)) or len(received) != 2:
        raise Wrong(f"expected {what} as a pair (peak_lr, warmup_steps), received "
                    f"{type(received).__name__} {received!r:.60}",
                    "return a tuple: (rate, number of warmup steps)")
    return tuple(received)


@question(
    "08.scaled_rate",
    "The peak rate and the warmup length for a new global batch",
    "k = new_batch / base_batch; the rate is base_lr * k (linear) or base_lr * sqrt(k) (sqrt); "
    "the warmup lasts warmup_epochs epochs of ceil(dataset_size / new_batch) steps each",
)
def _check_scaled_rate(answer: Callable) -> None:
    for base_lr, base_batch, new_batch, size, rule, epochs in _RATE_CASES:
        where = (f"base_lr={base_lr}, base_batch={base_batch}, new_batch={new_batch}, "
                 f"dataset_size={size}, rule={rule!r}, warmup_epochs={epochs}")
        received = _pair(answer(base_lr, base_batch, new_batch, size, rule, epochs), where)
        rate = _number(received[0], f"the rate (with {where})")
        steps = received[1]
        if isinstance(steps, bool) or not isinstance(steps, int | float) or steps != int(steps):
            raise Wrong(f"with {where}: expected the warmup length as a whole number of steps, "
                        f"received {steps!r:.40}", "count warmup in optimizer steps: an int")
        k = new_batch / base_batch
        factor = {"linear": k, "sqrt": math.sqrt(k)}[rule]
        expected_rate = base_lr * factor
        steps_per_epoch = math.ceil(size / new_batch)
        expected_steps = epochs * steps_per_epoch
        if not math.isclose(rate, expected_rate, rel_tol=1e-9):
            message = f"with {where}: expected rate {expected_rate:.6g}, received {rate:.6g}"
            other = {"linear": math.sqrt(k), "sqrt": k}[rule]
            if math.isclose(rate, base_lr / factor, rel_tol=1e-9):
                raise Wrong(message, "the ratio is upside down: a bigger batch gets a bigger "
                                     "rate, k = new_batch / base_batch")
            if math.isclose(rate, base_lr * other, rel_tol=1e-9):
                raise Wrong(message, "you applied the other rule: linear multiplies by k, "
                                     "sqrt by sqrt(k)")
            if math.isclose(rate, base_lr, rel_tol=1e-9):
                raise Wrong(message, "the rate must change with the batch")
            raise Wrong(message)
        if steps != expected_steps:
            message = (f"with {where}: expected {expected_steps} warmup steps, "
                       f"received {steps}")
            if steps == epochs:
                raise Wrong(message, "that is the warmup in epochs; multiply by the steps per "
                                     "epoch at the new batch")
            if steps == epochs * math.ceil(size / base_batch):
                raise Wrong(message, "you counted steps at the base batch: at the new batch an "
                                     "epoch has ceil(dataset_size / new_batch) steps")
            if steps == epochs * (size // new_batch):
                raise Wrong(message, "the last, smaller batch of an epoch is a step too: "
                                     "round up (math.ceil), not down")
            raise Wrong(message)


_EPOCH_CASES = [
    # dataset_size, batch_per_worker, world_size, drop_last
    (10, 2, 3, False),
    (10, 2, 3, True),
    (1000, 32, 4, False),
    (1001, 16, 8, False),
    (1001, 16, 8, True),
    (50_000, 64, 6, True),
    (97, 5, 2, False),
    (96, 5, 2, True),
]


@question(
    "08.ddp_epoch",
    "Global batch, steps per epoch and samples seen in a DDP epoch",
    "each rank's DistributedSampler yields ceil(N / W) indices (padding by repeating) or, with "
    "drop_last=True, floor(N / W); each rank's DataLoader makes ceil(that / b) batches",
)
def _check_ddp_epoch(answer: Callable) -> None:
    for size, batch, world, drop_last in _EPOCH_CASES:
        where = (f"dataset_size={size}, batch_per_worker={batch}, world_size={world}, "
                 f"drop_last={drop_last}")
        received = answer(size, batch, world, drop_last)
        if not isinstance(received, (tuple, list)) or len(received) != 3:
            raise Wrong(f"with {where}: expected a tuple (global_batch, steps_per_epoch, "
                        f"samples_seen), received {type(received).__name__} {received!r:.60}",
                        "return three ints")
        values = []
        for name, value in zip(("global_batch", "steps_per_epoch", "samples_seen"), received,
                               strict=True):
            if isinstance(value, bool) or not isinstance(value, int | float) \
                    or value != int(value):
                raise Wrong(f"with {where}: expected {name} as an int, received {value!r:.40}")
            values.append(int(value))
        global_batch, steps, seen = values
        from torch.utils.data import DataLoader
        from torch.utils.data.distributed import DistributedSampler

        samplers = [DistributedSampler(range(size), num_replicas=world, rank=rank,
                                       shuffle=False, drop_last=drop_last)
                    for rank in range(world)]
        per_rank = len(samplers[0])
        expected = (world * batch, len(DataLoader(range(size), batch_size=batch,
                                                  sampler=samplers[0])),
                    sum(len(list(s)) for s in samplers))
        if global_batch != expected[0]:
            hint = ("the global batch is what one step sees over all ranks: world_size * "
                    "batch_per_worker" if global_batch == batch else "")
            raise Wrong(f"with {where}: expected global_batch {expected[0]}, received "
                        f"{global_batch}", hint)
        if steps != expected[1]:
            message = f"with {where}: expected {expected[1]} steps, received {steps}"
            if steps == math.ceil(size / batch):
                raise Wrong(message, "each rank sees only its share, ceil(N / W) or floor(N / W) "
                                     "samples, not the whole dataset")
            if steps == per_rank // batch:
                raise Wrong(message, "the DataLoader keeps the last, smaller batch "
                                     "(its drop_last is False): round up")
            raise Wrong(message)
        if seen != expected[2]:
            message = f"with {where}: expected {expected[2]} samples seen, received {seen}"
            if drop_last and seen == world * math.ceil(size / world):
                raise Wrong(message, "with drop_last=True the sampler drops the remainder "
                                     "instead of padding: floor(N / W) samples per rank")
            if seen == size:
                raise Wrong(message, "the sampler pads by repeating indices (drop_last=False) "
                                     "or drops the remainder (drop_last=True), so an epoch "
                                     "rarely sees exactly dataset_size samples")
            if seen == world * steps * batch:
                raise Wrong(message, "the last batch of each rank is smaller: count samples, "
                                     "not steps times batch")
            raise Wrong(message)


# ----------------------------------------------------------------- gradient averaging


def _module_names(function) -> dict[str, str]:
    """Module globals the function's code refers to, as {name in the code: module name}."""
    names, stack = set(), [function.__code__]
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(c for c in code.co_consts if isinstance(c, types.CodeType))
    modules = {}
    for name in names:
        value = function.__globals__.get(name)
        if isinstance(value, types.ModuleType):
            modules[name] = value.__name__
    return modules


def _rebuild(code_bytes: bytes, defaults, modules: dict[str, str]):
    import builtins
    import importlib
    import marshal

    namespace = {"__builtins__": builtins}
    for alias, module in modules.items():
        namespace[alias] = importlib.import_module(module)
    return types.FunctionType(marshal.loads(code_bytes), namespace, "average_gradients",
                              defaults)


def _one_round(average, rank: int, world_size: int, seed: int) -> dict:
    """Local gradients, the learner's averaging, then what it should have given."""
    import torch
    import torch.distributed as dist

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3))
    data = torch.Generator().manual_seed(seed * 100 + rank)
    x = torch.randn(6 + rank, 5, generator=data)  # ranks hold different data
    y = torch.randint(0, 3, (6 + rank,), generator=data)
    torch.nn.functional.cross_entropy(model(x), y).backward()
    local = [p.grad.detach().clone() for p in model.parameters()]
    weights = [p.detach().clone() for p in model.parameters()]
    try:
        average(model)
    except NotImplementedError:
        return {"status": "not yet"}
    except Exception as error:  # the learner's code: report it, do not crash the worker
        return {"status": "raised", "error": f"{type(error).__name__}: {error}"}
    received = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
    moved = any(not torch.equal(p.detach(), w)
                for p, w in zip(model.parameters(), weights, strict=True))
    summed = [g.clone() for g in local]
    for g in summed:
        dist.all_reduce(g)  # computed after the learner's call
    first = [g.clone() for g in local]
    for g in first:
        dist.broadcast(g, 0)

    def close(a, b):
        return a is not None and torch.allclose(a, b, rtol=1e-6, atol=1e-8)

    def scale(reference):
        # c when every received gradient is c * reference (c the same for all), else None
        if any(r is None for r in received):
            return None
        r = torch.cat([g.ravel() for g in received])
        e = torch.cat([g.ravel() for g in reference])
        c = float(r @ e / (e @ e))
        return c if close(r, c * e) else None

    expected = [g / world_size for g in summed]
    return {"status": "done", "moved": moved,
            "right": all(close(r, e) for r, e in zip(received, expected, strict=True)),
            "of_sum": scale(summed), "of_local": scale(local),
            "first": all(close(r, e) for r, e in zip(received, first, strict=True)),
            "some": sum(close(r, e) for r, e in zip(received, expected, strict=True)),
            "count": len(expected)}


def _averaging_worker(rank: int, world_size: int, code_bytes: bytes, defaults,
                      modules: dict[str, str], seed: int, second_port: int) -> list[dict]:
    """Check the learner's averaging in this group, then again in a group of two."""
    import datetime

    import torch.distributed as dist

    average = _rebuild(code_bytes, defaults, modules)
    rounds = [_one_round(average, rank, world_size, seed)]
    # A second group of a different size, so that dividing by a fixed number fails.
    dist.destroy_process_group()
    if rank < 2:
        dist.init_process_group("gloo", rank=rank, world_size=2,
                                init_method=f"tcp://127.0.0.1:{second_port}",
                                timeout=datetime.timedelta(seconds=30))
        rounds.append(_one_round(average, rank, 2, seed + 1))
    return rounds


def _diagnose_round(results: list[dict], world_size: int) -> None:
    statuses = {r["status"] for r in results}
    if "not yet" in statuses:
        raise NotImplementedError
    if "raised" in statuses:
        error = next(r["error"] for r in results if r["status"] == "raised")
        hint = ("this backend has no ReduceOp.AVG: all_reduce with the default SUM, then divide"
                if "AVG" in error or "Avg" in error else
                "use torch.distributed (imported as dist) and the model only")
        raise Wrong(f"in a process group of {world_size}, your function raised {error}", hint)
    where = f"in a process group of {world_size} processes (each with its own data)"
    if any(r["moved"] for r in results):
        raise Wrong(f"{where}, your function changed the weights",
                    "only average the gradients (p.grad); the optimizer takes the step")
    if all(r["right"] for r in results):
        return
    message = f"{where}, p.grad is not the mean of the ranks' gradients"

    def common(key):
        values = [r[key] for r in results]
        if any(v is None for v in values) or max(values) - min(values) > 1e-6 * max(values):
            return None
        return values[0]

    of_sum, of_local = common("of_sum"), common("of_local")
    if of_sum is not None and math.isclose(of_sum, 1, rel_tol=1e-6):
        raise Wrong(message + " (it is their sum)",
                    "all_reduce sums; divide by dist.get_world_size()")
    if of_sum is not None and math.isclose(of_sum, world_size ** -2, rel_tol=1e-6):
        raise Wrong(message + " (it is the mean divided by the world size again)",
                    "divide once, by dist.get_world_size()")
    if of_sum is not None:
        raise Wrong(message + f" (it is their sum divided by {1 / of_sum:.4g}, not by "
                              f"{world_size})",
                    "divide by dist.get_world_size(), not by a fixed number")
    if of_local is not None:
        kept = "" if math.isclose(of_local, 1, rel_tol=1e-6) else " (then divided)"
        raise Wrong(message + f" (each rank kept its own gradient{kept})",
                    "all_reduce works in place on the tensor you give it: pass p.grad "
                    "itself, not a copy, or copy the result back")
    if all(r["first"] for r in results):
        raise Wrong(message + " (every rank has rank 0's gradient)",
                    "broadcast copies one rank's tensor; all_reduce combines all of them")
    if all(0 < r["some"] < r["count"] for r in results):
        raise Wrong(message + " for some of the parameters", "loop over every parameter")
    raise Wrong(message)


def _diagnose(results: list[list[dict]], world_size: int) -> None:
    _diagnose_round([rounds[0] for rounds in results], world_size)
    _diagnose_round([rounds[1] for rounds in results if len(rounds) > 1], 2)


@question(
    "08.average_gradients",
    "Average the gradients over the processes, as DDP does",
    "for each parameter: dist.all_reduce(p.grad) (a sum, in place), then divide p.grad by "
    "dist.get_world_size()",
)
def _check_average_gradients(answer: Callable) -> None:
    import marshal

    from lrcourse import distributed

    if getattr(answer, "__closure__", None):
        raise Wrong("your function uses variables of an enclosing function",
                    "define average_gradients at the top level of a cell")
    try:  # without a process group a real answer fails here; only the stub is caught
        import torch

        answer(torch.nn.Linear(1, 1))
    except NotImplementedError:
        raise
    except Exception as error:  # expected: no process group in this kernel
        del error
    code = marshal.dumps(answer.__code__)
    modules = _module_names(answer)
    # Three processes, not the lesson's two, then two of them again: dividing by any fixed
    # number fails in one of the groups.
    world_size, seed = 3, random.randrange(1000)
    try:
        # gloo gives up on a collective after 30 s (a learner's mismatched calls raise then);
        # starting three Pythons that import torch takes a few seconds on a quiet machine
        results = distributed.launch(_averaging_worker, code, answer.__defaults__, modules,
                                     seed, distributed.free_port(), world_size=world_size,
                                     timeout=180, collective_timeout=30)
    except TimeoutError:
        raise Wrong(f"in a process group of {world_size}, your function did not finish "
                    f"within 180 s", "every rank must make the same collective calls in "
                                     "the same order") from None
    _diagnose(results, world_size)
