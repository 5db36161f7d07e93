"""``ferbench live``: a camera or a video file, every face boxed and labelled, with the frame rate and
optional temporal smoothing; on screen, into an annotated video, or both.

Smoothing (``--smooth N``) averages each face's class probabilities over its last ``N`` frames. A
face is followed from frame to frame by the overlap of its boxes (the best intersection over union
above 0.3 continues a track), which is enough for the few, slowly moving faces of a webcam.
"""

from __future__ import annotations

import os
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ferbench.data.images import BadImage
from ferbench.predict.draw import draw_faces
from ferbench.predict.model import PredictError, open_classifier
from ferbench.predict.predict import FaceResult, FramePredictor, video_frames, video_writer

WINDOW = "ferbench live (q or Esc quits)"
_MIN_IOU = 0.3


class NoDisplayError(PredictError):
    """A window was asked for where none can be opened."""


def display_problem() -> str | None:
    """Why no window can be opened here (no display server, or an OpenCV built without a GUI), else None."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY is not set)"
    info = cv2.getBuildInformation()
    gui = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.strip().startswith("GUI:")), "")
    if gui in ("", "NONE"):
        return "this OpenCV has no GUI support (opencv-python-headless)"
    return None


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    w = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    h = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = w * h
    union = aw * ah + bw * bh - inter
    return inter / union if union > 0 else 0.0


class Smoother:
    """Per-face moving average of class probabilities over the last ``n`` frames (``n <= 1``: none)."""

    def __init__(self, n: int) -> None:
        self.n = max(1, int(n))
        self.tracks: list[tuple[tuple[float, ...], deque]] = []

    def __call__(self, faces: list[FaceResult]) -> list[FaceResult]:
        if self.n == 1:
            return faces
        new_tracks, used = [], set()
        out = []
        for f in faces:
            best, best_iou = None, _MIN_IOU
            for k, (box, _) in enumerate(self.tracks):
                o = iou(box, f.box)
                if k not in used and o > best_iou:
                    best, best_iou = k, o
            hist = deque(maxlen=self.n) if best is None else self.tracks[best][1]
            if best is not None:
                used.add(best)
            hist.append(f.probs)
            new_tracks.append((f.box, hist))
            out.append(FaceResult(f.box, f.score, np.mean(hist, axis=0), f.va))
        self.tracks = new_tracks
        return out


@dataclass
class LiveResult:
    frames: int = 0
    faces: int = 0
    frames_with_face: int = 0
    seconds: float = 0.0
    annotated: Path | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def live(
    run_dir: str | Path,
    *,
    camera: int | None = None,
    video: str | Path | None = None,
    window: bool = True,
    annotate: str | Path | None = None,
    smooth: int = 1,
    detect: str = "yunet",
    detector_model: str | Path | None = None,
    backend: str = "torch",
    device: str = "cpu",
    data_dir: str | Path | None = None,
    max_frames: int | None = None,
) -> LiveResult:
    """Run the run's model on every frame of ``camera`` or ``video`` until it ends (or q/Esc in the window)."""
    if (camera is None) == (video is None):
        raise PredictError("pass exactly one of --camera N or --video FILE")
    if window and (why := display_problem()):
        raise NoDisplayError(f"cannot open a window: {why}; use --no-window --annotate out.mp4 to run headless")
    if not window and annotate is None:
        raise PredictError("--no-window without --annotate FILE would show and keep nothing: add --annotate out.mp4")
    if smooth < 1:
        raise PredictError(f"--smooth {smooth}: expected 1 or more frames (1 = no smoothing)")
    if video is not None and not Path(video).is_file():
        raise PredictError(f"--video {video}: file not found")
    clf = open_classifier(run_dir, backend=backend, device=device, data_dir=data_dir)
    fp = FramePredictor(clf, detect, detector_model)
    smoother = Smoother(smooth)
    res = LiveResult(warnings=list(clf.warnings))
    frames = _camera_frames(camera) if camera is not None else video_frames(video)
    writer = None
    recent: deque = deque(maxlen=30)  # frame end times: the FPS shown is over the last 30 frames
    start = time.perf_counter()
    try:
        for _, frame, fps in frames:
            faces = smoother(fp(frame))
            res.frames += 1
            res.faces += len(faces)
            res.frames_with_face += bool(faces)
            recent.append(time.perf_counter())
            rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
            drawn = draw_faces(frame, [(f.box, f.label(clf.classes)) for f in faces], header=f"{rate:.1f} FPS")
            if annotate is not None:
                if writer is None:
                    res.annotated = Path(annotate)
                    writer = video_writer(res.annotated, fps, (frame.shape[1], frame.shape[0]))
                writer.write(drawn)
            if window:
                cv2.imshow(WINDOW, drawn)
                if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
                    break
            if max_frames is not None and res.frames >= max_frames:
                break
    except BadImage as err:
        raise PredictError(f"--video {video}: {err}") from None
    finally:
        res.seconds = time.perf_counter() - start
        if writer is not None:
            writer.release()
        if window:
            cv2.destroyAllWindows()
    return res


def _camera_frames(index: int):
    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise PredictError(f"--camera {index}: no camera at this index (try 0, 1, ... or --video FILE)")
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    try:
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield i, frame, fps
            i += 1
    finally:
        cap.release()
