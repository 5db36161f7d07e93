"""What a grid shows while it trains: progress bars on a terminal; one plain line per epoch and per
finished cell when stdout is not one (a pipe, a log file under nohup, CI); nothing with ``--quiet``.

The runner and the Ray executor report the same four events (:class:`GridProgress`): the grid
starts, a cell finished an epoch, a cell finished, a cell failed and is tried again.
"""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def format_duration(seconds: float) -> str:
    """``HH:MM:SS`` (days beyond one)."""
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds < 86400 else f"{seconds / 86400:.1f} days"


def epoch_info(record: dict) -> str:
    """An epoch's train loss/accuracy, validation accuracy and throughput."""
    return (f"loss {record['train_loss']:.3f} acc {record['train_acc']:.3f} "
            f"val {record['val_acc']:.3f} {record['img_per_s']:,.0f} img/s")  # fmt: skip


class GridProgress:
    """Shows nothing (``--quiet``); the subclasses show bars or lines. Use as a context manager."""

    def start(self, name: str, epochs: dict[str, int], done_before: int) -> None:
        """The grid ``name`` trains the cells of ``epochs`` (cell id → epochs); ``done_before`` were finished."""

    def epoch(self, cell: str, record: dict, epochs_done: int) -> None:
        """``cell`` finished an epoch (``record``, its history.jsonl line); ``epochs_done`` in all."""

    def cell_done(self, cell: str, run_dir: Path) -> None:
        """``cell`` wrote its metrics."""

    def retry(self, cell: str, attempt: int, attempts: int, reason: str) -> None:
        """``cell`` failed (``reason``) and starts attempt ``attempt`` of at most ``attempts``."""

    def __enter__(self) -> GridProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None


class _Bars(GridProgress):
    def __init__(self, console: Console):
        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"),
                            TimeRemainingColumn(), console=console, transient=False)
        self.cells: dict[str, int] = {}

    def __enter__(self) -> _Bars:
        self.bar.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.__exit__(*exc)

    def start(self, name: str, epochs: dict[str, int], done_before: int) -> None:
        self.epochs = epochs
        self.grid = self.bar.add_task(f"grid {name} ({done_before} done before)", total=len(epochs), info="")

    def epoch(self, cell: str, record: dict, epochs_done: int) -> None:
        if cell not in self.cells:
            self.cells[cell] = self.bar.add_task(f"  {cell}", total=self.epochs[cell], info="")
        self.bar.update(self.cells[cell], completed=epochs_done, info=epoch_info(record))

    def cell_done(self, cell: str, run_dir: Path) -> None:
        if cell in self.cells:
            self.bar.update(self.cells.pop(cell), visible=False)
        self.bar.advance(self.grid)

    def retry(self, cell: str, attempt: int, attempts: int, reason: str) -> None:
        self.bar.console.print(retry_line(cell, attempt, attempts, reason), markup=False, highlight=False,
                               soft_wrap=True)


class _Lines(GridProgress):
    """Plain lines, flushed as they come: ``[3/8] CELL epoch 4/12 loss … img/s eta 0:00:32``."""

    def __init__(self, console: Console):
        self.console = console
        self.started: dict[str, tuple[float, int]] = {}  # cell -> (time, epochs done) at its first report
        self.finished = 0

    def _say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def start(self, name: str, epochs: dict[str, int], done_before: int) -> None:
        self.epochs, self.order, self.t0 = epochs, {c: i + 1 for i, c in enumerate(epochs)}, time.perf_counter()
        self._say(f"grid {name}: {len(epochs)} cells to train, {done_before} done before")

    def _tag(self, cell: str) -> str:
        return f"[{self.order.get(cell, '?')}/{len(self.epochs)}] {cell}"

    def epoch(self, cell: str, record: dict, epochs_done: int) -> None:
        now = time.perf_counter()
        t_first, n_first = self.started.setdefault(cell, (now - record.get("seconds", 0.0), epochs_done - 1))
        per_epoch = (now - t_first) / max(1, epochs_done - n_first)
        eta = per_epoch * max(0, self.epochs.get(cell, epochs_done) - epochs_done)
        self._say(f"{self._tag(cell)} epoch {epochs_done}/{self.epochs.get(cell, '?')} {epoch_info(record)} "
                  f"eta {format_duration(eta)}")

    def cell_done(self, cell: str, run_dir: Path) -> None:
        from ferbench import rundir

        self.finished += 1
        took = time.perf_counter() - self.started.get(cell, (self.t0, 0))[0]
        try:
            acc = f"test accuracy {rundir.read_metrics(run_dir)['accuracy']:.4f}"
        except (rundir.RunError, KeyError, TypeError):
            acc = "no test accuracy"
        left = len(self.epochs) - self.finished
        eta = (time.perf_counter() - self.t0) / self.finished * left
        self._say(f"{self._tag(cell)} done in {format_duration(took)}: {acc}; "
                  f"{left} cell(s) left, grid eta {format_duration(eta)}")

    def retry(self, cell: str, attempt: int, attempts: int, reason: str) -> None:
        self.started.pop(cell, None)  # its epochs restart from the checkpoint: a fresh ETA
        self._say(f"[{self.order.get(cell, '?')}/{len(self.epochs)}] {retry_line(cell, attempt, attempts, reason)}")


def retry_line(cell: str, attempt: int, attempts: int, reason: str) -> str:
    return f"{cell} failed ({' '.join(reason.split())[:200]}); attempt {attempt}/{attempts} resumes its last epoch"


def grid_progress(console: Console | None, quiet: bool) -> GridProgress:
    """Bars on a terminal, plain lines elsewhere, nothing when ``quiet``."""
    if quiet:
        return GridProgress()
    console = console or Console()
    return _Bars(console) if console.is_terminal else _Lines(console)
