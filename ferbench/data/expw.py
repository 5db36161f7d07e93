"""ExpW (Zhang et al., IJCV 2018, "From facial expression recognition to interpersonal relation
prediction"): 91,793 faces in 85k web photos, 7 classes, a face box per face, no official split.

Source layout (``--root`` is the folder holding both, e.g. ``ExpW/data/``)::

    label/label.lst       one face per line:
                          image_name face_id top left right bottom confidence label
    image/origin/*.jpg    the whole photos (``origin.7z`` unpacked)

``label.lst`` may also sit directly in ``--root``, and the photos may be in ``origin/`` or ``image/``
(both occur in copies). The columns are, as the release's readme names them, ``face_id_in_image
face_box_top face_box_left face_box_right face_box_bottom face_box_cofidence expression_label``;
labels 0–6 = angry, disgust, fear, happy, sad, surprise, neutral. Reference loaders read the same
order (top before left).

The given box is cropped, grown by ``--margin`` per side (``--detect`` re-detects instead);
``--min-confidence C`` drops faces whose detector confidence is below C (counted in the card).
A line that does not parse, or a box of zero area, is listed as unusable.

Protocol: ExpW has no official split and no identities. The split is seeded and stratified by class
(10 stratified group folds: test = fold 0, val = fold 1, train = the rest, i.e. 80/10/10), grouped by
source photo, so two faces of one photo never straddle splits; the store's ``subject`` column holds
the photo name, and the leakage check verifies it. The same person in two photos is not grouped
(ExpW does not say who is who).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ferbench.data.images import Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptionError, PrepareOptions, run
from ferbench.data.splits import subject_folds
from ferbench.data.store import Store

NAME = "expw"
LAYOUTS = ("list: label/label.lst (image face_id top left right bottom confidence label) + image/origin/*.jpg",)
# ExpW's label codes -> canonical classes (ferbench.data.classes)
LABELS = {
    "0": "anger",
    "1": "disgust",
    "2": "fear",
    "3": "happiness",
    "4": "sadness",
    "5": "surprise",
    "6": "neutral",
}
CLASSES = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
DEFAULT_SIZE = 112
DEFAULT_FOLDS = 0
OPTIONS = ("min_confidence",)
SPLIT_FOLDS = 10
PROTOCOL = "no official split: seeded 80/10/10 stratified by class, grouped by source photo"
EXPECTED = "lines 'image_name face_id top left right bottom confidence label' (label 0..6)"


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare ExpW from ``root`` into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _label_file(root: Path) -> Path | None:
    for path in (root / "label" / "label.lst", root / "label.lst"):
        if path.is_file():
            return path
    return None


def _images_dir(root: Path) -> Path | None:
    for path in (root / "image" / "origin", root / "origin", root / "image"):
        if path.is_dir():
            return path
    return None


def detect_layout(root: Path) -> str | None:
    return "list" if root.is_dir() and _label_file(root) else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    if opts.min_confidence is not None and not np.isfinite(opts.min_confidence):
        raise PrepareOptionError(f"--min-confidence {opts.min_confidence}: expected a number")
    lst = _label_file(root)
    images = _images_dir(root)
    if images is None:
        raise DatasetLayoutError(
            f"{root}: photo folder missing; expected image/origin/*.jpg beside {lst.relative_to(root)} "
            "(unpack origin.7z there)"
        )
    sources, labels, photos, bad = [], [], [], []
    low = 0
    for n, line in enumerate(lst.read_text(errors="replace").splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"{lst.name}:line{n}"
        try:
            name, face, (top, left, right, bottom), conf, code = (
                parts[0], parts[1], (float(v) for v in parts[2:6]), float(parts[6]), parts[7])
        except (ValueError, IndexError):
            bad.append((where, f"expected {EXPECTED}"))
            continue
        if code not in LABELS:
            bad.append((where, f"label {code!r} not in 0..6"))
            continue
        if right <= left or bottom <= top:
            bad.append((where, f"{name}: face box of zero area (top {top} left {left} right {right} bottom {bottom})"))
            continue
        if opts.min_confidence is not None and conf < opts.min_confidence:
            low += 1
            continue
        sources.append(
            Source(name=f"origin/{name}:face{face}", path=images / name, box=(left, top, right - left, bottom - top))
        )
        labels.append(LABELS[code])
        photos.append(name)
    if not sources:
        raise DatasetLayoutError(f"{lst}: no usable faces ({len(bad)} bad lines, {low} below --min-confidence); "
                                 f"expected {EXPECTED}")
    photos = np.array(photos)
    codes = np.array([CLASSES.index(c) for c in labels])
    if len(set(photos)) < 3:
        raise DatasetLayoutError(f"{lst}: faces from {len(set(photos))} photos; a train/val/test split needs 3")
    try:
        folds = subject_folds(codes, photos, SPLIT_FOLDS, seed=opts.seed)
    except ValueError as err:  # sklearn: every class has fewer faces than folds
        raise DatasetLayoutError(f"{lst}: {len(sources)} faces are too few for the {SPLIT_FOLDS}-fold "
                                 f"grouped split ({err})") from None
    split = np.where(folds == 0, "test", np.where(folds == 1, "val", "train")).astype(object)
    card = {
        "label_map": dict(LABELS),
        "reported_metric": "accuracy",
        "label_filter": {"min_confidence": opts.min_confidence, "dropped_low_confidence": low},
        "provenance": {
            "dataset": "ExpW",
            "faces": "given face box cropped with --margin" if opts.detect == "none" else f"--detect {opts.detect}",
            "subject": "source photo name (ExpW has no identities)",
        },
    }
    if opts.split == "official":  # the pipeline would call a dataset-supplied split 'official'
        card["split_protocol"] = (
            f"no official split: {SPLIT_FOLDS} stratified folds grouped by source photo (seed {opts.seed}), "
            "test = fold 0, val = fold 1, train = the rest (80/10/10)"
            + (f"; {opts.folds} photo-grouped folds (fold f: test f, val f+1, train rest)" if opts.folds else "")
        )
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=CLASSES,
        split=split,
        subjects=photos,
        bad=bad,
        card=card,
    )
