"""Grad-CAM (Selvaraju et al., 2017) on any zoo model, and overlay grids of test images per class.

Every zoo model names its target layer as ``model.cam_layer`` (the last spatial feature map of its
family: VGG's last stage, ResNet's ``layer4``, ...), so one ~30-line implementation serves all of
them: a forward hook keeps that layer's output A (B, K, h, w), the gradient of the target logit
with respect to A is averaged over space into channel weights α, and the map is ReLU(Σ_k α_k A_k),
bilinearly upsampled to the input and scaled to [0, 1] per image. The map is computed for the
*predicted* class, so for a misclassified face it shows what the model took as evidence for its
wrong answer.

The input goes through :func:`ferbench.inference.model_input` (``to_input`` + ``normalize``, the
batch half of :func:`ferbench.inference.predict`), so Grad-CAM sees exactly what evaluation sees.

For models that expose attention maps (DDAMFN's dual-direction attention heads, via
``model.last_attention_maps``), :func:`gradcam` also writes those maps as overlays.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ferbench import figure_style as style
from ferbench.inference import model_input as to_model_input
from ferbench.metrics import softmax
from ferbench.probes.outputs import probe_dir, write_outputs
from ferbench.probes.runs import ProbeError, ProbeRun, load_probe_run

TILE = 96  # side of one overlay tile in the grids (px)


def _as_map(a: torch.Tensor) -> torch.Tensor:
    """A layer output as (B, K, h, w): conv maps as they are, ViT-style tokens (B, N, K) on their grid."""
    if a.ndim == 4:
        return a
    if a.ndim == 3:
        n = a.shape[1]
        side = int(np.sqrt(n))
        extra = n - side * side  # class/distillation tokens in front of the patch grid
        if extra >= 0 and side > 0:
            return a[:, extra:].transpose(1, 2).reshape(a.shape[0], a.shape[2], side, side)
    raise ProbeError(f"Grad-CAM needs a (B,K,h,w) or (B,N,K) cam_layer output, got shape {tuple(a.shape)}")


def grad_cam(model: torch.nn.Module, x: torch.Tensor, target: torch.Tensor | None = None,
             layer: torch.nn.Module | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grad-CAM maps (B, H, W) in [0, 1] at the input's resolution, and the logits (B, C).

    ``x`` is model input (already normalised); ``target`` the class per image (default: predicted).
    """
    layer = layer if layer is not None else model.cam_layer
    acts: list[torch.Tensor] = []

    def keep(_module, _inp, out):
        if not isinstance(out, torch.Tensor):
            raise ProbeError(f"cam_layer {type(_module).__name__} returns {type(out).__name__}, not a tensor")
        acts.append(out)
        # later in-place ops (ReLU(inplace=True)) must not overwrite the activation we differentiate
        return out.clone()

    handle = layer.register_forward_hook(keep)
    try:
        model.eval()
        with torch.enable_grad():
            logits = model(x.detach().requires_grad_(True))["logits"]
            if target is None:
                target = logits.argmax(1)
            score = logits.gather(1, target.view(-1, 1).to(logits.device)).sum()
            (grad,) = torch.autograd.grad(score, acts[-1])
    finally:
        handle.remove()
    a, g = _as_map(acts[-1].detach().float()), _as_map(grad.float())
    cam = F.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    cam = cam / cam.flatten(1).amax(1).clamp(min=1e-12).view(-1, 1, 1)
    return cam.cpu().numpy(), logits.detach().float().cpu().numpy()


