"""JAFFE (Lyons et al., 1998): 213 posed images of 10 Japanese women, 7 classes including neutral.

Source layout (``--root`` is the folder holding the images, e.g. ``jaffedbase/`` or ``jaffe/``)::

    KA.AN1.39.tiff  KA.AN2.40.tiff ...  YM.SU3.60.tiff    256×256 gray TIFF, 213 files

File name ``XX.YYn.NNN.tiff``: ``XX`` the subject's initials (KA KL KM KR MK NA NM TM UY YM),
``YY`` the expression (AN anger, DI disgust, FE fear, HA happiness, NE neutral, SA sadness,
SU surprise), ``n`` the repetition, ``NNN`` the image number. Other files in the folder (the
README, semantic-rating files) are ignored; image files whose name does not parse are skipped and
listed in the card.

Splits: leave-one-subject-out, i.e. 10 subject folds (``--folds``); ``split`` is fold 0 of that
protocol unless ``--split subject:a/b/c``. The images show head and shoulders: ``--detect`` crops
the face (``none`` keeps the whole square frame).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np

from ferbench.data.images import IMAGE_EXTS, Source
from ferbench.data.prepare import Collected, PrepareOptions, run
from ferbench.data.store import Store

NAME = "jaffe"
LAYOUTS = ("images: XX.YYn.NNN.tiff (subject XX, expression YY in AN DI FE HA NE SA SU)",)
CLASSES = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 10
CODES = {
    "AN": "anger",
    "DI": "disgust",
    "FE": "fear",
    "HA": "happiness",
    "NE": "neutral",
    "SA": "sadness",
    "SU": "surprise",
}
PATTERN = re.compile(r"^([A-Z]{2})\.([A-Z]{2})\d+\.\d+\.tiff?$", re.IGNORECASE)


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare JAFFE from ``root`` into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def detect_layout(root: Path) -> str | None:
    if not root.is_dir():
        return None
    hits = sum(1 for f in os.listdir(root) if PATTERN.match(f))
    return "images" if hits >= 7 else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    sources, labels, subjects, bad = [], [], [], []
    for f in sorted(os.listdir(root)):
        if os.path.splitext(f)[1].lower() not in IMAGE_EXTS:
            continue
        m = PATTERN.match(f)
        if not m or m.group(2).upper() not in CODES:
            bad.append((f, "file name is not XX.YYn.NNN.tiff with YY in AN DI FE HA NE SA SU"))
            continue
        sources.append(Source(name=f, path=os.path.join(root, f)))
        labels.append(CODES[m.group(2).upper()])
        subjects.append(m.group(1).upper())
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=CLASSES,
        subjects=np.array(subjects),
        bad=bad,
        card={"provenance": {"dataset": "JAFFE", "protocol": "leave-one-subject-out"}},
    )
