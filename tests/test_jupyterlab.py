"""The course in JupyterLab, as a learner meets it: `make lab`, then Run All in a real browser.

One JupyterLab server, started with the exact command `make -n lab` prints (see
tests/labserver.py), serves a temporary copy of the lessons in fast mode. Its REST API must
list the course kernel, and a cell run through that kernel must import lrcourse, TensorFlow
and PyTorch. Then Debian's Chromium, driven by Playwright, opens every lesson found by
`notebooks/NN_*.ipynb`, chooses Run > Run All Cells, waits for an idle kernel and reads the
outputs from the notebook model. A full-page screenshot per lesson goes to build/screenshots/.

Without Chromium the browser tests skip outside CI and fail in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
from conftest import LESSONS, ROOT
from labserver import CHROMIUM, CHROMIUM_ARGS, IMPORT_CELL, course_copy, make_dry_run, start_lab

from lrcourse.runner import RAISES_TAG, kernel_env

pytestmark = [pytest.mark.xdist_group("jupyterlab"), pytest.mark.notebook]

SCREENSHOTS = ROOT / "build" / "screenshots"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
TALLEST_SCREENSHOT = 32_000  # pixels; taller notebooks are cut at the bottom
LESSON_TIMEOUT_S = 600

# True once the notebook panel, its document and a connected, idle kernel are there.
NOTEBOOK_READY = """() => {
  const app = window.jupyterapp;
  const panel = app && app.shell.currentWidget;
  if (!panel || !panel.sessionContext || !panel.content || !panel.context.isReady) return false;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

# True once Run All has finished: the kernel is idle and every code cell has run, except
# the cells after a failing one (JupyterLab stops there, as a learner would see).
RUN_ALL_DONE = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const kernel = panel.sessionContext.session.kernel;
  if (kernel.status !== 'idle' || kernel.connectionStatus !== 'connected') return false;
  let stopped = false;
  for (const cell of Array.from(panel.content.model.cells)) {
    if (cell.type !== 'code') continue;
    if (cell.executionState === 'running') return false;
    if (cell.executionCount === null && !stopped) return false;
    const tags = cell.getMetadata('tags') || [];
    const outputs = cell.outputs.toJSON();
    if (!tags.includes('raises-exception') && outputs.some(o => o.output_type === 'error')) {
      stopped = true;
    }
  }
  return true;
}"""

# The height of the whole notebook once every cell is laid out, and where it starts.
NOTEBOOK_EXTENT = """() => {
  const panel = window.jupyterapp.shell.currentWidget;
  const scroller = panel.node.querySelector('.jp-WindowedPanel-outer');
  scroller.scrollTop = 0;
  const cells = panel.content.widgets;
  const last = cells[cells.length - 1].node.getBoundingClientRect();
  const box = scroller.getBoundingClientRect();
  return {top: box.top, height: last.bottom - box.top + scroller.scrollTop};
}"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_make() -> None:
    """`make` reads the Makefile for us; without it skip (fail in CI, where .ci/run installs it)."""
    if shutil.which("make") is None:
        (pytest.fail if in_ci() else pytest.skip)(
            "`make` is not installed (Debian/Ubuntu: sudo apt-get install make)")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab started as `make lab` starts it, on a temporary copy, in fast mode."""
    if not LESSONS:
        pytest.fail("no lessons found in notebooks/")
    need_make()
    server = start_lab(tmp_path_factory.mktemp("lab"),
                       env=kernel_env(fast=True, threads=1))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    how = ("install Debian's Chromium with `sudo apt-get install chromium` (it lands at "
           "/usr/bin/chromium; LRCOURSE_CHROMIUM=/path/to/chromium picks another), and the "
           "dev extra for Playwright: `make setup`")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        (pytest.fail if in_ci() else pytest.skip)(f"Playwright is not installed: {how}")
    if not CHROMIUM.is_file():
        (pytest.fail if in_ci() else pytest.skip)(f"no Chromium at {CHROMIUM}: {how}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def record_timing(lesson: str, row: dict) -> None:
    """Add one lesson's seconds to build/screenshots/timings.json (other rows are kept)."""
    path = SCREENSHOTS / "timings.json"
    rows = json.loads(path.read_text()) if path.is_file() else {}
    rows[lesson] = row
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(sorted(rows.items())), indent=2) + "\n")


# --- `make lab` ---------------------------------------------------------------------------


