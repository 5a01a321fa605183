"""``lrcourse doctor`` with each framework missing or broken: a table and a fix, no traceback."""

import importlib.metadata
import sys

import pytest

from lrcourse import cli

FRAMEWORKS = {"tensorflow": ("TensorFlow", "tensorflow"), "keras": ("Keras", "keras"),
              "torch": ("PyTorch", "torch")}  # module -> (label, distribution)


class RefuseImport:
    """A meta-path finder that makes ``import <name>`` raise ``error``, as a broken install does."""

    def __init__(self, name, error):
        self.name, self.error = name, error

    def find_spec(self, fullname, path, target=None):
        if fullname == self.name:
            raise self.error
        return None


def break_import(monkeypatch, module, error):
    monkeypatch.delitem(sys.modules, module, raising=False)  # restored after the test
    monkeypatch.setattr(sys, "meta_path", [RefuseImport(module, error), *sys.meta_path])


def doctor(capsys):
    code = cli.main(["doctor"])
    return code, capsys.readouterr().out


def problems(out):
    """The rows marked BAD, after checking that the count at the end agrees with them."""
    bad = [line[5:].split("  ")[0] for line in out.splitlines() if line.startswith("BAD")]
    assert out.rstrip().endswith(f"{len(bad)} problem(s)")
    return set(bad)


def allowed(module, *rows):
    """``rows``, plus the import of the other of TensorFlow and Keras, which import each other."""
    partner = {"tensorflow": "import keras", "keras": "import tensorflow"}.get(module)
    return {*rows, partner} - {None}


@pytest.mark.parametrize("module", FRAMEWORKS)
def test_doctor_reports_a_framework_that_is_not_installed(module, capsys, monkeypatch):
    label, dist = FRAMEWORKS[module]
    real_version = importlib.metadata.version

    def fake_version(name):
        if name == dist or (module == "tensorflow" and name.startswith("tensorflow")):
            raise importlib.metadata.PackageNotFoundError(name)
        return real_version(name)

    monkeypatch.setattr(importlib.metadata, "version", fake_version)
    break_import(monkeypatch, module, ModuleNotFoundError(f"No module named '{module}'"))
    code, out = doctor(capsys)
    assert code == 1
    assert f"BAD  {label}" in out and "missing (course pins" in out
    assert f"BAD  import {module}" in out
    assert f"failed: ModuleNotFoundError: No module named '{module}'" in out
    assert f"fix import {module}: make setup" in out
    failing = {label, f"import {module}"}
    assert failing <= problems(out) <= allowed(module, *failing)
    assert "ok   offline data" in out  # the table goes on to the end
    threads = next(line for line in out.splitlines() if "CPU threads" in line)
    if module == "torch":
        assert "torch threads unknown (torch does not import)" in threads
    else:
        assert "torch uses" in threads


@pytest.mark.parametrize("module", FRAMEWORKS)
def test_doctor_reports_a_framework_whose_import_raises(module, capsys, monkeypatch):
    label, _ = FRAMEWORKS[module]
    break_import(monkeypatch, module, OSError("libfoo.so: cannot open shared object file"))
    code, out = doctor(capsys)
    assert code == 1
    assert f"ok   {label}" in out  # the version is right; only the import fails
    assert (f"BAD  import {module}"
            in out) and "failed: OSError: libfoo.so: cannot open shared object file" in out
    assert f"fix import {module}: make setup" in out
    assert {f"import {module}"} <= problems(out) <= allowed(module, f"import {module}")
    assert "ok   offline data" in out
    expected = ("torch threads unknown" if module == "torch" else "torch uses")
    assert expected in next(line for line in out.splitlines() if "CPU threads" in line)


def test_doctor_lists_every_framework_import_when_all_is_well(capsys):
    code, out = doctor(capsys)
    assert code == 0, out
    for module in FRAMEWORKS:
        assert f"ok   import {module}" in out
