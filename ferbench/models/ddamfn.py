"""DDAMFN: Dual-Direction Attention Mixed Feature Network (MFN backbone + DDAN heads).

Built from the DDAMFN write-up (and the layout of SainingZhang/DDAMFN it follows):

- **MFN** (MobileFaceNet-style, input /16): 3×3/2 conv → 3×3 depthwise conv → MixConv bottlenecks:
  a downsampling bottleneck then ``depths[i]`` residual bottlenecks per stage, widths 64 → 128 → 256,
  then a 1×1 conv to 512. A bottleneck is 1×1 expand (BN+act) → timm ``MixedConv2d`` depthwise with
  several kernel sizes (BN+act) → attention → linear 1×1 projection (BN, no act) [+ residual].
  The attention slot holds coordinate attention by default (``attention="coord"``, the paper's choice);
  the ``attention`` axis swaps it. Channels split equally across MixConv kernels (timm's rule; the
  original code uses hand-picked uneven splits). Activation default PReLU (the paper's), timm's
  single-slope ``PReLU``.
- **DDAN**: ``num_heads`` independent dual-direction attention heads on the 512×h×w map. Each head is
  coordinate attention whose average pools are replaced by *linear GDConvs* (depthwise (1×w) and
  (h×1) convs + BN), giving a_h (h×1) and a_w (1×w); the head's map is σ(conv_h)·σ(conv_w), C×h×w.
  The element-wise maximum over heads ("the most salient map") multiplies the features.
- **Output**: linear GDConv (depthwise h×w conv + BN) → 512-d vector → :class:`FerHead`.
- **Attention loss**: L_att = 1 / Σ_{i<k} MSE(a_i, a_k) over unordered head pairs (the write-up's
  "reciprocal of the sum of pairwise MSEs"; the original code divides the pair count instead), returned
  as ``aux_loss = λ·L_att`` (λ = ``att_loss_weight`` = 0.1) in training mode when ``num_heads > 1``.

The GDConv kernels equal the final map size, so the model is built for ``img_size`` (default 112 →
7×7; 48 → 3×3) and rejects other input sizes with a clear error. ``model.last_attention_maps``
holds the heads' maps of the last forward pass, (B, num_heads, 512, h, w), detached.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from timm.layers import BatchNormAct2d, ConvNormAct, MixedConv2d
from torch import nn

from ferbench.models.activations import get_activation
from ferbench.models.attention import create_attention
from ferbench.models.base import FerNet
from ferbench.models.errors import ModelConfigError
from ferbench.models.heads import FerHead
from ferbench.models.registry import register_model


def _feature_size(img_size: int) -> int:
    """Spatial size after the MFN's four stride-2 (k odd, pad k//2) convolutions: ceil(n/2) four times."""
    for _ in range(4):
        img_size = math.ceil(img_size / 2)
    return img_size


class MixBottleneck(nn.Module):
    """1×1 expand → MixConv depthwise → attention → linear 1×1 projection (+ residual when shapes allow)."""

    def __init__(self, in_chs, out_chs, mid_chs, kernels, stride, act_layer, attention):
        super().__init__()
        self.expand = ConvNormAct(in_chs, mid_chs, 1, act_layer=act_layer)
        self.dw = MixedConv2d(mid_chs, mid_chs, list(kernels), stride=stride, depthwise=True)
        self.bn_dw = BatchNormAct2d(mid_chs, act_layer=act_layer)
        self.attn = create_attention(attention, mid_chs, act_layer)
        self.project = ConvNormAct(mid_chs, out_chs, 1, apply_act=False)
        self.residual = stride == 1 and in_chs == out_chs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.project(self.attn(self.bn_dw(self.dw(self.expand(x)))))
        return x + y if self.residual else y


class LinearGDConv(nn.Sequential):
    """Global depthwise conv with a (kh, kw) kernel and BN, no activation ("linear GDConv")."""

    def __init__(self, channels: int, kernel: tuple[int, int]):
        conv = nn.Conv2d(channels, channels, kernel, groups=channels, bias=False)
        super().__init__(conv, nn.BatchNorm2d(channels))


