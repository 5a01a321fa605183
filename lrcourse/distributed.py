"""Launch worker processes on this machine's loopback, collect what they return, always clean up.

Lesson 08 runs data-parallel training for real: PyTorch DDP over the gloo backend in two
processes, the same through ``torchrun``, and Keras under ``tf.distribute`` in subprocesses.
This module holds what those runs need and the frameworks do not give a notebook:

- ``launch``: start ``world_size`` workers with ``torch.multiprocessing`` (``spawn``), join the
  gloo process group on 127.0.0.1 at a free port, return each rank's result, and turn a
  worker's exception or a hang into a ``WorkerError`` / ``TimeoutError`` with every child
  killed and joined;
- ``run_processes``: run several commands side by side (``torchrun``, TensorFlow workers)
  with a time limit, killing every process group on failure or timeout;
- the workers themselves (they must live in an importable module: ``spawn`` re-imports a
  worker by name in the child, and a function defined in a notebook has no such name).

Importing this module imports neither PyTorch nor TensorFlow; each function imports what it
needs.

Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lrcourse import _validate

__all__ = [
    "ProcessResult", "WorkerError", "call_in_subprocess", "fail_on_rank", "free_port",
    "keras_mirrored_fit", "launch", "loopback_interface", "multi_worker_commands",
    "rank_and_size", "run_processes", "sgd_trajectory", "sharded_trajectory", "torchrun_command",
]

LOOPBACK = "127.0.0.1"


class WorkerError(RuntimeError):
    """A worker process failed; the message names the rank and ends with its traceback."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the OS picks it).

    Example:
        >>> 1024 <= free_port() < 65536
        True

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def loopback_interface() -> str:
    """The name of the loopback network interface (``lo`` on Linux, ``lo0`` on macOS).

    Gloo picks its network interface from the host name unless ``GLOO_SOCKET_IFNAME`` names
    one; setting it to this keeps every byte on the loopback interface.

    Raises:
        RuntimeError: when no interface called ``lo`` or ``lo0`` exists.

    Example:
        >>> loopback_interface() in ("lo", "lo0")
        True

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    names = {name for _, name in socket.if_nameindex()}
    for name in ("lo", "lo0"):
        if name in names:
            return name
    raise RuntimeError(f"no loopback interface named 'lo' or 'lo0' among {sorted(names)}")


def _loopback_env(port: int) -> dict[str, str]:
    return {"MASTER_ADDR": LOOPBACK, "MASTER_PORT": str(port),
            "GLOO_SOCKET_IFNAME": loopback_interface(), "OMP_NUM_THREADS": "1"}


# --------------------------------------------------------------------------- launch


def _worker_entry(rank, worker, args, world_size, port, queue, timeout):
    """What each spawned process runs: join the group, call the worker, report, leave."""
    import datetime

    import torch
    import torch.distributed as dist

    os.environ.update(_loopback_env(port))
    torch.set_num_threads(1)
    try:
        dist.init_process_group("gloo", rank=rank, world_size=world_size,
                                init_method=f"tcp://{LOOPBACK}:{port}",
                                timeout=datetime.timedelta(seconds=timeout))
        result = worker(rank, world_size, *args)
        queue.put((rank, "ok", (time.time(), result)))
    except BaseException:
        # the time tells the launcher which failure came first: when one rank raises, the
        # others fail a moment later in their collectives ("Connection closed by peer")
        queue.put((rank, "error", (time.time(), traceback.format_exc())))
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def launch(worker: Callable, *args, world_size: int = 2, timeout: float = 60.0,
           collective_timeout: float | None = None) -> list:
    """Run ``worker(rank, world_size, *args)`` in ``world_size`` processes joined by gloo.

    The processes start with ``torch.multiprocessing`` (start method ``spawn``), each with
    one thread, ``MASTER_ADDR=127.0.0.1``, a free port and ``GLOO_SOCKET_IFNAME`` set to
    the loopback interface, so nothing leaves this machine. Each worker's return value
    comes back through a queue (return plain Python or NumPy values, not tensors). When a
    worker raises, the others are terminated and ``WorkerError`` carries its traceback;
    when the run outlives ``timeout`` every child is killed and ``TimeoutError`` is raised.
    Children are always joined, also when the caller is interrupted.

    Args:
        worker: a function defined in an importable module (not in a notebook or ``__main__``).
        *args: passed to the worker after ``rank`` and ``world_size`` (must pickle).
        world_size: number of processes, >= 1.
        timeout: seconds before the whole run is killed, > 0.
        collective_timeout: seconds gloo waits in the rendezvous or in a collective before
            raising in the worker (default: ``timeout``).

    Returns:
        The workers' return values, indexed by rank.

    Raises:
        TypeError: when ``worker`` is not callable or is defined in ``__main__``.
        ValueError: for a bad ``world_size`` or ``timeout``.
        WorkerError: when a worker raised or died.
        TimeoutError: when the workers did not finish within ``timeout`` seconds.

    Example (it starts two Pythons that import torch, a few seconds, so the doctest run
    skips it; ``tests/test_distributed.py`` runs it):
        >>> launch(rank_and_size, world_size=2, timeout=120)  # doctest: +SKIP
        [(0, 2), (1, 2)]

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    if not callable(worker):
        raise TypeError(f"`worker` must be a function. Received: worker={worker!r}")
    module = getattr(worker, "__module__", None)
    if module in (None, "__main__") or "<locals>" in getattr(worker, "__qualname__", ""):
        raise TypeError(
            f"`worker` must be defined at the top level of an importable module: a spawned "
            f"process imports it by name, and {getattr(worker, '__qualname__', worker)!r} "
            f"from {module!r} has no name it can import. Move it into a .py file. "
            f"Received: worker={worker!r}")
    world_size = _validate.integer("world_size", world_size, minimum=1)
    timeout = _validate.positive_float("timeout", timeout)
    collective_timeout = timeout if collective_timeout is None else \
        _validate.positive_float("collective_timeout", collective_timeout)
    import torch.multiprocessing as mp

    queue = mp.get_context("spawn").SimpleQueue()
    port = free_port()
    context = mp.start_processes(_worker_entry, args=(worker, args, world_size, port, queue,
                                                      collective_timeout),
                                 nprocs=world_size, join=False, start_method="spawn")
    results, errors = {}, {}

    def drain():
        while not queue.empty():
            rank, status, (when, value) = queue.get()
            if status == "ok":
                results[rank] = value
            else:
                errors[rank] = (when, value)

    deadline = time.monotonic() + timeout
    spawn_log = logging.getLogger("torch.multiprocessing.spawn")
    level = spawn_log.level
    spawn_log.setLevel(logging.ERROR)  # not its 'Terminating process ...' warning per child
    try:
        while True:
            drain()
            try:
                if context.join(timeout=0.05):
                    break
            except Exception as error:  # a child failed: torch has terminated the others
                for process in context.processes:
                    process.join(timeout=5)  # so every report is in the queue
                drain()
                raise _first_failure(error, errors, context.processes, world_size) from None
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"the {world_size} workers did not finish within timeout={timeout} s; "
                    f"all were killed (finished ranks: {sorted(results)})")
        drain()
    finally:
        spawn_log.setLevel(level)
        for process in context.processes:
            if process.is_alive():
                process.kill()
        for process in context.processes:
            process.join(timeout=10)
        queue.close()
    missing = [rank for rank in range(world_size) if rank not in results]
    if missing:
        raise WorkerError(f"workers {missing} exited without returning a result")
    return [results[rank] for rank in range(world_size)]


