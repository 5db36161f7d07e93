"""JAFFE (Lyons et al., 1998): 213 posed images of 10 Japanese women, 7 classes including neutral.

Source layout (``--root`` is the folder holding the images, e.g. ``jaffedbase/`` or ``jaffe/``)::

    KA.AN1.39.tiff  KA.AN2.40.tiff ...  YM.SU3.60.tiff    256×256 8-bit TIFF, 213 files

Most files are plain grayscale; some copies hold palette TIFFs (a gray ramp, 23 of the 213 in the
copy this was tested on), which OpenCV decodes to the same gray values.

File name ``XX.YYn.NNN.tiff``: ``XX`` the subject's initials (KA KL KM KR MK NA NM TM UY YM),
``YY`` the expression (AN anger, DI disgust, FE fear, HA happiness, NE neutral, SA sadness,
SU surprise), ``n`` the repetition, ``NNN`` the image number. Other files in the folder (the
README, semantic-rating files) are ignored; image files whose name does not parse are skipped and
listed in the card.

Splits: leave-one-subject-out, i.e. 10 subject folds (``--folds``); ``split`` is fold 0 of that
protocol unless ``--split subject:a/b/c``. One subject's id is ``NA``: it is kept as the string
(the store reads ``subject`` as text, never as a missing value).

Faces: the images are whole 256×256 frames (hair, neck, shoulders, background), while every other
store holds face crops, so a model trained on whole JAFFE frames, or a FER2013 model tested on them,
is not comparable. The default is therefore ``--detect haar`` (OpenCV's bundled cascade, found a face
in all 213 real images); ``--detect yunet --detector-model PATH`` also finds all 213, and
``--detect none`` keeps the whole frame.
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
# whole 256x256 frames (head, hair, shoulders): every other store holds face crops, and a model
# trained or tested on whole frames is not comparable with them
DEFAULT_DETECT = "haar"
PROTOCOL = "leave-one-subject-out (10 folds); faces cropped by default (--detect haar)"
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
        card={
            "label_map": dict(CODES),
            "reported_metric": "accuracy",
            "provenance": {"dataset": "JAFFE", "protocol": "leave-one-subject-out"},
        },
    )
