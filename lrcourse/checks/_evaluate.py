"""Evaluation phase of the grader: the verdicts, from the course's cells and the checkers.

Started by ``lrcourse.checks.grading`` as ``python -I -m lrcourse.checks._evaluate`` in a
fresh, empty temporary folder (inside bubblewrap when it is available): ``-I`` keeps the
current folder and ``PYTHON*`` variables off ``sys.path``, so nothing a submission left
behind can shadow ``lrcourse``. The program arrives as JSON on standard input: a list of
cells, each the course notebook's own source or the learner's filtered definitions (top-level
imports, function and class definitions, literal constants; see ``grading.learner_block``).

The checkers are imported and ``check`` is captured before any learner code runs, and
``check`` is bound again before every cell, so a learner's name cannot replace it. Each
verdict goes to the parent, one JSON object a line, on the standard output this process was
started with; the program's own prints go to ``/dev/null``.

Each check runs in a forked child that closes that channel before the answer runs
(``checked_apart``): the body of an answer function can decide its own question's verdict
(it runs where that verdict is computed) but reaches neither the channel nor the checks of
the other questions.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import time

BASES_GUARD = "__lrcourse_plain_bases__"
"""The name under which the evaluation offers ``plain_bases`` to the learner's block, which
calls it on a class's bases before making the class (``grading.learner_block``)."""


def plain_bases(*bases) -> None:
    """Refuse a base whose class creation could run code: a custom metaclass (``enum.Enum``
    calls ``__init__`` of each member) or an ``__init_subclass__`` anywhere in its ancestry
    (a learner's own class could define one and run anything when subclassed).

    >>> plain_bases(object, ValueError)
    >>> import enum
    >>> plain_bases(enum.Enum)
    Traceback (most recent call last):
    TypeError: the grader does not make a class on Enum: its metaclass is EnumType
    """
    for base in bases:
        if not isinstance(base, type):
            raise TypeError(f"the grader does not make a class on {base!r:.40}: not a class")
        if type(base) is not type:
            raise TypeError(f"the grader does not make a class on {base.__name__}: its "
                            f"metaclass is {type(base).__name__}")
        hooked = [k.__name__ for k in base.__mro__
                  if k is not object and "__init_subclass__" in vars(k)]
        if hooked:
            raise TypeError(f"the grader does not make a class on {base.__name__}: "
                            f"{hooked[0]} defines __init_subclass__")


def uses_checkers(answer, depth: int = 0) -> str:
    """The checkers' own code an answer is or names (``lrcourse.checks...``), else ``""``.

    The checker modules hold reference computations (``lesson01._first_to_reach``); an
    answer that imports one, is one, or reaches one through a global it names would pass
    without doing the work. Public helpers the lessons hand out (``mystery_trajectories``,
    ``check``) are not counted. A body that hides the name (``getattr``, string tricks) is
    not caught: it is forging its own question, as the README says.

    >>> from lrcourse.checks.lesson01 import _first_to_reach
    >>> uses_checkers(_first_to_reach)
    'lrcourse.checks.lesson01._first_to_reach'
    >>> uses_checkers(sorted)
    ''
    """
    for attribute in ("func", "__func__", "__wrapped__"):  # partial, bound method, wrapper
        inner = getattr(answer, attribute, None)
        if callable(inner) and inner is not answer and depth < 5:
            found = uses_checkers(inner, depth + 1)
            if found:
                return found
    module = getattr(answer, "__module__", None) or ""
    if not isinstance(module, str):
        module = ""
    if module.startswith("lrcourse.checks"):
        return f"{module}.{getattr(answer, '__qualname__', '')}"
    code = getattr(answer, "__code__", None)
    names: set[str] = set()
    stack = [code] if code is not None else []
    while stack:
        current = stack.pop()
        texts = [*current.co_names, *(c for c in current.co_consts if isinstance(c, str))]
        for text in texts:
            if text.startswith("lrcourse.checks"):
                return text
        names.update(current.co_names)
        stack += [c for c in current.co_consts if hasattr(c, "co_names")]
    if {"lrcourse", "checks"} <= names:
        return "lrcourse.checks"
    found = getattr(answer, "__globals__", {})
    for name in sorted(names):
        value = found.get(name)
        owner = getattr(value, "__name__", "") if type(value).__name__ == "module" else (
            getattr(value, "__module__", "") or "")
        if not isinstance(owner, str) or not owner.startswith("lrcourse.checks"):
            continue
        if type(value).__name__ == "module" or getattr(value, "__name__", "_").startswith("_"):
            return f"{owner}.{getattr(value, '__name__', name)}" if owner != getattr(
                value, "__name__", None) else owner
    return ""


