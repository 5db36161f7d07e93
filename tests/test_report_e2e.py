"""End to end: train a tiny grid on the synthetic store, probe it, and report it through the CLI."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from ferbench.cli import app
from ferbench.train.grid import run_grid


def test_report_cli_on_a_real_grid(tmp_path, synthetic_store):
    data_dir = synthetic_store.root.parent  # the store is <data_dir>/synthetic
    runs = tmp_path / "runs"
    run_grid(
        datasets=["synthetic"],
        archs=["vgg_tiny", "resnet_tiny"],
        train={"epochs": 1},
        out=runs,
        data_dir=data_dir,
        device="cpu",
        quiet=True,
    )
    runner = CliRunner()
    first = runs / "synthetic" / "vgg_tiny-none-relu" / "s0"
    res = runner.invoke(
        app, ["subgroups", str(first), "--groups-from-meta", "group", "--resamples", "100", "--device", "cpu"]
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        app, ["resize-sweep", str(first), "--sizes", "48,16", "--interp", "cubic", "--device", "cpu"]
    )
    assert res.exit_code == 0, res.output
    (runs / "synthetic" / "half" / "s0").mkdir(parents=True)  # a cell killed before it wrote metrics.json
    (runs / "synthetic" / "half" / "s0" / "config.json").write_text("{}")

    out = tmp_path / "report"
    res = runner.invoke(
        app, ["report", str(runs), "--out", str(out), "--format", "markdown,csv", "--no-figures"]
    )
    assert res.exit_code == 0, res.output
    assert "1 unfinished run(s) not read" in res.output
    md = (out / "report.md").read_text()
    assert "VGG-tiny" in md and "ResNet-tiny" in md and "Synthetic Accuracy" in md
    assert "Both Cubic" in md and "child" in md and "adult" in md
    # the grid table's numbers are the runs' own metrics
    grid = pd.read_csv(out / "csv" / "grid_relu.csv")
    m = json.loads((first / "metrics.json").read_text())
    vgg = grid[grid["arch"] == "vgg_tiny"].iloc[0]
    assert vgg["mean"] == m["accuracy"] and vgg["n"] == 1 and vgg["params"] == m["params"]
    sub = pd.read_csv(out / "csv" / "subgroups.csv")
    whole = sub[sub["group"] == "all test images"]  # the whole test set's interval, over subjects too
    sub = sub[sub["group"] != "all test images"]
    assert set(sub["group"]) == {"adult", "child"} and sub["n"].sum() == m["n_test"]
    assert (whole["n"] == m["n_test"]).all() and (whole["unit"] == "subject").all()

    res = runner.invoke(app, ["report", str(tmp_path / "missing"), "--out", str(out)])
    assert res.exit_code == 2 and "does not exist" in res.output
