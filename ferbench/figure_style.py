"""How every ferbench figure looks: sizes, fonts, percent axes, labelled colour bars, wrapped titles, saving.

The report's figures (heat maps, confusion matrices, training curves, resize and corruption sweeps,
subgroup bars) and the probes' own (``resize.png``, ``corrupt.png``, the Grad-CAM grids) are all drawn
through :class:`Canvas` and the helpers below, so a reader meets one visual language everywhere:

* accuracies are percentages on a 0–100% axis (a zoomed axis makes a 2-point change look like a
  collapse), with the chance level drawn when the class count is known;
* every colour scale has a colour bar whose label names the quantity and its unit;
* epochs, severities and other counts get integer ticks;
* titles are wrapped to the figure's width, never clipped; figures use a constrained layout;
* each figure's report caption is built by :func:`caption`: what is plotted, then n and the key.

A new figure (a reliability diagram, say) uses the same pieces and needs no styling of its own.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; ferbench never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402

DPI = 110
FONT = 9  # body text: axis labels, legends
SMALL = 8  # tick labels, text inside cells
TITLE = 10
WIDTH = {"narrow": 4.2, "single": 6.4, "wide": 9.6}  # inches
RC = {
    "font.size": FONT,
    "axes.titlesize": TITLE,
    "axes.labelsize": FONT,
    "xtick.labelsize": SMALL,
    "ytick.labelsize": SMALL,
    "legend.fontsize": SMALL,
    "legend.title_fontsize": SMALL,
    "figure.titlesize": TITLE,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": DPI,
    "pdf.fonttype": 42,  # TrueType in PDFs: text stays text when pasted into a paper
}
SEQUENTIAL = "viridis"  # metric heat maps
CONFUSION = "Blues"
CAM = "jet"  # Grad-CAM's conventional map; its colour bar says what the colours mean
ACCURACY = "test accuracy (%)"
CHANCE_STYLE = {"ls": ":", "color": "0.45", "lw": 1.0}


class Canvas:
    """A styled figure that saves itself: ``with Canvas(out / "stem", pdf=True) as c: c.ax.plot(...)``.

    On a clean exit the figure is written as ``stem.png`` (and ``stem.pdf`` when ``pdf``); ``paths``
    lists what was written. The figure is closed either way.
    """

    def __init__(self, stem: str | Path, *, width: str | float = "single", height: float = 3.6,
                 nrows: int = 1, ncols: int = 1, pdf: bool = False, **subplots):
        self.stem = Path(stem)
        self.pdf = pdf
        self.paths: list[Path] = []
        w = WIDTH[width] if isinstance(width, str) else float(width)
        self._rc = plt.rc_context(RC)
        self._rc.__enter__()
        self.fig, self.axes = plt.subplots(nrows, ncols, figsize=(w, height), layout="constrained", **subplots)
        self.ax = self.axes if nrows * ncols == 1 else np.ravel(self.axes)[0]

    def __enter__(self) -> Canvas:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self.paths = save(self.fig, self.stem, self.pdf)
        finally:
            plt.close(self.fig)
            self._rc.__exit__(None, None, None)

    def title(self, text: str, ax=None) -> None:
        """A title wrapped to the width it sits over: the figure's (several axes) or one axes'."""
        if ax is None and np.size(self.axes) > 1:
            self.fig.suptitle(wrap(text, self.fig.get_figwidth(), TITLE))
            return
        ax = ax if ax is not None else self.ax
        share = min(1.0, max(0.3, ax.get_position().width))
        ax.set_title(wrap(text, self.fig.get_figwidth() * share, TITLE))


def stem_of(path: str | Path) -> Path:
    """The stem :func:`save` takes for a picture to be written at ``path`` (``x.png`` → ``x``)."""
    path = Path(path)
    return path.with_name(path.name[:-4]) if path.suffix in (".png", ".pdf") else path


def save(fig, stem: Path, pdf: bool = False) -> list[Path]:
    """Write ``stem.png`` (and ``stem.pdf``); the folder is created."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    # appended, not with_suffix: a stem may hold dots of its own (".resize.tmp-123", an atomic temporary)
    paths = [stem.with_name(stem.name + ".png")]
    # "tight" as a last guard: no label, colour-bar title or wrapped title is ever cut at the edge
    fig.savefig(paths[0], dpi=DPI, bbox_inches="tight", pad_inches=0.06)
    if pdf:
        paths.append(stem.with_name(stem.name + ".pdf"))
        fig.savefig(paths[1], bbox_inches="tight", pad_inches=0.06)
    return paths


