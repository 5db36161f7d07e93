"""The issue-14 dataset modules on tiny generated copies of their public layouts."""

from __future__ import annotations

import importlib

import cv2
import numpy as np
import pytest
from fixtures import data_layouts_new as N
from typer.testing import CliRunner

from ferbench.cli import app
from ferbench.data import affwild2, expw, jaffe, kdef, oulu, prepare, rafdb, sfew
from ferbench.data.classes import EMOTIONS
from ferbench.data.prepare import DatasetLayoutError, PrepareOptionError
from ferbench.data.store import open_store

NEW = ("rafdb", "sfew", "expw", "kdef", "oulu", "affwild2")
runner = CliRunner()


def _sizes(store) -> dict[str, int]:
    return {s: len(store.indices(s)) for s in ("train", "val", "test")}


def _labels(store, split: str | None = None) -> list[str]:
    rows = store.meta if split is None else store.meta.loc[store.indices(split)]
    return [store.classes[i] for i in rows["label"]]


@pytest.mark.parametrize("name", [*NEW, "jaffe"])
def test_class_mapping_onto_the_canonical_vocabulary_is_explicit(name):
    """Cross-dataset evaluation relies on LABELS: every dataset code maps to a canonical class (or
    to None = dropped, Aff-Wild2's Other), and CLASSES is in canonical order."""
    module = importlib.import_module(prepare.DATASETS[name])
    labels = module.LABELS if hasattr(module, "LABELS") else module.CODES
    assert {v for v in labels.values() if v is not None} <= set(EMOTIONS)
    assert [c for c in EMOTIONS if c in module.CLASSES] == module.CLASSES
    assert set(module.CLASSES) <= {v for v in labels.values() if v is not None} | {"neutral"}
    assert module.PROTOCOL and module.LAYOUTS and module.__doc__.count("::") >= 1


def test_rafdb_list_layout_official_split_and_carved_val(tmp_path):
    root = N.rafdb_list(tmp_path / "RAF-DB")
    (root / "basic" / "Image" / "aligned" / "test_0003_aligned.jpg").unlink()  # missing in this copy
    store = rafdb.prepare(root, tmp_path / "out", seed=1)
    assert store.size == 100 and store.card["source"]["layout"] == "list"
    sizes = _sizes(store)
    assert sizes["test"] == 13 and sizes["train"] + sizes["val"] == 28 and sizes["val"] == 3
    bad = store.card["problems"]["unreadable"]
    assert bad["count"] == 1 and bad["files"][0][0] == "Image/aligned/test_0003_aligned.jpg"
    # code 1 = surprise (the first 4 train lines), code 7 = neutral
    first = store.meta[store.meta["source"] == "Image/aligned/train_00001_aligned.jpg"].iloc[0]
    assert store.classes[first["label"]] == "surprise"
    last = store.meta[store.meta["source"] == "Image/aligned/train_00028_aligned.jpg"].iloc[0]
    assert store.classes[last["label"]] == "neutral"
    assert store.card["label_map"]["4"] == "happiness"
    assert store.card["provenance"]["counts_in_this_copy"] == {"train": 28, "test": 14}
    assert "val carved from train" in store.card["split_protocol"]
    again = rafdb.prepare(root, tmp_path / "out2", seed=1)
    assert (again.meta["split"] == store.meta["split"]).all()  # seeded


def test_rafdb_original_images_need_a_detector(tmp_path):
    root = N.rafdb_list(tmp_path / "RAF-DB", train_per_class=1, test_per_class=1)
    with pytest.raises(PrepareOptionError, match="whole photos; pass --detect"):
        rafdb.prepare(root / "basic", tmp_path / "out", images="original", detect="none")
    store = rafdb.prepare(root / "basic", tmp_path / "out", images="original", detect="haar")
    assert store.meta["source"].str.startswith("Image/original/train_").sum() == 7
    assert store.card["problems"]["no_face"]["count"] == 14  # noise: every miss counted, kept whole
    with pytest.raises(PrepareOptionError, match="--images 'raw'"):
        rafdb.prepare(root, tmp_path / "out3", images="raw")


@pytest.mark.parametrize("names", [None, {"1": "surprise", "4": "happy", "7": "neutral"}])
def test_rafdb_refoldered_copy(tmp_path, names):
    root = N.rafdb_folders(tmp_path / "raf", per_class=3, names=names)
    store = rafdb.prepare(root, tmp_path / "out")
    assert store.card["source"]["layout"] == "folders"
    assert _sizes(store)["test"] == 21 and len(store.meta) == 42
    surprise = store.meta[store.meta["source"].str.startswith("train/" + (names or {}).get("1", "1") + "/")]
    assert set(_labels(store)) == set(rafdb.CLASSES)
    assert {store.classes[i] for i in surprise["label"]} == {"surprise"}
    with pytest.raises(PrepareOptionError, match="re-foldered copy"):
        rafdb.prepare(root, tmp_path / "out2", images="original", detect="haar")


