"""lrcourse's LR finder side by side with torch-lr-finder, on the digits MLP, and print tables.

    .venv/bin/python benchmarks/lr_finder.py [--repeats 7] [--seeds 5] [--epochs 8]

1. Time: wall time of a 100-step range test (1e-5 -> 10) on the same model, data and seed.
   lrcourse is ``torch_utils.find_lr`` (snapshot, sweep, restore, suggestions);
   torch-lr-finder is ``LRFinder(...)`` + ``range_test(...)`` + ``plot(suggest_lr=True)`` +
   ``reset()``, the calls that give the same result. The two take turns; median of N.
2. Quality: for each of 5 seeds, a fresh digits MLP (64-64-10, SGD momentum 0.9, batch 32)
   is trained for a fixed number of epochs at each suggested rate (lrcourse's
   minimum_div_10, valley and steepest; torch-lr-finder's steepest) and at each rate of a
   9-point log grid 1e-3 .. 1 (``GRID``, 3/8 of a decade apart). The 1,437 training digits
   are split once into 1,077 to train on and 360 to validate on; every score and every
   choice uses the validation split. Reported per suggestion: validation accuracy as a
   fraction of the best grid accuracy of that seed (mean, standard deviation, worst), and
   the paired difference from lrcourse's minimum_div_10 over the seeds, called "tied" when
   its mean is within two standard errors of 0. The suggestion with the best mean is the
   one chosen on validation; only it is then trained once more per seed on the full
   training split and scored on the test split, once.
3. Restore: after each finder runs on a model with BatchNorm and Dropout, an Adam optimizer
   with state and two param groups (rates 0.01 and 0.001), and one module in eval mode,
   every weight, buffer and optimizer-state tensor is compared with its value before the run,
   plus the group rates, the train/eval modes and the torch RNG state. A fourth case feeds a
   NaN batch and reports whether the sweep stopped.

Numbers go to stdout; nothing is asserted. Shared machines are noisy: read medians.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch_lr_finder import LRFinder  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lrcourse.data import load_digits_split  # noqa: E402
from lrcourse.torch_utils import find_lr  # noqa: E402

torch.set_num_threads(1)
START, END, STEPS, BATCH = 1e-5, 10.0, 100, 32
GRID = np.logspace(-3, 0, 9)  # 1e-3 .. 1 in steps of 10 ** 0.375
DIGITS = load_digits_split(seed=0)
X_TRAIN, Y_TRAIN = torch.from_numpy(DIGITS.x_train), torch.from_numpy(DIGITS.y_train)
X_TEST, Y_TEST = torch.from_numpy(DIGITS.x_test), torch.from_numpy(DIGITS.y_test)
# Choices are made on a validation split carved once from the training digits.
_HELD_OUT = torch.from_numpy(np.random.default_rng(0).permutation(len(X_TRAIN)))
X_FIT, Y_FIT = X_TRAIN[_HELD_OUT[360:]], Y_TRAIN[_HELD_OUT[360:]]
X_VAL, Y_VAL = X_TRAIN[_HELD_OUT[:360]], Y_TRAIN[_HELD_OUT[:360]]
LOSS = torch.nn.CrossEntropyLoss()


def make(seed: int, lr: float = 0.01, x=X_FIT, y=Y_FIT):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    generator = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y),
                                         batch_size=BATCH, shuffle=True, generator=generator)
    return model, optimizer, loader


def quiet():
    return contextlib.redirect_stdout(io.StringIO())


def run_lrcourse(model, optimizer, loader):
    return find_lr(model, optimizer, LOSS, loader, start_lr=START, end_lr=END, num_steps=STEPS)


def run_torch_lr_finder(model, optimizer, loader, reset=True):
    import matplotlib.pyplot as plt

    with quiet(), contextlib.redirect_stderr(io.StringIO()):
        finder = LRFinder(model, optimizer, LOSS)
        finder.range_test(loader, start_lr=START, end_lr=END, num_iter=STEPS)
        figure, ax = plt.subplots()
        _, suggestion = finder.plot(ax=ax, suggest_lr=True)
        plt.close(figure)
        if reset:
            finder.reset()
    return suggestion, finder


def timing(repeats: int) -> dict:
    times = {"lrcourse": [], "torch-lr-finder": []}
    for _ in range(repeats):
        for name, run in (("lrcourse", run_lrcourse), ("torch-lr-finder", run_torch_lr_finder)):
            model, optimizer, loader = make(0)
            began = time.perf_counter()
            run(model, optimizer, loader)
            times[name].append(time.perf_counter() - began)
    medians = {name: statistics.median(values) for name, values in times.items()}
    return {**medians, "ratio": medians["lrcourse"] / medians["torch-lr-finder"]}


def train(seed: int, lr: float, epochs: int, final: bool = False) -> float:
    """Accuracy after training: on the validation split, or (``final``) trained on the
    whole training split and scored on the test split."""
    model, optimizer, loader = make(seed, lr, *((X_TRAIN, Y_TRAIN) if final else (X_FIT, Y_FIT)))
    for _ in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = LOSS(model(x), y)
            if not torch.isfinite(loss):
                return 0.0
            loss.backward()
            optimizer.step()
    x_eval, y_eval = (X_TEST, Y_TEST) if final else (X_VAL, Y_VAL)
    with torch.no_grad():
        return float((model(x_eval).argmax(1) == y_eval).float().mean())


def paired_verdict(differences) -> str:
    """'tied' when the mean paired difference is within two standard errors of 0, else
    'better' or 'worse' (the sign of the mean). Needs at least 2 values."""
    values = np.asarray(differences, dtype=np.float64)
    if values.size < 2:
        raise ValueError(f"`differences` needs at least 2 values. Received: {values.size}")
    mean, error = values.mean(), values.std(ddof=1) / np.sqrt(values.size)
    if abs(mean) <= 2 * error:
        return "tied"
    return "better" if mean > 0 else "worse"


def quality(seeds: int, epochs: int) -> dict:
    rows = {"lrcourse minimum_div_10 (default)": [], "lrcourse valley": [],
            "lrcourse steepest": [], "torch-lr-finder steepest": []}
    rates = {name: [] for name in rows}
    for seed in range(seeds):
        grid = [train(seed, lr, epochs) for lr in GRID]
        best = max(grid)
        result = run_lrcourse(*make(seed))
        suggestion, _ = run_torch_lr_finder(*make(seed))
        chosen = {"lrcourse minimum_div_10 (default)": result.suggested_lr,
                  "lrcourse valley": result.suggestions["valley"],
                  "lrcourse steepest": result.suggestions["steepest"],
                  "torch-lr-finder steepest": suggestion}
        for name, lr in chosen.items():
            rows[name].append(train(seed, lr, epochs) / best)
            rates[name].append(lr)
        print(f"  seed {seed}: grid best {best:.3f} at lr {GRID[int(np.argmax(grid))]:.3g}; "
              + ", ".join(f"{n.split()[0][:5]} {n.split()[1]} {lr:.3g}"
                          for n, lr in chosen.items()), flush=True)
    reference = np.array(rows["lrcourse minimum_div_10 (default)"])
    scores = {}
    for name, values in rows.items():
        values = np.array(values)
        verdict = ("-" if name.endswith("(default)")
                   else paired_verdict(values - reference) if seeds > 1 else "n/a")
        scores[name] = {"mean": values.mean(), "std": values.std(ddof=1) if seeds > 1 else 0.0,
                        "worst": values.min(), "rate": statistics.median(rates[name]),
                        "difference": (values - reference).mean(), "verdict": verdict,
                        "rates": rates[name]}
    return scores


def test_once(scores: dict, epochs: int) -> tuple[str, list]:
    """The suggestion with the best validation mean, trained on all training digits at each
    seed's suggested rate and scored on the test split: the one use of the test split."""
    name = max(scores, key=lambda n: scores[n]["mean"])
    return name, [train(seed, lr, epochs, final=True)
                  for seed, lr in enumerate(scores[name]["rates"])]


