"""MobileNetV2 and EfficientNet-B1 from timm's ``EfficientNet`` builder, with attention/activation axes.

Attention placement (timm's ``se_layer`` slot of each inverted-residual block: after the depthwise conv,
before the 1×1 projection):

- ``mobilenetv2``: the stock network has no attention; for ``attention != "none"`` every block's arch
  string gets ``_se0.25`` and the chosen module fills the slot (MobileNetV3-style, reduction computed
  from the block input channels × 0.25).
- ``efficientnet_b1``: the stock network has SE in every block. ``attention="se"`` (its default) keeps
  timm's native ``SqueezeExcite``; ``"none"`` removes it (``nn.Identity``); ``eca``/``cbam``/``coord``
  replace it in the same slot.

Activation replaces every activation (MobileNetV2's ReLU6 becomes the chosen one: ``"relu"`` is plain
ReLU; EfficientNet's SiLU likewise). Parameter counts with 8 classes + valence/arousal (the multi-task
paper's setting, ``in_chans=3``): MobileNetV2 2,236,682 and EfficientNet-B1 6,525,994 — both exact.
"""

from __future__ import annotations

import timm
import torch
from timm.models._efficientnet_builder import decode_arch_def
from timm.models.efficientnet import EfficientNet
from torch import nn

from ferbench.models.activations import get_activation
from ferbench.models.attention import get_attention
from ferbench.models.base import FerNet
from ferbench.models.heads import FerHead
from ferbench.models.registry import register_model

# timm's _gen_mobilenet_v2 arch (kept here so an attention slot can be added to every block)
_MNV2_ARCH = (
    ("ds_r1_k3_s1_c16",),
    ("ir_r2_k3_s2_e6_c24",),
    ("ir_r3_k3_s2_e6_c32",),
    ("ir_r4_k3_s2_e6_c64",),
    ("ir_r3_k3_s1_e6_c96",),
    ("ir_r3_k3_s2_e6_c160",),
    ("ir_r1_k3_s1_e6_c320",),
)


class FerEfficientNet(FerNet):
    """timm ``EfficientNet``-family trunk (global-average pooled) + :class:`FerHead`.
    Grad-CAM on ``bn2`` (the BN+act after the 1×1 head conv: the last spatial feature map)."""

    cam_layer_name = "backbone.bn2"

    def __init__(self, backbone: nn.Module, num_classes: int, heads: str, drop_rate: float):
        super().__init__()
        self.backbone = backbone
        self.head = FerHead(backbone.num_features, num_classes, heads, drop_rate)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


@register_model(family="mobilenet")
def mobilenetv2(
    *, drop_rate: float = 0.2, attention, activation, num_classes, in_chans, img_size, heads
) -> FerNet:
    """MobileNetV2 1.0 (timm ``mobilenetv2_100`` layout), attention in the inverted residuals."""
    act = get_activation(activation)
    suffix = "" if attention == "none" else "_se0.25"
    arch = [[s + suffix for s in stage] for stage in _MNV2_ARCH]
    backbone = EfficientNet(
        block_args=decode_arch_def(arch),
        num_classes=0,
        num_features=1280,
        in_chans=in_chans,
        stem_size=32,
        act_layer=act,
        se_layer=get_attention(attention, act),
    )
    return FerEfficientNet(backbone, num_classes, heads, drop_rate)


@register_model(family="efficientnet", default_attention="se")
def efficientnet_b1(
    *, drop_rate: float = 0.2, attention, activation, num_classes, in_chans, img_size, heads
) -> FerNet:
    """EfficientNet-B1 (timm ``efficientnet_b1``); its native SE is the "se" attention."""
    act = get_activation(activation)
    kw = {}
    if attention == "none":
        kw["se_layer"] = nn.Identity
    elif attention != "se":
        kw["se_layer"] = get_attention(attention, act)
    backbone = timm.create_model(
        "efficientnet_b1", pretrained=False, num_classes=0, in_chans=in_chans, act_layer=act, **kw
    )
    return FerEfficientNet(backbone, num_classes, heads, drop_rate)
