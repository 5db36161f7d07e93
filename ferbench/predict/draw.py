"""Boxes and labels drawn on a frame (``predict --annotate`` and ``live``), with OpenCV."""

from __future__ import annotations

import cv2
import numpy as np

_GREEN, _BLACK, _WHITE = (60, 200, 60), (0, 0, 0), (255, 255, 255)


def as_bgr(img: np.ndarray) -> np.ndarray:
    """A copy of a decoded image as 3-channel BGR, for drawing in colour."""
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    return img.copy()


def _text(img: np.ndarray, text: str, x: int, y: int, scale: float) -> None:
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    y = max(y, h + base)
    cv2.rectangle(img, (x, y - h - base), (x + w, y + base // 2), _BLACK, -1)
    cv2.putText(img, text, (x, y - base // 2), cv2.FONT_HERSHEY_SIMPLEX, scale, _WHITE, 1, cv2.LINE_AA)


def draw_faces(img: np.ndarray, faces: list[tuple[tuple[float, float, float, float], str]],
               header: str | None = None) -> np.ndarray:
    """``img`` (BGR, drawn on in place) with each ``(box xywh, label)`` as a rectangle and a caption above
    it, and ``header`` (e.g. the FPS) in the top-left corner."""
    scale = max(0.4, min(img.shape[:2]) / 700)
    thick = max(1, round(min(img.shape[:2]) / 300))
    for (x, y, w, h), label in faces:
        p0, p1 = (int(round(x)), int(round(y))), (int(round(x + w)), int(round(y + h)))
        cv2.rectangle(img, p0, p1, _GREEN, thick)
        _text(img, label, max(0, p0[0]), max(0, p0[1] - 2), scale)
    if header:
        _text(img, header, 2, 2, scale)
    return img
