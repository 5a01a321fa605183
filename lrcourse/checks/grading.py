"""Grade exercise notebooks the way an instructor can trust: ``lrcourse check`` and ``grade``.

A submission is never trusted. Grading one notebook:

1. **Prepare.** Read it (not JSON, not a notebook or empty gives a one-line reason). The
   lesson is ``lesson`` when given, else the file name's ``NN_`` prefix (else its metadata);
   metadata naming another lesson makes every question WRONG with that reason. The course's
   own exercise notebook for the lesson (``exercises/NN_*.ipynb`` beside the installed
   package, see ``course_dir``) is the reference: outputs are cleared and check cells are
   restored from it by question id (an edited one replaced, a deleted one re-added after
   its answer), as nbgrader restores locked cells.
2. **Execute** the restored copy headless in a fresh temporary folder holding only that
   copy, with a time limit per cell and in total (the kernel is killed) and output capped
   per cell. No answer is called here (``check`` stands for ``not_evaluated``). Its only
   uses: the executed copy for the instructor (with the verdicts of step 3 written into its
   check cells), and the first cell that stopped the run (every question whose check cell
   comes after it is WRONG, naming it).
3. **Evaluate**, for the verdicts, in another fresh process (``python -I``, another empty
   folder): the course notebook's own cells plus, from the learner's cells, only top-level
   imports, function and class definitions and literal constants (``learner_block``), the
   checkers imported before any of it. Verdicts come back over the process's own channel
   and are validated strictly (``read_verdicts``).

Both processes run under bubblewrap when it works here (``sandbox_prefix``): a read-only
view of the system, a private ``/tmp``, no network, their own process tree. The files of the
installed ``lrcourse`` package are hashed before and after every submission.

Introduced in ``README.md`` (For instructors).
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

import lrcourse
from lrcourse.checks._core import CHECK_CELL, CheckResult, Status, questions_for_lesson
from lrcourse.checks._evaluate import BASES_GUARD
from lrcourse.runner import CellFailure

CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](?P<question>\d\d\.[A-Za-z_]\w*)["']\s*,\s*"""
                        r"""(?P<answer>[A-Za-z_]\w*)""")
NAME_PREFIX = re.compile(r"^(\d\d)_")
OUTPUT_LIMIT = 1_000_000
"""Bytes of output kept per cell in the executed copy; the rest is dropped with a note."""
CHANNEL_LIMIT = 1_000_000
"""Bytes the evaluation may send back in all; more is a malformed channel."""
STATUSES = {status.value: status for status in Status}


# --- where the course is -------------------------------------------------------------------


def course_dir() -> Path:
    """The folder of the course's exercise notebooks used as the reference.

    It is ``exercises/`` next to the installed ``lrcourse`` package, which is the course
    checkout when the package is installed from it (``pip install -e .``, as ``make setup``
    does). The environment variable ``LRCOURSE_COURSE_DIR`` names another checkout.

    Raises:
        FileNotFoundError: when that folder does not exist.

    >>> course_dir().name
    'exercises'
    """
    root = os.environ.get("LRCOURSE_COURSE_DIR") or Path(lrcourse.__file__).resolve().parents[1]
    folder = Path(root) / "exercises"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"no course exercise notebooks at {folder}: install lrcourse from the course "
            "checkout (pip install -e .) or set LRCOURSE_COURSE_DIR to that checkout")
    return folder


def course_notebook(lesson: str) -> Path:
    """The course's own exercise notebook for ``lesson`` (``exercises/NN_*.ipynb``).

    Raises:
        FileNotFoundError: when the course has no exercise notebook for that lesson.

    >>> course_notebook("01").name
    '01_fixed_learning_rate.ipynb'
    """
    found = sorted(course_dir().glob(f"{lesson}_*.ipynb"))
    if len(found) != 1:
        raise FileNotFoundError(
            f"expected one course exercise notebook {course_dir()}/{lesson}_*.ipynb, found "
            f"{len(found)}")
    return found[0]


# --- isolation -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _bwrap() -> str | None:
    """bubblewrap's path when it runs here (it needs user namespaces), else None."""
    path = shutil.which("bwrap")
    if path is None or os.environ.get("LRCOURSE_NO_SANDBOX") == "1":
        return None
    probe = tempfile.mkdtemp(prefix="lrcourse-probe-")
    try:
        done = subprocess.run([path, *_bwrap_args(probe), "true"], capture_output=True,
                              timeout=30)
        return path if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(probe, ignore_errors=True)


