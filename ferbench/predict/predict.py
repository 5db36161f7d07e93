"""``ferbench predict RUN INPUT...``: faces found in images, folders and videos, classified by a run.

Each input is decoded with the prepare pipeline's decoder (:func:`ferbench.data.images.decode`:
16-bit, RGBA and grayscale files become 8-bit gray/BGR, truncated files are refused), every face is
found and cropped by :class:`ferbench.data.faces.FaceCropper` with the run's store geometry
(:mod:`ferbench.predict.model`) and scored in one batch per image or frame. The result is one row per
face — and one row without a box for an image or frame where no face was found; files that cannot
be read are counted and listed, never silently dropped.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ferbench.atomic import write_text
from ferbench.data.images import IMAGE_EXTS, BadImage, decode
from ferbench.errors import FerbenchError
from ferbench.predict.draw import as_bgr, draw_faces
from ferbench.predict.model import Classifier, PredictError, open_classifier

VIDEO_EXTS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})
FORMATS = ("table", "csv", "jsonl")


@dataclass
class FaceResult:
    """One face of one frame: its box in the frame, the detector's score and the model's outputs."""

    box: tuple[float, float, float, float]
    score: float
    probs: np.ndarray
    va: np.ndarray | None = None

    def label(self, classes: list[str]) -> str:
        k = int(self.probs.argmax())
        text = f"{classes[k]} {self.probs[k]:.0%}"
        if self.va is not None:
            text += f" v{self.va[0]:+.2f} a{self.va[1]:+.2f}"
        return text


class FramePredictor:
    """Detect, crop and classify every face of one decoded frame (gray, BGR or BGRA)."""

    def __init__(self, classifier: Classifier, detect: str = "yunet", detector_model: str | Path | None = None):
        self.classifier = classifier
        self.cropper = classifier.cropper(detect, detector_model)
        self.classes = classifier.classes

    @property
    def needs_color(self) -> bool:
        return self.cropper.needs_color

    def __call__(self, frame: np.ndarray) -> list[FaceResult]:
        found = self.cropper.faces(frame)
        if not found:
            return []
        out = self.classifier(np.stack([f for f, _, _ in found]))
        va = out["va"]
        return [FaceResult(tuple(float(v) for v in box), float(score), out["probs"][i],
                           None if va is None else va[i]) for i, (_, box, score) in enumerate(found)]


@dataclass
class PredictResult:
    """Rows (one per face, or per image/frame without a face) and what was counted on the way."""

    classes: list[str]
    has_va: bool
    rows: list[dict] = field(default_factory=list)
    images: int = 0
    videos: int = 0
    frames: int = 0  # video frames read
    faces: int = 0
    no_face: list[str] = field(default_factory=list)  # "file" or "file@frame"
    unreadable: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    skipped: list[str] = field(default_factory=list)  # files in a folder that are not images or videos
    annotated: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=columns(self.classes, self.has_va))

    def summary(self) -> str:
        """One line: what was read and found, with every count that was not a face."""
        parts = [f"{self.images} image(s)"]
        if self.videos:
            parts.append(f"{self.videos} video(s), {self.frames} frame(s)")
        parts.append(f"{self.faces} face(s)")
        parts.append(f"{len(self.no_face)} without a face")
        parts.append(f"{len(self.unreadable)} unreadable")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped (not an image or video)")
        return ", ".join(parts)


def columns(classes: list[str], has_va: bool) -> list[str]:
    cols = ["file", "frame", "face", "x", "y", "w", "h", "score", "class", "confidence", *(f"p_{c}" for c in classes)]
    return cols + (["valence", "arousal"] if has_va else [])


def expand_inputs(inputs: list[str | Path]) -> tuple[list[tuple[Path, Path]], list[str]]:
    """``[(file, the folder it was named under)]`` for files and folders (searched recursively, images and
    videos by extension, sorted), and the files in those folders that are neither. A path that does
    not exist is a user error naming it."""
    if not inputs:
        raise PredictError("no input given: pass image files, folders or video files after the run")
    files, skipped = [], []
    for p in map(Path, inputs):
        if p.is_file():
            files.append((p, p.parent))
        elif p.is_dir():
            for here, dirs, names in sorted(os.walk(p)):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(names):
                    f = Path(here) / name
                    if name.startswith("."):
                        continue
                    if f.suffix.lower() in IMAGE_EXTS or f.suffix.lower() in VIDEO_EXTS:
                        files.append((f, p))
                    else:
                        skipped.append(str(f))
        else:
            raise PredictError(f"{p} does not exist: pass image files, folders or video files")
    return files, skipped


def video_frames(path: str | Path, every: int = 1) -> Iterator[tuple[int, np.ndarray, float]]:
    """``(frame index, BGR frame, fps)`` of every ``every``-th frame; a :class:`BadImage` when OpenCV cannot
    open the file or it has no frame."""
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise BadImage("not a video OpenCV can open")
        fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
        i, any_frame = 0, False
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            any_frame = True
            if i % every == 0:
                yield i, frame, fps
            i += 1
        if not any_frame:
            raise BadImage("a video with no decodable frame")
    finally:
        cap.release()


def video_writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    """An mp4v (or, for .avi, MJPG) writer; a user error naming the path when OpenCV cannot write it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if path.suffix.lower() == ".avi" else "mp4v"))
    writer = cv2.VideoWriter(str(path), fourcc, float(fps), size)
    if not writer.isOpened():
        raise PredictError(f"{path}: OpenCV cannot write this video here; use a .mp4 or .avi name")
    return writer


