"""Cross-dataset evaluation (``ferbench eval``) and the report's train × test dataset matrix.

One vgg_tiny is trained two epochs on a copy of the small synthetic store (7 classes, 48 px gray) and
tested on a second store built from its images with another class set and format: happiness and
sadness kept, anger images relabelled contempt (a class the model lacks), stored as 64 px RGB.
"""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from ferbench.cli import app
from ferbench.data.store import new_meta, write_store
from ferbench.inference import predict
from ferbench.probes.crossdata import evaluate, match_classes, read_evals
from ferbench.probes.runs import ProbeError
from ferbench.report import build_report
from ferbench.report.collect import collect, collect_evals
from ferbench.report.tables import crossdata_tables
from ferbench.rundir import load_run

RECIPE = {"epochs": 2, "lr": 3e-3, "batch_size": 32, "patience": None}
OTHER = ["happiness", "sadness", "contempt"]  # canonical order; contempt stands in for anger's images


def _other_store(path, synthetic_store, shift: int = 0):
    """happiness / sadness / contempt (= the synthetic anger images) as 64 px RGB; half the rows are test."""
    src = synthetic_store.classes
    labels = synthetic_store.meta["label"].to_numpy()
    picks = {src.index("happiness"): 0, src.index("sadness"): 1, src.index("anger"): 2}
    rows = np.flatnonzero(np.isin(labels, list(picks)))
    imgs = np.stack([cv2.cvtColor(cv2.resize(np.asarray(synthetic_store.images[i]), (64, 64)), cv2.COLOR_GRAY2RGB)
                     for i in rows]).astype(np.uint8)
    imgs = np.clip(imgs.astype(int) + shift, 0, 255).astype(np.uint8)
    meta = new_meta(len(rows))
    meta["label"] = [picks[int(v)] for v in labels[rows]]
    meta["subject"] = synthetic_store.meta["subject"].to_numpy()[rows]
    meta["split"] = np.where(np.arange(len(rows)) % 2 == 0, "test", "train")
    return write_store(path, imgs, meta, {"name": "other", "classes": OTHER}, force=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, synthetic_store):
    from ferbench.train.grid import train_one

    root = tmp_path_factory.mktemp("crossdata")
    data = root / "data"
    write_store(data / "synthetic", np.asarray(synthetic_store.images), synthetic_store.meta, synthetic_store.card)
    other = _other_store(data / "other", synthetic_store)
    run = train_one("synthetic", "vgg_tiny", seed=0, train=RECIPE, out=root / "runs", data_dir=data,
                    device="cpu", command="pytest")
    return {"root": root, "data": data, "run": run, "other": other}


def test_match_classes_by_name():
    m = match_classes(["happiness", "sadness", "anger"], ["neutral", "sadness", "anger", "contempt"])
    assert m.to_model.tolist() == [-1, 1, 2, -1]
    assert m.excluded == ["neutral", "contempt"] and m.shared == ["sadness", "anger"]


def test_eval_excludes_classes_the_model_lacks(setup):
    run, other = setup["run"], setup["other"]
    res, path = evaluate(run, "other", data_dir=setup["data"], split="all", device="cpu")
    labels = other.meta["label"].to_numpy()
    assert res["n_split"] == len(labels)
    assert res["excluded"] == {"contempt": int((labels == 2).sum())}  # reported, not mapped onto anger
    assert res["n"] == int((labels < 2).sum())
    # the same images through the run's own input path (64 px RGB -> 48 px gray), labels mapped by name
    loaded = load_run(run)
    model_classes = loaded.config["classes"]
    keep = np.flatnonzero(labels < 2)
    logits = predict(loaded.model(), other.images, index=keep, size=48, channels=1)["logits"]
    want = np.array([model_classes.index(OTHER[v]) for v in labels[keep]])
    assert res["accuracy"] == pytest.approx(float((logits.argmax(1) == want).mean()))
    assert len(res["confusion"]) == len(model_classes)  # scored over every output of the model
    assert path == run / "probes" / "eval-other-all.json" and json.loads(path.read_text())["n"] == res["n"]
    assert res["store"]["hash"] and res["train_dataset"] == "synthetic"


def test_eval_test_split_and_reuse(setup):
    run, other = setup["run"], setup["other"]
    res, path = evaluate(run, "other", data_dir=setup["data"], split="test", device="cpu")
    assert res["n_split"] == len(other.indices("test")) < len(other.meta)
    before = path.stat().st_mtime_ns
    again, _ = evaluate(run, "other", data_dir=setup["data"], split="test", device="cpu")
    assert again == res and path.stat().st_mtime_ns == before  # up to date: read back, not recomputed


