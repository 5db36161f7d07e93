"""RAF-DB basic (Li, Deng & Du, CVPR 2017): 15,339 in-the-wild faces, 7 classes, official train/test.

Source layouts (``--root`` is the folder holding ``basic/``, or ``basic/`` itself):

* ``list`` — the release as the authors ship it::

      basic/EmoLabel/list_patition_label.txt     "train_00001.jpg 5" per line (the file name's typo is theirs)
      basic/Image/aligned/train_00001_aligned.jpg   100×100 RGB aligned faces (default, ``--images aligned``)
      basic/Image/original/train_00001.jpg          the whole photos (``--images original``, needs ``--detect``)

  Labels 1–7 = surprise, fear, disgust, happiness, sadness, anger, neutral. The file-name prefix
  gives the official split: ``train_`` 12,271 images, ``test_`` 3,068 (the numbers published with the
  release; the card lists how many this copy has, and an image named in the list but missing on disk
  is counted and listed as unreadable, never fatal).
* ``folders`` — the common re-foldered copy (e.g. Kaggle's ``DATASET/``)::

      train/<1..7>/*.jpg     test/<1..7>/*.jpg      (or the same under DATASET/)

  Folder names are the label codes 1–7 above. Some copies name the folders by class instead
  (``surprise``, ``happy``, ...): both are accepted, a folder name that is neither is an error.

Checked against widely copied reference loaders (the ``RafDataSet`` classes of several FER repositories:
``EmoLabel/list_patition_label.txt`` read space separated, label minus 1 with 0 = surprise, ``train``/
``test`` split by the name prefix, images at ``Image/aligned/<stem>_aligned.jpg``) and re-foldered
copies' readmes (``train_set/<1..7>`` style folders named by label code).

Protocol: the test set is the reported one. Validation is carved from train (``--val-fraction``,
stratified by class, seeded); RAF-DB has no subject ids, so splits are image-level as published.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ferbench.data.classes import UnknownClassError, canonical, subset
from ferbench.data.images import IMAGE_EXTS, Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptionError, PrepareOptions, run
from ferbench.data.store import Store

NAME = "rafdb"
LAYOUTS = (
    "list: basic/EmoLabel/list_patition_label.txt + basic/Image/aligned/*_aligned.jpg (or Image/original/)",
    "folders: train/<1..7>/*.jpg + test/<1..7>/*.jpg",
)
# RAF-DB's own label codes -> canonical classes (ferbench.data.classes)
LABELS = {
    "1": "surprise",
    "2": "fear",
    "3": "disgust",
    "4": "happiness",
    "5": "sadness",
    "6": "anger",
    "7": "neutral",
}
CLASSES = subset(LABELS.values())
DEFAULT_SIZE = 100  # the aligned faces' own size
DEFAULT_FOLDS = 0
OPTIONS = ("images",)
IMAGES = ("aligned", "original")
OFFICIAL = {"train": 12271, "test": 3068}
PROTOCOL = "official train 12,271 / test 3,068 (test reported); val carved from train, stratified, seeded"
LIST = "EmoLabel/list_patition_label.txt"
PREFIX = {"train": "train", "test": "test"}


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare RAF-DB from ``root`` (either layout) into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _basic(root: Path) -> Path | None:
    for base in (root, root / "basic"):
        if (base / LIST).is_file():
            return base
    return None


def _folders(root: Path) -> Path | None:
    for base in (root, root / "DATASET"):
        if (base / "train").is_dir() and (base / "test").is_dir():
            subdirs = [d.name for d in os.scandir(base / "train") if d.is_dir()]
            if subdirs and all(_folder_label(d) for d in subdirs):
                return base
    return None


def _folder_label(name: str) -> str | None:
    if name in LABELS:
        return LABELS[name]
    try:
        return canonical(name)
    except UnknownClassError:
        return None


def detect_layout(root: Path) -> str | None:
    if not root.is_dir():
        return None
    if _basic(root):
        return "list"
    if _folders(root):
        return "folders"
    return None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    if opts.images not in IMAGES:
        raise PrepareOptionError(f"--images {opts.images!r}: expected aligned or original")
    if layout == "folders":
        if opts.images != "aligned":
            raise PrepareOptionError(
                f"--images original: {root} is the re-foldered copy, which holds the aligned faces only; "
                "point --root at the release's basic/ folder for the original photos"
            )
        return _collect_folders(_folders(root))
    if opts.images == "original" and opts.detect == "none":
        raise PrepareOptionError(
            "--images original: RAF-DB's original images are whole photos; pass --detect "
            "haar|yunet|retinaface|mtcnn to crop the face (or leave --images at aligned)"
        )
    return _collect_list(_basic(root), opts.images)


def _collect_list(basic: Path, images: str) -> Collected:
    folder = basic / "Image" / images
    if not folder.is_dir():
        raise DatasetLayoutError(
            f"{folder}: image folder missing; expected basic/Image/{images}/ beside {LIST} "
            f"(unpack the release's {images}.zip there)"
        )
    sources, labels, split, bad = [], [], [], []
    path = basic / LIST
    for n, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"{LIST}:line{n}"
        if len(parts) < 2 or parts[1] not in LABELS:
            bad.append((where, f"expected 'train_00001.jpg <1..7>', found {line.strip()[:60]!r}"))
            continue
        name = parts[0]
        part = next((s for s, p in PREFIX.items() if name.startswith(p + "_")), None)
        if part is None:
            bad.append((where, f"{name}: name does not start with train_ or test_ (no official split)"))
            continue
        stem, ext = os.path.splitext(name)
        file = f"{stem}_aligned{ext}" if images == "aligned" else name
        sources.append(Source(name=f"Image/{images}/{file}", path=folder / file))
        labels.append(LABELS[parts[1]])
        split.append(part)
    if not sources:
        raise DatasetLayoutError(f"{path}: no usable lines; expected 'train_00001.jpg 5' per line")
    return _collected("list", sources, labels, split, bad, f"{images} images from {LIST}")


def _collect_folders(base: Path) -> Collected:
    sources, labels, split, bad = [], [], [], []
    for part in ("train", "test"):
        for d in sorted(os.scandir(base / part), key=lambda e: e.name):
            if not d.is_dir() or d.name.startswith("."):
                continue
            label = _folder_label(d.name)
            if label is None:
                raise DatasetLayoutError(
                    f"{d.path}: folder name is neither a RAF-DB label code 1..7 nor a class name"
                )
            for f in sorted(e.name for e in os.scandir(d.path) if e.is_file() and not e.name.startswith(".")):
                rel = f"{part}/{d.name}/{f}"
                if os.path.splitext(f)[1].lower() not in IMAGE_EXTS:
                    bad.append((rel, "not an image file (extension)"))
                    continue
                sources.append(Source(name=rel, path=os.path.join(d.path, f)))
                labels.append(label)
                split.append(part)
    return _collected("folders", sources, labels, split, bad, "re-foldered copy train/<code>/, test/<code>/")


def _collected(layout: str, sources, labels, split, bad, what: str) -> Collected:
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
            "label_map": dict(LABELS),
            "reported_metric": "accuracy",
            "provenance": {
                "dataset": "RAF-DB basic",
                "images": what,
                "official_counts": OFFICIAL,
                "counts_in_this_copy": found,
                "test": "official test_ images (the reported split)",
            },
        },
    )
