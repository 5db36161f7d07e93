"""Any ImageFolder tree, its class folder names mapped onto the canonical 8-emotion vocabulary.

Source layouts (``--root`` is the top folder):

* ``flat`` — ``<class>/*.{jpg,png,...}``: no official split, no subjects, so train/val/test is a
  stratified 80/10/10 split by image (seeded); the card says it is not subject-independent.
* ``split`` — ``{train,val,test}/<class>/*`` (``valid``/``validation`` are accepted for val); a tree
  with only ``train`` and ``test`` gets a stratified, seeded val carved from train.

Folder names are matched case-insensitively against the canonical names and common spellings
(``happy``, ``angry``, ``sad``, ...); anything else raises an error listing the known classes —
map it with ``--class-map old=new,...``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ferbench.data.classes import EMOTIONS
from ferbench.data.images import IMAGE_EXTS, Source, list_class_folders
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptions, run
from ferbench.data.store import Store

NAME = "folder"
LAYOUTS = ("flat: <class>/*.jpg", "split: {train,val,test}/<class>/*.jpg")
CLASSES = None  # whatever subset the folders name
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 0
PROTOCOL = "the tree's train/val/test folders, or stratified 80/10/10 by image (not subject-independent)"
SPLIT_NAMES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare an ImageFolder tree from ``root`` into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _subdirs(root: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))


def detect_layout(root: Path) -> str | None:
    if not root.is_dir():
        return None
    dirs = _subdirs(root)
    if any(d.lower() in SPLIT_NAMES for d in dirs):
        return "split"
    # a class folder holds images directly: any folder of folders (e.g. the empty --root's parent) is not one
    has_images = any(os.path.splitext(f)[1].lower() in IMAGE_EXTS for d in dirs for f in os.listdir(root / d))
    return "flat" if has_images else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    parts = (
        [(None, None)]
        if layout == "flat"
        else [(d, SPLIT_NAMES[d.lower()]) for d in _subdirs(root) if d.lower() in SPLIT_NAMES]
    )
    sources, labels, split, bad = [], [], [], []
    folders = set()  # classes with a folder, even an empty one: the store keeps (and warns about) them
    for part, split_name in parts:
        for label, folder, files, others in list_class_folders(root, part, opts.class_map):
            folders.add(label)
            prefix = f"{part}/{folder}" if part else folder
            bad += [(f"{prefix}/{f}", "not an image file (extension)") for f in others]
            for f in files:
                sources.append(Source(name=f"{prefix}/{f}", path=os.path.join(root, prefix, f)))
                labels.append(label)
                split.append(split_name)
    if not sources:
        raise DatasetLayoutError(f"{root}: no images in class folders; expected " + " or ".join(LAYOUTS))
    splits = set(split)
    if layout == "split" and "train" not in splits:
        raise DatasetLayoutError(
            f"{root}: split layout without a train/ folder; expected " + " or ".join(LAYOUTS)
        )
    names = set(labels) | folders
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=[c for c in EMOTIONS if c in names],
        split=None if layout == "flat" else np.array(split, dtype=object),
        carve_val=layout == "split" and "val" not in splits,
        bad=bad,
        card={"provenance": {"dataset": f"ImageFolder tree ({layout})"}},
    )
