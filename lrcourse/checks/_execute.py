"""Execution phase of the grader: run a restored submission top to bottom in a fresh kernel.

Started by ``lrcourse.checks.grading`` as ``python -I -m lrcourse.checks._execute NOTEBOOK
CELL_TIMEOUT OUTPUT_LIMIT`` in a fresh temporary folder (inside bubblewrap when it is
available). It writes the executed copy next to the notebook as ``executed.ipynb`` and
reports, one JSON object a line on the standard output it was started with, the kernel's
process id and the first cell that stopped the run. The kernel and the learner's code never
see that stream: the standard output is moved to ``/dev/null`` before the kernel starts.

Nothing here decides a verdict: the executed copy is for the instructor to read, and the
failing cell only explains why later questions are WRONG. No answer is called here: in the
check cells the grader restored, ``check`` stands for ``_core.not_evaluated`` (NOT YET, and
the kernel imports nothing only the checkers need); the grader writes the evaluation's
verdicts into those cells afterwards.
"""

from __future__ import annotations

import json
import os
import sys

from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from lrcourse.checks._core import CHECK_CELL

NOT_EVALUATED = "from lrcourse.checks._core import not_evaluated as check  # (grader)\n"

RAISES_TAG = "raises-exception"


class CappedClient(NotebookClient):
    """A notebook client that keeps at most ``output_limit`` bytes of output per cell."""

    output_limit = 1_000_000

    def output(self, outs, msg, display_id, cell_index):  # noqa: D102 (nbclient's hook)
        size = len(json.dumps(msg.get("content", {}), default=str))
        used = self._used.get(cell_index, 0)
        self._used[cell_index] = used + size
        if used + size > self.output_limit:
            if used <= self.output_limit:  # say it once, then drop the rest
                from nbformat.v4 import new_output

                note = new_output("stream", name="stderr", text=(
                    f"[lrcourse grader: output beyond {self.output_limit} bytes in this cell "
                    "was dropped]\n"))
                outs.append(note)
                self._used[cell_index] = self.output_limit + 1
            return None
        return super().output(outs, msg, display_id, cell_index)


def _first_line(source: str) -> str:
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()[:60]
    return ""


def main() -> int:
    import nbformat

    path, cell_timeout, output_limit = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    report = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # the kernel inherits /dev/null, not the report

    def send(**fields) -> None:
        report.write(json.dumps(fields) + "\n")

    notebook = nbformat.read(path, as_version=4)
    CappedClient.output_limit = output_limit
    client = CappedClient(
        notebook, kernel_name="python3", allow_errors=True, shutdown_kernel="immediate",
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        timeout=max(1, int(cell_timeout)), resources={"metadata": {"path": os.getcwd()}})
    client._used = {}
    client.reset_execution_trackers()
    try:
        with client.setup_kernel():
            pid = getattr(getattr(client.km, "provisioner", None), "pid", None)
            send(kernel_pid=pid)
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                send(cell=index)
                first = _first_line(cell.source)
                source = cell.source
                if cell.metadata.get(CHECK_CELL):  # the evaluation calls the answers
                    cell.source = NOT_EVALUATED + source
                try:
                    client.execute_cell(cell, index)
                except CellTimeoutError:
                    send(failure=index, kind="timeout", first_line=first,
                         summary=f"still running at the {cell_timeout:g} s time limit per cell")
                    break
                except DeadKernelError:
                    send(failure=index, kind="dead-kernel", first_line=first,
                         summary="the kernel died (os._exit, a crash, or out of memory)")
                    break
                finally:
                    cell.source = source
                errors = [o for o in cell.outputs if o.output_type == "error"]
                if errors and RAISES_TAG not in cell.metadata.get("tags", []):
                    send(failure=index, kind="error", first_line=first,
                         summary=f"{errors[0].ename}: {errors[0].evalue}"[:300])
                    break
    finally:
        nbformat.write(notebook, os.path.join(os.path.dirname(path), "executed.ipynb"))
        send(done=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
