"""ResNet (v1, timm's ``ResNet``) and pre-activation ResNetV2 (BatchNorm, like Keras ``ResNet50V2``).

Attention placement: inside every residual block, on the residual branch after its last conv/BN and
before the addition with the shortcut (v1: timm's ``block_args=dict(attn_layer=...)``, the "se" slot;
v2: after ``conv3``). Activation: ``act_layer`` replaces every activation of stem, blocks, final
pre-activation norm and attention MLPs.

Parameter counts (7 classes, ``in_chans=1``; the attention paper's Keras models used 3 input channels,
a 6,272-parameter difference): ResNet-50 23.52M (paper 23.49M), +SE(r=16) 26.05M (26.02M),
ResNetV2-50 23.51M (23.48M), ResNet-152+CBAM 64.74M (64.71M) — full table in
``tests/test_models_params.py``. ECA adds only a few hundred weights here; the paper's ECA rows are
0.16–0.52M above its plain rows (≤0.8% off ours).
"""

from __future__ import annotations

from functools import partial

import torch
from timm.layers import BatchNormAct2d, create_conv2d
from timm.models.resnet import BasicBlock, Bottleneck, ResNet
from timm.models.resnetv2 import PreActBottleneck, ResNetStage, create_resnetv2_stem
from torch import nn

from ferbench.models.activations import get_activation
from ferbench.models.attention import get_attention
from ferbench.models.base import FerNet
from ferbench.models.heads import FerHead
from ferbench.models.registry import register_model

# ---- ResNet v1 -----------------------------------------------------------------------------------


class FerResNet(FerNet):
    """timm ``ResNet`` trunk (global-average pooled) + :class:`FerHead`. Grad-CAM on ``layer4``."""

    cam_layer_name = "backbone.layer4"

    def __init__(
        self,
        block: type[nn.Module],
        layers: tuple[int, ...],
        *,
        channels: tuple[int, ...] = (64, 128, 256, 512),
        stem_width: int = 64,
        stem_type: str = "",
        attention: str,
        activation: str,
        num_classes: int,
        in_chans: int,
        heads: str,
        drop_rate: float = 0.0,
    ):
        super().__init__()
        act = get_activation(activation)
        attn = get_attention(attention, act)
        self.backbone = ResNet(
            block=block,
            layers=layers,
            channels=channels,
            stem_width=stem_width,
            stem_type=stem_type,
            in_chans=in_chans,
            num_classes=0,  # timm keeps global pooling and returns (B, F)
            act_layer=act,
            block_args=dict(attn_layer=attn),
        )
        self.head = FerHead(self.backbone.num_features, num_classes, heads, drop_rate)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)


def _resnet(block, layers, drop_rate=0.0, **kw) -> FerResNet:
    kw.pop("img_size")  # fully convolutional + global pool: any size ≥ 32 works
    return FerResNet(block, tuple(layers), drop_rate=drop_rate, **kw)