def _under_tmp() -> list[str]:
    """What the sandbox must still see that lives under ``/tmp`` (a course cloned there):
    the Python environment, its base, and the folder ``lrcourse`` is installed from."""
    tmp = Path("/tmp").resolve()
    paths = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(),
             Path(lrcourse.__file__).resolve().parents[1]}
    return sorted(str(path) for path in paths if tmp in path.parents)


def _bwrap_args(workdir: str) -> list[str]:
    # a private /tmp, with the course's own files under /tmp (if any) put back read-only
    restored = [part for path in _under_tmp() for part in ("--ro-bind", path, path)]
    return ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
            *restored, "--bind", workdir, workdir, "--unshare-net", "--unshare-pid",
            "--die-with-parent", "--chdir", workdir]


def sandbox_prefix(workdir: str) -> list[str]:
    """The command prefix that runs a process in the sandbox, or ``[]`` without bubblewrap.

    >>> prefix = sandbox_prefix("/tmp/x")
    >>> prefix == [] or "--unshare-net" in prefix
    True
    """
    path = _bwrap()
    return [path, *_bwrap_args(workdir)] if path else []


def isolation() -> str:
    """One line saying which isolation grading uses on this machine.

    >>> isolation().startswith(("bubblewrap", "no sandbox"))
    True
    """
    if _bwrap():
        return ("bubblewrap: read-only system, private /tmp, no network, own process tree; "
                "fresh folder per process")
    return ("no sandbox (bubblewrap missing or not permitted): fresh folder per process only; "
            "install bubblewrap for a read-only system and no network")


def package_digest() -> str:
    """A SHA-256 over the files of the installed ``lrcourse`` package (names and bytes)."""
    digest = hashlib.sha256()
    package = Path(lrcourse.__file__).resolve().parent
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(package)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _environment(workdir: str, *, fast: bool, threads: int | None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "JUPYTER", "IPYTHON", "LRCOURSE"))}
    env.update(HOME=workdir, TMPDIR=workdir, MPLCONFIGDIR=os.path.join(workdir, ".mpl"),
               MPLBACKEND="Agg", IPYTHONDIR=os.path.join(workdir, ".ipython"),
               JUPYTER_RUNTIME_DIR=os.path.join(workdir, ".jupyter"),
               JUPYTER_PREFER_ENV_PATH="1", PYDEVD_DISABLE_FILE_VALIDATION="1",
               TF_CPP_MIN_LOG_LEVEL="2", TF_ENABLE_ONEDNN_OPTS="0", PYTHONHASHSEED="0")
    if fast:
        env["LRCOURSE_FAST"] = "1"
    if threads is not None:
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                     "TF_NUM_INTEROP_THREADS"):
            env[name] = str(threads)
    return env


# --- results -------------------------------------------------------------------------------


@dataclass
class Grade:
    """One submission's grade: a result per question, and what stopped grading if anything.

    ``problem`` is set when the submission could not be graded as asked (unreadable, wrong
    lesson, a tampered channel, the package changed); every question is then WRONG.
    """

    submission: str
    lesson: str | None
    results: list[CheckResult] = field(default_factory=list)
    problem: str = ""
    failure: CellFailure | None = None
    notes: list[str] = field(default_factory=list)
    executed: nbformat.NotebookNode | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        """How many questions pass."""
        return sum(r.passed for r in self.results)

    @property
    def graded(self) -> bool:
        """True when the submission was graded (whatever the verdicts)."""
        return not self.problem

    @property
    def all_passed(self) -> bool:
        """True when graded and every question passes."""
        return self.graded and bool(self.results) and self.passed == len(self.results)

    def rows(self) -> list[dict]:
        """CSV rows: one per question, then ``total`` (status ``passed/questions``)."""
        rows = [{"submission": self.submission, "lesson": self.lesson or "",
                 "question": r.question, "status": r.status.value, "message": r.message,
                 "hint": r.hint} for r in self.results]
        rows.append({"submission": self.submission, "lesson": self.lesson or "",
                     "question": "total", "status": f"{self.passed}/{len(self.results)}",
                     "message": self.problem, "hint": ""})
        return rows


def _all_wrong(lesson: str | None, message: str, hint: str = "") -> list[CheckResult]:
    return [CheckResult(q.id, Status.WRONG, message, hint)
            for q in (questions_for_lesson(lesson) if lesson else [])]


# --- preparing a submission ----------------------------------------------------------------


