"""The one figure layout the probes share: test accuracy (%) against a probe's strength, a line per variant.

The probes' own plots (``resize.png``, ``corrupt.png``) and the report's (the same figure over the
runs of one model) are drawn by the same functions, :func:`ferbench.probes.resize.plot_sweep` and
:func:`ferbench.probes.corruptions.plot_corruptions`, on this canvas; several runs become a mean line
with a ± std band.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ferbench import figure_style as style


class AccuracyCanvas(style.Canvas):
    """A :class:`ferbench.figure_style.Canvas` that, on exit, puts the accuracy axis on 0–100%, draws the
    chance level, labels the x axis, wraps the title and adds the legend, then saves."""

    def __init__(self, path: str | Path, title: str, xlabel: str, *, num_classes: int | None = None,
                 pdf: bool = False, legend_title: str | None = None):
        super().__init__(style.stem_of(path), width="single", height=4.4, pdf=pdf)
        self._title, self._xlabel, self._k, self._legend_title = title, xlabel, num_classes, legend_title

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            style.percent_axis(self.ax)
            style.chance_line(self.ax, self._k)
            self.ax.set_xlabel(self._xlabel)
            self.title(self._title)
            style.legend(self.ax, title=self._legend_title, where="below")
        super().__exit__(exc_type, exc, tb)


def mean_line(ax, x, df: pd.DataFrame, label: str, **kw) -> None:
    """One variant's accuracy (fractions in ``df['accuracy']``, one row per run at each x) as a % line:
    the mean over runs, and a ± std band when there is more than one run."""
    g = df.assign(accuracy=pd.to_numeric(df["accuracy"], errors="coerce")).groupby(x, sort=True)["accuracy"]
    s = g.agg(["mean", "std", "count"])
    line = ax.plot(s.index, 100 * s["mean"], marker="o", ms=3.5, label=label, **kw)[0]
    if (s["count"] > 1).any():
        std = 100 * s["std"].fillna(0)
        ax.fill_between(s.index, 100 * s["mean"] - std, 100 * s["mean"] + std, color=line.get_color(),
                        alpha=0.15, lw=0)
