"""Faults on a local Ray instance: a worker killed by pid mid-cell, retried or given up; SIGTERM to the driver.

The cells ask for both CPUs of the shared instance, so one runs at a time and the one process titled
``ray::_train_remote`` is the worker of the cell being watched. Slow (a Ray start and a worker start
per attempt); the same rules are tested without Ray in test_faults.py.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from ferbench import rundir
from ferbench.models.checkpoint import load_state
from ferbench.rundir import load_run
from ferbench.train.faults import CellsFailed, Preempted
from ferbench.train.grid import run_grid
from ferbench.train.spec import GridSpec

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

VGG, RES = "synthetic/vgg_tiny-none-relu/s0", "synthetic/resnet_tiny-none-relu/s0"
EPOCHS = 5


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _spec() -> GridSpec:
    return GridSpec(name="rf", datasets=["synthetic"], archs=["vgg_tiny", "resnet_tiny"], attentions=["none"],
                    activations=["relu"], train={"epochs": EPOCHS, "batch_size": 16, "patience": None})


def _grid(store, out, **kw):
    return run_grid(_spec(), out=out, data_dir=store.root.parent, device="cpu", quiet=True, executor="ray",
                    ray_options={"cpus_per_cell": 2}, **kw)  # fmt: skip


def _cell_worker() -> int | None:
    """The pid of the Ray worker running a cell right now (its process title names the task)."""
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "cmdline").read_bytes().startswith(b"ray::_train_remote"):
                    return int(p.name)
            except OSError:
                continue
    return None


def _epochs(run_dir: Path) -> list[int]:
    return [r["epoch"] for r in rundir.read_history(run_dir)]


class _Killer(threading.Thread):
    """Each time ``cell`` has trained ``after`` more epochs, SIGKILLs its worker (at most ``times``)."""

    def __init__(self, history: Path, times: int, after: int = 1, signal_self: bool = False):
        super().__init__(daemon=True)
        self.history, self.times, self.after, self.signal_self, self.killed = history, times, after, signal_self, []

    def run(self) -> None:
        deadline, seen = time.time() + 300, 0
        while len(self.killed) < self.times and time.time() < deadline:
            n = len(_epochs(self.history.parent)) if self.history.is_file() else 0
            pid = _cell_worker()
            if n >= seen + self.after and pid is not None and pid not in self.killed:
                if self.signal_self:  # preemption of the driver: SIGTERM to this (the driver's) process
                    os.kill(os.getpid(), signal.SIGTERM)
                else:
                    os.kill(pid, signal.SIGKILL)
                self.killed.append(pid)
                seen = n
            time.sleep(0.02)


def test_a_killed_worker_is_retried_from_its_last_epoch_and_every_cell_runs_once(synthetic_store, tmp_path,
                                                                                  local_ray):
    killer = _Killer(tmp_path / VGG / "history.jsonl", times=1)
    killer.start()
    runs = _grid(synthetic_store, tmp_path, retries=2)
    killer.join(1)
    assert len(killer.killed) == 1
    assert load_run(tmp_path / VGG).metrics["resumed_from_epoch"] >= 1  # not from scratch
    assert load_run(tmp_path / RES).metrics["resumed_from_epoch"] == 0
    for run in runs:  # each cell exactly once: one run dir, every epoch once, no leftover state
        assert _epochs(run) == list(range(1, EPOCHS + 1)) and not (run / "last.pt").exists()


def test_a_cell_whose_worker_dies_every_time_is_named_and_the_others_finish(synthetic_store, tmp_path, local_ray):
    killer = _Killer(tmp_path / VGG / "history.jsonl", times=2)
    killer.start()
    with pytest.raises(CellsFailed, match=rf"1 of 2 cell\(s\) failed 2 time\(s\) and were given up: {VGG} \(") as err:
        _grid(synthetic_store, tmp_path, retries=1)
    killer.join(1)
    assert len(killer.killed) == 2 and "\n" not in str(err.value)
    assert not (tmp_path / VGG / "metrics.json").exists() and (tmp_path / VGG / "last.pt").is_file()
    assert _epochs(tmp_path / RES) == list(range(1, EPOCHS + 1))
    # the re-run the message asks for finishes the failed cell from its last epoch and skips the other
    stamp = (tmp_path / RES / "metrics.json").stat().st_mtime_ns
    _grid(synthetic_store, tmp_path)
    assert load_run(tmp_path / VGG).metrics["resumed_from_epoch"] >= 2
    assert (tmp_path / RES / "metrics.json").stat().st_mtime_ns == stamp


def test_sigterm_to_the_driver_stops_the_workers_keeping_their_epochs(synthetic_store, tmp_path, local_ray):
    killer = _Killer(tmp_path / VGG / "history.jsonl", times=1, signal_self=True)
    killer.start()
    with pytest.raises(Preempted):
        _grid(synthetic_store, tmp_path)
    killer.join(1)
    assert load_state(tmp_path / VGG / "last.pt")["state"]["epoch"] >= 1
    assert not (tmp_path / rundir.LOCK).exists()
    deadline = time.time() + 30
    while _cell_worker() is not None and time.time() < deadline:  # its running task was cancelled
        time.sleep(0.2)
    assert _cell_worker() is None
    _grid(synthetic_store, tmp_path)
    assert load_run(tmp_path / VGG).metrics["resumed_from_epoch"] >= 1
    assert _epochs(tmp_path / VGG) == list(range(1, EPOCHS + 1))
