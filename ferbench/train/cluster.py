"""A grid's cells as Ray tasks: one task per cell, on a Ray cluster or a local Ray instance.

Cells are independent, so a grid fans out. Each cell becomes a task that runs
:func:`ferbench.train.grid.train_cell` on whichever node Ray picks, holding ``gpus_per_cell`` GPUs
(a fraction such as 0.25 packs four small FER models onto one GPU) and ``cpus_per_cell`` cores.
Only paths and options cross the network. Every node must see the store folder and ``--out`` at the
same absolute path, which means a shared filesystem (NFS on a SLURM or Kubernetes cluster), and must
have ferbench installed. Resuming works as in a local grid: each run directory is written atomically
where all nodes can see it. A re-run skips finished cells and resumes interrupted ones, whichever
node trained them.

Progress: a worker's epochs cannot call back into the driver's progress bars, so the driver reads
each cell's ``history.jsonl`` from the shared folder while it waits.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

from rich.progress import Progress

from ferbench.errors import FerbenchError
from ferbench.train import rundir


def _train_remote(job: dict) -> str:
    from ferbench.train.grid import train_cell

    return str(train_cell(**job))


def _connect(address: str | None, num_cpus: int | None):
    try:
        import ray
    except ImportError:
        raise FerbenchError("--executor ray needs Ray: pip install 'ferbench[ray]' (or pip install ray)") from None
    if ray.is_initialized():
        return ray, False
    _check_reachable(address)
    try:
        # address None starts a local instance (every core and GPU of this machine); "auto" or
        # "ray://host:10001" joins a running cluster.
        ray.init(address=address, num_cpus=num_cpus if address is None else None, include_dashboard=False,
                 log_to_driver=True, configure_logging=False)
    except ConnectionError as err:
        raise FerbenchError(f"--ray-address {address}: no Ray cluster there ({err}); start one with "
                            "`ray start --head` or drop --ray-address to use a local instance") from None
    return ray, True


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


def run_on_ray(
    jobs: list[tuple],
    *,
    bar: Progress | None = None,
    grid_task=None,
    epochs: int = 0,
    address: str | None = None,
    gpus_per_cell: float | None = None,
    cpus_per_cell: float | None = None,
    num_cpus: int | None = None,
) -> None:
    """Train ``jobs`` (``(cell, train_cell keywords)`` pairs from :func:`ferbench.train.grid.run_grid`)
    as Ray tasks and wait for all of them.

    ``gpus_per_cell=None`` gives each cell one GPU when the cluster has GPUs and none otherwise;
    ``cpus_per_cell=None`` one core.
    ``num_cpus`` caps a local instance (tests). The first failing cell cancels the cells not yet
    finished (their last epoch is kept and resumes on a re-run) and is raised: a ferbench error as
    it is, with the cell named; anything else chained to Ray's error, which carries the worker's traceback.
    """
    if not jobs:
        return
    cpus_per_cell = 1.0 if cpus_per_cell is None else cpus_per_cell
    if cpus_per_cell <= 0 or (gpus_per_cell is not None and gpus_per_cell < 0):
        raise FerbenchError("--cpus-per-cell must be > 0 and --gpus-per-cell >= 0")
    ray, started = _connect(address, num_cpus)
    try:
        gpus = ray.cluster_resources().get("GPU", 0)
        if gpus_per_cell is None:
            gpus_per_cell = 1.0 if gpus > 0 else 0.0
        if gpus_per_cell > gpus:
            raise FerbenchError(f"--gpus-per-cell {gpus_per_cell:g}: the Ray cluster has {gpus:g} GPUs; "
                                "ask for fewer (or 0 for CPU)")
        task = ray.remote(num_cpus=cpus_per_cell, num_gpus=gpus_per_cell, max_retries=0)(_train_remote)
        pending = {}
        for cell, job in jobs:
            # absolute paths: a worker's working directory is not the driver's
            job = {**job, "out": str(Path(job["out"]).resolve()), "data_dir": str(Path(job["data_dir"]).resolve())}
            pending[task.remote(job)] = (cell, Path(job["out"]) / cell.id)
        shown: dict = {}
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                cell, run_dir = pending.pop(ref)
                try:
                    ray.get(ref)
                except ray.exceptions.RayError as err:
                    for other in pending:
                        ray.cancel(other)
                    cause = getattr(err, "cause", None)
                    if isinstance(cause, FerbenchError):
                        raise type(cause)(f"cell {cell.id}: {cause}") from None
                    raise FerbenchError(f"cell {cell.id} failed on its Ray worker: "
                                        f"{' '.join(str(cause or err).split())[:400]}") from err
                if bar is not None:
                    if cell.id in shown:
                        bar.update(shown.pop(cell.id), visible=False)
                    bar.advance(grid_task)
            if bar is not None:
                _show_epochs(bar, pending.values(), shown, epochs)
    finally:
        if started:
            ray.shutdown()


def _show_epochs(bar: Progress, running, shown: dict, epochs: int) -> None:
    """An epoch bar for every cell whose history.jsonl has lines, updated from its last record."""
    from ferbench.train.grid import epoch_info

    for cell, run_dir in running:
        path = run_dir / rundir.HISTORY
        try:
            lines = [x for x in path.read_text().splitlines() if x.strip()] if path.is_file() else []
            record = json.loads(lines[-1]) if lines else None
        except (OSError, json.JSONDecodeError):  # being replaced right now: the next poll reads it
            continue
        if record is None:
            continue
        if cell.id not in shown:
            shown[cell.id] = bar.add_task(f"  {cell.id}", total=epochs, info="")
        bar.update(shown[cell.id], completed=len(lines), info=epoch_info(record))