def _not_dumpable() -> None:
    """Make this process non-dumpable, so a process without CAP_SYS_PTRACE (every process in
    bubblewrap) cannot open ``/proc/<this pid>/fd/...`` to reach the channel, nor trace it."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0
    except (OSError, AttributeError):  # pragma: no cover (not Linux)
        pass


def checked_apart(question_id, answer, run_check, channel_fd: int, core,
                  time_limit: float = 300.0):
    """Check one answer in a forked child that has closed the channel first.

    The answer's code runs only in the child, so whatever it does (patch the checkers, write
    to any file descriptor, start threads or processes that outlive it, end the process)
    can at most decide this one question's verdict, which the child sends back on a pipe of
    its own; this process reads one line from that pipe, then kills the child. Processes the
    answer started stay in the evaluation's process group, which the grader kills at the end.
    A check still running after ``time_limit`` seconds is killed: no verdict, and the next
    question is checked.
    """
    import select
    import signal

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no way back to the grader but its own pipe
        try:
            os.close(read_end)
            os.close(channel_fd)
            data = (json.dumps(run_check(question_id, answer).to_dict()) + "\n").encode()
            while data:
                data = data[os.write(write_end, data):]
        finally:
            os._exit(0)
    os.close(write_end)  # the child stays in this process group: the grader's kill ends it
    data, reaped, deadline = b"", False, time.monotonic() + time_limit
    try:
        while b"\n" not in data and len(data) < 100_000 and time.monotonic() < deadline:
            if select.select([read_end], [], [], 0.2)[0]:
                chunk = os.read(read_end, 65536)
                if not chunk:
                    break
                data += chunk
            elif reaped or os.waitpid(pid, os.WNOHANG)[0] == pid:
                reaped = True  # the child is gone: what it left holding the pipe is not
                if not select.select([read_end], [], [], 0)[0]:  # waited for
                    break
    finally:
        os.close(read_end)
        if not reaped:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:  # pragma: no cover (already gone)
                pass
            os.waitpid(pid, 0)
    try:
        fields = json.loads(data.split(b"\n", 1)[0])
        if not (isinstance(fields, dict) and fields.get("question") == question_id
                and set(fields) == {"question", "status", "message", "hint"}):
            raise ValueError
        return core.CheckResult.from_dict(fields)
    except ValueError:  # also a bad status, and a JSONDecodeError
        if time.monotonic() >= deadline:
            return core.CheckResult(
                question_id, core.Status.WRONG,
                f"no verdict: the time limit of {time_limit:g} s per check ended it",
                "an answer must return in time: look for a loop that never ends")
        return core.CheckResult(
            question_id, core.Status.WRONG, "no verdict: the check ended before it gave one",
            "an answer returns its result; it never ends or breaks the process that checks it")


def main() -> int:
    channel = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 (prints of the program vanish)

    def send(**fields) -> None:
        channel.write(json.dumps(fields) + "\n")
        channel.flush()

    spec = json.loads(sys.stdin.read())
    import matplotlib

    matplotlib.use("Agg")
    from lrcourse.checks import _core

    _core.load_lesson(spec["lesson"])
    real_check = _core.check
    wrong, not_yet = _core.Status.WRONG, _core.Status.NOT_YET
    reported: set[str] = set()
    _not_dumpable()

    def run_check(question_id, answer):
        borrowed = uses_checkers(answer)
        if borrowed:
            return _core.CheckResult(
                question_id, wrong, f"your answer uses the checkers' own code ({borrowed})",
                "write the computation yourself; the checkers are not part of the answer")
        try:
            return real_check(question_id, answer)
        except NotImplementedError:  # pragma: no cover (check catches it)
            return _core.CheckResult(question_id, not_yet)
        except BaseException as error:  # SystemExit, KeyboardInterrupt from the answer
            return _core.CheckResult(
                question_id, wrong, f"your code raised {type(error).__name__}: {error}"[:300],
                "an answer returns its result; it never ends the program")

    def recording_check(question_id, answer):
        send(checking=question_id)
        result = checked_apart(question_id, answer, run_check, channel.fileno(), _core,
                               spec["check_timeout"])
        if question_id not in reported:  # the course checks each question once
            reported.add(question_id)
            send(verdict=result.to_dict())
        return result

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    for cell in spec["cells"]:
        namespace["check"] = recording_check
        namespace[BASES_GUARD] = plain_bases
        send(cell=cell["index"])
        try:
            code = compile(cell["source"], f"<cell {cell['index']}>", "exec")
            exec(code, namespace)  # noqa: S102 (the course's cells, and filtered definitions)
        except BaseException as error:  # report and go on, like a notebook run with errors
            send(cell_error=cell["index"], summary=f"{type(error).__name__}: {error}"[:300])
    send(done=True)
    channel.close()
    os._exit(0)  # skip interpreter teardown: nothing the program registered runs after this


if __name__ == "__main__":
    sys.exit(main())
