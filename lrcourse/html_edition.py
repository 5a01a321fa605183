"""The rendered edition of the course: one static HTML page per executed lesson and an index.

``lrcourse run --html DIR`` executes the lessons (``lrcourse.runner``) and hands the runs
to this module. Pages use nbconvert's standard ``lab`` template; figures are embedded;
widgets become snapshots of what they showed; formulas are typeset by MathJax 2.7 copied
next to the pages from the ``jupyter-server-mathjax`` package, so the edition reads
offline.

Introduced in ``notebooks/01_fixed_learning_rate.ipynb``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat

from lrcourse import _validate
from lrcourse.runner import NotebookRun

MATHJAX_DIR = "mathjax"
# jupyter-server-mathjax ships MathJax 2.7 with this combined configuration and the
# STIX web fonts (not the TeX ones MathJax would ask for by default).
MATHJAX_URL = f"{MATHJAX_DIR}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
NO_REQUIRE_JS = "data:text/javascript,"
MATHJAX_FONTS = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], webFont: "STIX-Web", imageFont: null,
                                 preferredFont: null}});
</script>
"""


def copy_mathjax(directory: str | Path) -> Path:
    """Copy MathJax 2.7 from the ``jupyter-server-mathjax`` package into ``directory/mathjax``.

    A copy already there is kept (the copy is about 12 MB, made once per site).

    Args:
        directory: the site folder; created when missing.

    Returns:
        The folder holding ``MathJax.js``.

    Raises:
        ModuleNotFoundError: when ``jupyter-server-mathjax`` is not installed.

    Example:
        >>> import tempfile
        >>> (copy_mathjax(tempfile.mkdtemp()) / "MathJax.js").is_file()
        True
    """
    import jupyter_server_mathjax

    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    target = Path(directory) / MATHJAX_DIR
    if not (target / "MathJax.js").is_file():
        shutil.copytree(source, target, dirs_exist_ok=True)
    return target


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
        notebook: an executed notebook (``lrcourse.runner.execute_notebook`` stores its
            widget state).

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
    """Write the executed notebook as an HTML page, figures embedded, formulas offline.

    Images are embedded as data URIs. Widgets become static snapshots (see
    ``static_widgets``). The page loads MathJax from ``directory/mathjax`` (copied there
    by ``copy_mathjax`` when missing), never from the web.

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
    import logging

    from nbconvert import HTMLExporter

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # nbconvert warns that figures have no alternative text and then gives each a generic
    # one; we give each a plain one ourselves and keep its warning off the terminal.
    quiet = logging.getLogger("lrcourse.html")
    quiet.setLevel(logging.ERROR)
    copy_mathjax(directory)
    # The lab template always loads require.js from a CDN, for JavaScript outputs; the
    # lessons have none once their widgets are snapshots, so an empty script stands in.
    exporter = HTMLExporter(template_name="lab", embed_images=True, log=quiet,
                            mathjax_url=MATHJAX_URL, require_js_url=NO_REQUIRE_JS)
    body, _ = exporter.from_notebook_node(static_widgets(run.notebook))
    body = body.replace("<!-- Load mathjax -->", MATHJAX_FONTS + "<!-- Load mathjax -->", 1)
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
        _validate.choice("mode", mode, ("fast", "full"))
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