def read_submission(path: Path) -> nbformat.NotebookNode:
    """The submission as a notebook, or ``ValueError`` with a one-line reason.

    >>> import tempfile
    >>> empty = Path(tempfile.mkdtemp()) / "01_x.ipynb"
    >>> _ = empty.write_text("")
    >>> read_submission(empty)
    Traceback (most recent call last):
    ValueError: the file is empty
    """
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the file: {error.strerror}") from None
    if not data.strip():
        raise ValueError("the file is empty")
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"not JSON: {str(error)[:120]}") from None
    if not isinstance(raw, dict) or "cells" not in raw:
        raise ValueError("not a notebook: JSON without a list of cells")
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # nbformat raises several types for a bad document
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"not a valid notebook: {first[:120]}") from None
    return notebook


def decide_lesson(path: Path, notebook: nbformat.NotebookNode,
                  lesson: str | None) -> tuple[str | None, str]:
    """(the lesson to grade, a problem or ``""``).

    ``lesson`` wins; else the name's ``NN_`` prefix; else the metadata. Metadata that names
    another lesson is a problem either way.

    >>> nb = nbformat.v4.new_notebook(metadata={"lrcourse": {"lesson": "01"}})
    >>> decide_lesson(Path("03_x.ipynb"), nb, None)
    ('03', "the notebook's metadata says lesson 01, but its name 03_x.ipynb says lesson 03")
    >>> decide_lesson(Path("03_x.ipynb"), nb, "01")
    ('01', '')
    """
    meta = notebook.metadata.get("lrcourse", {})
    meta_lesson = meta.get("lesson") if isinstance(meta, dict) else None
    if meta_lesson is not None and not isinstance(meta_lesson, str):
        meta_lesson = str(meta_lesson)
    if lesson is not None:
        if meta_lesson and meta_lesson != lesson:
            return lesson, (f"the notebook's metadata says lesson {meta_lesson}, but lesson "
                            f"{lesson} is being graded")
        return lesson, ""
    match = NAME_PREFIX.match(path.name)
    if match:
        if meta_lesson and meta_lesson != match.group(1):
            return match.group(1), (f"the notebook's metadata says lesson {meta_lesson}, but "
                                    f"its name {path.name} says lesson {match.group(1)}")
        return match.group(1), ""
    if meta_lesson:
        return meta_lesson, ""
    return None, (f"cannot tell the lesson: name the file NN_... or pass --lesson NN "
                  f"(received {path.name})")


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:60]
    return ""


@dataclass(frozen=True)
class Course:
    """The reference notebook of one lesson, with its check and answer cells located."""

    notebook: nbformat.NotebookNode
    checks: dict[str, int]
    """question id -> index of its check cell."""
    answers: dict[str, str]
    """question id -> the name of the answer function its check cell passes."""
    answer_cells: frozenset[int]
    """indices of the cells that define an answer function (the stubs)."""


def load_course(lesson: str) -> Course:
    """Read the course's exercise notebook for ``lesson`` and locate its cells."""
    notebook = nbformat.read(course_notebook(lesson), as_version=4)
    wanted = {q.id for q in questions_for_lesson(lesson)}
    checks, answers = {}, {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for match in CHECK_CALL.finditer(cell.source):
                checks[match["question"]] = index
                answers[match["question"]] = match["answer"]
    if set(checks) != wanted:
        raise ValueError(f"the course notebook {course_notebook(lesson)} checks "
                         f"{sorted(checks)}, but lesson {lesson} registers {sorted(wanted)}")
    names = set(answers.values())
    answer_cells = set()
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and index not in checks.values():
            tree = ast.parse(cell.source)
            if any(isinstance(node, ast.FunctionDef) and node.name in names
                   for node in tree.body):
                answer_cells.add(index)
    return Course(notebook, checks, answers, frozenset(answer_cells))


def restore(submission: nbformat.NotebookNode, course: Course) -> nbformat.NotebookNode:
    """The submission with outputs cleared and check cells restored from the course.

    A cell that calls ``check`` on a question of the lesson is replaced by the course's
    check cell(s) for the questions it names; a question whose check cell was deleted gets
    the course's cell back after the last cell defining its answer function at top level
    (else at the end). Stored outputs and execution counts are dropped.
    """
    restored = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "lrcourse": dict(course.notebook.metadata.get("lrcourse", {}))})
    seen: set[str] = set()
    for cell in submission.cells:
        if cell.cell_type != "code":
            restored.cells.append(nbformat.from_dict(
                {k: v for k, v in cell.items() if k != "attachments"}))
            continue
        named = [m["question"] for m in CHECK_CALL.finditer(cell.source)
                 if m["question"] in course.checks]
        if named:
            for question in dict.fromkeys(named):
                if question not in seen:
                    seen.add(question)
                    restored.cells.append(_copy_cell(course, course.checks[question]))
            continue
        copy = nbformat.v4.new_code_cell(cell.source)
        tags = cell.get("metadata", {}).get("tags", [])
        if isinstance(tags, list) and all(isinstance(t, str) for t in tags) and tags:
            copy.metadata["tags"] = list(tags)
        restored.cells.append(copy)
    for question, index in course.checks.items():
        if question in seen:
            continue
        where = len(restored.cells)
        for position, cell in enumerate(restored.cells):
            if cell.cell_type == "code" and _defines(cell.source, course.answers[question]):
                where = position + 1
        restored.cells.insert(where, _copy_cell(course, index))
    return restored