class DualDirectionHead(nn.Module):
    """One DDA head: coordinate attention with linear-GDConv directional pooling → C×h×w map in (0, 1)."""

    def __init__(self, channels: int, size: int, act_layer, groups: int = 32):
        super().__init__()
        mip = max(8, channels // groups)
        self.pool_h = LinearGDConv(channels, (1, size))  # collapses width  → (B, C, h, 1)
        self.pool_w = LinearGDConv(channels, (size, 1))  # collapses height → (B, C, 1, w)
        self.reduce = ConvNormAct(channels, mip, 1, bias=True, act_layer=act_layer)
        self.conv_h = nn.Conv2d(mip, channels, 1)
        self.conv_w = nn.Conv2d(mip, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        x_h = self.pool_h(x)
        x_w = self.pool_w(x).transpose(-1, -2)
        y = self.reduce(torch.cat([x_h, x_w], dim=2))
        y_h, y_w = torch.split(y, [h, w], dim=2)
        a_h = torch.sigmoid(self.conv_h(y_h))
        a_w = torch.sigmoid(self.conv_w(y_w.transpose(-1, -2)))
        return a_h * a_w  # broadcast (B,C,h,1)·(B,C,1,w) → (B,C,h,w)


class DDAMFN(FerNet):
    """MFN backbone + dual-direction attention heads + GDConv embedding + :class:`FerHead`.
    Grad-CAM on ``attended`` (features × selected attention map)."""

    cam_layer_name = "attended"

    def __init__(
        self,
        *,
        num_heads: int,
        depths: tuple[int, int, int],
        att_loss_weight: float,
        drop_rate: float,
        attention: str,
        activation: str,
        num_classes: int,
        in_chans: int,
        img_size: int,
        heads: str,
    ):
        super().__init__()
        if num_heads < 1:
            raise ModelConfigError(f"ddamfn num_heads must be ≥ 1, got {num_heads}")
        act = get_activation(activation)
        self.img_size = img_size
        self.att_loss_weight = att_loss_weight

        def stage(n: int, chs: int, mid: int, kernels) -> nn.Sequential:
            blocks = [MixBottleneck(chs, chs, mid, kernels, 1, act, attention) for _ in range(n)]
            return nn.Sequential(*blocks)

        self.mfn = nn.Sequential(
            ConvNormAct(in_chans, 64, 3, stride=2, act_layer=act),
            ConvNormAct(64, 64, 3, groups=64, act_layer=act),
            MixBottleneck(64, 64, 128, (3, 5, 7), 2, act, attention),
            stage(depths[0], 64, 128, (3, 5)),
            MixBottleneck(64, 128, 256, (3, 5, 7), 2, act, attention),
            stage(depths[1], 128, 256, (3, 5)),
            MixBottleneck(128, 256, 1024, (3, 5, 7, 9), 2, act, attention),
            stage(depths[2], 256, 512, (3, 5, 7)),
            ConvNormAct(256, 512, 1, act_layer=act),
        )
        size = _feature_size(img_size)
        self.dda_heads = nn.ModuleList(DualDirectionHead(512, size, act) for _ in range(num_heads))
        self.attended = nn.Identity()  # hook point for Grad-CAM
        self.embed = nn.Sequential(LinearGDConv(512, (size, size)), nn.Flatten())
        self.head = FerHead(512, num_classes, heads, drop_rate)
        self._maps: list[torch.Tensor] = []

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (self.img_size, self.img_size):
            raise ModelConfigError(
                f"ddamfn was built for {self.img_size}×{self.img_size} input but got "
                f"{x.shape[-2]}×{x.shape[-1]}; resize the input or rebuild with img_size={x.shape[-1]}"
            )
        feats = self.mfn(x)
        self._maps = [head(feats) for head in self.dda_heads]
        selected = torch.stack(self._maps).amax(0)
        return self.embed(self.attended(feats * selected))

    @property
    def last_attention_maps(self) -> torch.Tensor | None:
        """(B, num_heads, 512, h, w) maps of the last forward pass (detached), or None before one."""
        return torch.stack([m.detach() for m in self._maps], 1) if self._maps else None

    def aux_loss(self) -> torch.Tensor | None:
        maps = self._maps
        if len(maps) < 2:
            return None
        total = sum(F.mse_loss(maps[i], maps[k]) for i in range(len(maps)) for k in range(i + 1, len(maps)))
        return self.att_loss_weight / (total + 1e-8)


@register_model(family="ddamfn", default_img_size=112, default_attention="coord", default_activation="prelu")
def ddamfn(
    *,
    num_heads: int = 4,
    depths: tuple[int, int, int] = (9, 16, 6),
    att_loss_weight: float = 0.1,
    drop_rate: float = 0.0,
    **kw,
) -> FerNet:
    """DDAMFN: MixConv MobileFaceNet + coordinate attention + N dual-direction attention heads."""
    return DDAMFN(num_heads=int(num_heads), depths=tuple(depths), att_loss_weight=float(att_loss_weight),
                  drop_rate=drop_rate, **kw)
