"""Training throughput: the documents' data pipeline vs ferbench's on-device engine, same model, same GPU.

Baseline (how the documents trained): FER2013-sized 48x48 gray images as JPEG files in an ImageFolder,
a torchvision DataLoader with per-sample PIL transforms (flip, rotation, to-tensor, normalise), fp32,
batch 64, Adam, with 2 workers (Colab) and 8 workers. ferbench: ``ferbench.train.engine.fit`` with its
real on-device augmentation, bf16 autocast and channels_last on CUDA, at its recipe batch size.
Both train the same ferbench model for the same number of images; images/s excludes evaluation.

    python benchmarks/train_throughput.py                      # GPU: resnet18, resnet50, vgg19
    python benchmarks/train_throughput.py --quick --device cpu  # small CPU smoke run (never rots)

Writes ``<out>/train_throughput-<tag>.json`` and ``.md`` with the command, device name and versions.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ferbench.data.store import new_meta, write_store
from ferbench.data.synthetic import CLASSES, generate
from ferbench.inference import resolve_device
from ferbench.models import create_model
from ferbench.train.engine import fit
from ferbench.train.recipe import TrainConfig, recipe_train


def make_images(n: int, size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic faces (a small drawn pool tiled to ``n``: content does not change the speed)."""
    pool, labels, *_ = generate(n_subjects=max(1, min(10, n // 56)), per_class=8, size=size, seed=seed)
    reps = -(-n // len(pool))
    return np.tile(pool, (reps, 1, 1))[:n], np.tile(labels, reps)[:n]


def write_jpeg_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    for k in CLASSES:
        (root / k).mkdir(parents=True, exist_ok=True)
    for i, (im, y) in enumerate(zip(images, labels, strict=True)):
        cv2.imwrite(str(root / CLASSES[y] / f"{i:06d}.jpg"), im)
    return root


def baseline_img_per_s(
    arch: str, folder: Path, dev: torch.device, workers: int, batch: int, steps: int, warmup: int
) -> float:
    """The documents' loop: ImageFolder + PIL transforms in DataLoader workers, fp32."""
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder

    tf = T.Compose(
        [
            T.Grayscale(1),
            T.RandomHorizontalFlip(),
            T.RandomRotation(10),
            T.ToTensor(),
            T.Normalize([0.5], [0.5]),
        ]
    )
    ds = ImageFolder(str(folder), transform=tf)
    loader = torch.utils.data.DataLoader(
        ds,
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
        drop_last=True,
        pin_memory=dev.type == "cuda",
        persistent_workers=workers > 0,
    )
    torch.manual_seed(0)
    model = create_model(arch, num_classes=len(CLASSES), in_chans=1).to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    done, t0 = 0, None
    while done < warmup + steps:
        for x, y in loader:
            if done == warmup:
                if dev.type == "cuda":
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            loss = F.cross_entropy(model(x)["logits"], y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            done += 1
            if done == warmup + steps:
                break
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - t0)


def engine_config(
    store, dev: torch.device, epochs: int, batch: int | None, compile_: bool, mode: str = "default",
    recipe: str = "default",
) -> TrainConfig:
    """The resolved training options of the measured ferbench run: ``recipe``'s, with this run's overrides."""
    opts = {**recipe_train(recipe), "epochs": epochs, "patience": None, "compile": compile_, "compile_mode": mode}
    if batch is not None:
        opts["batch_size"] = batch
    return TrainConfig.from_dict(opts).resolve(
        store_size=store.size, store_channels=1, device_type=dev.type, n_train=len(store.images) - 64
    )


def ferbench_img_per_s(arch: str, store, dev: torch.device, cfg: TrainConfig) -> float:
    """ferbench's engine: median images/s over epochs after the first (cudnn autotune / compile warm-up)."""
    n = len(store.images)
    tr, val = np.arange(n - 64), np.arange(n - 64, n)
    torch.manual_seed(0)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    model = create_model(arch, num_classes=len(CLASSES), in_chans=1)
    hist = fit(model, store.images, store.meta["label"], tr, val, cfg, seed=0, device=str(dev)).history
    speeds = [r["img_per_s"] for r in hist[1:]] or [hist[0]["img_per_s"]]
    return statistics.median(speeds)


def plain_img_per_s(
    arch: str, images: np.ndarray, labels: np.ndarray, dev: torch.device, cfg: TrainConfig, steps: int, warmup: int
) -> float:
    """The least a training step needs, in plain PyTorch: the whole set as one normalised float tensor on the
    device, random batches by index, the engine's batch size, precision (autocast) and memory format, AdamW;
    no augmentation, no gradient clipping, no schedule. What the engine's extra work costs is its ratio to this.
    """
    x_all = torch.from_numpy(images).to(dev).unsqueeze(1).float().div(127.5).sub(1.0)
    y_all = torch.from_numpy(labels.astype(np.int64)).to(dev)
    memfmt = torch.channels_last if cfg.channels_last == "on" else torch.contiguous_format
    torch.manual_seed(0)
    model = create_model(arch, num_classes=len(CLASSES), in_chans=1).to(dev, memory_format=memfmt).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    amp = torch.autocast(dev.type, dtype=torch.bfloat16) if cfg.amp == "bf16" else contextlib.nullcontext()

    def run(n: int) -> float:
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n):
            idx = torch.randint(0, len(x_all), (cfg.batch_size,), device=dev)
            with amp:
                logits = model(x_all[idx].contiguous(memory_format=memfmt))["logits"]
            loss = F.cross_entropy(logits, y_all[idx], label_smoothing=cfg.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return n * cfg.batch_size / (time.perf_counter() - t0)

    run(warmup)
    # the median of three timed chunks, as the engine's figure is a median over epochs: one slow
    # stretch of a shared machine moves neither
    chunk = max(1, steps // 3)
    return statistics.median(run(chunk) for _ in range(3))


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", default="auto")
    p.add_argument("--models", default="resnet18,resnet50,vgg19")
    p.add_argument("--n-images", type=int, default=28709, help="training images (FER2013 train: 28709)")
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--workers", default="2,8", help="DataLoader worker counts for the baseline")
    p.add_argument("--baseline-steps", type=int, default=100)
    p.add_argument("--epochs", type=int, default=4, help="ferbench epochs (the first is warm-up)")
    p.add_argument("--batch-size", type=int, default=None, help="ferbench batch size (default: its recipe's)")
    p.add_argument("--compile", action="store_true", help="also measure ferbench with torch.compile")
    p.add_argument("--compile-mode", default="reduce-overhead",
                   help="torch.compile mode for --compile (reduce-overhead: CUDA graphs, static shapes)")
    p.add_argument("--recipe", default="default",
                   help="ferbench's training recipe (e.g. cpu-fer); the plain loop copies its batch, precision "
                        "and memory format")
    p.add_argument("--plain-steps", type=int, default=100, help="timed steps of the plain PyTorch loop")
    p.add_argument("--quick", action="store_true", help="tiny CPU-sized run: resnet18, 512 images, 2 workers")
    p.add_argument("--out", default="results/benchmarks")
    if p.parse_args(argv).quick:  # small defaults; options given explicitly still win
        p.set_defaults(models="resnet18", n_images=512, workers="2", baseline_steps=6, epochs=2, plain_steps=4)
    a = p.parse_args(argv)
    dev = resolve_device(a.device)
    models, workers = a.models.split(","), [int(w) for w in a.workers.split(",")]
    images, labels = make_images(a.n_images, a.size)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_jpeg_folder(Path(tmp) / "jpeg", images, labels)
        meta = new_meta(len(images))
        meta["label"] = labels
        store = write_store(Path(tmp) / "store", images, meta, {"name": "throughput", "classes": CLASSES})
        warmup = 2 if a.quick else 10
        for arch in models:
            row = {"model": arch}
            for w in workers:
                row[f"baseline_w{w}"] = baseline_img_per_s(arch, folder, dev, w, 64, a.baseline_steps, warmup)
                print(f"{arch}: baseline {w} workers {row[f'baseline_w{w}']:,.0f} img/s", flush=True)
            cfg = engine_config(store, dev, a.epochs, a.batch_size, False, recipe=a.recipe)
            row["ferbench_batch"] = cfg.batch_size
            row["plain"] = plain_img_per_s(arch, images, labels, dev, cfg, a.plain_steps, warmup)
            print(f"{arch}: plain PyTorch loop (batch {cfg.batch_size}) {row['plain']:,.0f} img/s", flush=True)
            row["ferbench"] = ferbench_img_per_s(arch, store, dev, cfg)
            print(f"{arch}: ferbench (batch {cfg.batch_size}) {row['ferbench']:,.0f} img/s", flush=True)
            if a.compile:
                ccfg = engine_config(store, dev, a.epochs, a.batch_size, True, a.compile_mode, a.recipe)
                row["ferbench_compiled"] = ferbench_img_per_s(arch, store, dev, ccfg)
                print(f"{arch}: ferbench compiled {row['ferbench_compiled']:,.0f} img/s", flush=True)
            best = max(row["ferbench"], row.get("ferbench_compiled", 0))
            for w in workers:
                row[f"ratio_vs_w{w}"] = best / row[f"baseline_w{w}"]
            row["ratio_vs_plain"] = row["ferbench"] / row["plain"]
            rows.append(row)
    result = {
        "command": shlex.join(
            ["python", "benchmarks/train_throughput.py", *(sys.argv[1:] if argv is None else argv)]
        ),
        "device": torch.cuda.get_device_name()
        if dev.type == "cuda"
        else f"cpu ({platform.processor() or platform.machine()})",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "n_images": a.n_images,
        "size": a.size,
        "baseline": "ImageFolder JPEG + DataLoader + PIL transforms, fp32, batch 64, Adam",
        "recipe": a.recipe,
        "threads": torch.get_num_threads(),
        "ferbench": f"fit() with recipe {a.recipe}: on-device data + augmentation, amp {cfg.amp}, channels_last "
        f"{cfg.channels_last}" + (f"; compiled: torch.compile mode {a.compile_mode}" if a.compile else ""),
        "plain": "plain PyTorch loop: in-memory tensors, random batches, same batch/amp/memory format, AdamW, "
        "no augmentation",
        "rows": rows,
    }
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    tag = ("quick-" if a.quick else "") + dev.type + ("" if a.recipe == "default" else f"-{a.recipe}")
    (out / f"train_throughput-{tag}.json").write_text(json.dumps(result, indent=2) + "\n")
    cols = [k for k in rows[0] if k != "model"]
    md = [
        f"# Training throughput ({result['device']})",
        "",
        f"`{result['command']}`",
        "",
        f"torch {result['torch']}, {result['threads']} thread(s); {a.n_images} images of {a.size}x{a.size}; "
        "images/s (higher is better)",
        "",
        f"- baseline_w*: {result['baseline']}, * DataLoader workers",
        f"- plain: {result['plain']}",
        f"- ferbench: {result['ferbench']}",
        "",
        "| model | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    md += [
        "| "
        + r["model"]
        + " | "
        + " | ".join((f"{r[c]:.2f}" if c.startswith("ratio") else f"{r[c]:,.1f}") if isinstance(r[c], float)
                     else str(r[c]) for c in cols)
        + " |"
        for r in rows
    ]
    (out / f"train_throughput-{tag}.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return result


if __name__ == "__main__":
    main()
