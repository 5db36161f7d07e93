"""The three FER CNNs of the Mersen130 benchmark (AER-CNN, MSFF-CNN, DRF+MSAM), built from its text.

The source gives descriptions, not layer tables; where it leaves a choice open we take what its text
implies and keep the networks FER2013-sized (48×48, 3 stages, /8). Common to all three: 3×3 conv +
BN + ``act_layer`` units (timm ``ConvNormAct``), the ``attention`` axis (se/eca/cbam/coord) inserted
after the convs of every stage (like VGG), a dropout-regularised FC layer before :class:`FerHead`.

- ``aer_cnn`` — Attention-based Emotion Region CNN: "an attention mechanism (e.g. self-attention or
  spatial attention) to weigh the importance of facial regions, applied to the feature maps at
  different layers; the attention-weighted maps are fused before the FC layers". We use a learned
  *spatial region attention* (1×1 conv bottleneck → 1-channel sigmoid map, ``x·a``) at the end of each
  of 3 stages (64-128-256, 2 convs each), then fuse by concatenating the global-average-pooled
  attended maps of all stages (64+128+256) → FC 256 → head.
- ``msff_cnn`` — Multi-Scale Feature Fusion CNN: a plain conv/act/pool trunk (32-64-128, 2 convs per
  stage); "after each pooling layer a parallel branch extracts features at different scales" — a
  branch of parallel 1×1 / 3×3 / 5×5 convs (concatenated, 3×32 channels) — and "the outputs of these
  branches are fused by concatenation": global-average-pooled branch outputs of the three stages are
  concatenated (3×96) → FC 256 → head.
- ``drf_msam`` — Dynamic Receptive Field + Multi-Scale Attention Module: the DRF layer "adjusts the
  receptive field size based on the input" — that is a selective-kernel convolution, so it is timm's
  ``SelectiveKernel`` (3×3 and dilated 3×3 paths mixed by input-dependent softmax weights). MSAM
  (hand-written, timm has none) computes spatial attention logits from channel mean/max maps at
  scales 1, 1/2, 1/4 (3×3 conv each, upsampled), sums them, and gates the features with their sigmoid.
  Stem conv 32 → 3 stages (64-128-256) of DRF → MSAM → pool → GAP → dropout → head.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from timm.layers import ConvNormAct, SelectiveKernel
from torch import nn

from ferbench.models.activations import get_activation
from ferbench.models.attention import create_attention
from ferbench.models.base import FerNet
from ferbench.models.heads import FerHead
from ferbench.models.registry import register_model


class RegionAttention(nn.Module):
    """Spatial attention over facial regions: 1×1 conv C→C/8 → act → 1×1 conv → sigmoid map (B,1,H,W)."""

    def __init__(self, channels: int, act_layer):
        super().__init__()
        hidden = max(8, channels // 8)
        self.score = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), act_layer(inplace=True), nn.Conv2d(hidden, 1, 1)
        )
        self.last_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = torch.sigmoid(self.score(x))
        self.last_map = a.detach()
        return x * a


class MultiScaleAttention(nn.Module):
    """MSAM: spatial attention from [mean, max] channel descriptors at several scales, summed, sigmoid."""

    def __init__(self, scales: tuple[int, ...] = (1, 2, 4)):
        super().__init__()
        self.scales = scales
        self.convs = nn.ModuleList(nn.Conv2d(2, 1, 3, padding=1) for _ in scales)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        desc = torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)
        logits = 0
        for s, conv in zip(self.scales, self.convs, strict=True):
            d = desc if s == 1 else F.adaptive_avg_pool2d(desc, (math.ceil(h / s), math.ceil(w / s)))
            logits = logits + F.interpolate(conv(d), size=(h, w), mode="bilinear", align_corners=False)
        return x * torch.sigmoid(logits)


def _convs(in_chs: int, out_chs: int, n: int, act) -> list[nn.Module]:
    return [ConvNormAct(in_chs if i == 0 else out_chs, out_chs, 3, act_layer=act) for i in range(n)]


def _fc(in_features: int, dim: int, act, drop_rate: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_features, dim), act(inplace=True), nn.Dropout(drop_rate))


class AERCNN(FerNet):
    """AER-CNN (see module docstring). Grad-CAM on the last stage's region-attention output."""

    cam_layer_name = "stages.2.region"

    def __init__(self, *, widths, fc_dim, drop_rate, attention, activation, num_classes, in_chans, heads):
        super().__init__()
        act = get_activation(activation)
        stages, prev = [], in_chans
        for width in widths:
            stage = nn.Sequential(*_convs(prev, width, 2, act))
            stage.add_module("attn", create_attention(attention, width, act))
            stage.add_module("region", RegionAttention(width, act))
            stages.append(stage)
            prev = width
        self.stages = nn.ModuleList(stages)
        self.cam_layer_name = f"stages.{len(stages) - 1}.region"
        self.fuse = _fc(sum(widths), fc_dim, act, drop_rate)
        self.head = FerHead(fc_dim, num_classes, heads)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        pooled = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            pooled.append(x.mean((2, 3)))
            if i < len(self.stages) - 1:
                x = F.max_pool2d(x, 2, ceil_mode=True)
        return self.fuse(torch.cat(pooled, 1))