def _copy_cell(course: Course, index: int) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(course.notebook.cells[index].source)
    cell.metadata[CHECK_CELL] = True
    return cell


def _write_verdicts(executed: nbformat.NotebookNode, results: list[CheckResult]) -> None:
    """Put the grader's verdicts, as plain text, into the executed copy's check cells."""
    by_question = {r.question: r for r in results}
    for cell in executed.cells:
        if cell.cell_type != "code" or not cell.metadata.get(CHECK_CELL):
            continue
        lines = []
        for match in CHECK_CALL.finditer(cell.source):
            result = by_question.get(match["question"])
            if result is not None:
                lines.append(f"[lrcourse grader] {result.question}  {result.status.value}"
                             f"  {result.message}".rstrip())
                if result.hint:
                    lines.append(f"    hint: {result.hint}")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout",
                                               text="\n".join(lines) + "\n")] if lines else []


def _defines(source: str, name: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
               for node in tree.body)


def _literal(node: ast.AST) -> bool:
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def _dotted(node: ast.AST) -> bool:
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)


def _safe_function(node: ast.FunctionDef, where: str, notes: list[str]) -> ast.AST | None:
    if node.decorator_list:
        notes.append(f"{where}: `{node.name}` has a decorator, which the grader does not run; "
                     "it is left out")
        return None
    defaults = [*node.args.defaults, *(d for d in node.args.kw_defaults if d is not None)]
    bad = [d for d in defaults if not (_literal(d) or _dotted(d))]
    if bad:
        notes.append(f"{where}: `{node.name}` has a default value computed by code "
                     f"({ast.unparse(bad[0])[:40]}); the grader runs only literal or dotted "
                     "defaults, so it is left out")
        return None
    for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs,
                node.args.vararg, node.args.kwarg]:
        if arg is not None:
            arg.annotation = None  # annotations are evaluated at definition time
    node.returns = None
    return node


def _safe_class(node: ast.ClassDef, where: str, notes: list[str]) -> ast.AST | None:
    if node.decorator_list or node.keywords or not all(_dotted(b) for b in node.bases):
        notes.append(f"{where}: class `{node.name}` has a decorator, keywords or computed "
                     "bases, which the grader does not run; it is left out")
        return None
    body = []
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kept = _safe_function(item, where, notes)
            if kept is None:
                return None
            body.append(kept)
        elif isinstance(item, ast.Pass) or (isinstance(item, ast.Expr) and _literal(item.value)):
            body.append(item)
        elif isinstance(item, ast.Assign) and _literal(item.value) and all(
                isinstance(t, ast.Name) for t in item.targets):
            body.append(item)
        else:
            notes.append(f"{where}: class `{node.name}` runs code in its body, which the grader "
                         "does not run; it is left out")
            return None
    node.body = body or [ast.Pass()]
    return node