def _first_failure(error, errors, processes, world_size) -> WorkerError:
    """The failure that caused the others, as a ``WorkerError``.

    A rank that died without reporting (``os._exit``, a segfault, the OOM killer) comes
    first; otherwise the rank that reported its exception earliest. torch's own
    ``error_index`` is only the first process it found dead, often a victim.
    """
    silent = [rank for rank, process in enumerate(processes)
              if rank not in errors and (process.exitcode or 0) > 0]
    if silent:
        rank = silent[0]
        detail = f"it died with exit code {processes[rank].exitcode} without raising"
    elif errors:
        rank = min(errors, key=lambda r: errors[r][0])
        detail = errors[rank][1]
    else:
        rank = getattr(error, "error_index", "?")
        detail = str(error)
    others = sorted(set(errors) - {rank})
    also = f" (then ranks {others} failed too)" if others else ""
    return WorkerError(f"worker rank {rank} of {world_size} failed{also}:\n{detail}")


def rank_and_size(rank: int, world_size: int) -> tuple[int, int]:
    """A worker that checks the process group and returns ``(rank, world_size)``.

    Example:
        >>> rank_and_size(0, 1)
        (0, 1)

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    import torch.distributed as dist

    if dist.is_initialized() and (dist.get_rank(), dist.get_world_size()) != (rank, world_size):
        raise RuntimeError(f"process group says rank {dist.get_rank()} of "
                           f"{dist.get_world_size()}, launch said {rank} of {world_size}")
    return rank, world_size


def fail_on_rank(rank: int, world_size: int, failing_rank: int) -> int:
    """A worker that raises ``ValueError`` on ``failing_rank`` and waits in a collective elsewhere.

    The healthy ranks block in an all-reduce the failed rank never joins: without a launcher
    that watches every child, the run would hang there.

    Example:
        >>> fail_on_rank(0, 1, failing_rank=5)
        0

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    if rank == failing_rank:
        raise ValueError(f"rank {rank} hit a bad batch")
    import torch
    import torch.distributed as dist

    if dist.is_initialized():
        dist.all_reduce(torch.ones(1))
    return rank


