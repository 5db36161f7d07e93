"""How fast `ferbench prepare` reads FER2013 (Kaggle image-folder layout) and how fast the store opens.

Targets (issue 3): prepare 35,887 JPEGs in <= 30 s on a 2-core machine; open a prepared store < 1 s.
Prints wall times, images/s, the ratio to each target, and the machine load (other work on the
same cores slows everything down, so read the figures together with it).

    python benchmarks/prepare_speed.py [--root ../shared/datasets/fer2013] [--workers N] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from ferbench.data import fer2013
from ferbench.data.store import open_store

PREPARE_TARGET_S = 30.0
LOAD_TARGET_S = 1.0
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "fer2013"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--workers", type=int, default=None, help="decoding threads (default: CPU cores)")
    ap.add_argument(
        "--repeat", type=int, default=2, help="prepare runs (the first may read from a cold disk cache)"
    )
    args = ap.parse_args()
    if not (args.root / "train").is_dir():
        print(f"skipped: FER2013 image-folder layout not found at {args.root.resolve()}")
        return

    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    with tempfile.TemporaryDirectory(prefix="ferbench-bench-") as tmp:
        out = Path(tmp) / "fer2013"
        prep = []
        for i in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            store = fer2013.prepare(args.root, out, force=True, workers=args.workers)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            prep.append(wall)
            n = store.card["num_images"]
            print(
                f"prepare run {i + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU, {n / wall:8.0f} images/s "
                f"({n} images)"
            )
        t0 = time.perf_counter()
        store = open_store(out)
        load = time.perf_counter() - t0
        t0 = time.perf_counter()
        checksum = int(np.asarray(store.images[store.indices("train")]).sum(dtype=np.int64))
        touch = time.perf_counter() - t0
        del store

    best = min(prep)
    print(
        f"prepare best: {best:.2f} s  -> {best / PREPARE_TARGET_S:.2f} x the {PREPARE_TARGET_S:.0f} s budget "
        f"({PREPARE_TARGET_S / best:.1f}x headroom)"
    )
    print(
        f"open_store:  {load * 1000:.1f} ms -> {load / LOAD_TARGET_S:.3f} x the {LOAD_TARGET_S:.0f} s budget"
    )
    print(f"read all train pixels from the memmap: {touch * 1000:.1f} ms (checksum {checksum})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
