"""JAFFE from ../shared/datasets/jaffe/: the 213 original TIFFs (palette and gray), subject "NA", faces.

Skips cleanly when the real data (or the YuNet model, for its test) is absent.
"""

from __future__ import annotations

import numpy as np
import pytest

from ferbench.data import jaffe
from ferbench.data.images import decode
from ferbench.data.store import open_store

pytestmark = pytest.mark.realdata

SUBJECTS = {"KA": 23, "KL": 22, "KM": 22, "KR": 20, "MK": 21, "NA": 21, "NM": 20, "TM": 21, "UY": 21, "YM": 22}
EXPRESSIONS = {"anger": 30, "disgust": 29, "fear": 32, "happiness": 31, "neutral": 30, "sadness": 31, "surprise": 30}


@pytest.fixture(scope="module")
def root(shared_datasets):
    path = shared_datasets / "jaffe" / "jaffe"
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="module")
def store(root, tmp_path_factory):
    """The default prepare: faces cropped with the bundled Haar cascade."""
    return jaffe.prepare(root, tmp_path_factory.mktemp("real") / "jaffe")


def test_counts_subjects_and_leave_one_subject_out(store):
    meta = open_store(store.root).meta  # re-read from disk: "NA" must come back as a subject, not as NaN
    assert len(meta) == 213 and store.card["problems"]["unreadable"]["count"] == 0
    assert meta["subject"].value_counts().to_dict() == SUBJECTS
    assert {store.classes[k]: int(v) for k, v in meta["label"].value_counts().items()} == EXPRESSIONS
    assert store.num_folds == 10 and (meta.groupby("fold")["subject"].nunique() == 1).all()
    assert store.card["subject_check"].startswith("passed: 10 subjects")


def test_palette_tiffs_decode_to_their_gray_values(root):
    image = pytest.importorskip("PIL.Image")
    palette = [f for f in sorted(root.glob("*.tiff")) if image.open(f).mode == "P"]
    assert len(palette) == 23  # as found in this copy; the other 190 are plain 8-bit gray
    for f in palette:
        expected = np.asarray(image.open(f).convert("L"))
        assert np.array_equal(decode(f, color=False), expected), f.name


def test_faces_cropped_by_default(store, root, tmp_path):
    assert store.card["prepare"]["detect"] == "haar"
    # measured: the cascade finds a face in all 213 frames (OpenCV 4.x); a miss would be kept whole
    assert store.card["problems"]["no_face"]["count"] <= 3
    whole = jaffe.prepare(root, tmp_path / "whole", detect="none")
    # a face crop is not the whole frame: almost every image differs from its whole-frame version
    differ = [not np.array_equal(a, b) for a, b in zip(store.images, whole.images, strict=True)]
    assert sum(differ) >= 210


def test_yunet_finds_every_face(root, shared_datasets, tmp_path):
    model = shared_datasets.parent / "models" / "yunet" / "face_detection_yunet_2023mar.onnx"
    if not model.is_file():
        pytest.skip(f"{model} not present")
    store = jaffe.prepare(root, tmp_path / "yunet", detect="yunet", detector_model=str(model), align=True)
    assert store.card["problems"]["no_face"]["count"] <= 3  # measured: 0 of 213 missed