@pytest.mark.parametrize("layout", ["aligned", "folders"])
def test_sfew_val_is_the_test_split_and_missing_images_are_counted(tmp_path, layout):
    root = N.sfew(tmp_path / "SFEW", layout=layout, train=3, val=2)
    store = sfew.prepare(root, tmp_path / "out")
    assert store.card["source"]["layout"] == layout
    sizes = _sizes(store)
    assert sizes["test"] == 14 and sizes["train"] + sizes["val"] == 21 and sizes["val"] > 0
    test = store.meta.loc[store.indices("test"), "source"]
    assert test.str.startswith("Val/").all()  # Test/ (no labels) is never read
    prov = store.card["provenance"]
    assert prov["counts_in_this_copy"] == {"train": 21, "test": 14}
    assert prov["missing_vs_official"] == {"train": 958 - 21, "test": 436 - 14}
    happy = store.meta[store.meta["source"].str.contains("/Happy/")]
    assert {store.classes[i] for i in happy["label"]} == {"happiness"}


def test_sfew_whole_movie_frames_are_refused_without_a_detector(tmp_path):
    root = N.sfew(tmp_path / "SFEW", layout="folders", train=1, val=1, frame=True)
    with pytest.raises(PrepareOptionError, match="whole movie frame"):
        sfew.prepare(root, tmp_path / "out")


def test_expw_box_crop_grouped_split_and_filters(tmp_path):
    root, lines = N.expw(tmp_path / "ExpW")
    store = expw.prepare(root, tmp_path / "out", seed=0)
    assert len(store.meta) == len(lines)
    reasons = [r for _, r in store.card["problems"]["unreadable"]["files"]]
    assert len(reasons) == 3 and any("zero area" in r for r in reasons) and any("not in 0..6" in r for r in reasons)
    # two faces of one photo never straddle splits; the leakage check ran on the photo names
    assert (store.meta.groupby("subject")["split"].nunique() == 1).all()
    assert store.card["checks"]["split_subject_disjoint"] is True
    sizes = _sizes(store)
    assert all(sizes.values()) and sizes["train"] > sizes["val"] and sizes["train"] > sizes["test"]
    assert "grouped by source photo" in store.card["split_protocol"]
    assert "official" not in store.card["split_protocol"].replace("no official split", "")
    # the face box (top 4, left 6, 24x24) is what is stored: an exact crop at margin 0
    exact = expw.prepare(root, tmp_path / "exact", size=24, margin=0.0)
    row = exact.meta[exact.meta["source"] == "origin/angry_person_000.jpg:face0"].iloc[0]
    img = cv2.imread(str(root / "image" / "origin" / "angry_person_000.jpg"), cv2.IMREAD_GRAYSCALE)
    assert np.abs(exact.images[row["index"]].astype(int) - img[4:28, 6:30].astype(int)).max() <= 1
    # label 0 = angry, 3 = happy (the release's codes)
    assert exact.classes[row["label"]] == "anger"
    confs = [float(line.split()[6]) for line in lines]
    high = expw.prepare(root, tmp_path / "high", min_confidence=60)
    assert len(high.meta) == sum(c >= 60 for c in confs)
    assert high.card["label_filter"]["dropped_low_confidence"] == sum(c < 60 for c in confs)


def test_expw_split_is_seeded(tmp_path):
    root, _ = N.expw(tmp_path / "ExpW")
    a = expw.prepare(root, tmp_path / "a", seed=3)
    b = expw.prepare(root, tmp_path / "b", seed=3)
    c = expw.prepare(root, tmp_path / "c", seed=4)
    assert (a.meta["split"] == b.meta["split"]).all() and not (a.meta["split"] == c.meta["split"]).all()


def test_kdef_frontal_by_default_subjects_across_sessions(tmp_path):
    root = N.kdef(tmp_path / "KDEF_and_AKDEF")
    store = kdef.prepare(root, tmp_path / "out", folds=5)
    assert len(store.meta) == 5 * 2 * 7  # 5 posers, 2 sessions, 7 expressions, straight only
    assert store.meta["source"].str.match(r"^[AB][FM]\d\d/[AB][FM]\d\d[A-Z]{2}S\.(JPG|jpg)$").all()
    assert sorted(store.meta["subject"].unique()) == ["F01", "F02", "M01", "M02", "M03"]
    assert (store.meta.groupby("subject")["fold"].nunique() == 1).all()  # session A and B together
    assert store.card["prepare"]["detect"] == "haar"  # whole portraits: cropped by default
    afraid = store.meta[store.meta["source"].str.contains("AF01AFS")]
    assert {store.classes[i] for i in afraid["label"]} == {"fear"}
    bad = dict(store.card["problems"]["unreadable"]["files"])
    assert set(bad) == {"AF01/AF01XXS.JPG", "AF01/Thumbs.db"}
    three = kdef.prepare(root, tmp_path / "three", angles="s,HL,HR", folds=5, detect="none")
    assert len(three.meta) == 5 * 2 * 7 * 3 and three.card["provenance"]["skipped_other_angles"] == 5 * 2 * 7 * 2
    with pytest.raises(PrepareOptionError, match="--angles 'S,UP'"):
        kdef.prepare(root, tmp_path / "x", angles="S,UP")