def test_eval_bad_input_is_one_clear_error(setup, tmp_path):
    run = setup["run"]
    with pytest.raises(ProbeError, match="no prepared store 'nosuch'.*ferbench prepare nosuch"):
        evaluate(run, "nosuch", data_dir=setup["data"])
    with pytest.raises(ProbeError, match="--split 'val'"):
        evaluate(run, "other", data_dir=setup["data"], split="val")
    meta = new_meta(4)
    meta["label"] = [0, 0, 0, 0]
    write_store(tmp_path / "contempt", np.zeros((4, 48, 48), np.uint8), meta, {"name": "c", "classes": ["contempt"]})
    with pytest.raises(ProbeError, match="no class in common"):
        evaluate(run, "contempt", data_dir=tmp_path, split="all")
    res = CliRunner().invoke(app, ["eval", str(run), "--dataset", "nosuch", "--data-dir", str(setup["data"])])
    assert res.exit_code == 2 and "error:" in res.output and "Traceback" not in res.output


def test_cli_eval_prints_exclusions(setup):
    res = CliRunner().invoke(app, ["eval", str(setup["root"] / "runs"), "--dataset", "other",
                                   "--data-dir", str(setup["data"]), "--split", "all", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "on other (all): accuracy" in res.output and "excluded (class not in the model): contempt" in res.output


def test_report_matrix(setup, tmp_path):
    evaluate(setup["run"], "other", data_dir=setup["data"], split="all", device="cpu")
    evaluate(setup["run"], "synthetic", data_dir=setup["data"], split="test", device="cpu")  # its own test split
    coll = collect(setup["root"] / "runs")
    evals = collect_evals(coll)
    assert set(evals["test_dataset"]) >= {"other", "synthetic"}
    (t,) = crossdata_tables(coll, evals)
    row = t.display.iloc[0]
    assert row["Model"] == "VGG-tiny" and row["Trained on"] == "Synthetic"
    own = next(c for c in t.display.columns if c.startswith("Synthetic"))
    cross = next(c for c in t.display.columns if c.startswith("other (all)"))
    assert any(c.startswith("other (test)") for c in t.display.columns)  # the earlier test's split, apart
    # the eval of its own test split duplicates the in-domain column: not shown twice
    assert sum(c.startswith("Synthetic") for c in t.display.columns) == 1 and len(t.display.columns) == 5
    acc = coll.runs["accuracy"].iloc[0]
    assert row[own].startswith(f"{100 * acc:.2f}%") and "(n=1)" in row[own]
    assert "(n=1)" in row[cross] and "^[" in row[cross]
    assert any("contempt" in note for note in t.footnotes.values())
    assert set(t.data["test_dataset"]) == {"synthetic", "other"} and (t.data["n"] == 1).all()
    written = build_report(setup["root"] / "runs", tmp_path / "rep", "markdown,latex,csv,html", figures=False)
    md = written["markdown"].read_text()
    assert "Cross-dataset accuracy" in md and "contempt" in md
    assert (tmp_path / "rep" / "csv" / "crossdata_accuracy.csv").is_file()
    assert "Cross-dataset" in written["html"].read_text() and "Cross-dataset" in written["latex"].read_text()


def test_stale_eval_not_shown(setup, synthetic_store, tmp_path):
    run = setup["run"]
    evaluate(run, "other", data_dir=setup["data"], split="all", device="cpu")
    assert "other" in {r["test_dataset"] for r in read_evals(run)[0]}
    # the store is prepared again with other pixels: the measurement no longer describes it
    _other_store(setup["data"] / "other", synthetic_store, shift=9)
    found, problems = read_evals(run)
    assert all(r["test_dataset"] != "other" for r in found)
    assert any("eval-other-all.json: stale" in p and "prepared again" in p for p in problems)
    written = build_report(setup["root"] / "runs", tmp_path / "rep", "markdown", figures=False)
    assert any("stale" in p for p in written.problems)
    assert "Cross-dataset accuracy" not in written["markdown"].read_text()  # every other eval is stale too
    # re-evaluating replaces it; retraining the run (a new metrics.json) makes it stale again
    evaluate(run, "other", data_dir=setup["data"], split="all", device="cpu")
    assert any(r["test_dataset"] == "other" for r in read_evals(run)[0])
    metrics = run / "metrics.json"
    metrics.write_text(metrics.read_text().rstrip()[:-1] + ', "retrained": true}')
    found, problems = read_evals(run)
    assert found == [] and any("retrained" in p for p in problems)
    written = build_report(setup["root"] / "runs", tmp_path / "rep2", "markdown", figures=False)
    assert "Cross-dataset accuracy" not in written["markdown"].read_text()
