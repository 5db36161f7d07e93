"""Common corruptions at five severities, applied to the stored uint8 test faces.

In the spirit of ImageNet-C, adapted to small grayscale face crops. Every corruption is a pure
function ``(images uint8, severity 1..5, rng) -> images uint8`` at the stored size; parameters scale
with the image side where they are spatial, so a 48 px and a 112 px store see the same corruption.

========================  =====================================================================
corruption                severity 1 → 5
========================  =====================================================================
``gaussian_noise``        additive N(0, σ²), σ = 8, 16, 28, 44, 64 grey levels, clipped
``gaussian_blur``         Gaussian blur, σ = 1.5, 3, 4.5, 6.5, 9 % of the side
``jpeg``                  ``cv2.imencode`` JPEG at quality 40, 20, 12, 7, 3
``brightness``            + 0.15, 0.3, 0.45, 0.6, 0.75 × 255, clipped (highlights saturate)
``contrast``              pixels pulled towards each image's mean, keeping 60, 40, 25, 15, 7 %
``occlude_eyes``          a band across the eyes and brows, centred at 40 % of the crop height
``occlude_mouth``         a band across the mouth, centred at 75 % of the crop height
========================  =====================================================================

Occlusion bands span the full width; their height is 8, 14, 20, 26, 32 % of the crop height and
they are filled with the image's own mean grey (a flat patch, not a black one, so the probe
measures missing features rather than a brightness change). The centres are where aligned face
crops (FER2013, FERPlus, RAF-DB, the synthetic faces) put the eyes (≈35–45 %) and the mouth
(≈70–80 %).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ferbench.probes.outputs import damaged, probe_dir, read_stamp, run_token, write_outputs
from ferbench.probes.plots import AccuracyCanvas, mean_line
from ferbench.probes.runs import ProbeError, ProbeRun, load_probe_run

SEVERITIES = (1, 2, 3, 4, 5)
EYE_BAND_CENTRE = 0.40
MOUTH_BAND_CENTRE = 0.75
BAND_HEIGHT = (0.08, 0.14, 0.20, 0.26, 0.32)


def _check(severity: int) -> int:
    if severity not in SEVERITIES:
        raise ProbeError(f"severity must be one of {SEVERITIES}, got {severity}")
    return severity - 1


def gaussian_noise(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    sigma = (8, 16, 28, 44, 64)[_check(severity)]
    noisy = images.astype(np.float32) + rng.normal(0, sigma, images.shape).astype(np.float32)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def gaussian_blur(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    sigma = (0.015, 0.03, 0.045, 0.065, 0.09)[_check(severity)] * images.shape[1]
    return np.stack([cv2.GaussianBlur(im, (0, 0), sigmaX=sigma).reshape(im.shape) for im in images])


def jpeg(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    quality = (40, 20, 12, 7, 3)[_check(severity)]
    out = np.empty_like(images)
    flag = cv2.IMREAD_GRAYSCALE if images.ndim == 3 else cv2.IMREAD_COLOR
    for i, im in enumerate(images):
        ok, buf = cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("cv2.imencode failed to write a JPEG")
        out[i] = cv2.imdecode(buf, flag).reshape(im.shape)
    return out


def brightness(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    shift = (0.15, 0.3, 0.45, 0.6, 0.75)[_check(severity)] * 255
    return np.clip(images.astype(np.float32) + shift, 0, 255).astype(np.uint8)


def contrast(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    keep = (0.6, 0.4, 0.25, 0.15, 0.07)[_check(severity)]
    x = images.astype(np.float32)
    mean = x.reshape(len(x), -1).mean(axis=1).reshape((-1,) + (1,) * (x.ndim - 1))
    return np.clip(np.rint((x - mean) * keep + mean), 0, 255).astype(np.uint8)


def _band(images: np.ndarray, severity: int, centre: float) -> np.ndarray:
    h = images.shape[1]
    height = max(1, int(round(BAND_HEIGHT[_check(severity)] * h)))
    top = min(max(0, int(round(centre * h - height / 2))), h - height)
    bottom = top + height
    out = images.copy()
    mean = images.reshape(len(images), -1).mean(axis=1)
    out[:, top:bottom] = np.rint(mean).astype(np.uint8).reshape((-1,) + (1,) * (images.ndim - 1))
    return out


def occlude_eyes(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    return _band(images, severity, EYE_BAND_CENTRE)


def occlude_mouth(images: np.ndarray, severity: int, rng: np.random.Generator) -> np.ndarray:
    return _band(images, severity, MOUTH_BAND_CENTRE)


CORRUPTIONS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "gaussian_noise": gaussian_noise,
    "gaussian_blur": gaussian_blur,
    "jpeg": jpeg,
    "brightness": brightness,
    "contrast": contrast,
    "occlude_eyes": occlude_eyes,
    "occlude_mouth": occlude_mouth,
}


def parse_corruptions(text: str | None) -> list[str]:
    """``"jpeg,contrast"`` → the names, checked; ``None``/``all`` → every corruption."""
    if not text or text == "all":
        return list(CORRUPTIONS)
    names = [t.strip() for t in text.split(",") if t.strip()]
    bad = [n for n in names if n not in CORRUPTIONS]
    if bad:
        raise ProbeError(f"--corruptions: unknown {bad}; choose from {', '.join(CORRUPTIONS)}")
    return names


def corrupt_eval(probe: ProbeRun, names: list[str], seed: int = 0) -> pd.DataFrame:
    """Accuracy per (corruption, severity), plus the clean row (``corruption='clean', severity=0``)."""
    n = len(probe.labels)
    rows = [{"corruption": "clean", "severity": 0, "accuracy": probe.accuracy(probe.images), "n": n}]
    for k, name in enumerate(names):
        for s in SEVERITIES:
            rng = np.random.default_rng([seed, k, s])  # the same noise for every run at a seed
            acc = probe.accuracy(CORRUPTIONS[name](probe.images, s, rng))
            rows.append({"corruption": name, "severity": s, "accuracy": acc, "n": n})
    return pd.DataFrame(rows, columns=["corruption", "severity", "accuracy", "n"])


def corruption_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per corruption: accuracy at each severity, mean accuracy, and mean relative to clean.

    The last row, ``mean``, is the mean corruption accuracy (mCA) over every corruption and severity
    and its ratio to clean accuracy.
    """
    clean = float(df.loc[df["corruption"] == "clean", "accuracy"].iloc[0])
    c = df[df["corruption"] != "clean"]
    t = c.pivot(index="corruption", columns="severity", values="accuracy")
    t = t.loc[list(dict.fromkeys(c["corruption"]))]
    t.columns = [f"s{s}" for s in t.columns]
    t["mean"] = t.mean(axis=1)
    t.loc["mean"] = t.mean(axis=0)
    t["relative"] = t["mean"] / clean if clean > 0 else np.nan
    t.index.name = "corruption"
    return t


