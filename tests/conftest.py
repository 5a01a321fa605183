"""Shared paths and helpers for the lrcourse tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib
import nbformat
import pytest

matplotlib.use("Agg")  # figures drawn by the tests need no display

ROOT = Path(__file__).resolve().parents[1]
NETGUARD = ROOT / "tests" / "netguard"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
ALL_NOTEBOOKS = LESSONS + SOLUTIONS + EXERCISES


def guarded_env(log: Path) -> dict:
    """Kernel environment that loads the network guard and logs refused connections to ``log``."""
    python_path = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH")) if p)
    return {"PYTHONPATH": python_path, "LRCOURSE_NETWORK_LOG": str(log)}


def write_notebook(path: Path, *sources: str, tags: dict[int, list[str]] | None = None,
                   lesson: str | None = None) -> Path:
    """A small notebook with one code cell per source; ``tags`` maps cell index to tags."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    for index, cell_tags in (tags or {}).items():
        notebook.cells[index].metadata["tags"] = cell_tags
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    if lesson:
        notebook.metadata["lrcourse"] = {"lesson": lesson}
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def network_log(tmp_path):
    """A fresh file the network guard writes to; the test asserts on it."""
    log = tmp_path / "network.log"
    log.touch()
    return log


@pytest.fixture(autouse=True)
def close_figures():
    """Close the figures a test drew, so they do not pile up over the session."""
    yield
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close("all")


# Checkers that start worker processes (08.average_gradients runs the answer in real gloo
# process groups): their tests are left out of `make test-fast` with the notebook marker.
PROCESS_QUESTIONS = {"08.average_gradients"}


def pytest_collection_modifyitems(items):
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("question_id") in PROCESS_QUESTIONS:
            item.add_marker(pytest.mark.notebook)
