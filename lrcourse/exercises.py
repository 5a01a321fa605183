"""Generate ``exercises/`` from ``solutions/`` and tell when it is out of date.

A solution cell marks the answer with two comment lines inside a function body:

    def largest_stable_lr(hessian):
        # BEGIN SOLUTION the limit comes from the largest eigenvalue
        return 2 / np.linalg.eigvalsh(hessian).max()
        # END SOLUTION

The generated exercise keeps everything else and replaces the region with a stub that
raises ``NotImplementedError`` carrying the hint written after ``BEGIN SOLUTION``, so the
untouched exercise still runs and its check cell reports NOT YET.

Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

BEGIN = re.compile(r"^(?P<indent>[ \t]*)# BEGIN SOLUTION(?:[ \t:]+(?P<hint>\S.*?))?[ \t]*$")
END = re.compile(r"^[ \t]*# END SOLUTION[ \t]*$")
DEFAULT_HINT = "replace this line with your solution"


def strip_solutions(source: str, *, where: str = "<cell>") -> tuple[str, int]:
    """Replace each solution region of ``source`` by a stub; return it and the region count.

    Args:
        source: the text of one code cell.
        where: names the cell in error messages.

    Raises:
        ValueError: for an unclosed, unopened or nested region, or a region that is not
            indented (a stub at top level would stop the notebook, so regions must sit
            inside a function body).

    Example:
        >>> lines = ["def f(x):", "    # BEGIN SOLUTION double it", "    return 2 * x",
        ...          "    # END SOLUTION", ""]
        >>> print(strip_solutions("\\n".join(lines))[0])
        def f(x):
            raise NotImplementedError(
                'Exercise: double it'
            )
        <BLANKLINE>
    """
    out: list[str] = []
    count = 0
    open_at: int | None = None
    for number, line in enumerate(source.splitlines(keepends=True), start=1):
        begin = BEGIN.match(line.rstrip("\n"))
        if begin:
            if open_at is not None:
                raise ValueError(f"{where} line {number}: BEGIN SOLUTION inside the region "
                                 f"opened on line {open_at}")
            indent = begin["indent"]
            if not indent:
                raise ValueError(f"{where} line {number}: a solution region must be indented "
                                 "inside a function body, so the exercise still runs. "
                                 "Received it at top level")
            hint = begin["hint"] or DEFAULT_HINT
            message = repr("Exercise: " + hint)
            out.append(f"{indent}raise NotImplementedError(\n{indent}    {message}\n{indent})\n")
            open_at = number
            count += 1
        elif END.match(line.rstrip("\n")):
            if open_at is None:
                raise ValueError(f"{where} line {number}: END SOLUTION without BEGIN SOLUTION")
            open_at = None
        elif open_at is None:
            out.append(line)
    if open_at is not None:
        raise ValueError(f"{where} line {open_at}: BEGIN SOLUTION is never closed by "
                         "END SOLUTION")
    return "".join(out), count


def build_exercise(solution: nbformat.NotebookNode, *, name: str) -> nbformat.NotebookNode:
    """The exercise notebook for one solution notebook: regions stubbed, outputs removed.

    Raises:
        ValueError: when the notebook has no solution region or a malformed one.

    Example:
        >>> source = "def f():\\n    # BEGIN SOLUTION\\n    return 1\\n    # END SOLUTION"
        >>> solution = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
        >>> print(build_exercise(solution, name="solutions/01_demo.ipynb").cells[0].source)
        def f():
            raise NotImplementedError(
                'Exercise: replace this line with your solution'
            )
    """
    exercise = nbformat.from_dict(solution)
    total = 0
    for index, cell in enumerate(exercise.cells):
        if cell.cell_type != "code":
            continue
        cell.source, count = strip_solutions(cell.source, where=f"{name} cell {index}")
        total += count
        cell.outputs = []
        cell.execution_count = None
    if total == 0:
        raise ValueError(f"{name} has no '# BEGIN SOLUTION' region; nothing to turn into an "
                         "exercise")
    meta = exercise.metadata.setdefault("lrcourse", {})
    meta["generated_from"] = name
    return exercise


def _expected(root: Path) -> dict[Path, str]:
    """Every exercise file's expected text, keyed by its path."""
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if not solutions:
        raise ValueError(f"no solution notebooks found in {root / 'solutions'}")
    texts = {}
    for path in solutions:
        name = path.relative_to(root).as_posix()
        exercise = build_exercise(nbformat.read(path, as_version=4), name=name)
        texts[root / "exercises" / path.name] = nbformat.writes(exercise) + "\n"
    return texts


def build(root: str | Path = ".") -> list[Path]:
    """Write ``exercises/NN_name.ipynb`` for every ``solutions/NN_name.ipynb`` under ``root``.

    Returns:
        The paths written.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "solutions").mkdir()
        >>> cell = nbformat.v4.new_code_cell("def f():\\n    # BEGIN SOLUTION\\n    # END SOLUTION")
        >>> nbformat.write(nbformat.v4.new_notebook(cells=[cell]), root / "solutions/01_a.ipynb")
        >>> [path.name for path in build(root)]
        ['01_a.ipynb']
    """
    root = Path(root)
    texts = _expected(root)
    (root / "exercises").mkdir(exist_ok=True)
    for path, text in texts.items():
        path.write_text(text, encoding="utf-8")
    return list(texts)


def stale(root: str | Path = ".") -> list[str]:
    """Problems that make ``exercises/`` out of date with ``solutions/``; empty when current.

    Each entry names a missing, different or orphaned exercise notebook.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> (root / "solutions").mkdir()
        >>> cell = nbformat.v4.new_code_cell("def f():\\n    # BEGIN SOLUTION\\n    # END SOLUTION")
        >>> nbformat.write(nbformat.v4.new_notebook(cells=[cell]), root / "solutions/01_a.ipynb")
        >>> stale(root)
        ['exercises/01_a.ipynb is missing']
        >>> _ = build(root)
        >>> stale(root)
        []
    """
    root = Path(root)
    texts = _expected(root)
    problems = []
    for path, text in texts.items():
        relative = path.relative_to(root).as_posix()
        if not path.exists():
            problems.append(f"{relative} is missing")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"{relative} differs from what its solution generates")
    for path in sorted((root / "exercises").glob("*.ipynb")):
        if path not in texts:
            problems.append(f"{path.relative_to(root).as_posix()} has no solution notebook")
    return problems
