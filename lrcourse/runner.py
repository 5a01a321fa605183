"""Execute notebooks headless, each in a fresh kernel, the way a learner's Run All would.

Used by ``lrcourse run``, ``lrcourse check`` and the test suite. A cell tagged
``raises-exception`` must raise (it demonstrates a failing call); any other error fails
the run.

Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

RAISES_TAG = "raises-exception"


@dataclass(frozen=True)
class CellFailure:
    """Why a cell failed: ``kind`` is ``error``, ``timeout``, ``no-raise`` or ``dead-kernel``."""

    cell_index: int
    kind: str
    summary: str
    first_line: str = ""

    def describe(self) -> str:
        """One line naming the cell and what went wrong.

        >>> CellFailure(3, "error", "NameError: name 'x' is not defined", "print(x)").describe()
        "cell 3 (print(x)): NameError: name 'x' is not defined"
        """
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
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"`threads` must be an integer >= 1. Received: threads={threads!r}")
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


def _first_line(cell) -> str:
    for line in cell.source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:60]
    return ""


def execute_notebook(
    path: str | Path,
    *,
    fast: bool = False,
    timeout: float = 900,
    stop_on_error: bool = True,
    threads: int | None = None,
    env: dict | None = None,
    output_path: str | Path | None = None,
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

    Returns:
        A ``NotebookRun`` with the executed notebook, wall time, peak kernel memory and
        every failing cell.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: for a non-positive ``timeout``.

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
    notebook = nbformat.read(path, as_version=4)
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
    seconds = time.monotonic() - start
    run = NotebookRun(path, notebook, seconds, failures, peak)
    if output_path is not None:
        run.output_path = Path(output_path)
        run.output_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, run.output_path)
    return run


def export_html(run: NotebookRun, directory: str | Path) -> Path:
    """Write the executed notebook as a standalone HTML page (figures embedded).

    >>> import tempfile
    >>> run = NotebookRun(Path("01_demo.ipynb"), nbformat.v4.new_notebook(), seconds=1.0)
    >>> export_html(run, tempfile.mkdtemp()).name
    '01_demo.html'
    """
    from nbconvert import HTMLExporter

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(run.notebook)
    target = directory / f"{run.path.stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


def write_html_index(runs: list[NotebookRun], directory: str | Path) -> Path:
    """An index page linking each lesson page, with its status and wall time.

    >>> import tempfile
    >>> run = NotebookRun(Path("01_demo.ipynb"), nbformat.v4.new_notebook(), seconds=12.34)
    >>> "12.3 s" in write_html_index([run], tempfile.mkdtemp()).read_text()
    True
    """
    import html

    rows = "\n".join(
        f"<tr><td><a href='{html.escape(run.path.stem)}.html'>{html.escape(run.path.stem)}"
        f"</a></td><td>{'ok' if run.ok else 'FAILED'}</td><td>{run.seconds:.1f} s</td></tr>"
        for run in runs
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>lrcourse</title></head>"
        "<body><h1>lrcourse: the learning rate, in Keras and PyTorch</h1>"
        "<table><tr><th>lesson</th><th>status</th><th>wall time</th></tr>"
        f"{rows}</table></body></html>"
    )
    target = Path(directory) / "index.html"
    target.write_text(page, encoding="utf-8")
    return target
