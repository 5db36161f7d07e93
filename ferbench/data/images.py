"""Reading source images in parallel and turning each into the store's geometry.

Every dataset module lists its images as :class:`Source` items (a file, or pixels already decoded
from a CSV, plus an optional face box / landmarks the dataset ships); :func:`read_all` decodes them
on a thread pool (OpenCV releases the GIL while decoding and resizing, so threads scale with cores),
passes each through a :class:`ferbench.data.faces.FaceCropper`, and reports every file it could not
use — nothing is dropped silently.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ferbench.data.classes import UnknownClassError, canonical
from ferbench.data.faces import FaceCropper, FaceNotFoundError

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".pgm", ".ppm", ".webp"})


class BadImage(Exception):
    """One source image that cannot be used (internal: it is counted and listed, not raised to users)."""


@dataclass
class Source:
    """One image to put in the store: a file (``path``) or decoded ``pixels``, plus optional face hints."""

    name: str
    path: str | Path | None = None
    pixels: np.ndarray | None = None
    box: tuple[float, float, float, float] | None = None  # x, y, w, h given by the dataset
    landmarks: np.ndarray | None = None  # (5, 2): eye, eye, nose, mouth corner, mouth corner


@dataclass
class Loaded:
    """What :func:`read_all` produced: images for every source (``ok`` marks the usable ones)."""

    images: np.ndarray
    ok: np.ndarray
    bad: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    misses: list[str] = field(default_factory=list)  # names where no face was found


def decode(path: str | Path, color: bool) -> np.ndarray:
    """Decode one file to uint8 gray (H, W) or BGR (H, W, 3); :class:`BadImage` when it is unusable."""
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as err:
        raise BadImage(f"unreadable ({err.strerror})") from None
    if data.size == 0:
        raise BadImage("empty file")
    head = data[:8].tobytes()
    # libjpeg/libpng decode a truncated file into a partly grey image with only a warning on
    # stderr; check the end markers so such files are reported instead of stored.
    if head[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-256:].tobytes():
        raise BadImage("truncated JPEG (no end-of-image marker)")
    if head == b"\x89PNG\r\n\x1a\n" and b"IEND" not in data[-64:].tobytes():
        raise BadImage("truncated PNG (no IEND chunk)")
    img = cv2.imdecode(data, cv2.IMREAD_COLOR if color else cv2.IMREAD_GRAYSCALE)
    if img is None or img.size == 0:
        raise BadImage("not a decodable image")
    return img


def list_class_folders(
    root: Path, part: str | None, class_map: dict[str, str]
) -> list[tuple[str, str, list[str], list[str]]]:
    """``[(canonical class, folder name, image file names, other file names)]`` for ``root/part/<class>/``
    (``root/<class>/`` when ``part`` is None), sorted by name; a folder name outside the vocabulary
    raises :class:`UnknownClassError`. Plain strings, not Paths: 36k Path objects cost seconds."""
    out = []
    for d in sorted(os.scandir(root / part if part else root), key=lambda e: e.name):
        if not d.is_dir() or d.name.startswith("."):
            continue
        try:
            label = canonical(d.name, class_map)
        except UnknownClassError as err:
            raise UnknownClassError(f"{d.path}: {err}") from None
        files = sorted(e.name for e in os.scandir(d.path) if not e.name.startswith(".") and e.is_file())
        images = [f for f in files if os.path.splitext(f)[1].lower() in IMAGE_EXTS]
        out.append(
            (label, d.name, images, [f for f in files if os.path.splitext(f)[1].lower() not in IMAGE_EXTS])
        )
    return out


def default_workers() -> int:
    return max(1, min(8, os.cpu_count() or 1))


def output_shape(n: int, cropper: FaceCropper) -> tuple[int, ...]:
    """The (N, H, W) or (N, H, W, 3) array :func:`read_all` fills for ``n`` sources."""
    return (n, cropper.size, cropper.size) + ((3,) if cropper.channels == 3 else ())


def read_all(
    sources: list[Source], cropper: FaceCropper, workers: int | None = None, into: np.ndarray | None = None
) -> Loaded:
    """Decode, crop and resize every source on a thread pool.

    ``into`` is the zero-filled array to fill (shape :func:`output_shape`), e.g. a disk-backed memmap for
    a dataset larger than memory; by default a new in-memory array.
    Unreadable files are listed in ``bad``; images without a detected face are listed in ``misses``
    and, with ``on_miss='skip'``, marked not ``ok``; with ``on_miss='fail'`` the first miss raises
    :class:`FaceNotFoundError` naming the file.
    """
    n = len(sources)
    images = np.zeros(output_shape(n, cropper), dtype=np.uint8) if into is None else into
    ok = np.ones(n, dtype=bool)
    color = cropper.needs_color
    chunk = 512

    def work(start: int) -> tuple[list[tuple[int, str]], list[int]]:
        bad: list[tuple[int, str]] = []
        misses: list[int] = []
        for i in range(start, min(start + chunk, n)):
            src = sources[i]
            try:
                img = src.pixels if src.pixels is not None else decode(src.path, color)
                images[i], found = cropper(img, box=src.box, landmarks=src.landmarks)
            except BadImage as err:
                bad.append((i, str(err)))
                continue
            except cv2.error as err:  # a decodable but degenerate image (e.g. 0-pixel crop)
                bad.append((i, f"OpenCV could not process it ({err.err})"))
                continue
            if not found:
                misses.append(i)
        return bad, misses

    workers = workers or default_workers()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(work, range(0, n, chunk)))
    out = Loaded(images=images, ok=ok)
    for bad, misses in results:
        for i, reason in bad:
            ok[i] = False
            out.bad.append((sources[i].name, reason))
        for i in misses:
            out.misses.append(sources[i].name)
            if cropper.on_miss == "skip":
                ok[i] = False
    if out.misses and cropper.on_miss == "fail":
        raise FaceNotFoundError(
            f"{out.misses[0]}: no face found by --detect {cropper.detect} "
            f"({len(out.misses)} images without a "
            "face in all); use --on-miss keep (whole image) or skip (drop and list them)"
        )
    return out
