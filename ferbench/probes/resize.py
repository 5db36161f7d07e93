"""Resolution sweep: how accuracy falls when test faces are downscaled and upscaled back.

The third document downsizes each FERPlus test image with ``cv2.resize`` to s×s and resizes it
back to the model's input size, for several interpolations, and tabulates accuracy with the methods
as rows and the sizes as columns. :func:`resize_sweep` does the same for any finished run:

* ``--interp`` takes ``DOWN[-UP]`` specs: ``cubic`` means cubic both ways ("Both Cubic"),
  ``cubic-linear`` means down cubic, up linear ("Cubic Linear").
* Each image goes stored size → s×s (DOWN) → model input size (UP), then through
  :func:`ferbench.inference.predict`. A size equal to both the stored and the input size is the
  untouched image (the document's 112 column, equal for every method).
* Sizes above the native size are allowed: the image is then upscaled first and downscaled back.
* Default sizes (:func:`default_sizes`): the document's list ``112, 96, 84, 64, 56, 48, 32, 28, 16,
  14`` plus the run's own input size when it is not in it (so the clean column is always there),
  largest first.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ferbench.probes.outputs import current, probe_dir, write_outputs
from ferbench.probes.plots import AccuracyCanvas, mean_line
from ferbench.probes.runs import ProbeError, ProbeRun, load_probe_run

DOCUMENT_SIZES: tuple[int, ...] = (112, 96, 84, 64, 56, 48, 32, 28, 16, 14)
DOCUMENT_METHODS: tuple[str, ...] = ("cubic", "linear", "lanczos4", "cubic-linear")
INTERPOLATIONS: dict[str, int] = {
    "nearest": cv2.INTER_NEAREST,
    "nearest_exact": cv2.INTER_NEAREST_EXACT,
    "linear": cv2.INTER_LINEAR,
    "linear_exact": cv2.INTER_LINEAR_EXACT,
    "cubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
    "lanczos4": cv2.INTER_LANCZOS4,
}


def parse_method(spec: str) -> tuple[str, str]:
    """``"cubic"`` → ``("cubic", "cubic")``; ``"cubic-linear"`` → ``("cubic", "linear")``."""
    parts = spec.strip().lower().split("-")
    if len(parts) == 1:
        parts = parts * 2
    bad = [p for p in parts if p not in INTERPOLATIONS]
    if len(parts) != 2 or bad:
        raise ProbeError(
            f"--interp {spec!r}: expected DOWN or DOWN-UP with each one of {', '.join(INTERPOLATIONS)} "
            "(e.g. cubic, cubic-linear)"
        )
    return parts[0], parts[1]


def method_label(spec: str) -> str:
    """The document's row label: ``cubic`` → ``Both Cubic``, ``cubic-linear`` → ``Cubic Linear``."""
    down, up = parse_method(spec)
    if down == up:
        return f"Both {down.capitalize()}"
    return f"{down.capitalize()} {up.capitalize()}"


def parse_sizes(text: str | None) -> list[int] | None:
    """``"112,96,48"`` → ``[112, 96, 48]``; ``None``/empty → ``None`` (use :func:`default_sizes`)."""
    if not text:
        return None
    try:
        sizes = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ProbeError(f"--sizes {text!r}: expected comma-separated integers, e.g. 112,48,16") from None
    # above 1024 px the up-scaled copies of a test set no longer fit in memory (and nothing is learnt)
    if not sizes or min(sizes) < 1 or max(sizes) > 1024:
        raise ProbeError(f"--sizes {text!r}: every size must be an integer in 1..1024")
    return sizes


def default_sizes(native: int) -> list[int]:
    """The document's sizes plus ``native`` (the run's input side), largest first."""
    return sorted(set(DOCUMENT_SIZES) | {int(native)}, reverse=True)


def degrade(images: np.ndarray, size: int, target: int, down: str = "cubic",
            up: str | None = None) -> np.ndarray:
    """Resize uint8 images to ``size``² with ``down``, then to ``target``² with ``up`` (default: ``down``)."""
    up = up or down
    fd, fu = INTERPOLATIONS[down], INTERPOLATIONS[up]
    out = np.empty((len(images), target, target, *images.shape[3:]), np.uint8)
    for i, im in enumerate(images):
        small = cv2.resize(im, (size, size), interpolation=fd)
        back = cv2.resize(small, (target, target), interpolation=fu)
        out[i] = back.reshape(out.shape[1:])  # cv2 drops a trailing channel axis of 1
    return out


def sweep(probe: ProbeRun, sizes: list[int], methods: list[str]) -> pd.DataFrame:
    """Accuracy of one opened run per (method, size); columns ``method, size, accuracy, n``."""
    rows = []
    for spec in methods:
        down, up = parse_method(spec)
        for s in sizes:
            acc = probe.accuracy(degrade(probe.images, s, probe.size, down, up))
            rows.append({"method": spec, "size": int(s), "accuracy": acc, "n": len(probe.labels)})
    return pd.DataFrame(rows, columns=["method", "size", "accuracy", "n"])


