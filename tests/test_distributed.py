"""lrcourse.distributed: real gloo workers on loopback, failures and hangs surface as errors.

Workers that a spawned child must import live at the top of this module (``spawn`` passes
``sys.path`` to the children, so they can import it by name).
"""

import os
import sys
import time

import numpy as np
import pytest

from lrcourse import distributed

# one process-spawning test at a time; starting worker processes is left out of `make test-fast`
pytestmark = [pytest.mark.xdist_group("distributed"), pytest.mark.notebook]


def sleeping_worker(rank, world_size, seconds):
    time.sleep(seconds)
    return rank


def pid_worker(rank, world_size):
    return os.getpid()


def dying_worker(rank, world_size):
    if rank == 1:
        os._exit(3)  # dies without an exception, as after a segfault or the OOM killer
    import torch
    import torch.distributed as dist

    dist.all_reduce(torch.ones(1))
    return rank


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_launch_returns_each_ranks_result_in_order():
    assert distributed.launch(distributed.rank_and_size, world_size=2, timeout=300) == [
        (0, 2), (1, 2)]


def test_ddp_takes_the_steps_of_one_process_on_the_global_batch():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 5)), rng.integers(0, 3, size=40)
    ranks = distributed.launch(distributed.sharded_trajectory, x, y, 4, 5, 0.3, world_size=2,
                               timeout=300)
    one = distributed.sgd_trajectory(x, y, batch_size=8, num_steps=5, learning_rate=0.3)
    half = distributed.sgd_trajectory(x, y, batch_size=4, num_steps=5, learning_rate=0.3)
    assert np.array_equal(ranks[0], ranks[1])
    assert np.allclose(ranks[0], one, rtol=0, atol=1e-12)
    assert not np.allclose(ranks[0][1:], half[1:], atol=1e-6)  # the proof can fail


def test_a_worker_exception_is_a_worker_error_naming_the_rank_not_a_hang():
    start = time.monotonic()
    with pytest.raises(distributed.WorkerError, match="rank 1 of 2") as error:
        distributed.launch(distributed.fail_on_rank, 1, world_size=2, timeout=300)
    assert "ValueError: rank 1 hit a bad batch" in str(error.value)
    assert time.monotonic() - start < 120


class FakeProcess:
    def __init__(self, exitcode):
        self.exitcode = exitcode


def test_the_first_failure_is_the_cause_not_the_rank_torch_found_first():
    # rank 1 raised at t=10; rank 0 failed at t=11 on the closed connection
    errors = {0: (11.0, "RuntimeError: Connection closed by peer"),
              1: (10.0, "ValueError: rank 1 hit a bad batch")}
    processes = [FakeProcess(1), FakeProcess(1)]
    error = distributed._first_failure(RuntimeError("process 0"), errors, processes, 2)
    assert str(error).startswith("worker rank 1 of 2 failed (then ranks [0] failed too)")
    assert "ValueError" in str(error) and "Connection closed" not in str(error)
    # a rank that died without a report (os._exit, a segfault) is the cause
    errors = {0: (11.0, "RuntimeError: Connection closed by peer")}
    processes = [FakeProcess(1), FakeProcess(3)]
    error = distributed._first_failure(RuntimeError("process 0"), errors, processes, 2)
    assert "rank 1 of 2" in str(error) and "exit code 3" in str(error)
    # a rank terminated by the launcher (negative exit code) is not a cause
    processes = [FakeProcess(1), FakeProcess(-15)]
    error = distributed._first_failure(RuntimeError("process 0"), errors, processes, 2)
    assert "rank 0 of 2" in str(error) and "Connection closed" in str(error)


def test_a_worker_that_dies_silently_is_a_worker_error():
    with pytest.raises(distributed.WorkerError, match="exit code 3"):
        distributed.launch(dying_worker, world_size=2, timeout=300)


def test_a_hang_is_killed_at_the_timeout_and_every_child_is_reaped():
    pids = distributed.launch(pid_worker, world_size=2, timeout=300)
    assert not any(alive(pid) for pid in pids)
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="timeout=20"):
        distributed.launch(sleeping_worker, 600, world_size=2, timeout=20)
    assert time.monotonic() - start < 60