def test_second_make_lab_reinstalls_nothing_but_a_changed_pyproject_does(tmp_path):
    need_make()
    # `make -n` prints what `make lab` would run without running it. After a first
    # `make lab` the stamp .venv/.installed is newer than pyproject.toml: only jupyter starts.
    fresh_course = course_copy(tmp_path / "fresh")
    fresh = make_dry_run(fresh_course)
    assert len(fresh) == 1 and ".venv/bin/jupyter lab " in fresh[0], fresh
    assert "pip install" not in fresh[0]
    # Once pyproject.toml changes (newer than the stamp), the same command reinstalls first.
    stale_course = course_copy(tmp_path / "stale", stamp_fresh=False)
    stale = make_dry_run(stale_course)
    assert any("pip install" in line for line in stale[:-1]), stale
    assert stale[-1].replace(str(stale_course), "COURSE") == \
        fresh[0].replace(str(fresh_course), "COURSE")


def test_make_lab_serves_the_course_with_the_course_kernel(lab):
    assert "JUPYTER_CONFIG_DIR=" in lab.command and "/.venv/jupyter/config" in lab.command
    if os.geteuid() == 0:
        assert "--allow-root" in lab.command
    default_url = next(word for word in lab.command.split()
                       if word.startswith("--LabApp.default_url="))
    lesson = default_url.split("/lab/tree/", 1)[1]
    assert lab.api("GET", f"/api/contents/{lesson}?content=0")["type"] == "notebook"
    specs = lab.api("GET", "/api/kernelspecs")
    assert specs["default"] == "python3"
    assert specs["kernelspecs"]["python3"]["spec"]["language"] == "python"
    print(f"JupyterLab answered {lab.startup_seconds:.1f} s after `make lab`'s command started")


def test_a_new_notebook_kernel_imports_lrcourse_tensorflow_and_torch(lab):
    import importlib.metadata

    result = lab.run_cell(IMPORT_CELL)
    assert result["status"] == "ok", result
    executable, package, versions = result["stdout"].splitlines()
    assert Path(executable).resolve() == Path(sys.executable).resolve()
    assert Path(package).resolve() == ROOT / "lrcourse" / "__init__.py"
    try:
        tensorflow = importlib.metadata.version("tensorflow-cpu")
    except importlib.metadata.PackageNotFoundError:
        tensorflow = importlib.metadata.version("tensorflow")
    keras, torch = (importlib.metadata.version(name) for name in ("keras", "torch"))
    assert versions.split() == [tensorflow, keras, torch]


def test_a_failing_cell_is_reported_by_the_kernel_check(lab):
    result = lab.run_cell("import lrcourse_does_not_exist")
    assert result["status"] == "error" and "ModuleNotFoundError" in result["error"]


# --- every lesson in a real browser --------------------------------------------------------


def problems_in(notebook: dict) -> list[str]:
    """What is wrong with a notebook model after Run All: errors, unrun cells, silent raises."""
    problems = []
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        tagged = RAISES_TAG in cell["metadata"].get("tags", [])
        first_line = next((line for line in "".join(cell["source"]).splitlines() if line), "")
        if errors and not tagged:
            problems.append(f"cell {index} ({first_line[:60]}): "
                            f"{errors[0]['ename']}: {errors[0]['evalue'][:200]}")
        elif tagged and not errors:
            problems.append(f"cell {index} is tagged {RAISES_TAG} but raised nothing")
        elif cell.get("execution_count") is None:
            problems.append(f"cell {index} ({first_line[:60]}) never ran")
    return problems


def test_problems_in_names_errors_silent_raises_and_unrun_cells():
    def code(outputs, tags=(), count=1):
        return {"cell_type": "code", "source": "x = 1", "metadata": {"tags": list(tags)},
                "outputs": outputs, "execution_count": count}

    error = {"output_type": "error", "ename": "ValueError", "evalue": "bad"}
    notebook = {"cells": [code([]), code([error]), code([error], [RAISES_TAG]),
                          code([], [RAISES_TAG]), code([], count=None)]}
    assert problems_in(notebook) == [
        "cell 1 (x = 1): ValueError: bad",
        f"cell 3 is tagged {RAISES_TAG} but raised nothing",
        "cell 4 (x = 1) never ran",
    ]


def run_all_from_the_menu(page) -> None:
    """Run > Run All Cells, clicked as a learner clicks it."""
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    item = page.locator(".lm-Menu-item:visible", has_text="Run All Cells").first
    item.wait_for(state="visible", timeout=10_000)
    item.click()


def full_notebook_screenshot(page, path: Path) -> None:
    """Widen the notebook, grow the window to the notebook's height, and take the picture."""
    page.evaluate("() => { window.jupyterapp.shell.collapseLeft(); "
                  "window.jupyterapp.shell.collapseRight(); }")
    height = 900
    for _ in range(4):  # the layout settles after each resize; grow until all of it fits
        page.wait_for_timeout(500)
        extent = page.evaluate(NOTEBOOK_EXTENT)
        needed = min(int(extent["top"] + extent["height"] + 60), TALLEST_SCREENSHOT)
        if needed <= height:
            break
        height = needed
        page.set_viewport_size({"width": 1280, "height": height})
    page.evaluate(NOTEBOOK_EXTENT)  # back to the top
    page.wait_for_timeout(300)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))


