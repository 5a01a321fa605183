"""What the course adds to nbval when pytest executes notebooks (`pytest --nbval-lax notebooks/`).

nbval runs each code cell as a test in one kernel per notebook and reports a failing cell
with its source. This file, loaded for every path under the course folder, adds:

- the kernel's environment: the network guard (``tests/netguard``: only loopback
  connections), TensorFlow's C++ logs off, one compute thread per kernel under
  pytest-xdist, and fast mode when pytest runs with ``LRCOURSE_FAST=1``;
- two checks after every cell: a cell tagged ``raises-exception`` that raised nothing
  fails (nbval lets it pass), and so does a cell that tried to reach the network, even
  when the lesson swallowed the ``ConnectionRefusedError``;
- pytest-xdist grouping: the cells of one notebook share an ``xdist_group``, so
  ``--dist loadgroup`` (the Makefile's) keeps them on one worker, in order, as
  ``--dist loadscope`` does;
- the executed notebook: the outputs nbval collected and the widgets' state, kept in
  ``NBVAL_RUNS`` for tests marked ``nbval_run(path)`` (the HTML edition), which run right
  after that notebook's last cell, on the same worker, instead of executing it again.
"""

from __future__ import annotations

import ast
import copy
import json
import os
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
NETGUARD = ROOT / "tests" / "netguard"
RAISES_TAG = "raises-exception"
# Executed notebooks by absolute path, filled as nbval finishes each one (this process only).
NBVAL_RUNS: dict[Path, object] = {}

_LOG_DIR = tempfile.mkdtemp(prefix="lrcourse-netguard-")
_WIDGET_STATE = ("__import__('json').dumps(__import__('sys').modules['ipywidgets'].Widget"
                 ".get_manager_state(drop_defaults=False) if 'ipywidgets' in "
                 "__import__('sys').modules else None)")


def _is_nbval_cell(item) -> bool:
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell")


def notebook_group(path: Path) -> str:
    """The ``xdist_group`` of a notebook's cells: its path in the course."""
    path = Path(path).resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def kernel_environment(log: Path) -> dict[str, str]:
    """The environment a notebook kernel starts with under pytest."""
    from lrcourse.runner import kernel_env

    python_path = os.pathsep.join(p for p in (str(NETGUARD), os.environ.get("PYTHONPATH")) if p)
    threads = 1 if os.environ.get("PYTEST_XDIST_WORKER") else None
    return kernel_env(fast=os.environ.get("LRCOURSE_FAST") == "1", threads=threads,
                      extra={"PYTHONPATH": python_path, "LRCOURSE_NETWORK_LOG": str(log)})


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "nbval_run(path): use nbval's execution of that notebook in this session "
        "(runs after its last cell, in its xdist group); executes it when there is none")


