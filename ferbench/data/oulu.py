"""Oulu-CASIA NIR&VIS (Zhao et al., 2011): 80 subjects × 6 expressions, a video sequence each from
neutral to apex, recorded with a visible-light (VL) and a near-infrared (NI) camera under three lights.

Source layout (``--root`` is the folder holding ``OriginalImg/``, or ``OriginalImg/`` itself)::

    OriginalImg/<sensor>/<light>/P###/<Expression>/000.jpeg, 001.jpeg, ...     320×240 frames

``<sensor>`` VL or NI, ``<light>`` Strong, Weak or Dark, ``<Expression>`` Anger, Disgust, Fear,
Happiness, Sadness, Surprise. The release also has ``Preprocess Img/`` with the same tree below
it (reference loaders accept either folder); it is read when ``OriginalImg/`` is absent. Folder
names are matched case-insensitively.

``--sensor VL|NI`` (default VL) and ``--light Strong|Weak|Dark`` (default Strong) pick one of the six
recordings; most papers use VL Strong. From each sequence the last 3 frames (the apex) carry its
expression, and ``--neutral-frame`` adds its first frame as neutral (a 7th class), as for CK+.
A sequence with fewer than 4 frames is listed as unusable.

The frames show head and shoulders: faces are cropped by default (``--detect haar``; ``--detect
none`` centre-crops the 320×240 frame to a square).

Protocol: 10 subject-independent folds (default), grouped by subject ``P###``; ``split`` is fold 0.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ferbench.data.images import IMAGE_EXTS, Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptionError, PrepareOptions, run
from ferbench.data.store import Store

NAME = "oulu"
LAYOUTS = (
    "original: OriginalImg/<VL|NI>/<Strong|Weak|Dark>/P###/<Expression>/*.jpeg",
    "preprocessed: Preprocess Img/<VL|NI>/<Strong|Weak|Dark>/P###/<Expression>/*.jpeg",
)
# Oulu-CASIA's expression folder names -> canonical classes (ferbench.data.classes)
LABELS = {
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happiness",
    "sadness": "sadness",
    "surprise": "surprise",
}
CLASSES = ["happiness", "sadness", "surprise", "fear", "disgust", "anger"]  # + neutral with --neutral-frame
SENSORS = ("VL", "NI")
LIGHTS = ("Strong", "Weak", "Dark")
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 10
DEFAULT_DETECT = "haar"  # whole 320×240 frames: a face crop is what the other stores hold
OPTIONS = ("light", "sensor", "neutral_frame")
PROTOCOL = ("10 subject-independent folds; last 3 frames per sequence (--neutral-frame adds the first); "
            "VL Strong by default")
TOPS = {"original": ("OriginalImg",), "preprocessed": ("Preprocess Img", "PreProcess Img", "Preprocess_Img")}


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare Oulu-CASIA from ``root`` (either layout) into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _child(folder: Path, name: str) -> Path | None:
    if not folder.is_dir():
        return None
    return next((Path(e.path) for e in os.scandir(folder) if e.is_dir() and e.name.lower() == name.lower()), None)


def _is_tree(folder: Path | None) -> bool:
    return folder is not None and any(_child(folder, s) for s in SENSORS)


def _top(root: Path) -> tuple[str, Path] | None:
    for layout, names in TOPS.items():
        for name in names:
            if _is_tree(_child(root, name)):
                return layout, _child(root, name)
        if root.name in names and _is_tree(root):
            return layout, root
    return None


def detect_layout(root: Path) -> str | None:
    found = _top(root) if root.is_dir() else None
    return found[0] if found else None


def _choice(value: str, choices: tuple[str, ...], option: str) -> str:
    match = next((c for c in choices if c.lower() == str(value).lower()), None)
    if match is None:
        raise PrepareOptionError(f"{option} {value!r}: expected one of {', '.join(choices)}")
    return match


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    sensor = _choice(opts.sensor, SENSORS, "--sensor")
    light = _choice(opts.light, LIGHTS, "--light")
    _, top = _top(root)
    rec = _child(_child(top, sensor) or top / sensor, light)
    if rec is None:
        raise DatasetLayoutError(
            f"{top / sensor / light}: recording missing in this copy; pick another with --sensor / --light"
        )
    sources, labels, subjects, bad = [], [], [], []
    n_seq = 0
    for person in sorted((e for e in os.scandir(rec) if e.is_dir()), key=lambda e: e.name):
        for expr in sorted((e for e in os.scandir(person.path) if e.is_dir()), key=lambda e: e.name):
            rel = f"{top.name}/{sensor}/{light}/{person.name}/{expr.name}"
            if expr.name.lower() not in LABELS:
                bad.append((rel, f"expression folder not one of {', '.join(n.capitalize() for n in LABELS)}"))
                continue
            frames = sorted(
                (f for f in os.listdir(expr.path) if os.path.splitext(f)[1].lower() in IMAGE_EXTS),
                key=_frame_key,
            )
            if len(frames) < 4:
                bad.append((rel, f"sequence has {len(frames)} frames (need at least 4)"))
                continue
            n_seq += 1
            picks = [(f, LABELS[expr.name.lower()]) for f in frames[-3:]]
            if opts.neutral_frame:
                picks.insert(0, (frames[0], "neutral"))
            for f, label in picks:
                sources.append(Source(name=f"{rel}/{f}", path=os.path.join(expr.path, f)))
                labels.append(label)
                subjects.append(person.name.upper())
    if not sources:
        raise DatasetLayoutError(f"{rec}: no usable sequences; expected " + " or ".join(LAYOUTS))
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=(["neutral"] if opts.neutral_frame else []) + CLASSES,
        subjects=np.array(subjects),
        bad=bad,
        card={
            "label_map": {k.capitalize(): v for k, v in LABELS.items()}
            | ({"first frame": "neutral"} if opts.neutral_frame else {}),
            "reported_metric": "accuracy",
            "provenance": {
                "dataset": f"Oulu-CASIA NIR&VIS ({top.name})",
                "recording": f"{sensor} {light}",
                "sequences": n_seq,
                "frames": "last 3 of each sequence" + (" + first frame as neutral" if opts.neutral_frame else ""),
            },
        },
    )


def _frame_key(name: str) -> tuple[int, str]:
    stem = os.path.splitext(name)[0]
    return (int(stem), name) if stem.isdigit() else (sys.maxsize, name)
