"""Batched on-device augmentation: one function over a (B, C, H, W) float batch in [0, 1].

Everything is drawn from one ``torch.Generator`` living on the batch's device, so a run is
reproducible from its seed and the generator state can be checkpointed for exact resume. The
geometric part (pad-translate "random crop", horizontal flip, small rotation/scale) is folded into
one affine matrix per image and applied with a single ``grid_sample`` — no per-image Python.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    """Strengths of each augmentation; zero (or False) switches one off."""

    translate: float = 0.1  # max shift as a fraction of the side (= random crop from a padded image)
    flip: bool = True
    rotate: float = 10.0  # degrees, uniform in [-rotate, rotate]
    scale: float = 0.1  # zoom uniform in [1 - scale, 1 + scale]
    brightness: float = 0.2  # additive, uniform in [-b, b] (in [0, 1] pixel units)
    contrast: float = 0.2  # multiplicative around the image mean, uniform in [1 - c, 1 + c]
    erase_p: float = 0.25  # probability of erasing one rectangle
    erase_area: tuple[float, float] = (0.02, 0.15)  # fraction of the image erased

    def to_dict(self) -> dict:
        d = asdict(self)
        d["erase_area"] = list(self.erase_area)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> AugmentConfig:
        d = dict(d)
        if "erase_area" in d:
            d["erase_area"] = tuple(d["erase_area"])
        return cls(**d)


def _uniform(n: int, lo: float, hi: float, g: torch.Generator, device) -> torch.Tensor:
    return torch.rand(n, device=device, generator=g) * (hi - lo) + lo


def augment(x: torch.Tensor, g: torch.Generator, cfg: AugmentConfig) -> torch.Tensor:
    """Augment a float batch in [0, 1] (B, C, H, W); returns a new tensor, values clamped to [0, 1]."""
    b, _, h, w = x.shape
    dev = x.device
    # geometry: x_in = A · x_out in normalised coordinates; flip is a negative x-scale
    angle = _uniform(b, -cfg.rotate, cfg.rotate, g, dev) * (math.pi / 180)
    zoom = _uniform(b, 1 - cfg.scale, 1 + cfg.scale, g, dev)
    flip = (
        torch.where(torch.rand(b, device=dev, generator=g) < 0.5, -1.0, 1.0)
        if cfg.flip
        else torch.ones(b, device=dev)
    )
    shift = _uniform(2 * b, -2 * cfg.translate, 2 * cfg.translate, g, dev).view(b, 2)  # [-1,1] spans 2
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift[:, 0]], 1), torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    # photometric: contrast around each image's mean, then brightness
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    c = _uniform(b, 1 - cfg.contrast, 1 + cfg.contrast, g, dev).view(b, 1, 1, 1).to(x.dtype)
    bright = _uniform(b, -cfg.brightness, cfg.brightness, g, dev).view(b, 1, 1, 1).to(x.dtype)
    x = (x - mean) * c + mean + bright
    # random erasing: one rectangle per selected image, filled with uniform noise
    if cfg.erase_p > 0:
        area = _uniform(b, cfg.erase_area[0], cfg.erase_area[1], g, dev) * (h * w)
        aspect = torch.exp(_uniform(b, math.log(0.3), math.log(3.3), g, dev))
        eh = torch.sqrt(area * aspect).clamp(1, h)
        ew = torch.sqrt(area / aspect).clamp(1, w)
        y0 = torch.rand(b, device=dev, generator=g) * (h - eh)
        x0 = torch.rand(b, device=dev, generator=g) * (w - ew)
        on = torch.rand(b, device=dev, generator=g) < cfg.erase_p
        ys = torch.arange(h, device=dev).view(1, h, 1)
        xs = torch.arange(w, device=dev).view(1, 1, w)
        box = (
            (ys >= y0.view(b, 1, 1))
            & (ys < (y0 + eh).view(b, 1, 1))
            & (xs >= x0.view(b, 1, 1))
            & (xs < (x0 + ew).view(b, 1, 1))
            & on.view(b, 1, 1)
        )
        noise = torch.rand(x.shape, device=dev, generator=g, dtype=x.dtype)
        x = torch.where(box.unsqueeze(1), noise, x)
    return x.clamp_(0, 1)
