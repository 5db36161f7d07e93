"""Parameter counts vs the Params columns of the source documents (same architecture, their head).

Attention paper (VGG/ResNet/ResNetV2 × SE/ECA/CBAM, 7 classes): we build with ``in_chans=1`` (FER2013
gray; 3 channels adds 6,272 weights to a ResNet stem — both are within the tolerance) and SE/CBAM
reduction 16. Multi-task paper (8 classes + valence/arousal, ImageNet-style 3-channel input): exact.
Models are built on the meta device: counting parameters needs shapes, not memory or init time.
"""

from __future__ import annotations

import pytest
import torch

from ferbench.models import create_model

TOL = 0.02  # relative

# (arch, attention, doc Params in millions) — ICONIP 2022 attention paper, "CNNs with attention" table
ATTENTION_PAPER = [
    ("vgg16", "none", 39.92), ("vgg16", "se", 39.95), ("vgg16", "eca", 39.92), ("vgg16", "cbam", 39.95),
    ("vgg19", "se", 45.26), ("vgg19", "eca", 45.23), ("vgg19", "cbam", 45.26),
    ("resnet50", "none", 23.49), ("resnet50", "se", 26.02), ("resnet50", "eca", 23.65),
    ("resnet50", "cbam", 26.02),
    ("resnet101", "none", 42.46), ("resnet101", "se", 47.24), ("resnet101", "eca", 42.81),
    ("resnet101", "cbam", 47.24),
    ("resnet152", "none", 58.08), ("resnet152", "se", 64.71), ("resnet152", "eca", 58.60),
    ("resnet152", "cbam", 64.71),
    ("resnetv2_50", "none", 23.48), ("resnetv2_50", "se", 26.01), ("resnetv2_50", "eca", 23.64),
    ("resnetv2_50", "cbam", 26.01),
    ("resnetv2_101", "none", 42.44), ("resnetv2_101", "se", 47.22), ("resnetv2_101", "eca", 42.79),
    ("resnetv2_101", "cbam", 47.22),
    ("resnetv2_152", "none", 58.05), ("resnetv2_152", "se", 64.68), ("resnetv2_152", "eca", 58.57),
    ("resnetv2_152", "cbam", 64.69),
]
# The paper's plain "VGG-19 42.87M" contradicts its own "VGG-19 + ECA 45.23M" (ECA adds ~50 weights);
# no head reproduces 39.92M for VGG-16 and 42.87M for VGG-19 at once, so that row is an expected miss.
VGG19_PLAIN = ("vgg19", "none", 42.87)

# (arch, attention, exact doc count) — multi-task paper (AffectNet, 8 classes + valence + arousal)
MULTITASK_PAPER = [
    ("resnet18", "none", 11_181_642),
    ("mobilenetv2", "none", 2_236_682),
    ("efficientnet_b1", "se", 6_525_994),  # EfficientNet's native SE
]


def _params(arch: str, **kw) -> int:
    with torch.device("meta"):
        model = create_model(arch, **kw)
    return sum(p.numel() for p in model.parameters())


VGG19_ROW = pytest.param(*VGG19_PLAIN, marks=pytest.mark.xfail(strict=True, reason="doc inconsistent"))


@pytest.mark.parametrize("arch,attention,doc_m", [*ATTENTION_PAPER, VGG19_ROW])
def test_attention_paper_params(arch: str, attention: str, doc_m: float) -> None:
    ours = _params(arch, attention=attention, activation="elu", num_classes=7, in_chans=1)
    rel = abs(ours / 1e6 - doc_m) / doc_m
    assert rel <= TOL, f"{arch}+{attention}: ours {ours / 1e6:.2f}M vs doc {doc_m}M"


@pytest.mark.parametrize("arch,attention,doc", MULTITASK_PAPER)
def test_multitask_paper_params_exact(arch: str, attention: str, doc: int) -> None:
    assert _params(arch, attention=attention, num_classes=8, in_chans=3, heads="cls+va") == doc


def test_vgg16_without_bn_is_the_paper_network() -> None:
    # 2×2×512 flatten → 4096 → 4096 → 7 on the 13 Keras VGG16 convs: 39,917,383 (the paper's 39.92M)
    assert _params("vgg16", batch_norm=False, in_chans=3) == 39_917_383
