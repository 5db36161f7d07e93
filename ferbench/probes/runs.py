"""What every probe shares: a finished run opened for probing, and scoring transformed test images.

A probe never retrains: it loads the cell's best checkpoint and store through
:func:`ferbench.rundir.load_run` (the store by dataset name, from the data dir the run recorded or
``--data-dir``), perturbs the *stored* uint8 test images, and hands them to
:func:`ferbench.inference.predict` (the one place that turns uint8 images into model input) with
the run's own precision, so a probe at zero severity scores exactly what the run's test evaluation
scored. Run directories are found with :func:`ferbench.rundir.find_runs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferbench.errors import FerbenchError


class ProbeError(FerbenchError):
    """A probe asked of something that is not a finished run (or of bad probe options)."""


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
    amp: str = "auto"  # the precision the run evaluated with
    batch_size: int = 512

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Logits for uint8 ``images`` (any side; ``predict`` resizes to the model's input size)."""
        from ferbench.inference import predict

        out = predict(self.model, images, size=self.size, channels=self.channels, device=self.device,
                      batch_size=self.batch_size, amp=self.amp)
        return np.asarray(out["logits"])

    def accuracy(self, images: np.ndarray) -> float:
        """Top-1 accuracy of the model on ``images`` (same order as :attr:`labels`)."""
        # scikit-learn's accuracy alone: the full classification_metrics (AUCs, alpha) would cost more
        # than the forward pass on small test sets, and a probe evaluates dozens of conditions
        from sklearn.metrics import accuracy_score

        return float(accuracy_score(self.labels, self.predict(images).argmax(1)))



def load_probe_run(path: str | Path, device: str = "auto", batch_size: int = 512,
                   data_dir: str | Path | None = None) -> ProbeRun:
    """Open a finished run for probing (checkpoint on ``device``, test images in memory); its store from
    ``data_dir`` when given, else from the data dir the run recorded."""
    from ferbench.inference import resolve_device
    from ferbench.rundir import load_run

    path = Path(path)
    device = str(resolve_device(device))
    run = load_run(path)
    store = run.store(data_dir)
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
        amp=str(train_cfg.get("amp") or "auto"),
        batch_size=batch_size,
    )
