"""Model zoo core: registry, attention × activation sweep on the tiny models, heads, specs, checkpoints."""

from __future__ import annotations

import json

import pytest
import torch

from ferbench.errors import FerbenchError
from ferbench.models import (
    ACTIVATIONS,
    ATTENTIONS,
    CheckpointError,
    ModelConfigError,
    ModelSpec,
    create_model,
    create_model_from_spec,
    list_models,
    load_model,
    read_spec,
    save_model,
)

torch.set_num_threads(1)
TINY = ("resnet_tiny", "vgg_tiny")


def _step(model: torch.nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """One forward + backward; checks every parameter that took part got a finite gradient."""
    model.train()
    out = model(x)
    extra = sum(out[k].sum() for k in ("va", "aux_loss") if k in out)
    loss = out["logits"].logsumexp(1).mean() + extra
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads, "no parameter received a gradient"
    assert all(torch.isfinite(g).all() for g in grads)
    return out


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("attention", ATTENTIONS)
@pytest.mark.parametrize("arch", TINY)
def test_tiny_cell_forward_backward(arch: str, attention: str, activation: str) -> None:
    model = create_model(arch, attention=attention, activation=activation, num_classes=7, in_chans=1)
    out = _step(model, torch.randn(2, 1, 48, 48))
    assert set(out) == {"logits"}
    assert out["logits"].shape == (2, 7)
    assert model.spec == ModelSpec(arch, attention, activation, 7, 1, 48, "cls", model.spec.kwargs)


def test_activation_replaces_every_activation() -> None:
    model = create_model("resnet_tiny", attention="se", activation="elu")
    kinds = {type(m).__name__ for m in model.modules()}
    assert "ELU" in kinds and "ReLU" not in kinds
    model = create_model("vgg_tiny", attention="cbam", activation="selu")
    kinds = {type(m).__name__ for m in model.modules()}
    assert "SELU" in kinds and "ReLU" not in kinds


ATTN_CLASSES = [("se", "SEModule"), ("eca", "EcaModule"), ("cbam", "CbamModule"), ("coord", "CoordAttn")]


@pytest.mark.parametrize("attention,module", ATTN_CLASSES)
def test_attention_is_placed(attention: str, module: str) -> None:
    res = create_model("resnet_tiny", attention=attention)
    # one per residual block (4 blocks) — inside the block, before the addition (timm's `se` slot)
    assert sum(type(m).__name__ == module for m in res.modules()) == 4
    blocks = [*res.backbone.layer1, *res.backbone.layer4]
    assert all(type(b.se).__name__ == module for b in blocks)
    vgg = create_model("vgg_tiny", attention=attention)
    assert [type(s.attn).__name__ for s in vgg.stages] == [module] * 4  # after each conv stage


@pytest.mark.parametrize("arch", TINY)
@pytest.mark.parametrize("size,chans", [(32, 1), (48, 3), (96, 1)])
def test_tiny_any_size_and_channels(arch: str, size: int, chans: int) -> None:
    model = create_model(arch, in_chans=chans, img_size=size, num_classes=8)
    assert model.spec.img_size == size and model.spec.in_chans == chans
    assert _step(model, torch.randn(2, chans, size, size))["logits"].shape == (2, 8)


@pytest.mark.parametrize("arch", TINY)
def test_multitask_head_range(arch: str) -> None:
    model = create_model(arch, heads="cls+va", num_classes=7)
    out = _step(model, 100 * torch.randn(4, 1, 48, 48))
    assert out["va"].shape == (4, 2)
    assert out["va"].abs().max() <= 1.0
    model.eval()
    with torch.no_grad():
        assert set(model(torch.randn(1, 1, 48, 48))) == {"logits", "va"}


@pytest.mark.parametrize("arch", TINY)
def test_cam_layer_gives_feature_map_with_gradient(arch: str) -> None:
    model = create_model(arch, attention="cbam").eval()
    seen = {}
    model.cam_layer.register_forward_hook(lambda m, i, o: seen.setdefault("act", o))
    out = model(torch.randn(2, 1, 48, 48))
    act = seen["act"]
    assert act.ndim == 4 and act.shape[0] == 2
    (grad,) = torch.autograd.grad(out["logits"][:, 0].sum(), act)
    assert grad.abs().sum() > 0
    assert not any(k.startswith("cam_layer") for k in model.state_dict())


def test_user_errors_are_ferbench_errors() -> None:
    with pytest.raises(ModelConfigError, match="unknown architecture 'resnet9'"):
        create_model("resnet9")
    with pytest.raises(ModelConfigError, match="attention 'bam'"):
        create_model("resnet_tiny", attention="bam")
    with pytest.raises(ModelConfigError, match="activation 'tanh'"):
        create_model("resnet_tiny", activation="tanh")
    with pytest.raises(ModelConfigError, match="heads"):
        create_model("resnet_tiny", heads="va")
    with pytest.raises(ModelConfigError, match="unknown keyword"):
        create_model("resnet_tiny", depth=3)
    with pytest.raises(ModelConfigError, match="img_size"):
        create_model("resnet_tiny", img_size=16)
    with pytest.raises(ModelConfigError, match="in_chans"):
        create_model("resnet_tiny", in_chans=4)
    assert issubclass(ModelConfigError, FerbenchError) and issubclass(CheckpointError, FerbenchError)


def test_spec_roundtrip_and_registry() -> None:
    assert set(TINY) <= set(list_models())
    assert list_models("resnet_t*") == ["resnet_tiny"]
    model = create_model("vgg16", attention="eca", activation="gelu", in_chans=3, img_size=64)
    spec = model.spec
    assert spec.kwargs == {"batch_norm": True, "fc_dim": 4096, "drop_rate": 0.5}
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    rebuilt = create_model_from_spec(spec.to_dict())
    assert rebuilt.spec == spec
    with pytest.raises(ModelConfigError, match="unknown field"):
        ModelSpec.from_dict({**spec.to_dict(), "depth": 3})


def test_checkpoint_roundtrip(tmp_path) -> None:
    model = create_model("resnet_tiny", attention="se", activation="elu", heads="cls+va")
    _step(model, torch.randn(2, 1, 48, 48))  # move BN stats away from init
    path = save_model(model, tmp_path / "run" / "model.safetensors")
    assert read_spec(path) == model.spec
    loaded = load_model(path, expect=model.spec)
    assert loaded.spec == model.spec and not loaded.training
    model.eval()
    x = torch.randn(3, 1, 48, 48)
    with torch.no_grad():
        a, b = model(x), loaded(x)
    torch.testing.assert_close(a["logits"], b["logits"])
    torch.testing.assert_close(a["va"], b["va"])
    assert load_model(path, expect={"arch": "resnet_tiny", "attention": "se"}).spec == model.spec


def test_checkpoint_spec_mismatch_names_path_and_both_specs(tmp_path) -> None:
    path = save_model(create_model("resnet_tiny", attention="se"), tmp_path / "model.safetensors")
    other = create_model("resnet_tiny", attention="eca").spec
    with pytest.raises(CheckpointError) as err:
        load_model(path, expect=other)
    msg = str(err.value)
    assert str(path) in msg and "resnet_tiny[se," in msg and "resnet_tiny[eca," in msg and "attention" in msg
    with pytest.raises(CheckpointError, match="num_classes"):
        load_model(path, expect={"num_classes": 8})


def test_checkpoint_missing_corrupt_foreign(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        load_model(tmp_path / "nope.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00garbage" * 10)
    with pytest.raises(CheckpointError, match="not a readable safetensors"):
        load_model(bad)
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="no ferbench model spec"):
        load_model(foreign)
    future = tmp_path / "future.safetensors"
    spec = {**create_model("resnet_tiny").spec.to_dict(), "arch": "resnet9000"}
    save_file({"w": torch.zeros(2)}, str(future), metadata={"ferbench_spec": json.dumps(spec)})
    with pytest.raises(CheckpointError, match="cannot build.*resnet9000"):
        load_model(future)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a pickle")
    with pytest.raises(CheckpointError, match="not a readable PyTorch"):
        create_model("resnet_tiny", pretrained=junk)


def test_pretrained_adapts_channels_and_head(tmp_path, caplog) -> None:
    src = create_model("resnet_tiny", num_classes=7, in_chans=1)
    path = save_model(src, tmp_path / "fer2013.safetensors")
    with caplog.at_level("WARNING", logger="ferbench.models"):
        dst = create_model("resnet_tiny", num_classes=8, in_chans=3, pretrained=path)
    assert "dropped 2 mismatched" in caplog.text and "1 input convs adapted" in caplog.text
    w_src = src.backbone.layer2[0].conv1.weight
    torch.testing.assert_close(dst.backbone.layer2[0].conv1.weight, w_src)
    stem_src, stem_dst = src.backbone.conv1[0].weight, dst.backbone.conv1[0].weight
    assert stem_dst.shape[1] == 3
    torch.testing.assert_close(stem_dst.sum(1), stem_src[:, 0])  # timm's adapt_input_conv: 1→3 keeps the sum
    # a timm-style state dict (no "backbone." prefix, a 1000-class fc) loads into the backbone
    timm_sd = {k.removeprefix("backbone."): v for k, v in src.state_dict().items() if "backbone." in k}
    timm_sd["fc.weight"] = torch.zeros(1000, 128)
    torch.save(timm_sd, tmp_path / "timm.pth")
    dst = create_model("resnet_tiny", pretrained=tmp_path / "timm.pth")
    torch.testing.assert_close(dst.backbone.layer2[0].conv1.weight, w_src)


def test_pretrained_errors(tmp_path) -> None:
    with pytest.raises(CheckpointError, match="download the weights file yourself"):
        create_model("resnet_tiny", pretrained=True)
    path = save_model(create_model("vgg_tiny"), tmp_path / "vgg.safetensors")
    with pytest.raises(CheckpointError, match="not a resnet_tiny"):
        create_model("resnet_tiny", pretrained=path)


def test_models_cli_bad_size_channels_filter_exit_2() -> None:
    from typer.testing import CliRunner

    from ferbench.cli import app

    for args, words in ((["--size", "100000"], "--size 100000: expected 32..1024"),
                        (["--size", "8"], "--size 8"),
                        (["--channels", "2"], "--channels 2: expected 1 (gray) or 3"),
                        (["--filter", "zzz"], "no model name or family matches 'zzz'")):  # fmt: skip
        res = CliRunner().invoke(app, ["models", *args])
        assert res.exit_code == 2, res.output
        assert words in res.output and "Traceback" not in res.output