# --------------------------------------------------------------------------- the DDP proof


def _mlp(num_features: int, num_classes: int, hidden: int, seed: int):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(num_features, hidden), torch.nn.Tanh(),
                               torch.nn.Linear(hidden, num_classes)).double()


def _flat(model) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])


def _check_trajectory_args(x, y, batch_size, num_steps, learning_rate):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.int64)
    if x.ndim != 2 or y.shape != (len(x),):
        raise ValueError(f"`x` must be 2-D and `y` 1-D of the same length. Received: "
                         f"x.shape={x.shape}, y.shape={y.shape}")
    batch_size = _validate.integer("batch_size", batch_size, minimum=1)
    num_steps = _validate.integer("num_steps", num_steps, minimum=1)
    learning_rate = _validate.positive_float("learning_rate", learning_rate)
    if batch_size > len(x):
        raise ValueError(f"`batch_size` must be <= len(x)={len(x)}. Received: "
                         f"batch_size={batch_size}")
    return x, y, batch_size, num_steps, learning_rate


def _run_steps(model, x, y, rows_for_step, num_steps, learning_rate) -> np.ndarray:
    import torch

    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    loss_fn = torch.nn.CrossEntropyLoss()
    inputs, labels = torch.from_numpy(x), torch.from_numpy(y)
    trajectory = [_flat(model)]
    for step in range(num_steps):
        rows = torch.from_numpy(rows_for_step(step))
        optimizer.zero_grad()
        loss_fn(model(inputs[rows]), labels[rows]).backward()
        optimizer.step()
        trajectory.append(_flat(model))
    return np.stack(trajectory)


def _global_rows(step: int, global_batch: int, n: int) -> np.ndarray:
    """Rows of the global batch at ``step``: consecutive, wrapping around the data."""
    return (step * global_batch + np.arange(global_batch)) % n