def notebook_style_worker(rank, world_size):
    return rank


def test_a_worker_from_main_or_a_closure_is_refused_before_spawning():
    notebook_style_worker.__module__ = "__main__"
    with pytest.raises(TypeError, match="importable module"):
        distributed.launch(notebook_style_worker)
    with pytest.raises(TypeError, match="importable module"):
        distributed.launch(lambda rank, world_size: rank)
    with pytest.raises(ValueError, match="world_size"):
        distributed.launch(distributed.rank_and_size, world_size=0)
    with pytest.raises(ValueError, match="timeout"):
        distributed.launch(distributed.rank_and_size, timeout=0)


def test_run_processes_reports_failure_with_stderr_and_kills_on_timeout():
    fail = [sys.executable, "-c", "import sys; sys.exit('broken on purpose')"]
    with pytest.raises(distributed.WorkerError, match="broken on purpose"):
        distributed.run_processes([fail])
    slow = [sys.executable, "-c", "import time; time.sleep(600)"]
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        distributed.run_processes([slow, slow], timeout=3)
    assert time.monotonic() - start < 30
    # when one fails, the other (still sleeping) is killed shortly after
    start = time.monotonic()
    results = distributed.run_processes([fail, slow], timeout=120, check=False)
    assert results[0].returncode == 1 and results[1].returncode != 0
    assert time.monotonic() - start < 30


def test_call_in_subprocess_returns_and_raises():
    assert distributed.call_in_subprocess(os.path.basename, "/a/b.txt") == "b.txt"
    with pytest.raises(distributed.WorkerError, match="ValueError"):
        distributed.call_in_subprocess(int, "not a number")
    with pytest.raises(TypeError, match="importable module"):
        distributed.call_in_subprocess(lambda: 1)


def test_torchrun_standalone_matches_one_process(tmp_path):
    import pickle

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(30, 4)), rng.integers(0, 2, size=30)
    (tmp_path / "in.pkl").write_bytes(pickle.dumps(dict(
        x=x, y=y, batch_per_worker=3, num_steps=4, learning_rate=0.2)))
    distributed.run_processes(
        [distributed.torchrun_command(tmp_path / "in.pkl", tmp_path / "out.pkl")], timeout=240,
        env={"GLOO_SOCKET_IFNAME": distributed.loopback_interface(), "OMP_NUM_THREADS": "1"})
    ranks = pickle.loads((tmp_path / "out.pkl").read_bytes())
    one = distributed.sgd_trajectory(x, y, batch_size=6, num_steps=4, learning_rate=0.2)
    assert len(ranks) == 2 and np.allclose(ranks[1], one, rtol=0, atol=1e-12)


def test_trajectory_arguments_are_validated():
    x, y = np.zeros((4, 2)), np.zeros(4, dtype=int)
    with pytest.raises(ValueError, match="batch_size"):
        distributed.sgd_trajectory(x, y, batch_size=5, num_steps=1, learning_rate=0.1)
    with pytest.raises(ValueError, match="y.shape"):
        distributed.sgd_trajectory(x, y[:3], batch_size=2, num_steps=1, learning_rate=0.1)
    with pytest.raises(ValueError, match="learning_rate"):
        distributed.sgd_trajectory(x, y, batch_size=2, num_steps=1, learning_rate=0.0)


def test_keras_mirrored_fit_takes_the_steps_of_one_device_on_the_global_batch():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(32, 4)), rng.integers(0, 3, size=32)
    out = distributed.call_in_subprocess(
        distributed.keras_mirrored_fit, x, y, num_devices=2, batch_size=8, epochs=1,
        learning_rate=0.3, hidden=4, timeout=180)
    assert out["replicas"] == 2 and len(out["devices"]) == 2

    def gap(other):
        return max(np.abs(a - b).max()
                   for a, b in zip(out["mirrored"], out[other], strict=True))

    assert gap("one_device") < 1e-10 and gap("one_device_replica_batch") > 1e-4
