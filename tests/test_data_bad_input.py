"""Every bad-input case: a one-line FerbenchError naming the path and the fix, or skipped-and-listed."""

from __future__ import annotations

import numpy as np
import pytest
from fixtures import data_layouts as L

from ferbench.data import ckplus, fer2013, ferplus, folder
from ferbench.data import prepare as pipeline
from ferbench.data.classes import UnknownClassError
from ferbench.data.prepare import DatasetLayoutError, PrepareOptionError, SplitLeakageError
from ferbench.data.store import StoreError, is_prepared
from ferbench.errors import FerbenchError


def _one_line(err: pytest.ExceptionInfo) -> str:
    msg = str(err.value)
    assert "\n" not in msg and isinstance(err.value, FerbenchError)
    return msg


def test_parent_folder_as_root_names_the_right_subfolder(tmp_path):
    L.fer2013_images(tmp_path / "downloads" / "fer2013", per_class=1)
    with pytest.raises(DatasetLayoutError) as err:
        fer2013.prepare(tmp_path / "downloads", tmp_path / "out")
    msg = _one_line(err)
    assert f"pass --root {tmp_path / 'downloads' / 'fer2013'}" in msg


def test_child_folder_as_root_names_the_parent(tmp_path):
    root = L.fer2013_images(tmp_path / "fer2013", per_class=1)
    with pytest.raises(DatasetLayoutError, match=f"pass --root {root}$"):
        fer2013.prepare(root / "train", tmp_path / "out")


def test_unrelated_root_lists_expected_layout(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetLayoutError) as err:
        ferplus.prepare(tmp_path / "empty", tmp_path / "out")
    assert "data/FER2013{Train,Valid,Test}/" in _one_line(err) and str(tmp_path / "empty") in str(err.value)
    with pytest.raises(DatasetLayoutError, match="no such file or folder"):
        ckplus.prepare(tmp_path / "missing", tmp_path / "out")


def test_missing_label_file(tmp_path):
    root = L.ferplus_images(tmp_path / "ferplus")
    (root / "data" / "FER2013Valid" / "label.csv").unlink()
    with pytest.raises(DatasetLayoutError) as err:
        ferplus.prepare(root, tmp_path / "out")
    msg = _one_line(err)
    assert "FER2013Valid/label.csv" in msg and "label file missing" in msg and "10 vote counts" in msg


def test_ck_original_without_emotion_folder(tmp_path):
    root = L.ck_original(tmp_path / "ck", subjects=3)
    import shutil

    shutil.rmtree(root / "Emotion")
    with pytest.raises(DatasetLayoutError, match="Emotion/ missing"):
        ckplus.prepare(root, tmp_path / "out")


def test_ferplus_csv_layout_without_pixels_file(tmp_path):
    root = L.ferplus_csv(tmp_path / "ferplus")
    (root / "fer2013.csv").unlink()
    with pytest.raises(DatasetLayoutError, match="fer2013.csv: missing"):
        ferplus.prepare(root, tmp_path / "out")


def test_csv_missing_columns(tmp_path):
    path = tmp_path / "fer" / "fer2013.csv"
    path.parent.mkdir()
    path.write_text("emotion,pixels\n0,1 2 3 4\n")
    with pytest.raises(DatasetLayoutError) as err:
        fer2013.prepare(path.parent, tmp_path / "out")
    msg = _one_line(err)
    assert str(path) in msg and "missing column(s) Usage" in msg and "emotion,pixels,Usage" in msg


def test_csv_bad_rows_are_skipped_and_listed(tmp_path):
    path = L.fer2013_csv(tmp_path / "fer" / "fer2013.csv")
    with path.open("a") as f:
        f.write("3,1 2 3,Training\n")  # not a square image
        f.write("9," + " ".join(["0"] * 2304) + ",Training\n")  # unknown emotion code
    store = fer2013.prepare(path.parent, tmp_path / "out")
    bad = store.card["problems"]["unreadable"]
    assert bad["count"] == 2 and [b[0] for b in bad["files"]] == ["fer2013.csv:row30", "fer2013.csv:row31"]
    assert len(store.meta) == 28