def _bound_names(node: ast.AST) -> list[str]:
    """The names a top-level statement binds (imports, definitions, assignment targets)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [alias.asname or alias.name.split(".")[0] for alias in node.names]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)
            and isinstance(n.ctx, ast.Store)]


def learner_block(cells: list[str]) -> tuple[str, list[str]]:
    """The learner's code the evaluation runs, and notes on what it leaves out.

    From each cell, at top level: ``import`` and ``from ... import``, function definitions
    (no decorators; defaults literal or dotted names; annotations dropped), classes made
    only of such functions and constants, and ``NAME = literal``. Nothing else runs.

    >>> block, notes = learner_block(["import math\\nx = 2\\nprint(x)\\n"
    ...                               "def f(a, b=1):\\n    return a + b"])
    >>> print(block)
    import math
    x = 2
    def f(a, b=1):
        return a + b
    >>> notes[0].split(":")[0]
    'cell 0 line 3'
    """
    kept: list[ast.AST] = []
    notes: list[str] = []
    for number, source in enumerate(cells):
        try:
            tree = ast.parse(source)
        except SyntaxError as error:
            notes.append(f"cell {number}: does not parse ({error.msg}, line {error.lineno})")
            continue
        for node in tree.body:
            where = f"cell {number} line {node.lineno}"
            reserved = [n for n in _bound_names(node) if n.startswith("__lrcourse")]
            if reserved:
                notes.append(f"{where}: `{reserved[0]}` is a name the grader reserves; left out")
            elif isinstance(node, ast.ImportFrom) and node.module == "__future__":
                continue  # only legal at the top; annotations are dropped anyway
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                kept.append(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                function = _safe_function(node, where, notes)
                if function is not None:
                    kept.append(function)
            elif isinstance(node, ast.ClassDef):
                klass = _safe_class(node, where, notes)
                if klass is not None and klass.bases:  # bases vetted when the block runs:
                    kept.append(ast.Try(  # a refused class is left out, the rest still runs
                        body=[ast.Expr(ast.Call(ast.Name(BASES_GUARD, ast.Load()),
                                                list(klass.bases), [])), klass],
                        handlers=[ast.ExceptHandler(ast.Name("TypeError", ast.Load()), None,
                                                    [ast.Pass()])],
                        orelse=[], finalbody=[]))
                elif klass is not None:
                    kept.append(klass)
            elif (isinstance(node, ast.Assign) and _literal(node.value)
                  and all(isinstance(t, ast.Name) for t in node.targets)):
                kept.append(node)
            elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                continue  # a bare string or number does nothing
            else:
                first = ast.unparse(node).splitlines()[0][:50] if node else ""
                notes.append(f"{where}: `{first}` is not run by the grader (only imports, "
                             "definitions and constants are)")
    module = ast.Module(body=kept, type_ignores=[])
    return (ast.unparse(ast.fix_missing_locations(module)) if kept else ""), notes


def evaluation_program(course: Course, learner_cells: list[str]) -> tuple[list[dict], list[str]]:
    """The cells the evaluation runs: the course's, with the learner's block after each stub.

    The course's cells up to its first answer stub (set-up: imports, parameters) run whole.
    After that, a learner's name may stand for anything the course defines (a learner's
    ``plot_trajectories`` replaces the course's), so a course cell that calls something at
    top level could run the learner's code outside a check: of the later course cells only
    the check cells run whole, the others as filtered as the learner's (imports, definitions,
    literal constants). Their demos are not needed for a verdict, and are not run.
    """
    block, notes = learner_block(learner_cells)
    first_stub = min(course.answer_cells, default=len(course.notebook.cells))
    checks = set(course.checks.values())
    cells = []
    for index, cell in enumerate(course.notebook.cells):
        if cell.cell_type != "code":
            continue
        source = cell.source
        if index > first_stub and index not in checks and index not in course.answer_cells:
            source, _ = learner_block([source])
        if source:
            cells.append({"index": index, "source": source})
        if index in course.answer_cells and block:
            cells.append({"index": f"{index}+learner", "source": block})
    return cells, notes


# --- running the two phases ----------------------------------------------------------------


class _Channel:
    """Lines from a child's private stdout, with a per-line and total deadline and a cap."""

    def __init__(self, process: subprocess.Popen, total_deadline: float) -> None:
        self.process = process
        self.deadline = total_deadline
        self.buffer = b""
        self.received = 0

    def lines(self, idle: float):
        """Yield lines; stop at EOF. Raises TimeoutError or OverflowError."""
        fd = self.process.stdout.fileno()
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                yield line
            wait = min(idle, self.deadline - time.monotonic())
            if wait <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise TimeoutError
            chunk = os.read(fd, 65536)
            if not chunk:
                if self.buffer:
                    yield self.buffer
                return
            self.received += len(chunk)
            if self.received > CHANNEL_LIMIT:
                raise OverflowError
            self.buffer += chunk