def sgd_trajectory(x, y, *, batch_size: int, num_steps: int, learning_rate: float,
                   seed: int = 0, hidden: int = 16) -> np.ndarray:
    """One process: plain SGD on a float64 tanh MLP, batch ``batch_size``; every step's weights.

    Step ``s`` uses rows ``s*B ... s*B + B - 1`` of ``x`` (wrapping around), ``B = batch_size``,
    and the mean cross-entropy over them. ``sharded_trajectory`` is the same run split over
    DDP workers; lesson 08 proves the two agree.

    Args:
        x: features, shape ``(n, d)``. y: integer labels, shape ``(n,)``.
        batch_size: rows per step, in [1, n]. num_steps: steps, >= 1.
        learning_rate: SGD's rate, > 0. seed: seeds the initial weights. hidden: hidden units.

    Returns:
        An array of shape ``(num_steps + 1, num_parameters)``: the weights before the first
        step, then after each step.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(12, 3)), rng.integers(0, 2, size=12)
        >>> sgd_trajectory(x, y, batch_size=4, num_steps=3, learning_rate=0.1, hidden=2).shape
        (4, 14)

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    x, y, batch_size, num_steps, learning_rate = _check_trajectory_args(
        x, y, batch_size, num_steps, learning_rate)
    classes = int(y.max()) + 1
    model = _mlp(x.shape[1], classes, hidden, seed)
    return _run_steps(model, x, y, lambda s: _global_rows(s, batch_size, len(x)), num_steps,
                      learning_rate)


def sharded_trajectory(rank: int, world_size: int, x, y, batch_per_worker: int, num_steps: int,
                       learning_rate: float, seed: int = 0, hidden: int = 16) -> np.ndarray:
    """A DDP worker: this rank's share of each global batch, gradients averaged by DDP.

    The global batch at step ``s`` is the same ``world_size * batch_per_worker`` rows that
    ``sgd_trajectory(batch_size=world_size * batch_per_worker)`` uses; rank ``r`` takes the
    ``r``-th slice of ``batch_per_worker`` rows. DDP averages the gradients over the ranks in
    ``backward()``, so every rank takes the same step. Outside a process group (world size 1)
    it trains without DDP.

    Args:
        rank, world_size: given by ``launch`` or read from ``torchrun``'s environment.
        x, y, num_steps, learning_rate, seed, hidden: as in ``sgd_trajectory``.
        batch_per_worker: rows per rank per step.

    Returns:
        This rank's weights before the first step and after each step.

    Raises:
        TypeError, ValueError: for bad arguments.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(12, 3)), rng.integers(0, 2, size=12)
        >>> alone = sharded_trajectory(0, 1, x, y, 4, 3, 0.1, hidden=2)
        >>> bool(np.allclose(alone, sgd_trajectory(x, y, batch_size=4, num_steps=3,
        ...                                        learning_rate=0.1, hidden=2)))
        True

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    x, y, batch_per_worker, num_steps, learning_rate = _check_trajectory_args(
        x, y, batch_per_worker, num_steps, learning_rate)
    import torch.distributed as dist

    classes = int(y.max()) + 1
    model = _mlp(x.shape[1], classes, hidden, seed)
    if dist.is_initialized():
        from torch.nn.parallel import DistributedDataParallel

        model = DistributedDataParallel(model)
    global_batch = world_size * batch_per_worker

    def rows(step):
        return _global_rows(step, global_batch, len(x))[
            rank * batch_per_worker:(rank + 1) * batch_per_worker]

    return _run_steps(model, x, y, rows, num_steps, learning_rate)


# --------------------------------------------------------------------------- subprocesses


