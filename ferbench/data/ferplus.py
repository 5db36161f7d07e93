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

Label modes (``--label-mode``), after the FERPlus paper:

* ``majority`` (default): the class with the most votes; images whose top vote is tied, or whose
  top class is unknown or NF, are dropped (counted in the card).
* ``probability``: the 8 emotion votes normalised to a distribution, stored as ``soft.npy``;
  images whose top vote is unknown or NF (or with no emotion vote) are dropped; ``label`` is the
  most voted emotion (first in canonical order on a tie) for metrics.

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
PROTOCOL = "official FER2013Train / Valid / Test; --label-mode majority or probability"
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


def _apply_label_mode(
    layout: str, sources: list[Source], votes: np.ndarray, split: np.ndarray, mode: str
) -> Collected:
    top = votes.max(axis=1)
    arg = votes.argmax(axis=1)
    tied = (votes == top[:, None]).sum(axis=1) > 1
    not_emotion = votes[:, 8:].max(axis=1) >= top  # unknown or NF has (one of) the most votes
    emotion = votes[:, _TO_CANONICAL]
    if mode == "majority":
        drop_unknown = not_emotion & ~tied
        drop_tie = tied
        keep = ~drop_unknown & ~drop_tie
        labels = np.array(VOTES)[arg]  # the first 8 vote names are canonical class names
        soft = None
        rule = (
            "label = class with the most of the 10 votes; dropped when the top vote is tied or the top "
            "class is unknown/NF"
        )
    else:
        drop_unknown = not_emotion | (emotion.sum(axis=1) == 0)
        drop_tie = np.zeros(len(votes), bool)
        keep = ~drop_unknown
        soft = emotion[keep] / emotion[keep].sum(axis=1, keepdims=True)
        labels = np.array(CLASSES)[emotion.argmax(axis=1)]
        rule = (
            "soft target = the 8 emotion votes normalised; dropped when unknown/NF has the most votes or no "
            "emotion has a vote; label = most voted emotion (first in canonical order on a tie)"
        )
    before = {s: int((split == s).sum()) for s in ("train", "val", "test")}
    after = {s: int(((split == s) & keep).sum()) for s in ("train", "val", "test")}
    card = {
        "label_filter": {
            "mode": mode,
            "rule": rule,
            "before": before,
            "after": after,
            "dropped_tie": int((drop_tie & ~drop_unknown).sum()),
            "dropped_unknown_or_nf": int(drop_unknown.sum()),
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
