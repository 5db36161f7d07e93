"""KDEF (Lundqvist, Flykt & Öhman, 1998): 70 posers × 7 expressions × 5 angles × 2 sessions = 4,900 photos.

Source layout (``--root`` is the ``KDEF`` folder or the one holding it, e.g. ``KDEF_and_AKDEF/``)::

    KDEF/AF01/AF01ANS.JPG  KDEF/AF01/AF01ANHL.JPG ...  KDEF/BM35SUFR.JPG    562×762 colour JPEG

File name ``<session><sex><id><expression><angle>.JPG``: session ``A``/``B`` (each poser was
photographed twice), sex ``F``/``M``, two-digit id 01–35, expression ``AF`` afraid, ``AN`` angry,
``DI`` disgusted, ``HA`` happy, ``NE`` neutral, ``SA`` sad, ``SU`` surprised, angle ``FL`` full
left, ``HL`` half left, ``S`` straight, ``HR`` half right, ``FR`` full right (the codes in KDEF's file
names; reference loaders read the expression at characters 5–6 and the same code tables). The extension's case
varies between copies (``.JPG``/``.jpg``): both are read, and so are copies that put all photos in
one flat folder instead of one folder per session and poser. A file whose name does not parse is listed
as unusable; the file name, not its folder, gives its labels. The averaged AKDEF faces (no posers)
are not read.

``subject`` = sex + id (``F01``, ``M12``): the same person in both sessions, so a poser's session A
and session B photos always fall in the same fold. ``--angles S`` (default, frontal) or a comma list
such as ``S,HL,HR``.

The photos are head-and-shoulders portraits, so faces are cropped by default (``--detect haar``;
``--detect none`` keeps the whole frame centre-cropped to a square). The frontal Haar cascade misses
most profile (``FL``/``FR``) faces: such images are kept whole by default and counted in the card
(``--on-miss skip`` drops them).

Protocol: subject-independent k folds (default 10), grouped by poser; ``split`` is fold 0 of that
protocol unless ``--split subject:a/b/c``.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np

from ferbench.data.images import IMAGE_EXTS, Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptionError, PrepareOptions, run
from ferbench.data.store import Store

NAME = "kdef"
LAYOUTS = ("images: KDEF/<ID>/<ID><EX><ANGLE>.JPG, e.g. KDEF/AF01/AF01ANS.JPG (or all in one folder)",)
# KDEF's expression codes -> canonical classes (ferbench.data.classes)
LABELS = {
    "AF": "fear",
    "AN": "anger",
    "DI": "disgust",
    "HA": "happiness",
    "NE": "neutral",
    "SA": "sadness",
    "SU": "surprise",
}
CLASSES = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
ANGLES = ("FL", "HL", "S", "HR", "FR")
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 10
DEFAULT_DETECT = "haar"  # whole portraits: a face crop is what the other stores hold
OPTIONS = ("angles",)
PROTOCOL = "10 subject-independent folds (poser = sex + id, both sessions); --angles S (frontal) by default"
PATTERN = re.compile(r"^([AB])([FM])(\d{2})(AF|AN|DI|HA|NE|SA|SU)(FL|HL|HR|FR|S)\.jpe?g$", re.IGNORECASE)
ID = re.compile(r"^[AB][FM]\d{2}$", re.IGNORECASE)


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare KDEF from ``root`` into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def parse_angles(text: str) -> tuple[str, ...]:
    """``'S,HL'`` -> ``('S', 'HL')``; an unknown code is a one-line option error."""
    angles = tuple(dict.fromkeys(a.strip().upper() for a in text.split(",") if a.strip()))
    unknown = [a for a in angles if a not in ANGLES]
    if unknown or not angles:
        raise PrepareOptionError(
            f"--angles {text!r}: expected a comma list of {', '.join(ANGLES)} (S = straight/frontal)"
        )
    return angles


def _base(root: Path) -> Path | None:
    for base in (root, root / "KDEF", root / "KDEF_and_AKDEF" / "KDEF"):
        if not base.is_dir():
            continue
        entries = list(os.scandir(base))
        if sum(1 for e in entries if e.is_dir() and ID.match(e.name)) >= 2:
            return base
        if sum(1 for e in entries if e.is_file() and PATTERN.match(e.name)) >= 7:  # a flat copy
            return base
    return None


def _files(base: Path) -> list[tuple[str, str]]:
    """``(name relative to base, path)`` of every file in ``base`` and its ``<ID>/`` folders, sorted."""
    out = []
    for e in os.scandir(base):
        if e.name.startswith("."):
            continue
        if e.is_file():
            out.append((e.name, e.path))
        elif e.is_dir() and ID.match(e.name):
            out += [(f"{e.name}/{f.name}", f.path) for f in os.scandir(e.path) if f.is_file()
                    and not f.name.startswith(".")]
    return sorted(out)


def detect_layout(root: Path) -> str | None:
    return "images" if root.is_dir() and _base(root) else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    angles = parse_angles(opts.angles)
    base = _base(root)
    sources, labels, subjects, bad = [], [], [], []
    other_angles = 0
    for rel, path in _files(base):
        f = os.path.basename(rel)
        if os.path.splitext(f)[1].lower() not in IMAGE_EXTS:
            if "/" in rel:  # only the photo folders' strays; the flat folder's readme is not a photo
                bad.append((rel, "not an image file (extension)"))
            continue
        m = PATTERN.match(f)
        if not m:
            bad.append((rel, "file name is not <A|B><F|M><id><AF|AN|DI|HA|NE|SA|SU><FL|HL|S|HR|FR>.JPG"))
            continue
        _, sex, num, code, angle = m.groups()
        if angle.upper() not in angles:
            other_angles += 1
            continue
        sources.append(Source(name=rel, path=path))
        labels.append(LABELS[code.upper()])
        subjects.append(f"{sex.upper()}{num}")
    if not sources:
        raise DatasetLayoutError(
            f"{base}: no KDEF photos at --angles {','.join(angles)}; expected " + " or ".join(LAYOUTS)
        )
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=CLASSES,
        subjects=np.array(subjects),
        bad=bad,
        card={
            "label_map": dict(LABELS),
            "reported_metric": "accuracy",
            "provenance": {
                "dataset": "KDEF",
                "angles": list(angles),
                "skipped_other_angles": other_angles,
                "subject": "sex + id (F01, M12): sessions A and B of one poser together",
            },
        },
    )
