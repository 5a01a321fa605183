"""Execute notebooks headless, each in a fresh kernel, the way a learner's Run All would.

Used by ``lrcourse run`` and ``lrcourse check``. A cell tagged ``raises-exception`` must
raise (it demonstrates a failing call); any other error fails the run. That is what this
runner adds to the tools it is built on: papermill parameterises a notebook (its
``parameters`` cell, the injected cell after it) but fails a run on any error output,
tags or not; nbclient executes; this module decides which errors fail the run, stops a
notebook at its time limit, and reads the kernel's peak memory. The test suite executes
the notebooks with nbval instead (see ``conftest.py``); the HTML edition is
``lrcourse.html_edition``.

Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
"""

from __future__ import annotations

import ast
import copy
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from lrcourse import _validate

RAISES_TAG = "raises-exception"
PARAMETERS_TAG = "parameters"


@dataclass(frozen=True)
class CellFailure:
    """Why a cell failed: ``kind`` is ``error``, ``timeout``, ``no-raise`` or ``dead-kernel``.

    ``cell_index`` -1 means before the first cell (the kernel did not start, say).
    """

    cell_index: int
    kind: str
    summary: str
    first_line: str = ""

    def describe(self) -> str:
        """One line naming the cell and what went wrong.

        >>> CellFailure(3, "error", "NameError: name 'x' is not defined", "print(x)").describe()
        "cell 3 (print(x)): NameError: name 'x' is not defined"
        """
        if self.cell_index < 0:
            return f"before the first cell: {self.summary}"
        where = f"cell {self.cell_index}"
        if self.first_line:
            where += f" ({self.first_line})"
        return f"{where}: {self.summary}"


@dataclass
class NotebookRun:
    """The outcome of executing one notebook."""

    path: Path
    notebook: nbformat.NotebookNode
    seconds: float
    failures: list[CellFailure] = field(default_factory=list)
    peak_rss_mb: float | None = None
    output_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when no cell failed."""
        return not self.failures


def kernel_env(*, fast: bool, threads: int | None = None, extra: dict | None = None) -> dict:
    """The environment a notebook kernel starts with.

    ``fast`` sets ``LRCOURSE_FAST=1`` (and removes it otherwise, so a full run is full even
    when the caller's shell has it set). ``threads`` caps the intra- and inter-op thread
    pools of TensorFlow, PyTorch and OpenMP. TensorFlow's C++ start-up logs are silenced.

    >>> env = kernel_env(fast=True, threads=1)
    >>> env["LRCOURSE_FAST"], env["OMP_NUM_THREADS"], env["TF_NUM_INTRAOP_THREADS"]
    ('1', '1', '1')
    >>> "LRCOURSE_FAST" in kernel_env(fast=False)
    False
    """
    env = dict(os.environ)
    env.pop("LRCOURSE_FAST", None)
    if fast:
        env["LRCOURSE_FAST"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env["JUPYTER_PREFER_ENV_PATH"] = "1"
    if threads is not None:
        _validate.integer("threads", threads, minimum=1)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                     "TF_NUM_INTEROP_THREADS"):
            env[name] = str(threads)
    env.update(extra or {})
    return env


def _peak_rss_mb(pid: int | None) -> float | None:
    """The peak resident set size of a process (Linux ``VmHWM``), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, TypeError, ValueError):
        return None
    return None


def _log_execution(tool: str, path: Path) -> None:
    """Append ``tool path`` to ``$LRCOURSE_EXECUTION_LOG`` when set (benchmarks/foundation.py)."""
    log = os.environ.get("LRCOURSE_EXECUTION_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as file:
            file.write(f"{tool} {Path(path).resolve()}\n")


def _first_line(cell) -> str:
    for line in cell.source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:60]
    return ""


def _parameters_cell(notebook: nbformat.NotebookNode):
    return next((cell for cell in notebook.cells if cell.cell_type == "code"
                 and PARAMETERS_TAG in cell.metadata.get("tags", [])), None)


def declared_parameters(notebook: nbformat.NotebookNode) -> dict[str, dict]:
    """The knobs of a notebook's ``parameters`` cell, as papermill infers them.

    Returns:
        ``{name: {"name", "inferred_type_name", "default", "help"}}`` in cell order, the
        same table ``papermill --help-notebook`` prints; empty without a parameters cell.

    Example:
        >>> cell = nbformat.v4.new_code_cell("EPOCHS: int = 3  # passes over the data")
        >>> cell.metadata["tags"] = ["parameters"]
        >>> knobs = declared_parameters(nbformat.v4.new_notebook(cells=[cell]))
        >>> knobs["EPOCHS"]["inferred_type_name"], knobs["EPOCHS"]["help"]
        ('int', 'passes over the data')
    """
    from papermill.translators import PythonTranslator

    cell = _parameters_cell(notebook)
    if cell is None:
        return {}
    return {knob.name: knob._asdict() for knob in PythonTranslator.inspect(cell)}