@dataclass(frozen=True)
class ProcessResult:
    """What one finished process left: its command, exit code and captured output."""

    command: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run_processes(commands: Sequence[Sequence[str]], *, timeout: float = 120.0,
                  env: dict | None = None, envs: Sequence[dict] | None = None,
                  check: bool = True) -> list[ProcessResult]:
    """Run ``commands`` side by side, each in its own process group; wait for all.

    Output is captured. When one process fails, the others get two seconds to finish and
    are then killed (in a distributed job they would wait for it forever); when ``timeout``
    passes, every process group is killed. Every process is reaped before this returns or
    raises.

    Args:
        commands: the argument lists, one per process.
        timeout: seconds for the whole group, > 0.
        env: variables added to this process's environment for every command.
        envs: per-command variables, one dict per command (or None).
        check: raise ``WorkerError`` when a process exits non-zero; with ``False`` the
            results (exit codes, output) come back instead.

    Returns:
        One ``ProcessResult`` per command, in order.

    Raises:
        ValueError: for an empty ``commands`` or ``envs`` of the wrong length.
        WorkerError: when ``check`` and a process failed (its stderr's tail in the message).
        TimeoutError: when the processes outlived ``timeout``.

    Example:
        >>> [r.stdout for r in run_processes([[sys.executable, "-c", "print(6 * 7)"]])]
        ['42\\n']

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    commands = [tuple(str(part) for part in command) for command in commands]
    if not commands or any(not command for command in commands):
        raise ValueError(f"`commands` must be a non-empty list of non-empty argument lists. "
                         f"Received: commands={commands!r}")
    envs = list(envs) if envs is not None else [None] * len(commands)
    if len(envs) != len(commands):
        raise ValueError(f"`envs` must have one entry per command ({len(commands)}). "
                         f"Received: {len(envs)} entries")
    timeout = _validate.positive_float("timeout", timeout)
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lrcourse-")))
        processes, files = [], []
        try:
            for index, (command, extra) in enumerate(zip(commands, envs, strict=True)):
                out = stack.enter_context(open(folder / f"{index}.out", "w+"))
                err = stack.enter_context(open(folder / f"{index}.err", "w+"))
                files.append((out, err))
                processes.append(subprocess.Popen(
                    command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                    env={**os.environ, **(env or {}), **(extra or {})},
                    start_new_session=True))
            deadline, failed_at = time.monotonic() + timeout, None
            while any(p.poll() is None for p in processes):
                now = time.monotonic()
                if failed_at is None and any(p.returncode for p in processes):
                    failed_at = now
                if now > deadline or (failed_at is not None and now > failed_at + 2):
                    break
                time.sleep(0.05)
            timed_out = any(p.poll() is None for p in processes) and failed_at is None
        finally:
            for process in processes:
                if process.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
            for process in processes:
                process.wait(timeout=10)
        results = []
        for command, process, (out, err) in zip(commands, processes, files, strict=True):
            out.seek(0)
            err.seek(0)
            results.append(ProcessResult(command, process.returncode, out.read(), err.read()))
    if timed_out:
        raise TimeoutError(f"{len(commands)} processes did not finish within "
                           f"timeout={timeout} s; all were killed")
    if check:
        for index, result in enumerate(results):
            if result.returncode != 0:
                tail = "\n".join(result.stderr.strip().splitlines()[-15:])
                raise WorkerError(f"process {index} ({' '.join(result.command[:6])} ...) "
                                  f"exited with code {result.returncode}:\n{tail}")
    return results


def call_in_subprocess(function: Callable, *args, timeout: float = 120.0,
                       env: dict | None = None, **kwargs):
    """``function(*args, **kwargs)`` in a fresh Python process; its return value comes back.

    Use it for work that must start before a framework initialises in the calling
    process (TensorFlow's logical devices) or that must not touch it. Arguments and result
    travel by pickle through a temporary folder.

    Args:
        function: a top-level function of an importable module.
        timeout: seconds before the process is killed, > 0.
        env: extra environment variables for the process.

    Returns:
        Whatever ``function`` returned.

    Raises:
        TypeError: when ``function`` cannot be imported by name.
        WorkerError: when the function raised (its traceback in the message).
        TimeoutError: when it outlived ``timeout``.

    Example:
        >>> call_in_subprocess(os.path.basename, '/data/digits.npz', timeout=60)
        'digits.npz'

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    module = getattr(function, "__module__", None)
    name = getattr(function, "__qualname__", "")
    if not callable(function) or module in (None, "__main__") or "<" in name:
        raise TypeError(f"`function` must be a top-level function of an importable module. "
                        f"Received: function={function!r}")
    with tempfile.TemporaryDirectory(prefix="lrcourse-") as folder:
        request, answer = Path(folder) / "request.pkl", Path(folder) / "answer.pkl"
        request.write_bytes(pickle.dumps((module, name, args, kwargs)))
        run_processes([[sys.executable, "-m", "lrcourse.distributed", "call", str(request),
                        str(answer)]], timeout=timeout, env=env)
        return pickle.loads(answer.read_bytes())


def _call(request: str, answer: str) -> None:
    import importlib

    module, name, args, kwargs = pickle.loads(Path(request).read_bytes())
    function = importlib.import_module(module)
    for part in name.split("."):
        function = getattr(function, part)
    Path(answer).write_bytes(pickle.dumps(function(*args, **kwargs)))


# --------------------------------------------------------------------------- torchrun


def torchrun_command(input_path, output_path, *, nproc_per_node: int = 2) -> list[str]:
    """The ``torchrun --standalone`` command that runs ``sharded_trajectory`` in each process.

    ``input_path`` holds a pickled dict of ``sharded_trajectory``'s keyword arguments (without
    ``rank`` and ``world_size``, which each process reads from the ``RANK`` and
    ``WORLD_SIZE`` variables torchrun sets); rank 0 pickles the list of every rank's
    trajectory to ``output_path``.

    Example:
        >>> torchrun_command("in.pkl", "out.pkl")[1:6]
        ['-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2']

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    count = _validate.integer("nproc_per_node", nproc_per_node, minimum=1)
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
            str(count), "--module", "lrcourse.distributed", "torchrun", str(input_path),
            str(output_path)]


def _torchrun_worker(input_path: str, output_path: str) -> None:
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    dist.init_process_group("gloo")  # rank, world size and address from torchrun's variables
    try:
        rank, world_size = dist.get_rank(), dist.get_world_size()
        kwargs = pickle.loads(Path(input_path).read_bytes())
        trajectory = sharded_trajectory(rank, world_size, **kwargs)
        gathered = [None] * world_size
        dist.all_gather_object(gathered, trajectory)
        if rank == 0:
            Path(output_path).write_bytes(pickle.dumps(gathered))
    finally:
        dist.destroy_process_group()


# --------------------------------------------------------------------------- TensorFlow


def keras_mirrored_fit(x, y, *, num_devices: int, batch_size: int, epochs: int,
                       learning_rate: float, seed: int = 0, hidden: int = 16) -> dict:
    """Fit one Keras MLP under ``MirroredStrategy`` over logical CPUs, and again on one device.

    Must run where TensorFlow has not initialised yet (``call_in_subprocess``): it first
    splits the CPU into ``num_devices`` logical devices, which TensorFlow allows only
    before its first operation. ``batch_size`` is the *global* batch, as Keras ``fit``
    reads it under a strategy: each replica gets ``batch_size / num_devices`` rows and the
    strategy sums the replicas' gradients of losses scaled by the global batch, i.e. it
    averages. The same model is then fit under the default (one-device) strategy with the
    same seed, once on the global batch and once on the per-replica batch
    ``batch_size // num_devices``. Plain SGD, no shuffling, float64.

    Args:
        x, y: features and integer labels. num_devices: logical CPUs, >= 2.
        batch_size, epochs, learning_rate, seed, hidden: the usual.

    Returns:
        ``{"mirrored", "one_device", "one_device_replica_batch": weights, "devices": names,
        "replicas": int}``, weights as lists of NumPy arrays.

    Raises:
        RuntimeError: when TensorFlow had already initialised its devices.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(8, 3)), rng.integers(0, 2, size=8)
        >>> out = call_in_subprocess(  # doctest: +SKIP
        ...     keras_mirrored_fit, x, y, num_devices=2, batch_size=4, epochs=1,
        ...     learning_rate=0.1, hidden=2, timeout=120)
        >>> out["replicas"], len(out["mirrored"]), len(out["one_device"])  # doctest: +SKIP
        (2, 4, 4)

    (Skipped by the doctest run: TensorFlow takes seconds to start.
    ``tests/test_distributed.py`` runs it.)

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    count = _validate.integer("num_devices", num_devices, minimum=2)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
    import keras

    keras.config.set_floatx("float64")
    names = [d.name for d in tf.config.list_logical_devices("CPU")]
    x, y = np.asarray(x, np.float64), np.asarray(y)
    weights = {}
    runs = (("mirrored", tf.distribute.MirroredStrategy(names), batch_size),
            ("one_device", tf.distribute.get_strategy(), batch_size),
            ("one_device_replica_batch", tf.distribute.get_strategy(), batch_size // count))
    for key, strategy, batch in runs:
        with strategy.scope():
            keras.utils.set_random_seed(seed)
            model = keras.Sequential([keras.Input((x.shape[1],)),
                                      keras.layers.Dense(hidden, activation="tanh"),
                                      keras.layers.Dense(int(np.max(y)) + 1)])
            model.compile(optimizer=keras.optimizers.SGD(learning_rate),
                          loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=batch, epochs=epochs, shuffle=False, verbose=0)
        weights[key] = [np.asarray(w) for w in model.get_weights()]
        if key == "mirrored":
            replicas = strategy.num_replicas_in_sync
    return {**weights, "devices": names, "replicas": replicas}


def multi_worker_commands(num_workers: int = 2) -> tuple[list[list[str]], list[dict]]:
    """Commands and ``TF_CONFIG`` environments for a ``MultiWorkerMirroredStrategy`` run.

    Each worker is ``python -m lrcourse.distributed multi-worker``, which fits a small Keras
    model under ``MultiWorkerMirroredStrategy``; the cluster is ``num_workers`` tasks on
    127.0.0.1 at free ports.

    Example:
        >>> commands, envs = multi_worker_commands(2)
        >>> json.loads(envs[1]["TF_CONFIG"])["task"]
        {'type': 'worker', 'index': 1}

    Introduced in ``notebooks/08_beyond_one_machine.ipynb``.
    """
    count = _validate.integer("num_workers", num_workers, minimum=1)
    ports = set()
    while len(ports) < count:
        ports.add(free_port())
    cluster = {"worker": [f"{LOOPBACK}:{port}" for port in sorted(ports)]}
    envs = [{"TF_CONFIG": json.dumps({"cluster": cluster,
                                      "task": {"type": "worker", "index": index}}),
             "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0"}
            for index in range(count)]
    command = [sys.executable, "-m", "lrcourse.distributed", "multi-worker"]
    return [list(command) for _ in range(count)], envs


def _multi_worker() -> None:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    import keras

    print(f"replicas in sync: {strategy.num_replicas_in_sync}", flush=True)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 5)).astype("float32")
    y = x @ rng.normal(size=(5, 1)).astype("float32")
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)
    history = model.fit(dataset, epochs=2, verbose=0)
    print(f"final loss {history.history['loss'][-1]:.6f}", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of ``python -m lrcourse.distributed``: ``call``, ``torchrun``, ``multi-worker``.

    Example:
        >>> main(["nothing"])
        Traceback (most recent call last):
        ...
        ValueError: unknown command 'nothing'; expected call, torchrun or multi-worker
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else ""
    if command == "call":
        _call(*argv[1:])
    elif command == "torchrun":
        _torchrun_worker(*argv[1:])
    elif command == "multi-worker":
        _multi_worker()
    else:
        raise ValueError(f"unknown command {command!r}; expected call, torchrun or multi-worker")


if __name__ == "__main__":
    main()