def check_widgets_are_live(page, notebook: dict, shots: Path) -> int:
    """Every slider in the outputs renders as a widget and moving it changes the figure.

    Returns the number of sliders moved.
    """
    moved = 0
    for index, cell in enumerate(notebook["cells"]):
        views = [o for o in cell.get("outputs", []) if WIDGET_MIME in o.get("data", {})]
        if not views:
            continue
        node = page.locator(".jp-Notebook .jp-Cell").nth(index)
        outputs = node.locator(".jp-Cell-outputArea")
        fallback = views[0]["data"].get("text/plain", "")
        assert fallback and fallback.split("(")[0] not in outputs.inner_text(), \
            f"cell {index} shows its widget's text fallback {fallback[:40]!r}, not the widget"
        sliders = outputs.locator(".widget-slider")
        if sliders.count() == 0:
            continue
        readout = outputs.locator(".widget-readout").first
        image = outputs.locator("img").first
        before = readout.inner_text(), image.get_attribute("src")
        outputs.locator(".noUi-handle").first.focus()
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.wait_for_function(
            "([node, src]) => { const img = node.querySelector('.jp-Cell-outputArea img');"
            " return img && img.getAttribute('src') !== src; }",
            arg=[node.element_handle(), before[1]], timeout=30_000)
        after = settled(page, readout, image)
        assert float(after[0]) > float(before[0]), (before[0], after[0])
        assert after[1] != before[1]
        node.screenshot(path=str(shots.with_name(f"{shots.stem}_cell{index}_slider_moved.png")))
        moved += 1
    return moved


def settled(page, readout, image, *, quiet_s: float = 1.0, timeout_s: float = 30.0) -> tuple:
    """The readout and figure once the kernel is idle and the figure has stopped changing.

    Each key press is its own kernel request, so the first new figure may belong to the
    first press; wait for the last one before comparing or taking the screenshot.
    """
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        page.wait_for_function(NOTEBOOK_READY, timeout=30_000, polling=100)
        current = readout.inner_text(), image.get_attribute("src")
        if current == last:
            return current
        last = current
        time.sleep(quiet_s)
    raise AssertionError(f"the slider's output kept changing for {timeout_s} s")


def test_make_lab_opens_on_lesson_01_with_a_live_course_kernel(lab, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(lab.page_url("/"))  # the address `make lab` prints, without the path
        page.wait_for_function(NOTEBOOK_READY, timeout=120_000, polling=250)
        opened = page.evaluate("""() => {
          const panel = window.jupyterapp.shell.currentWidget;
          return [panel.context.path, panel.sessionContext.session.kernel.name]; }""")
        assert opened == ["notebooks/01_fixed_learning_rate.ipynb", "python3"]
        assert "/lab/tree/notebooks/01_fixed_learning_rate.ipynb" in page.url
    finally:
        page.close()
        lab.shutdown_sessions()


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda path: path.stem)
def test_lesson_runs_all_cells_in_jupyterlab(lab, browser, lesson):
    served = lab.course / "notebooks" / lesson.name
    on_disk = served.read_bytes()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    browser_errors = []
    page.on("pageerror", lambda error: browser_errors.append(str(error)))
    try:
        start = time.monotonic()
        page.goto(lab.page_url(f"/lab/tree/notebooks/{lesson.name}?reset"))
        page.wait_for_function(NOTEBOOK_READY, timeout=120_000, polling=250)
        opened = time.monotonic()
        title = page.evaluate("() => window.jupyterapp.shell.currentWidget.title.label")
        assert title == lesson.name
        run_all_from_the_menu(page)
        page.wait_for_timeout(500)
        page.wait_for_function(RUN_ALL_DONE, timeout=LESSON_TIMEOUT_S * 1000, polling=500)
        finished = time.monotonic()
        notebook = page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.model.toJSON()")
        shot = SCREENSHOTS / f"{lesson.stem}.png"
        full_notebook_screenshot(page, shot)
        assert problems_in(notebook) == []
        sliders = check_widgets_are_live(page, notebook, shot)
        if lesson.name.startswith("01_"):
            assert sliders >= 1, "lesson 01's learning-rate slider did not render as a widget"
        record_timing(lesson.stem, {"open_s": round(opened - start, 1),
                                    "run_all_s": round(finished - opened, 1),
                                    "total_s": round(time.monotonic() - start, 1),
                                    "sliders_moved": sliders})
        print(f"{lesson.name}: opened in {opened - start:.1f} s, Run All took "
              f"{finished - opened:.1f} s; screenshot {shot}")
    finally:
        page.close()
        lab.shutdown_sessions()
    assert served.read_bytes() == on_disk, "the run wrote back to the served notebook"
    assert browser_errors == [], browser_errors
