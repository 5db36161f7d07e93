"""Every registered architecture: builds, trains one step, Grad-CAM layer; family-specific behaviour."""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F
from typer.testing import CliRunner

from ferbench.models import ACTIVATIONS, ATTENTIONS, ModelConfigError, create_model, get_entry, list_models
from ferbench.models.summary import zoo_table

torch.set_num_threads(1)
ALL = list_models()
# one (attention, activation) cell per architecture, cycling so every value is exercised somewhere
CELLS = dict(zip(ALL, itertools.cycle(itertools.product(ATTENTIONS[1:] + ATTENTIONS[:1], ACTIVATIONS)),
                 strict=False))


def _train_step(model: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    model.train()
    out = model(x)
    loss = F.cross_entropy(out["logits"], torch.arange(x.shape[0]) % out["logits"].shape[1])
    loss = loss + sum(out[k].sum() for k in ("va", "aux_loss") if k in out)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
    return out


@pytest.mark.parametrize("arch", ALL)
def test_every_arch_trains_at_32px_and_has_cam_layer(arch: str) -> None:
    attention, activation = CELLS[arch]
    model = create_model(arch, attention=attention, activation=activation, img_size=32, heads="cls+va")
    seen = {}
    model.cam_layer.register_forward_hook(lambda m, i, o: seen.setdefault("act", o))
    out = _train_step(model, torch.randn(2, 1, 32, 32))
    assert out["logits"].shape == (2, 7) and out["va"].shape == (2, 2) and out["va"].abs().max() <= 1
    assert seen["act"].ndim == 4 and seen["act"].shape[0] == 2, f"{arch}.cam_layer is not a feature map"
    assert model.spec.img_size == 32 and model.spec.attention == attention


@pytest.mark.slow
@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("arch", ALL)
def test_exhaustive_cell_sweep(arch: str, attention: str, activation: str) -> None:
    model = create_model(arch, attention=attention, activation=activation, img_size=32, in_chans=3)
    assert _train_step(model, torch.randn(2, 3, 32, 32))["logits"].shape == (2, 7)


def test_grid_big_families_place_attention_and_activation() -> None:
    with torch.device("meta"):
        v2 = create_model("resnetv2_50", attention="eca", activation="silu")
        r50 = create_model("resnet50", attention="cbam")
        vgg = create_model("vgg16", attention="se")
        eff_none = create_model("efficientnet_b1", attention="none")
        eff = create_model("efficientnet_b1")
        mnv2 = create_model("mobilenetv2", attention="coord")
    blocks = [b for s in v2.backbone.stages for b in s.blocks]
    assert len(blocks) == 16 and all(type(b.attn).__name__ == "EcaModule" for b in blocks)
    kinds = {type(m).__name__ for m in v2.modules()}
    assert "BatchNormAct2d" in kinds and "GroupNormAct" not in kinds and "ReLU" not in kinds
    assert sum(type(m).__name__ == "CbamModule" for m in r50.modules()) == 16
    assert [type(s.attn).__name__ for s in vgg.stages] == ["SEModule"] * 5
    assert eff.spec.attention == "se"
    assert sum(type(m).__name__ == "SqueezeExcite" for m in eff.modules()) == 23
    assert not any(type(m).__name__ == "SqueezeExcite" for m in eff_none.modules())
    assert sum(type(m).__name__ == "CoordAttn" for m in mnv2.modules()) == 17


def test_ddamfn_defaults_aux_loss_and_maps() -> None:
    model = create_model("ddamfn", img_size=48)
    spec = model.spec
    assert (spec.attention, spec.activation, spec.kwargs["num_heads"]) == ("coord", "prelu", 4)
    assert get_entry("ddamfn").default_img_size == 112
    out = _train_step(model, torch.randn(2, 1, 48, 48))
    aux = out["aux_loss"]
    assert aux.ndim == 0 and torch.isfinite(aux) and aux > 0
    maps = model.last_attention_maps
    assert maps.shape == (2, 4, 512, 3, 3) and maps.min() >= 0 and maps.max() <= 1
    pair_sum = sum(F.mse_loss(maps[:, i], maps[:, k]) for i in range(4) for k in range(i + 1, 4))
    torch.testing.assert_close(aux.detach(), 0.1 / (pair_sum + 1e-8))
    model.eval()
    with torch.no_grad():
        assert "aux_loss" not in model(torch.randn(1, 1, 48, 48))
    with pytest.raises(ModelConfigError, match="built for 48×48"):
        model(torch.randn(1, 1, 64, 64))
    single = create_model("ddamfn", img_size=32, num_heads=1)
    assert "aux_loss" not in _train_step(single, torch.randn(2, 1, 32, 32))


@pytest.mark.parametrize("head_attention", ["none", "self", "mhsa"])
def test_emonet_head_attention_variants(head_attention: str) -> None:
    model = create_model("emonet", head_attention=head_attention, img_size=64)
    assert _train_step(model, torch.randn(2, 1, 64, 64))["logits"].shape == (2, 7)
    model.eval()
    with torch.no_grad():  # other sizes work (position embeddings are resampled)
        assert model(torch.randn(1, 1, 48, 48))["logits"].shape == (1, 7)
    if head_attention == "mhsa":
        assert model.head_attn.attn.num_heads == 4 and model.head_attn.pos.shape[1] == 16  # 4×4 patches


def test_emonet_unknown_head_attention() -> None:
    with pytest.raises(ModelConfigError, match="head_attention"):
        create_model("emonet", head_attention="cross")


def test_zoo_table_and_cli() -> None:
    df = zoo_table(img_size=48, in_chans=1, filter="tiny")
    assert list(df["name"]) == ["resnet_tiny", "vgg_tiny"]
    assert (df["params"] > 0).all() and (df["macs"] > 0).all()
    assert df.set_index("name").loc["vgg_tiny", "macs"] < 5e6  # CPU-demo budget: well under 10 MFLOPs
    from ferbench.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["models", "--filter", "tiny", "--size", "32"])
    assert res.exit_code == 0, res.output
    assert "resnet_tiny" in res.output and "vgg16" not in res.output
    res = runner.invoke(app, ["models", "--filter", "nosuchnet"])
    assert res.exit_code == 2 and "nosuchnet" in res.output
