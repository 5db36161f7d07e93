"""Protocol checks written into the card: val<->test exact duplicates, empty/missing class folders as
warnings, and ``--classes`` restricting a store explicitly (labels re-indexed in canonical order)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from ferbench.cli import app
from ferbench.data import fer2013, ferplus, folder
from ferbench.data.prepare import PrepareOptionError
from ferbench.data.store import StoreError
from tests.fixtures import data_layouts as L


def _copy(src, dst):
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def test_val_test_duplicates_are_listed_not_removed(tmp_path):
    root = L.fer2013_images(tmp_path / "fer")
    pub = sorted((root / "test" / "happy").glob("PublicTest_*"))[0]
    pub2 = sorted((root / "test" / "sad").glob("PublicTest_*"))[0]
    # one copy under the same class, two copies (another class) of a second val image: 2 groups, 3 test images
    _copy(pub, root / "test" / "happy" / "PrivateTest_900001.jpg")
    _copy(pub2, root / "test" / "angry" / "PrivateTest_900002.jpg")
    _copy(pub2, root / "test" / "sad" / "PrivateTest_900003.jpg")
    store = fer2013.prepare(root, tmp_path / "out", dedupe=True)
    vt = store.card["dedupe"]["val_test_duplicates"]
    assert (vt["groups"], vt["val_images"], vt["test_images"]) == (2, 2, 3)
    assert vt["groups_with_different_labels"] == 1
    assert {"val": ["test/happy/" + pub.name], "test": ["test/happy/PrivateTest_900001.jpg"],
            "labels": ["happiness"]} in vt["list"]
    assert len(store.indices("test")) == 7 + 3  # kept: both are official evaluation sets
    from ferbench.data.prepare import notes

    assert any("3 test images are exact duplicates of 2 val images in 2 groups" in n for n in notes(store))


def test_no_val_test_duplicates_is_an_explicit_zero(tmp_path):
    store = fer2013.prepare(L.fer2013_images(tmp_path / "fer"), tmp_path / "out")
    assert store.card["dedupe"]["val_test_duplicates"]["groups"] == 0


def test_missing_class_folder_is_a_warning_in_card_and_console(tmp_path):
    root = L.fer2013_images(tmp_path / "fer")
    shutil.rmtree(root / "test" / "disgust")
    for f in (root / "train" / "fear").iterdir():
        f.unlink()  # an empty folder
    res = CliRunner().invoke(app, ["prepare", "fer2013", "--root", str(root), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    from ferbench.data.store import open_store

    warnings = open_store(tmp_path / "out").card["warnings"]
    assert len(warnings) == 2
    assert warnings[0].startswith("class fear has no train images")
    assert warnings[1].startswith("class disgust has no val/test images")
    assert "--classes neutral,happiness,sadness,surprise,fear,anger" in warnings[1]
    assert res.output.count("warning:") == 2 and "class disgust has no val/test images" in res.output


def test_empty_folder_in_a_folder_tree_is_kept_as_a_class_and_warned(tmp_path):
    root = L.image_folder(tmp_path / "faces", per_class=10)
    (root / "surprise").mkdir()
    store = folder.prepare(root, tmp_path / "out")
    assert "surprise" in store.classes
    assert store.card["warnings"][0].startswith("class surprise has no images (missing or empty class folder?)")
    assert len(store.card["warnings"]) == 1


def test_classes_drops_and_reindexes(tmp_path):
    root = L.image_folder(tmp_path / "faces", per_class=10)
    (root / "surprise").mkdir()
    # spellings and order do not matter: the store keeps canonical order
    store = folder.prepare(root, tmp_path / "out", classes="Sad, happy")
    assert store.classes == ["happiness", "sadness"] and store.num_classes == 2
    assert sorted(np.unique(store.meta["label"])) == [0, 1]
    folders = store.meta["source"].str.split("/").str[0]
    assert (folders[store.meta["label"] == 0] == "happy").all() and (folders[store.meta["label"] == 1] == "sad").all()
    cf = store.card["class_filter"]
    assert cf["dropped_classes"] == ["neutral", "surprise", "anger"]
    assert cf["dropped_images"] == 20 and cf["dropped_per_class"] == {"neutral": 10, "surprise": 0, "anger": 10}
    assert store.card["warnings"] == []
    assert store.card["prepare"]["classes"] == ["happiness", "sadness"]
    # a re-run without --classes is a different store, not a silent no-op
    with pytest.raises(StoreError, match="classes"):
        folder.prepare(root, tmp_path / "out")


def test_classes_errors_name_the_fix(tmp_path):
    root = L.image_folder(tmp_path / "faces", per_class=4)
    with pytest.raises(PrepareOptionError, match="folder has no class contempt; its classes are"):
        folder.prepare(root, tmp_path / "out", classes="happy,contempt")
    with pytest.raises(PrepareOptionError, match="--classes: unknown class 'joyful'"):
        folder.prepare(root, tmp_path / "out", classes="joyful")
    with pytest.raises(PrepareOptionError, match="--classes is empty"):
        folder.prepare(root, tmp_path / "out", classes=" , ")


def test_classes_on_soft_targets_renormalises(tmp_path):
    root = L.ferplus_images(tmp_path / "ferplus")
    store = ferplus.prepare(root, tmp_path / "out", label_mode="probability", classes="sadness,contempt,neutral")
    assert store.classes == ["neutral", "sadness", "contempt"]
    assert store.soft.shape == (len(store.meta), 3) and np.allclose(store.soft.sum(1), 1)
    row = store.meta.index[store.meta["source"] == "FER2013Train/fer0000003.png"][0]
    assert np.allclose(store.soft[row], [0, 5 / 9, 4 / 9])
