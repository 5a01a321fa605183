"""The LR-finder benchmark chooses on a validation split and calls ties by a paired test."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch_lr_finder")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("lr_finder_benchmark",
                                                  ROOT / "benchmarks" / "lr_finder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paired_verdict_says_tied_better_or_worse(script):
    assert script.paired_verdict([0.01, -0.01, 0.002]) == "tied"
    assert script.paired_verdict([0.02, 0.03, 0.025]) == "better"
    assert script.paired_verdict([-0.02, -0.03, -0.025]) == "worse"
    assert script.paired_verdict([0.0, 0.0, 0.0]) == "tied"
    with pytest.raises(ValueError, match="`differences` needs at least 2 values"):
        script.paired_verdict([0.1])


def test_validation_split_is_carved_from_training_only(script):
    import torch  # noqa: PLC0415

    assert len(script.X_FIT) == len(script.X_TRAIN) - 360 and len(script.X_VAL) == 360
    held_out = script._HELD_OUT
    assert sorted(held_out.tolist()) == list(range(len(script.X_TRAIN)))  # disjoint, complete
    assert torch.equal(script.X_VAL, script.X_TRAIN[held_out[:360]])