class MultiScaleBranch(nn.Module):
    """Parallel 1×1 / 3×3 / 5×5 conv branches (BN + act), concatenated."""

    def __init__(self, in_chs: int, branch_chs: int, act, kernels=(1, 3, 5)):
        super().__init__()
        self.paths = nn.ModuleList(ConvNormAct(in_chs, branch_chs, k, act_layer=act) for k in kernels)
        self.out_chs = branch_chs * len(kernels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([p(x) for p in self.paths], 1)


class MSFFCNN(FerNet):
    """MSFF-CNN (see module docstring). Grad-CAM on the last multi-scale branch."""

    def __init__(
        self, *, widths, branch_chs, fc_dim, drop_rate, attention, activation, num_classes, in_chans, heads
    ):
        super().__init__()
        act = get_activation(activation)
        stages, branches, prev = [], [], in_chans
        for width in widths:
            stage = nn.Sequential(*_convs(prev, width, 2, act))
            stage.add_module("attn", create_attention(attention, width, act))
            stage.add_module("pool", nn.MaxPool2d(2, ceil_mode=True))
            stages.append(stage)
            branches.append(MultiScaleBranch(width, branch_chs, act))
            prev = width
        self.stages = nn.ModuleList(stages)
        self.branches = nn.ModuleList(branches)
        self.cam_layer_name = f"branches.{len(branches) - 1}"
        self.fuse = _fc(sum(b.out_chs for b in branches), fc_dim, act, drop_rate)
        self.head = FerHead(fc_dim, num_classes, heads)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        pooled = []
        for stage, branch in zip(self.stages, self.branches, strict=True):
            x = stage(x)
            pooled.append(branch(x).mean((2, 3)))
        return self.fuse(torch.cat(pooled, 1))


class DRFMSAM(FerNet):
    """DRF + MSAM network (see module docstring). Grad-CAM on the last stage's MSAM output."""

    def __init__(self, *, widths, drop_rate, attention, activation, num_classes, in_chans, heads):
        super().__init__()
        act = get_activation(activation)
        self.stem = ConvNormAct(in_chans, 32, 3, act_layer=act)
        stages, prev = [], 32
        for width in widths:
            stage = nn.Sequential()
            stage.add_module("drf", SelectiveKernel(prev, width, act_layer=act))
            stage.add_module("msam", MultiScaleAttention())
            stage.add_module("attn", create_attention(attention, width, act))
            stage.add_module("pool", nn.MaxPool2d(2, ceil_mode=True))
            stages.append(stage)
            prev = width
        self.stages = nn.Sequential(*stages)
        self.cam_layer_name = f"stages.{len(stages) - 1}.attn"
        self.head = FerHead(prev, num_classes, heads, drop_rate)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x)).mean((2, 3))


@register_model(family="fer-cnn")
def aer_cnn(
    *, widths: tuple[int, ...] = (64, 128, 256), fc_dim: int = 256, drop_rate: float = 0.5, **kw
) -> FerNet:
    """AER-CNN: conv stages with spatial region attention, attended maps of all stages fused."""
    kw.pop("img_size")
    return AERCNN(widths=tuple(widths), fc_dim=fc_dim, drop_rate=drop_rate, **kw)


@register_model(family="fer-cnn")
def msff_cnn(
    *,
    widths: tuple[int, ...] = (32, 64, 128),
    branch_chs: int = 32,
    fc_dim: int = 256,
    drop_rate: float = 0.5,
    **kw,
) -> FerNet:
    """MSFF-CNN: after each pooling a 1/3/5 multi-scale branch; branch features concatenated."""
    kw.pop("img_size")
    return MSFFCNN(widths=tuple(widths), branch_chs=branch_chs, fc_dim=fc_dim, drop_rate=drop_rate, **kw)


@register_model(family="fer-cnn")
def drf_msam(*, widths: tuple[int, ...] = (64, 128, 256), drop_rate: float = 0.3, **kw) -> FerNet:
    """DRF + MSAM: selective-kernel (dynamic receptive field) convs with multi-scale spatial attention."""
    kw.pop("img_size")
    return DRFMSAM(widths=tuple(widths), drop_rate=drop_rate, **kw)