def _start(module: str, argv: list[str], workdir: str, env: dict,
           stdin: bytes | None = None) -> subprocess.Popen:
    command = [*sandbox_prefix(workdir), sys.executable, "-I", "-m", module, *argv]
    process = subprocess.Popen(command, cwd=workdir, env=env, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    if stdin is not None:
        threading.Thread(target=_feed, args=(process, stdin), daemon=True).start()
    else:
        process.stdin.close()
    return process


def _feed(process: subprocess.Popen, data: bytes) -> None:
    try:
        process.stdin.write(data)
        process.stdin.close()
    except OSError:
        pass


def _stop(process: subprocess.Popen, extra_pid: int | None = None) -> None:
    for pid in (extra_pid,):
        if pid:
            try:
                os.killpg(pid, signal.SIGKILL)  # the kernel leads its own session
            except (ProcessLookupError, PermissionError):
                pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        process.kill()
    process.stdout.close()


def _json_line(line: bytes) -> dict:
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def execute(notebook: nbformat.NotebookNode, *, timeout: float, cell_timeout: float,
            fast: bool, threads: int | None,
            ) -> tuple[CellFailure | None, nbformat.NotebookNode | None]:
    """Execution phase: the first failing cell (or None) and the executed copy."""
    workdir = tempfile.mkdtemp(prefix="lrcourse-run-")
    try:
        path = os.path.join(workdir, "submission.ipynb")
        nbformat.write(notebook, path)
        env = _environment(workdir, fast=fast, threads=threads)
        process = _start("lrcourse.checks._execute",
                         [path, f"{cell_timeout:g}", str(OUTPUT_LIMIT)], workdir, env)
        channel = _Channel(process, time.monotonic() + timeout)
        failure, running, kernel = None, None, None
        try:
            for line in channel.lines(idle=cell_timeout + 30):
                data = _json_line(line)
                if "kernel_pid" in data and not sandbox_prefix(workdir):
                    kernel = data["kernel_pid"] if isinstance(data["kernel_pid"], int) else None
                elif "cell" in data:
                    running = data["cell"]
                elif "failure" in data and failure is None:
                    failure = CellFailure(int(data["failure"]), str(data["kind"]),
                                      str(data["summary"])[:300], str(data["first_line"])[:60])
        except TimeoutError:
            if failure is None and isinstance(running, int) and 0 <= running < len(
                    notebook.cells):
                failure = CellFailure(running, "timeout",
                                  f"still running at the {timeout:g} s time limit",
                                  _first_line(notebook.cells[running].source))
            elif failure is None:
                failure = CellFailure(-1, "timeout", f"the kernel did not start within the "
                                                 f"{timeout:g} s time limit")
        except (ValueError, OverflowError):
            failure = CellFailure(-1, "error", "the execution's report was unreadable")
        finally:
            _stop(process, kernel)
        executed = None
        out = os.path.join(workdir, "executed.ipynb")
        if os.path.isfile(out) and os.path.getsize(out) < 100 * OUTPUT_LIMIT:
            try:
                executed = nbformat.read(out, as_version=4)
            except Exception:  # a run killed while writing leaves a partial file
                executed = None
        if failure is None and process.returncode not in (0, None) and executed is None:
            failure = CellFailure(-1, "dead", "the execution stopped before it finished")
        return failure, executed
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def read_verdicts(lines, questions: list[str]) -> tuple[dict[str, CheckResult], str, str]:
    """Validate the evaluation's channel: (verdicts by question, last question being
    checked, problem or ``""``). Any malformed line is a problem, never an exception.

    >>> good = json.dumps({"verdict": {"question": "01.q", "status": "PASS", "message": "",
    ...                                "hint": ""}}).encode()
    >>> read_verdicts([good], ["01.q"])[0]["01.q"].status.value
    'PASS'
    >>> bad = good.replace(b"PASS", b"MAYBE")
    >>> read_verdicts([bad], ["01.q"])[2]
    "malformed verdict from the evaluation: unknown status 'MAYBE'"
    """
    verdicts: dict[str, CheckResult] = {}
    checking = ""
    try:
        for line in lines:
            try:
                data = _json_line(line)
            except ValueError:
                return verdicts, checking, "malformed line from the evaluation: not JSON"
            if set(data) == {"checking"} and data["checking"] in questions:
                checking = data["checking"]
            elif set(data) <= {"cell", "cell_error", "summary", "done"}:
                continue
            elif set(data) == {"verdict"} and isinstance(data["verdict"], dict):
                verdict = data["verdict"]
                if set(verdict) != {"question", "status", "message", "hint"}:
                    return verdicts, checking, ("malformed verdict from the evaluation: "
                                                f"fields {sorted(map(str, verdict))}")
                question, status = verdict["question"], verdict["status"]
                if question not in questions:
                    return verdicts, checking, ("malformed verdict from the evaluation: "
                                                f"unknown question {str(question)[:40]!r}")
                if question in verdicts:
                    return verdicts, checking, ("malformed verdict from the evaluation: "
                                                f"{question} reported twice")
                if status not in STATUSES:
                    return verdicts, checking, ("malformed verdict from the evaluation: "
                                                f"unknown status {str(status)[:20]!r}")
                if not (isinstance(verdict["message"], str) and isinstance(verdict["hint"], str)):
                    return verdicts, checking, ("malformed verdict from the evaluation: "
                                                "message and hint must be text")
                verdicts[question] = CheckResult(question, STATUSES[status],
                                                 verdict["message"][:500], verdict["hint"][:500])
            else:
                return verdicts, checking, ("malformed line from the evaluation: fields "
                                            f"{sorted(map(str, data))[:5]}")
    except OverflowError:
        return verdicts, checking, "the evaluation sent more than the grader reads"
    return verdicts, checking, ""


def evaluate(course: Course, lesson: str, learner_cells: list[str], *, timeout: float,
             cell_timeout: float, fast: bool, threads: int | None):
    """Evaluation phase: (verdicts, question being checked when it stopped, problem, notes)."""
    cells, notes = evaluation_program(course, learner_cells)
    questions = list(course.checks)
    workdir = tempfile.mkdtemp(prefix="lrcourse-eval-")
    try:
        env = _environment(workdir, fast=fast, threads=threads)
        spec = json.dumps({"lesson": lesson, "cells": cells,
                           "check_timeout": cell_timeout}).encode()
        process = _start("lrcourse.checks._evaluate", [], workdir, env, stdin=spec)
        channel = _Channel(process, time.monotonic() + timeout)
        state = {"timeout": False}

        def lines():
            try:
                yield from channel.lines(idle=cell_timeout + 30)  # a check: cell_timeout
            except TimeoutError:
                state["timeout"] = True

        try:
            verdicts, checking, problem = read_verdicts(lines(), questions)
        finally:
            _stop(process)
        stopped = ""
        if state["timeout"]:
            stopped = "the time limit ended the evaluation"
        elif process.returncode not in (0, None) and len(verdicts) < len(questions):
            stopped = f"the evaluation ended early (exit code {process.returncode})"
        return verdicts, checking, problem, stopped, notes
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def grade_notebook(path: str | Path, *, lesson: str | None = None, timeout: float = 300,
                   cell_timeout: float | None = None, fast: bool = False,
                   threads: int | None = None, label: str | None = None) -> Grade:
    """Grade one submission; never raises for anything the submission contains.

    Args:
        path: the submitted ``.ipynb``; it is read, never written or run in place.
        lesson: the lesson to grade (``"NN"``); None lets the file name decide.
        timeout: seconds each phase may take in total (its processes are then killed).
        cell_timeout: seconds one cell may take (default ``timeout``).
        fast: run with ``LRCOURSE_FAST=1``.
        threads: cap the compute threads of each process.
        label: how the submission is named in results (default ``path``).

    Returns:
        A ``Grade``: one result per question of the lesson (PASS, NOT YET or WRONG), and
        ``problem`` when it could not be graded as asked.

    Raises:
        ValueError: for a ``lesson`` that is not two digits or has no questions, or a
            non-positive time limit.
    """
    start = time.monotonic()
    path = Path(path)
    label = label or str(path)
    cell_timeout = timeout if cell_timeout is None else cell_timeout
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout)):
        if not (isinstance(value, (int, float)) and value > 0):
            raise ValueError(f"`{name}` must be a number of seconds > 0. Received: {value!r}")
    if lesson is not None and not questions_for_lesson(lesson):
        raise ValueError(f"`lesson` must name a lesson with exercises, like '01'. "
                         f"Received: lesson={lesson!r}")
    grade = Grade(label, lesson)
    try:
        notebook = read_submission(path)
    except ValueError as error:
        match = NAME_PREFIX.match(path.name)
        if lesson is None and match and questions_for_lesson(match.group(1)):
            grade.lesson = match.group(1)
        grade.problem = str(error)
        grade.results = _all_wrong(grade.lesson, grade.problem)
        grade.seconds = time.monotonic() - start
        return grade
    grade.lesson, problem = decide_lesson(path, notebook, lesson)
    if not problem and not questions_for_lesson(grade.lesson or ""):
        problem = f"lesson {grade.lesson} has no exercises"
    if problem:
        grade.problem = problem
        grade.results = _all_wrong(grade.lesson if questions_for_lesson(grade.lesson or "")
                                   else None, problem)
        grade.seconds = time.monotonic() - start
        return grade
    course = load_course(grade.lesson)
    restored = restore(notebook, course)
    course_sources = {c.source for c in course.notebook.cells if c.cell_type == "code"}
    learner_cells = [c.source for c in notebook.cells if c.cell_type == "code"
                     and c.source not in course_sources  # the course's cells run anyway
                     and not any(m["question"] in course.checks
                                 for m in CHECK_CALL.finditer(c.source))]
    phase = {}

    def run_execution():
        phase["execute"] = execute(restored, timeout=timeout, cell_timeout=cell_timeout,
                                   fast=fast, threads=threads)

    runner = threading.Thread(target=run_execution)
    runner.start()
    verdicts, checking, problem, stopped, notes = evaluate(
        course, grade.lesson, learner_cells, timeout=timeout, cell_timeout=cell_timeout,
        fast=fast, threads=threads)
    runner.join()
    failure, grade.executed = phase["execute"]
    grade.failure, grade.notes = failure, notes
    if problem:
        grade.problem = problem
        grade.results = _all_wrong(grade.lesson, problem, "the grader trusts no verdict from "
                                   "this run")
        grade.seconds = time.monotonic() - start
        return grade
    positions = {}
    for position, cell in enumerate(restored.cells):
        match = CHECK_CALL.search(cell.source) if cell.metadata.get(CHECK_CELL) else None
        if match:
            positions[match["question"]] = position
    results = []
    for question in course.checks:
        if failure is not None and positions.get(question, 0) > failure.cell_index:
            results.append(CheckResult(question, Status.WRONG,
                                       "not reached: an earlier cell stopped the notebook",
                                       f"fix this first: {failure.describe()}"))
        elif question in verdicts:
            results.append(verdicts[question])
        else:
            why = stopped or "the evaluation gave no verdict"
            if checking == question:
                why += " while checking this question"
            results.append(CheckResult(question, Status.WRONG, f"no verdict: {why}",
                                       "an answer must return in time and never end the "
                                       "program"))
    grade.results = results
    if grade.executed is not None:
        _write_verdicts(grade.executed, results)
    grade.seconds = time.monotonic() - start
    return grade


