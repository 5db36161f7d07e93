"""The training engine on CPU with the small synthetic store and the tiny models."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from fixtures.learning import LEARN_RECIPE, LEARNED

from ferbench.errors import FerbenchError
from ferbench.inference import predict, to_input, translate
from ferbench.rundir import RunError, load_run
from ferbench.train.augment import AugmentConfig, augment
from ferbench.train.engine import make_scheduler
from ferbench.train.grid import train_one
from ferbench.train.recipe import TrainConfig

# short CPU recipe: only flips, small batches, so ten epochs on ~400 images already learn
FLIP = AugmentConfig(translate=0, rotate=0, scale=0, brightness=0, contrast=0, erase_p=0)
FAST = {"batch_size": 16, "lr": 3e-3, "warmup_epochs": 0.5, "augment": FLIP.to_dict(), "patience": None}


def _cell(store, out, epochs, arch="vgg_tiny", seed=0, train_extra=None, **kw):
    return train_one(
        "synthetic",
        arch,
        seed=seed,
        train={**FAST, "epochs": epochs, **(train_extra or {})},
        out=out,
        data_dir=store.root.parent,
        device="cpu",
        **kw,
    )


def test_short_training_learns_and_writes_the_run_dir(learnable_store, tmp_path):
    run_dir = train_one("synthetic", "vgg_tiny", seed=0, train=LEARN_RECIPE, out=tmp_path,
                         data_dir=learnable_store.root.parent, device="cpu")
    names = sorted(p.name for p in run_dir.iterdir())
    assert names == ["config.json", "history.jsonl", "logits.npz", "metrics.json", "model.safetensors"]
    run = load_run(run_dir)
    m = run.metrics
    assert m["cell"] == "synthetic/vgg_tiny-none-relu/s0" and m["fold"] is None
    assert m["accuracy"] > LEARNED, m["accuracy"]  # the margin is explained beside LEARNED
    assert max(r["val_acc"] for r in run.history) > LEARNED
    assert m["n_test"] == len(run.test_indices()) == sum(v["support"] for v in m["per_class"].values())
    assert len(run.history) == m["epochs_run"] == 8 and 1 <= m["best_epoch"] <= 8
    cfg = run.config
    assert cfg["train"]["size"] == 48 and cfg["train"]["channels"] == 1 and cfg["train"]["amp"] == "fp32"
    assert cfg["train"]["batch_size"] == 32 and cfg["model"]["arch"] == "vgg_tiny"
    assert {"python", "torch", "timm", "ferbench", "platform", "device", "git_commit"} <= set(cfg["env"])
    # predict() is the path the test logits went through: the reloaded model reproduces them
    model = run.model()
    store = run.store()
    idx = run.test_indices()
    out = predict(model, store.images[idx], size=48, channels=1, device="cpu", batch_size=7)
    np.testing.assert_allclose(out["logits"], run.logits()["logits"], rtol=1e-4, atol=1e-5)
    assert out["va"] is None


def test_resume_after_kill_equals_uninterrupted_and_same_seed_is_identical(synthetic_store, tmp_path):
    class Killed(Exception):
        pass

    def kill_after_2(record, history):
        if record["epoch"] == 2:
            raise Killed

    with pytest.raises(Killed):
        _cell(synthetic_store, tmp_path / "b", epochs=3, on_epoch=kill_after_2)
    cell = tmp_path / "b" / "synthetic/vgg_tiny-none-relu/s0"
    assert (cell / "last.pt").is_file() and not (cell / "metrics.json").exists()
    assert len((cell / "history.jsonl").read_text().splitlines()) == 2
    with pytest.raises(RunError, match="not finished"):
        load_run(cell)
    resumed = load_run(_cell(synthetic_store, tmp_path / "b", epochs=3))
    assert resumed.metrics["resumed_from_epoch"] == 2 and not (cell / "last.pt").exists()

    full = load_run(_cell(synthetic_store, tmp_path / "a", epochs=3))
    again = load_run(_cell(synthetic_store, tmp_path / "c", epochs=3))
    np.testing.assert_array_equal(resumed.logits()["logits"], full.logits()["logits"])
    np.testing.assert_array_equal(again.logits()["logits"], full.logits()["logits"])
    for key in ("accuracy", "macro_f1", "kappa", "best_epoch"):
        assert resumed.metrics[key] == full.metrics[key] == again.metrics[key]
    drop = ("seconds", "img_per_s")
    strip = [{k: v for k, v in r.items() if k not in drop} for r in full.history]
    assert [{k: v for k, v in r.items() if k not in drop} for r in resumed.history] == strip
    other = load_run(_cell(synthetic_store, tmp_path / "d", epochs=3, seed=1))
    assert not np.array_equal(other.logits()["logits"], full.logits()["logits"])


def test_resume_refuses_a_changed_configuration(synthetic_store, tmp_path):
    class Killed(Exception):
        pass

    def kill(record, history):
        raise Killed

    with pytest.raises(Killed):
        _cell(synthetic_store, tmp_path, epochs=2, on_epoch=kill)
    with pytest.raises(RunError, match="different configuration"):
        _cell(synthetic_store, tmp_path, epochs=3)


def test_to_input_converts_channels_and_size():
    gray = torch.randint(0, 256, (2, 40, 40), dtype=torch.uint8)
    x = to_input(gray, 48, 3)
    assert x.shape == (2, 3, 48, 48) and torch.equal(x[:, 0], x[:, 2])
    assert x.min() >= 0.0 and x.max() <= 1.0
    rgb = torch.zeros(1, 8, 8, 3, dtype=torch.uint8)
    rgb[..., 1] = 255  # pure green -> luma 0.587
    assert torch.allclose(to_input(rgb, 8, 1), torch.full((1, 1, 8, 8), 0.587))


def test_translate_shifts_with_a_black_border():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    right = translate(x, 1, 0)[0, 0]
    assert torch.equal(right[:, 0], torch.full((4,), -1.0)) and torch.equal(right[:, 1:], x[0, 0, :, :3])
    up = translate(x, 0, -2)[0, 0]
    assert torch.equal(up[:2], x[0, 0, 2:]) and torch.equal(up[2:], torch.full((2, 4), -1.0))
    assert torch.equal(translate(x, 0, 0), x)


def test_flip_and_shift_tta_average_the_ten_views():
    from ferbench.inference import normalize
    from ferbench.models import create_model

    torch.manual_seed(0)
    model = create_model("vgg_tiny", num_classes=7, in_chans=1).eval()
    images = np.random.default_rng(0).integers(0, 256, (5, 48, 48), dtype=np.uint8)
    x = normalize(to_input(torch.from_numpy(images), 48, 1))
    views = [x, x.flip(-1)]
    views += [translate(v, dx, dy) for v in views for dx, dy in ((2, 0), (-2, 0), (0, 2), (0, -2))]
    with torch.inference_mode():
        expected = torch.stack([model(v)["logits"] for v in views]).mean(0).numpy()
    got = predict(model, images, size=48, channels=1, flip=True, shift=2, batch_size=3)["logits"]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    plain = predict(model, images, size=48, channels=1, shift=2)["logits"]  # shift alone: 5 views
    with torch.inference_mode():
        five = torch.stack([model(v)["logits"] for v in views[:1] + views[2:6]]).mean(0).numpy()
    np.testing.assert_allclose(plain, five, rtol=1e-5, atol=1e-5)


def test_shift_tta_run_records_what_each_view_set_scored(synthetic_store, tmp_path):
    run = load_run(_cell(synthetic_store, tmp_path, epochs=1, train_extra={"tta_flip": True, "tta_shift": 2}))
    m = run.metrics
    assert run.config["train"]["tta_shift"] == 2 and 0 <= m["accuracy_no_tta"] <= 1
    store, idx = run.store(), run.test_indices()
    labels = store.meta["label"].to_numpy()[idx]
    for flip, shift, key in ((True, 2, "accuracy"), (True, 0, "accuracy_flip_tta"), (False, 0, "accuracy_no_tta")):
        out = predict(run.model(), store.images[idx], size=48, channels=1, flip=flip, shift=shift)["logits"]
        assert m[key] == pytest.approx(float((out.argmax(1) == labels).mean())), key
    with pytest.raises(FerbenchError, match="tta_shift must be 0"):
        TrainConfig.from_dict({"tta_shift": -1}).validate()


def test_augment_is_seeded_and_identity_when_off():
    x = torch.rand(4, 1, 32, 32)
    a = augment(x, torch.Generator().manual_seed(0), AugmentConfig())
    b = augment(x, torch.Generator().manual_seed(0), AugmentConfig())
    c = augment(x, torch.Generator().manual_seed(1), AugmentConfig())
    assert torch.equal(a, b) and not torch.equal(a, c) and a.shape == x.shape
    assert a.min() >= 0.0 and a.max() <= 1.0
    off = AugmentConfig(translate=0, flip=False, rotate=0, scale=0, brightness=0, contrast=0, erase_p=0)
    assert torch.allclose(augment(x, torch.Generator().manual_seed(0), off), x, atol=1e-5)


@pytest.mark.parametrize("name", ["cosine", "step", "cosine_restarts", "onecycle", "constant"])
def test_schedulers_warm_up_and_decay(name):
    cfg = TrainConfig(
        epochs=6, lr=0.1, scheduler=name, warmup_epochs=1, step_size=2, restart_epochs=2, optimizer="sgd"
    )
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    sched = make_scheduler(opt, cfg, steps_per_epoch=10)
    lrs = []
    for _ in range(60):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert max(lrs) == pytest.approx(0.1, rel=1e-3)
    assert lrs[0] < lrs[5] or name == "constant" and lrs[0] == pytest.approx(0.01)
    if name in ("cosine", "onecycle"):
        assert lrs[-1] < 0.01
    if name == "step":
        assert lrs[25] == pytest.approx(0.01) and lrs[45] == pytest.approx(0.001)
    if name == "cosine_restarts":
        assert lrs[29] < 0.01 and lrs[30] == pytest.approx(0.1)  # a restart every 2 epochs after warm-up


def test_multitask_head_and_soft_targets(synthetic_store, tmp_path):
    from ferbench.data.store import write_store

    # valence/arousal head: metrics and logits.npz gain the regression results
    run = load_run(_cell(synthetic_store, tmp_path / "va", epochs=1, heads="cls+va"))
    assert set(run.metrics["valence"]) == {"rmse", "corr", "sagr", "ccc", "n"}
    z = run.logits()
    assert z["va_pred"].shape == z["va_true"].shape == (run.metrics["n_test"], 2)
    assert np.abs(z["va_pred"]).max() <= 1.0
    # a store with soft targets (FERPlus-style vote distributions) trains on them
    s = synthetic_store
    soft = np.full((len(s.images), s.num_classes), 0.05, np.float32)
    soft[np.arange(len(soft)), s.meta["label"].to_numpy()] = 1 - 0.05 * (s.num_classes - 1)
    write_store(tmp_path / "data" / "synthetic", np.asarray(s.images), s.meta, s.card, soft=soft)
    run = load_run(train_one("synthetic", "vgg_tiny", train={**FAST, "epochs": 1}, out=tmp_path / "soft",
                              data_dir=tmp_path / "data", device="cpu"))  # fmt: skip
    assert run.metrics["epochs_run"] == 1 and np.isfinite(run.history[0]["train_loss"])


@pytest.mark.slow
def test_sigkill_mid_training_then_rerun_equals_uninterrupted(synthetic_store, tmp_path):
    """A real SIGKILL of `ferbench train` loses at most the current epoch and changes nothing."""
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["train", "--dataset", "synthetic", "--arch", "vgg_tiny", "--epochs", "4", "--batch-size", "16",
            "--device", "cpu", "--data-dir", str(synthetic_store.root.parent), "--quiet"]  # fmt: skip
    cmd = [sys.executable, "-c", "from ferbench.cli import app; app()", *args, "--out", str(tmp_path / "k")]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    history = tmp_path / "k/synthetic/vgg_tiny-none-relu/s0/history.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (history.is_file() and history.read_text().count("\n") >= 1):
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (history.parent / "metrics.json").exists()
    assert subprocess.run(cmd, env=env, capture_output=True).returncode == 0
    full = subprocess.run([*cmd[:-1], str(tmp_path / "u")], env=env, capture_output=True)
    assert full.returncode == 0
    killed = load_run(history.parent)
    clean = load_run(tmp_path / "u/synthetic/vgg_tiny-none-relu/s0")
    assert killed.metrics["resumed_from_epoch"] >= 1
    np.testing.assert_array_equal(killed.logits()["logits"], clean.logits()["logits"])
    assert not list(history.parent.glob("*.tmp-*")) and not (history.parent / "last.pt").exists()


def test_gpu_recipe_bf16_channels_last_runs_and_learns_on_cpu(learnable_store, tmp_path):
    """The CUDA defaults (bf16 autocast, channels-last) asked for explicitly on a CPU: same code path."""
    def cell(out, **extra):
        return load_run(train_one("synthetic", "vgg_tiny", seed=0, train={**LEARN_RECIPE, **extra}, out=out,
                                   data_dir=learnable_store.root.parent, device="cpu"))

    fp32 = cell(tmp_path / "fp32")
    run = cell(tmp_path / "bf16", amp="bf16", channels_last="on")
    assert run.config["train"]["amp"] == "bf16" and run.config["train"]["channels_last"] == "on"
    assert run.metrics["accuracy"] > LEARNED, run.metrics["accuracy"]
    # bf16 matmuls round differently: identical losses would mean autocast never ran
    assert [r["train_loss"] for r in run.history] != [r["train_loss"] for r in fp32.history]


@pytest.mark.parametrize("key,value", [("amp", "fp16"), ("channels_last", "yes"), ("compile_mode", "fast")])
def test_unknown_precision_layout_or_compile_mode_is_a_clear_error(key, value):
    from ferbench.train.recipe import ConfigError

    with pytest.raises(ConfigError, match=f"training option {key} = '{value}': choose one of"):
        TrainConfig.from_dict({key: value}).validate()


@pytest.mark.slow
def test_compiled_training_resumes_like_eager(synthetic_store, tmp_path):
    """torch.compile (inductor, on a CPU here) through fit and resume; about a minute of compiling."""
    compiled = {"compile": True}
    run = load_run(_cell(synthetic_store, tmp_path, epochs=3, train_extra=compiled))
    assert run.config["train"]["compile"] is True and len(run.history) == 3
    assert all(np.isfinite(r["train_loss"]) for r in run.history)
    eager = load_run(_cell(synthetic_store, tmp_path / "eager", epochs=3))
    # inductor fuses kernels, so the two differ by float rounding that grows with every step: the first
    # epoch's mean loss (same weights, same batches) agrees to 1%, and the compiled weights, loaded into
    # an eager model, give the compiled run's own test logits back to float tolerance
    assert run.history[0]["train_loss"] == pytest.approx(eager.history[0]["train_loss"], rel=0.01)
    store, idx = run.store(), run.test_indices()
    out = predict(run.model(), store.images[idx], size=48, channels=1, device="cpu", batch_size=64)
    np.testing.assert_allclose(out["logits"], run.logits()["logits"], rtol=1e-3, atol=1e-4)


def test_fit_takes_arrays_without_a_store():
    """The engine trains on plain arrays: a store on disk is the cell's business, not fit's."""
    from ferbench.models import create_model
    from ferbench.train.engine import fit

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 96)
    images = np.where(labels[:, None, None] == 1, 200, 40).astype(np.uint8) + rng.integers(0, 30, (96, 16, 16),
                                                                                              dtype=np.uint8)
    cfg = TrainConfig.from_dict({**FAST, "epochs": 3}).resolve(store_size=32, store_channels=1, device_type="cpu",
                                                               n_train=64)
    torch.manual_seed(0)
    model = create_model("vgg_tiny", num_classes=2, in_chans=1, img_size=32)
    result = fit(model, images, labels, np.arange(64), np.arange(64, 96), cfg, seed=0, device="cpu")
    assert result.epochs_run == 3 and len(result.history) == 3
    assert result.history[-1]["val_acc"] > 0.9  # two classes a bright/dark image apart: trivially learnt
    with pytest.raises(FerbenchError, match="fewer than one batch"):
        fit(model, images, labels, np.arange(0), np.arange(64, 96), cfg, seed=0, device="cpu")
