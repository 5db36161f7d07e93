"""One cell, from its resolved :class:`~ferbench.train.plan.Cell` to a finished run directory:
build → fit → evaluate → record.

Nothing is worked out again here: the store, protocol, axes, recipe and model spec come from the
cell. The run directory is claimed through :func:`ferbench.rundir.start_run`, so a finished cell
with the same identity is left alone, an interrupted one resumes and a changed one is refused
(unless ``force``).
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ferbench import rundir
from ferbench.data.store import SPLITS, StoreError, card_hash, open_store, read_card
from ferbench.inference import predict, resolve_device
from ferbench.metrics import classification_metrics, regression_metrics
from ferbench.models import create_model_from_spec
from ferbench.train.engine import fit
from ferbench.train.plan import Cell
from ferbench.train.recipe import ConfigError, TrainConfig


def train_cell(
    cell: Cell,
    *,
    out: str | Path,
    device: str = "auto",
    on_epoch: Callable[[dict, list[dict]], None] | None = None,
    command: str | None = None,
    force: bool = False,
) -> Path:
    """Train, test and record ``cell`` under ``out/<cell id>``; returns the run dir (untouched if finished).

    ``on_epoch(record, history)`` runs after each epoch's history is written. ``force`` retrains a
    finished, interrupted or changed cell from scratch.
    """
    run_dir = Path(out) / cell.id
    dev = resolve_device(device)
    if dev.type != cell.device_type:
        raise ConfigError(f"cell {cell.id} was planned for {cell.device_type} but would train on {dev}; "
                          f"pass --device {cell.device_type}")
    if card_hash(read_card(cell.store)) != cell.config["store_card"]["hash"]:
        raise StoreError(f"{cell.store} changed after the grid was planned; re-run the command")
    config = {**cell.config, "env": rundir.environment(str(dev)), "command": command or shlex.join(sys.argv)}
    if rundir.start_run(run_dir, config, force=force).state == "done":
        return run_dir

    store = open_store(cell.store)
    meta = store.meta
    tr, va, te = (store.indices(split, cell.fold) for split in SPLITS)
    if len(tr) == 0:
        raise StoreError(f"{store.root}: the training split is empty; check the store's splits/folds")
    cfg = TrainConfig.from_dict(cell.config["train"])
    torch.manual_seed(cell.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # static shapes: autotuned kernels pay off
    model = create_model_from_spec(cell.config["model"], pretrained=cell.config["pretrained"])

    def epoch_done(record: dict, history: list[dict]) -> None:
        rundir.write_history(run_dir, history)
        if on_epoch is not None:
            on_epoch(record, history)

    t0 = time.perf_counter()
    result = fit(model, store.images, meta["label"], tr, va, cfg, soft=store.soft, va=meta[["valence", "arousal"]],
                 seed=cell.seed, device=dev, state_path=rundir.state_path(run_dir), on_epoch=epoch_done)
    rundir.write_history(run_dir, result.history)
    rundir.write_model(run_dir, model)

    scoring = dict(index=te, size=cfg.size, channels=cfg.channels, device=dev, batch_size=cfg.eval_batch_size,
                   amp=cfg.amp)
    out_ = predict(model, store.images, flip=cfg.tta_flip, shift=cfg.tta_shift, **scoring)
    logits = out_["logits"].astype(np.float32)
    labels = meta["label"].to_numpy(np.int64)[te]
    arrays = {"logits": logits, "labels": labels, "index": te.astype(np.int64)}
    metrics = {k: config[k] for k in ("cell", "dataset", "arch", "attention", "activation", "seed", "fold", "classes")}
    metrics["n_test"] = len(te)
    metrics.update(classification_metrics(labels, logits, store.classes))
    # what test-time augmentation bought, from the same weights: the TTA rows of an ablation
    if cfg.tta_flip or cfg.tta_shift:
        plain = predict(model, store.images, **scoring)["logits"]
        metrics["accuracy_no_tta"] = float((plain.argmax(1) == labels).mean()) if len(te) else float("nan")
    if cfg.tta_flip and cfg.tta_shift:
        mirror = predict(model, store.images, flip=True, **scoring)["logits"]
        metrics["accuracy_flip_tta"] = float((mirror.argmax(1) == labels).mean()) if len(te) else float("nan")
    if out_["va"] is not None:
        arrays["va_pred"] = out_["va"].astype(np.float32)
        arrays["va_true"] = meta[["valence", "arousal"]].to_numpy(np.float32)[te]
        metrics["valence"] = regression_metrics(arrays["va_pred"][:, 0], arrays["va_true"][:, 0])
        metrics["arousal"] = regression_metrics(arrays["va_pred"][:, 1], arrays["va_true"][:, 1])
    rundir.write_logits(run_dir, **arrays)
    metrics.update({
        "params": sum(p.numel() for p in model.parameters()),
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "train_seconds": result.train_seconds,
        "wall_seconds": time.perf_counter() - t0,
        "resumed_from_epoch": result.resumed_from,
    })
    if result.discarded:
        metrics["discarded_state"] = result.discarded  # the damaged last.pt this training replaced
    rundir.finish_run(run_dir, metrics)  # last: marks the cell finished
    return run_dir