def _literal(node: ast.expr) -> object:
    value = ast.literal_eval(node)
    return list(value) if isinstance(value, tuple) else value  # papermill writes JSON types


def fast_parameters(notebook: nbformat.NotebookNode) -> dict[str, object]:
    """Fast mode as a parameter set: ``FAST = True`` and each knob's value when ``FAST``.

    A knob written ``NAME: type = FAST_VALUE if FAST else FULL_VALUE`` in the parameters
    cell contributes ``NAME: FAST_VALUE`` (tuples become lists: papermill injects JSON
    types). Nothing is executed: the values are read from the cell's syntax.

    Returns:
        The parameters to inject; empty when the notebook has no ``FAST`` knob.

    Raises:
        ValueError: when a knob that depends on ``FAST`` is not of that form with literal
            values (``lrcourse run --fast`` could not tell its fast value).

    Example:
        >>> source = "FAST: bool = False  # small settings\\nEPOCHS: int = 3 if FAST else 15"
        >>> cell = nbformat.v4.new_code_cell(source, metadata={"tags": ["parameters"]})
        >>> fast_parameters(nbformat.v4.new_notebook(cells=[cell]))
        {'FAST': True, 'EPOCHS': 3}
    """
    cell = _parameters_cell(notebook)
    if cell is None:
        return {}
    found: dict[str, object] = {}
    for statement in ast.parse(cell.source).body:
        if isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        names = [target.id for target in targets if isinstance(target, ast.Name)]
        if names == ["FAST"]:
            found["FAST"] = True
            continue
        if "FAST" not in {node.id for node in ast.walk(value) if isinstance(node, ast.Name)}:
            continue
        try:
            if not (isinstance(value, ast.IfExp) and isinstance(value.test, ast.Name)
                    and value.test.id == "FAST"):
                raise ValueError("not of the form `A if FAST else B`")
            fast_value = _literal(value.body)
        except ValueError:
            raise ValueError(
                f"the parameters cell sets {', '.join(names)} from FAST with "
                f"`{ast.get_source_segment(cell.source, value)}`; expected "
                "`FAST_VALUE if FAST else FULL_VALUE` with literal values") from None
        for name in names:
            found[name] = fast_value
    return found if "FAST" in found else {}


def _typed(name: str, text: str, declared: str) -> object:
    """``text`` from the command line as a value of the type ``declared`` for ``name``."""
    if declared == "str":
        return text
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text
    base = declared.split("[", 1)[0]
    expected = {"int": "an integer", "float": "a number", "bool": "True or False",
                "list": "a list such as [1, 2]", "tuple": "a list such as [1, 2]"}.get(base)
    if base == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if base in ("list", "tuple") and isinstance(value, tuple):
        value = list(value)
    wanted = {"int": int, "float": float, "bool": bool, "list": list, "tuple": list}.get(base)
    if wanted is not None and (type(value) is not wanted):
        raise TypeError(f"`{name}` must be {expected} ({declared}). Received: {name}={text}")
    return value


def parse_parameters(notebook: nbformat.NotebookNode,
                     pairs: list[tuple[str, str]]) -> dict[str, object]:
    """Command-line ``-p NAME VALUE`` pairs as typed values for the notebook's knobs.

    A value is read as a Python literal (``3``, ``0.1``, ``True``, ``[1, 2]``) and checked
    against the knob's annotated type; a ``str`` knob takes the text as it is.

    Raises:
        ValueError: for a name the parameters cell does not declare.
        TypeError: for a value of the wrong type.

    Example:
        >>> cell = nbformat.v4.new_code_cell("EPOCHS: int = 3\\nLR: float = 0.1",
        ...                                  metadata={"tags": ["parameters"]})
        >>> notebook = nbformat.v4.new_notebook(cells=[cell])
        >>> parse_parameters(notebook, [("EPOCHS", "5"), ("LR", "1")])
        {'EPOCHS': 5, 'LR': 1.0}
        >>> parse_parameters(notebook, [("EPOCHS", "five")])
        Traceback (most recent call last):
        ...
        TypeError: `EPOCHS` must be an integer (int). Received: EPOCHS=five
    """
    known = declared_parameters(notebook)
    values = {}
    for name, text in pairs:
        if name not in known:
            raise ValueError(f"`{name}` is not a parameter of this notebook. Expected one of: "
                             f"{', '.join(known) or '(none: it has no parameters cell)'}. "
                             f"Received: {name}={text}")
        values[name] = _typed(name, text, known[name]["inferred_type_name"])
    return values


