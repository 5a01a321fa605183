"""Checkers for lesson 07: putting it together.

Loaded by ``lrcourse.checks`` the first time one of its questions is checked.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lrcourse.checks._core import Wrong, _number, question

# ---------------------------------------------------------------------------------------
# 07.choose_recipe

_SINGLE_RUN_HINT = ("one seed is one draw: compare all the seeds, the means against the "
                    "spread (Welch's t-test, p < 0.05), not the first run of each")
_MEANS_ONLY_HINT = ("the means differ by less than the seed-to-seed spread: compare the "
                    "difference with its standard error (Welch's t-test, p < 0.05) and "
                    "answer 'tied' when it is not significant")
_TEST_HINT = ("you chose on the test scores: choose on the validation scores only; the test "
              "split is used once, for the recipe already chosen")


def _recipe_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(name, validation a, validation b, test a, test b), per seed, built to be unambiguous.

    Only the "test" case has test scores that disagree with the validation scores."""
    rng = np.random.default_rng(7)

    def around(mean, spread, n=5):
        noise = rng.standard_normal(n)
        return mean + spread * (noise - noise.mean()) / noise.std(ddof=1)

    a_better = around(0.960, 0.004), around(0.945, 0.004)
    b_better = around(0.930, 0.006), around(0.950, 0.005)
    # Noisy recipes whose means differ by a third of a standard deviation: tied.
    tied = around(0.952, 0.020), around(0.945, 0.020)
    # a is clearly better over five seeds, but b won seed 0.
    a_overall = around(0.960, 0.006)
    b_lucky = around(0.944, 0.006)
    a_overall[0], b_lucky[0] = 0.950, 0.958
    # Validation: b clearly better. Test: a looks better (it must not be looked at).
    val_b = around(0.935, 0.004), around(0.955, 0.004)
    test_a = around(0.965, 0.004), around(0.940, 0.004)
    return [
        ("single_run", a_overall, b_lucky, around(0.958, 0.004), around(0.944, 0.004)),
        ("a_better", *a_better, around(0.955, 0.005), around(0.944, 0.005)),
        ("tied", *tied, around(0.948, 0.020), around(0.947, 0.020)),
        ("b_better", *b_better, around(0.935, 0.005), around(0.951, 0.005)),
        ("test", *val_b, *test_a),
    ]


def _verdict(a, b) -> str:
    from lrcourse.compare import compare_runs

    return compare_runs(a, b).verdict


@question(
    "07.choose_recipe",
    "Two recipes over five seeds: which is better, or are they tied?",
    "use only the validation scores; Welch's t-test (scipy.stats.ttest_ind(a, b, "
    "equal_var=False) or lrcourse.compare.compare_runs): p < 0.05 -> the higher mean, "
    "otherwise 'tied'",
)
def _check_choose_recipe(answer: Callable) -> None:
    for name, val_a, val_b, test_a, test_b in _recipe_cases():
        a = {"validation": val_a.tolist(), "test": test_a.tolist()}
        b = {"validation": val_b.tolist(), "test": test_b.tolist()}
        received = answer(a, b)
        if not isinstance(received, str) or received not in ("a", "b", "tied"):
            raise Wrong(f"expected 'a', 'b' or 'tied', received {type(received).__name__} "
                        f"{received!r:.60}")
        expected = _verdict(val_a, val_b)
        if received == expected:
            continue
        message = (f"validation a = {np.round(val_a, 3).tolist()}, b = "
                   f"{np.round(val_b, 3).tolist()}: expected {expected!r}, received "
                   f"{received!r}")
        if name == "test" and received == _verdict(test_a, test_b):
            raise Wrong(message, _TEST_HINT)
        if name == "single_run":
            raise Wrong(message, _SINGLE_RUN_HINT)
        if name == "tied":
            raise Wrong(message, _MEANS_ONLY_HINT)
        raise Wrong(message)


# ---------------------------------------------------------------------------------------
# 07.schedule_from_range_test

_CURVES = [(-2.0, 8, 17), (-1.3, 3, 40), (-2.6, 12, 9)]  # (centre of the fall, epochs, steps)


def _range_test(centre: float):
    from lrcourse.finder import analyze, sweep_rates

    lrs = sweep_rates(1e-5, 10.0, 100)
    x = np.log10(lrs)
    losses = 2.3 - np.tanh(1.5 * (x - centre)) + np.exp(3.0 * (x - centre - 1.8))
    return analyze(lrs, losses)


def _rate(function: Callable, step: int, where: str) -> float:
    value = function(step)
    if hasattr(value, "numpy"):  # a Keras schedule returns a tensor
        value = value.numpy()
    return _number(value, f"the rate at step {step} ({where})")


