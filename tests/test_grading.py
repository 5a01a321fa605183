"""The grader against forgeries and broken submissions, and the course's own notebooks.

Every submission below is graded by the real grader (two sandboxed processes each) in ONE
parallel run shared by the tests (the ``graded`` fixture); each test then asserts on its own
submission. An attack is built on the untouched lesson-01 exercise, where every honest
verdict is NOT YET, so any PASS is a forgery that worked.
"""

from __future__ import annotations

import ast
import json
import re
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest
from answers import WRONG_ANSWERS
from conftest import EXERCISES, ROOT, SOLUTIONS

from lrcourse import checks
from lrcourse.checks import grading
from lrcourse.checks._core import MIME_TYPE, Status

pytestmark = pytest.mark.xdist_group("grading")
kernels = pytest.mark.notebook  # graded through the `graded` fixture: starts kernels

EXERCISE_01 = ROOT / "exercises" / "01_fixed_learning_rate.ipynb"
Q01 = [q.id for q in checks.questions_for_lesson("01")]
CELL_TIMEOUT = 30  # small: the infinite loops below are killed after this many seconds


def payload(question: str, status: str = "PASS") -> dict:
    return {MIME_TYPE: {"question": question, "status": status, "message": "", "hint": ""},
            "text/plain": f"{question}  {status}"}


def exercise() -> nbformat.NotebookNode:
    return nbformat.read(EXERCISE_01, as_version=4)


def check_cells(notebook) -> list[int]:
    return [i for i, c in enumerate(notebook.cells) if grading.CHECK_CALL.search(c.source)]


def answer_cell(notebook, name: str) -> int:
    return next(i for i, c in enumerate(notebook.cells)
                if c.cell_type == "code" and f"def {name}(" in c.source)


def insert(notebook, index: int, source: str):
    notebook.cells.insert(index, nbformat.v4.new_code_cell(source))
    return notebook


def after_first_check(source: str):
    notebook = exercise()
    return insert(notebook, check_cells(notebook)[0] + 1, source)


def with_answer(name: str, body: str):
    notebook = exercise()
    signature = {"largest_stable_lr": "hessian"}[name]
    indented = "\n".join("    " + line for line in body.splitlines())
    notebook.cells[answer_cell(notebook, name)].source = f"def {name}({signature}):\n{indented}\n"
    return notebook


def saved_outputs():
    notebook = exercise()
    forged = [nbformat.v4.new_output("display_data", data=payload(q)) for q in Q01]
    forged.append(nbformat.v4.new_output("display_data", data=payload(Q01[0], "MAYBE")))
    blank = nbformat.v4.new_code_cell("", outputs=forged)
    notebook.cells.insert(3, blank)
    for index in check_cells(notebook):
        notebook.cells[index].outputs = forged
    return notebook


PATCH = """
import lrcourse.checks as checks
from lrcourse.checks import _core


def _always(question_id, answer):
    return _core.CheckResult(question_id, _core.Status.PASS)


checks.check = _core.check = _always
for _q in list(_core.QUESTIONS.values()):
    _core.QUESTIONS[_q.id] = _core.Question(_q.id, _q.title, _q.hint, lambda answer: None)


def check(question_id, answer):  # a learner's own `check`
    return _core.CheckResult(question_id, _core.Status.PASS)


class Sneaky:
    _core.check = _always


@(lambda f: setattr(_core, "check", _always) or f)
def decorated():
    pass


def with_default(x=setattr(_core, "check", _always)):
    pass


def annotated(x: setattr(_core, "check", _always)) -> None:
    pass


class Base:  # making a subclass calls __init_subclass__: code at definition time
    def __init_subclass__(cls, **kwargs):
        _core.check = _always


class Child(Base):
    pass


import enum


class Member(enum.Enum):  # Enum's metaclass calls __init__ for each member
    A = 1

    def __init__(self, value):
        _core.check = _always


def __lrcourse_plain_bases__(*bases):  # the grader's guard, replaced
    pass


class Again(Base):
    pass
"""


def display_checks():
    notebook = exercise()
    for index, question in zip(check_cells(notebook), Q01, strict=True):
        notebook.cells[index].source = (
            "from IPython.display import display\n"
            f"display({payload(question)!r}, raw=True)")
    return notebook


