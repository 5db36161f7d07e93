"""The run directory of one trained cell: writing it, recognising a finished one, loading it back.

Layout (see CONTRACTS.md): ``config.json``, ``history.jsonl``, ``model.safetensors``, ``logits.npz``
and ``metrics.json``, which is written last and atomically — its presence is the one marker that a
cell finished. While a cell trains, ``last.pt`` holds the resumable state; it is deleted when
``metrics.json`` lands (the best weights are in ``model.safetensors`` and the history in
``history.jsonl``, so keeping it would only double the disk use of a grid).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferbench import __version__
from ferbench.atomic import json_default, replace_atomically, write_text
from ferbench.errors import FerbenchError

CONFIG, HISTORY, MODEL, LOGITS, METRICS, STATE = (
    "config.json",
    "history.jsonl",
    "model.safetensors",
    "logits.npz",
    "metrics.json",
    "last.pt",
)


class RunError(FerbenchError):
    """A run directory that is missing or unfinished; the message names the path and the fix."""


def cell_id(
    dataset: str, arch: str, attention: str, activation: str, seed: int, fold: int | None = None
) -> str:
    """``<dataset>/<arch>-<attention>-<activation>/s<seed>`` plus ``/f<fold>`` for k-fold protocols."""
    cid = f"{dataset}/{arch}-{attention}-{activation}/s{seed}"
    return cid if fold is None else f"{cid}/f{fold}"


def is_finished(path: str | Path) -> bool:
    """True when the run at ``path`` wrote its metrics (the last file of a run)."""
    return (Path(path) / METRICS).is_file()


def write_history(run_dir: Path, history: list[dict]) -> None:
    """Rewrite the whole history each epoch (tiny) so it always matches the resumable state."""
    write_text(run_dir / HISTORY, "".join(json.dumps(r, default=json_default) + "\n" for r in history))


def write_logits(run_dir: Path, **arrays: np.ndarray) -> None:
    replace_atomically(run_dir / LOGITS, lambda tmp: np.savez(tmp, **arrays))


def environment(device: str) -> dict:
    """What produced a run: versions, platform, device name and the git commit of the source tree."""
    import timm
    import torch

    dev_name = device
    if device.startswith("cuda") and torch.cuda.is_available():
        dev_name = f"{device} ({torch.cuda.get_device_name()})"
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=5,
                cwd=Path(__file__).parent,
            ).stdout.strip()
            or None
        )
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "timm": timm.__version__,
        "ferbench": __version__,
        "platform": platform.platform(),
        "host": platform.node(),  # which node trained it, on a Ray cluster
        "device": dev_name,
        # CPU results are bit-for-bit repeatable only at the same thread count (reduction order)
        "torch_threads": torch.get_num_threads(),
        "git_commit": commit,
    }


@dataclass
class Run:
    """A finished run directory, loaded."""

    path: Path
    config: dict
    metrics: dict

    def model(self, device: str = "cpu"):
        """The best-on-validation model, loaded with its spec checked against the run's config."""
        from ferbench.models import ModelSpec, load_model

        return load_model(self.path / MODEL, expect=ModelSpec.from_dict(self.config["model"]), device=device)

    def store(self, data_dir: str | Path | None = None):
        """The store the run trained on (from ``data_dir/<dataset>`` when given, else the recorded path)."""
        from ferbench.data.store import open_store

        return open_store(Path(data_dir) / self.config["dataset"] if data_dir else self.config["store"])

    def logits(self) -> dict:
        with np.load(self.path / LOGITS) as z:
            return {k: z[k] for k in z.files}

    def test_indices(self) -> np.ndarray:
        """Store row ids of the test images, in the order of ``logits.npz``."""
        with np.load(self.path / LOGITS) as z:
            return z["index"]

    @property
    def history(self) -> list[dict]:
        return [json.loads(line) for line in (self.path / HISTORY).read_text().splitlines() if line.strip()]


def load_run(path: str | Path) -> Run:
    """Load a finished run; a clear :class:`RunError` for a missing or unfinished one."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        raise RunError(
            f"{path} is not a run directory (no {CONFIG}); train it with `ferbench train` or `ferbench grid`"
        )
    if not is_finished(path):
        raise RunError(
            f"{path} has not finished training (no {METRICS}); re-run the same `ferbench grid` to resume it"
        )
    try:
        config = json.loads((path / CONFIG).read_text())
        metrics = json.loads((path / METRICS).read_text())
    except (OSError, ValueError) as err:
        raise RunError(f"{path} is damaged ({type(err).__name__}: {err}); delete it and re-run its training") from None
    return Run(path=path, config=config, metrics=metrics)


def find_runs(root: str | Path) -> list[Path]:
    """Every finished run directory under ``root``, sorted."""
    return sorted(p.parent for p in Path(root).rglob(METRICS))
