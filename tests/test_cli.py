"""The lrcourse command on small notebooks that need no framework (each starts a kernel)."""

import importlib.metadata

import pytest
from conftest import write_notebook

from lrcourse import cli


def run_cli(capsys, *argv):
    code = cli.main(list(argv))
    return code, capsys.readouterr().out


def test_run_passes_fast_mode_and_writes_executed_copy_and_html(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_notebook(tmp_path / "ok.ipynb",
                   "import os\nassert os.environ.get('LRCOURSE_FAST') == '1'\nprint('fast')")
    code, out = run_cli(capsys, "run", "ok.ipynb", "--fast", "--html", "site")
    assert code == 0, out
    assert "1 passed, 0 failed" in out and "ok.ipynb" in out
    assert "fast" in (tmp_path / "build" / "ok.ipynb").read_text()
    assert (tmp_path / "site" / "ok.html").exists() and (tmp_path / "site" / "index.html").exists()
    code, out = run_cli(capsys, "run", "ok.ipynb")  # full mode: LRCOURSE_FAST is not set
    assert code == 1 and "AssertionError" in out


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
                                  ["exercises", "publish"]])
def test_bad_arguments_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def test_check_reports_a_raising_notebook_without_a_traceback(tmp_path, capsys):
    path = write_notebook(tmp_path / "mine.ipynb", "1 / 0", lesson="01")
    code, out = run_cli(capsys, "check", str(path))
    assert code == 1
    assert "problem: cell 0 (1 / 0): ZeroDivisionError: division by zero" in out
    assert out.count("WRONG") == 4 and "no result" in out and "Traceback" not in out
    assert "0 of 4 questions pass." in out


def test_check_reports_a_timeout(tmp_path, capsys):
    path = write_notebook(tmp_path / "mine.ipynb", "import time\ntime.sleep(60)", lesson="01")
    code, out = run_cli(capsys, "check", str(path), "--timeout", "3")
    assert code == 1 and "timed out: cell 0" in out


def test_check_refuses_what_is_not_an_exercise(tmp_path, capsys):
    plain = write_notebook(tmp_path / "plain.ipynb", "x = 1")
    assert run_cli(capsys, "check", str(plain))[0] == 2
    assert run_cli(capsys, "check", str(tmp_path / "missing.ipynb"))[0] == 2
    (tmp_path / "broken.ipynb").write_text("{not json")
    code, out = run_cli(capsys, "check", str(tmp_path / "broken.ipynb"))
    assert code == 2 and "cannot read" in out


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
