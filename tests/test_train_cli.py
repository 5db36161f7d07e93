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
