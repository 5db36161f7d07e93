import numpy as np

from ferbench.data import synthetic


def test_same_seed_same_pixels_other_seed_other_pixels():
    a = synthetic.generate(n_subjects=3, per_class=2, seed=7)
    b = synthetic.generate(n_subjects=3, per_class=2, seed=7)
    c = synthetic.generate(n_subjects=3, per_class=2, seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


def test_store_has_every_attribute_and_subject_independent_splits(synthetic_store):
    store = synthetic_store
    meta = store.meta
    assert store.classes == synthetic.CLASSES and store.num_classes == 7
    assert set(meta["group"]) == {"child", "adult"}
    assert meta["valence"].between(-1, 1).all() and meta["arousal"].between(-1, 1).all()
    by_split = {s: set(meta.loc[meta["split"] == s, "subject"]) for s in ("train", "val", "test")}
    assert all(by_split.values())
    assert not (by_split["train"] & by_split["test"]) and not (by_split["val"] & by_split["test"])
    assert store.card["checks"]["split_subject_disjoint"] and store.card["checks"]["fold_subject_disjoint"]
    assert store.num_folds == 5 and set(meta["fold"]) == set(range(5))


def test_valence_follows_the_class():
    _, labels, _, valence, arousal, _ = synthetic.generate(n_subjects=4, per_class=6, seed=1)
    happy = valence[labels == synthetic.CLASSES.index("happiness")].mean()
    sad = valence[labels == synthetic.CLASSES.index("sadness")].mean()
    assert happy > 0.2 > -0.2 > sad
    calm = arousal[labels == synthetic.CLASSES.index("neutral")].mean()
    assert arousal[labels == synthetic.CLASSES.index("surprise")].mean() > calm + 0.2


def test_expressions_are_drawn_differently():
    images, labels, *_ = synthetic.generate(n_subjects=2, per_class=6, seed=2)
    means = np.stack([images[labels == k].astype(float).mean(0) for k in range(7)])
    gaps = [np.abs(means[0] - means[k]).mean() for k in range(1, 7)]
    assert min(gaps) > 0.5


def test_synthetic_goes_through_the_prepare_pipeline_and_old_stores_are_still_checked(tmp_path):
    import json

    import pytest

    from ferbench.data.prepare import prepare
    from ferbench.data.store import StoreError

    first = prepare("synthetic", out=tmp_path / "s", subjects=4, per_class=1, seed=3)
    card = first.store.card
    assert card["prepare"]["subjects"] == 4 and card["source"] == {"layout": "generated"}
    assert "passed" in card["subject_check"] and card["dedupe"]["enabled"] is False  # the shared checks ran
    assert prepare("synthetic", out=tmp_path / "s", subjects=4, per_class=1, seed=3).already_prepared
    with pytest.raises(StoreError, match="subjects: 4 -> 5.*--force"):
        prepare("synthetic", out=tmp_path / "s", subjects=5, per_class=1, seed=3)
    # a card written before synthetic used the pipeline kept its options under provenance.params
    for key in ("prepare", "source"):
        card.pop(key)
    card["provenance"]["params"] = {"n_subjects": 4, "per_class": 1, "size": 48, "seed": 3,
                                    "split": [0.7, 0.15, 0.15], "folds": 5}
    (tmp_path / "s" / "card.json").write_text(json.dumps(card))
    assert prepare("synthetic", out=tmp_path / "s", subjects=4, per_class=1, seed=3).already_prepared
    with pytest.raises(StoreError, match="seed: 3 -> 4"):
        prepare("synthetic", out=tmp_path / "s", subjects=4, per_class=1, seed=4)
