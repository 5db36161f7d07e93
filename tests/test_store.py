import json

import numpy as np
import pytest

from ferbench.data.store import StoreError, content_hash, is_prepared, new_meta, open_store, write_store


def _tiny(n=12, size=8):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
    meta = new_meta(n)
    meta["label"] = np.arange(n) % 3
    meta["subject"] = [f"S{i // 4}" for i in range(n)]
    meta["split"] = ["train"] * 4 + ["val"] * 4 + ["test"] * 4
    meta["fold"] = np.arange(n) // 4
    return images, meta


def test_round_trip_is_memory_mapped_and_counts(tmp_path):
    images, meta = _tiny()
    store = write_store(tmp_path / "s", images, meta, {"name": "tiny", "classes": ["neutral", "happiness", "anger"],
                                                          "folds": 3})
    again = open_store(tmp_path / "s")
    assert isinstance(again.images, np.memmap)
    assert np.array_equal(np.asarray(again.images), images)
    assert again.classes == ["neutral", "happiness", "anger"]
    assert store.card["counts"]["train"] == {"neutral": 2, "happiness": 1, "anger": 1}
    assert store.card["checks"]["split_subject_disjoint"] is True
    assert again.meta["hash"].iloc[0] == content_hash(images[0])


def test_fold_protocol_is_subject_disjoint(tmp_path):
    images, meta = _tiny()
    store = write_store(tmp_path / "s", images, meta, {"name": "tiny", "classes": ["neutral", "happiness", "anger"],
                                                          "folds": 3})
    for fold in range(3):
        parts = {s: set(store.meta.loc[store.indices(s, fold), "subject"]) for s in ("train", "val", "test")}
        assert not parts["train"] & parts["test"] and not parts["val"] & parts["test"]
        assert sum(len(store.indices(s, fold)) for s in ("train", "val", "test")) == len(images)


def test_leak_is_reported(tmp_path):
    images, meta = _tiny()
    meta.loc[0, "subject"] = "S2"  # a test subject now also appears in train
    images[11] = images[0]  # and an exact duplicate crosses train/test
    store = write_store(tmp_path / "s", images, meta, {"name": "tiny", "classes": ["neutral", "happiness", "anger"]})
    checks = store.card["checks"]
    assert checks["split_subject_disjoint"] is False and checks["split_shared_subjects"] == ["S2"]
    assert checks["cross_split_duplicate_groups"] == 1


def test_refuses_overwrite_without_force_and_unfinished_store_is_not_a_store(tmp_path):
    images, meta = _tiny()
    card = {"name": "tiny", "classes": ["neutral", "happiness", "anger"]}
    write_store(tmp_path / "s", images, meta, card)
    with pytest.raises(StoreError, match="--force"):
        write_store(tmp_path / "s", images, meta, card)
    write_store(tmp_path / "s", images[::-1].copy(), meta, card, force=True)
    (tmp_path / "half").mkdir()
    np.save(tmp_path / "half" / "images.npy", images)
    assert not is_prepared(tmp_path / "half")
    with pytest.raises(StoreError, match="not a finished store"):
        open_store(tmp_path / "half")
    with pytest.raises(StoreError, match="ferbench prepare"):
        open_store(tmp_path / "missing")
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary directories left behind"


def test_card_is_plain_json(tmp_path):
    images, meta = _tiny()
    write_store(tmp_path / "s", images, meta, {"name": "tiny", "classes": ["neutral", "happiness", "anger"]})
    card = json.loads((tmp_path / "s" / "card.json").read_text())
    assert card["num_images"] == 12 and card["channels"] == 1 and card["size"] == [8, 8]


def test_never_writes_over_a_file_or_a_foreign_folder(tmp_path):
    images, meta = _tiny()
    card = {"name": "tiny", "classes": ["neutral", "happiness", "anger"]}
    (tmp_path / "afile").write_text("precious")
    with pytest.raises(StoreError, match="is a file"):
        write_store(tmp_path / "afile", images, meta, card)
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "thesis.tex").write_text("precious")
    with pytest.raises(StoreError, match="not a ferbench store"):
        write_store(tmp_path / "thesis", images, meta, card, force=True)
    assert (tmp_path / "afile").read_text() == "precious"
    assert (tmp_path / "thesis" / "thesis.tex").read_text() == "precious"


def test_damaged_store_is_one_clear_error(tmp_path):
    images, meta = _tiny()
    write_store(tmp_path / "s", images, meta, {"name": "tiny", "classes": ["neutral", "happiness", "anger"]})
    (tmp_path / "s" / "card.json").write_text("{not json")
    with pytest.raises(StoreError, match="damaged"):
        open_store(tmp_path / "s")
