"""AffectNet (Mollahosseini et al., 2017): in-the-wild faces, 8 expressions + valence/arousal.

Source layout (``--root`` is the folder holding both parts of the download)::

    Manually_Annotated_file_lists/training.csv     ~414k rows
    Manually_Annotated_file_lists/validation.csv   5,500 rows
    Manually_Annotated_Images/<subDirectory_filePath>   e.g. 689/737db2483489148d783ef2...jpg

(the two CSVs may also sit directly in ``--root``, and the images folder may be ``--root`` itself).
CSV columns: ``subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks,
expression, valence, arousal``; ``facial_landmarks`` is 68 ``x;y`` pairs; expression 0–10 =
neutral, happy, sad, surprise, fear, disgust, anger, contempt, none, uncertain, no-face.

Rows with expression 8–10 and rows whose valence or arousal is the invalid marker −2 are dropped
(counted in the card). The given face box is cropped (grown by ``--margin``; ``--align`` levels the
eyes using the landmarks); ``--detect`` re-detects instead. Valence/arousal are kept as targets.

Splits: the official ones — training.csv is train (a stratified, seeded val is carved from it),
validation.csv is the test set (AffectNet's own test set was never released). No subject ids.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from ferbench.data.classes import EMOTIONS
from ferbench.data.faces import landmarks_from_68
from ferbench.data.images import Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptions, read_table, run
from ferbench.data.store import Store

NAME = "affectnet"
LAYOUTS = ("Manually_Annotated_file_lists/{training,validation}.csv + Manually_Annotated_Images/",)
CLASSES = list(EMOTIONS)
DEFAULT_SIZE = 112
DEFAULT_FOLDS = 0
PROTOCOL = "official: training.csv -> train (val carved) / validation.csv -> test"
COLUMNS = [
    "subDirectory_filePath",
    "face_x",
    "face_y",
    "face_width",
    "face_height",
    "facial_landmarks",
    "expression",
    "valence",
    "arousal",
]
EXPECTED = "AffectNet CSV with columns " + ", ".join(COLUMNS)
PARTS = {"training.csv": "train", "validation.csv": "test"}


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare AffectNet from ``root`` into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _lists_dir(root: Path) -> Path | None:
    for base in (root / "Manually_Annotated_file_lists", root):
        if base.is_dir() and ((base / "training.csv").is_file() or (base / "validation.csv").is_file()):
            return base
    return None


def _images_dir(root: Path) -> Path:
    for base in (
        root / "Manually_Annotated_Images",
        root / "Manually_Annotated" / "Manually_Annotated_Images",
    ):
        if base.is_dir():
            return base
    return root


def detect_layout(root: Path) -> str | None:
    return "csv" if root.is_dir() and _lists_dir(root) else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    lists, images = _lists_dir(root), _images_dir(root)
    sources, labels, split, valence, arousal, bad = [], [], [], [], [], []
    dropped = {"expression_8_to_10": 0, "invalid_valence_arousal": 0}
    for csv_name, part in PARTS.items():
        path = lists / csv_name
        df = read_table(path, COLUMNS, EXPECTED)
        for row, r in enumerate(df.itertuples(index=False)):
            name = f"{csv_name}:row{row + 2}:{r.subDirectory_filePath}"
            try:
                expr = int(float(r.expression))
                va = float(r.valence), float(r.arousal)
                box = tuple(float(v) for v in (r.face_x, r.face_y, r.face_width, r.face_height))
            except ValueError:
                bad.append((name, "expression, valence, arousal or face box not numeric"))
                continue
            if not 0 <= expr <= 7:
                dropped["expression_8_to_10"] += 1
                continue
            if min(va) < -1 or max(va) > 1:  # -2 marks invalid
                dropped["invalid_valence_arousal"] += 1
                continue
            marks = None
            if r.facial_landmarks.strip():
                try:
                    marks = landmarks_from_68(np.array(r.facial_landmarks.split(";"), dtype=np.float32))
                except ValueError:
                    marks = None  # alignment falls back to the plain box for this image
            sources.append(Source(name=name, path=images / r.subDirectory_filePath, box=box, landmarks=marks))
            labels.append(EMOTIONS[expr])
            split.append(part)
            valence.append(va[0])
            arousal.append(va[1])
    if not sources and not bad:
        raise DatasetLayoutError(
            f"{lists}: no usable rows in training.csv/validation.csv; expected {EXPECTED}"
        )
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=CLASSES,
        split=np.array(split, dtype=object),
        carve_val=True,
        valence=np.array(valence, np.float32),
        arousal=np.array(arousal, np.float32),
        bad=bad,
        card={
            "label_filter": {"dropped": dropped},
            "provenance": {
                "dataset": "AffectNet (manually annotated)",
                "val": "carved from training.csv",
                "test": "validation.csv",
            },
        },
    )