def wrap(text: str, width_in: float, size: float = TITLE) -> str:
    """``text`` broken into lines that fit ``width_in`` inches at font ``size`` (an average glyph is
    about 0.55 em wide, so a 6.4-inch title at 10 pt holds ~80 characters)."""
    chars = max(20, int(width_in * 72 / (0.56 * size)))
    return "\n".join(textwrap.wrap(str(text), chars, break_on_hyphens=False)) or str(text)


def percent_axis(ax, axis: str = "y", label: str = ACCURACY, lim: tuple[float, float] | None = (0, 100)) -> None:
    """Values already in percent: ticks as ``40%``, the full 0–100 range unless ``lim`` says otherwise."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(label)
    if lim is not None:
        (ax.set_ylim if axis == "y" else ax.set_xlim)(*lim)
    ax.grid(axis=axis, alpha=0.3)


def chance_line(ax, num_classes: int | None) -> None:
    """The accuracy of guessing among ``num_classes`` classes, as a dotted line with its legend entry."""
    if num_classes and num_classes > 1:
        ax.axhline(100 / num_classes, **CHANCE_STYLE, label=f"chance (1/{num_classes})", zorder=0)


def identity_line(ax, label: str = "perfect calibration") -> None:
    """y = x over a 0–100% by 0–100% plot (a reliability diagram's reference), dashed, with its legend entry."""
    ax.plot([0, 100], [0, 100], ls="--", color="0.45", lw=1.0, label=label, zorder=0)


def integer_axis(ax, axis: str = "x") -> None:
    """Counts (epochs, severities): ticks at whole numbers only."""
    (ax.xaxis if axis == "x" else ax.yaxis).set_major_locator(MaxNLocator(integer=True))


def colorbar(fig, mappable, ax, label: str, percent: bool = False):
    """A colour bar is never without its quantity and unit: ``label`` is required."""
    cb = fig.colorbar(mappable, ax=ax, fraction=0.05, pad=0.03)
    cb.set_label(label)
    if percent:
        cb.ax.yaxis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
    return cb


def text_colour(value: float, lo: float, hi: float, cmap: str) -> str:
    """Black or white, whichever reads on the colour ``value`` gets in ``cmap`` over [lo, hi]."""
    t = 0.5 if not hi > lo else (value - lo) / (hi - lo)
    r, g, b, _ = matplotlib.colormaps[cmap](float(np.clip(t, 0, 1)))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def legend(ax, title: str | None = None, where: str = "best", **kw) -> None:
    """The legend: ``where="right"`` beside the axes (many runs: it must not hide the lines), ``"below"``
    under the x axis in columns, else matplotlib's best spot inside."""
    if where == "right":
        ax.legend(title=title, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0, **kw)
    elif where == "below":
        n = len(ax.get_legend_handles_labels()[0])
        ax.legend(title=title, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=min(3, max(1, n)),
                  frameon=False, **kw)
    else:
        ax.legend(title=title, **kw)


def caption(what: str, *notes: str) -> str:
    """A report caption: what is plotted first, then n, the key and the units, one sentence each."""
    parts = [what.rstrip(". "), *(n.rstrip(". ") for n in notes if n)]
    return ". ".join(parts) + "."
