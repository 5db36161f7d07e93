"""A grid's cells as Ray tasks: one task per cell, on a Ray cluster or a local Ray instance.

Cells are independent, so a grid fans out. Each cell becomes a task that runs
:func:`ferbench.train.cell.train_cell` on whichever node Ray picks, holding ``gpus_per_cell`` GPUs
(a fraction such as 0.25 packs four small FER models onto one GPU) and ``cpus_per_cell`` cores.
Only the resolved cell (options and paths) crosses the network. Every node must see the store
folder and ``--out`` at the same absolute path, which means a shared filesystem (NFS on a SLURM or
Kubernetes cluster), and must have ferbench installed. Resuming works as in a local grid: each run
directory is written atomically where all nodes can see it. A re-run skips finished cells and
resumes interrupted ones, whichever node trained them.

Progress: a worker's epochs cannot call back into the driver, so the driver reads each running
cell's ``history.jsonl`` from the shared folder while it waits.

Faults: Ray's own task retries are off; the driver resubmits a cell whose task failed for any reason
but a ferbench error (its worker killed, its node lost, an unforeseen exception), up to the grid's
``retries``, and the new task resumes the cell's ``last.pt`` on whichever node runs it
(:mod:`ferbench.train.faults`).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ferbench import rundir
from ferbench.errors import FerbenchError
from ferbench.train.cell import train_cell
from ferbench.train.faults import Retries
from ferbench.train.plan import Cell
from ferbench.train.progress import GridProgress

log = logging.getLogger("ferbench.train")

def _train_remote(cell: Cell, options: dict) -> str:
    return str(train_cell(cell, **options))


def _check_reachable(address: str | None) -> None:
    """A HOST:PORT that nothing answers on fails here in seconds; Ray itself retries for minutes."""
    if address is None or address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise FerbenchError(f"--ray-address {address}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as err:
        raise FerbenchError(f"--ray-address {address}: nothing answers there ({err.strerror or err}); start the "
                            "head with `ray start --head` or drop --ray-address to use a local instance") from None


@dataclass
class RaySession:
    """A connection to Ray and the resources each cell's task asks for."""

    ray: object
    gpus_per_cell: float
    cpus_per_cell: float

    def device_type(self, device: str) -> str:
        """What a task's ``--device`` resolves to on a worker: ``auto`` is CUDA when the task holds GPUs."""
        if device == "auto":
            return "cuda" if self.gpus_per_cell > 0 else "cpu"
        return device.split(":")[0]

    def run(self, cells: list[Cell], options: dict, progress: GridProgress, retries: Retries | None = None) -> None:
        """Train ``cells`` as Ray tasks (``options``: :func:`train_cell`'s keywords) and wait for all of them.

        A ferbench error in a cell cancels the cells not yet finished (their last epoch is kept and
        resumes on a re-run) and is raised with the cell named. Any other failure is retried
        (``retries``, default none) from the cell's last epoch; the cells that fail every attempt are
        raised together once the others finished.
        """
        ray = self.ray
        retries = retries or Retries(0)
        task = ray.remote(num_cpus=self.cpus_per_cell, num_gpus=self.gpus_per_cell, max_retries=0)(_train_remote)
        pending = {task.remote(c, options): c for c in cells}
        shown: dict[str, int] = {}
        try:
            self._wait(pending, task, options, progress, retries, shown)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: stop the running cells too; their last epochs stay
            for ref in pending:
                ray.cancel(ref, force=True)
            raise
        retries.check(len(cells))

    def _wait(self, pending: dict, task, options: dict, progress: GridProgress, retries: Retries,
              shown: dict[str, int]) -> None:
        ray = self.ray
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                cell = pending.pop(ref)
                try:
                    ray.get(ref)
                except ray.exceptions.RayError as err:
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, FerbenchError):
                        for other in pending:
                            ray.cancel(other)
                        raise type(cause)(f"cell {cell.id}: {cause}") from None
                    reason = _reason(err)
                    if retries.again(cell.id, reason):
                        progress.retry(cell.id, retries.attempt(cell.id), retries.retries + 1, reason)
                        # the failed attempt already applied --force; this one resumes it
                        pending[task.remote(cell, {**options, "force": False})] = cell
                    elif isinstance(err, ray.exceptions.RayTaskError):  # given up: keep the worker's traceback
                        log.warning("cell %s given up; its last attempt failed with:\n%s", cell.id, err)
                    continue
                _show_epochs(progress, [cell], options["out"], shown)  # the epochs the last poll missed
                progress.cell_done(cell.id, Path(options["out"]) / cell.id)
            _show_epochs(progress, pending.values(), options["out"], shown)


def _reason(err) -> str:
    """One line for a failed task: its worker's death, or the exception it raised (without the worker's
    traceback, which Ray's error carries)."""
    cause = getattr(err, "cause", None)
    if cause is not None:
        return f"{type(cause).__name__}: {cause}"
    first = next((line for line in str(err).splitlines() if line.strip()), "")
    return f"{type(err).__name__}: {first}"


def _show_epochs(progress: GridProgress, running, out: str, shown: dict[str, int]) -> None:
    """Report the epochs each running cell's history.jsonl gained since the last poll."""
    for cell in running:
        try:
            history = rundir.read_history(Path(out) / cell.id)
        except (OSError, json.JSONDecodeError):  # being replaced right now: the next poll reads it
            continue
        for n in range(shown.get(cell.id, 0), len(history)):
            progress.epoch(cell.id, history[n], n + 1)
        shown[cell.id] = len(history)


@contextlib.contextmanager
def ray_session(
    address: str | None = None,
    gpus_per_cell: float | None = None,
    cpus_per_cell: float | None = None,
    num_cpus: int | None = None,
) -> Iterator[RaySession]:
    """Connect to Ray (a local instance when ``address`` is None) and size the cells' tasks.

    ``gpus_per_cell=None`` gives each cell one GPU when the cluster has GPUs and none otherwise;
    ``cpus_per_cell=None`` one core. ``num_cpus`` caps a local instance (tests). A local instance
    started here is shut down on exit.
    """
    cpus_per_cell = 1.0 if cpus_per_cell is None else cpus_per_cell
    if cpus_per_cell <= 0 or (gpus_per_cell is not None and gpus_per_cell < 0):
        raise FerbenchError("--cpus-per-cell must be > 0 and --gpus-per-cell >= 0")
    try:
        import ray
    except ImportError:
        raise FerbenchError("--executor ray needs Ray: pip install 'ferbench[ray]' (or pip install ray)") from None
    started = False
    if not ray.is_initialized():
        _check_reachable(address)
        try:
            # address None starts a local instance (every core and GPU of this machine); "auto" or
            # "ray://host:10001" joins a running cluster.
            ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                     log_to_driver=True, configure_logging=False)
        except ConnectionError as err:
            raise FerbenchError(f"--ray-address {address}: no Ray cluster there ({err}); start one with "
                                "`ray start --head` or drop --ray-address to use a local instance") from None
        started = True
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        if gpus_per_cell is None:
            gpus_per_cell = 1.0 if gpus > 0 else 0.0
        if gpus_per_cell > gpus:
            raise FerbenchError(f"--gpus-per-cell {gpus_per_cell:g}: the Ray cluster has {gpus:g} GPUs; "
                                "ask for fewer (or 0 for CPU)")
        yield RaySession(ray, gpus_per_cell, cpus_per_cell)
    finally:
        if started:
            ray.shutdown()
