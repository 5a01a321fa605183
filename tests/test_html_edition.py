"""The rendered edition: a page per lesson, an index, and formulas that typeset offline.

Each lesson's page is built from nbval's execution of that lesson in the same pytest run
(conftest.py keeps it; the test runs right after the lesson's last cell, on the same
worker), so the HTML edition costs no extra execution. Run alone, the test executes the
lesson itself.
"""

import os
import re
from pathlib import Path

import nbformat
import pytest
from conftest import LESSONS, guarded_env
from labserver import CHROMIUM, CHROMIUM_ARGS

from lrcourse.html_edition import MATHJAX_DIR, copy_mathjax, export_html, write_html_index
from lrcourse.runner import CellFailure, NotebookRun, execute_notebook

EMBEDDED_FIGURE = re.compile(r"<img[^>]+src=\"data:image/png;base64,")


def executed(lesson: Path, nbval_runs: dict, network_log: Path) -> NotebookRun:
    """nbval's run of ``lesson`` in this session, or a fresh fast run of it when there is none."""
    run = nbval_runs.get(lesson.resolve())
    if run is None:
        run = execute_notebook(lesson, fast=True, threads=1, timeout=600,
                               env=guarded_env(network_log))
        assert network_log.read_text() == "", "the lesson tried to reach the network"
    return run


@pytest.mark.notebook
@pytest.mark.parametrize("lesson", [pytest.param(lesson, marks=pytest.mark.nbval_run(lesson))
                                    for lesson in LESSONS], ids=lambda p: p.stem)
def test_every_lesson_gets_a_page_with_its_figures_and_the_index_maps_it(
        lesson, nbval_runs, network_log, tmp_path):
    run = executed(lesson, nbval_runs, network_log)
    assert run.ok, [failure.describe() for failure in run.failures]
    site = tmp_path / "site"
    export_html(run, site)
    index = write_html_index([run], site, mode="fast").read_text(encoding="utf-8")
    assert "Lesson map" in index and "fast mode" in index
    assert sorted(path.name for path in site.glob("*.html")) == [f"{lesson.stem}.html",
                                                                 "index.html"]
    page = (site / f"{lesson.stem}.html").read_text(encoding="utf-8")
    assert len(EMBEDDED_FIGURE.findall(page)) >= 1, f"{lesson.name}: no embedded figure"
    assert "<img src=\"http" not in page
    assert f'src="{MATHJAX_DIR}/MathJax.js' in page
    assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?://', page) == []
    assert (site / MATHJAX_DIR / "MathJax.js").is_file()
    title = next(cell.source for cell in nbformat.read(lesson, as_version=4).cells
                 if cell.cell_type == "markdown").splitlines()[0].lstrip("# ")
    row = re.search(rf"<tr><td>{lesson.name[:2]}</td>.*?</tr>", index, re.S)
    assert row, f"{lesson.name} is missing from the lesson map"
    assert f"href='{lesson.stem}.html'" in row.group()
    assert title.split(":")[0] in row.group() and f"href='{lesson.stem}.html#" in row.group()
    assert re.search(r"<td class='num'>\d+\.\d s</td>", row.group()), row.group()
    if lesson.name.startswith("01_"):  # the slider becomes a note and its figure
        assert "An interactive widget (lr x L = 1.5)" in page
        assert "interactive(children" not in page
        assert "widget-state+json" not in page