def grade_many(paths: list[Path], *, lesson: str | None, jobs: int = 1, timeout: float = 300,
               cell_timeout: float | None = None, fast: bool = False, progress=None,
               labels: list[str] | None = None) -> list[Grade]:
    """Grade submissions ``jobs`` at a time, checking the package's files around each.

    ``progress`` is called with each finished ``Grade``. A change of the installed
    ``lrcourse`` files while a submission was graded turns that submission's grade into a
    problem (every question WRONG) and is said loudly.
    """
    from concurrent.futures import ThreadPoolExecutor

    labels = labels or [str(p) for p in paths]
    threads = 1 if jobs > 1 else None
    lock = threading.Lock()
    baseline = {"digest": package_digest()}

    def one(item):
        path, label = item
        before = baseline["digest"]
        try:
            grade = grade_notebook(path, lesson=lesson, timeout=timeout,
                                   cell_timeout=cell_timeout, fast=fast, threads=threads,
                                   label=label)
        except Exception as error:  # a grader bug must not stop the class: give it a row
            grade = Grade(label, lesson, _all_wrong(lesson, f"grader error: {error}"[:200]),
                          problem=f"grader error: {type(error).__name__}: {error}"[:200])
        after = package_digest()
        with lock:
            if after != before or after != baseline["digest"]:
                grade.problem = ("THE INSTALLED lrcourse PACKAGE CHANGED while this submission "
                                 "was graded; reinstall it and grade again")
                grade.results = _all_wrong(grade.lesson, grade.problem)
                baseline["digest"] = after
            if progress is not None:
                progress(grade)
        return grade

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(one, zip(paths, labels, strict=True)))


def collect(inputs: list[str]) -> tuple[list[Path], list[str]]:
    """Submissions from files and folders (each folder's ``*.ipynb``, recursively, sorted),
    and labels for them; a path that does not exist is kept and graded as unreadable."""
    paths: list[Path] = []
    for text in inputs:
        path = Path(text)
        if path.is_dir():
            paths += sorted(p for p in path.rglob("*.ipynb")
                            if ".ipynb_checkpoints" not in p.parts)
        else:
            paths.append(path)
    return paths, [str(p) for p in paths]


def write_csv(grades: list[Grade], target: str | Path) -> Path:
    """Write ``submission,lesson,question,status,message,hint`` rows, a ``total`` per
    submission (status ``passed/questions``, message the problem if any)."""
    import csv

    target = Path(target)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["submission", "lesson", "question", "status",
                                         "message", "hint"])
        writer.writeheader()
        for grade in grades:
            writer.writerows(grade.rows())
    return target
