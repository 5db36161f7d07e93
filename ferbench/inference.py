"""From stored uint8 images to model outputs: the one input pipeline that training, evaluation, the
probes and prediction on new images share, so a model always sees its input the way it was trained.

Public API
----------
``resolve_device(device)``
    ``"auto" | "cpu" | "cuda[:N]"`` (or a ``torch.device``) → ``torch.device``; asking for CUDA
    without one is a :class:`ferbench.errors.FerbenchError`.
``to_input(batch, size, channels)``
    uint8 ``(B, H, W)`` or ``(B, H, W, 3)`` → float ``(B, channels, size, size)`` in [0, 1].
``normalize(x01)``
    [0, 1] → [-1, 1], the one input scaling every ferbench model is trained and evaluated with.
``model_input(images, size, channels, device)``
    ``normalize(to_input(...))`` of a numpy batch, on ``device``: exactly what the model's forward sees.
``autocast(device, amp)``
    the bf16 autocast context the recipe's ``amp`` asks for (``"fp32"``: none).
``predict(model, images, *, size, channels, device, batch_size, amp, index, flip)``
    ``{"logits": (N, C) float32, "va": (N, 2) float32 | None}`` for images in store layout, in batches,
    model in eval mode.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ferbench.errors import FerbenchError

# ITU-R 601 luma, as OpenCV converts RGB to gray
_LUMA = (0.299, 0.587, 0.114)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` → CUDA when available else CPU; asking for CUDA without one is a user error."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise FerbenchError(f"--device {device} requested but no CUDA GPU is visible; use --device cpu")
    if device.split(":")[0] not in ("cpu", "cuda", "mps"):
        raise FerbenchError(f"--device must be auto, cpu or cuda, got {device!r}")
    return torch.device(device)


def to_input(batch: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """uint8 images in store layout (B,H,W) or (B,H,W,3) → float (B, channels, size, size) in [0, 1].

    RGB→gray uses ITU-R 601 luma (as OpenCV does); gray→RGB repeats the plane. Resizing is bilinear
    with antialiasing, so downscaling does not alias.
    """
    x = batch.unsqueeze(1) if batch.ndim == 3 else batch.permute(0, 3, 1, 2)
    x = x.float().div_(255.0)
    if x.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor(_LUMA, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    if x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    return x.contiguous()


def normalize(x01: torch.Tensor) -> torch.Tensor:
    """[0, 1] → [-1, 1]: the one input scaling every ferbench model is trained and evaluated with."""
    return x01 * 2.0 - 1.0


def model_input(images: np.ndarray, size: int, channels: int, device: str | torch.device) -> torch.Tensor:
    """Stored uint8 ``images`` as the normalised tensor the model sees, on ``device``."""
    batch = torch.from_numpy(np.ascontiguousarray(images)).to(resolve_device(device))
    return normalize(to_input(batch, size, channels))


def translate(x: torch.Tensor, dx: int, dy: int) -> torch.Tensor:
    """A normalised batch shifted ``dx`` pixels right and ``dy`` down; the uncovered border is black (-1)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0)), value=-1.0)
    return padded[..., max(-dy, 0) : max(-dy, 0) + h, max(-dx, 0) : max(-dx, 0) + w]


def autocast(device: torch.device, amp: str):
    """bf16 autocast when ``amp == "bf16"`` (on a CPU too: the recorded recipe is the one that ran)."""
    if amp == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


@torch.inference_mode()
def predict(
    model: nn.Module,
    images: np.ndarray | torch.Tensor,
    *,
    size: int,
    channels: int,
    device: str | torch.device = "cpu",
    batch_size: int = 512,
    amp: str = "auto",
    index: np.ndarray | torch.Tensor | None = None,
    flip: bool = False,
    shift: int = 0,
) -> dict:
    """Model outputs for uint8 images in store layout: ``{"logits": (N,C) float32, "va": (N,2) | None}``.

    ``images`` is a numpy array (a store's memmap) or a tensor already on ``device``; ``index`` picks
    rows of it (default: all). Each batch goes through :func:`to_input` (channels, antialiased resize
    to ``size``) and :func:`normalize`, exactly as in training. ``amp="auto"`` is bf16 on CUDA and
    fp32 elsewhere, the recipe's default; pass a run's recorded ``train.amp`` to score as it did.
    The model is moved to ``device`` and put in eval mode. Test-time augmentation: ``flip`` averages
    every output over the image and its horizontal mirror; ``shift`` (pixels) adds, for each of those
    views, its four translations by ``shift`` left, right, up and down (black fill, as training's
    translation pads), so flip and shift together average 10 views.
    """
    dev = resolve_device(device)
    amp = ("bf16" if dev.type == "cuda" else "fp32") if amp == "auto" else amp
    model.to(dev).eval()
    n = len(images) if index is None else len(index)
    logits, vas = [], []
    for s in range(0, n, batch_size):
        sel = slice(s, s + batch_size) if index is None else index[s : s + batch_size]
        b = images[sel]
        if isinstance(b, np.ndarray):
            b = torch.from_numpy(np.array(b))  # a copy: memmap slices are read-only
        x = normalize(to_input(b.to(dev, non_blocking=True), size, channels))
        views = [x, x.flip(-1)] if flip else [x]
        if shift:
            views += [translate(v, dx, dy) for v in views for dx, dy in
                      ((shift, 0), (-shift, 0), (0, shift), (0, -shift))]
        with autocast(dev, amp):
            outs = [model(v) for v in views]
        out = {k: sum(o[k].float() for o in outs) / len(outs) for k in outs[0]}
        logits.append(out["logits"].float())
        if "va" in out:
            vas.append(out["va"].float())
    c = getattr(getattr(model, "spec", None), "num_classes", 0)
    lg = torch.cat(logits) if logits else torch.zeros(0, c, device=dev)
    return {"logits": lg.cpu().numpy(), "va": torch.cat(vas).cpu().numpy() if vas else None}
