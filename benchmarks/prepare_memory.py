"""How much memory `ferbench prepare` holds for a store larger than the in-memory limit.

Prepares FER2013 at 224 px RGB (35,887 x 224 x 224 x 3 = 5.4 GB of pixels, the size of AffectNet at
112 px RGB after its filters) in a child process. Every 0.1 s it samples the child's /proc status:
anonymous memory (RssAnon: what the process really holds) and file-backed pages (RssFile: memmapped
.npy pages that the kernel can write back and drop under pressure). Prints the peaks and the ratio of
peak anonymous memory to the pixel bytes. Linux only.

    python benchmarks/prepare_memory.py [--root ../shared/datasets/fer2013] [--size 224] [--channels 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets" / "fer2013"


def _status_kib(pid: int) -> dict[str, int]:
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile"):
                out[key] = int(value.split()[0])
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--channels", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "ferbench", "prepare", "fer2013", "--root", str(a.root),
               "--size", str(a.size), "--channels", str(a.channels), "--out", f"{tmp}/store"]  # fmt: skip
        t0 = time.perf_counter()
        child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        peak = {"RssAnon": 0, "RssFile": 0}
        while child.poll() is None:
            try:
                for k, v in _status_kib(child.pid).items():
                    peak[k] = max(peak[k], v)
            except (FileNotFoundError, ProcessLookupError):
                break
            time.sleep(0.1)
        seconds = time.perf_counter() - t0
        if child.wait() != 0:
            sys.exit(f"prepare failed (exit {child.returncode}): {' '.join(cmd)}")
        pixels = sum(p.stat().st_size for p in Path(tmp, "store").glob("images.npy"))
    gib = 2**30
    print(f"command: {' '.join(cmd)}")
    print(f"pixels stored: {pixels / gib:.2f} GiB; wall {seconds:.1f} s")
    print(f"peak anonymous memory (RssAnon): {peak['RssAnon'] * 1024 / gib:.2f} GiB "
          f"= {peak['RssAnon'] * 1024 / pixels:.2f} x the pixel bytes")  # fmt: skip
    print(f"peak file-backed pages (RssFile, reclaimable): {peak['RssFile'] * 1024 / gib:.2f} GiB")


if __name__ == "__main__":
    main()
