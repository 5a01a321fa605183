"""The rendered edition: `lrcourse run --html DIR` writes a page per lesson and an index."""

import re
import shutil
from pathlib import Path

import nbformat
import pytest
from conftest import LESSONS

from lrcourse import cli
from lrcourse.runner import CellFailure, NotebookRun, export_html, write_html_index

EMBEDDED_FIGURE = re.compile(r"<img[^>]+src=\"data:image/png;base64,")


def test_every_lesson_gets_a_page_with_its_figures_and_the_index_maps_them(
        tmp_path, monkeypatch, capsys):
    # Run on a copy: the lessons save files next to themselves, and the notebook tests
    # may be running the originals at the same time.
    (tmp_path / "notebooks").mkdir()
    for lesson in LESSONS:
        shutil.copy2(lesson, tmp_path / "notebooks" / lesson.name)
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "--fast", "--threads", "1", "--html", "site"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "rendered edition: open site/index.html in a browser" in out
    site = tmp_path / "site"
    index = (site / "index.html").read_text(encoding="utf-8")
    assert "Lesson map" in index and "fast mode" in index
    assert sorted(path.name for path in site.glob("*.html")) == sorted(
        [f"{lesson.stem}.html" for lesson in LESSONS] + ["index.html"])
    for lesson in LESSONS:
        page = (site / f"{lesson.stem}.html").read_text(encoding="utf-8")
        assert len(EMBEDDED_FIGURE.findall(page)) >= 1, f"{lesson.name}: no embedded figure"
        assert "<img src=\"http" not in page
        title = next(cell.source for cell in nbformat.read(lesson, as_version=4).cells
                     if cell.cell_type == "markdown").splitlines()[0].lstrip("# ")
        row = re.search(rf"<tr><td>{lesson.name[:2]}</td>.*?</tr>", index, re.S)
        assert row, f"{lesson.name} is missing from the lesson map"
        assert f"href='{lesson.stem}.html'" in row.group()
        assert title.split(":")[0] in row.group() and f"href='{lesson.stem}.html#" in row.group()
        assert re.search(r"<td class='num'>\d+\.\d s</td>", row.group()), row.group()
    first = (site / f"{LESSONS[0].stem}.html").read_text(encoding="utf-8")
    if LESSONS[0].name.startswith("01_"):  # the slider becomes a note and its figure
        assert "An interactive widget (lr x L = 1.5)" in first
        assert "interactive(children" not in first
        assert "widget-state+json" not in first


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