def test_kdef_flat_copy(tmp_path):
    root = N.kdef(tmp_path / "k", posers=("F01", "M01", "M02"))
    flat = tmp_path / "flat"
    flat.mkdir()
    for f in (root / "KDEF").glob("*/*"):
        f.rename(flat / f.name)
    (flat / "readme.txt").write_text("KDEF")
    store = kdef.prepare(flat, tmp_path / "out", folds=3, detect="none")
    assert len(store.meta) == 3 * 2 * 7 and store.meta["subject"].nunique() == 3
    assert dict(store.card["problems"]["unreadable"]["files"]) == {"AF01XXS.JPG": (
        "file name is not <A|B><F|M><id><AF|AN|DI|HA|NE|SA|SU><FL|HL|S|HR|FR>.JPG")}


def test_oulu_last_three_frames_neutral_first_and_recordings(tmp_path):
    root = N.oulu(tmp_path / "Oulu-CASIA")
    store = oulu.prepare(root, tmp_path / "out", folds=3)
    assert store.classes == ["happiness", "sadness", "surprise", "fear", "disgust", "anger"]
    assert len(store.meta) == (6 * 6 - 1) * 3  # P001's 3-frame Fear sequence is listed, not used
    assert store.meta["source"].str.endswith(("/003.jpeg", "/004.jpeg", "/005.jpeg")).all()
    bad = store.card["problems"]["unreadable"]["files"]
    assert bad == [["OriginalImg/VL/Strong/P001/Fear", "sequence has 3 frames (need at least 4)"]]
    assert (store.meta.groupby("subject")["fold"].nunique() == 1).all() and store.num_folds == 3
    neutral = oulu.prepare(root / "OriginalImg", tmp_path / "neutral", folds=3, neutral_frame=True)
    assert neutral.classes[0] == "neutral" and _labels(neutral).count("neutral") == 6 * 6 - 1
    assert neutral.meta.loc[np.array(_labels(neutral)) == "neutral", "source"].str.endswith("/000.jpeg").all()
    ni = oulu.prepare(root, tmp_path / "ni", folds=3, sensor="ni", light="dark", detect="none")
    assert ni.meta["source"].str.startswith("OriginalImg/NI/Dark/").all() and len(ni.meta) == 6 * 6 * 3
    with pytest.raises(DatasetLayoutError, match="VL/Weak: recording missing"):
        oulu.prepare(root, tmp_path / "weak", light="Weak")
    with pytest.raises(PrepareOptionError, match="--light 'Bright'"):
        oulu.prepare(root, tmp_path / "bright", light="Bright")


@pytest.mark.parametrize("every", [1, 3])
def test_affwild2_frames_labels_every_and_counts(tmp_path, every):
    root, labels = N.affwild2(tmp_path / "Aff-Wild2")
    store = affwild2.prepare(root, tmp_path / "out", every=every)
    frames = store.card["frames"]
    kept = {v: [(i, c) for i, c in enumerate(seq, start=1) if (i - 1) % every == 0] for v, seq in labels.items()}
    flat = [(v, i, c) for v, seq in kept.items() for i, c in seq]
    assert frames["labelled_lines"] == sum(map(len, labels.values()))
    assert frames["ignored_minus_1"] == sum(c == -1 for _, _, c in flat)
    assert frames["other_dropped"] == sum(c == 7 for _, _, c in flat)
    assert frames["no_cropped_frame"] == sum(i == 5 and 0 <= c < 7 for _, i, c in flat)
    usable = [(v, i, c) for v, i, c in flat if 0 <= c < 7 and i != 5]
    assert len(store.meta) == len(usable)
    # the header maps indices: 1 = Anger, 4 = Happiness
    names = affwild2.HEADER
    for video, i, code in usable[:20]:
        row = store.meta[store.meta["source"] == f"{video}/{i:05d}.jpg"].iloc[0]
        assert store.classes[row["label"]] == affwild2.LABELS[names[code].lower()]
        assert row["subject"] == video
    test = store.meta.loc[store.indices("test"), "subject"]
    assert set(test) == {"118-30-640x480", "video7"}
    assert (store.meta.groupby("subject")["split"].nunique() == 1).all()  # val carved by video
    assert store.card["reported_metric"] == "macro_f1"
    assert "val carved from Train_Set (10% of the videos" in store.card["split_protocol"]
    assert ("a 1/3 sample" in store.card["provenance"]["test"]) == (every > 1)


