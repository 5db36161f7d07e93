"""The training engine: data lives on the device, batches are sliced and augmented there.

airbench-style: the uint8 images are copied to the training device once; each step indexes a
random permutation, converts/resizes/augments the batch on the device and runs the model, so a GPU
never waits on a Python data loader (and the CPU runs the very same code). ``fit`` takes arrays
(images, labels and the optional soft and valence/arousal targets), not a store, and keeps the whole
loop on one screen. Model input goes through :mod:`ferbench.inference` (``to_input`` + ``normalize``
for training batches, ``predict`` for validation), the pipeline evaluation and the probes use too.

Resume: after every epoch ``fit`` writes ``state_path`` (model, optimizer, scheduler, the
augmentation/permutation generator, the global RNG, best weights and history) atomically, and a
call with an existing ``state_path`` continues from there. On a CPU the result is bit-identical to
an uninterrupted run with the same seed. The state is read through
:func:`ferbench.models.checkpoint.load_state` (tensors and plain values only, digest-checked); a
damaged one is reported (a warning, and ``FitResult.discarded``) and training starts from scratch.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ferbench.errors import FerbenchError
from ferbench.inference import autocast, normalize, predict, resolve_device, to_input
from ferbench.models.checkpoint import load_state, save_state
from ferbench.models.errors import CheckpointError
from ferbench.train.augment import augment
from ferbench.train.recipe import TrainConfig

log = logging.getLogger("ferbench.train")

def make_optimizer(model: nn.Module, cfg: TrainConfig, dev: torch.device) -> torch.optim.Optimizer:
    # weight decay on weights only: decaying biases and norm scales hurts and is not what papers do
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    fused = {"fused": True} if dev.type == "cuda" else {}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True, **fused)
    cls = torch.optim.Adam if cfg.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=cfg.lr, betas=(cfg.momentum, 0.999), **fused)


def make_scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, steps_per_epoch: int):
    """A per-step schedule with linear warm-up; one-cycle is torch's own (it has its own warm-up)."""
    total = cfg.epochs * steps_per_epoch
    warm = min(int(cfg.warmup_epochs * steps_per_epoch), total - 1)
    if cfg.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt,
            max_lr=cfg.lr,
            total_steps=total,
            pct_start=max(warm / total, 0.05),
            cycle_momentum=cfg.optimizer == "sgd",
        )
    floor = cfg.min_lr_ratio

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        if cfg.scheduler == "cosine":
            t = (step - warm) / max(1, total - warm)
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
        if cfg.scheduler == "step":
            return cfg.step_gamma ** ((step // steps_per_epoch) // cfg.step_size)
        if cfg.scheduler == "cosine_restarts":
            period = cfg.restart_epochs * steps_per_epoch
            t = ((step - warm) % period) / period
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t))
        return 1.0

    return torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _loss(
    out: dict, y: torch.Tensor, soft: torch.Tensor | None, va: torch.Tensor | None, cfg: TrainConfig
) -> torch.Tensor:
    logits = out["logits"].float()
    loss = F.cross_entropy(logits, soft if soft is not None else y, label_smoothing=cfg.label_smoothing)
    if "va" in out and va is not None:
        known = torch.isfinite(va)  # AffectNet-style stores have VA for some images only
        diff = torch.where(known, out["va"].float() - torch.nan_to_num(va), 0.0)
        loss = loss + cfg.va_weight * diff.pow(2).sum() / known.sum().clamp(min=1)
    if "aux_loss" in out:
        loss = loss + out["aux_loss"].float()
    return loss


@dataclass
class FitResult:
    history: list[dict]
    best_epoch: int  # 1-based; the weights left in the model are this epoch's
    epochs_run: int
    train_seconds: float
    resumed_from: int = 0  # epochs already done when this call started
    discarded: str | None = None  # why a damaged resumable state was ignored (training restarted)


@dataclass
class _State:
    epoch: int = 0
    history: list[dict] = field(default_factory=list)
    best_acc: float = -1.0
    best_epoch: int = 0
    best_weights: dict | None = None
    bad_epochs: int = 0
    stopped: bool = False  # early-stopped: a resume must not train further


def _on_device(images, labels, soft, va, dev: torch.device) -> dict[str, torch.Tensor | None]:
    """The training data on the device, once: uint8 images, labels, soft targets, valence/arousal."""

    def floats(a):
        return None if a is None else torch.as_tensor(np.array(a, np.float32), device=dev)

    return {
        "images": torch.from_numpy(np.array(images)).to(dev),  # np.array: a writable in-RAM copy
        "labels": torch.as_tensor(np.array(labels, np.int64), device=dev),
        "soft": floats(soft),
        "va": floats(va),
    }


def _evaluate(model, data: dict, idx: torch.Tensor, cfg: TrainConfig, dev) -> tuple[float, float]:
    """Validation loss (plain CE) and accuracy; NaN when there is no validation split."""
    if len(idx) == 0:
        return float("nan"), float("nan")
    out = predict(model, data["images"], index=idx, size=cfg.size, channels=cfg.channels, device=dev,
                  batch_size=cfg.eval_batch_size, amp=cfg.amp)
    logits, y = torch.from_numpy(out["logits"]), data["labels"][idx].cpu()
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def _resumable(model, opt, sched, g: torch.Generator, st: _State) -> dict:
    cuda = g.device.type == "cuda"
    return {
        "model": model.state_dict(),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "generator": g.get_state(),
        "torch_rng": torch.get_rng_state(),  # dropout and other global-RNG draws
        "cuda_rng": torch.cuda.get_rng_state() if cuda else None,
        "state": vars(st),
    }