@question(
    "07.schedule_from_range_test",
    "Warmup + cosine from a range test, in optimizer steps",
    "peak = result.suggested_lr; total = num_epochs * steps_per_epoch optimizer steps; "
    "warmup = round(0.1 * total) steps from 0; then cosine to 0 at step total "
    "(lrcourse.schedules.warmup_cosine)",
)
def _check_schedule_from_range_test(answer: Callable) -> None:
    from lrcourse.schedules import warmup_cosine

    for centre, epochs, per_epoch in _CURVES:
        result = _range_test(centre)
        schedule = answer(result, epochs, per_epoch)
        if not callable(schedule):
            raise Wrong(f"expected a function step -> learning rate, received "
                        f"{type(schedule).__name__} {schedule!r:.60}")
        total = epochs * per_epoch
        warmup = round(0.1 * total)
        where = f"{epochs} epochs of {per_epoch} steps, suggested_lr={result.suggested_lr:.3g}"
        probes = sorted({0, 1, warmup // 2, warmup, warmup + 1, epochs, total // 2,
                         total - 2, total - 1, total})
        received = [_rate(schedule, step, where) for step in probes]
        expected = warmup_cosine(result.suggested_lr, total, warmup)(np.array(probes))
        if np.allclose(received, expected, rtol=1e-5, atol=1e-6 * result.suggested_lr):
            continue
        message = (f"{where}: at steps {probes} expected "
                   f"{[float(f'{v:.4g}') for v in expected]}, received "
                   f"{[float(f'{v:.4g}') for v in received]}")
        peak = max(received)
        top = result.suggestions["cycle_max"]
        if math.isclose(peak, top, rel_tol=0.05) or peak > 3 * result.suggested_lr:
            raise Wrong(message, "the peak is too high: use result.suggested_lr (a tenth of "
                                 "the bottom), not the bottom of the curve, where training "
                                 "breaks")
        if all(abs(v) < 1e-12 for v, step in zip(received, probes, strict=True) if step > epochs):
            raise Wrong(message, "you scheduled in epochs: the schedule is called with the "
                                 "optimizer step, so its lengths must be in steps "
                                 "(num_epochs * steps_per_epoch), not epochs")
        if received[0] > 0.5 * result.suggested_lr:
            raise Wrong(message, "a warmup starts near 0 and climbs to the peak; yours starts "
                                 "at the peak")
        raise Wrong(message, "check the warmup length (10% of the total steps) and that the "
                             "cosine reaches 0 at step num_epochs * steps_per_epoch, counting "
                             "the warmup in the total (Keras CosineDecay's decay_steps "
                             "count after the warmup)")


# ---------------------------------------------------------------------------------------
# 07.discriminative_optimizer

_MODELS = [(("stem", "block", "head"), 0.1, 0.5), (("embed", "body", "neck", "out"), 0.03, 0.3),
           (("features", "classifier"), 0.2, 0.1)]


def _layered_model(names):
    from collections import OrderedDict

    import torch

    torch.manual_seed(len(names))
    sizes = [5 + i for i in range(len(names) + 1)]
    return torch.nn.Sequential(OrderedDict(
        (name, torch.nn.Linear(sizes[i], sizes[i + 1])) for i, name in enumerate(names)))


@question(
    "07.discriminative_optimizer",
    "Discriminative rates: each layer group slower than the one above it",
    "one param group per child of the model (input to output); child i of n gets "
    "lr * decay ** (n - 1 - i), so the last (the head) gets lr; torch.optim.SGD, momentum 0.9",
)
def _check_discriminative_optimizer(answer: Callable) -> None:
    import torch

    for names, lr, decay in _MODELS:
        model = _layered_model(names)
        optimizer = answer(model, lr, decay)
        where = f"children {list(names)}, lr={lr}, decay={decay}"
        if not isinstance(optimizer, torch.optim.SGD):
            raise Wrong(f"{where}: expected a torch.optim.SGD, received "
                        f"{type(optimizer).__name__}")
        rate_of, momentum_of = {}, {}
        for group in optimizer.param_groups:
            for p in group["params"]:
                rate_of[id(p)], momentum_of[id(p)] = group["lr"], group.get("momentum", 0.0)
        n = len(names)
        expected = [lr * decay ** (n - 1 - i) for i in range(n)]
        received = []
        for name in names:
            rates = {rate_of.get(id(p)) for p in getattr(model, name).parameters()}
            if None in rates:
                raise Wrong(f"{where}: some parameters of {name!r} are in no param group",
                            "every child's parameters (weights and biases) must be in the "
                            "optimizer")
            if len(rates) != 1:
                raise Wrong(f"{where}: the parameters of {name!r} have different rates "
                            f"{sorted(rates)}", "one rate per child")
            received.append(rates.pop())
        if any(not math.isclose(m, 0.9) for m in momentum_of.values()):
            raise Wrong(f"{where}: momentum {sorted(set(momentum_of.values()))}, expected 0.9",
                        "pass momentum=0.9 to torch.optim.SGD")
        if np.allclose(received, expected, rtol=1e-9):
            continue
        message = (f"{where}: expected rates {[float(f'{r:.4g}') for r in expected]}, "
                   f"received {[float(f'{r:.4g}') for r in received]}")
        if np.allclose(received, expected[::-1], rtol=1e-9):
            raise Wrong(message, "reversed: the head (last child) gets lr and the rates "
                                 "shrink going toward the input, where the pretrained "
                                 "features are")
        if len(set(received)) == 1:
            raise Wrong(message, "all groups got one rate: that is not discriminative; "
                                 "multiply by decay once per child below the head")
        if np.allclose(received, [r * decay for r in expected], rtol=1e-9) or \
                np.allclose(received, [r / decay for r in expected], rtol=1e-9):
            raise Wrong(message, "off by one: the last child gets lr * decay ** 0 = lr")
        raise Wrong(message)
