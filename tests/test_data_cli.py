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


def test_qa_prepare_mistakes_exit_2_naming_the_option(tmp_path):
    """User mistakes found in QA: each one line + exit 2, never a traceback or a silently ignored option."""
    L.fer2013_images(tmp_path / "fer2013", per_class=1)
    ck = L.ck48(tmp_path / "ck", subjects=3)

    def fails(args: list[str], *words: str) -> None:
        res = runner.invoke(app, ["prepare", *args, "--data-dir", str(tmp_path / "data")])
        assert res.exit_code == 2, res.output
        assert "Traceback" not in res.output and all(w in res.output for w in words), res.output

    # FER2013's Kaggle folders share 4 class names with CK+48: no 'pass --root fer2013/test' suggestion
    fails(["ckplus", "--root", str(tmp_path / "fer2013")], "expected the ckplus layout")
    (tmp_path / "empty").mkdir()
    fails(["folder", "--root", str(tmp_path / "empty")], "is an empty folder", "<class>/*.jpg")
    fails(["ckplus", "--root", str(ck), "--class-map", "anger=rage"], "'rage' is not a known class")
    fails(["ckplus", "--root", str(ck), "--margin", "-1"], "--margin")
    fails(["synthetic", "--subjects", "2"], "--subjects 2", "at least 3 subjects")
    fails(["synthetic", "--per-class", "0"], "--per-class 0")
    fails(["synthetic", "--seed", "-1"], "--seed")
    fails(["synthetic", "--channels", "3"], "--channels does not apply to synthetic")
    fails(["synthetic", "--detect", "haar"], "--detect does not apply to synthetic")
    fails(["synthetic", "--root", str(ck)], "--root does not apply to synthetic")
    # --out that is a file or somebody's folder: writing the store would have replaced (deleted) it
    (tmp_path / "notes.txt").write_text("keep me")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("keep me too")
    fails(["synthetic", "--subjects", "3", "--per-class", "1", "--out", str(tmp_path / "notes.txt")],
          "is a file")
    fails(["ckplus", "--root", str(ck), "--out", str(tmp_path / "mine"), "--force"],
          "not a ferbench store", "thesis.tex")
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "keep me too"


def test_datasets_with_a_corrupt_card_names_it(tmp_path):
    (tmp_path / "fer2013").mkdir()
    (tmp_path / "fer2013" / "card.json").write_text("{")
    res = runner.invoke(app, ["datasets", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert "card.json: not valid JSON" in res.output and "--force" in res.output