def _resume(path: Path, ck: dict, model, opt, sched, g: torch.Generator) -> _State:
    try:
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        g.set_state(ck["generator"])
        torch.set_rng_state(ck["torch_rng"])
        if g.device.type == "cuda" and ck.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(ck["cuda_rng"])
        return _State(**ck["state"])
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        # intact (its digest matched) but of another model or recipe: run identity should have refused it
        raise CheckpointError(f"{path} does not fit this model and recipe ({type(err).__name__}: "
                              f"{' '.join(str(err).split())[:160]}); delete it to train the cell from scratch"
                              ) from None


def _load_or_discard(path: Path | None) -> tuple[dict | None, str | None]:
    """The saved state at ``path`` (None when there is none) or, when it is damaged, None and why."""
    if path is None or not Path(path).is_file():
        return None, None
    try:
        return load_state(path), None
    except CheckpointError as err:
        why = f"{err}; training this cell again from scratch"
        log.warning("%s", why)
        return None, why


def fit(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    train_idx: np.ndarray,
    val_idx: np.ndarray,
    cfg: TrainConfig,
    *,
    soft: np.ndarray | None = None,
    va: np.ndarray | None = None,
    seed: int = 0,
    device: str = "auto",
    state_path: Path | None = None,
    on_epoch: Callable[[dict, list[dict]], None] | None = None,
) -> FitResult:
    """Train ``model`` on rows ``train_idx`` of ``images``/``labels``, early-stopping on ``val_idx``; the
    best weights are restored.

    ``images`` are uint8 in store layout ((N,H,W) or (N,H,W,3)), ``labels`` class ids (N,); ``soft``
    (N,C) soft targets replace the labels in the loss, ``va`` (N,2) valence/arousal (NaN where unknown)
    feed a ``cls+va`` head. ``cfg`` must be resolved (:meth:`TrainConfig.resolve`).
    ``on_epoch(record, history)`` is called after each epoch's state is saved (history.jsonl, progress).
    """
    dev = resolve_device(device)
    data = _on_device(images, labels, soft, va, dev)
    images, labels, soft, va = data["images"], data["labels"], data["soft"], data["va"]
    tr = torch.as_tensor(np.asarray(train_idx, np.int64), device=dev)
    val = torch.as_tensor(np.asarray(val_idx, np.int64), device=dev)
    bs, steps = cfg.batch_size, len(tr) // cfg.batch_size  # drop_last: every step has one static shape
    if steps == 0:
        raise FerbenchError(f"{len(tr)} training images, fewer than one batch of {cfg.batch_size}; "
                            "check the store's splits/folds or lower --batch-size")
    memfmt = torch.channels_last if cfg.channels_last == "on" else torch.contiguous_format
    model.to(dev, memory_format=memfmt)
    opt = make_optimizer(model, cfg, dev)
    sched = make_scheduler(opt, cfg, steps)
    g = torch.Generator(dev).manual_seed(seed)  # batch order and augmentation
    ck, discarded = _load_or_discard(state_path)
    st = _resume(Path(state_path), ck, model, opt, sched, g) if ck is not None else _State()
    resumed_from, step_model = st.epoch, torch.compile(model, mode=cfg.compile_mode) if cfg.compile else model
    for epoch in range(st.epoch, 0 if st.stopped else cfg.epochs):
        model.train()
        t0, loss_sum, correct = time.perf_counter(), torch.zeros((), device=dev), torch.zeros((), device=dev)
        perm = tr[torch.randperm(len(tr), device=dev, generator=g)]
        for i in range(steps):
            idx = perm[i * bs : (i + 1) * bs]
            x = normalize(augment(to_input(images[idx], cfg.size, cfg.channels), g, cfg.augment))
            with autocast(dev, cfg.amp):
                out = step_model(x.contiguous(memory_format=memfmt))
            loss = _loss(out, labels[idx], None if soft is None else soft[idx], None if va is None else va[idx], cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
            sched.step()
            loss_sum += loss.detach()  # accumulated on-device: no host sync inside the epoch
            correct += (out["logits"].argmax(1) == labels[idx]).sum()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - t0
        val_loss, val_acc = _evaluate(model, data, val, cfg, dev)
        record = {"epoch": epoch + 1, "train_loss": loss_sum.item() / steps,
                  "train_acc": correct.item() / (steps * bs), "val_loss": val_loss, "val_acc": val_acc,
                  "lr": opt.param_groups[0]["lr"], "seconds": seconds, "img_per_s": steps * bs / seconds}
        st.history.append(record)
        score = val_acc if len(val) else float(epoch)  # no val split: the last epoch is the best
        if score > st.best_acc:
            st.best_acc, st.best_epoch, st.bad_epochs = score, epoch + 1, 0
            st.best_weights = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            st.bad_epochs += 1
        st.epoch, st.stopped = epoch + 1, bool(cfg.patience) and st.bad_epochs >= cfg.patience
        if state_path is not None:
            save_state(_resumable(model, opt, sched, g, st), state_path)
        if on_epoch is not None:
            on_epoch(record, st.history)
        if st.stopped:
            break
    model.load_state_dict(st.best_weights)
    seconds = float(sum(r["seconds"] for r in st.history))
    return FitResult(st.history, st.best_epoch, st.epoch, seconds, resumed_from, discarded)