def test_affwild2_abaw2_folder_names_and_bad_header(tmp_path):
    root, _ = N.affwild2(tmp_path / "abaw2", track="EXPR_Set", parts=("Training_Set", "Validation_Set"))
    (root / "Annotations").rename(root / "annotations")
    store = affwild2.prepare(root, tmp_path / "out")
    assert store.card["provenance"]["dataset"].endswith("(EXPR_Set)") and _sizes(store)["test"] > 0
    txt = root / "annotations" / "EXPR_Set" / "Training_Set" / "video3.txt"
    txt.write_text("0\n1\n2\n")
    store = affwild2.prepare(root, tmp_path / "out2")
    assert ["EXPR_Set/Training_Set/video3.txt", "first line is not the class header (Neutral,Anger,...)"] in (
        store.card["problems"]["unreadable"]["files"])
    with pytest.raises(PrepareOptionError, match="--every 0"):
        affwild2.prepare(root, tmp_path / "out3", every=0)


def test_affwild2_abaw6_names_and_the_new_videos_folder(tmp_path):
    root, labels = N.affwild2(tmp_path / "AFFWILD", track="EXPR_Recognition_Challenge")
    (root / "Annotations").rename(root / "6th ABAW Annotations")
    (root / "Faces").mkdir()
    (root / "cropped_aligned").rename(root / "Faces" / "cropped_aligned")
    (root / "Faces" / "cropped_aligned_new_50_vids").mkdir()
    (root / "Faces" / "cropped_aligned" / "video7").rename(root / "Faces" / "cropped_aligned_new_50_vids" / "video7")
    store = affwild2.prepare(root, tmp_path / "out")
    assert store.card["frames"]["videos_without_frames"] == 0
    assert (store.meta["subject"] == "video7").sum() == sum(0 <= c < 7 for i, c in enumerate(labels["video7"], 1)
                                                             if i != 5)


def test_wrong_root_names_the_right_folder(tmp_path):
    root = N.rafdb_list(tmp_path / "dl" / "RAF-DB", train_per_class=1, test_per_class=1)
    with pytest.raises(DatasetLayoutError, match=f"pass --root {root}"):
        rafdb.prepare(tmp_path / "dl", tmp_path / "out")
    with pytest.raises(DatasetLayoutError, match="expected the kdef layout"):
        kdef.prepare(root, tmp_path / "out")


def test_cli_prepare_new_options_and_datasets_listing(tmp_path):
    root = N.kdef(tmp_path / "kdef", posers=("F01", "F02", "M01"))
    args = ["prepare", "kdef", "--root", str(root), "--data-dir", str(tmp_path / "data"), "--angles", "S,HL",
            "--folds", "3"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "subject check: passed: 3 subjects" in res.output
    assert len(open_store(tmp_path / "data" / "kdef").meta) == 3 * 2 * 7 * 2
    for wrong, word in ((["--every", "2"], "--every does not apply to kdef"),
                        (["--light", "Dark"], "--light does not apply to kdef"),
                        (["--images", "original"], "--images does not apply to kdef")):
        res = runner.invoke(app, [*args, *wrong, "--force"])
        assert res.exit_code == 2 and word in res.output and "Traceback" not in res.output, res.output
    res = runner.invoke(app, ["prepare", "synthetic", "--every", "2", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2 and "--every does not apply to synthetic" in res.output
    res = runner.invoke(app, ["datasets", "--data-dir", str(tmp_path / "data")], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    for name in (*NEW, "jaffe"):
        assert name in res.output
    assert "protocol" in res.output and "84 images" in res.output
    rows = {r["name"]: r for r in prepare.list_datasets(tmp_path / "data")}
    assert set(rows) == set(prepare.DATASETS) and all(r["protocol"] for r in rows.values())
    assert "grouped by source photo" in rows["expw"]["protocol"] and "macro-F1" in rows["affwild2"]["protocol"]


def test_jaffe_crops_faces_by_default(tmp_path):
    from fixtures import data_layouts as L

    store = jaffe.prepare(L.jaffe(tmp_path / "jaffe"), tmp_path / "out")
    assert store.card["prepare"]["detect"] == "haar" and store.card["problems"]["no_face"]["detector"] == "haar"
    whole = jaffe.prepare(L.jaffe(tmp_path / "jaffe"), tmp_path / "whole", detect="none")
    assert whole.card["prepare"]["detect"] == "none"
