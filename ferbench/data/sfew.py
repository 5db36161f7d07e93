"""SFEW 2.0 (Dhall et al., EmotiW 2015): movie stills, 7 classes, official Train / Val (test labels withheld).

Source layouts (``--root`` is the folder holding them):

* ``aligned`` — the EmotiW archives unpacked as shipped::

      Train/Train_Aligned_Faces/<Class>/*.png      (or Train_Aligned_Faces/<Class>/ directly in --root)
      Val/Val_Aligned_Faces/<Class>/*.png          (or Val_Aligned_Faces/<Class>/)

* ``folders`` — ``Train/<Class>/*.png`` and ``Val/<Class>/*.png``, as most re-distributed copies
  (and the issue that asked for this module) have them.

``<Class>`` is Angry, Disgust, Fear, Happy, Neutral, Sad, Surprise. The aligned faces are 143×181
RGB; a square centre crop is resized to ``--size``. Copies differ on what ``Train/<Class>/`` holds:
the aligned faces in most re-distributed copies, the whole 720×576 movie frames (SFEW's original
images) in others. Both are accepted; whole frames with ``--detect none`` are refused (a frame
centre-cropped is not a face crop), so pass ``--detect`` or point ``--root`` at the aligned faces.
Reference loaders read ``Train/Train_Aligned_Faces/`` and ``Val/Val_Aligned_Faces/`` (the EmotiW
archives ``Train_Aligned_Faces.zip`` / ``Val_Aligned_Faces_new.zip``).
A ``Test/`` folder is ignored: its labels were never released.

Official counts are 958 Train / 436 Val images (Dhall et al. 2015); copies in circulation hold fewer
(the organisers' face detector missed some frames, e.g. 891 / 431 aligned faces). Images missing
from a copy are counted against the official numbers in the card, never fatal.

Protocol: Val is the reported split (it becomes ``test``); validation is carved from Train
(``--val-fraction``, stratified, seeded). No subject ids: the splits are the official image-level ones.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import cv2
import numpy as np

from ferbench.data.images import IMAGE_EXTS, Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptionError, PrepareOptions, run
from ferbench.data.store import Store

NAME = "sfew"
LAYOUTS = (
    "aligned: Train/Train_Aligned_Faces/<Class>/*.png + Val/Val_Aligned_Faces/<Class>/*.png",
    "folders: Train/<Class>/*.png + Val/<Class>/*.png",
)
# SFEW's class folder names -> canonical classes (ferbench.data.classes)
LABELS = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happiness",
    "neutral": "neutral",
    "sad": "sadness",
    "surprise": "surprise",
}
CLASSES = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
DEFAULT_SIZE = 112
DEFAULT_FOLDS = 0
OFFICIAL = {"train": 958, "test": 436}  # Train, Val
PROTOCOL = "official Train 958 / Val 436 (Val reported, as test); val carved from Train, stratified, seeded"
PARTS = {"Train": "train", "Val": "test"}
WHOLE_FRAME = 400  # px: wider than this is a movie frame, not one of the 143×181 aligned faces


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare SFEW 2.0 from ``root`` (either layout) into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _dir(root: Path, name: str) -> Path | None:
    """A child of ``root`` named ``name``, compared case-insensitively."""
    if not root.is_dir():
        return None
    return next((Path(e.path) for e in os.scandir(root) if e.is_dir() and e.name.lower() == name.lower()), None)


def _class_dirs(folder: Path | None) -> list[Path]:
    if folder is None:
        return []
    return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir() and e.name.lower() in LABELS)


def _parts(root: Path, layout: str) -> dict[str, Path | None]:
    if layout == "aligned":
        return {
            part: (_dir(_dir(root, part) or root, f"{part}_Aligned_Faces") or _dir(root, f"{part}_Aligned_Faces"))
            for part in PARTS
        }
    return {part: _dir(root, part) for part in PARTS}


def detect_layout(root: Path) -> str | None:
    if not root.is_dir():
        return None
    for layout in ("aligned", "folders"):
        if len(_class_dirs(_parts(root, layout)["Train"])) >= 4:
            return layout
    return None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    parts = _parts(root, layout)
    sources, labels, split, bad = [], [], [], []
    for part, folder in parts.items():
        if folder is None:
            continue  # a copy without Val: counted as missing against the official numbers below
        prefix = folder.relative_to(root).as_posix()
        for d in _class_dirs(folder):
            for f in sorted(e.name for e in os.scandir(d) if e.is_file() and not e.name.startswith(".")):
                rel = f"{prefix}/{d.name}/{f}"
                if os.path.splitext(f)[1].lower() not in IMAGE_EXTS:
                    bad.append((rel, "not an image file (extension)"))
                    continue
                sources.append(Source(name=rel, path=d / f))
                labels.append(LABELS[d.name.lower()])
                split.append(PARTS[part])
    if "train" not in split:
        raise DatasetLayoutError(f"{root}: no images in the Train class folders; expected " + " or ".join(LAYOUTS))
    if opts.detect == "none":
        _refuse_whole_frames(sources[0])
    found = {s: split.count(s) for s in OFFICIAL}
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=CLASSES,
        split=np.array(split, dtype=object),
        carve_val=True,
        bad=bad,
        card={
            "label_map": {k.capitalize(): v for k, v in LABELS.items()},
            "reported_metric": "accuracy",
            "provenance": {
                "dataset": "SFEW 2.0",
                "layout": layout,
                "official_counts": OFFICIAL,
                "counts_in_this_copy": found,
                "missing_vs_official": {s: max(0, OFFICIAL[s] - found[s]) for s in OFFICIAL},
                "test": "official Val (the reported split; Test labels were never released)",
            },
        },
    )


def _refuse_whole_frames(first: Source) -> None:
    img = cv2.imread(str(first.path), cv2.IMREAD_GRAYSCALE)
    if img is not None and img.shape[1] > WHOLE_FRAME:
        raise PrepareOptionError(
            f"{first.path}: {img.shape[1]} px wide, a whole movie frame rather than an aligned face; "
            "pass --detect haar|yunet|retinaface|mtcnn, or --root the folder holding Train_Aligned_Faces/"
        )
