"""Using a trained run: predict on images/folders/videos, live (headless), export with parity, runs listing.

One ``vgg_tiny`` (with valence/arousal head) is trained once for the module on the learnable synthetic
store (about 20-40 s on one shared core).
"""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pandas as pd
import pytest
from fixtures.learning import LEARN_RECIPE
from typer.testing import CliRunner

from ferbench.cli import app
from ferbench.predict import export_run, live, open_classifier, predict_files
from ferbench.predict.model import PredictError
from ferbench.predict.video import NoDisplayError
from ferbench.report.runs import compare_runs, list_runs
from ferbench.rundir import load_run

runner = CliRunner()


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, learnable_store):
    from ferbench.train.grid import train_one

    recipe = dict(LEARN_RECIPE, augment=dict(LEARN_RECIPE["augment"], translate=0.05, scale=0.1))
    return train_one("synthetic", "vgg_tiny", seed=0, train=recipe, heads="cls+va",
                     out=tmp_path_factory.mktemp("predict") / "runs", data_dir=learnable_store.root.parent,
                     device="cpu", command="pytest")


@pytest.fixture(scope="module")
def test_faces(run_dir):
    """The run's test images, their labels and the run's own test predictions (logits.npz)."""
    run = load_run(run_dir)
    lg = run.logits()
    return np.asarray(run.store().images)[lg["index"]], lg["labels"], lg["logits"], lg["index"]


def _paste(face: np.ndarray, scale: int, rng, shape=(360, 480)) -> np.ndarray:
    """``face`` enlarged ``scale`` times at a random place on a smooth random background (BGR)."""
    f = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    bg = cv2.GaussianBlur(rng.integers(0, 256, shape, dtype=np.uint8), (0, 0), 4)
    y, x = rng.integers(0, shape[0] - f.shape[0]), rng.integers(0, shape[1] - f.shape[1])
    bg[y : y + f.shape[0], x : x + f.shape[1]] = f
    return cv2.cvtColor(bg, cv2.COLOR_GRAY2BGR)


def test_crops_with_detect_none_score_exactly_as_the_runs_test(run_dir, test_faces, tmp_path):
    faces, _, logits, index = test_faces
    for i, face in zip(index[:30], faces[:30], strict=True):
        cv2.imwrite(str(tmp_path / f"{i:04d}.png"), face)
    res = predict_files(run_dir, [tmp_path], detect="none")
    df = res.frame()
    assert (res.images, res.faces, len(res.no_face), len(res.unreadable)) == (30, 30, 0, 0)
    classes = load_run(run_dir).config["classes"]
    e = np.exp(logits[:30] - logits[:30].max(1, keepdims=True))
    probs = e / e.sum(1, keepdims=True)
    assert df["class"].tolist() == [classes[k] for k in logits[:30].argmax(1)]
    np.testing.assert_allclose(df[[f"p_{c}" for c in classes]].to_numpy(float), probs, atol=2e-4)
    assert df[["valence", "arousal"]].notna().all().all()


