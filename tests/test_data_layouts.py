"""Each dataset module on a tiny generated copy of its public layout."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import data_layouts as L

from ferbench.data import affectnet, ckplus, fer2013, ferplus, folder, jaffe
from ferbench.data import prepare as pipeline
from ferbench.data.store import open_store


def _split_sizes(store):
    return {s: len(store.indices(s)) for s in ("train", "val", "test")}


def test_fer2013_image_folder_official_split_from_prefixes(tmp_path):
    root = L.fer2013_images(tmp_path / "fer2013", per_class=3)
    store = fer2013.prepare(root, tmp_path / "out")
    assert store.classes == ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
    assert _split_sizes(store) == {"train": 21, "val": 7, "test": 7}
    val = store.meta.loc[store.indices("val"), "source"]
    test = store.meta.loc[store.indices("test"), "source"]
    assert val.str.contains("/PublicTest_").all() and test.str.contains("/PrivateTest_").all()
    # the stored pixels are the decoded JPEG, label from the folder name
    row = store.meta[store.meta["source"].str.startswith("train/happy/")].iloc[0]
    assert store.classes[row["label"]] == "happiness"
    assert store.images.shape[1:] == (48, 48)
    assert store.card["source"]["layout"] == "images"
    assert store.card["subject_check"].startswith("not applicable")


def test_fer2013_image_folder_without_prefixes_carves_stratified_val(tmp_path):
    root = L.fer2013_images(tmp_path / "fer2013", per_class=10, prefixes=False)
    store = fer2013.prepare(root, tmp_path / "out", seed=3)
    sizes = _split_sizes(store)
    assert sizes == {"train": 63, "val": 7, "test": 14}
    # stratified: one val image per class
    assert set(store.card["counts"]["val"].values()) == {1}
    again = fer2013.prepare(root, tmp_path / "out2", seed=3)
    assert (again.meta["split"] == store.meta["split"]).all()  # seeded
    assert "carved" in store.card["split_protocol"]


def test_fer2013_csv_layout_usage_to_splits(tmp_path):
    path = L.fer2013_csv(tmp_path / "fer2013" / "fer2013.csv")
    store = fer2013.prepare(path.parent, tmp_path / "out")
    assert _split_sizes(store) == {"train": 14, "val": 7, "test": 7}
    # emotion 3 = happy in the challenge coding; row 2 of the file is emotion 0 (angry)
    first = store.meta.iloc[0]
    assert first["source"] == "fer2013.csv:row2" and store.classes[first["label"]] == "anger"
    expected = L.noise(1000)
    assert np.array_equal(store.images[0], expected)  # pixels parsed exactly
    # --root may be the CSV file itself
    assert len(fer2013.prepare(path, tmp_path / "out2").meta) == 28


@pytest.mark.parametrize("make", [L.ferplus_images, L.ferplus_csv])
def test_ferplus_plurality_drops_ties_and_unknown(tmp_path, make):
    root = make(tmp_path / "ferplus")
    store = ferplus.prepare(root, tmp_path / "out", label_mode="plurality")
    assert store.classes == list(ferplus.CLASSES) and len(store.classes) == 8
    kept = [c for _, c in L.FERPLUS_ROWS if c]
    assert _split_sizes(store) == {s: len(kept) for s in ("train", "val", "test")}
    flt = store.card["label_filter"]
    assert flt["before"] == {s: len(L.FERPLUS_ROWS) for s in ("train", "val", "test")}
    assert flt["dropped_tie"] == 3 and flt["dropped_unknown_or_nf"] == 6
    labels = [store.classes[i] for i in store.meta.loc[store.indices("train"), "label"]]
    assert labels == kept
    assert store.soft is None
    if make is L.ferplus_csv:
        assert flt["removed_by_ferplus_authors"] == 1


def test_ferplus_image_without_votes_is_listed(tmp_path):
    root = L.ferplus_images(tmp_path / "ferplus")
    L.noise(1).tofile(tmp_path / "x")  # any bytes; the file is listed, never decoded
    (root / "data" / "FER2013Test" / "fer9999999.png").write_bytes((tmp_path / "x").read_bytes())
    store = ferplus.prepare(root, tmp_path / "out")
    bad = store.card["problems"]["unreadable"]
    assert bad["files"] == [["FER2013Test/fer9999999.png", "image not listed in label.csv (no votes)"]]


def test_ferplus_probability_mode_soft_targets(tmp_path):
    root = L.ferplus_images(tmp_path / "ferplus")
    store = ferplus.prepare(root, tmp_path / "out", label_mode="probability")
    assert store.soft is not None and store.soft.shape == (len(store.meta), 8)
    assert np.allclose(store.soft.sum(1), 1)
    # the tie row (5 neutral / 5 happiness) is kept as a 50/50 target; unknown/NF-topped rows are not
    assert len(store.indices("train")) == len(L.FERPLUS_ROWS) - 2
    tie = store.meta.index[store.meta["source"] == "FER2013Train/fer0000008.png"][0]
    assert np.allclose(store.soft[tie][:2], [0.5, 0.5])
    # votes reordered into the canonical order: row 3 has 5 sadness / 4 contempt (+1 unknown ignored)
    row = store.meta.index[store.meta["source"] == "FER2013Train/fer0000003.png"][0]
    assert np.allclose(store.soft[row], [0, 0, 5 / 9, 0, 0, 0, 0, 4 / 9])


def test_ckplus_48_subject_folds(tmp_path):
    root = L.ck48(tmp_path / "ck", subjects=8)
    store = ckplus.prepare(root, tmp_path / "out", folds=4)
    assert store.num_folds == 4 and len(store.meta) == 8 * 7 * 3
    assert store.classes == ["happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt"]
    assert store.meta["subject"].str.fullmatch(r"S\d{3}").all()
    assert store.card["checks"]["fold_subject_disjoint"] is True
    assert store.card["checks"]["split_subject_disjoint"] is True
    assert "passed" in store.card["subject_check"]
    for f in range(4):
        test_subj = set(store.meta.loc[store.indices("test", fold=f), "subject"])
        train_subj = set(store.meta.loc[store.indices("train", fold=f), "subject"])
        assert test_subj and not test_subj & train_subj
    # split column = fold 0 of the protocol
    assert (store.indices("test") == store.indices("test", fold=0)).all()


def test_ckplus_subject_split_option(tmp_path):
    root = L.ck48(tmp_path / "ck", subjects=10)
    store = ckplus.prepare(root, tmp_path / "out", split="subject:60/20/20", folds=0)
    per = store.meta.groupby("subject")["split"].nunique()
    assert (per == 1).all() and store.num_folds == 0
    assert set(store.meta["split"]) == {"train", "val", "test"}


@pytest.mark.parametrize("neutral", [False, True])
def test_ckplus_original_release_last_three_frames(tmp_path, neutral):
    root = L.ck_original(tmp_path / "ck", subjects=4, frames=6)
    store = ckplus.prepare(root, tmp_path / "out", neutral_frame=neutral, folds=3)
    per_seq = 4 if neutral else 3
    assert len(store.meta) == 4 * 2 * per_seq  # 2 labelled sequences per subject; the unlabelled one ignored
    frames = store.meta["source"].str.extract(r"_(\d{8})\.png$")[0].astype(int)
    expr = store.meta["label"] != (store.classes.index("neutral") if neutral else -1)
    assert set(frames[expr]) == {4, 5, 6}
    if neutral:
        assert set(frames[~expr]) == {1}
    assert ("neutral" in store.classes) == neutral
    # code 1 = anger for S050 sequence 001
    row = store.meta[store.meta["source"].str.contains("S050/001/S050_001_00000006")].iloc[0]
    assert store.classes[row["label"]] == "anger"
    assert store.images.shape[1:] == (48, 48)


def test_jaffe_leave_one_subject_out(tmp_path):
    root = L.jaffe(tmp_path / "jaffe")
    store = jaffe.prepare(root, tmp_path / "out")
    assert store.num_folds == 10 and len(store.meta) == 70
    assert (store.meta.groupby("fold")["subject"].nunique() == 1).all()
    assert store.meta["subject"].nunique() == 10
    assert len(store.classes) == 7 and "contempt" not in store.classes
    assert store.card["problems"]["unreadable"]["count"] == 0  # the README is not an image


def test_affectnet_filters_and_keeps_valence_arousal(tmp_path):
    root = L.affectnet(tmp_path / "affectnet", per_class=3)
    store = affectnet.prepare(root, tmp_path / "out", size=32, channels=3)
    assert store.channels == 3 and store.size == 32
    assert len(store.meta) == 2 * 8 * 3  # expressions 8-10 and the -2 row dropped in both files
    assert store.card["label_filter"]["dropped"] == {"expression_8_to_10": 4, "invalid_valence_arousal": 2}
    assert np.allclose(store.meta["valence"], 0.5) and np.allclose(store.meta["arousal"], 0.2)
    test = store.meta.loc[store.indices("test"), "source"]
    assert test.str.startswith("validation.csv").all() and len(test) == 24
    assert len(store.indices("val")) > 0


def test_affectnet_box_crop_matches_manual_crop(tmp_path):
    root = L.affectnet(tmp_path / "affectnet", per_class=1)
    store = affectnet.prepare(root, tmp_path / "out", size=64, margin=0.0)
    row = store.meta.iloc[0]
    rel = row["source"].split(":", 2)[2]
    import cv2

    img = cv2.imread(str(root / "Manually_Annotated_Images" / rel), cv2.IMREAD_GRAYSCALE)
    manual = img[16:80, 16:80]  # box x=16 y=16 w=h=64, no margin, same size: an exact crop
    assert np.abs(store.images[0].astype(int) - manual.astype(int)).max() <= 1


@pytest.mark.parametrize("splits", [None, ("train", "val", "test"), ("train", "test")])
def test_folder_layouts(tmp_path, splits):
    root = L.image_folder(tmp_path / "faces", per_class=10, splits=splits)
    store = folder.prepare(root, tmp_path / "out")
    assert store.classes == ["neutral", "happiness", "sadness", "anger"]
    sizes = _split_sizes(store)
    assert all(sizes.values())
    if splits is None:
        assert sizes == {"train": 32, "val": 4, "test": 4}
        assert "not subject-independent" in store.card["split_protocol"]
    elif splits == ("train", "test"):
        assert sizes["test"] == 40 and sizes["val"] == 4


def test_folder_class_map_renames(tmp_path):
    root = L.image_folder(tmp_path / "faces", classes=("glad", "mad"), per_class=5)
    store = folder.prepare(root, tmp_path / "out", class_map="glad=happiness,mad=anger")
    assert store.classes == ["happiness", "anger"]


def test_registry_lists_every_dataset_and_prepared_counts(tmp_path):
    pipeline.prepare("synthetic", data_dir=tmp_path, subjects=4, per_class=1)
    rows = {r["name"]: r for r in pipeline.list_datasets(tmp_path)}
    assert set(rows) >= {"synthetic", "fer2013", "ferplus", "ckplus", "jaffe", "affectnet", "folder"}
    assert rows["synthetic"]["prepared"]["num_images"] == 28
    assert rows["fer2013"]["prepared"] is None
    assert all(r["layouts"] for r in rows.values())
    assert open_store(tmp_path / "synthetic").num_classes == 7


def test_rgb_and_size_options(tmp_path):
    root = L.fer2013_images(tmp_path / "fer2013", per_class=1)
    store = fer2013.prepare(root, tmp_path / "out", size=32, channels=3)
    assert store.images.shape[1:] == (32, 32, 3)
    assert (store.images[..., 0] == store.images[..., 1]).all()  # gray source replicated
