"""The one figure layout the probes share: test accuracy (%) against a probe's strength, a line per variant."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def accuracy_axes(path: Path, title: str, xlabel: str, legend_size: float | None = None) -> Iterator:
    """Yield matplotlib axes to draw lines on; on exit label them, add the legend and save to ``path``."""
    import matplotlib

    matplotlib.use("Agg")  # probes run on headless machines
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    try:
        yield ax
        ax.set(xlabel=xlabel, ylabel="test accuracy (%)", title=title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=legend_size)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
    finally:
        plt.close(fig)
