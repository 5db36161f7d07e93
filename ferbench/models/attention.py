"""Attention names → ``attn_layer`` factories built from ``timm.layers``.

A factory is called as ``attn_layer(channels, **kw)`` and returns an ``nn.Module`` mapping
(B, C, H, W) → (B, C, H, W), exactly like timm's ``attn_layer`` / ``se_layer`` arguments, so the same
object can go into timm's ResNet ``block_args``, timm's EfficientNet ``se_layer`` and our own blocks.

- ``se``:    ``timm.layers.SEModule``, reduction 16 (``rd_ratio=1/16``, bias, channels rounded to a
             multiple of 8). Reduction 16 reproduces the SE rows of the attention paper's Params column.
- ``eca``:   ``timm.layers.EcaModule`` with the paper's adaptive 1-D kernel size (γ=2, b=1).
- ``cbam``:  ``timm.layers.CbamModule`` (channel MLP reduction 16, 7×7 spatial conv + BN).
- ``coord``: ``timm.layers.CoordAttn`` (coordinate attention, reduction 16·3/2 as in timm).

The chosen activation (``act_layer``) replaces the hidden activation inside SE / CBAM / coordinate
attention too ("activation replaces every internal activation"); the gates stay sigmoid.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from timm.layers.cbam import CbamModule
from timm.layers.coord_attn import CoordAttn
from timm.layers.eca import EcaModule
from timm.layers.squeeze_excite import SEModule
from torch import nn

from ferbench.models.errors import ModelConfigError

ATTENTIONS: tuple[str, ...] = ("none", "se", "eca", "cbam", "coord")

AttnFactory = Callable[..., nn.Module]


def get_attention(name: str, act_layer: type[nn.Module] | None = None) -> AttnFactory | None:
    """The ``attn_layer`` factory for ``name`` (``None`` for ``"none"``)."""
    key = str(name).lower()
    if key not in ATTENTIONS:
        raise ModelConfigError(f"unknown attention {name!r}; choose one of {', '.join(ATTENTIONS)}")
    act = {} if act_layer is None else {"act_layer": act_layer}
    if key == "none":
        return None
    if key == "se":
        return partial(SEModule, rd_ratio=1 / 16, rd_divisor=8, **act)
    if key == "eca":
        return EcaModule
    if key == "cbam":
        # rd_divisor 8 keeps ≥8 hidden units on narrow (tiny) stages; no change for ≥128 channels
        return partial(CbamModule, rd_ratio=1 / 16, rd_divisor=8, **act)
    return partial(CoordAttn, **act)


def create_attention(name: str, channels: int, act_layer: type[nn.Module] | None = None) -> nn.Module:
    """An attention module for ``channels`` channels (``nn.Identity`` for ``"none"``)."""
    factory = get_attention(name, act_layer)
    return nn.Identity() if factory is None else factory(channels)
