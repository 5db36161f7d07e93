"""EmoNet-style network with the attention-head variants of the EmoNet FER extension project.

EmoNet (Toisoul et al., 2021) is a face-alignment network (FAN: stacked hourglasses of Bulat's
hierarchical ``ConvBlock``) whose features feed an emotion branch (ConvBlocks + pooling → FC) that
predicts expression + valence/arousal. We build a *compact single-stack* version sized for FER inputs
(the original's 2–4 stacks at 256 px are far beyond a CPU benchmark): stem 3×3/2 conv → ConvBlock →
pool → ConvBlock → hourglass (depth 2, 64 ch) → ConvBlock + 1×1 conv → emotion branch (ConvBlock 128 +
pool, ConvBlock 256 + pool) → 256×(H/16)×(W/16) map → attention head → pooled → :class:`FerHead`.
The original's landmark heat-maps are not concatenated into the emotion branch: ferbench has no
landmark supervision. The project resized inputs to 256; our default is 48 (FER2013) and any size ≥ 32
works.

``head_attention`` (the project's variants):

- ``"none"``: global average pooling (their transfer-learning baseline head).
- ``"self"``: dot-product self-attention over the spatial positions of the final map
  (Q, K: 1×1 convs to C/8; V: 1×1 conv; softmax(QKᵀ/√d)·V, added back with a learned scale γ that
  starts at 0), then global average pooling.
- ``"mhsa"``: multi-head attention, 4 heads, over 16×16-pixel patches: the final map has stride 16, so
  each position is one 16×16 input patch; tokens + learned position embeddings (resampled with timm when
  the input size differs from ``img_size``) → ``nn.MultiheadAttention`` + LayerNorm (residual) → mean.

``attention`` (se/eca/cbam/coord) goes after each emotion-branch ConvBlock; ``activation`` replaces every
activation.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from timm.layers import BatchNormAct2d, ConvNormAct, resample_abs_pos_embed
from torch import nn

from ferbench.models.activations import get_activation
from ferbench.models.attention import create_attention
from ferbench.models.base import FerNet
from ferbench.models.errors import ModelConfigError
from ferbench.models.heads import FerHead
from ferbench.models.registry import register_model

HEAD_ATTENTIONS = ("none", "self", "mhsa")
PATCH = 16  # input pixels per token side for the "mhsa" head (= the network's output stride)


class ConvBlock(nn.Module):
    """FAN's hierarchical, parallel, multi-scale residual block: three pre-activated 3×3 convs of widths
    out/2, out/4, out/4 whose outputs are concatenated, plus a (1×1-projected) shortcut."""

    def __init__(self, in_chs: int, out_chs: int, act):
        super().__init__()
        widths = (out_chs // 2, out_chs // 4, out_chs - out_chs // 2 - out_chs // 4)
        self.norms = nn.ModuleList()
        self.convs = nn.ModuleList()
        prev = in_chs
        for w in widths:
            self.norms.append(BatchNormAct2d(prev, act_layer=act))
            self.convs.append(nn.Conv2d(prev, w, 3, padding=1, bias=False))
            prev = w
        self.shortcut = nn.Identity()
        if in_chs != out_chs:
            self.shortcut = nn.Sequential(
                BatchNormAct2d(in_chs, act_layer=act), nn.Conv2d(in_chs, out_chs, 1, bias=False)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs, y = [], x
        for norm, conv in zip(self.norms, self.convs, strict=True):
            y = conv(norm(y))
            outs.append(y)
        return torch.cat(outs, 1) + self.shortcut(x)


class Hourglass(nn.Module):
    """Recursive hourglass of ConvBlocks (upsampling back to the skip's exact size, so odd sizes work)."""

    def __init__(self, depth: int, chs: int, act):
        super().__init__()
        self.up = ConvBlock(chs, chs, act)
        self.low1 = ConvBlock(chs, chs, act)
        self.low2 = Hourglass(depth - 1, chs, act) if depth > 1 else ConvBlock(chs, chs, act)
        self.low3 = ConvBlock(chs, chs, act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        low = self.low3(self.low2(self.low1(F.max_pool2d(x, 2, ceil_mode=True))))
        return self.up(x) + F.interpolate(low, size=x.shape[-2:], mode="nearest")


class SelfAttention2d(nn.Module):
    """Dot-product self-attention over the H·W positions of a feature map (SAGAN-style, γ-gated residual)."""

    def __init__(self, chs: int):
        super().__init__()
        self.q = nn.Conv2d(chs, max(8, chs // 8), 1)
        self.k = nn.Conv2d(chs, max(8, chs // 8), 1)
        self.v = nn.Conv2d(chs, chs, 1)
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q = self.q(x).flatten(2).transpose(1, 2)  # (B, N, d)
        k = self.k(x).flatten(2).transpose(1, 2)
        v = self.v(x).flatten(2).transpose(1, 2)  # (B, N, C)
        y = F.scaled_dot_product_attention(q, k, v)  # softmax(QKᵀ/√d)·V; V may be wider than Q, K
        return x + self.gamma * y.transpose(1, 2).reshape(b, c, h, w)


class PatchMHSA(nn.Module):
    """Multi-head self-attention over the stride-16 positions (= 16×16 input patches) + learned positions."""

    def __init__(self, chs: int, grid: int, num_heads: int = 4):
        super().__init__()
        self.grid = grid
        self.pos = nn.Parameter(torch.zeros(1, grid * grid, chs))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.attn = nn.MultiheadAttention(chs, num_heads, batch_first=True)
        self.norm = nn.LayerNorm(chs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        pos = self.pos if (h, w) == (self.grid, self.grid) else resample_abs_pos_embed(
            self.pos, new_size=[h, w], old_size=[self.grid, self.grid], num_prefix_tokens=0
        )
        tokens = x.flatten(2).transpose(1, 2) + pos
        y, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return self.norm(tokens + y).transpose(1, 2).reshape(b, c, h, w)


class EmoNet(FerNet):
    """Compact EmoNet (see module docstring). Grad-CAM on the attention head's output map."""

    cam_layer_name = "head_attn"

    def __init__(
        self, *, head_attention, drop_rate, attention, activation, num_classes, in_chans, img_size, heads
    ):
        super().__init__()
        if head_attention not in HEAD_ATTENTIONS:
            raise ModelConfigError(
                f"unknown emonet head_attention {head_attention!r}; "
                f"choose one of {', '.join(HEAD_ATTENTIONS)}"
            )
        act = get_activation(activation)
        self.fan = nn.Sequential(
            ConvNormAct(in_chans, 32, 3, stride=2, act_layer=act),
            ConvBlock(32, 64, act),
            nn.MaxPool2d(2, ceil_mode=True),
            ConvBlock(64, 64, act),
            Hourglass(2, 64, act),
            ConvBlock(64, 64, act),
            ConvNormAct(64, 64, 1, act_layer=act),
        )
        self.emo = nn.Sequential(
            ConvBlock(64, 128, act),
            create_attention(attention, 128, act),
            nn.MaxPool2d(2, ceil_mode=True),
            ConvBlock(128, 256, act),
            create_attention(attention, 256, act),
            nn.MaxPool2d(2, ceil_mode=True),
        )
        grid = -(-img_size // PATCH)
        self.head_attn = {
            "none": nn.Identity(),
            "self": SelfAttention2d(256),
            "mhsa": PatchMHSA(256, grid, num_heads=4),
        }[head_attention]
        self.head = FerHead(256, num_classes, heads, drop_rate)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.head_attn(self.emo(self.fan(x))).mean((2, 3))


@register_model(family="emonet")
def emonet(*, head_attention: str = "none", drop_rate: float = 0.2, **kw) -> FerNet:
    """Compact single-hourglass EmoNet; ``head_attention`` none | self | mhsa (16×16 patches, 4 heads)."""
    return EmoNet(head_attention=str(head_attention).lower(), drop_rate=drop_rate, **kw)