def pytest_itemcollected(item):
    if _is_nbval_cell(item):
        item.add_marker(pytest.mark.xdist_group(notebook_group(item.path)))
        return
    mark = item.get_closest_marker("nbval_run")
    if mark is not None:
        item.add_marker(pytest.mark.xdist_group(notebook_group(mark.args[0])))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Move each ``nbval_run(path)`` test right after the last cell of that notebook.

    Also make ``--dist loadgroup`` group again under pytest 9: pytest-xdist 3.8 marks a
    test's group by appending ``@group`` to ``item._nodeid``, which pytest 9 no longer
    reads (the node id lives in ``item._id``), so every ``xdist_group`` was silently
    ignored and a notebook's cells were spread over the workers.
    """
    if getattr(config.option, "loadgroup", False):
        from _pytest.nodeid import coerce_node_id

        for item in items:
            names = sorted({str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
                            for mark in item.iter_markers("xdist_group")})
            if names and "@" not in item.nodeid.rsplit("]", 1)[-1]:
                item._id = coerce_node_id(f"{item.nodeid}@{'_'.join(names)}")
    followers: dict[str, list] = {}
    for item in list(items):
        mark = item.get_closest_marker("nbval_run")
        if mark is not None and not _is_nbval_cell(item):
            group = notebook_group(mark.args[0])
            if any(_is_nbval_cell(other) and notebook_group(other.path) == group
                   for other in items):
                items.remove(item)
                followers.setdefault(group, []).append(item)
    for group, tests in followers.items():
        last = max(i for i, other in enumerate(items)
                   if _is_nbval_cell(other) and notebook_group(other.path) == group)
        items[last + 1:last + 1] = tests


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """Start the notebook's kernel (nbval does it in the first cell's setup) in our environment."""
    if not _is_nbval_cell(item) or item.parent.kernel is not None:
        return (yield)
    log = Path(_LOG_DIR) / (notebook_group(item.path).replace("/", "_") + ".log")
    log.write_text("")
    item.parent.lrcourse = {"log": log, "seen": 0, "start": time.monotonic(), "cells": {}}
    from lrcourse.runner import _log_execution

    _log_execution("nbval", item.path)
    saved, wanted = dict(os.environ), kernel_environment(log)
    os.environ.clear()
    os.environ.update(wanted)
    try:
        return (yield)
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After nbval ran a cell: no silent ``raises-exception`` cell, no network access."""
    if not _is_nbval_cell(item):
        return (yield)
    state = getattr(item.parent, "lrcourse", None)
    try:
        result = yield
    finally:
        if state is not None:
            state["cells"][item.cell_num] = list(item.test_outputs or [])
    if state is not None:
        refused = state["log"].read_text().splitlines()[state["seen"]:]
        state["seen"] += len(refused)
        if refused:
            item.raise_cell_error("The cell tried to reach the network (tests allow only "
                                  "loopback): " + "; ".join(refused))
    errors = [out for out in item.test_outputs or [] if out.get("output_type") == "error"]
    if RAISES_TAG in item.cell.metadata.get("tags", []) and not errors:
        item.raise_cell_error(f"The cell is tagged {RAISES_TAG} but raised nothing")
    return result


def _widget_state(kernel) -> dict | None:
    """The kernel's widget models, as nbclient stores them in a notebook's metadata."""
    client = kernel.kc
    msg_id = client.execute("", silent=True, user_expressions={"state": _WIDGET_STATE})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = client.get_shell_msg(timeout=30)
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        found = reply["content"].get("user_expressions", {}).get("state", {})
        if found.get("status") != "ok":
            return None
        text = ast.literal_eval(found["data"]["text/plain"])
        return json.loads(text) if text else None
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """Before nbval stops a notebook's kernel, keep the executed notebook in ``NBVAL_RUNS``."""
    if (_is_nbval_cell(item) and getattr(item.parent, "lrcourse", None) is not None
            and (nextitem is None or nextitem.parent is not item.parent)
            and item.parent.kernel is not None and item.parent.kernel.is_alive()):
        _keep_executed(item.parent)
    return (yield)


def _keep_executed(notebook_file) -> None:
    import nbformat

    from lrcourse.runner import CellFailure, NotebookRun

    state = notebook_file.lrcourse
    seconds = time.monotonic() - state["start"]
    notebook = copy.deepcopy(notebook_file.nb)
    failures = []
    code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells):
        cell.outputs = [nbformat.from_dict(dict(out)) for out in state["cells"].get(number, [])]
        cell.execution_count = number + 1 if number in state["cells"] else None
        errors = [out for out in cell.outputs if out.output_type == "error"]
        if errors and RAISES_TAG not in cell.metadata.get("tags", []):
            failures.append(CellFailure(number, "error", f"{errors[0].ename}: {errors[0].evalue}"))
    widgets = _widget_state(notebook_file.kernel)
    if widgets:
        notebook.metadata["widgets"] = {
            "application/vnd.jupyter.widget-state+json": widgets}
    NBVAL_RUNS[Path(notebook_file.path).resolve()] = NotebookRun(
        Path(notebook_file.path), notebook, seconds, failures)


@pytest.fixture
def nbval_runs():
    """The notebooks nbval executed in this process, by absolute path."""
    return NBVAL_RUNS

