"""Notebooks under pytest: nbval runs every one; these tests prove what conftest.py adds to it.

Every lesson, solution and exercise notebook is collected by nbval (`--nbval-lax`, see
pyproject.toml) and executed cell by cell, offline, in fast mode. The exercise round trips
(solutions all PASS, exercises all NOT YET, planted wrong answers WRONG) are graded in
tests/test_grading.py.
"""

import os
import re
import subprocess
import sys
import uuid

import pytest
from conftest import ALL_NOTEBOOKS, EXERCISES, LESSONS, ROOT, SOLUTIONS, guarded_env, write_notebook

from lrcourse.runner import execute_notebook

pytestmark = pytest.mark.notebook


def test_there_is_something_to_run():
    assert len(SOLUTIONS) == len(EXERCISES) >= 1 and LESSONS and ALL_NOTEBOOKS


def run_pytest(paths, *options) -> tuple[int, str]:
    """pytest in a subprocess from the course folder, so conftest.py and pyproject.toml apply."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("PYTEST_", "LRCOURSE_"))}
    env["LRCOURSE_FAST"] = "1"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-rfE", *options, *map(str, paths)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


@pytest.fixture
def scratch():
    """A folder inside the course (conftest.py applies only below it), removed afterwards."""
    import shutil

    folder = ROOT / "build" / f"nbval-{uuid.uuid4().hex[:8]}"
    folder.mkdir(parents=True)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def failed_cells(output: str) -> set[str]:
    """``name.ipynb::Cell N`` of every cell pytest's short summary lists as failed."""
    return {f"{name}::Cell {number}" for name, number in
            re.findall(r"^FAILED \S*?([\w-]+\.ipynb)::Cell (\d+)", output, re.M)}


def test_nbval_fails_a_silent_raises_cell_a_network_call_and_an_error_naming_the_cell(scratch):
    write_notebook(scratch / "silent.ipynb", "x = 1", "print('this raises, it says')",
                   tags={1: ["raises-exception"]})
    write_notebook(scratch / "loud.ipynb", "raise ValueError('shown on purpose')", "y = 2",
                   tags={0: ["raises-exception"]})
    write_notebook(scratch / "network.ipynb", "import socket",
                   "try:\n    socket.getaddrinfo('example.invalid', 80)\nexcept OSError:\n"
                   "    pass  # a lesson that swallows the refusal", "z = 3")
    write_notebook(scratch / "error.ipynb", "# the broken cell\n1 / 0")
    code, out = run_pytest(sorted(scratch.glob("*.ipynb")))
    assert code == 1, out
    assert failed_cells(out) == {"silent.ipynb::Cell 1", "network.ipynb::Cell 1",
                                 "error.ipynb::Cell 0"}, out
    assert "The cell is tagged raises-exception but raised nothing" in out
    assert "print('this raises, it says')" in out  # nbval shows the failing cell's source
    assert "tried to reach the network" in out and "look up 'example.invalid'" in out
    assert "ZeroDivisionError" in out and "# the broken cell" in out
    assert re.search(r"\b3 failed, 5 passed\b", out), out


@pytest.mark.parametrize("dist", ["loadgroup", "loadscope"])
def test_nbval_keeps_each_notebooks_cells_together_under_xdist(scratch, dist):
    for name in ("a", "b", "c"):
        write_notebook(scratch / f"{name}.ipynb", "import os\nfast = os.environ['LRCOURSE_FAST']",
                       "total = 0", *[f"total += {step}" for step in range(1, 6)],
                       "assert total == 15 and fast == '1'")
    code, out = run_pytest(sorted(scratch.glob("*.ipynb")), "-n", "2", "--dist", dist)
    assert code == 0, out
    assert re.search(r"\b24 passed\b", out), out


def test_network_guard_refuses_the_outside_and_allows_loopback(tmp_path, network_log):
    path = write_notebook(
        tmp_path / "net.ipynb",
        "import socket\nsocket.getaddrinfo('example.invalid', 80)",
        "import socket\nsocket.socket().connect(('192.0.2.1', 80))",
        "import socket\nserver = socket.create_server(('127.0.0.1', 0))\n"
        "socket.create_connection(server.getsockname(), timeout=5).close()",
        tags={0: ["raises-exception"], 1: ["raises-exception"]},
    )
    run = execute_notebook(path, env=guarded_env(network_log), timeout=60)
    assert run.ok, [failure.describe() for failure in run.failures]
    assert network_log.read_text().splitlines() == [
        "look up 'example.invalid'", "connect to ('192.0.2.1', 80)"]
