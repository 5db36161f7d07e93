"""CK+ (Lucey et al., CVPR-W 2010): posed expression sequences, 123 subjects, 7 classes + optional neutral.

Source layouts (``--root`` is the folder holding them):

* ``ck48`` — the common "CK+48" face crops (Kaggle / GitHub copies); ``--root`` is the ``CK+48``
  folder or the one holding it::

      anger/ contempt/ disgust/ fear/ happy/ sadness/ surprise/   S###_###_########.png, 48×48 gray

  981 files = the last 3 frames of each of the 327 labelled sequences; subject = ``S###``.
* ``original`` — the CMU release::

      cohn-kanade-images/S###/###/S###_###_########.png     every frame of every sequence (640×490)
      Emotion/S###/###/S###_###_########_emotion.txt         one code for labelled sequences

  Emotion codes: 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise. The last
  3 frames of each labelled sequence are its expression; ``--neutral-frame`` (alias ``--ck-neutral``) adds each labelled
  sequence's first frame as neutral. The frames are full video frames: use ``--detect`` to crop
  the face (``none`` centre-crops the 640×490 frame to a square).

Splits: subject-grouped k folds (default 10); ``split`` is fold 0 of that protocol unless
``--split subject:a/b/c``. No official split exists.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import numpy as np

from ferbench.data.images import IMAGE_EXTS, Source, list_class_folders
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptions, run
from ferbench.data.store import Store

NAME = "ckplus"
LAYOUTS = (
    "ck48: <anger,contempt,disgust,fear,happy,sadness,surprise>/S###_###_########.png",
    "original: cohn-kanade-images/S###/###/*.png + Emotion/S###/###/*_emotion.txt",
)
CLASSES = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt"]
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 10
PROTOCOL = "10 subject-independent folds (last 3 frames per sequence; --neutral-frame adds the first)"
OPTIONS = ("neutral_frame",)
CK_CODES = {1: "anger", 2: "contempt", 3: "disgust", 4: "fear", 5: "happiness", 6: "sadness", 7: "surprise"}
CK48_FOLDERS = {"anger", "contempt", "disgust", "fear", "happy", "sadness", "surprise"}
SUBJECT = re.compile(r"^(S\d{3})_(\d{3})_\d+")


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare CK+ from ``root`` (either layout) into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _find(root: Path, name: str) -> Path | None:
    """``root/name`` or one level below (the release unpacks as extended-cohn-kanade-images/...)."""
    if (root / name).is_dir():
        return root / name
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        if (d / name).is_dir():
            return d / name
    return None


def _ck48_dir(root: Path) -> Path | None:
    """``root`` or ``root/CK+48`` when it holds (most of) the 7 class folders."""
    for base in (root, root / "CK+48"):
        if not base.is_dir():
            continue
        folders = [p for p in base.iterdir() if p.is_dir() and p.name.lower() in CK48_FOLDERS]
        # FER2013's Kaggle folders share 4 class names with CK+48: the S###_ file names tell them apart
        if len(folders) >= 4 and any(SUBJECT.match(f) for d in folders for f in sorted(os.listdir(d))[:5]):
            return base
    return None


def detect_layout(root: Path) -> str | None:
    if not root.is_dir():
        return None
    if _ck48_dir(root):
        return "ck48"
    if _find(root, "cohn-kanade-images"):
        return "original"
    return None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    return _collect_ck48(root, opts) if layout == "ck48" else _collect_original(root, opts)


def _collect_ck48(root: Path, opts: PrepareOptions) -> Collected:
    root = _ck48_dir(root)
    sources, labels, subjects, bad = [], [], [], []
    for label, folder, files, others in list_class_folders(root, None, opts.class_map):
        bad += [(f"{folder}/{f}", "not an image file (extension)") for f in others]
        for f in files:
            m = SUBJECT.match(f)
            if not m:
                bad.append((f"{folder}/{f}", "file name is not S###_###_########.png (no subject id)"))
                continue
            sources.append(Source(name=f"{folder}/{f}", path=os.path.join(root, folder, f)))
            labels.append(label)
            subjects.append(m.group(1))
    classes = [c for c in CLASSES if c != "neutral" or "neutral" in labels]
    return Collected(
        layout="ck48",
        sources=sources,
        labels=labels,
        classes=classes,
        subjects=np.array(subjects),
        bad=bad,
        card={"provenance": {"dataset": "CK+48 (last 3 frames of each labelled sequence, 48x48)"}},
    )


def _collect_original(root: Path, opts: PrepareOptions) -> Collected:
    images_dir = _find(root, "cohn-kanade-images")
    emotion_dir = _find(root, "Emotion") or _find(root, "Emotion_labels")
    if emotion_dir and (emotion_dir / "Emotion").is_dir():
        emotion_dir = emotion_dir / "Emotion"
    if emotion_dir is None:
        raise DatasetLayoutError(
            f"{root}: label folder Emotion/ missing; expected Emotion/S###/###/*_emotion.txt "
            f"beside {images_dir.name}/ (from the CK+ release's Emotion_labels archive)"
        )
    sources, labels, subjects, bad = [], [], [], []
    n_seq = 0
    for txt in sorted(emotion_dir.glob("S*/*/*_emotion.txt")):
        subject, seq = txt.parent.parent.name, txt.parent.name
        rel = f"Emotion/{subject}/{seq}/{txt.name}"
        try:
            code = int(float(txt.read_text().split()[0]))
        except (ValueError, IndexError, OSError):
            bad.append((rel, "emotion file does not hold a number"))
            continue
        if code not in CK_CODES:
            bad.append((rel, f"emotion code {code} not in 1..7"))
            continue
        frames_dir = images_dir / subject / seq
        frames = (
            sorted(f for f in os.listdir(frames_dir) if os.path.splitext(f)[1].lower() in IMAGE_EXTS)
            if frames_dir.is_dir()
            else []
        )
        if len(frames) < 4:
            bad.append((rel, f"sequence {frames_dir} has {len(frames)} frames (need at least 4)"))
            continue
        n_seq += 1
        picks = [(f, CK_CODES[code]) for f in frames[-3:]]
        if opts.neutral_frame:
            picks.insert(0, (frames[0], "neutral"))
        for f, label in picks:
            sources.append(Source(name=f"cohn-kanade-images/{subject}/{seq}/{f}", path=frames_dir / f))
            labels.append(label)
            subjects.append(subject)
    classes = [c for c in CLASSES if c != "neutral" or opts.neutral_frame]
    return Collected(
        layout="original",
        sources=sources,
        labels=labels,
        classes=classes,
        subjects=np.array(subjects),
        bad=bad,
        card={
            "provenance": {
                "dataset": "CK+ original release",
                "labelled_sequences": n_seq,
                "frames": "last 3 of each labelled sequence"
                + (" + first frame as neutral" if opts.neutral_frame else ""),
            }
        },
    )