def test_corrupt_truncated_and_empty_images_are_skipped_counted_listed(tmp_path):
    root = L.fer2013_images(tmp_path / "fer2013", per_class=3)
    files = sorted((root / "train" / "happy").glob("*.jpg"))
    files[0].write_bytes(b"this is not a jpeg")
    data = files[1].read_bytes()
    files[1].write_bytes(data[: len(data) // 2])  # truncated download
    files[2].write_bytes(b"")
    (root / "train" / "sad" / "notes.txt").write_text("not an image")
    store = fer2013.prepare(root, tmp_path / "out")
    bad = dict(map(tuple, store.card["problems"]["unreadable"]["files"]))
    assert store.card["problems"]["unreadable"]["count"] == 4
    assert "not a decodable image" in bad[f"train/happy/{files[0].name}"]
    assert "truncated JPEG" in bad[f"train/happy/{files[1].name}"]
    assert bad[f"train/happy/{files[2].name}"] == "empty file"
    assert "not an image file" in bad["train/sad/notes.txt"]
    assert store.card["counts"]["train"]["happiness"] == 0 and len(store.meta) == 7 * 5 - 3


def test_unknown_class_folder_lists_known_and_class_map(tmp_path):
    root = L.image_folder(tmp_path / "faces", classes=("happy", "bored"), per_class=2)
    with pytest.raises(UnknownClassError) as err:
        folder.prepare(root, tmp_path / "out")
    msg = _one_line(err)
    assert str(root / "bored") in msg and "neutral, happiness" in msg and "--class-map bored=" in msg
    assert not is_prepared(tmp_path / "out")
    store = folder.prepare(root, tmp_path / "out", class_map="bored=neutral")
    assert store.classes == ["neutral", "happiness"]


def test_rerun_is_a_noop_unless_force_and_different_options_refuse(tmp_path):
    root = L.ck48(tmp_path / "ck", subjects=4)
    first = pipeline.prepare("ckplus", root, tmp_path / "out", folds=3)
    assert not first.already_prepared
    created = first.store.card["created"]
    again = pipeline.prepare("ckplus", root, tmp_path / "out", folds=3)
    assert again.already_prepared and again.store.card["created"] == created
    with pytest.raises(StoreError, match="different input/options .*size: 48 -> 32.*--force"):
        pipeline.prepare("ckplus", root, tmp_path / "out", folds=3, size=32)
    rebuilt = pipeline.prepare("ckplus", root, tmp_path / "out", folds=3, size=32, force=True)
    assert not rebuilt.already_prepared and rebuilt.store.size == 32


def test_options_that_do_not_apply_or_are_out_of_range(tmp_path):
    root = L.fer2013_images(tmp_path / "fer2013", per_class=1)
    with pytest.raises(PrepareOptionError, match="--label-mode does not apply to fer2013"):
        fer2013.prepare(root, tmp_path / "out", label_mode="probability")
    with pytest.raises(PrepareOptionError, match="no subject ids"):
        fer2013.prepare(root, tmp_path / "out", split="subject:70/20/10")
    with pytest.raises(PrepareOptionError, match="no subject ids"):
        fer2013.prepare(root, tmp_path / "out", folds=5)
    with pytest.raises(PrepareOptionError, match="--channels"):
        fer2013.prepare(root, tmp_path / "out", channels=2)
    with pytest.raises(PrepareOptionError, match="--split 'random'"):
        fer2013.prepare(root, tmp_path / "out", split="random")
    with pytest.raises(PrepareOptionError, match="unknown dataset 'fer2014'"):
        pipeline.prepare("fer2014", root)
    with pytest.raises(PrepareOptionError, match="needs --root"):
        pipeline.prepare("fer2013")


def test_duplicates_across_splits_reported_and_deduped(tmp_path):
    root = L.fer2013_images(tmp_path / "fer2013", per_class=3)
    test_file = sorted((root / "test" / "fear").glob("PrivateTest_*.jpg"))[0]
    dup = root / "train" / "fear" / "Training_dup.jpg"
    dup.write_bytes(test_file.read_bytes())
    store = fer2013.prepare(root, tmp_path / "out")
    assert store.card["dedupe"]["train_rows_duplicated_in_val_test"] == 1
    assert store.card["dedupe"]["files"] == ["train/fear/Training_dup.jpg"]
    assert store.card["checks"]["cross_split_duplicate_groups"] == 1
    deduped = fer2013.prepare(root, tmp_path / "out2", dedupe=True)
    assert deduped.card["dedupe"]["removed_from_train"] == 1
    assert len(deduped.meta) == len(store.meta) - 1
    assert "train/fear/Training_dup.jpg" not in set(deduped.meta["source"])
    assert deduped.card["checks"]["cross_split_duplicate_groups"] == 0


def test_a_leaking_split_is_never_written(tmp_path, monkeypatch):
    root = L.ck48(tmp_path / "ck", subjects=6)

    def leaky(subjects, ratios, seed=0):  # what a buggy splitter would do: split by image
        return np.array(["train", "val", "test"] * (len(subjects) // 3))

    monkeypatch.setattr(pipeline, "subject_split", leaky)
    with pytest.raises(SplitLeakageError, match="appear in more than one split"):
        ckplus.prepare(root, tmp_path / "out", split="subject:70/20/10", folds=0)
    assert not is_prepared(tmp_path / "out")


def test_a_dataset_too_big_for_memory_goes_through_a_scratch_memmap(tmp_path, monkeypatch):
    """Above IN_MEMORY_LIMIT, decoded images live in a disk memmap; the store is the same byte for byte."""
    root = L.fer2013_images(tmp_path / "fer2013", per_class=3)
    (root / "train" / "fear" / "Training_broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")  # skipped row
    test_file = sorted((root / "test" / "fear").glob("PrivateTest_*.jpg"))[0]
    (root / "train" / "fear" / "Training_dup.jpg").write_bytes(test_file.read_bytes())  # deduped row
    in_ram = fer2013.prepare(root, tmp_path / "ram", dedupe=True)
    monkeypatch.setattr(pipeline, "IN_MEMORY_LIMIT", 0)
    seen = []
    real = np.lib.format.open_memmap
    monkeypatch.setattr(np.lib.format, "open_memmap", lambda path, *a, **k: seen.append(path) or real(path, *a, **k))
    on_disk = fer2013.prepare(root, tmp_path / "disk", dedupe=True)
    assert any(".disk.scratch-" in str(p) for p in seen)  # the decoded images went to disk
    np.testing.assert_array_equal(np.asarray(on_disk.images), np.asarray(in_ram.images))
    cols = ["source", "label", "split", "hash"]
    assert on_disk.meta[cols].equals(in_ram.meta[cols])
    assert on_disk.card["problems"]["unreadable"]["count"] == 1 and on_disk.card["dedupe"]["removed_from_train"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "fer2013", "ram"]  # scratch removed