HOOK = f"""
from IPython.display import display


def _forge(result):
    for question in {Q01!r}:
        display({{"{MIME_TYPE}": {{"question": question, "status": "PASS", "message": "",
                                 "hint": ""}}}}, raw=True)


get_ipython().events.register("post_run_cell", _forge)
"""

FRAME_READER = """
import json, os, sys

fake = json.dumps({"verdict": {"question": "01.first_to_reach", "status": "PASS",
                               "message": "", "hint": ""}})
print(fake)
print(fake, file=sys.stderr)
os.write(1, (fake + "\\n").encode())
os.write(2, (fake + "\\n").encode())

frame = sys._getframe(1)
while frame is not None:
    for name, value in frame.f_locals.items():
        if name in ("expected", "want", "reference", "limit"):
            return value
    frame = frame.f_back
raise NotImplementedError
"""

# An answer that, in the evaluation only (the kernel has ipykernel loaded), writes PASS lines
# for the other questions, in both shapes, to every pipe it can reach, leaves a process that
# keeps writing after it returned, and ends the process that checks it.
CHANNEL_WRITER = """
import json, os, stat, sys, time

if "ipykernel" in sys.modules:
    raise NotImplementedError
others = ["01.set_keras_learning_rate", "01.set_torch_learning_rate", "01.first_to_reach"]
forged = [{"question": q, "status": "PASS", "message": "", "hint": ""} for q in others]
lines = "".join(json.dumps(f) + "\\n" + json.dumps({"verdict": f}) + "\\n" for f in forged)
pipes = [fd for fd in range(3, 256) if _is_pipe(fd)]


def spam():
    for _ in range(200):
        for fd in pipes:
            try:
                os.write(fd, lines.encode())
            except OSError:
                pass
        time.sleep(0.05)


if os.fork() == 0:
    spam()
    os._exit(0)
spam()
os._exit(0)
"""
IS_PIPE = """

def _is_pipe(fd):
    import os, stat

    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False
"""


def channel_writer():
    notebook = with_answer("largest_stable_lr", CHANNEL_WRITER)
    notebook.cells[answer_cell(notebook, "largest_stable_lr")].source += IS_PIPE
    return notebook


ATTACKS = {
    "answer_writes_the_channel": channel_writer,
    "saved_outputs": saved_outputs,
    "patch_checkers": lambda: insert(exercise(), 3, PATCH),
    "display_instead_of_check": display_checks,
    "post_run_cell_hook": lambda: insert(exercise(), 3, HOOK),
    "frame_reader": lambda: with_answer("largest_stable_lr", FRAME_READER),
    "raising_cell": lambda: after_first_check("# an untested idea\n1 / 0"),
    "sys_exit_cell": lambda: after_first_check("import sys\nsys.exit()"),
    "os_exit_cell": lambda: after_first_check("import os\nos._exit(1)"),
    "infinite_loop_cell": lambda: after_first_check("while True:\n    pass"),
    "answer_sys_exit": lambda: with_answer("largest_stable_lr", "import sys\nsys.exit(3)"),
    "answer_os_exit": lambda: with_answer("largest_stable_lr", "import os\nos._exit(0)"),
    "answer_infinite_loop": lambda: with_answer("largest_stable_lr", "while True:\n    pass"),
    "huge_output": lambda: insert(exercise(), 3, "print('x' * 50_000_000)"),
}
# Lesson 05's course cells call its helpers at top level (``plot_trajectories`` in a demo); a
# learner's function of that name must not run there.
SHADOW_05 = """
def plot_trajectories(*args, **kwargs):
    from lrcourse.checks import _core

    for q in list(_core.QUESTIONS.values()):
        _core.QUESTIONS[q.id] = _core.Question(q.id, q.title, q.hint, lambda answer: None)
"""
OTHER_LESSONS = {"05_helper_shadow": ("05", SHADOW_05)}
BROKEN = {"not_json": "{not json", "not_a_notebook": '{"hello": 1}', "empty": ""}


