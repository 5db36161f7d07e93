"""Integration over ../shared/datasets: per-split class counts equal the published ones.

One prepare per dataset per session (module-scoped fixtures); each skips cleanly when absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from ferbench.data import ckplus, fer2013, ferplus
from ferbench.data.store import open_store

pytestmark = pytest.mark.realdata
DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def _root(name: str) -> Path:
    root = DATASETS / name
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    return root


@pytest.fixture(scope="module")
def fer_store(tmp_path_factory):
    return fer2013.prepare(_root("fer2013"), tmp_path_factory.mktemp("real") / "fer2013")


@pytest.fixture(scope="module")
def ferplus_store(tmp_path_factory):
    return ferplus.prepare(_root("ferplus"), tmp_path_factory.mktemp("real") / "ferplus")


@pytest.fixture(scope="module")
def ck_store(tmp_path_factory):
    return ckplus.prepare(_root("ckplus"), tmp_path_factory.mktemp("real") / "ckplus")


# Training / PublicTest / PrivateTest per class, as in the challenge's fer2013.csv
FER2013_COUNTS = {
    "train": {
        "anger": 3995,
        "disgust": 436,
        "fear": 4097,
        "happiness": 7215,
        "neutral": 4965,
        "sadness": 4830,
        "surprise": 3171,
    },
    "val": {
        "anger": 467,
        "disgust": 56,
        "fear": 496,
        "happiness": 895,
        "neutral": 607,
        "sadness": 653,
        "surprise": 415,
    },
    "test": {
        "anger": 491,
        "disgust": 55,
        "fear": 528,
        "happiness": 879,
        "neutral": 626,
        "sadness": 594,
        "surprise": 416,
    },
}


def test_fer2013_published_counts(fer_store):
    counts = fer_store.card["counts"]
    for split, expected in FER2013_COUNTS.items():
        assert counts[split] == {c: expected[c] for c in fer_store.classes}, split
    assert {s: sum(c.values()) for s, c in counts.items()} == {"train": 28709, "val": 3589, "test": 3589}
    assert fer_store.images.shape == (35887, 48, 48)
    assert fer_store.card["problems"]["unreadable"]["count"] == 0
    # PublicTest + PrivateTest per class = the Kaggle test/<class> folder sizes
    for c in fer_store.classes:
        folder = {"anger": "angry", "happiness": "happy", "sadness": "sad"}.get(c, c)
        n = len(list((DATASETS / "fer2013" / "test" / folder).iterdir()))
        assert FER2013_COUNTS["val"][c] + FER2013_COUNTS["test"][c] == n


def test_fer2013_duplicates_reported_and_store_reopens(fer_store):
    dup = fer_store.card["dedupe"]
    assert dup["train_rows_duplicated_in_val_test"] > 0  # FER2013's known train/test duplicates
    assert fer_store.card["checks"]["cross_split_duplicate_groups"] > 0
    again = open_store(fer_store.root)
    assert len(again.meta) == 35887 and again.num_classes == 7


def test_fer2013_public_private_duplicates_listed(fer_store):
    vt = fer_store.card["dedupe"]["val_test_duplicates"]
    # 44 PrivateTest images are exact copies of 46 PublicTest ones, in 43 groups (checked independently
    # by hashing the decoded JPEGs of test/)
    assert (vt["groups"], vt["test_images"], vt["val_images"]) == (43, 44, 46)
    assert len(vt["list"]) == 43
    assert all(n.split("/")[-1].startswith("PublicTest_") for g in vt["list"] for n in g["val"])
    assert all(n.split("/")[-1].startswith("PrivateTest_") for g in vt["list"] for n in g["test"])
    assert fer_store.card["warnings"] == []


def _independent_majority(root: Path) -> tuple[dict, dict]:
    """Raw and kept image counts per folder, computed straight from the label.csv files with the FERPlus
    reference rule (votes of 1 removed, then more than half of the rest, not unknown/NF)."""
    raw, kept = {}, {}
    for folder in ("FER2013Train", "FER2013Valid", "FER2013Test"):
        rows = list(csv.reader((root / "data" / folder / "label.csv").open()))
        raw[folder] = len(rows)
        n = 0
        for r in rows:
            votes = [int(v) if int(v) > 1 else 0 for v in r[2:12]]
            top = max(votes)
            n += 2 * top > sum(votes) and votes.index(top) < 8
        kept[folder] = n
    return raw, kept


def test_ferplus_published_counts_and_majority_filter(ferplus_store):
    flt = ferplus_store.card["label_filter"]
    assert flt["before"] == {"train": 28558, "val": 3579, "test": 3573}
    raw, kept = _independent_majority(_root("ferplus"))
    assert list(raw.values()) == [28558, 3579, 3573]
    assert flt["after"] == dict(zip(("train", "val", "test"), kept.values(), strict=True))
    counts = ferplus_store.card["counts"]
    assert {s: sum(c.values()) for s, c in counts.items()} == flt["after"]
    assert flt["after"] == {"train": 25045, "val": 3191, "test": 3137}  # the FERPlus reference counts
    assert len(ferplus_store.classes) == 8 and counts["test"]["contempt"] > 0


def test_ckplus48_counts_subjects_and_folds(ck_store):
    meta = ck_store.meta
    assert len(meta) == 981 and meta["subject"].nunique() == 118
    per_class = {ck_store.classes[k]: int(v) for k, v in meta["label"].value_counts().items()}
    assert per_class == {
        "anger": 135,
        "contempt": 54,
        "disgust": 177,
        "fear": 75,
        "happiness": 207,
        "sadness": 84,
        "surprise": 249,
    }
    assert ck_store.num_folds == 10
    assert (meta.groupby("subject")["fold"].nunique() == 1).all()
    assert ck_store.card["checks"]["split_subject_disjoint"] is True
    assert ck_store.card["subject_check"].startswith("passed: 118 subjects")