def _rows(file: str, frame: int | None, faces: list[FaceResult], classes: list[str], has_va: bool) -> list[dict]:
    if not faces:
        row = dict.fromkeys(columns(classes, has_va))
        row.update(file=file, frame=frame)
        return [row]
    rows = []
    for k, f in enumerate(faces):
        top = int(f.probs.argmax())
        row = {"file": file, "frame": frame, "face": k, "x": round(f.box[0], 1), "y": round(f.box[1], 1),
               "w": round(f.box[2], 1), "h": round(f.box[3], 1), "score": round(f.score, 4), "class": classes[top],
               "confidence": round(float(f.probs[top]), 4),
               **{f"p_{c}": round(float(p), 4) for c, p in zip(classes, f.probs, strict=True)}}
        if has_va:
            row.update(valence=None if f.va is None else round(float(f.va[0]), 4),
                       arousal=None if f.va is None else round(float(f.va[1]), 4))
        rows.append(row)
    return rows


def _annotated_path(annotate: Path, file: Path, root: Path, suffix: str) -> Path:
    rel = file.relative_to(root) if file.is_relative_to(root) else Path(file.name)
    return annotate / rel.with_suffix(suffix)


def predict_files(
    run_dir: str | Path,
    inputs: list[str | Path],
    *,
    detect: str = "yunet",
    detector_model: str | Path | None = None,
    backend: str = "torch",
    device: str = "cpu",
    data_dir: str | Path | None = None,
    annotate: str | Path | None = None,
    every: int = 1,
) -> PredictResult:
    """Classify every face in ``inputs`` (image files, folders, video files) with the run at ``run_dir``."""
    if every < 1:
        raise PredictError(f"--every {every}: expected 1 or more (1 = every video frame)")
    files, skipped = expand_inputs(inputs)
    clf = open_classifier(run_dir, backend=backend, device=device, data_dir=data_dir)
    fp = FramePredictor(clf, detect, detector_model)
    res = PredictResult(clf.classes, clf.has_va, skipped=skipped, warnings=list(clf.warnings))
    ann = Path(annotate) if annotate is not None else None
    for file, root in files:
        if file.suffix.lower() in VIDEO_EXTS:
            _predict_video(fp, file, root, res, ann, every)
            continue
        try:
            img = decode(file, color=True)  # colour for drawing; the cropper converts to the store's colour
        except BadImage as err:
            res.unreadable.append((str(file), str(err)))
            continue
        res.images += 1
        faces = fp(img)
        res.faces += len(faces)
        if not faces:
            res.no_face.append(str(file))
        res.rows += _rows(str(file), None, faces, clf.classes, clf.has_va)
        if ann is not None:
            out = _annotated_path(ann, file, root, ".png")
            out.parent.mkdir(parents=True, exist_ok=True)
            drawn = draw_faces(as_bgr(img), [(f.box, f.label(clf.classes)) for f in faces],
                               header=None if faces else "no face found")
            cv2.imwrite(str(out), drawn)
            res.annotated.append(out)
    return res


def _predict_video(fp: FramePredictor, file: Path, root: Path, res: PredictResult, ann: Path | None,
                   every: int) -> None:
    writer, out = None, None
    try:
        for i, frame, fps in video_frames(file, every):
            faces = fp(frame)
            res.frames += 1
            res.faces += len(faces)
            if not faces:
                res.no_face.append(f"{file}@{i}")
            res.rows += _rows(str(file), i, faces, fp.classes, res.has_va)
            if ann is not None:
                if writer is None:
                    out = _annotated_path(ann, file, root, ".mp4")
                    writer = video_writer(out, fps / every, (frame.shape[1], frame.shape[0]))
                writer.write(draw_faces(frame, [(f.box, f.label(fp.classes)) for f in faces]))
        res.videos += 1
    except BadImage as err:
        res.unreadable.append((str(file), str(err)))
    finally:
        if writer is not None:
            writer.release()
            res.annotated.append(out)


def format_rows(res: PredictResult, fmt: str) -> str:
    """The rows as CSV, JSON lines or a plain-text table (for ``--out`` with ``--format table``)."""
    if fmt not in FORMATS:
        raise PredictError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    df = res.frame()
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "jsonl":
        return "".join(json.dumps({k: (None if pd.isna(v) else v) for k, v in r.items()}) + "\n"
                       for r in df.astype(object).to_dict("records"))
    return df.to_markdown(index=False, floatfmt=".3f") + "\n"


def write_rows(res: PredictResult, fmt: str, out: str | Path) -> Path:
    """Write the rows to ``out`` (atomically) in ``fmt``."""
    out = Path(out)
    if out.is_dir():
        raise FerbenchError(f"--out {out} is a folder: name a file, e.g. {out / ('predictions.' + fmt)}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return write_text(out, format_rows(res, fmt))
