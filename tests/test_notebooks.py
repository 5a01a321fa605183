"""Every notebook runs offline in fast mode; exercises round-trip through the checker."""

import re

import nbformat
import pytest
from answers import WRONG_ANSWERS
from conftest import ALL_NOTEBOOKS, EXERCISES, ROOT, SOLUTIONS, guarded_env, write_notebook

from lrcourse import checks, cli
from lrcourse.runner import execute_notebook


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_runs_offline_in_fast_mode(path, network_log, tmp_path):
    run = execute_notebook(path, fast=True, threads=1, timeout=600, env=guarded_env(network_log),
                           output_path=tmp_path / path.name)
    assert run.ok, [failure.describe() for failure in run.failures]
    assert network_log.read_text() == "", "the notebook tried to reach the network"
    results = cli.grade(run.notebook, run.failures)
    if path in SOLUTIONS:
        assert results and all(r.status is checks.Status.PASS for r in results), results
    if path in EXERCISES:
        assert results and all(r.status is checks.Status.NOT_YET for r in results), results


def test_there_is_something_to_run():
    assert len(SOLUTIONS) == len(EXERCISES) >= 1 and ALL_NOTEBOOKS


def plant(source: str, question_bodies: list[str]) -> str:
    """Replace each solution region of a cell by the next planted body, at its indent."""
    region = re.compile(r"^([ \t]+)# BEGIN SOLUTION.*?^[ \t]*# END SOLUTION[ \t]*$",
                        re.DOTALL | re.MULTILINE)

    def replace(match):
        indent = match.group(1)
        return "\n".join(indent + line for line in question_bodies.pop(0).splitlines())

    return region.sub(replace, source)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_planted_wrong_answers_are_each_reported_wrong(solution, tmp_path, capsys):
    notebook = nbformat.read(solution, as_version=4)
    lesson = notebook.metadata["lrcourse"]["lesson"]
    bodies = [WRONG_ANSWERS[q.id][0] for q in checks.questions_for_lesson(lesson)]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = plant(cell.source, bodies)
    assert bodies == [], "every question's region was replaced"
    nbformat.write(notebook, tmp_path / solution.name)
    code = cli.main(["check", str(tmp_path / solution.name)])
    out = capsys.readouterr().out
    assert code == 1
    rows = [line.split() for line in out.splitlines() if line.startswith(f"  {lesson}.")]
    assert len(rows) == len(checks.questions_for_lesson(lesson))
    assert all(row[1] == "WRONG" for row in rows), out
    assert out.count("hint:") == len(rows)


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
