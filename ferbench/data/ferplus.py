"""FERPlus (Barsoum et al., ICMI 2016): FER2013 pixels re-labelled by 10 annotators, 8 classes.

Source layouts (``--root`` is the folder holding them):

* ``images`` — what Microsoft's ``generate_training_data.py`` writes (``--root`` may be the folder
  holding ``data/`` or ``data/`` itself)::

      data/FER2013Train/fer0000000.png ... + label.csv   28,558 images  (= FER2013 Training)
      data/FER2013Valid/ferNNNNNNN.png ... + label.csv    3,579 images  (= PublicTest)
      data/FER2013Test/ferNNNNNNN.png  ... + label.csv    3,573 images  (= PrivateTest)

  ``label.csv`` has no header: image name, face box ``"(0, 0, 48, 48)"``, then 10 vote counts:
  neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, unknown, NF (not a face).
* ``csv`` — the original ``fer2013.csv`` (pixels) beside ``fer2013new.csv`` (``Usage, Image name``
  + the 10 vote columns), joined by row order; rows with an empty image name are faces the FER+
  authors removed and are skipped.

Label modes (``--label-mode``):

* ``majority`` (default): the FERPlus reference rule — ``_process_data(..., 'majority')`` in
  microsoft/FERPlus ``src/ferplus.py``, which produced the paper's majority-vote numbers. A class with
  exactly one vote is set to 0 first (the reference's outlier removal), then the image is kept only when
  its top class holds *more than half* of the remaining votes and is not unknown/NF; the label is that
  class. On the official label files: 25,045 / 3,191 / 3,137 (train / val / test). This is the rule to
  use when comparing with published FERPlus majority-vote accuracies.
* ``plurality``: the class with the most of the raw 10 votes; dropped only when the top vote is tied or
  the top class is unknown/NF (26,940 / 3,396 / 3,371). Keeps ~1,900 more ambiguous training faces, but
  its test set is not the one published numbers use.
* ``probability``: the 8 emotion votes normalised to a distribution, stored as ``soft.npy``;
  images whose top vote is unknown or NF (or with no emotion vote) are dropped; ``label`` is the
  most voted emotion (first in canonical order on a tie) for metrics.

The card's ``label_filter`` records the mode, the rule in words, counts before/after per split and
what was dropped for which reason.

No subject ids exist, so splits are the official ones (Train / Valid / Test → train / val / test).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ferbench.data.classes import EMOTIONS
from ferbench.data.fer2013 import parse_pixels
from ferbench.data.fer2013 import read_csv as read_fer2013_csv
from ferbench.data.images import Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptions, read_table, run
from ferbench.data.store import Store

NAME = "ferplus"
LAYOUTS = (
    "images: data/FER2013{Train,Valid,Test}/ferNNNNNNN.png + label.csv per folder",
    "csv: fer2013.csv + fer2013new.csv (joined by row order)",
)
CLASSES = list(EMOTIONS)
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 0
PROTOCOL = "official FER2013Train / Valid / Test; --label-mode majority (reference rule), plurality or probability"
OPTIONS = ("label_mode",)
VOTES = [
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
]
FOLDERS = {"FER2013Train": "train", "FER2013Valid": "val", "FER2013Test": "test"}
USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
# column of each canonical class in the vote vector
_TO_CANONICAL = np.array([VOTES.index(c) for c in CLASSES])
LABEL_CSV = "label.csv without a header: image name, face box, 10 vote counts (" + ", ".join(VOTES) + ")"


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare FERPlus from ``root`` (either layout) into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _data_dir(root: Path) -> Path | None:
    for base in (root / "data", root):
        if base.is_dir() and any((base / f).is_dir() for f in FOLDERS):
            return base
    return None


def detect_layout(root: Path) -> str | None:
    if not root.is_dir():
        return None
    if _data_dir(root):
        return "images"
    return "csv" if (root / "fer2013new.csv").is_file() else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    if layout == "images":
        names, votes, split, paths, unlisted = _read_folders(_data_dir(root))
        sources = [Source(name=n, path=p) for n, p in zip(names, paths, strict=True)]
    else:
        sources, votes, split, removed = _read_csvs(root)
        unlisted = []
    col = _apply_label_mode(layout, sources, votes, split, opts.label_mode)
    col.bad += unlisted
    if layout == "csv":
        col.card["label_filter"]["removed_by_ferplus_authors"] = removed
    return col


def _votes(df, path: Path) -> np.ndarray:
    try:
        votes = df[VOTES].to_numpy().astype(np.float64)
    except ValueError:
        raise DatasetLayoutError(f"{path}: vote columns are not all numbers; expected {LABEL_CSV}") from None
    if (votes < 0).any():
        raise DatasetLayoutError(f"{path}: negative vote counts; expected {LABEL_CSV}")
    return votes


def _read_folders(base: Path):
    names, votes, split, paths, unlisted = [], [], [], [], []
    for folder, part in FOLDERS.items():
        if not (base / folder).is_dir():
            raise DatasetLayoutError(
                f"{base / folder}: folder missing; expected {base}/" + "{FER2013Train,"
                "FER2013Valid,FER2013Test}/ with label.csv in each"
            )
        label_file = base / folder / "label.csv"
        df = read_table(label_file, ["name", "box", *VOTES], LABEL_CSV, header=False)
        votes.append(_votes(df, label_file))
        names += [f"{folder}/{n}" for n in df["name"]]
        paths += [os.path.join(base, folder, n) for n in df["name"]]
        split += [part] * len(df)
        listed = set(df["name"])
        unlisted += [
            (f"{folder}/{f}", "image not listed in label.csv (no votes)")
            for f in sorted(os.listdir(base / folder))
            if f.endswith(".png") and f not in listed
        ]
    return names, np.concatenate(votes), np.array(split, dtype=object), paths, unlisted


def _read_csvs(root: Path):
    new_path, old_path = root / "fer2013new.csv", root / "fer2013.csv"
    if not old_path.is_file():
        raise DatasetLayoutError(
            f"{old_path}: missing; the csv layout needs the original fer2013.csv (pixels) "
            "beside fer2013new.csv (votes)"
        )
    new = read_table(
        new_path,
        ["Usage", "Image name", *VOTES],
        "fer2013new.csv with columns Usage, Image name, " + ", ".join(VOTES),
    )
    old = read_fer2013_csv(old_path)
    if len(new) != len(old) or not (new["Usage"].str.strip().to_numpy() == old["Usage"].to_numpy()).all():
        raise DatasetLayoutError(
            f"{new_path}: {len(new)} rows do not line up with {old_path} ({len(old)} rows, "
            "Usage per row must match): both must be the unmodified files, in their row order"
        )
    votes_all = _votes(new, new_path)
    sources, votes, split = [], [], []
    for row, (name, pixels, usage) in enumerate(
        zip(new["Image name"], old["pixels"], old["Usage"], strict=True)
    ):
        if not name.strip():
            continue  # removed by the FER+ authors (counted in the card by collect)
        image = parse_pixels(pixels)
        if isinstance(image, str):
            raise DatasetLayoutError(f"{old_path}: row {row + 2}: {image}")
        sources.append(Source(name=f"fer2013.csv:row{row + 2}:{name.strip()}", pixels=image))
        votes.append(votes_all[row])
        split.append(USAGE.get(usage, "train"))
    removed = int((new["Image name"].str.strip() == "").sum())
    return sources, np.array(votes).reshape(-1, len(VOTES)), np.array(split, dtype=object), removed


RULES = {
    "majority": "FERPlus reference rule (microsoft/FERPlus src/ferplus.py, _process_data 'majority'): votes "
    "of exactly 1 are set to 0, then kept only when the top class holds more than half of the remaining votes "
    "and is not unknown/NF",
    "plurality": "label = class with the most of the 10 raw votes; dropped when the top vote is tied or the top "
    "class is unknown/NF (not the reference rule: keeps ambiguous faces)",
    "probability": "soft target = the 8 emotion votes normalised; dropped when unknown/NF has the most votes or "
    "no emotion has a vote; label = most voted emotion (first in canonical order on a tie)",
}
# card key that marks a store built with the reference majority rule (older stores called plurality "majority")
RULE_KEY = "reference_rule"


def select(votes: np.ndarray, mode: str) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """``(keep, labels, dropped)`` for an (N, 10) vote matrix in :data:`VOTES` order: which images a label
    mode keeps, every image's canonical label, and a mask per drop reason (disjoint)."""
    n = len(votes)
    emotion = votes[:, _TO_CANONICAL]
    if mode == "majority":
        # the reference compares with 1 + float epsilon: integer votes of 0 or 1 become 0
        v = np.where(votes <= 1, 0.0, votes)
        top, arg = v.max(axis=1), v.argmax(axis=1)
        majority = top > 0.5 * v.sum(axis=1)  # strictly more than half: also rules out ties and all-zero rows
        # the reference reader's own check reads `idx < emotion_count - 2`, commented "not unknown or non-face";
        # with its 8 emotions that index test would also drop fear and contempt, so the stated intent is used
        unknown = majority & (arg >= 8)
        dropped = {"no_majority": ~majority, "unknown_or_nf": unknown}
        labels = np.array(VOTES)[arg]  # the first 8 vote names are canonical class names
    elif mode == "plurality":
        top, arg = votes.max(axis=1), votes.argmax(axis=1)
        tied = (votes == top[:, None]).sum(axis=1) > 1
        unknown = (votes[:, 8:].max(axis=1) >= top) & ~tied  # unknown or NF has the most votes
        dropped = {"tie": tied, "unknown_or_nf": unknown}
        labels = np.array(VOTES)[arg]
    elif mode == "probability":
        not_emotion = votes[:, 8:].max(axis=1) >= votes.max(axis=1)
        dropped = {"unknown_or_nf": not_emotion | (emotion.sum(axis=1) == 0)}
        labels = np.array(CLASSES)[emotion.argmax(axis=1)]
    else:
        raise ValueError(f"unknown FERPlus label mode {mode!r}")
    keep = np.ones(n, bool)
    for mask in dropped.values():
        keep &= ~mask
    return keep, labels, dropped