def test_rgba_16bit_and_gray_inputs_give_the_same_prediction(run_dir, test_faces, tmp_path):
    face = test_faces[0][0]
    cv2.imwrite(str(tmp_path / "gray.png"), face)
    bgra = np.dstack([cv2.cvtColor(face, cv2.COLOR_GRAY2BGR), np.full_like(face, 200)])
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    cv2.imwrite(str(tmp_path / "deep.png"), face.astype(np.uint16) * 257)  # 16-bit
    assert cv2.imread(str(tmp_path / "deep.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    df = predict_files(run_dir, [tmp_path], detect="none").frame()
    assert len(df) == 3 and df["class"].nunique() == 1
    assert np.ptp(df["confidence"].to_numpy(float)) < 1e-3


def test_faces_pasted_into_scenes_are_found_and_classified_as_accurately_as_the_test(run_dir, test_faces, tmp_path):
    """YuNet on synthetic faces 144-192 px wide in 480x360 noise scenes; the store has ready-made crops
    (detect none), so the framing is measured on it (calibrate). Accuracy on the faces found is held
    against the run's own test accuracy on the same faces: n is about 100, so one standard error of
    the difference is about 0.07 and the bound 0.15 allows two."""
    faces, labels, logits, index = test_faces
    rng = np.random.default_rng(0)
    truth = {}
    for k in range(0, len(faces), 2):
        name = tmp_path / f"{index[k]:04d}.png"
        cv2.imwrite(str(name), _paste(faces[k], (3, 4)[k // 2 % 2], rng))
        truth[str(name)] = k
    res = predict_files(run_dir, [tmp_path], detect="yunet")
    df = res.frame()
    found = df[df["face"] == 0]
    assert len(found) >= 0.7 * len(truth), res.summary()
    assert len(res.no_face) == len(truth) - len(found)
    k = found["file"].map(truth).to_numpy()
    classes = load_run(run_dir).config["classes"]
    pred = found["class"].map(classes.index).to_numpy()
    acc, ref = (pred == labels[k]).mean(), (logits[k].argmax(1) == labels[k]).mean()
    assert acc > 0.3 and abs(acc - ref) < 0.15, (acc, ref, len(found))
    # the box is on the pasted face: its centre inside the face's square
    assert (found["w"] > 80).all()


def test_no_face_and_corrupt_files_are_counted_and_cli_formats(run_dir, tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    cv2.imwrite(str(d / "blank.png"), np.full((200, 300, 3), 127, np.uint8))
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (d / "notes.txt").write_text("not an image")
    res = predict_files(run_dir, [d], detect="yunet", annotate=tmp_path / "ann")
    assert (res.images, res.faces, len(res.no_face), len(res.unreadable), len(res.skipped)) == (1, 0, 1, 1, 1)
    assert res.rows[0]["file"].endswith("blank.png") and res.rows[0]["x"] is None
    assert (tmp_path / "ann" / "blank.png").is_file()
    assert "1 without a face, 1 unreadable, 1 skipped" in res.summary()

    out = tmp_path / "rows.csv"
    r = runner.invoke(app, ["predict", str(run_dir), str(d), "--format", "csv", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "broken.jpg" in r.output and "1 unreadable" in r.output
    assert pd.read_csv(out).shape[0] == 1
    r = runner.invoke(app, ["predict", str(run_dir), str(d / "blank.png"), "--format", "jsonl"])
    assert r.exit_code == 0, r.output
    row = json.loads(r.stdout.splitlines()[0])
    assert row["class"] is None and "p_happiness" in row and "valence" in row
    r = runner.invoke(app, ["predict", str(run_dir), str(tmp_path / "missing.png")])
    assert r.exit_code == 2 and "missing.png does not exist" in r.output
    r = runner.invoke(app, ["predict", str(tmp_path), str(d)])
    assert r.exit_code == 2 and "not a run directory" in r.output


def _video(path, faces, rng, n=12, fps=10.0):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (640, 360))
    assert w.isOpened()
    for i in range(n):
        w.write(_paste(faces[i % 3 * 7], 4, rng, (360, 640)) if i % 4 else np.zeros((360, 640, 3), np.uint8))
    w.release()


def test_live_runs_headless_on_a_generated_video(run_dir, test_faces, tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    clip = tmp_path / "clip.mp4"
    _video(clip, test_faces[0], rng)
    out = tmp_path / "annotated.mp4"
    r = runner.invoke(app, ["live", str(run_dir), "--video", str(clip), "--no-window", "--annotate", str(out),
                            "--smooth", "3"])
    assert r.exit_code == 0, r.output
    assert "12 frame(s)" in r.output
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12 and cap.read()[1].shape == (360, 640, 3)
    cap.release()
    res = live(run_dir, video=clip, window=False, annotate=tmp_path / "b.mp4")
    assert res.frames == 12 and 3 <= res.frames_with_face <= 9  # frames 0, 4, 8 are black
    # predict reads videos too: one row per face or per faceless frame
    pr = predict_files(run_dir, [clip], every=2)
    assert pr.videos == 1 and pr.frames == 6 and len(pr.no_face) >= 3

    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(NoDisplayError):
        live(run_dir, video=clip)
    r = runner.invoke(app, ["live", str(run_dir), "--camera", "0"])
    assert r.exit_code == 2 and "cannot open a window" in r.output and "--no-window" in r.output
    assert len(r.output.strip().splitlines()) == 1


def test_export_onnx_parity_backend_onnx_and_torchscript(run_dir, test_faces, tmp_path):
    pytest.importorskip("onnxruntime")
    r = runner.invoke(app, ["export", str(run_dir), "--format", "onnx"])
    assert r.exit_code == 0, r.output
    assert "argmax agreement 100.00%" in r.output and (run_dir / "model.onnx").is_file()
    faces = test_faces[0][:40]
    torch_out, onnx_out = (open_classifier(run_dir, backend=b)(faces) for b in ("torch", "onnx"))
    assert np.abs(torch_out["logits"] - onnx_out["logits"]).max() < 1e-3
    assert np.abs(torch_out["va"] - onnx_out["va"]).max() < 1e-3
    ts = export_run(run_dir, "torchscript", out=tmp_path / "m.pt")
    assert ts.agreement == 1.0 and ts.max_abs_diff < 1e-3 and ts.n == len(test_faces[0])
    with pytest.raises(PredictError, match="export refused"):
        export_run(run_dir, "onnx", out=tmp_path / "refused.onnx", min_agreement=1.01)
    assert not list(tmp_path.glob("*refused*")) and not list(tmp_path.glob(".*"))


def test_backend_onnx_without_an_export_says_how(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "model.onnx").unlink(missing_ok=True)
    with pytest.raises(PredictError, match="ferbench export"):
        open_classifier(copy, backend="onnx")


def test_runs_lists_finished_and_unfinished_and_compares(run_dir, tmp_path):
    root = tmp_path / "runs"
    a, b, c = root / "a", root / "b", root / "c"
    for d in (a, b, c):
        shutil.copytree(run_dir, d, ignore=shutil.ignore_patterns("*.onnx", "probes"))
    cfg = json.loads((b / "config.json").read_text())
    cfg["train"]["epochs"] = 99
    (b / "config.json").write_text(json.dumps(cfg))
    (c / "metrics.json").unlink()
    df = list_runs(root)
    assert df["status"].tolist() == ["finished", "finished", "unfinished"]
    assert df["epochs"].tolist() == [8, 8, 8] and df["test accuracy"].notna().sum() == 2
    config, metrics = compare_runs(root, "a", str(b))
    assert config["key"].tolist() == ["train.epochs"] and config["B"].tolist() == [99]
    assert metrics.set_index("metric").loc["accuracy", "A"] == metrics.set_index("metric").loc["accuracy", "B"]
    r = runner.invoke(app, ["runs", str(root)])
    assert r.exit_code == 0 and "2 finished, 1 unfinished" in r.output
    r = runner.invoke(app, ["runs", str(root), "--compare", "a", "b"])
    assert r.exit_code == 0 and "train.epochs" in r.output
    r = runner.invoke(app, ["runs", str(root), "--compare", "a", "zz"])
    assert r.exit_code == 2 and "zz" in r.output
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("ferbench ")
