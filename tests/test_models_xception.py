"""mini-Xception: the paper's layout (stem, 4 separable residual blocks, GAP), sizes, attention/activation axes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ferbench.models import ACTIVATIONS, ATTENTIONS, ModelConfigError, create_model

torch.set_num_threads(1)


def test_layout_follows_the_paper() -> None:
    model = create_model("mini_xception")
    # two unpadded 3×3 stem convs with 8 channels, then blocks of 16-32-64-128 channels
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d) and m.kernel_size == (3, 3)
            and m.groups == 1] == [8, 8]
    assert [b.conv2.conv_pw.out_channels for b in model.blocks] == [16, 32, 64, 128]
    depthwise = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 8 and all(m.groups == m.in_channels for m in depthwise)
    sizes = []
    model.stem.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
    for b in model.blocks:
        b.register_forward_hook(lambda m, i, o: sizes.append(o.shape[-1]))
    model.eval()(torch.zeros(1, 1, 48, 48))
    assert sizes == [44, 22, 11, 6, 3]  # 48 -(2 valid convs)-> 44, then /2 per block ("same" pooling)


def test_parameter_counts() -> None:
    # 49,783 at width 1 and 7 classes: the paper's ~58k less its 3×3 class-map conv (our head is linear)
    assert sum(p.numel() for p in create_model("mini_xception").parameters()) == 49_783
    assert sum(p.numel() for p in create_model("mini_xception", width=2).parameters()) == 187_751
    assert create_model("mini_xception", width=2).spec.kwargs == {
        "width": 2, "widths": [16, 32, 64, 128], "stem_chs": 8, "drop_rate": 0.0}
    with pytest.raises(ModelConfigError, match="width must be positive"):
        create_model("mini_xception", width=0)


def test_widths_set_the_blocks() -> None:
    # the issue-19 variant: deep blocks widened, stem and first block as in the paper
    wide = create_model("mini_xception", widths=[16, 32, 128, 256])
    assert [b.conv2.conv_pw.out_channels for b in wide.blocks] == [16, 32, 128, 256]
    assert sum(p.numel() for p in wide.parameters()) == 168_823
    five = create_model("mini_xception", widths=(16, 32, 64, 128, 256), stem_chs=4, width=0.5)
    assert [b.conv2.conv_pw.out_channels for b in five.blocks] == [8, 16, 32, 64, 128]
    assert five.stem[0].conv.out_channels == 2 and five.cam_layer_name == "blocks.4"
    assert five.eval()(torch.zeros(1, 1, 48, 48))["logits"].shape == (1, 7)
    with pytest.raises(ModelConfigError, match="must be positive"):
        create_model("mini_xception", widths=[16, 0])


def test_residual_shortcut_carries_the_signal() -> None:
    block = create_model("mini_xception").blocks[0].eval()
    x = torch.randn(2, 8, 44, 44)
    with torch.no_grad():
        main = block.pool(block.attn(block.conv2(block.conv1(x))))
        assert torch.allclose(block(x), main + block.shortcut(x))


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_attention_in_every_block(attention: str) -> None:
    model = create_model("mini_xception", attention=attention)
    kinds = [type(b.attn).__name__ for b in model.blocks]
    expected = {"none": "Identity", "se": "SEModule", "eca": "EcaModule", "cbam": "CbamModule", "coord": "CoordAttn"}
    assert kinds == [expected[attention]] * 4


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_replaces_every_relu(activation: str) -> None:
    model = create_model("mini_xception", attention="se", activation=activation)
    kinds = {type(m).__name__ for m in model.modules()}
    if activation != "relu":
        assert "ReLU" not in kinds
    model.train()
    out = model(torch.randn(2, 1, 48, 48))
    out["logits"].logsumexp(1).mean().backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
