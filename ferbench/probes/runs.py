"""What every probe shares: find finished run directories, load one, and score transformed test images.

A probe never retrains: it loads the cell's best checkpoint and store through
:func:`ferbench.train.rundir.load_run`, perturbs the *stored* uint8 test images, and hands them to
:func:`ferbench.train.engine.predict` (the one place that turns uint8 images into model input), so
a probe at zero severity scores exactly what the run's own test evaluation scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferbench.errors import FerbenchError


class ProbeError(FerbenchError):
    """A probe asked of something that is not a finished run (or of bad probe options)."""


class FoundRuns(list):
    """The finished run directories, plus ``unfinished``: cells under a root that were skipped."""

    unfinished: list[Path]


def find_runs(paths: list[str | Path] | tuple[str | Path, ...]) -> FoundRuns:
    """Finished run directories named by ``paths``: each is a run dir or a root searched recursively.

    Unfinished cells under a root are skipped (a grid may still be running) and listed in
    ``.unfinished`` for the CLI to count; a path with no finished cell at all is an error naming it.
    """
    from ferbench.train.rundir import CONFIG, METRICS, is_finished
    from ferbench.train.rundir import find_runs as finished_under

    if not paths:
        raise ProbeError("no run given: pass run directories or a runs root, e.g. results/runs/demo")
    found, unfinished = FoundRuns(), []
    for p in map(Path, paths):
        if not p.exists():
            raise ProbeError(f"{p} does not exist: pass a run directory or a runs root (e.g. results/runs/)")
        if is_finished(p):
            found.append(p)
            continue
        below = finished_under(p)
        if not below:
            raise ProbeError(
                f"{p} holds no finished run (no metrics.json under it): train one with `ferbench train` first"
            )
        found.extend(below)
        unfinished += [c.parent for c in sorted(p.rglob(CONFIG)) if not (c.parent / METRICS).is_file()]
    # the same cell named twice (a dir and its root) is probed once
    runs = FoundRuns(dict.fromkeys(found))
    runs.unfinished = list(dict.fromkeys(unfinished))
    return runs


@dataclass
class ProbeRun:
    """One finished cell opened for probing: its model, its test images and how to score them."""

    path: Path
    cell: str
    model: object
    images: np.ndarray  # the stored uint8 test images, (N, H, W) or (N, H, W, C), in memory
    labels: np.ndarray  # (N,) int64 class ids
    index: np.ndarray  # (N,) store row ids of the test images
    classes: list[str]
    meta: object  # the store's meta DataFrame (all rows)
    size: int  # model input side
    channels: int  # model input channels
    device: str
    batch_size: int = 512

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Logits for uint8 ``images`` (any side; ``predict`` resizes to the model's input size)."""
        from ferbench.train.engine import predict

        out = predict(self.model, images, size=self.size, channels=self.channels, device=self.device,
                      batch_size=self.batch_size)
        return np.asarray(out["logits"])

    def accuracy(self, images: np.ndarray) -> float:
        """Top-1 accuracy of the model on ``images`` (same order as :attr:`labels`)."""
        # scikit-learn's accuracy alone: the full classification_metrics (AUCs, alpha) would cost more
        # than the forward pass on small test sets, and a probe evaluates dozens of conditions
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(self.labels, self.predict(images).argmax(1)))

    def out_dir(self, out: str | Path | None) -> Path:
        return probe_dir(self.path, self.cell, out)


def probe_dir(run_path: Path, cell: str, out: str | Path | None) -> Path:
    """Where a run's probe files go: ``<run>/probes`` or, with ``--out``, ``<out>/<cell id>`` (created)."""
    d = Path(run_path) / "probes" if out is None else Path(out) / cell
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # --out is a file (or under one), or not writable
        raise ProbeError(f"cannot write probe results to {d} ({err.strerror}); pass --out a writable folder"
                         ) from None
    return d


def load_probe_run(path: str | Path, device: str = "auto", batch_size: int = 512) -> ProbeRun:
    """Open a finished run for probing (checkpoint on ``device``, test images in memory)."""
    from ferbench.train.engine import resolve_device
    from ferbench.train.rundir import load_run

    path = Path(path)
    device = str(resolve_device(device))
    run = load_run(path)
    store = run.store()
    index = np.asarray(run.test_indices(), dtype=np.int64)
    if len(index) == 0:
        raise ProbeError(f"{path}: the run's test split is empty in {store.root}; nothing to probe")
    model = run.model(device=device).eval()
    train_cfg = run.config.get("train", {})
    return ProbeRun(
        path=path,
        cell=str(run.config.get("cell", path.name)),
        model=model,
        images=np.ascontiguousarray(store.images[index]),
        labels=store.meta["label"].to_numpy()[index].astype(np.int64),
        index=index,
        classes=list(run.config.get("classes") or store.classes),
        meta=store.meta,
        size=int(train_cfg.get("size") or store.size),
        channels=int(train_cfg.get("channels") or store.channels),
        device=device,
        batch_size=batch_size,
    )