def parameterize(notebook: nbformat.NotebookNode,
                 parameters: dict[str, object]) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with papermill's ``injected-parameters`` cell for ``parameters``.

    papermill's own parameterisation: the cell goes right after the ``parameters`` cell
    (or replaces an earlier injected one) and the values are recorded in the metadata.

    Raises:
        ValueError: for a name the parameters cell does not declare.

    Example:
        >>> cell = nbformat.v4.new_code_cell("EPOCHS: int = 3", metadata={"tags": ["parameters"]})
        >>> injected = parameterize(nbformat.v4.new_notebook(cells=[cell]), {"EPOCHS": 5})
        >>> print(injected.cells[1].source)
        # Parameters
        EPOCHS = 5
        <BLANKLINE>
    """
    from papermill.parameterize import parameterize_notebook

    known = declared_parameters(notebook)
    unknown = [name for name in parameters if name not in known]
    if unknown:
        raise ValueError(f"{', '.join(f'`{name}`' for name in unknown)} not declared in the "
                         f"notebook's parameters cell. Expected names among: "
                         f"{', '.join(known) or '(none)'}. Received: {sorted(parameters)}")
    notebook = copy.deepcopy(notebook)
    for cell in notebook.cells:  # as papermill's own execute prepares a notebook
        cell.metadata.setdefault("tags", [])
    notebook.metadata.setdefault("papermill", nbformat.NotebookNode())
    notebook.metadata["kernelspec"] = notebook.metadata.get("kernelspec") or {
        "name": "python3", "display_name": "Python 3", "language": "python"}
    return parameterize_notebook(notebook, dict(parameters))


def execute_notebook(
    path: str | Path,
    *,
    fast: bool = False,
    timeout: float = 900,
    stop_on_error: bool = True,
    threads: int | None = None,
    env: dict | None = None,
    output_path: str | Path | None = None,
    parameters: dict[str, object] | None = None,
) -> NotebookRun:
    """Execute ``path`` top to bottom in a fresh kernel started in the notebook's folder.

    Args:
        path: the ``.ipynb`` file; it is read, never written.
        fast: run the kernel with ``LRCOURSE_FAST=1``.
        timeout: seconds the whole notebook may take; the cell running at the deadline
            is interrupted and reported as a timeout.
        stop_on_error: stop at the first failing cell (a lesson run); ``False`` runs
            every cell regardless (an exercise check, which grades every question).
        threads: cap the kernel's compute threads (see ``kernel_env``).
        env: extra environment variables for the kernel.
        output_path: where to write the executed copy, if anywhere.
        parameters: values for the knobs of the notebook's ``parameters`` cell, injected
            by papermill (see ``parameterize``); ``fast_parameters`` gives fast mode's.

    Returns:
        A ``NotebookRun`` with the executed notebook, wall time, peak kernel memory and
        every failing cell.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: for a non-positive ``timeout`` or a parameter the notebook does not
            declare.

    Example:
        >>> import tempfile
        >>> path = Path(tempfile.mkdtemp()) / "demo.ipynb"
        >>> cells = [nbformat.v4.new_code_cell("print(6 * 7)"), nbformat.v4.new_code_cell("1 / 0")]
        >>> nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
        >>> run = execute_notebook(path, timeout=60)
        >>> run.notebook.cells[0].outputs[0].text, run.ok
        ('42\\n', False)
        >>> run.failures[0].describe()
        'cell 1 (1 / 0): ZeroDivisionError: division by zero'
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"`timeout` must be a number of seconds > 0. Received: {timeout!r}")
    _log_execution("runner", path)
    notebook = nbformat.read(path, as_version=4)
    if parameters:
        notebook = parameterize(notebook, parameters)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        # ipykernel warns on stderr about loopback TCP for every kernel; keep errors only.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        allow_errors=True,
        timeout=int(math.ceil(timeout)),
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    failures: list[CellFailure] = []
    peak = None
    start = time.monotonic()
    deadline = start + timeout
    client.reset_execution_trackers()
    with client.setup_kernel(env=kernel_env(fast=fast, threads=threads, extra=env)):
        pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            client.timeout = max(1, int(math.ceil(deadline - time.monotonic())))
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                failures.append(CellFailure(index, "timeout",
                                            f"still running at the {timeout:g} s time limit",
                                            _first_line(cell)))
                break
            except DeadKernelError:
                failures.append(CellFailure(index, "dead-kernel",
                                            "the kernel died (out of memory?)",
                                            _first_line(cell)))
                break
            errors = [o for o in cell.outputs if o.output_type == "error"]
            tagged = RAISES_TAG in cell.metadata.get("tags", [])
            if errors and not tagged:
                summary = f"{errors[0].ename}: {errors[0].evalue}"[:300]
                failures.append(CellFailure(index, "error", summary, _first_line(cell)))
                if stop_on_error:
                    break
            elif tagged and not errors:
                failures.append(CellFailure(index, "no-raise",
                                            f"is tagged {RAISES_TAG} but raised nothing",
                                            _first_line(cell)))
                if stop_on_error:
                    break
        peak = _peak_rss_mb(pid)
        client.set_widgets_metadata()  # the widgets' last state, for the HTML edition
    seconds = time.monotonic() - start
    run = NotebookRun(path, notebook, seconds, failures, peak)
    if output_path is not None:
        run.output_path = Path(output_path)
        run.output_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, run.output_path)
    return run
