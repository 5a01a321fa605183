"""Repository rules: stripped notebooks, ruff, agreeing pins, lesson conventions, import cost."""

import ast
import importlib
import inspect
import pkgutil
import subprocess
import sys

import nbformat
import pytest
import tomllib
from conftest import ALL_NOTEBOOKS, LESSONS, ROOT
from packaging.requirements import Requirement

import lrcourse


def pins_of(lines):
    requirements = map(Requirement, lines)
    return {(r.name.lower(), str(r.specifier), str(r.marker or "")) for r in requirements}


def environment_pins(text):
    """The pip requirements listed in environment.yml (a plain reader: no YAML library)."""
    lines = [line.strip()[2:] for line in text.splitlines() if line.strip().startswith("- ")]
    return [line for line in lines if "==" in line and not line.startswith(("python", "-e"))]


def test_environment_yml_and_pyproject_agree_on_every_pin():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    listed = environment_pins((ROOT / "environment.yml").read_text())
    assert pins_of(listed) == pins_of(declared)
    assert all(str(Requirement(line).specifier).startswith("==") for line in declared)


def test_pin_comparison_notices_a_disagreement():
    text = (ROOT / "environment.yml").read_text().replace("torch==2.13.0", "torch==2.12.0")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["dev"]
    assert pins_of(environment_pins(text)) != pins_of(declared)


@pytest.mark.parametrize("path", ALL_NOTEBOOKS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_notebook_is_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    dirty = [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert dirty == [], f"cells with outputs: {dirty}; run `make strip`"


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_lesson_starts_with_a_parameters_cell_reading_fast_mode(path):
    notebook = nbformat.read(path, as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", [])
    assert "LRCOURSE_FAST" in first.source


def test_ruff_is_clean_on_python_and_notebooks():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "notebooks/01_fixed_learning_rate.ipynb" not in result.stdout


def test_importing_lrcourse_pulls_in_no_framework():
    code = ("import sys, lrcourse, lrcourse.data, lrcourse.plotting, lrcourse.checks, "
            "lrcourse.cli, lrcourse.runner, lrcourse.exercises, lrcourse.schedules, "
            "lrcourse.finder, lrcourse.controllers, lrcourse.optimizers, lrcourse.distributed, "
            "lrcourse.checks.lesson08\n"
            "print(sorted(m for m in ('tensorflow', 'torch', 'keras', 'matplotlib', 'sklearn')"
            " if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"


def public_functions():
    for info in pkgutil.iter_modules(lrcourse.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"lrcourse.{info.name}")
        for name, value in vars(module).items():
            if name.startswith("_") or getattr(value, "__module__", None) != module.__name__:
                continue
            if inspect.isfunction(value):
                yield f"{module.__name__}.{name}", value
            elif inspect.isclass(value):
                for attribute, member in vars(value).items():
                    if inspect.isfunction(member) and not attribute.startswith("_"):
                        yield f"{module.__name__}.{name}.{attribute}", member


def test_every_public_function_has_a_docstring_and_module_functions_an_example():
    missing_doc, missing_example = [], []
    for name, function in public_functions():
        doc = inspect.getdoc(function) or ""
        if not doc:
            missing_doc.append(name)
        elif name.count(".") == 2 and ">>>" not in doc:
            missing_example.append(name)
    assert missing_doc == [] and missing_example == []


def test_no_library_module_swallows_errors_silently():
    for path in (ROOT / "lrcourse").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ExceptHandler):
                body = node.body
                assert not (len(body) == 1 and isinstance(body[0], ast.Pass)), \
                    f"{path.name}:{node.lineno} swallows an exception"


def top_level_names_defined_twice(source: str) -> list[str]:
    """Functions and classes a module defines more than once at its top level."""
    names = [node.name for node in ast.parse(source).body
             if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    return sorted({name for name in names if names.count(name) > 1})


def test_no_module_defines_a_function_twice():
    # The later definition silently replaces the earlier one for every caller, and ruff's
    # F811 stays quiet when the first one is used inside a function body.
    assert top_level_names_defined_twice("def f(): pass\ndef g(): f()\ndef f(): pass") == ["f"]
    for path in sorted((ROOT / "lrcourse").glob("*.py")) + sorted((ROOT / "tests").glob("*.py")):
        assert top_level_names_defined_twice(path.read_text()) == [], path.name