def plot_corruptions(df: pd.DataFrame, path: Path, title: str = "", *, num_classes: int | None = None,
                     pdf: bool = False) -> list[Path]:
    """Accuracy against severity (clean first), one line per corruption; ``df`` holds one run or several
    (mean line, ± std band). Written as ``path`` (PNG, and PDF beside it when ``pdf``)."""
    df = df.assign(severity=pd.to_numeric(df["severity"], errors="coerce"))
    clean = df[df["corruption"] == "clean"]
    with AccuracyCanvas(path, title or "corruptions", "severity", num_classes=num_classes, pdf=pdf,
                        legend_title="corruption") as c:
        for name, g in df[df["corruption"] != "clean"].groupby("corruption", sort=False):
            mean_line(c.ax, "severity", pd.concat([clean, g]), str(name).replace("_", " "))
        ticks = sorted(df["severity"].dropna().unique())
        c.ax.set_xticks(ticks, ["clean" if t == 0 else str(int(t)) for t in ticks])
    return c.paths


def corrupt(
    run: str | Path,
    corruptions: list[str] | None = None,
    *,
    out: str | Path | None = None,
    device: str = "auto",
    seed: int = 0,
    data_dir: str | Path | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    """The corruption probe on one finished run: (long table, summary, directory written).

    Writes ``corrupt.csv`` (corruption, severity, accuracy, n; the clean row has severity 0),
    ``corrupt_summary.csv`` and ``corrupt.png``. Corruptions measured before for the same training
    of the run at the same ``seed`` stay in the table, so ``--corruptions a,b`` adds to it (or
    replaces those two); rows of another seed or another training are dropped and
    ``df.attrs["replaced"]`` says so.
    """
    names = list(corruptions or CORRUPTIONS)
    parse_corruptions(",".join(names))
    probe = load_probe_run(run, device=device, data_dir=data_dir)
    d = probe_dir(probe.path, probe.cell, out)
    new = corrupt_eval(probe, names, seed=seed)
    kept, replaced = _earlier_rows(d, probe.path, seed, names)
    rows = pd.concat([new, kept], ignore_index=True) if len(kept) else new
    order = rows["corruption"].map({c: i for i, c in enumerate(["clean", *CORRUPTIONS])})
    df = rows.assign(_order=order).sort_values(["_order", "severity"], kind="stable")
    df = df.drop(columns="_order").reset_index(drop=True)
    measured = [c for c in CORRUPTIONS if c in set(df["corruption"])]
    summary = corruption_summary(df)
    title = f"Corruptions: {probe.cell} (n={len(probe.labels)} test images)"
    write_outputs(d, "corrupt", {"seed": seed, "corruptions": measured}, probe.path, {
        "corrupt.csv": lambda tmp: df.to_csv(tmp, index=False),
        "corrupt_summary.csv": lambda tmp: summary.to_csv(tmp),
        "corrupt.png": lambda tmp: plot_corruptions(df, tmp, title=title, num_classes=len(probe.classes)),
    })
    if replaced:
        df.attrs["replaced"] = replaced
    return df, summary, d


def _earlier_rows(d: Path, run_path: Path, seed: int, names: list[str]) -> tuple[pd.DataFrame, str | None]:
    """Rows of ``d``'s corrupt.csv that this call does not measure again, when they are of the same
    training and seed; else none, and why the old table is replaced."""
    path = d / "corrupt.csv"
    if not path.is_file():
        return pd.DataFrame(), None
    stamp = read_stamp(d, "corrupt")
    if damaged(d, "corrupt.csv"):
        why = "rows of a damaged file (it does not match its digest)"
    elif stamp is None:
        why = "rows no record says how they were made"
    elif stamp.get("run") != run_token(run_path):
        why = "rows of another training of the cell"
    elif stamp.get("options", {}).get("seed") != seed:
        why = f"rows of --seed {stamp['options'].get('seed')}"
    else:
        old = pd.read_csv(path)
        return old[~old["corruption"].isin(["clean", *names])], None
    return pd.DataFrame(), f"{path} held {why}; it now holds only the corruptions of this call"
