"""`ferbench train` / `ferbench grid` through Typer's CliRunner (1 epoch, CPU)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ferbench.cli import app

runner = CliRunner()


def test_train_command_writes_a_run(synthetic_store, tmp_path):
    data = str(synthetic_store.root.parent)
    args = ["train", "--dataset", "synthetic", "--arch", "vgg_tiny", "--epochs", "1", "--batch-size", "32",
            "--device", "cpu", "--out", str(tmp_path), "--data-dir", data, "--quiet"]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    run = tmp_path / "synthetic/vgg_tiny-none-relu/s0"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["train"]["epochs"] == 1 and cfg["train"]["optimizer"] == "adamw"  # defaults recorded
    assert "vgg_tiny-none-relu" in res.output
    res = runner.invoke(app, [*args, "--fold", "1"])
    assert res.exit_code == 2 and "fixed split" in res.output


def test_grid_command_dry_run_run_and_errors(synthetic_store, tmp_path):
    data = str(synthetic_store.root.parent)
    common = ["--datasets", "synthetic", "--archs", "resnet_tiny", "--attentions", "none,se",
              "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--out", str(tmp_path),
              "--data-dir", data]  # fmt: skip
    res = runner.invoke(app, ["grid", *common, "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "2 cells, 2 to train" in res.output and "resnet_tiny-se-relu" in res.output
    res = runner.invoke(app, ["grid", *common, "--filter", "*-se-*"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "synthetic/resnet_tiny-se-relu/s0/metrics.json").is_file()
    assert not (tmp_path / "synthetic/resnet_tiny-none-relu/s0").exists()
    res = runner.invoke(app, ["grid", *common, "--dry-run"])
    assert "2 cells, 1 to train" in res.output
    res = runner.invoke(app, ["grid", "--datasets", "missing", "--archs", "vgg_tiny", "--data-dir", data])
    assert res.exit_code == 2 and "no prepared store" in res.output
    res = runner.invoke(app, ["grid", *common, "--optimizer", "lion"])
    assert res.exit_code == 2 and "--optimizer 'lion'" in res.output


def test_train_and_grid_option_mistakes_exit_2(synthetic_store, tmp_path):
    data = str(synthetic_store.root.parent)
    (tmp_path / "afile").write_text("x")
    base = ["--datasets", "synthetic", "--archs", "vgg_tiny", "--data-dir", data, "--out", str(tmp_path / "r")]
    cases = [
        (["grid", *base, "--dry-run", "--filter", "zzz*"], "--filter 'zzz*' matches none"),
        (["grid", *base, "--dry-run", "--seeds", "a,b"], "--seeds a,b: expected integers"),
        (["grid", *base, "--dry-run", "--seeds", "0,-1"], "--seed -1: seeds must be 0 or more"),
        (["grid", *base, "--dry-run", "--attentions", "se,nope"], "does not support attention 'nope'"),
        (["grid", *base[:-1], str(tmp_path / "afile" / "x")], "is a file"),
        (["grid", *base, "--dry-run", "--data-dir", str(synthetic_store.root)], "is itself a store"),
        (["train", "--dataset", "synthetic", "--arch", "vgg_tiny", "--protocol", "kfold", "--fold", "9",
          "--data-dir", data], "--fold 9: the store has 5 folds"),
        (["train", "--dataset", "synthetic", "--arch", "vgg_tiny", "--lr", "-1", "--data-dir", data],
         "--lr must be positive"),
        (["train", "--dataset", "synthetic", "--arch", "vgg_tiny", "--size", "100000", "--data-dir", data],
         "--size must be 8..1024"),
    ]
    for args, words in cases:
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert words in res.output and "Traceback" not in res.output, (args, res.output)
    assert not (tmp_path / "r").exists()


def test_dataset_as_path_and_va_head_without_targets_exit_2(synthetic_store, tmp_path):
    import shutil

    import pandas as pd

    res = runner.invoke(app, ["train", "--dataset", str(synthetic_store.root), "--arch", "vgg_tiny"])
    assert res.exit_code == 2 and "give a store name, not a path" in res.output, res.output
    # a store without valence/arousal (like CK+): a cls+va head would train on nothing and report NaN
    shutil.copytree(synthetic_store.root, tmp_path / "data" / "nova")
    meta = pd.read_csv(tmp_path / "data" / "nova" / "meta.csv")
    meta[["valence", "arousal"]] = float("nan")
    meta.to_csv(tmp_path / "data" / "nova" / "meta.csv", index=False)
    res = runner.invoke(app, ["grid", "--datasets", "nova", "--archs", "vgg_tiny", "--heads", "cls+va",
                              "--dry-run", "--data-dir", str(tmp_path / "data")])
    assert res.exit_code == 2 and "--heads cls+va needs valence/arousal" in res.output, res.output


def test_pretrained_starts_from_a_checkpoint_and_refuses_another_models(tmp_path, synthetic_store):
    from ferbench.cli import app

    data_dir = synthetic_store.root.parent
    base = ["train", "--dataset", "synthetic", "--epochs", "1", "--device", "cpu", "--data-dir", str(data_dir),
            "--quiet"]
    first = CliRunner().invoke(app, [*base, "--arch", "vgg_tiny", "--out", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    weights = next((tmp_path / "a").rglob("model.safetensors"))
    tuned = CliRunner().invoke(app, [*base, "--arch", "vgg_tiny", "--out", str(tmp_path / "b"),
                                     "--pretrained", str(weights)])
    assert tuned.exit_code == 0, tuned.output
    config = json.loads(next((tmp_path / "b").rglob("config.json")).read_text())
    assert config["pretrained"] == str(weights)
    other = CliRunner().invoke(app, [*base, "--arch", "resnet_tiny", "--out", str(tmp_path / "c"),
                                     "--pretrained", str(weights)])
    assert other.exit_code == 2 and "Traceback" not in other.output
    assert str(weights.name) in other.output


def test_progress_is_one_plain_line_per_epoch_and_cell_when_not_a_terminal(synthetic_store, tmp_path):
    """CliRunner's stdout is no terminal, like a pipe or nohup: plain lines instead of progress bars."""
    args = ["grid", "--datasets", "synthetic", "--archs", "vgg_tiny", "--attentions", "none,se", "--epochs", "2",
            "--batch-size", "32", "--device", "cpu", "--out", str(tmp_path), "--data-dir",
            str(synthetic_store.root.parent)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == "grid default: 2 cells to train, 0 done before"
    epochs = [x for x in lines if " epoch " in x]
    assert len(epochs) == 4 and epochs[0].startswith("[1/2] synthetic/vgg_tiny-none-relu/s0 epoch 1/2 loss ")
    assert all(" img/s eta " in x for x in epochs)
    done = [x for x in lines if " done in " in x]
    assert len(done) == 2 and "test accuracy 0." in done[0] and "grid eta" in done[0]
    assert not any("━" in x for x in lines[: lines.index(done[-1]) + 1])  # no bar before the closing tables
    quiet = runner.invoke(app, [*args, "--quiet", "--force"])
    assert quiet.exit_code == 0 and not any(" epoch " in x for x in quiet.output.splitlines())
