"""FERPlus label modes: the reference majority rule's edge cases on hand-written vote rows (CI), and the
published counts on the real label files (skipped when ../shared is absent)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ferbench.data import ferplus
from ferbench.data.store import StoreError
from tests.fixtures import data_layouts as L

DATASETS = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"

# votes in ferplus.VOTES order: neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF
EDGE = [
    # (votes, label under majority or None, why dropped, label under plurality or None)
    ([6, 4, 0, 0, 0, 0, 0, 0, 0, 0], "neutral", None, "neutral"),  # 6 of 10
    ([5, 5, 0, 0, 0, 0, 0, 0, 0, 0], None, "no_majority", None),  # a tie is never more than half
    ([5, 3, 2, 0, 0, 0, 0, 0, 0, 0], None, "no_majority", "neutral"),  # exactly half is not more than half
    # votes of 1 are removed first: 5 of 10 raw becomes 5 of 8 (3 + 1 + 1 dropped) -> kept
    ([5, 3, 1, 1, 0, 0, 0, 0, 0, 0], "neutral", None, "neutral"),
    ([4, 3, 1, 1, 1, 0, 0, 0, 0, 0], "neutral", None, "neutral"),  # 4 of 7 after dropping the 1s
    ([1, 1, 1, 1, 1, 1, 1, 1, 1, 1], None, "no_majority", None),  # nothing left after dropping the 1s
    ([0, 0, 0, 0, 0, 0, 2, 1, 1, 0], "fear", None, "fear"),  # 2 of 2 after dropping the 1s
    ([0, 0, 0, 0, 0, 0, 0, 7, 3, 0], "contempt", None, "contempt"),  # index 7 is a class, not unknown
    ([2, 0, 0, 0, 0, 0, 0, 0, 6, 2], None, "unknown_or_nf", None),  # unknown holds the majority
    ([0, 0, 0, 0, 0, 0, 0, 0, 3, 7], None, "unknown_or_nf", None),  # NF holds the majority
    ([4, 0, 0, 0, 0, 0, 0, 0, 4, 2], None, "no_majority", None),  # emotion ties unknown: neither rule keeps it
    ([3, 0, 0, 0, 0, 0, 0, 0, 0, 0], "neutral", None, "neutral"),  # fewer than 10 annotators
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], None, "no_majority", None),  # no votes at all
]


def _votes() -> np.ndarray:
    return np.array([r[0] for r in EDGE], dtype=np.float64)


def test_majority_is_the_reference_rule_on_edge_cases():
    keep, labels, dropped = ferplus.select(_votes(), "majority")
    for i, (votes, label, why, _) in enumerate(EDGE):
        assert bool(keep[i]) == (label is not None), votes
        if label:
            assert labels[i] == label, votes
        assert [k for k, m in dropped.items() if m[i]] == ([why] if why else []), votes


def test_plurality_is_the_untied_argmax():
    keep, labels, dropped = ferplus.select(_votes(), "plurality")
    assert keep.tolist() == [r[3] is not None for r in EDGE]
    assert [labels[i] for i in np.flatnonzero(keep)] == [r[3] for r in EDGE if r[3]]
    assert set(dropped) == {"tie", "unknown_or_nf"}
    assert not (dropped["tie"] & dropped["unknown_or_nf"]).any()


def _fixture_root(root: Path) -> Path:
    """A FERPlus folder layout holding the EDGE rows in each of train/val/test."""
    for k, folder in enumerate(("FER2013Train", "FER2013Valid", "FER2013Test")):
        d = root / "data" / folder
        d.mkdir(parents=True)
        lines = []
        for i, (votes, *_) in enumerate(EDGE):
            name = f"fer{k * 100 + i:07d}.png"
            L._write(d / name, L.noise(5000 + k * 100 + i))
            lines.append(f'{name},"(0, 0, 48, 48)",' + ",".join(map(str, votes)))
        (d / "label.csv").write_text("\n".join(lines) + "\n")
    return root


def test_prepare_majority_card_states_the_rule(tmp_path):
    root = _fixture_root(tmp_path / "ferplus")
    store = ferplus.prepare(root, tmp_path / "out")
    flt = store.card["label_filter"]
    kept = [r[1] for r in EDGE if r[1]]
    assert flt["mode"] == "majority" and "microsoft/FERPlus" in flt["rule"] and flt[ferplus.RULE_KEY]
    assert flt["after"] == {s: len(kept) for s in ("train", "val", "test")}
    assert flt["dropped_no_majority"] == 3 * sum(r[2] == "no_majority" for r in EDGE)
    assert flt["dropped_unknown_or_nf"] == 3 * sum(r[2] == "unknown_or_nf" for r in EDGE)
    labels = [store.classes[i] for i in store.meta.loc[store.indices("test"), "label"]]
    assert labels == kept


def test_store_from_the_old_majority_rule_is_refused(tmp_path):
    """A store whose card says 'majority' without the reference-rule mark was built by the old rule."""
    import json

    root = _fixture_root(tmp_path / "ferplus")
    store = ferplus.prepare(root, tmp_path / "out")
    card_path = store.root / "card.json"
    card = json.loads(card_path.read_text())
    del card["label_filter"][ferplus.RULE_KEY]
    card_path.write_text(json.dumps(card))
    with pytest.raises(StoreError, match="plurality"):
        ferplus.prepare(root, tmp_path / "out")


def _real_votes() -> dict[str, np.ndarray]:
    root = DATASETS / "ferplus" / "data"
    if not root.is_dir():
        pytest.skip(f"{root} not present")
    return {
        part: pd.read_csv(root / folder / "label.csv", header=None).iloc[:, 2:12].to_numpy(np.float64)
        for folder, part in ferplus.FOLDERS.items()
    }


@pytest.mark.realdata
@pytest.mark.parametrize(
    "mode, expected",
    [
        ("majority", {"train": 25045, "val": 3191, "test": 3137}),
        ("plurality", {"train": 26940, "val": 3396, "test": 3371}),
    ],
)
def test_real_label_files_give_the_published_counts(mode, expected):
    got = {part: int(ferplus.select(v, mode)[0].sum()) for part, v in _real_votes().items()}
    assert got == expected
