"""Prediction speed: faces/s of a trained run (torch vs onnxruntime, batch 1 and 64) and end-to-end frames/s.

What is timed is what `ferbench predict` runs: ``ferbench.predict.model.Classifier`` on faces already in
store layout (the model's preprocessing included), and ``FramePredictor`` (YuNet detection, crop, classify)
on every frame of a generated 640x360 video decoded by OpenCV. The runs are trained for one epoch on the
embedded synthetic dataset: speed does not depend on what the weights learned, and the script needs no
download. Targets from issue 12: >= 30 frames/s end to end for a 48 px ResNet-18 on 2 cores, and
onnxruntime >= 1.3x torch at batch 1; the ratios are printed beside them.

    python benchmarks/predict_speed.py                 # 48 px and 112 px (gray) ResNet-18
    python benchmarks/predict_speed.py --quick         # small smoke run (tests/test_predict_speed.py)

Prints a table and writes ``<out>/predict_speed-cpu.md`` with the command, CPU threads and versions.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
import torch

from ferbench.data.prepare import prepare
from ferbench.data.store import open_store
from ferbench.predict.export import export_run
from ferbench.predict.model import open_classifier
from ferbench.predict.predict import FramePredictor, video_frames
from ferbench.train.grid import train_one


def make_run(work: Path, arch: str, size: int) -> tuple[Path, Path]:
    """A synthetic store at ``size`` px and a one-epoch run of ``arch`` on it, exported to ONNX."""
    data = work / f"data{size}"
    prepare("synthetic", data_dir=data, subjects=12, per_class=4, size=size)  # the synthetic faces are gray
    run = train_one("synthetic", arch, seed=0, train={"epochs": 1, "batch_size": 32}, out=work / f"runs{size}",
                    data_dir=data, device="cpu")
    export_run(run, "onnx")
    return run, data / "synthetic"


def faces_per_s(clf, faces: np.ndarray, batch: int, seconds: float) -> float:
    """Faces scored per second over at least ``seconds`` of back-to-back calls (after one warm-up call)."""
    x = faces[:batch]
    clf(x)
    n, t0 = 0, time.perf_counter()
    while (dt := time.perf_counter() - t0) < seconds:
        clf(x)
        n += len(x)
    return n / dt


def make_video(path: Path, face: np.ndarray, frames: int) -> None:
    """A 640x360 mp4 of a 192 px face (YuNet finds the synthetic faces reliably from ~150 px) drifting over noise."""
    rng = np.random.default_rng(0)
    background = cv2.GaussianBlur(rng.integers(0, 255, (360, 640, 3), dtype=np.uint8), (9, 9), 0)
    face = cv2.resize(face if face.ndim == 3 else cv2.cvtColor(face, cv2.COLOR_GRAY2BGR), (192, 192),
                      interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (640, 360))
    for i in range(frames):
        frame = background.copy()
        x = 40 + (i * 7) % 400
        frame[84:276, x:x + 192] = face
        writer.write(frame)
    writer.release()


def frames_per_s(predictor: FramePredictor, video: Path) -> tuple[float, int, int]:
    """End-to-end frames/s (decode, detect, crop, classify) and how many frames had a face."""
    n = found = 0
    t0 = time.perf_counter()
    for _, frame, _ in video_frames(video):
        found += bool(predictor(frame))
        n += 1
    return n / (time.perf_counter() - t0), n, found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="vgg_tiny at 48 px only, short timings")
    ap.add_argument("--out", type=Path, default=Path("results/benchmarks"))
    args = ap.parse_args(argv)
    setups = [("vgg_tiny", 48, 1)] if args.quick else [("resnet18", 48, 1), ("resnet18", 112, 1)]
    seconds, n_frames = (0.3, 10) if args.quick else (3.0, 150)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for arch, size, channels in setups:
            run, store_dir = make_run(work, arch, size)
            faces = np.array(open_store(store_dir).images[:64])
            clfs = {b: open_classifier(run, backend=b, data_dir=store_dir.parent) for b in ("torch", "onnx")}
            rate = {(b, bs): faces_per_s(clfs[b], faces, bs, seconds) for b in clfs for bs in (1, 64)}
            video = work / f"clip{size}.mp4"
            make_video(video, faces[0], n_frames)
            fps = {b: frames_per_s(FramePredictor(clfs[b], "yunet"), video) for b in clfs}
            rows.append((arch, size, channels, rate, fps))
    lines = [
        f"command: python {' '.join(shlex.quote(a) for a in ['benchmarks/predict_speed.py', *sys.argv[1:]])}",
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), onnxruntime {onnxruntime.__version__}, opencv {cv2.__version__}",
        "",
        "| model | input | backend | faces/s batch 1 | faces/s batch 64 "
        "| e2e frames/s (640x360, YuNet) | faces found |",
        "|---|---|---|---|---|---|---|",
    ]
    for arch, size, channels, rate, fps in rows:
        for b in ("torch", "onnx"):
            f, n, found = fps[b]
            lines.append(f"| {arch} | {size} px {'gray' if channels == 1 else 'RGB'} | {b} | {rate[(b, 1)]:.0f} | "
                         f"{rate[(b, 64)]:.0f} | {f:.1f} | {found}/{n} |")
    lines.append("")
    for arch, size, _, rate, fps in rows:
        one = rate[("onnx", 1)] / rate[("torch", 1)]
        lines.append(f"{arch} {size} px: onnxruntime / torch at batch 1 = {one:.2f}x "
                     f"(target >= 1.3x), at batch 64 = {rate[('onnx', 64)] / rate[('torch', 64)]:.2f}x; "
                     f"end to end {max(v[0] for v in fps.values()):.1f} frames/s (target >= 30 for 48 px)")
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.quick:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "predict_speed-cpu.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