def resize_table(df: pd.DataFrame) -> pd.DataFrame:
    """The document's layout: one row per method (its label), one column per size, largest first."""
    t = df.pivot(index="method", columns="size", values="accuracy")
    t = t.loc[list(dict.fromkeys(df["method"])), sorted(t.columns, reverse=True)]
    t.index = [method_label(m) for m in t.index]
    t.index.name = "Method\\resize value"
    return t


def plot_sweep(df: pd.DataFrame, path: Path, title: str = "", *, native: int | None = None,
               num_classes: int | None = None, pdf: bool = False, clean: float | None = None) -> list[Path]:
    """Accuracy against size, one line per method (log axis, largest on the left); written as ``path``
    (PNG, and PDF beside it when ``pdf``). ``df`` holds one run or several (mean line, ± std band).

    Sizes at and above ``native`` (the stored side) are shaded and named for what they are: the image
    is upsampled to that side and back (or not resized), so no detail is removed there. ``clean`` (a
    fraction) draws the run's own test accuracy, the evaluation path without any resize step.
    """
    sizes = sorted(pd.to_numeric(df["size"]).unique())
    with AccuracyCanvas(path, title or "resolution sweep", "side the test images are resized to (px)",
                        num_classes=num_classes, pdf=pdf, legend_title="down / up interpolation") as c:
        df = df.assign(size=pd.to_numeric(df["size"]))
        for method, g in df.groupby("method", sort=False):
            mean_line(c.ax, "size", g, method_label(method))
        c.ax.set_xscale("log")
        c.ax.set_xticks(sizes, [str(s) for s in sizes])
        c.ax.minorticks_off()
        if native:
            c.ax.axvline(native, color="0.35", ls="--", lw=0.9, label=f"native side ({native} px)")
            if sizes[-1] >= native:
                c.ax.axvspan(native / 1.04, sizes[-1] * 1.08, color="0.85", alpha=0.6, lw=0,
                             label="native and above: no detail removed (upsampled and back)")
        if clean is not None and np.isfinite(clean):
            c.ax.axhline(100 * clean, color="0.2", ls=":", lw=1.0, label=f"clean: the run's test ({100 * clean:.1f}%)")
        c.ax.set_xlim(sizes[-1] * 1.08, sizes[0] / 1.08)  # inverted: resolution falls to the right
    return c.paths


def resize_sweep(
    run: str | Path,
    sizes: list[int] | None = None,
    methods: list[str] | None = None,
    *,
    out: str | Path | None = None,
    device: str = "auto",
    seed: int = 0,
    data_dir: str | Path | None = None,
    reuse: bool = False,
) -> tuple[pd.DataFrame, Path]:
    """Run the resolution sweep on one finished run; writes ``resize.csv``, ``resize.md``, ``resize.png``.

    Returns the long table (``method, size, accuracy, n, native, clean``; ``native`` is the stored side,
    above which a size is an upsample-and-back; ``clean`` the accuracy of the unchanged test images, which
    equals the run's metrics.json accuracy) and the directory written. ``seed`` is accepted for the
    common probe interface; the sweep itself is deterministic. ``reuse``: when the files there are
    current (same sizes and methods, same training of the run), read them back instead of sweeping again.
    """
    del seed
    methods = list(methods or DOCUMENT_METHODS)
    for m in methods:
        parse_method(m)  # fail on a bad spec before loading anything
    probe = load_probe_run(run, device=device, data_dir=data_dir)
    sizes = list(sizes or default_sizes(probe.size))
    d = probe_dir(probe.path, probe.cell, out)
    options = {"sizes": sizes, "methods": methods}
    if reuse and current(d, "resize", options, probe.path):
        return pd.read_csv(d / "resize.csv"), d
    df = sweep(probe, sizes, methods)
    df["native"] = int(probe.images.shape[1])
    # the stored images through predict() unchanged: the run's own test evaluation path, no resize step
    df["clean"] = probe.accuracy(probe.images)
    table = (100 * resize_table(df)).map(lambda v: f"{v:.2f}%")
    write_outputs(d, "resize", options, probe.path, {
        "resize.csv": lambda tmp: df.to_csv(tmp, index=False),
        "resize.md": lambda tmp: tmp.write_text(f"Resolution sweep, {probe.cell} (n={len(probe.labels)})\n\n"
                                                + table.to_markdown() + "\n"),
        "resize.png": lambda tmp: plot_sweep(df, tmp, title=f"Resolution sweep: {probe.cell} "
                                             f"(n={len(probe.labels)} test images)",
                                             native=int(probe.images.shape[1]), num_classes=len(probe.classes),
                                             clean=float(df["clean"].iloc[0])),
    })
    return df, d