@register_model(family="resnet")
def resnet_tiny(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """Tiny ResNet (BasicBlock 1-1-1-1, widths 16-32-64-128, 8-8-16 3×3 stem) for CPU demos and tests."""
    kw.pop("img_size")
    # timm's plain 7×7 stem is always 64 wide (11 MFLOPs at 48 px); a 3×(3×3) 'deep' stem 8-8-16 keeps the
    # whole network at 7.3 MFLOPs/img
    return FerResNet(BasicBlock, (1, 1, 1, 1), channels=(16, 32, 64, 128), stem_type="deep", stem_width=8,
                     drop_rate=drop_rate, **kw)


@register_model(family="resnet")
def resnet18(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNet-18 (BasicBlock 2-2-2-2)."""
    return _resnet(BasicBlock, (2, 2, 2, 2), drop_rate, **kw)


@register_model(family="resnet")
def resnet34(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNet-34 (BasicBlock 3-4-6-3)."""
    return _resnet(BasicBlock, (3, 4, 6, 3), drop_rate, **kw)


@register_model(family="resnet")
def resnet50(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNet-50 (Bottleneck 3-4-6-3)."""
    return _resnet(Bottleneck, (3, 4, 6, 3), drop_rate, **kw)


@register_model(family="resnet")
def resnet101(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNet-101 (Bottleneck 3-4-23-3)."""
    return _resnet(Bottleneck, (3, 4, 23, 3), drop_rate, **kw)


@register_model(family="resnet")
def resnet152(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNet-152 (Bottleneck 3-8-36-3)."""
    return _resnet(Bottleneck, (3, 8, 36, 3), drop_rate, **kw)


# ---- ResNet v2 (pre-activation, BatchNorm) -------------------------------------------------------


class PreActAttnBottleneck(PreActBottleneck):
    """timm's pre-activation bottleneck with an attention module after ``conv3`` (before the add).

    timm's ``PreActBottleneck`` has no attention slot, so this subclass adds one; everything else
    (and every state-dict key but ``attn.*``) is timm's.
    """

    def __init__(self, *args, attn_layer=None, **kwargs):
        super().__init__(*args, **kwargs)
        out_chs = self.conv3.out_channels
        self.attn = attn_layer(out_chs) if attn_layer is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_preact = self.norm1(x)
        shortcut = x if self.downsample is None else self.downsample(x_preact)
        x = self.conv1(x_preact)
        x = self.conv2(self.norm2(x))
        x = self.conv3(self.norm3(x))
        x = self.attn(x)
        return self.drop_path(x) + shortcut


class PreActResNet(nn.Module):
    """Pre-activation ResNet trunk built from timm's ResNetV2 parts with BatchNorm (not BiT GroupNorm/
    StdConv): timm stem (7×7/2 conv + 3×3/2 max-pool, no norm), ``ResNetStage`` of
    :class:`PreActAttnBottleneck`, final BN+act (Keras' ``post_bn``/``post_relu``).

    Strides sit in each stage's first block (He et al. / timm); Keras puts them in the last block —
    same parameter count. State-dict keys equal timm's ``resnetv2_50`` (so its weights load).
    """

    def __init__(self, layers, in_chans: int, act_layer, attn_layer, channels=(256, 512, 1024, 2048)):
        super().__init__()
        norm_layer = partial(BatchNormAct2d, act_layer=act_layer)
        self.stem = create_resnetv2_stem(in_chans, 64, "", preact=True, conv_layer=create_conv2d,
                                         norm_layer=norm_layer)
        stages, prev = [], 64
        for i, (depth, out_chs) in enumerate(zip(layers, channels, strict=True)):
            stages.append(ResNetStage(
                prev, out_chs, stride=1 if i == 0 else 2, dilation=1, depth=depth,
                block_fn=PreActAttnBottleneck, act_layer=act_layer, conv_layer=create_conv2d,
                norm_layer=norm_layer, attn_layer=attn_layer,
            ))
            prev = out_chs
        self.stages = nn.Sequential(*stages)
        self.norm = norm_layer(prev)
        self.num_features = prev
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.stages(self.stem(x)))


class FerResNetV2(FerNet):
    """:class:`PreActResNet` + global average pool + :class:`FerHead`. Grad-CAM on the final BN+act."""

    cam_layer_name = "backbone.norm"

    def __init__(self, layers, *, attention, activation, num_classes, in_chans, heads, drop_rate=0.0):
        super().__init__()
        act = get_activation(activation)
        self.backbone = PreActResNet(layers, in_chans, act, get_attention(attention, act))
        self.head = FerHead(self.backbone.num_features, num_classes, heads, drop_rate)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x).mean((2, 3))


def _resnetv2(layers, drop_rate, **kw) -> FerResNetV2:
    kw.pop("img_size")
    return FerResNetV2(layers, drop_rate=drop_rate, **kw)


@register_model(family="resnetv2")
def resnetv2_50(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNetV2-50: pre-activation bottlenecks 3-4-6-3 with BatchNorm."""
    return _resnetv2((3, 4, 6, 3), drop_rate, **kw)


@register_model(family="resnetv2")
def resnetv2_101(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNetV2-101: pre-activation bottlenecks 3-4-23-3 with BatchNorm."""
    return _resnetv2((3, 4, 23, 3), drop_rate, **kw)


@register_model(family="resnetv2")
def resnetv2_152(*, drop_rate: float = 0.0, **kw) -> FerNet:
    """ResNetV2-152: pre-activation bottlenecks 3-8-36-3 with BatchNorm."""
    return _resnetv2((3, 8, 36, 3), drop_rate, **kw)