def test_the_index_names_a_failing_lesson_and_links_each_section(tmp_path):
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Lesson 09: a test page\n\nIntro."),
        nbformat.v4.new_markdown_cell("## 1. First `part`"),
        nbformat.v4.new_markdown_cell("## 2. Second & last"),
    ])
    good = NotebookRun(Path("09_test.ipynb"), notebook, seconds=3.25)
    bad = NotebookRun(Path("10_broken.ipynb"), nbformat.v4.new_notebook(), seconds=1.0,
                      failures=[CellFailure(4, "error", "ValueError: no", "f(x)")])
    for run in (good, bad):
        export_html(run, tmp_path)
    index = write_html_index([good, bad], tmp_path, mode="full").read_text()
    assert "<strong>Lesson 09: a test page</strong>" in index
    assert "href='09_test.html#1.-First-part'>1. First part</a>" in index
    assert "2. Second &amp; last</a>" in index
    assert "3.2 s" in index and "4.2 s" in index and "full mode" in index
    assert "FAILED</span><br>cell 4 (f(x)): ValueError: no" in index
    assert "<p><a href='index.html'>" in (tmp_path / "09_test.html").read_text()


def test_a_lesson_page_embeds_its_figures_with_alternative_text(tmp_path):
    pixel = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kg"
             "AAAABJRU5ErkJggg==")
    cell = nbformat.v4.new_code_cell("plot()", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": pixel, "text/plain": "<Figure>"})])
    run = NotebookRun(Path("09_test.ipynb"), nbformat.v4.new_notebook(cells=[cell]), 1.0)
    page = export_html(run, tmp_path).read_text()
    assert len(EMBEDDED_FIGURE.findall(page)) == 1
    assert 'alt="A figure drawn by the code cell above"' in page


def test_an_empty_index_is_refused(tmp_path):
    with pytest.raises(ValueError, match="at least one"):
        write_html_index([], tmp_path)


def test_an_unknown_mode_is_refused_before_the_index_is_written(tmp_path):
    run = NotebookRun(Path("09_test.ipynb"), nbformat.v4.new_notebook(), seconds=1.0)
    with pytest.raises(ValueError, match="`mode` must be one of 'fast', 'full'"):
        write_html_index([run], tmp_path, mode="quick")
    assert not (tmp_path / "index.html").exists()


def test_copy_mathjax_ships_mathjax_2_7_and_keeps_a_copy_already_there(tmp_path):
    folder = copy_mathjax(tmp_path)
    assert 'MathJax.version="2.7' in (folder / "MathJax.js").read_text(encoding="utf-8")
    (folder / "MathJax.js").write_text("kept")
    copy_mathjax(tmp_path)
    assert (folder / "MathJax.js").read_text() == "kept"


FORMULAS = ("# Lesson 09: formulas\n\nThe update $w \\leftarrow w - \\eta\\,\\nabla L(w)$ "
            "converges when $0 < \\eta < 2/L$:\n\n$$\\lim_{t \\to \\infty} w_t = w^*.$$")


@pytest.mark.notebook
def test_formulas_typeset_in_chromium_with_the_network_blocked(tmp_path):
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        (pytest.fail if in_ci else pytest.skip)("Playwright is not installed: `make setup`")
    if not CHROMIUM.is_file():
        (pytest.fail if in_ci else pytest.skip)(
            f"no Chromium at {CHROMIUM} (Debian/Ubuntu: sudo apt-get install chromium)")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(FORMULAS)])
    page_path = export_html(NotebookRun(Path("09_formulas.ipynb"), notebook, 1.0), tmp_path)
    refused = []

    def only_files(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_files)
            page.goto(page_path.as_uri())
            page.wait_for_function(
                "() => window.MathJax && MathJax.Hub && !MathJax.Hub.queue.running"
                " && MathJax.Hub.queue.pending === 0"
                " && document.querySelectorAll('.MathJax, .MathJax_Display').length >= 3",
                timeout=60_000, polling=200)
            text = page.inner_text("main")
            typeset = page.eval_on_selector_all(".MathJax, .MathJax_Display",
                                                "nodes => nodes.length")
            page.screenshot(path=str(tmp_path / "formulas.png"))
        finally:
            browser.close()
    assert "$" not in text, text
    assert "Lesson 09: formulas" in text and "converges when" in text
    assert typeset >= 3
    assert refused == [], f"the page asked the network for {refused}"
