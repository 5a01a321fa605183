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

from lrcourse import _validate as check

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
        client.set_widgets_metadata()  # the widgets' last state, for the HTML edition
    seconds = time.monotonic() - start
    run = NotebookRun(path, notebook, seconds, failures, peak)
    if output_path is not None:
        run.output_path = Path(output_path)
        run.output_path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, run.output_path)
    return run


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _widget_snapshot(model_id: str, state: dict) -> tuple[list[str], list[dict]]:
    """The controls (``description = value``) and Output-widget outputs under a widget."""
    model = state.get(model_id)
    if model is None:
        return [], []
    values = model.get("state", {})
    if model.get("model_name") == "OutputModel":
        return [], list(values.get("outputs", []))
    controls, outputs = [], []
    if values.get("description") and "value" in values:
        controls.append(f"{values['description']} = {values['value']}")
    for child in values.get("children", []):
        child_controls, child_outputs = _widget_snapshot(str(child).removeprefix("IPY_MODEL_"),
                                                         state)
        controls += child_controls
        outputs += child_outputs
    return controls, outputs


def static_widgets(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed notebook whose widgets are replaced by what they showed.

    A static page cannot run a kernel, so a slider cannot move there. Each widget output
    becomes a note naming its controls and their values, followed by the outputs (figures,
    text) its Output widgets held when the run ended. The widget state is dropped from the
    metadata, so the page loads no widget JavaScript.

    Args:
        notebook: an executed notebook (``execute_notebook`` stores its widget state).

    Returns:
        A new notebook; ``notebook`` is not changed.

    Example:
        >>> view = {WIDGET_VIEW: {"model_id": "box"}, "text/plain": "interactive(...)"}
        >>> state = {"box": {"model_name": "VBoxModel", "state": {"children": [
        ...              "IPY_MODEL_s", "IPY_MODEL_out"]}},
        ...          "s": {"model_name": "FloatSliderModel",
        ...                "state": {"description": "lr", "value": 0.5}},
        ...          "out": {"model_name": "OutputModel", "state": {"outputs": [
        ...                {"output_type": "stream", "name": "stdout", "text": "hi"}]}}}
        >>> nb = nbformat.v4.new_notebook(metadata={"widgets": {WIDGET_STATE: {"state": state}}})
        >>> nb.cells = [nbformat.v4.new_code_cell(outputs=[
        ...     nbformat.v4.new_output("display_data", data=view)])]
        >>> static = static_widgets(nb)
        >>> [output.output_type for output in static.cells[0].outputs]
        ['display_data', 'stream']
        >>> "lr = 0.5" in static.cells[0].outputs[0].data["text/html"], "widgets" in static.metadata
        (True, False)
    """
    import copy
    import html

    notebook = copy.deepcopy(notebook)
    widgets = notebook.metadata.pop("widgets", {})
    state = widgets.get(WIDGET_STATE, {}).get("state", {})
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(output)
                continue
            controls, shown = _widget_snapshot(view.get("model_id", ""), state)
            where = f" ({html.escape(', '.join(controls))})" if controls else ""
            note = (f"<p><em>An interactive widget{where}: open the notebook in JupyterLab "
                    "to move it. Below, what it showed when this page was built.</em></p>")
            outputs.append(nbformat.v4.new_output("display_data", data={"text/html": note}))
            outputs += [nbformat.from_dict(item) for item in shown]
        cell.outputs = outputs
    return notebook


def export_html(run: NotebookRun, directory: str | Path) -> Path:
    """Write the executed notebook as a standalone HTML page, figures embedded.

    Images are embedded as data URIs, so the page is one file. Widgets become static
    snapshots (see ``static_widgets``).

    Args:
        run: an executed notebook, from ``execute_notebook``.
        directory: where to write ``<notebook name>.html``; created when missing.

    Returns:
        The path of the page.

    Example:
        >>> import tempfile
        >>> run = NotebookRun(Path("01_demo.ipynb"), nbformat.v4.new_notebook(), seconds=1.0)
        >>> export_html(run, tempfile.mkdtemp()).name
        '01_demo.html'
    """
    from nbconvert import HTMLExporter

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    import logging

    # nbconvert warns that figures have no alternative text and then gives each a generic
    # one; we give each a plain one ourselves and keep its warning off the terminal.
    quiet = logging.getLogger("lrcourse.html")
    quiet.setLevel(logging.ERROR)
    exporter = HTMLExporter(template_name="lab", embed_images=True, log=quiet)
    body, _ = exporter.from_notebook_node(static_widgets(run.notebook))
    body = body.replace('alt="No description has been provided for this image"',
                        'alt="A figure drawn by the code cell above"')
    back = "<p><a href='index.html'>&larr; all lessons</a></p>"
    body = body.replace("<main>", "<main>" + back, 1)
    target = directory / f"{run.path.stem}.html"
    target.write_text(body, encoding="utf-8")
    return target


def _headings(page: str) -> list[tuple[int, str, str]]:
    """(level, anchor, text) of the h1 and h2 headings of an nbconvert page."""
    import html
    import re

    found = []
    for level, anchor, inner in re.findall(r'<h([12]) id="([^"]*)">(.*?)</h\1>', page, re.S):
        inner = re.sub(r'<a class="anchor-link".*?</a>', "", inner, flags=re.S)
        text = html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
        found.append((int(level), anchor, text))
    return found


INDEX_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.45; color: #222; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd;
         vertical-align: top; }
td.num { text-align: right; white-space: nowrap; }
.failed { color: #b00020; font-weight: bold; }
ol.sections { margin: .2rem 0 0; padding-left: 1.2rem; font-size: .92rem; }
"""


def write_html_index(runs: list[NotebookRun], directory: str | Path, *,
                     mode: str | None = None) -> Path:
    """Write ``index.html``: the lesson map, with each lesson's status and wall time.

    The map lists every lesson with its title and its sections, each linked to its place
    in the lesson's page (read from the pages ``export_html`` wrote into ``directory``).

    Args:
        runs: the executed lessons, in course order.
        directory: the site folder holding the lesson pages.
        mode: ``"fast"`` or ``"full"``, shown with the times when given.

    Returns:
        The path of ``index.html``.

    Raises:
        ValueError: if ``runs`` is empty or ``mode`` is neither ``"fast"`` nor ``"full"``.

    Example:
        >>> import tempfile
        >>> run = NotebookRun(Path("01_demo.ipynb"), nbformat.v4.new_notebook(), seconds=12.34)
        >>> "12.3 s" in write_html_index([run], tempfile.mkdtemp()).read_text()
        True
    """
    import html
    import platform
    from datetime import datetime, timezone

    if not runs:
        raise ValueError("`runs` must name at least one executed notebook. Received: []")
    if mode is not None:
        check.choice("mode", mode, ("fast", "full"))
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    rows = []
    for run in runs:
        name = run.path.stem
        page = directory / f"{name}.html"
        headings = _headings(page.read_text(encoding="utf-8")) if page.is_file() else []
        title = next((text for level, _, text in headings if level == 1), name)
        sections = "".join(
            f"<li><a href='{html.escape(name)}.html#{html.escape(anchor)}'>"
            f"{html.escape(text)}</a></li>"
            for level, anchor, text in headings if level == 2)
        status = "ok" if run.ok else "<span class='failed'>FAILED</span>"
        if not run.ok:
            status += "<br>" + html.escape(run.failures[0].describe())
        rows.append(
            f"<tr><td>{html.escape(name[:2])}</td><td><a href='{html.escape(name)}.html'>"
            f"<strong>{html.escape(title)}</strong></a><br><code>{html.escape(run.path.name)}"
            f"</code><ol class='sections'>{sections}</ol></td><td>{status}</td>"
            f"<td class='num'>{run.seconds:.1f} s</td></tr>")
    total = sum(run.seconds for run in runs)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    how = f"{mode} mode, " if mode else ""
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>lrcourse: the learning rate</title><style>{INDEX_STYLE}</style></head><body>"
        "<h1>lrcourse: the learning rate, in Keras and PyTorch</h1>"
        "<p>The rendered edition of the course: every lesson executed top to bottom, with its "
        "figures. To run and change the code, open the notebooks in JupyterLab "
        "(<code>make lab</code>).</p>"
        "<h2>Lesson map</h2><table><tr><th>#</th><th>lesson and its sections</th>"
        "<th>status</th><th>wall time</th></tr>"
        + "\n".join(rows)
        + f"<tr><td></td><td>all lessons</td><td></td><td class='num'>{total:.1f} s</td></tr>"
        f"</table><p>Built {when} ({how}Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU threads). Wall time is the time each lesson took to run in a "
        "fresh kernel.</p></body></html>"
    )
    target = directory / "index.html"
    target.write_text(page, encoding="utf-8")
    return target
