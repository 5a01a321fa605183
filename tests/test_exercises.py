import shutil

import nbformat
import pytest
from conftest import ROOT

from lrcourse import exercises


def test_region_becomes_an_indented_stub_with_the_hint():
    source = ("def f(x):\n    y = 1\n    # BEGIN SOLUTION add y\n    return x + y\n"
              "    # END SOLUTION\n\nprint('after')\n")
    stripped, count = exercises.strip_solutions(source)
    assert count == 1
    assert stripped == ("def f(x):\n    y = 1\n    raise NotImplementedError(\n"
                        "        'Exercise: add y'\n    )\n\nprint('after')\n")
    compile(stripped, "<cell>", "exec")


def test_region_without_hint_gets_the_default():
    stripped, _ = exercises.strip_solutions("def f():\n    # BEGIN SOLUTION\n    pass\n"
                                            "    # END SOLUTION")
    assert exercises.DEFAULT_HINT in stripped


@pytest.mark.parametrize(
    "source, fragment",
    [
        ("# BEGIN SOLUTION\nx = 1\n# END SOLUTION\n", "top level"),
        ("def f():\n    # BEGIN SOLUTION\n    pass\n", "never closed"),
        ("def f():\n    pass\n    # END SOLUTION\n", "without BEGIN"),
        ("def f():\n    # BEGIN SOLUTION\n    # BEGIN SOLUTION\n", "inside the region"),
    ],
)
def test_malformed_regions_are_rejected_with_the_line(source, fragment):
    with pytest.raises(ValueError, match=fragment):
        exercises.strip_solutions(source, where="sol.ipynb cell 2")


def course_copy(tmp_path):
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    return tmp_path


def test_repository_exercises_are_up_to_date():
    assert exercises.stale(ROOT) == []


def test_a_changed_solution_makes_exercises_stale_until_rebuilt(tmp_path):
    root = course_copy(tmp_path)
    path = root / "solutions" / "01_fixed_learning_rate.ipynb"
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_markdown_cell("One more note."))
    nbformat.write(notebook, path)
    assert exercises.stale(root) == [
        "exercises/01_fixed_learning_rate.ipynb differs from what its solution generates"]
    exercises.build(root)
    assert exercises.stale(root) == []


def test_missing_and_orphaned_exercises_are_reported(tmp_path):
    root = course_copy(tmp_path)
    (root / "exercises" / "01_fixed_learning_rate.ipynb").rename(
        root / "exercises" / "99_orphan.ipynb")
    assert exercises.stale(root) == ["exercises/01_fixed_learning_rate.ipynb is missing",
                                     "exercises/99_orphan.ipynb has no solution notebook"]


def test_solution_without_regions_is_an_error(tmp_path):
    (tmp_path / "solutions").mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(notebook, tmp_path / "solutions" / "01_x.ipynb")
    with pytest.raises(ValueError, match="no '# BEGIN SOLUTION' region"):
        exercises.build(tmp_path)


def test_generated_exercise_keeps_check_cells_and_drops_every_answer():
    solution = nbformat.read(ROOT / "solutions" / "01_fixed_learning_rate.ipynb", as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / "01_fixed_learning_rate.ipynb", as_version=4)
    text = "\n".join(cell.source for cell in exercise.cells if cell.cell_type == "code")
    assert "BEGIN SOLUTION" not in text and "eigvalsh" not in text
    assert text.count("raise NotImplementedError(") == 4
    assert [c.source for c in solution.cells if "check(" in c.source] == \
        [c.source for c in exercise.cells if "check(" in c.source]
    assert exercise.metadata["lrcourse"] == {
        "lesson": "01", "generated_from": "solutions/01_fixed_learning_rate.ipynb"}
