"""FER2013 (Goodfellow et al., ICML 2013 representation-learning challenge): 48×48 gray, 7 classes.

Source layouts (``--root`` is the folder holding them):

* ``images`` — the Kaggle image-folder download (msambare/fer2013)::

      train/<class>/Training_<id>.jpg                       28,709 images
      test/<class>/PublicTest_<id>.jpg, PrivateTest_<id>.jpg  3,589 + 3,589 images

  with ``<class>`` in angry, disgust, fear, happy, neutral, sad, surprise.
  Published accuracies use PrivateTest as test and PublicTest as validation; the file-name prefix
  tells them apart, so ``PublicTest_*`` → val and everything else under ``test/`` → test. When the
  test files carry no ``PublicTest_`` prefix (re-exported copies), validation is carved from train,
  stratified and seeded (``--val-fraction``, default 10 %).
* ``csv`` — the original challenge file ``fer2013.csv`` with columns ``emotion,pixels,Usage``:
  ``emotion`` 0–6 = angry, disgust, fear, happy, sad, surprise, neutral; ``pixels`` 2,304
  space-separated values; ``Usage`` Training / PublicTest / PrivateTest (28,709 / 3,589 / 3,589)
  → train / val / test. ``--root`` may be the CSV itself or its folder.

No subject ids exist, so splits are the official image-level ones.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from ferbench.data.images import Source, list_class_folders
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptions, read_table, run
from ferbench.data.store import Store

NAME = "fer2013"
LAYOUTS = (
    "images: train/<class>/*.jpg + test/<class>/{PublicTest,PrivateTest}_*.jpg",
    "csv: fer2013.csv (emotion,pixels,Usage)",
)
CLASSES = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 0
PROTOCOL = "official: train / PublicTest -> val / PrivateTest -> test (28,709 / 3,589 / 3,589)"
CSV_CLASSES = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")  # emotion 0..6
CSV_CODES = {str(i): c for i, c in enumerate(CSV_CLASSES)}
USAGE = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}
CSV_NAMES = ("fer2013.csv", "icml_face_data.csv")


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare FER2013 from ``root`` (either layout) into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _csv_path(root: Path) -> Path | None:
    if root.is_file() and root.suffix.lower() == ".csv":
        return root
    for name in CSV_NAMES:
        if (root / name).is_file():
            return root / name
    return None


def detect_layout(root: Path) -> str | None:
    if root.is_dir() and (root / "train").is_dir() and (root / "test").is_dir():
        return "images"
    return "csv" if _csv_path(root) else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    return _collect_images(root, opts) if layout == "images" else _collect_csv(_csv_path(root))


def _collect_images(root: Path, opts: PrepareOptions) -> Collected:
    sources, labels, split, bad = [], [], [], []
    for part in ("train", "test"):
        folders = list_class_folders(root, part, opts.class_map)
        if not folders:
            raise DatasetLayoutError(
                f"{root / part}: no class folders; expected {part}/<class>/*.jpg "
                "(angry, disgust, fear, happy, neutral, sad, surprise)"
            )
        for label, folder, files, others in folders:
            bad += [(f"{part}/{folder}/{f}", "not an image file (extension)") for f in others]
            base = os.path.join(root, part, folder)
            for f in files:
                sources.append(Source(name=f"{part}/{folder}/{f}", path=os.path.join(base, f)))
                labels.append(label)
                split.append(
                    "train" if part == "train" else ("val" if f.startswith("PublicTest") else "test")
                )
    split = np.array(split, dtype=object)
    has_public = bool((split == "val").any())
    return Collected(
        layout="images",
        sources=sources,
        labels=labels,
        classes=CLASSES,
        split=split,
        carve_val=not has_public,
        bad=bad,
        card={
            "provenance": {
                "dataset": "FER2013 (Kaggle image-folder layout)",
                "val": "PublicTest_* files" if has_public else "carved from train",
                "test": "PrivateTest_* files" if has_public else "test/",
            }
        },
    )


def parse_pixels(text: str) -> np.ndarray | str:
    """A ``pixels`` cell as a square uint8 image, or the reason it is unusable."""
    try:
        values = np.array(text.split(), dtype=np.int64)
    except ValueError:
        return "pixels not numeric"
    side = int(round(np.sqrt(values.size)))
    if values.size == 0 or side * side != values.size or values.min() < 0 or values.max() > 255:
        return f"pixels: {values.size} values, expected a square image of 0..255 (48x48 = 2304)"
    return values.astype(np.uint8).reshape(side, side)


def read_csv(path: Path) -> pd.DataFrame:
    """``fer2013.csv`` with its three columns checked (``Usage`` stripped)."""
    df = read_table(path, ["emotion", "pixels", "Usage"], "fer2013.csv with columns emotion,pixels,Usage")
    df["Usage"] = df["Usage"].str.strip()
    return df


def _collect_csv(path: Path) -> Collected:
    df = read_csv(path)
    sources, labels, split, bad = [], [], [], []
    for row, (emotion, pixels, usage) in enumerate(
        zip(df["emotion"], df["pixels"], df["Usage"], strict=True)
    ):
        name = f"{path.name}:row{row + 2}"  # +2: 1-based plus the header line, as an editor shows it
        image = parse_pixels(pixels)
        if isinstance(image, str):
            bad.append((name, image))
            continue
        if emotion.strip() not in CSV_CODES or usage not in USAGE:
            bad.append(
                (
                    name,
                    f"emotion {emotion!r} not in 0..6 or Usage {usage!r} not Training/PublicTest/PrivateTest",
                )
            )
            continue
        sources.append(Source(name=name, pixels=image))
        labels.append(CSV_CODES[emotion.strip()])
        split.append(USAGE[usage])
    return Collected(
        layout="csv",
        sources=sources,
        labels=labels,
        classes=CLASSES,
        split=np.array(split, dtype=object),
        bad=bad,
        card={
            "provenance": {
                "dataset": "FER2013 (original fer2013.csv)",
                "val": "PublicTest rows",
                "test": "PrivateTest rows",
            }
        },
    )
