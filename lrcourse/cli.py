"""The ``lrcourse`` command: ``doctor``, ``run``, ``check``, ``grade`` and ``exercises``.

Run ``lrcourse --help`` or ``lrcourse COMMAND --help``. Introduced in ``README.md``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from pathlib import Path

from lrcourse import checks

FIX = "make setup   (conda: pip install -e '.[dev]')"


# --- doctor ------------------------------------------------------------------------------


def _pins() -> dict[str, object]:
    """The exact pins lrcourse declares for this platform, by normalised distribution name."""
    from importlib.metadata import requires

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins = {}
    for line in requires("lrcourse") or []:
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
            pins[canonicalize_name(requirement.name)] = requirement.specifier
    return pins


def _doctor_rows() -> list[tuple[str, str, str | None]]:
    """(what, what was found, the fix when it is a problem, else None)."""
    from importlib.metadata import PackageNotFoundError, metadata, version

    from packaging.specifiers import SpecifierSet

    rows: list[tuple[str, str, str | None]] = []
    wanted = SpecifierSet(metadata("lrcourse")["Requires-Python"])
    found = platform.python_version()
    rows.append(("Python", found, None if wanted.contains(found)
                 else f"use a Python matching {wanted}, then {FIX}"))
    pins = _pins()
    tensorflow_dist = "tensorflow-cpu" if "tensorflow-cpu" in pins else "tensorflow"
    for label, dist in (("NumPy", "numpy"), ("TensorFlow", tensorflow_dist), ("Keras", "keras"),
                        ("PyTorch", "torch"), ("JupyterLab", "jupyterlab")):
        spec = pins[dist]
        try:
            installed = version(dist)
        except PackageNotFoundError:
            rows.append((label, f"missing (course pins {dist}{spec})", FIX))
            continue
        ok = spec.contains(installed, prereleases=True)
        rows.append((label, f"{installed} (pin {spec})", None if ok else FIX))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TensorFlow's C++ logs out
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    imported = {}
    for label, module in (("import tensorflow", "tensorflow"), ("import keras", "keras"),
                          ("import torch", "torch")):
        try:
            imported[module] = importlib.import_module(module)
            rows.append((label, "ok", None))
        except Exception as error:  # report any import failure as a problem with its fix
            rows.append((label, f"failed: {type(error).__name__}: {error}"[:120], FIX))
    cpus = os.cpu_count() or 0
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cpus
    torch = imported.get("torch")
    torch_threads = (f"torch uses {torch.get_num_threads()}" if torch is not None
                     else "torch threads unknown (torch does not import)")
    rows.append(("CPU threads", f"{usable} usable of {cpus}; {torch_threads}", None))
    try:
        from lrcourse.data import load_digits_split

        split = load_digits_split()
        rows.append(("offline data", f"digits: {len(split.x_train)} train, "
                     f"{len(split.x_test)} test", None))
    except Exception as error:  # report any failure to load the bundled data
        rows.append(("offline data", f"failed: {type(error).__name__}: {error}",
                     f"reinstall scikit-learn: {FIX}"))
    return rows


def _doctor(args: argparse.Namespace) -> int:
    """Print the environment against the pins; exit 1 with one fix per problem."""
    rows = _doctor_rows()
    width = max(len(what) for what, _, _ in rows)
    for what, found, fix in rows:
        print(f"{'ok ' if fix is None else 'BAD'}  {what:<{width}}  {found}")
    problems = [(what, fix) for what, _, fix in rows if fix is not None]
    for what, fix in problems:
        print(f"fix {what}: {fix}")
    print("all good" if not problems else f"{len(problems)} problem(s)")
    return 1 if problems else 0


# --- run ---------------------------------------------------------------------------------


def _lesson_paths(paths: list[str]) -> list[Path]:
    if paths:
        resolved = [Path(p) for p in paths]
        missing = [str(p) for p in resolved if not p.is_file()]
        if missing:
            raise SystemExit(f"lrcourse run: no such notebook: {', '.join(missing)}")
        return resolved
    lessons = sorted(Path("notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not lessons:
        raise SystemExit("lrcourse run: no lessons found in ./notebooks; run it from the "
                         "course folder or name the notebooks")
    return lessons


def _build_path(path: Path, build_dir: Path) -> Path:
    try:
        return build_dir / path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return build_dir / path.name


def _run(args: argparse.Namespace) -> int:
    """Execute notebooks, print a table of wall times and name every failing cell."""
    import nbformat
    from tqdm import tqdm

    from lrcourse.runner import execute_notebook, fast_parameters, parse_parameters

    paths = _lesson_paths(args.paths)
    chosen = {}  # every notebook's parameters, checked before anything runs
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        try:
            chosen[path] = {**(fast_parameters(notebook) if args.fast else {}),
                            **parse_parameters(notebook, args.parameters or [])}
        except (TypeError, ValueError) as error:
            raise SystemExit(f"lrcourse run: {path}: {error}") from None
    if args.html:
        from lrcourse.html_edition import export_html, write_html_index
    runs = []
    progress = tqdm(paths, desc="notebooks", unit="nb", file=sys.stderr)
    for path in progress:
        progress.set_postfix_str(path.name)
        result = execute_notebook(
            path, timeout=args.timeout, threads=args.threads, parameters=chosen[path],
            output_path=_build_path(path, Path(args.build_dir)),
        )
        runs.append(result)
        if args.html:
            export_html(result, args.html)
    progress.close()
    index = None
    if args.html:
        index = write_html_index(runs, args.html, mode="fast" if args.fast else "full")
    width = max(len(str(r.path)) for r in runs)
    print(f"{'notebook':<{width}}  status  wall s  peak MB")
    for r in runs:
        peak = f"{r.peak_rss_mb:7.0f}" if r.peak_rss_mb is not None else "      ?"
        print(f"{str(r.path):<{width}}  {'ok    ' if r.ok else 'FAILED'}  {r.seconds:6.1f}  {peak}")
    failed = [r for r in runs if not r.ok]
    for r in failed:
        for failure in r.failures:
            print(f"FAILED {r.path}: {failure.describe()}")
    print(f"{len(runs) - len(failed)} passed, {len(failed)} failed"
          f" ({'fast' if args.fast else 'full'} mode; executed copies in {args.build_dir}/)")
    if index is not None:
        print(f"rendered edition: open {index} in a browser")
    return 1 if failed else 0


# --- check and grade ----------------------------------------------------------------------


def _print_results(results, indent: str = "  ") -> None:
    width = max(len(r.question) for r in results)
    for r in results:
        line = f"{indent}{r.question:<{width}}  {r.status.value:<7}"
        if r.message:
            line += f"  {r.message}"
        if not r.passed and r.hint:
            line += f"\n{indent}{'':<{width}}  {'':<7}  hint: {r.hint}"
        print(line)


def _lesson_arg(text: str) -> str:
    if not checks.questions_for_lesson(text):
        raise argparse.ArgumentTypeError(
            f"expected a lesson with exercises such as 01, received {text!r}")
    return text


def _check(args: argparse.Namespace) -> int:
    """Grade one exercise notebook as ``grade`` would; print PASS / NOT YET / WRONG."""
    from lrcourse.checks import grading

    path = Path(args.path)
    if not path.is_file() or path.suffix != ".ipynb":
        print(f"lrcourse check: expected an existing .ipynb file, received {path}")
        return 2
    print(f"Checking {path} (time limit {args.timeout:g} s; {grading.isolation()}) ...")
    result = grading.grade_notebook(path, lesson=args.lesson, timeout=args.timeout,
                                    fast=args.fast)
    if result.problem:
        print(f"  cannot grade: {result.problem}")
    if result.failure is not None:
        kind = "timed out" if result.failure.kind == "timeout" else "problem"
        print(f"  {kind}: {result.failure.describe()}")
    for note in result.notes:
        print(f"  note: {note}")
    if result.results:
        _print_results(result.results)
    print(f"{result.passed} of {len(result.results)} questions pass.")
    if not result.graded and not result.results:
        return 2
    return 0 if result.all_passed else 1


def _grade(args: argparse.Namespace) -> int:
    """Grade many submissions in parallel; a table, a CSV, and an exit code (see README)."""
    from tqdm import tqdm

    from lrcourse.checks import grading

    paths, labels = grading.collect(args.submissions)
    if not paths:
        print("lrcourse grade: no .ipynb submissions found in "
              f"{', '.join(args.submissions)}")
        return 2
    print(f"Grading {len(paths)} submission(s) of lesson {args.lesson or '(from names)'}, "
          f"{args.jobs} at a time; course notebooks from {grading.course_dir()}; "
          f"{grading.isolation()}", file=sys.stderr)
    bar = tqdm(total=len(paths), desc="grading", unit="nb", file=sys.stderr)
    grades = grading.grade_many(paths, lesson=args.lesson, jobs=args.jobs,
                                timeout=args.timeout, fast=args.fast, labels=labels,
                                progress=lambda grade: bar.update(1))
    bar.close()
    width = max(len(g.submission) for g in grades)
    print(f"{'submission':<{width}}  lesson  score  problem")
    for g in grades:
        print(f"{g.submission:<{width}}  {g.lesson or '?':<6}  "
              f"{g.passed:>2}/{len(g.results):<2}  {g.problem}")
    changed = [g for g in grades if "PACKAGE CHANGED" in g.problem]
    if changed:
        print(f"WARNING: the installed lrcourse package changed while grading "
              f"{', '.join(g.submission for g in changed)}")
    if args.csv:
        print(f"wrote {grading.write_csv(grades, args.csv)}")
    if args.executed:
        import nbformat

        folder = Path(args.executed)
        folder.mkdir(parents=True, exist_ok=True)
        for number, g in enumerate(grades, start=1):
            if g.executed is not None:
                nbformat.write(g.executed, folder / f"{number:03d}_{Path(g.submission).name}")
        print(f"executed copies in {folder}/")
    ungraded = sum(not g.graded for g in grades)
    passed = sum(g.all_passed for g in grades)
    print(f"{passed} of {len(grades)} submissions pass every question; "
          f"{ungraded} could not be graded.")
    if ungraded:
        return 2
    return 0 if passed == len(grades) else 1


# --- exercises ---------------------------------------------------------------------------


def _exercises(args: argparse.Namespace) -> int:
    """``build`` writes exercises/ from solutions/; ``verify`` exits 1 when it is stale."""
    from lrcourse import exercises as generator

    try:
        if args.action == "build":
            for path in generator.build(args.root):
                print(f"wrote {path}")
            return 0
        problems = generator.stale(args.root)
    except ValueError as error:
        print(f"lrcourse exercises {args.action}: {error}")
        return 1
    for problem in problems:
        print(problem)
    if problems:
        print("exercises/ is out of date: run `lrcourse exercises build`")
        return 1
    print("exercises/ is up to date with solutions/")
    return 0


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, received {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, received {text!r}")
    return value


def _positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, received {text!r}")
    return int(text)


def parser() -> argparse.ArgumentParser:
    """The argument parser of the ``lrcourse`` command.

    >>> parser().parse_args(["run", "notebooks/01_fixed_learning_rate.ipynb", "--fast"]).fast
    True
    >>> parser().parse_args(["run", "x.ipynb", "-p", "EPOCHS", "5"]).parameters
    [['EPOCHS', '5']]
    """
    main_parser = argparse.ArgumentParser(
        prog="lrcourse", description="Run, check and maintain the lrcourse notebooks.")
    commands = main_parser.add_subparsers(dest="command", required=True)

    commands.add_parser("doctor", help="check versions, threads and offline data"
                        ).set_defaults(func=_doctor)

    run_parser = commands.add_parser("run", help="execute notebooks headless")
    run_parser.add_argument("paths", nargs="*", metavar="PATH",
                            help="notebooks to run (default: every lesson in notebooks/)")
    run_parser.add_argument("--fast", action="store_true",
                            help="fast mode: inject FAST=True and each knob's fast value "
                            "(`X if FAST else Y` in the parameters cell)")
    run_parser.add_argument("-p", "--parameter", nargs=2, action="append", dest="parameters",
                            metavar=("NAME", "VALUE"),
                            help="set a knob of the parameters cell (papermill injects it; "
                            "list them with `papermill --help-notebook NOTEBOOK`)")
    run_parser.add_argument("--html", metavar="DIR", help="also write HTML pages into DIR")
    run_parser.add_argument("--timeout", type=_positive_seconds, default=900,
                            help="seconds each notebook may take (default 900)")
    run_parser.add_argument("--threads", type=_positive_int, default=None,
                            help="cap each kernel's compute threads")
    run_parser.add_argument("--build-dir", default="build",
                            help="where executed copies go (default build/)")
    run_parser.set_defaults(func=_run)

    check_parser = commands.add_parser("check", help="check an exercise notebook")
    check_parser.add_argument("path", metavar="PATH.ipynb")
    check_parser.add_argument("--lesson", type=_lesson_arg, default=None,
                              help="the lesson to grade (default: the file name's NN_)")
    check_parser.add_argument("--timeout", type=_positive_seconds, default=300,
                              help="seconds the notebook may take (default 300)")
    check_parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    check_parser.set_defaults(func=_check)

    grade_parser = commands.add_parser("grade", help="grade a class's submissions to a CSV")
    grade_parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                              help="notebooks, or folders searched for *.ipynb")
    grade_parser.add_argument("--lesson", type=_lesson_arg, default=None,
                              help="the lesson to grade (default: each file name's NN_)")
    grade_parser.add_argument("--csv", metavar="FILE", help="write one row per question")
    grade_parser.add_argument("--executed", metavar="DIR",
                              help="also write each submission's executed copy into DIR")
    grade_parser.add_argument("--jobs", type=_positive_int, default=1,
                              help="submissions graded at once (default 1)")
    grade_parser.add_argument("--timeout", type=_positive_seconds, default=300,
                              help="seconds each submission may take (default 300)")
    grade_parser.add_argument("--fast", action="store_true", help=argparse.SUPPRESS)
    grade_parser.set_defaults(func=_grade)

    exercises_parser = commands.add_parser("exercises", help="build or verify exercises/")
    exercises_parser.add_argument("action", choices=["build", "verify"])
    exercises_parser.add_argument("--root", default=".", help="the course folder (default .)")
    exercises_parser.set_defaults(func=_exercises)
    return main_parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``lrcourse`` console script; returns the exit code.

    >>> main(["exercises", "verify", "--root", "/no/such/course"])
    lrcourse exercises verify: no solution notebooks found in /no/such/course/solutions
    1
    """
    os.environ.setdefault("JUPYTER_PREFER_ENV_PATH", "1")
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
