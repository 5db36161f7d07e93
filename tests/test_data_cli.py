"""`ferbench prepare` and `ferbench datasets` through the Typer app."""

from __future__ import annotations

from fixtures import data_layouts as L
from typer.testing import CliRunner

from ferbench.cli import app
from ferbench.data.store import open_store

runner = CliRunner()


def test_prepare_synthetic_without_root_then_noop_then_datasets(tmp_path):
    args = ["prepare", "synthetic", "--data-dir", str(tmp_path), "--subjects", "4", "--per-class", "1"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "synthetic" in res.output and "total" in res.output
    assert open_store(tmp_path / "synthetic").meta.shape[0] == 28
    res = runner.invoke(app, args)
    assert res.exit_code == 0 and "already prepared" in res.output
    res = runner.invoke(app, ["datasets", "--data-dir", str(tmp_path)])
    assert res.exit_code == 0
    for name in ("fer2013", "ferplus", "ckplus", "jaffe", "affectnet", "folder", "synthetic"):
        assert name in res.output
    assert "28 images" in res.output


def test_prepare_dataset_with_options_prints_counts_and_checks(tmp_path):
    root = L.ck48(tmp_path / "ck", subjects=6)
    out = tmp_path / "stores" / "ck"
    res = runner.invoke(
        app,
        [
            "prepare",
            "ckplus",
            "--root",
            str(root),
            "--out",
            str(out),
            "--folds",
            "3",
            "--size",
            "32",
            "--channels",
            "3",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "subject check: passed" in res.output and "contempt" in res.output
    store = open_store(out)
    assert store.images.shape[1:] == (32, 32, 3) and store.num_folds == 3


def test_user_mistakes_exit_2_with_one_line(tmp_path):
    L.fer2013_images(tmp_path / "dl" / "fer2013", per_class=1)
    res = runner.invoke(
        app, ["prepare", "fer2013", "--root", str(tmp_path / "dl"), "--data-dir", str(tmp_path)]
    )
    assert res.exit_code == 2
    assert "pass --root" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["prepare", "fer2013", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "needs --root" in res.output
    res = runner.invoke(
        app,
        [
            "prepare",
            "folder",
            "--root",
            str(tmp_path / "dl" / "fer2013" / "train"),
            "--data-dir",
            str(tmp_path),
            "--class-map",
            "nonsense",
        ],
    )
    assert res.exit_code == 2 and "old=new" in res.output
