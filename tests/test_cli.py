"""The lrcourse command on small notebooks that need no framework (each starts a kernel)."""

import csv
import importlib.metadata
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, write_notebook

from lrcourse import cli
from lrcourse.checks import grading


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


PARAMETERS = ('import os\n\nFAST: bool = os.environ.get("LRCOURSE_FAST") in {"1"}  # small\n'
              'EPOCHS: int = 2 if FAST else 30  # passes over the data\n'
              'RATE: float = 0.1  # the learning rate\n'
              'SEEDS: tuple = (0,) if FAST else (0, 1, 2)  # seeds')


def parameterised_notebook(path):
    path = write_notebook(path, PARAMETERS, "print(f'{FAST} {EPOCHS} {RATE!r} {list(SEEDS)}')",
                          "import os\nprint('env', os.environ.get('LRCOURSE_FAST'))",
                          tags={0: ["parameters"]})
    return path


def printed(path) -> list[str]:
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    return [out.text.strip() for cell in notebook.cells for out in cell.get("outputs", [])
            if out.output_type == "stream"]


@pytest.mark.notebook
def test_run_fast_mode_is_a_parameter_set_injected_by_papermill(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LRCOURSE_FAST", "1")  # the caller's shell does not decide the mode
    parameterised_notebook(tmp_path / "ok.ipynb")
    code, out = run_cli(capsys, "run", "ok.ipynb", "--fast", "--html", "site")
    assert code == 0, out
    assert "1 passed, 0 failed" in out and "ok.ipynb" in out and "fast mode" in out
    assert printed(tmp_path / "build" / "ok.ipynb") == ["True 2 0.1 [0]", "env None"]
    import nbformat

    executed = nbformat.read(tmp_path / "build" / "ok.ipynb", as_version=4)
    assert executed.cells[1].metadata["tags"] == ["injected-parameters"]
    assert executed.metadata["papermill"]["parameters"] == {"FAST": True, "EPOCHS": 2,
                                                            "SEEDS": [0]}
    assert (tmp_path / "site" / "ok.html").exists() and (tmp_path / "site" / "index.html").exists()
    assert "rendered edition: open site/index.html in a browser" in out
    assert sorted(path.name for path in (tmp_path / "site").glob("*.html")) == ["index.html",
                                                                               "ok.html"]
    code, out = run_cli(capsys, "run", "ok.ipynb")  # full mode: nothing injected
    assert code == 0, out
    assert printed(tmp_path / "build" / "ok.ipynb") == ["False 30 0.1 [0, 1, 2]", "env None"]


@pytest.mark.notebook
def test_run_p_sets_a_knob_with_its_type_over_fast_mode(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    parameterised_notebook(tmp_path / "ok.ipynb")
    code, out = run_cli(capsys, "run", "ok.ipynb", "--fast", "-p", "EPOCHS", "7",
                        "-p", "RATE", "1", "-p", "SEEDS", "[4, 5]")
    assert code == 0, out
    assert printed(tmp_path / "build" / "ok.ipynb")[0] == "True 7 1.0 [4, 5]"


def test_run_refuses_an_unknown_knob_or_a_wrong_type_before_running(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    parameterised_notebook(tmp_path / "ok.ipynb")
    with pytest.raises(SystemExit, match="`EPOCH` is not a parameter of this notebook. "
                       "Expected one of: FAST, EPOCHS, RATE, SEEDS"):
        cli.main(["run", "ok.ipynb", "-p", "EPOCH", "3"])
    with pytest.raises(SystemExit, match="`EPOCHS` must be an integer"):
        cli.main(["run", "ok.ipynb", "-p", "EPOCHS", "2.5"])
    with pytest.raises(SystemExit, match="`FAST` must be True or False"):
        cli.main(["run", "ok.ipynb", "-p", "FAST", "yes"])
    assert not (tmp_path / "build").exists(), "nothing ran"


@pytest.mark.notebook
def test_run_keeps_raises_exception_cells_that_plain_papermill_stops_on(tmp_path, capsys,
                                                                        monkeypatch):
    import subprocess
    import sys

    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "demo.ipynb", PARAMETERS, "raise ValueError('shown on purpose')",
                   "print(EPOCHS)", tags={0: ["parameters"], 1: ["raises-exception"]})
    code, out = run_cli(capsys, "run", "demo.ipynb", "-p", "EPOCHS", "5")
    assert code == 0, out
    assert printed(tmp_path / "build" / "demo.ipynb") == ["5"]
    papermill = subprocess.run(
        [sys.executable, "-m", "papermill", "demo.ipynb", "out.ipynb", "-p", "EPOCHS", "5"],
        capture_output=True, text=True)
    assert papermill.returncode != 0 and "ValueError" in papermill.stderr + papermill.stdout


@pytest.mark.notebook
def test_run_names_each_failing_notebook_and_cell(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "bad.ipynb", "x = 1", "# a comment\n1 / 0", "print('never')")
    write_notebook(tmp_path / "tag.ipynb", "x = 1", tags={0: ["raises-exception"]})
    write_notebook(tmp_path / "good.ipynb", "raise KeyError('shown on purpose')",
                   tags={0: ["raises-exception"]})
    code, out = run_cli(capsys, "run", "bad.ipynb", "tag.ipynb", "good.ipynb")
    assert code == 1
    assert "FAILED bad.ipynb: cell 1 (1 / 0): ZeroDivisionError: division by zero" in out
    assert "FAILED tag.ipynb: cell 0 (x = 1): is tagged raises-exception but raised nothing" in out
    assert "FAILED good.ipynb" not in out and "1 passed, 2 failed" in out


@pytest.mark.notebook
def test_run_stops_a_notebook_at_its_time_limit(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(60)")
    code, out = run_cli(capsys, "run", "slow.ipynb", "--timeout", "3")
    assert code == 1 and "still running at the 3 s time limit" in out


def test_run_without_lessons_or_with_a_missing_path_exits_with_a_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="no lessons found"):
        cli.main(["run"])
    with pytest.raises(SystemExit, match="no such notebook: nope.ipynb"):
        cli.main(["run", "nope.ipynb"])


@pytest.mark.parametrize("argv", [["run", "--timeout", "0"], ["run", "--threads", "x"],
                                  ["exercises", "publish"], ["grade", "x", "--lesson", "99"],
                                  ["grade", "x", "--jobs", "0"], ["check", "x", "--lesson", "1"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


@pytest.mark.notebook
def test_check_reports_a_raising_notebook_without_a_traceback(tmp_path, capsys):
    path = write_notebook(tmp_path / "mine.ipynb", "1 / 0", lesson="01")
    code, out = run_cli(capsys, "check", str(path), "--fast")
    assert code == 1
    assert "problem: cell 0 (1 / 0): ZeroDivisionError: division by zero" in out
    assert out.count("WRONG") == 4 and "not reached" in out and "Traceback" not in out
    assert "0 of 4 questions pass." in out


@pytest.mark.notebook
def test_check_reports_a_timeout(tmp_path, capsys):
    path = write_notebook(tmp_path / "mine.ipynb", "import time\ntime.sleep(600)", lesson="01")
    code, out = run_cli(capsys, "check", str(path), "--timeout", "20", "--fast")
    assert code == 1 and "timed out: cell 0" in out


def test_check_refuses_what_is_not_an_exercise(tmp_path, capsys):
    plain = write_notebook(tmp_path / "plain.ipynb", "x = 1")
    code, out = run_cli(capsys, "check", str(plain))
    assert code == 2 and "cannot tell the lesson" in out
    assert run_cli(capsys, "check", str(tmp_path / "missing.ipynb"))[0] == 2
    (tmp_path / "01_broken.ipynb").write_text("{not json")
    code, out = run_cli(capsys, "check", str(tmp_path / "01_broken.ipynb"))
    assert code == 1 and "cannot grade: not JSON" in out and "Traceback" not in out


def test_check_grades_the_lesson_named_not_the_one_claimed(tmp_path, capsys):
    exercise = (ROOT / "exercises" / "01_fixed_learning_rate.ipynb").read_text()
    (tmp_path / "03_renamed.ipynb").write_text(exercise)
    code, out = run_cli(capsys, "check", str(tmp_path / "03_renamed.ipynb"))
    assert code == 1 and "metadata says lesson 01" in out and "lesson 03" in out
    assert "03.fine_tune_groups" in out and "PASS" not in out
    (tmp_path / "01_mine.ipynb").write_text(exercise)
    code, out = run_cli(capsys, "check", str(tmp_path / "01_mine.ipynb"), "--lesson", "03")
    assert code == 1 and "metadata says lesson 01, but lesson 03 is being graded" in out


ATTACKER = """
import os
from pathlib import Path

os.makedirs("lrcourse/checks", exist_ok=True)
Path("lrcourse/__init__.py").write_text("")
Path("lrcourse/checks/__init__.py").write_text(
    "def check(question, answer):\\n    print(question, 'PASS')\\n")
for target in ["02_second.ipynb", "notes.txt"] + {absolute!r}:
    try:
        os.remove(target)
    except OSError as error:
        print("refused:", error)
"""


@pytest.mark.notebook
def test_grade_keeps_submissions_apart_and_writes_the_csv(tmp_path, capsys):
    folder = tmp_path / "class"
    folder.mkdir()
    exercise = nbformat.read(ROOT / "exercises" / "01_fixed_learning_rate.ipynb", as_version=4)
    attacker = nbformat.from_dict(exercise)
    # Relative paths reach only the grader's fresh folder; absolute ones are refused by
    # bubblewrap's read-only view, so they are tried only where bubblewrap is in force.
    absolute = [str(folder / "02_second.ipynb"), str(folder / "notes.txt")] if grading._bwrap() \
        else []
    attacker.cells.insert(3, nbformat.v4.new_code_cell(ATTACKER.format(absolute=absolute)))
    nbformat.write(attacker, folder / "01_first.ipynb")
    nbformat.write(exercise, folder / "02_second.ipynb")
    (folder / "notes.txt").write_text("keep me")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, out = run_cli(capsys, "grade", str(folder), "--lesson", "01", "--jobs", "1",
                        "--fast", "--csv", str(tmp_path / "scores.csv"),
                        "--executed", str(tmp_path / "executed"))
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    executed = sorted(p.name for p in (tmp_path / "executed").iterdir())
    assert executed == ["001_01_first.ipynb", "002_02_second.ipynb"], executed
    ran = nbformat.read(tmp_path / "executed" / "001_01_first.ipynb", as_version=4)
    assert "refused:" in str(ran.cells[3].outputs)  # the submission's own cell, with its output
    assert "NOT YET" in (tmp_path / "executed" / "002_02_second.ipynb").read_text()
    rows = list(csv.DictReader((tmp_path / "scores.csv").open()))
    by_submission = {}
    for row in rows:
        by_submission.setdefault(Path(row["submission"]).name, []).append(row)
    first, second = by_submission["01_first.ipynb"], by_submission["02_second.ipynb"]
    assert [r["status"] for r in second[:-1]] == ["NOT YET"] * 4, second
    assert "PASS" not in [r["status"] for r in first], first
    assert second[-1]["question"] == "total" and second[-1]["status"] == "0/4"
    assert list(rows[0]) == ["submission", "lesson", "question", "status", "message", "hint"]
    assert code == 1 and "0 of 2 submissions pass every question; 0 could not be graded" in out


def test_grade_exit_code_says_a_submission_could_not_be_graded(tmp_path, capsys):
    (tmp_path / "01_empty.ipynb").write_text("")
    code, out = run_cli(capsys, "grade", str(tmp_path), "--lesson", "01")
    assert code == 2 and "the file is empty" in out and "1 could not be graded" in out
    code, out = run_cli(capsys, "grade", str(tmp_path / "nothing-here"))
    assert code == 2


def test_doctor_is_happy_in_the_course_environment(capsys):
    code, out = run_cli(capsys, "doctor")
    assert code == 0, out
    assert "all good" in out and "offline data" in out


def test_doctor_names_a_wrong_pin_and_its_fix(capsys, monkeypatch):
    real_version = importlib.metadata.version

    def fake_version(name):
        if name == "torch":
            return "2.5.0"
        if name == "jupyterlab":
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    code, out = run_cli(capsys, "doctor")
    assert code == 1
    assert "BAD  PyTorch" in out and "2.5.0 (pin ==2.13.0)" in out
    assert "missing (course pins jupyterlab==" in out
    assert "fix PyTorch: make setup" in out and "2 problem(s)" in out