def plant(source: str, bodies: list[str]) -> str:
    """Replace each solution region of a cell by the next planted body, at its indent."""
    region = re.compile(r"^([ \t]+)# BEGIN SOLUTION.*?^[ \t]*# END SOLUTION[ \t]*$",
                        re.DOTALL | re.MULTILINE)

    def replace(match):
        return "\n".join(match.group(1) + line for line in bodies.pop(0).splitlines())

    return region.sub(replace, source)


def planted(solution):
    notebook = nbformat.read(solution, as_version=4)
    lesson = notebook.metadata["lrcourse"]["lesson"]
    bodies = [WRONG_ANSWERS[q.id][0] for q in checks.questions_for_lesson(lesson)]
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = plant(cell.source, bodies)
    assert bodies == [], "every question's region was replaced"
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every submission of this module, graded once, in parallel: {name: Grade}."""
    folder = tmp_path_factory.mktemp("submissions")
    paths = {}
    for name, build in ATTACKS.items():
        paths[name] = folder / f"01_{name}.ipynb"
        nbformat.write(build(), paths[name])
    for name, text in BROKEN.items():
        paths[name] = folder / f"01_{name}.ipynb"
        paths[name].write_text(text)
    for name, (lesson, source) in OTHER_LESSONS.items():
        paths[name] = folder / f"{name}.ipynb"
        notebook = nbformat.read(next(p for p in EXERCISES if p.name.startswith(lesson)),
                                 as_version=4)
        nbformat.write(insert(notebook, 3, source), paths[name])
    paths["named_03"] = folder / "03_my_work.ipynb"
    nbformat.write(exercise(), paths["named_03"])
    for solution in SOLUTIONS:
        paths[f"solution {solution.name}"] = solution
        paths[f"planted {solution.name}"] = folder / solution.name
        nbformat.write(planted(solution), folder / solution.name)
    for path in EXERCISES:
        paths[f"exercise {path.name}"] = path
    # The two infinite loops get a short limit per cell; everything else a generous one, so a
    # busy machine importing TensorFlow is not mistaken for a hung cell.
    loops = [name for name in paths if "infinite_loop" in name]
    others = [name for name in paths if name not in loops]
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = [pool.submit(grading.grade_many, [paths[name] for name in names], lesson=None,
                            jobs=2, timeout=600, cell_timeout=limit, fast=True, labels=names)
                for names, limit in ((loops, CELL_TIMEOUT), (others, 300))]
        grades = [grade for run in runs for grade in run.result()]
    return {grade.submission: grade for grade in grades}


def statuses(grade) -> list[str]:
    return [r.status.value for r in grade.results]


@kernels
@pytest.mark.parametrize("name", list(ATTACKS))
def test_no_attack_on_an_untouched_exercise_gets_a_pass(graded, name):
    grade = graded[name]
    assert [r.question for r in grade.results] == Q01, grade.results
    assert "PASS" not in statuses(grade), grade.results


@kernels
@pytest.mark.parametrize("name", list(OTHER_LESSONS))
def test_a_learner_function_named_like_a_course_helper_gets_no_pass(graded, name):
    grade = graded[name]
    assert grade.graded and statuses(grade) == ["NOT YET"] * len(grade.results), grade.results


@pytest.mark.parametrize("lesson", sorted({p.name[:2] for p in EXERCISES}))
def test_after_the_first_stub_the_evaluation_calls_only_check(lesson):
    """No course cell after the learner's code first runs calls anything at top level but
    ``check``: a learner's name would otherwise stand for the course's and run there."""
    course = grading.load_course(lesson)
    cells, _ = grading.evaluation_program(course, ["def f():\n    pass"])
    first = next(i for i, c in enumerate(cells) if str(c["index"]).endswith("+learner"))
    for cell in cells[first:]:
        for node in ast.parse(cell["source"]).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            calls = [n.func for n in ast.walk(node) if isinstance(n, ast.Call)]
            assert all(isinstance(f, ast.Name) and f.id in ("check", grading.BASES_GUARD)
                       for f in calls), (cell["index"], ast.unparse(node))


def test_a_class_on_a_hooked_base_is_left_out_and_the_rest_still_runs():
    from lrcourse.checks._evaluate import plain_bases

    block, _ = grading.learner_block(["import enum\nclass E(enum.Enum):\n    A = 1\n"
                                      "class F:\n    pass\nclass G(F):\n    pass\n"
                                      "def answer():\n    return 1\n"])
    namespace = {grading.BASES_GUARD: plain_bases}
    exec(compile(block, "<block>", "exec"), namespace)  # noqa: S102 (our own test input)
    assert "E" not in namespace and {"F", "G", "answer"} <= set(namespace)


@kernels
@pytest.mark.parametrize("name", ["saved_outputs", "patch_checkers", "display_instead_of_check",
                                  "post_run_cell_hook", "huge_output"])
def test_forgeries_that_run_cleanly_leave_every_question_not_yet(graded, name):
    assert statuses(graded[name]) == ["NOT YET"] * 4, graded[name].results
    assert graded[name].graded and graded[name].failure is None


@kernels
def test_learner_code_that_is_not_a_definition_is_named_in_the_notes(graded):
    notes = " ".join(graded["patch_checkers"].notes)
    for left_out in ("checks.check = _core.check", "class `Sneaky`", "`decorated` has a decorator",
                     "`with_default` has a default value",
                     "`__lrcourse_plain_bases__` is a name the grader reserves"):
        assert left_out in notes, notes


@kernels
@pytest.mark.parametrize("name, kind, words", [
    ("raising_cell", "error", "(1 / 0): ZeroDivisionError"),
    ("os_exit_cell", "dead-kernel", "(import os): the kernel died"),
    ("infinite_loop_cell", "timeout", "(while True:): still running"),
])
def test_questions_after_a_cell_that_stopped_the_run_are_wrong_naming_it(graded, name, kind,
                                                                          words):
    grade = graded[name]
    assert grade.failure is not None and grade.failure.kind == kind, grade.failure
    assert statuses(grade) == ["NOT YET", "WRONG", "WRONG", "WRONG"], grade.results
    for result in grade.results[1:]:
        assert result.hint.startswith(f"fix this first: cell {grade.failure.cell_index} ")
        assert words in result.hint, result.hint


@kernels
def test_sys_exit_in_a_cell_is_a_row_not_a_crash(graded):
    grade = graded["sys_exit_cell"]
    assert grade.graded and statuses(grade)[0] == "NOT YET", grade.results
    assert grade.failure is not None and "SystemExit" in grade.failure.summary


@kernels
@pytest.mark.parametrize("name, words", [
    ("answer_sys_exit", "SystemExit"),
    ("answer_os_exit", "no verdict"),
    ("answer_infinite_loop", "no verdict: the time limit of 30 s per check"),
])
def test_an_answer_that_ends_or_hangs_the_evaluation_is_wrong(graded, name, words):
    grade = graded[name]
    assert grade.results[0].status is Status.WRONG and words in grade.results[0].message, \
        grade.results
    # only the evaluation calls answers: the execution ran to the end, and the other
    # questions keep their honest verdicts
    assert grade.failure is None, grade.failure
    assert statuses(grade)[1:] == ["NOT YET"] * 3, grade.results


@kernels
def test_an_answer_decides_at_most_its_own_question(graded):
    """Writing forged verdicts to every pipe, from a process that outlives the answer, then
    ending the process: the other questions keep their honest NOT YET."""
    grade = graded["answer_writes_the_channel"]
    assert grade.graded and grade.failure is None, (grade.problem, grade.failure)
    assert statuses(grade) == ["WRONG", "NOT YET", "NOT YET", "NOT YET"], grade.results
    assert "no verdict" in grade.results[0].message


@kernels
def test_the_frame_reader_gets_no_expected_value_and_its_printed_verdicts_are_ignored(graded):
    grade = graded["frame_reader"]
    assert grade.graded and statuses(grade) == ["NOT YET"] * 4, grade.results


@kernels
def test_huge_output_is_capped_in_the_executed_copy(graded):
    executed = graded["huge_output"].executed
    cell = next(c for c in executed.cells if c.source.startswith("print('x'"))
    size = len(json.dumps(cell.outputs))
    assert size < 2 * grading.OUTPUT_LIMIT and "was dropped" in json.dumps(cell.outputs)


@kernels
@pytest.mark.parametrize("name, reason", [("not_json", "not JSON"),
                                          ("not_a_notebook", "not a notebook"),
                                          ("empty", "the file is empty")])
def test_unreadable_submissions_get_a_one_line_reason(graded, name, reason):
    grade = graded[name]
    assert not grade.graded and grade.problem.startswith(reason) and "\n" not in grade.problem
    assert statuses(grade) == ["WRONG"] * 4 and grade.rows()[-1]["message"] == grade.problem


@kernels
def test_a_lesson_01_notebook_named_03_is_not_graded_as_either(graded):
    grade = graded["named_03"]
    assert not grade.graded and grade.lesson == "03"
    assert "metadata says lesson 01" in grade.problem and "03_my_work.ipynb" in grade.problem
    assert statuses(grade) and set(statuses(grade)) == {"WRONG"}


@kernels
@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_solutions_pass_planted_wrong_answers_are_wrong(graded, solution):
    right, wrong = graded[f"solution {solution.name}"], graded[f"planted {solution.name}"]
    lesson = solution.name[:2]
    ids = [q.id for q in checks.questions_for_lesson(lesson)]
    assert [r.question for r in right.results] == ids and right.all_passed, right.results
    assert right.failure is None, right.failure
    shown = [str(c.outputs) for c in right.executed.cells if c.metadata.get("lrcourse_restored")]
    assert all(f"[lrcourse grader] {q}  PASS" in "".join(shown) for q in ids), shown
    assert set(statuses(wrong)) == {"WRONG"} and all(r.hint for r in wrong.results), wrong.results
    assert all("no verdict" not in r.message and "not reached" not in r.message
               for r in wrong.results), wrong.results  # wrong by the checker, not a crash


@kernels
@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.name)
def test_exercises_are_all_not_yet(graded, path):
    grade = graded[f"exercise {path.name}"]
    assert grade.graded and set(statuses(grade)) == {"NOT YET"}, grade.results


# --- the parts, without kernels ----------------------------------------------------------


def line(**fields) -> bytes:
    return json.dumps(fields).encode()


def verdict(question="01.largest_stable_lr", status="PASS", **extra) -> bytes:
    return line(verdict={"question": question, "status": status, "message": "", "hint": "",
                         **extra})


@pytest.mark.parametrize("lines, reason", [
    ([verdict(status="MAYBE")], "unknown status 'MAYBE'"),
    ([verdict(question="01.nope")], "unknown question '01.nope'"),
    ([verdict(), verdict()], "reported twice"),
    ([verdict(extra="x")], "fields"),
    ([b"{not json"], "not JSON"),
    ([b"[1, 2]"], "not JSON"),
    ([line(surprise=1)], "fields ['surprise']"),
    ([line(verdict={"question": "01.largest_stable_lr", "status": "PASS", "message": 3,
                    "hint": ""})], "must be text"),
])
def test_a_malformed_channel_is_a_one_line_reason(lines, reason):
    _, _, problem = grading.read_verdicts(lines, Q01)
    assert reason in problem and "\n" not in problem


def test_a_well_formed_channel_is_read():
    verdicts, checking, problem = grading.read_verdicts(
        [line(cell=1), line(checking=Q01[0]), verdict(), line(done=True)], Q01)
    assert problem == "" and checking == Q01[0] and verdicts[Q01[0]].status is Status.PASS


def test_restore_replaces_edited_and_re_adds_deleted_check_cells():
    notebook = exercise()
    first, second = check_cells(notebook)[:2]
    notebook.cells[first].source = "print('PASS')  # check(\"01.largest_stable_lr\", x)"
    del notebook.cells[second]
    course = grading.load_course("01")
    restored = grading.restore(notebook, course)
    sources = [c.source for c in restored.cells]
    course_sources = [course.notebook.cells[i].source for i in course.checks.values()]
    assert all(sources.count(s) == 1 for s in course_sources)
    added = sources.index(course_sources[1])
    assert "def set_keras_learning_rate(" in sources[added - 1]
    assert all(c.get("outputs", []) == [] for c in restored.cells if c.cell_type == "code")


def test_the_learner_block_keeps_only_definitions_and_imports():
    block, notes = grading.learner_block([
        "import numpy as np\nfrom math import pi\nRATE = 0.1\nprint('hi')\n"
        "def f(x, y=np.float64, *, z=2) -> int:\n    return x\n"
        "def g(x=len([])):\n    return x\n"
        "class C:\n    k = 1\n    def m(self):\n        return 1\n",
        "def broken(:\n"])
    assert "import numpy as np" in block and "from math import pi" in block
    assert "RATE = 0.1" in block and "def f(x, y=np.float64, *, z=2):" in block
    assert "print" not in block and "def g" not in block and "class C" in block
    assert len(notes) == 3 and "does not parse" in notes[-1]


def test_a_changed_package_is_reported_loudly(tmp_path, monkeypatch):
    digests = iter(["a", "b"])
    monkeypatch.setattr(grading, "package_digest", lambda: next(digests))
    empty = tmp_path / "01_x.ipynb"
    empty.write_text("")
    (grade,) = grading.grade_many([empty], lesson=None)
    assert "PACKAGE CHANGED" in grade.problem and not grade.graded


def test_the_package_digest_sees_a_changed_file(tmp_path, monkeypatch):
    package = tmp_path / "lrcourse"
    package.mkdir()
    (package / "__init__.py").write_text("x = 1\n")
    fake = type("module", (), {"__file__": str(package / "__init__.py")})
    monkeypatch.setattr(grading, "lrcourse", fake)
    before = grading.package_digest()
    (package / "checks.py").write_text("")
    assert grading.package_digest() != before


def test_a_course_under_tmp_stays_visible_in_the_sandbox(monkeypatch):
    monkeypatch.setattr(grading.sys, "prefix", "/tmp/course/.venv")
    args = grading._bwrap_args("/tmp/lrcourse-run-x")
    tmpfs = args.index("/tmp", args.index("--tmpfs"))
    assert args[tmpfs + 1:tmpfs + 4] == ["--ro-bind", "/tmp/course/.venv", "/tmp/course/.venv"]
    monkeypatch.setattr(grading.sys, "prefix", "/opt/venv")
    assert "/opt/venv" not in grading._bwrap_args("/tmp/lrcourse-run-x")


def test_bad_arguments_raise_value_errors(tmp_path):
    with pytest.raises(ValueError, match="`timeout` must be"):
        grading.grade_notebook(tmp_path / "x.ipynb", timeout=0)
    with pytest.raises(ValueError, match="`lesson` must name a lesson"):
        grading.grade_notebook(tmp_path / "x.ipynb", lesson="99")


def test_an_answer_that_is_or_names_the_checkers_own_code_is_refused():
    """``lesson01._first_to_reach`` is the checker's reference: importing it as the answer,
    calling it from the body, or reaching it through ``lrcourse.checks`` would pass unworked."""
    import functools

    import lrcourse.checks.lesson01
    from lrcourse.checks import mystery_trajectories
    from lrcourse.checks._evaluate import uses_checkers
    from lrcourse.checks.lesson01 import _first_to_reach

    namespace = {"lrcourse": lrcourse, "mystery_trajectories": mystery_trajectories,
                 "_first_to_reach": _first_to_reach}
    exec(  # noqa: S102 (our own test input)
        "def through_global(h, t):\n    return _first_to_reach(h, t)\n"
        "def through_package(h, t):\n    return lrcourse.checks.lesson01._first_to_reach(h, t)\n"
        "def through_import(h, t):\n"
        "    from lrcourse.checks.lesson01 import _first_to_reach as f\n    return f(h, t)\n"
        "def through_dunder(h, t):\n"
        "    return __import__('lrcourse.checks.lesson01').checks.lesson01\n"
        "def honest(h, t):\n    return min(h, key=lambda r: (h[r][0] > t, r))\n"
        "def with_public_helper():\n    return sorted(mystery_trajectories())\n", namespace)
    for name in ("through_global", "through_package", "through_import", "through_dunder"):
        assert uses_checkers(namespace[name]).startswith("lrcourse.checks"), name
    assert uses_checkers(_first_to_reach) == "lrcourse.checks.lesson01._first_to_reach"
    assert uses_checkers(functools.partial(_first_to_reach)).startswith("lrcourse.checks")
    assert uses_checkers(namespace["honest"]) == ""
    assert uses_checkers(namespace["with_public_helper"]) == ""
