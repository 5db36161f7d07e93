"""A finished run opened for use on new images: how to crop a face as its store was cropped, and the
model (torch checkpoint or its ONNX export) that scores the crops.

Everything about the input comes from the run directory and its store's card, never from options
typed again: the crop side and colour of the store's images and the crop margin / eye alignment the
store was prepared with (``card["prepare"]``), then the run's own input size and channels through
:func:`ferbench.inference.predict` / :func:`ferbench.inference.model_input`, so a face is resized
and normalised exactly as the run's training and test images were.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ferbench import inference
from ferbench.data.faces import FaceCropper, make_detector
from ferbench.errors import FerbenchError
from ferbench.rundir import Run, RunError, load_run

BACKENDS = ("torch", "onnx")
ONNX_FILE = "model.onnx"  # where `ferbench export --format onnx` writes inside the run directory
TORCHSCRIPT_FILE = "model.torchscript.pt"


class PredictError(FerbenchError):
    """A prediction asked of something unusable (missing export, bad option); names the path and the fix."""


CALIBRATION_IMAGES = 64  # stored faces the detector is run on to measure how the store framed its faces
_MIN_CALIBRATED = 10


@dataclass(frozen=True)
class Geometry:
    """How the run's store turned a photo into a stored face, and how the run's model reads it."""

    store_size: int  # side of the stored crops
    store_channels: int  # 1 gray, 3 RGB
    margin: float
    align: bool
    size: int  # the run's input side (train.size)
    channels: int  # the run's input channels (train.channels)
    detect: str  # the detector the store was prepared with
    source: str  # where the crop settings came from
    shift: tuple[float, float] = (0.0, 0.0)  # crop centre minus box centre, in box sides


def geometry(run: Run, data_dir: str | Path | None = None) -> tuple[Geometry, str | None]:
    """The run's :class:`Geometry` from its store's card and, when the card cannot be read, a one-line
    warning: the crop then uses ``prepare``'s default margin/alignment at the model's input size."""
    train = run.config.get("train") or {}
    model = run.config["model"]
    size, channels = int(train.get("size") or model["img_size"]), int(train.get("channels") or model["in_chans"])
    try:
        card = run.card(data_dir)
    except FerbenchError as err:
        from ferbench.data.prepare import PrepareOptions  # imports every dataset module: only when needed

        d = PrepareOptions()
        note = (f"{err}; cropping faces with prepare's defaults (margin {d.margin}, align {d.align}) at the "
                f"model's {size} px instead")
        return Geometry(size, channels, d.margin, d.align, size, channels, "unknown", "prepare's defaults"), note
    prep = card.get("prepare") or {}
    store_size = int(prep.get("size") or size)
    store_channels = int(prep.get("channels") or channels)
    detect = str(prep.get("detect") or "none")
    g = Geometry(store_size, store_channels, float(prep.get("margin", 0.2)), bool(prep.get("align", False)),
                 size, channels, detect, "the store's card")
    return g, None


def calibrate(images: np.ndarray, detector, n: int = CALIBRATION_IMAGES) -> tuple[float, tuple[float, float], int]:
    """Where ``detector`` finds the face inside ``n`` of a store's own crops: the median margin (frame side
    = box side × (1 + 2 margin)) and centre shift (in box sides) that turn its box into the store's
    framing, and how many of the crops it found a face in.

    Each crop is enlarged to at least :data:`ferbench.data.faces.UPSCALE_TO` px and padded by half its
    side (edge pixels repeated): detectors miss faces that fill the image edge to edge.
    """
    from ferbench.data.faces import UPSCALE_TO

    rows = np.unique(np.linspace(0, len(images) - 1, min(n, len(images))).astype(int))
    margins, dx, dy = [], [], []
    for i in rows:
        img = np.asarray(images[i])
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2BGR)
        scale = max(1.0, UPSCALE_TO / img.shape[0])
        big = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        side = big.shape[0]
        pad = side // 2
        big = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
        faces = detector(big)
        if not faces:
            continue
        (x, y, w, h), _, _ = max(faces, key=lambda f: f[0][2] * f[0][3])
        b = max(w, h)
        margins.append((side / b - 1) / 2)
        dx.append((pad + side / 2 - (x + w / 2)) / b)
        dy.append((pad + side / 2 - (y + h / 2)) / b)
    if not margins:
        return float("nan"), (0.0, 0.0), 0
    return float(np.median(margins)), (float(np.median(dx)), float(np.median(dy))), len(margins)


def _onnx_session(path: Path):
    try:
        import onnxruntime as ort
    except ImportError:
        raise PredictError("--backend onnx needs onnxruntime: pip install onnxruntime") from None
    opts = ort.SessionOptions()
    # one thread per process unless the user asked for more: the benchmark machines share their cores
    threads = int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@dataclass
class Classifier:
    """Scores batches of faces in store layout (uint8 ``(N, S, S)`` or ``(N, S, S, 3)``)."""

    run: Run
    geometry: Geometry
    backend: str = "torch"
    device: str = "cpu"
    data_dir: str | Path | None = None
    warnings: list[str] = field(default_factory=list)
    framing: str | None = None  # how faces are framed when it was measured (:meth:`cropper`)

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise PredictError(f"--backend {self.backend!r}: expected one of {', '.join(BACKENDS)}")
        self._calibrated: dict = {}
        self.classes: list[str] = list(self.run.config["classes"])
        self.has_va = "va" in str(self.run.config["model"].get("heads", "cls"))
        if self.backend == "torch":
            self._model = self.run.model(device=str(inference.resolve_device(self.device)))
            self._session = None
        else:
            path = self.run.path / ONNX_FILE
            if not path.is_file():
                raise PredictError(f"{path} not found: export the run first with `ferbench export {self.run.path} "
                                   "--format onnx`, or use --backend torch")
            if path.stat().st_mtime < (self.run.path / "model.safetensors").stat().st_mtime:
                raise PredictError(f"{path} is older than the run's model.safetensors: re-export it with "
                                   f"`ferbench export {self.run.path} --format onnx`")
            self._session = _onnx_session(path)
            self._model = None

    def cropper(self, detect: str, detector_model: str | Path | None = None) -> FaceCropper:
        """A face cropper framing faces as the run's store framed them.

        With the detector the store was prepared with, that is the card's margin and alignment. With
        another one (a store of ready-made crops, ``detect: none``, read with YuNet) the card cannot
        say how its box relates to the stored frame, so it is measured: :func:`calibrate` on the
        store's own images, once per detector (the store must be reachable; otherwise the card's
        margin is used and a warning kept).
        """
        g = self.geometry
        margin, shift = g.margin, (0.0, 0.0)
        if detect not in ("none", g.detect) and g.detect != "unknown":
            key = (detect, str(detector_model))
            if key not in self._calibrated:
                self._calibrated[key] = self._calibrate(detect, detector_model)
            margin, shift = self._calibrated[key]
        return FaceCropper(detect, g.store_size, g.store_channels, margin, g.align, "keep", detector_model,
                           shift=shift)

    def _calibrate(self, detect: str, detector_model) -> tuple[float, tuple[float, float]]:
        g = self.geometry
        try:
            images = self.run.store(self.data_dir).images
        except FerbenchError as err:
            self.warnings.append(f"{err}; faces found by --detect {detect} are cropped with the card's margin "
                                 f"{g.margin}, which describes its own --detect {g.detect}")
            return g.margin, (0.0, 0.0)
        margin, shift, found = calibrate(images, make_detector(detect, detector_model))
        tried = min(CALIBRATION_IMAGES, len(images))
        if found < min(_MIN_CALIBRATED, tried):
            self.warnings.append(f"--detect {detect} found a face in only {found} of {tried} of the store's own "
                                 f"images; its faces are cropped with the card's margin {g.margin}")
            return g.margin, (0.0, 0.0)
        self.framing = (f"framing measured on {found}/{tried} stored faces (store prepared with --detect {g.detect}): "
                        f"margin {margin:.3f}, centre shift ({shift[0]:+.3f}, {shift[1]:+.3f}) box sides")
        return margin, shift

    def __call__(self, faces: np.ndarray) -> dict:
        """``{"logits": (N, C), "probs": (N, C), "va": (N, 2) | None}`` for uint8 faces in store layout."""
        g = self.geometry
        if len(faces) == 0:
            c = len(self.classes)
            return {"logits": np.zeros((0, c), np.float32), "probs": np.zeros((0, c), np.float32),
                    "va": np.zeros((0, 2), np.float32) if self.has_va else None}
        if self._session is None:
            out = inference.predict(self._model, faces, size=g.size, channels=g.channels, device=self.device,
                                    batch_size=512)
        else:
            x = inference.model_input(faces, g.size, g.channels, "cpu").numpy()
            res = self._session.run(None, {"input": x})
            names = [o.name for o in self._session.get_outputs()]
            got = dict(zip(names, res, strict=True))
            out = {"logits": got["logits"], "va": got.get("va")}
        logits = np.asarray(out["logits"], np.float32)
        e = np.exp(logits - logits.max(1, keepdims=True))
        return {"logits": logits, "probs": e / e.sum(1, keepdims=True), "va": out["va"]}


def open_classifier(run_dir: str | Path, *, backend: str = "torch", device: str = "cpu",
                    data_dir: str | Path | None = None) -> Classifier:
    """The finished run at ``run_dir`` ready to score faces; a warning is kept when its card is missing."""
    path = Path(run_dir)
    if path.is_dir() and not (path / "config.json").is_file():
        from ferbench.rundir import scan

        found = scan(path)
        if len(found) == 1:  # a root holding exactly one run: the user meant that run
            path = found[0]
        elif found:
            raise RunError(f"{path} holds {len(found)} runs; pass one of them, e.g. {found[0]} "
                           "(`ferbench runs` lists them)")
    run = load_run(path)
    g, note = geometry(run, data_dir)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        clf = Classifier(run, g, backend=backend, device=device, data_dir=data_dir)
    if note:
        clf.warnings.append(note)
    return clf