class NanOnce(torch.utils.data.Dataset):
    """The digits, with one batch-sized block of NaN inputs near the start of the sweep."""

    def __len__(self):
        return len(X_TRAIN)

    def __getitem__(self, index):
        x = X_TRAIN[index]
        return (x * float("nan") if 5 * BATCH <= index < 6 * BATCH else x), Y_TRAIN[index]


def restore_setup():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.BatchNorm1d(32),
                                torch.nn.ReLU(), torch.nn.Dropout(0.2), torch.nn.Linear(32, 10))
    optimizer = torch.optim.Adam([{"params": model[0].parameters(), "lr": 0.01},
                                  {"params": list(model[1].parameters())
                                   + list(model[4].parameters()), "lr": 0.001}])
    for _ in range(3):
        optimizer.zero_grad()
        LOSS(model(X_TRAIN[:64]), Y_TRAIN[:64]).backward()
        optimizer.step()
    model[3].eval()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X_TRAIN, Y_TRAIN),
                                         batch_size=BATCH, shuffle=True)
    return model, optimizer, loader


def snapshot(model, optimizer) -> dict:
    return {"weights": copy.deepcopy(model.state_dict()),
            "optimizer": copy.deepcopy(optimizer.state_dict()),
            "rates": [g["lr"] for g in optimizer.param_groups],
            "modes": [m.training for m in model.modules()],
            "rng": torch.get_rng_state().clone()}


def equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def restore() -> dict:
    cases = {
        "lrcourse find_lr": lambda m, o, loader: run_lrcourse(m, o, loader),
        "torch-lr-finder, no reset()": lambda m, o, loader: run_torch_lr_finder(
            m, o, loader, reset=False),
        "torch-lr-finder + reset()": lambda m, o, loader: run_torch_lr_finder(m, o, loader),
    }
    rows = {}
    for name, run in cases.items():
        model, optimizer, loader = restore_setup()
        before = snapshot(model, optimizer)
        run(model, optimizer, loader)
        after = snapshot(model, optimizer)
        rows[name] = {key: equal(before[key], after[key]) for key in before}
    nan_loader = torch.utils.data.DataLoader(NanOnce(), batch_size=BATCH, shuffle=False)
    model, optimizer, _ = restore_setup()
    result = run_lrcourse(model, optimizer, nan_loader)
    rows["lrcourse find_lr"]["stops at NaN"] = (result.stop_reason, len(result.losses))
    model, optimizer, _ = restore_setup()
    _, finder = run_torch_lr_finder(model, optimizer, nan_loader)
    losses = finder.history["loss"]
    stopped = "non_finite" if len(losses) < STEPS else "ran on"
    nan_count = int(np.isnan(losses).sum())
    for name in ("torch-lr-finder, no reset()", "torch-lr-finder + reset()"):
        rows[name]["stops at NaN"] = (f"{stopped}, {nan_count} NaN", len(losses))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()

    print(f"1. Time of a {STEPS}-step range test, median of {args.repeats} (seconds)")
    times = timing(args.repeats)
    print(f"   lrcourse find_lr           {times['lrcourse']:.3f}")
    print(f"   torch-lr-finder            {times['torch-lr-finder']:.3f}")
    print(f"   ratio lrcourse / peer      {times['ratio']:.2f}   (target <= 1.0)")

    print(f"\n2. Validation accuracy / best of the 9-point grid {GRID[0]:.0e}..{GRID[-1]:.0e}, "
          f"{args.seeds} seeds, {args.epochs} epochs (1,077 digits to train, 360 to validate)")
    scores = quality(args.seeds, args.epochs)
    print(f"   {'suggestion':34s} {'mean':>6s} {'std':>6s} {'worst':>6s} {'median lr':>10s}"
          "  vs minimum_div_10 (paired mean)")
    for name, row in scores.items():
        print(f"   {name:34s} {row['mean']:6.3f} {row['std']:6.3f} {row['worst']:6.3f} "
              f"{row['rate']:10.3g}  {row['verdict']:>6s} ({row['difference']:+.4f})")
    chosen, accuracies = test_once(scores, args.epochs)
    print(f"   chosen on validation: {chosen}; test accuracy (used once, all 1,437 training "
          f"digits): mean {statistics.mean(accuracies):.3f}, worst {min(accuracies):.3f}")

    print("\n3. Restored after the run? (True = bit for bit)")
    rows = restore()
    keys = ["weights", "optimizer", "rates", "modes", "rng", "stops at NaN"]
    print(f"   {'finder':30s} " + " ".join(f"{k:>10s}" for k in keys[:-1]) + "  stops at NaN")
    for name, row in rows.items():
        stop, count = row["stops at NaN"]
        print(f"   {name:30s} " + " ".join(f"{str(row[k]):>10s}" for k in keys[:-1])
              + f"  {stop} after {count} steps")


if __name__ == "__main__":
    main()
