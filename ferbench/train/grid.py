"""The grid runner: plan a :class:`~ferbench.train.spec.GridSpec` into cells, check them against what
is on disk, and train the ones left — one after another here, or as Ray tasks.

A finished cell whose config matches is skipped and an interrupted one resumes, so re-running the
same command after a crash or Ctrl-C continues where it stopped. A cell on disk with another
configuration (other epochs, size, store content...) is refused before anything trains, naming the
differing keys; ``force`` retrains every selected cell into its directory.

Faults (:mod:`ferbench.train.faults`): the runs root is locked for one driver
(:func:`ferbench.rundir.lock_runs`); a cell that crashes is retried from its last epoch up to
``retries`` times and, failing that, named at the end while the others finish; SIGTERM stops the
grid like Ctrl-C, every cell keeping its last finished epoch.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from ferbench import rundir
from ferbench.errors import FerbenchError
from ferbench.inference import resolve_device
from ferbench.train.cell import train_cell
from ferbench.train.faults import Retries, sigterm_stops
from ferbench.train.plan import Cell, select_cells
from ferbench.train.progress import GridProgress, grid_progress
from ferbench.train.recipe import ConfigError, TrainConfig
from ferbench.train.spec import GridSpec

EXECUTORS = ("local", "ray")
RAY_FLAGS = {"address": "--ray-address", "gpus_per_cell": "--gpus-per-cell", "cpus_per_cell": "--cpus-per-cell"}


def _to_train(cells: list[Cell], out: Path, force: bool) -> list[Cell]:
    """The cells that need training; a changed cell is refused (one line, its keys) unless ``force``."""
    todo = []
    for c in cells:
        st = rundir.status(out / c.id, c.config)
        if st.state == "changed" and not force:
            raise rundir.RunError(st.message(out / c.id))
        if force or st.state != "done":
            todo.append(c)
    return todo


def _train_here(todo: list[Cell], options: dict, progress: GridProgress, retries: Retries) -> None:
    for c in todo:
        def show(record: dict, history: list[dict], cell: str = c.id) -> None:
            progress.epoch(cell, record, len(history))

        while True:
            # a retry resumes the attempt before it: --force applies to the first attempt only
            again = {"force": False} if retries.attempt(c.id) > 1 else {}
            try:
                progress.cell_done(c.id, train_cell(c, on_epoch=show, **{**options, **again}))
                break
            except FerbenchError as err:  # the user's to fix, and the same for every cell
                raise err if c.id in str(err) else type(err)(f"cell {c.id}: {err}") from None
            except Exception as err:  # noqa: BLE001  (any crash is retried, bounded)
                reason = f"{type(err).__name__}: {err}"
                if not retries.again(c.id, reason):
                    break
                progress.retry(c.id, retries.attempt(c.id), retries.retries + 1, reason)
    retries.check(len(todo))


def run_grid(
    spec: GridSpec | None = None,
    *,
    out: str | Path | None = None,
    data_dir: str | Path = Path("data"),
    device: str = "auto",
    quiet: bool = False,
    filter: str | list[str] | None = None,  # noqa: A002  (the CLI option's name)
    folds: list[int] | None = None,
    console: Console | None = None,
    command: str | None = None,
    executor: str = "local",
    ray_options: dict | None = None,
    force: bool = False,
    retries: int = 2,
    **kwargs,
) -> list[Path]:
    """Train every cell of ``spec`` (or of ``GridSpec(**kwargs)``) that needs it; returns all its run dirs.

    ``out`` defaults to ``results/runs/<spec.name>``. ``executor="local"`` trains the cells one after
    another in this process; ``"ray"`` hands each to a Ray task (:mod:`ferbench.train.cluster`;
    ``ray_options``: ``address``, ``gpus_per_cell``, ``cpus_per_cell``, ``num_cpus``). A cell that
    crashes is retried from its last epoch up to ``retries`` times; cells that fail every attempt are
    raised together (:class:`~ferbench.train.faults.CellsFailed`) once the others finished. The runs
    root is locked for the duration (a second driver is refused); SIGTERM raises
    :class:`~ferbench.train.faults.Preempted` after the cells' last finished epochs are on disk.
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    given = [k for k, v in (ray_options or {}).items() if v is not None and k in RAY_FLAGS]
    if executor != "ray" and given:
        raise ConfigError(f"{', '.join(RAY_FLAGS[k] for k in given)} only apply with --executor ray")
    spec = spec if spec is not None else GridSpec.from_dict(kwargs)
    spec.validate()
    tries = Retries(retries)
    out = Path(out) if out is not None else Path("results/runs") / spec.name
    blocker = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ConfigError(f"--out {out}: {blocker} is a file; pass a folder for the run directories")
    # the driver's command, also for cells trained elsewhere
    options = {"out": out, "device": device, "command": command or shlex.join(sys.argv), "force": force}

    def prepare(device_type: str) -> tuple[list[Cell], list[Cell]]:
        cells = select_cells(spec, data_dir, device_type=device_type, filter=filter, folds=folds)
        return cells, _to_train(cells, out, force)

    with sigterm_stops(), rundir.lock_runs(out, options["command"]) as stale:
        if stale is not None and not quiet:
            (console or Console(stderr=True)).print(
                f"note: took over the lock of {stale.describe()}, a process that is gone", markup=False,
                highlight=False, soft_wrap=True)
        if executor == "ray":
            from ferbench.train.cluster import ray_session

            with ray_session(**(ray_options or {})) as session, sigterm_stops():  # after ray.init's own handler
                cells, todo = prepare(session.device_type(device))
                options["out"] = str(out.resolve())  # a worker's working directory is not the driver's
                with grid_progress(console, quiet) as progress:
                    progress.start(spec.name, _epochs(todo), len(cells) - len(todo))
                    session.run(todo, options, progress, tries)
        else:
            cells, todo = prepare(resolve_device(device).type)
            with grid_progress(console, quiet) as progress:
                progress.start(spec.name, _epochs(todo), len(cells) - len(todo))
                _train_here(todo, options, progress, tries)
    return [out / c.id for c in cells]


def _epochs(cells: list[Cell]) -> dict[str, int]:
    return {c.id: TrainConfig.from_dict(c.config["train"]).epochs for c in cells}


def train_one(
    dataset: str,
    arch: str,
    attention: str = "default",
    activation: str = "default",
    seed: int = 0,
    fold: int | None = None,
    *,
    train: dict | None = None,
    heads: str = "cls",
    model_kwargs: dict | None = None,
    protocol: str = "auto",
    out: str | Path = Path("results/runs/default"),
    data_dir: str | Path = Path("data"),
    device: str = "auto",
    on_epoch: Callable[[dict, list[dict]], None] | None = None,
    command: str | None = None,
    force: bool = False,
) -> Path:
    """Plan and train one cell (a one-cell grid); returns its run dir. ``fold`` picks one fold of a
    k-fold store, which then needs it."""
    spec = GridSpec(datasets=[dataset], archs=[arch], attentions=[attention], activations=[activation],
                    seeds=[seed], protocol=protocol, heads=heads, train=dict(train or {}),
                    model_kwargs=dict(model_kwargs or {}))
    spec.validate()
    cells = select_cells(spec, data_dir, device_type=resolve_device(device).type,
                         folds=None if fold is None else [fold])
    if len(cells) > 1:
        raise ConfigError(f"{cells[0].store} is evaluated with {len(cells)}-fold CV: pass fold=0..{len(cells) - 1} "
                          "(or use run_grid, which trains every fold)")
    return train_cell(cells[0], out=out, device=device, on_epoch=on_epoch, command=command, force=force)
