"""The embedded synthetic dataset: procedurally drawn grayscale faces, deterministic from a seed.

No download, no licence: it lets every stage of ferbench run (and be tested) anywhere, and it is
built so that each stage measures something real:

* **Expressions differ by facial geometry**, as on a real face: mouth curvature and opening, brow
  angle and height, eye opening, nose-wrinkle lines. Each image shows its class at a random
  intensity (a weak smile is close to neutral), so the task is learnable but not trivial.
* **Subjects** have their own identity (face shape, eye spacing, feature sizes, skin tone, skin
  texture) and their own idiosyncratic "resting" expression offset, so a model that memorises
  people does worse on unseen subjects — subject-independent splits matter here as on CK+.
* **Age group** (child/adult) shifts the geometry (rounder face, larger eyes, smaller and less
  pronounced expressions), so the subgroup probe has a real difference to find.
* **Valence/arousal** follow the circumplex position of each class scaled by intensity, plus noise.
* Faces are drawn at 4× resolution and area-downsampled; brows and eyelids are a few pixels thick at
  48 px, so downscale-then-upscale below ~16 px erases the cues and accuracy falls.

Source layout: none — generated (``GENERATED``: the prepare pipeline takes no ``--root``). It goes
through the same pipeline as the downloads (:mod:`ferbench.data.prepare`: up-to-date check, dedupe
report, subject leakage check, atomic write). Store name ``synthetic``; 7 classes (no contempt),
subjects, an official subject split of 70/15/15 (``--split subject:a/b/c`` for another) and 5
subject-grouped folds.
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from ferbench.data.classes import EMOTIONS
from ferbench.data.images import Source
from ferbench.data.prepare import Collected, PrepareOptionError, PrepareOptions, run
from ferbench.data.splits import subject_split
from ferbench.data.store import Store

NAME = "synthetic"
GENERATED = True
LAYOUTS = ("generated (no download)",)
CLASSES = [c for c in EMOTIONS if c != "contempt"]
DEFAULT_SIZE = 48
DEFAULT_FOLDS = 5
OPTIONS = ("subjects", "per_class")
PROTOCOL = "subject split 70/15/15 + 5 subject-grouped folds"
# the faces are drawn gray and centred: cropping, colour and label options have nothing to act on
UNSUPPORTED = ("channels", "detect", "detector_model", "margin", "align", "on_miss", "dedupe", "class_map",
               "val_fraction")
SPLIT = (0.70, 0.15, 0.15)  # the official split: train/val/test by subject

# Per class: (mouth curvature, mouth opening, brow inner-end lift, brow height, eye opening, wrinkle)
# as deviations from neutral; an image scales them by its intensity.
_PROTOTYPES = {
    "neutral":   (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
    "happiness": (1.0, 0.25, 0.0, 0.1, -0.25, 0.0),
    "sadness":   (-0.8, 0.0, 0.9, -0.1, -0.3, 0.0),
    "surprise":  (0.0, 1.0, 0.3, 1.0, 0.6, 0.0),
    "fear":      (-0.35, 0.55, 1.0, 0.6, 0.5, 0.0),
    "disgust":   (-0.6, 0.15, -0.5, -0.3, -0.45, 1.0),
    "anger":     (-0.3, 0.0, -1.0, -0.5, -0.05, 0.3),
}
# Circumplex (valence, arousal) of each class at full intensity.
_AFFECT = {
    "neutral": (0.0, 0.0), "happiness": (0.8, 0.45), "sadness": (-0.7, -0.4), "surprise": (0.25, 0.8),
    "fear": (-0.6, 0.75), "disgust": (-0.65, 0.3), "anger": (-0.7, 0.7),
}
_SCALE = 4  # drawing supersampling factor


def _subject(rng: np.random.Generator, child: bool) -> dict:
    s = {
        "child": child,
        "face_w": rng.uniform(0.30, 0.37) * (1.04 if child else 1.0),
        "face_h": rng.uniform(0.40, 0.47) * (0.94 if child else 1.0),
        "eye_dx": rng.uniform(0.13, 0.18),
        "eye_y": rng.uniform(-0.10, -0.04) + (0.03 if child else 0.0),
        "eye_r": rng.uniform(0.035, 0.05) * (1.25 if child else 1.0),
        "brow_len": rng.uniform(0.08, 0.12),
        "brow_gap": rng.uniform(0.06, 0.09),
        "mouth_y": rng.uniform(0.17, 0.24) - (0.02 if child else 0.0),
        "mouth_w": rng.uniform(0.12, 0.18) * (0.85 if child else 1.0),
        "skin": rng.uniform(110, 200),
        "bg": rng.uniform(20, 90),
        "texture": rng.uniform(4, 14),
        # a person's resting face leans towards some expression
        "bias": rng.normal(0, 0.14, size=6),
        # children show smaller, less differentiated expressions
        "gain": rng.uniform(0.55, 0.8) if child else rng.uniform(0.85, 1.1),
    }
    return s


def _draw(subj: dict, params: np.ndarray, rng: np.random.Generator, size: int) -> np.ndarray:
    big = size * _SCALE
    u = big  # unit length: coordinates below are in face-relative units of the canvas side
    img = np.full((big, big), subj["bg"], np.float32)
    cx = big / 2 + rng.normal(0, 0.03) * u
    cy = big / 2 + rng.normal(0, 0.03) * u
    curv, mouth_open, brow_lift, brow_h, eye_open, wrinkle = params
    aa = cv2.LINE_AA
    cv2.ellipse(img, (int(cx), int(cy)), (int(subj["face_w"] * u), int(subj["face_h"] * u)), 0, 0, 360,
                float(subj["skin"]), -1, aa)
    dark = float(max(subj["skin"] - 95, 5))
    thick = max(1, int(0.022 * u))
    for side in (-1, 1):
        ex = cx + side * subj["eye_dx"] * u
        ey = cy + subj["eye_y"] * u
        er = subj["eye_r"] * u
        open_h = max(0.12, 0.55 + 0.45 * eye_open) * er
        cv2.ellipse(img, (int(ex), int(ey)), (int(er * 1.3), int(open_h)), 0, 0, 360, 235.0, -1, aa)
        cv2.circle(img, (int(ex), int(ey)), int(max(1, min(er * 0.55, open_h))), dark * 0.5, -1, aa)
        # brow: inner end (towards the nose) lifted by brow_lift, whole brow raised by brow_h
        by = ey - (0.07 + 0.035 * brow_h) * u
        inner = (ex - side * subj["brow_gap"] * u * 0.5, by - 0.045 * brow_lift * u)
        outer = (ex + side * subj["brow_len"] * u, by + 0.01 * brow_lift * u)
        cv2.line(img, (int(inner[0]), int(inner[1])), (int(outer[0]), int(outer[1])), dark, thick * 2, aa)
    # nose
    ny = cy + 0.06 * u
    cv2.line(img, (int(cx), int(cy - 0.02 * u)), (int(cx - 0.02 * u), int(ny)), dark + 30, thick, aa)
    if wrinkle > 0.25:
        for side in (-1, 1):
            x0 = cx + side * 0.035 * u
            cv2.line(img, (int(x0), int(ny - 0.05 * u)), (int(x0 + side * 0.03 * u), int(ny - 0.01 * u)),
                     dark + 20, thick, aa)
    # mouth: a parabola whose ends rise with curvature, opened into a filled shape
    my = cy + subj["mouth_y"] * u
    mw = subj["mouth_w"] * u * (1.0 + 0.15 * abs(curv))
    xs = np.linspace(-1, 1, 25)
    upper = my - curv * 0.05 * u * (xs**2 - 0.3)
    gap = max(0.0, mouth_open) * 0.07 * u * (1 - xs**2)
    top = np.stack([cx + xs * mw, upper - gap * 0.3], 1)
    bottom = np.stack([cx + xs * mw, upper + gap], 1)
    if mouth_open > 0.15:
        poly = np.concatenate([top, bottom[::-1]]).astype(np.int32)
        cv2.fillPoly(img, [poly], dark * 0.4, aa)
    cv2.polylines(img, [top.astype(np.int32)], False, dark * 0.6, thick * 2, aa)
    # skin texture, uneven light, pose, sensor noise
    img += rng.normal(0, subj["texture"], img.shape).astype(np.float32)
    ramp = np.linspace(-1, 1, big, dtype=np.float32)
    img += rng.normal(0, 12) * ramp[None, :] + rng.normal(0, 8) * ramp[:, None]
    rot = cv2.getRotationMatrix2D((big / 2, big / 2), rng.normal(0, 7), rng.uniform(0.93, 1.07))
    img = cv2.warpAffine(img, rot, (big, big), borderMode=cv2.BORDER_REFLECT)
    small = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    small += rng.normal(0, 3, small.shape).astype(np.float32)
    return np.clip(small, 0, 255).astype(np.uint8)


def generate(
    n_subjects: int = 60,
    per_class: int = 8,
    size: int = 48,
    seed: int = 0,
    child_fraction: float = 0.3,
):
    """Draw the dataset in memory: ``(images, labels, subjects, valence, arousal, groups)``.

    ``per_class`` images of each of the 7 classes per subject; the same arguments always give the
    same pixels.
    """
    if size < 16:
        raise ValueError(f"synthetic size must be at least 16 px, got {size}")
    rng = np.random.default_rng(seed)
    n_child = int(round(n_subjects * child_fraction))
    is_child = np.zeros(n_subjects, bool)
    is_child[rng.permutation(n_subjects)[:n_child]] = True
    protos = np.array([_PROTOTYPES[c] for c in CLASSES], np.float32)
    affect = np.array([_AFFECT[c] for c in CLASSES], np.float32)
    n = n_subjects * len(CLASSES) * per_class
    images = np.empty((n, size, size), np.uint8)
    labels = np.empty(n, np.int64)
    subjects = np.empty(n, object)
    valence = np.empty(n, np.float32)
    arousal = np.empty(n, np.float32)
    groups = np.empty(n, object)
    i = 0
    for s in range(n_subjects):
        srng = np.random.default_rng([seed, s])
        subj = _subject(srng, bool(is_child[s]))
        for k in range(len(CLASSES)):
            for _ in range(per_class):
                intensity = srng.uniform(0.3, 1.0) * subj["gain"]
                params = protos[k] * intensity + subj["bias"] + srng.normal(0, 0.12, 6)
                images[i] = _draw(subj, params, srng, size)
                labels[i] = k
                subjects[i] = f"S{s:03d}"
                va = affect[k] * intensity + srng.normal(0, 0.08, 2)
                valence[i], arousal[i] = np.clip(va, -1, 1)
                groups[i] = "child" if subj["child"] else "adult"
                i += 1
    return images, labels, subjects.astype(str), valence, arousal, groups.astype(str)


def collect(root: None, layout: str, opts: PrepareOptions) -> Collected:
    """Draw the dataset for the prepare pipeline (``opts.subjects`` × 7 classes × ``opts.per_class``)."""
    if opts.subjects < 3 or opts.per_class < 1:
        raise PrepareOptionError(
            f"--subjects {opts.subjects} --per-class {opts.per_class}: synthetic needs at least 3 subjects "
            "(one each for train/val/test) and 1 image per class"
        )
    if opts.size < 16:
        raise PrepareOptionError(f"--size {opts.size}: synthetic faces need at least 16 px")
    images, labels, subjects, valence, arousal, groups = generate(opts.subjects, opts.per_class, opts.size,
                                                                  opts.seed)
    return Collected(
        layout="generated",
        sources=[Source(name=f"synthetic://{subject}/{i:05d}", pixels=images[i]) for i, subject in enumerate(subjects)],
        labels=[CLASSES[k] for k in labels],
        classes=CLASSES,
        split=subject_split(subjects, SPLIT, seed=opts.seed),
        subjects=subjects,
        valence=valence,
        arousal=arousal,
        groups=groups,
        card={
            "provenance": {
                "source": "generated by ferbench.data.synthetic",
                "params": {"n_subjects": opts.subjects, "per_class": opts.per_class, "size": opts.size,
                           "seed": opts.seed},
            },
            "has": {"subjects": True, "valence_arousal": True, "groups": ["adult", "child"]},
        },
    )


def legacy_options(card: dict) -> dict | None:
    """The prepare options of a store drawn before synthetic went through the prepare pipeline (its card
    kept them under ``provenance.params``), so such a store is still checked against a request."""
    p = card.get("provenance", {}).get("params")
    if not p:
        return None
    split = tuple(p.get("split", SPLIT))
    return {"subjects": p["n_subjects"], "per_class": p["per_class"], "size": p["size"], "seed": p["seed"],
            "folds": p["folds"], "split": _split_text(split)}


def _split_text(split: tuple[float, ...]) -> str:
    return "official" if tuple(split) == SPLIT else "subject:" + "/".join(f"{100 * r:g}" for r in split)


def prepare(
    out: str | Path,
    n_subjects: int = 60,
    per_class: int = 8,
    size: int = 48,
    seed: int = 0,
    folds: int = 5,
    split: tuple[float, float, float] = SPLIT,
    force: bool = False,
) -> Store:
    """Generate the synthetic dataset into the prepared store ``out`` (a no-op when it is up to date)."""
    return run(sys.modules[__name__], None, out, subjects=n_subjects, per_class=per_class, size=size, seed=seed,
               folds=folds, split=_split_text(split), force=force).store