def stale(card: dict, opts: PrepareOptions) -> str | None:
    """Why a store on disk no longer matches these options although its recorded ones do, or None."""
    flt = card.get("label_filter", {})
    if opts.label_mode == "majority" and flt.get("mode") == "majority" and not flt.get(RULE_KEY):
        return ("label_mode: 'majority' there is the old untied-argmax rule (now --label-mode plurality), "
                "not the FERPlus reference rule")
    return None


def _apply_label_mode(
    layout: str, sources: list[Source], votes: np.ndarray, split: np.ndarray, mode: str
) -> Collected:
    keep, labels, dropped = select(votes, mode)
    soft = None
    if mode == "probability":
        emotion = votes[keep][:, _TO_CANONICAL]
        soft = emotion / emotion.sum(axis=1, keepdims=True)
    rule = RULES[mode]
    before = {s: int((split == s).sum()) for s in ("train", "val", "test")}
    after = {s: int(((split == s) & keep).sum()) for s in ("train", "val", "test")}
    card = {
        "label_filter": {
            "mode": mode,
            "rule": rule,
            "before": before,
            "after": after,
            **{f"dropped_{why}": int(mask.sum()) for why, mask in dropped.items()},
            **({RULE_KEY: True} if mode == "majority" else {}),
        },
        "provenance": {
            "dataset": "FERPlus ("
            + ("generator folder layout" if layout == "images" else "fer2013.csv + fer2013new.csv")
            + ")",
            "val": "FER2013Valid (= PublicTest)",
            "test": "FER2013Test (= PrivateTest)",
        },
    }
    idx = np.flatnonzero(keep)
    return Collected(
        layout=layout,
        sources=[sources[i] for i in idx],
        labels=labels[idx].tolist(),
        classes=CLASSES,
        split=split[idx],
        soft=soft.astype(np.float32) if soft is not None else None,
        card=card,
    )
