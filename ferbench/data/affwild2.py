"""Aff-Wild2, ABAW expression track (Kollias & Zafeiriou): per-frame expression labels on YouTube videos.

Source layout (``--root`` is the folder holding both)::

    cropped_aligned/<video>/00001.jpg, 00002.jpg ...          112×112 RGB aligned faces, one per frame
    Annotations/EXPR_Classification_Challenge/Train_Set/<video>.txt
    Annotations/EXPR_Classification_Challenge/Validation_Set/<video>.txt

Each annotation file has a header line naming the classes (``Neutral,Anger,Disgust,Fear,Happiness,
Sadness,Surprise,Other``), then one label per frame: line ``i`` is frame ``i`` (``{i:05d}.jpg``);
``-1`` marks a frame not to use. The header, not a fixed order, maps indices to classes, so the
7-class files of ABAW2 read the same way. Videos with two people carry ``_left``/``_right`` in both
folder and file names. Sources disagree on the folder names, so all are accepted: the annotation
folder may be ``EXPR_Classification_Challenge`` (ABAW3–5 loaders) or ``EXPR_Recognition_Challenge``
(ABAW6+ loaders, under ``6th ABAW Annotations/``), under any parent folder name, up to two levels
below ``--root``; ``EXPR_Set`` with ``Training_Set`` (ABAW2, as remembered, not confirmed against a
loader here) is read too. ABAW6 shipped 50 new videos' frames in ``cropped_aligned_new_50_vids/``
beside ``cropped_aligned/``: a video's frames are looked up in both (also under ``Faces/``).

Frames the organisers' face detector missed have no image in ``cropped_aligned``; they, the ``-1``
frames and the ``Other`` frames are counted in the card, never silently lost. ``Other`` is not in
ferbench's canonical vocabulary, so its frames are dropped: the store has 7 classes, and its
macro-F1 is the 7-class figure of ABAW2, not the 8-class one ABAW3+ report. ``--every N`` keeps
frames 1, 1+N, 1+2N, ... of every video (in every split); ABAW scores every validation frame, so with
N > 1 the test figure is on a 1/N sample (the card says so).

Protocol: ``Validation_Set`` is the reported split (``test``; the challenge's test labels are
withheld); validation is carved from ``Train_Set`` grouped by video (``--val-fraction``, seeded).
``subject`` = the annotation file name (the video, with its ``_left``/``_right``): Aff-Wild2 has no
identity labels across videos. The reported metric is macro-F1 (``reported_metric`` in the card).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from ferbench.data.images import Source
from ferbench.data.prepare import Collected, DatasetLayoutError, PrepareOptionError, PrepareOptions, run
from ferbench.data.store import Store

NAME = "affwild2"
LAYOUTS = (
    "abaw: cropped_aligned/<video>/*.jpg + Annotations/EXPR_Classification_Challenge/"
    "{Train_Set,Validation_Set}/<video>.txt",
)
# the annotation header's class names -> canonical classes (ferbench.data.classes); None: dropped
LABELS = {
    "neutral": "neutral",
    "anger": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happiness": "happiness",
    "sadness": "sadness",
    "surprise": "surprise",
    "other": None,
}
HEADER = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise", "Other")
CLASSES = ["neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger"]
DEFAULT_SIZE = 112  # the cropped_aligned faces' own size
DEFAULT_FOLDS = 0
OPTIONS = ("every",)
PROTOCOL = "official Train_Set / Validation_Set (reported, as test; macro-F1); val carved from train by video"
TRACKS = ("EXPR_Classification_Challenge", "EXPR_Recognition_Challenge", "EXPR_Set")
PARTS = {"train_set": "train", "training_set": "train", "validation_set": "test"}
SKIP = {"cropped_aligned", "cropped_aligned_new_50_vids", "cropped", "videos", "batch1", "batch2", "batch3"}
FRAME_DIRS = ("cropped_aligned", "cropped_aligned_new_50_vids")


def prepare(root: str | Path, out: str | Path, **opts) -> Store:
    """Prepare Aff-Wild2 (expression track) from ``root`` into the store ``out``."""
    return run(sys.modules[__name__], root, out, **opts).store


def _dirs(folder: Path) -> list[Path]:
    return sorted(Path(e.path) for e in os.scandir(folder) if e.is_dir() and not e.name.startswith("."))


def _track(root: Path) -> Path | None:
    """The expression-track annotation folder, up to two levels below ``root``."""
    level = [root]
    for _ in range(3):
        for d in level:
            if d.name in TRACKS and any(p.name.lower() in PARTS for p in _dirs(d)):
                return d
        level = [c for d in level for c in _dirs(d) if c.name.lower() not in SKIP]
    return None


def _frames_dirs(root: Path) -> list[Path]:
    """The folders holding ``<video>/`` frame folders (a zip may unpack one as ``x/x/``)."""
    out = []
    for parent in (root, root / "Faces"):
        for name in FRAME_DIRS:
            base = parent / name
            if (base / name).is_dir():
                base = base / name
            if base.is_dir():
                out.append(base)
    return out


def detect_layout(root: Path) -> str | None:
    return "abaw" if root.is_dir() and _frames_dirs(root) and _track(root) else None


def collect(root: Path, layout: str, opts: PrepareOptions) -> Collected:
    if opts.every < 1:
        raise PrepareOptionError(f"--every {opts.every}: expected 1 (every frame) or more")
    track, frame_dirs = _track(root), _frames_dirs(root)
    sources, labels, subjects, split, bad = [], [], [], [], []
    counts = {"labelled_lines": 0, "skipped_by_every": 0, "ignored_minus_1": 0, "other_dropped": 0,
              "no_cropped_frame": 0}
    no_video: list[str] = []
    for part_dir in _dirs(track):
        part = PARTS.get(part_dir.name.lower())
        if part is None:
            continue
        for txt in sorted(part_dir.glob("*.txt")):
            video = txt.stem
            rel = f"{track.name}/{part_dir.name}/{txt.name}"
            lines = txt.read_text(errors="replace").splitlines()
            names = _header(lines[0] if lines else "")
            if names is None:
                bad.append((rel, "first line is not the class header (Neutral,Anger,...)"))
                continue
            vdir = next((d / video for d in frame_dirs if (d / video).is_dir()), frame_dirs[0] / video)
            present = _frame_files(vdir)
            if not present:
                no_video.append(video)
            for i, line in enumerate(lines[1:], start=1):
                value = line.strip()
                if not value:
                    continue
                counts["labelled_lines"] += 1
                if (i - 1) % opts.every:
                    counts["skipped_by_every"] += 1
                    continue
                try:
                    code = int(float(value))
                except ValueError:
                    bad.append((f"{rel}:line{i + 1}", f"label {value!r} is not a number"))
                    continue
                if code == -1:
                    counts["ignored_minus_1"] += 1
                    continue
                if not 0 <= code < len(names):
                    bad.append((f"{rel}:line{i + 1}", f"label {code} outside 0..{len(names) - 1}"))
                    continue
                label = names[code]
                if label is None:
                    counts["other_dropped"] += 1
                    continue
                if i not in present:
                    counts["no_cropped_frame"] += 1
                    continue
                sources.append(Source(name=f"{video}/{present[i]}", path=vdir / present[i]))
                labels.append(label)
                subjects.append(video)
                split.append(part)
    if not sources:
        raise DatasetLayoutError(
            f"{track}: no usable frames ({counts}); expected " + " or ".join(LAYOUTS)
        )
    if "train" not in split or "test" not in split:
        raise DatasetLayoutError(f"{track}: need both Train_Set and Validation_Set annotation folders")
    frames = dict(counts, videos_without_frames=len(no_video), videos_without_frames_list=no_video[:100])
    card = {
        "label_map": {h: LABELS[h.lower()] for h in HEADER},
        "reported_metric": "macro_f1",
        "frames": frames,
        "provenance": {
            "dataset": f"Aff-Wild2 expression track ({track.name})",
            "every": opts.every,
            "test": "Validation_Set (the reported split; ABAW test labels are withheld)"
            + (f"; a 1/{opts.every} sample (--every {opts.every}), while ABAW scores every frame"
               if opts.every > 1 else ""),
            "classes": "7: Other dropped (not in the canonical vocabulary); macro-F1 is the 7-class figure",
            "subject": "video (annotation file name); no identities across videos",
        },
    }
    if opts.split == "official" and not opts.folds:
        # the pipeline's generic wording says 'stratified'; with subjects the carve is grouped instead
        card["split_protocol"] = (
            f"official split: Train_Set -> train, Validation_Set -> test; val carved from Train_Set "
            f"({opts.val_fraction:.0%} of the videos, seed {opts.seed})"
        )
    return Collected(
        layout=layout,
        sources=sources,
        labels=labels,
        classes=CLASSES,
        split=np.array(split, dtype=object),
        carve_val=True,
        subjects=np.array(subjects),
        bad=bad,
        card=card,
    )


def _header(line: str) -> list[str | None] | None:
    names = [n.strip().lower() for n in line.split(",")]
    if len(names) < 2 or any(n not in LABELS for n in names):
        return None
    return [LABELS[n] for n in names]


def _frame_files(vdir: Path) -> dict[int, str]:
    """Frame number -> file name for the images present (one directory listing, not a stat per frame)."""
    if not vdir.is_dir():
        return {}
    out = {}
    for f in os.listdir(vdir):
        stem, ext = os.path.splitext(f)
        if stem.isdigit() and ext.lower() in (".jpg", ".jpeg", ".png"):
            out[int(stem)] = f
    return out