def probe_cams(probe: ProbeRun, images: np.ndarray, target: torch.Tensor | None = None,
               batch_size: int = 64) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Grad-CAM (and attention) maps of stored uint8 ``images`` at the *stored* resolution, and logits.

    The model may run at another input size (DDAMFN at 112 on a 48 px store); maps are resized back
    so they index the stored pixels.
    """
    cams, logits, attn = [], [], []
    for s in range(0, len(images), batch_size):
        x = to_model_input(images[s:s + batch_size], probe.size, probe.channels, probe.device)
        t = None if target is None else target[s:s + batch_size]
        cam, lg = grad_cam(probe.model, x, t)
        cams.append(cam)
        logits.append(lg)
        a = _attention_maps(probe.model, x.shape[-2:])  # maps of the forward pass grad_cam just ran
        if a is not None:
            attn.append(a)
    h, w = images.shape[1:3]

    def back(maps: list[np.ndarray]) -> np.ndarray:
        m = np.concatenate(maps)
        if m.shape[1:] == (h, w):
            return m
        return np.stack([cv2.resize(c, (w, h), interpolation=cv2.INTER_LINEAR) for c in m])

    return back(cams), np.concatenate(logits), (back(attn) if attn else None)


def overlay(image: np.ndarray, cam: np.ndarray, tile: int = TILE, alpha: float = 0.45) -> np.ndarray:
    """One RGB tile in [0, 1]: the face in grey with the map on top, in the colour map the figure's colour
    bar shows (:data:`ferbench.figure_style.CAM`); both resized to ``tile``."""
    import matplotlib

    face = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    face = cv2.resize(face, (tile, tile), interpolation=cv2.INTER_CUBIC).astype(np.float32) / 255.0
    heat = matplotlib.colormaps[style.CAM](np.clip(cv2.resize(cam, (tile, tile)), 0, 1))[..., :3]
    return (1 - alpha) * face[..., None] + alpha * heat


def grid_figure(tiles: list[np.ndarray], captions: list[str], path: Path, title: str, cols: int = 8,
                what: str = "Grad-CAM relevance") -> Path:
    """Tiles in rows of ``cols``, a caption under each, a wrapped title, the key under the grid and a
    colour bar of the overlay's scale; written as the PNG ``path``."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    t, cap, gap = tiles[0].shape[0], 30, 4
    cols = max(1, min(cols, len(tiles)))
    rows = -(-len(tiles) // cols)
    mosaic = np.ones((rows * (t + cap), cols * (t + gap) - gap, 3), np.float32)
    width = 1.0 * max(cols, 5) + 1.2
    with style.Canvas(style.stem_of(path), width=width, height=1.3 * rows + 1.2) as c:
        for i, tile in enumerate(tiles):
            r, k = divmod(i, cols)
            y, x = r * (t + cap), k * (t + gap)
            mosaic[y:y + t, x:x + t] = tile
            c.ax.text(x + t / 2, y + t + 2, captions[i], ha="center", va="top", fontsize=6.5)
        c.ax.imshow(mosaic, interpolation="nearest")
        c.ax.set_xticks([])
        c.ax.set_yticks([])
        for side in c.ax.spines.values():
            side.set_visible(False)
        key = (f"Under each face: its true class, then → the predicted class and its probability. "
               f"Colour: {what} for the predicted class, 0 = none, 1 = the image's maximum.")
        c.ax.set_xlabel(style.wrap(key, width - 1.2, style.SMALL), fontsize=style.SMALL)
        style.colorbar(c.fig, ScalarMappable(Normalize(0, 1), style.CAM), c.ax, f"{what} (1 = image max)")
        c.title(title)
    return c.paths[0]


def _attention_maps(model: torch.nn.Module, size: tuple[int, int]) -> np.ndarray | None:
    """(B, H, W) in [0, 1] from the last forward pass, for models that expose attention maps.

    DDAMFN's ``last_attention_maps`` is (B, heads, C, h, w); shown is what the model multiplies its
    features with — the element-wise max over heads — averaged over channels.
    """
    maps = getattr(model, "last_attention_maps", None)
    if maps is None:
        return None
    maps = maps.float()
    if maps.ndim == 5:
        maps = maps.amax(1).mean(1)
    elif maps.ndim == 4:
        maps = maps.amax(1)
    maps = F.interpolate(maps.unsqueeze(1), size=size, mode="bilinear", align_corners=False)[:, 0]
    lo = maps.flatten(1).amin(1).view(-1, 1, 1)
    hi = maps.flatten(1).amax(1).view(-1, 1, 1)
    return ((maps - lo) / (hi - lo).clamp(min=1e-12)).cpu().numpy()


def gradcam(
    run: str | Path,
    n: int = 16,
    *,
    out: str | Path | None = None,
    device: str = "auto",
    seed: int = 0,
    batch_size: int = 64,
    data_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, Path]:
    """Grad-CAM grids for one finished run: per class, up to ``n`` correct and ``n`` incorrect test faces.

    Images are drawn at random (seeded) among each (class, correct/incorrect) set. Writes
    ``gradcam/<class>_<correct|incorrect>.png`` (and ``..._attention.png`` for models with attention
    maps) plus ``gradcam/index.csv`` (class, kind, available, shown, file); returns that index and
    the probe directory.
    """
    if n < 1:
        raise ProbeError(f"--n must be at least 1, got {n}")
    probe = load_probe_run(run, device=device, data_dir=data_dir)
    pred = probe.predict(probe.images).argmax(1)
    rng = np.random.default_rng(seed)
    d = probe_dir(probe.path, probe.cell, out)
    (d / "gradcam").mkdir(exist_ok=True)
    rows, pictures = [], {}
    for c, name in enumerate(probe.classes):
        for kind, mask in (("correct", (probe.labels == c) & (pred == c)),
                           ("incorrect", (probe.labels == c) & (pred != c))):
            avail = np.flatnonzero(mask)
            pick = np.sort(rng.choice(avail, size=min(n, len(avail)), replace=False)) if len(avail) else avail
            row = {"class": name, "kind": kind, "available": len(avail), "shown": len(pick), "file": ""}
            if len(pick):
                row["file"] = f"{name}_{kind}.png"
                pictures.update(_grids(probe, pick, row["file"], f"Grad-CAM, {probe.cell}: {name}, {kind} "
                                       f"({len(pick)} of {len(avail)})", batch_size))
            rows.append(row)
    index = pd.DataFrame(rows, columns=["class", "kind", "available", "shown", "file"])
    files = {f"gradcam/{f}": write for f, write in pictures.items()}
    files["gradcam/index.csv"] = lambda tmp: index.to_csv(tmp, index=False)
    write_outputs(d, "gradcam", {"n": n, "seed": seed}, probe.path, files)
    return index, d


def _grids(probe: ProbeRun, pick: np.ndarray, file: str, title: str, batch_size: int) -> dict[str, Callable]:
    """Writers of the overlay grid of the ``pick``ed test images as ``file`` (and of its attention maps')."""
    imgs = probe.images[pick]
    cam, lg, maps = probe_cams(probe, imgs, batch_size=batch_size)
    p = softmax(lg)
    caps = [f"{probe.classes[int(probe.labels[i])]}\n→ {probe.classes[int(k)]} {p[j, k]:.2f}"
            for j, (i, k) in enumerate(zip(pick, lg.argmax(1), strict=True))]
    out = {file: lambda tmp: grid_figure([overlay(im, m) for im, m in zip(imgs, cam, strict=True)], caps, tmp,
                                         title)}
    if maps is not None:
        out[file.replace(".png", "_attention.png")] = lambda tmp: grid_figure(
            [overlay(im, m) for im, m in zip(imgs, maps, strict=True)], caps, tmp, title + " - attention maps",
            what="Attention weight")
    return out
