"""The report's figures, drawn through :mod:`ferbench.figure_style`: PNG always, PDF too when LaTeX is written.

Each function draws the figures of one kind from collected data and returns :class:`Figure` records:
the files, a caption that states what is plotted, n and the key, and the key of the table the figure
illustrates (the HTML page puts it beside that table). The resize and corruption figures are the
probes' own plots (:func:`ferbench.probes.resize.plot_sweep`, :func:`ferbench.probes.corruptions.plot_corruptions`)
over every run of a model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from ferbench import figure_style as style
from ferbench.report import display as dp
from ferbench.report.collect import Collection, aggregate
from ferbench.report.tables import (
    arch_order,
    att_order,
    grid_key,
    model_label,
    resize_native,
    slug,
    varying_keys,
)


@dataclass
class Figure:
    key: str  # file stem, unique in the report
    section: str  # a key of tables.SECTIONS
    caption: str
    paths: list[Path]  # [png] or [png, pdf]
    table: str | None = None  # key of the Table this figure illustrates

    @property
    def png(self) -> Path:
        return self.paths[0]

    @property
    def pdf(self) -> Path:
        return next((p for p in self.paths if p.suffix == ".pdf"), self.paths[0])


def _groups(coll: Collection, keys: list[str]):
    """(label, run_ids, record) per model group, ``keys`` always including dataset."""
    keys = list(dict.fromkeys(["dataset", *keys]))
    for key, g in coll.runs.groupby(keys, sort=True, dropna=False):
        rec = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=False))
        varying = varying_keys(coll.runs[coll.runs["dataset"] == rec["dataset"]], keys)
        yield f"{model_label(rec, keys, varying)}, {dp.dataset_name(rec['dataset'])}", list(g["run_id"]), rec


def _num_classes(coll: Collection, ids: list[str]) -> int | None:
    k = coll.runs.loc[coll.runs["run_id"].isin(ids), "num_classes"].dropna().unique()
    return int(k[0]) if len(k) == 1 and k[0] > 0 else None


def _runs_text(n: int) -> str:
    return f"n={n} run{'s' if n != 1 else ''}"


def confusion_figure(cm: np.ndarray, classes: list[str], title: str, stem: Path, pdf: bool) -> list[Path]:
    """Row-normalised confusion matrix in % of each true class (recall on the diagonal)."""
    cm = np.asarray(cm, dtype=float)
    norm = 100 * cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k = len(classes)
    with style.Canvas(stem, width=1.6 + 0.62 * k, height=1.3 + 0.55 * k, pdf=pdf) as c:
        im = c.ax.imshow(norm, cmap=style.CONFUSION, vmin=0, vmax=100)
        c.ax.set_xticks(range(k), classes, rotation=45, ha="right")
        c.ax.set_yticks(range(k), classes)
        c.ax.set(xlabel="predicted class", ylabel="true class")
        for i in range(k):
            for j in range(k):
                c.ax.text(j, i, f"{norm[i, j]:.0f}", ha="center", va="center", fontsize=style.SMALL - 1,
                          color=style.text_colour(norm[i, j], 0, 100, style.CONFUSION))
        style.colorbar(c.fig, im, c.ax, "% of the true class's test images", percent=True)
        c.title(title)
    return c.paths


def confusion_figures(coll: Collection, keys: list[str], out: Path, pdf: bool) -> list[Figure]:
    made = []
    for label, ids, rec in _groups(coll, keys):
        cms = [coll.confusion[i] for i in ids if i in coll.confusion]
        if not cms or len({c.shape for c in cms}) != 1:
            continue
        classes = coll.runs.loc[coll.runs["run_id"] == ids[0], "classes"].iloc[0].split("|")
        if len(classes) != cms[0].shape[0]:
            classes = [str(i) for i in range(cms[0].shape[0])]
        stem = slug("confusion", *rec.values())
        title = f"Confusion matrix: {label} ({_runs_text(len(cms))}, summed)"
        made.append(Figure(stem, "metrics", style.caption(
            title, "Each row in % of that true class's test images, so the diagonal is each class's recall"),
            confusion_figure(sum(cms), classes, title, out / stem, pdf), table=slug("per_class", rec["dataset"])))
    return made


def _run_name(row) -> str:
    parts = [f"seed {row['seed']}"]
    if int(row["fold"]) != -1:
        parts.append(f"fold {row['fold']}")
    return ", ".join(parts)


def curve_figures(coll: Collection, keys: list[str], out: Path, pdf: bool) -> list[Figure]:
    """Loss and accuracy (%) per epoch, train (solid) and validation (dashed), one colour per run."""
    h = coll.history
    made = []
    if not len(h):
        return made
    runs = coll.runs.set_index("run_id")
    for label, ids, rec in _groups(coll, keys):
        sub = h[h["run_id"].isin(ids)]
        if not len(sub):
            continue
        rids = sorted(sub["run_id"].unique(), key=lambda r: (runs.loc[r, "seed"], runs.loc[r, "fold"]))
        stem = slug("curves", *rec.values())
        title = f"Training curves: {label} ({_runs_text(len(rids))})"
        with style.Canvas(out / stem, width="wide", height=3.5, ncols=2, pdf=pdf) as c:
            a1, a2 = c.axes
            handles = []
            for i, rid in enumerate(rids):
                g = sub[sub["run_id"] == rid].sort_values("epoch")
                colour = f"C{i % 10}" if len(rids) <= 10 else matplotlib.colormaps["viridis"](i / len(rids))
                for ax, m, scale in ((a1, "loss", 1.0), (a2, "acc", 100.0)):
                    for split, ls in (("train", "-"), ("val", "--")):
                        col = f"{split}_{m}"
                        if col in g and g[col].notna().any():
                            ax.plot(g["epoch"], scale * pd.to_numeric(g[col], errors="coerce"), ls=ls,
                                    color=colour, lw=1.2)
                handles.append(Line2D([], [], color=colour, lw=2, label=_run_name(runs.loc[rid])))
            handles += [Line2D([], [], color="0.2", ls="-", label="train"),
                        Line2D([], [], color="0.2", ls="--", label="validation")]
            a1.set(xlabel="epoch", ylabel="loss")
            a1.grid(axis="y", alpha=0.3)
            a2.set_xlabel("epoch")
            style.percent_axis(a2, label="accuracy (%)")
            for ax in (a1, a2):
                style.integer_axis(ax)
            a2.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                      title="run / split")
            c.title(title)
        made.append(Figure(stem, "metrics", style.caption(
            title, "Solid: training set, dashed: validation set; one colour per run (seed, fold)",
            "The test set is never seen during training; the best validation epoch's weights are tested"),
            c.paths, table=slug("metrics", rec["dataset"])))
    return made


def resize_figures(coll: Collection, keys: list[str], out: Path, pdf: bool) -> list[Figure]:
    """The resize probe's plot over every run of a model: mean line per method, ± std band."""
    from ferbench.probes.resize import plot_sweep

    made = []
    if not len(coll.resize):
        return made
    for label, ids, rec in _groups(coll, keys):
        sub = coll.resize[coll.resize["run_id"].isin(ids)]
        if not len(sub):
            continue
        native = resize_native(coll, sub)
        n = sub["run_id"].nunique()
        stem = slug("resize", *rec.values())
        title = f"Resolution sweep: {label} ({_runs_text(n)})"
        clean = pd.to_numeric(coll.runs.loc[coll.runs["run_id"].isin(ids), "accuracy"], errors="coerce").mean()
        paths = plot_sweep(sub, out / f"{stem}.png", title, native=native,
                           num_classes=_num_classes(coll, ids), pdf=pdf, clean=clean)
        notes = ["Each test image is resized to the side on the x axis and back to the model's input size"]
        if native:
            notes.append(f"Right of the dashed line the side is below the native {native} px and detail is lost")
            if (pd.to_numeric(sub["size"], errors="coerce") >= native).any():
                notes.append("The shaded sizes, the native one and above, remove no detail: above it the image "
                             "is upsampled and back")
        notes.append("Dotted: clean, the runs' own test accuracy (no resize step)")
        if n > 1:
            notes.append("Line: mean over the runs; band: ± one standard deviation")
        made.append(Figure(stem, "resize", style.caption(title, *notes), paths, table=stem))
    return made


def corrupt_figures(coll: Collection, keys: list[str], out: Path, pdf: bool) -> list[Figure]:
    """The corruption probe's plot over every run of a model."""
    from ferbench.probes.corruptions import plot_corruptions

    made = []
    if not len(coll.corrupt):
        return made
    for label, ids, rec in _groups(coll, keys):
        sub = coll.corrupt[coll.corrupt["run_id"].isin(ids)]
        if not len(sub):
            continue
        n = sub["run_id"].nunique()
        stem = slug("corrupt", *rec.values())
        title = f"Corruptions: {label} ({_runs_text(n)})"
        paths = plot_corruptions(sub, out / f"{stem}.png", title, num_classes=_num_classes(coll, ids), pdf=pdf)
        made.append(Figure(stem, "corrupt", style.caption(
            title, "Test accuracy at five severities of each corruption, from the clean test set (if measured)",
            "Line: mean over the runs; band: ± one standard deviation" if n > 1 else ""), paths, table=stem))
    return made


def heatmap_figures(coll: Collection, metric: str, out: Path, pdf: bool) -> list[Figure]:
    """Architecture × attention heat map of the mean metric, one per dataset, activation and heads."""
    made = []
    runs = coll.runs
    if not len(runs) or metric not in runs:
        return made
    agg = aggregate(runs, ["dataset", "activation", "heads", "arch", "attention"], [metric])
    pct = metric in dp.PERCENT_METRICS
    multi_heads = runs["heads"].nunique() > 1
    unit = " (%)" if pct else ""
    for (ds, act, heads), g in agg.groupby(["dataset", "activation", "heads"], sort=True):
        archs = sorted(g["arch"].unique(), key=arch_order)
        atts = sorted(g["attention"].unique(), key=att_order)
        grid = np.full((len(archs), len(atts)), np.nan)
        ns = np.zeros_like(grid, dtype=int)
        for r in g.itertuples():
            i, j = archs.index(r.arch), atts.index(r.attention)
            grid[i, j] = getattr(r, f"{metric}_mean") * (100 if pct else 1)
            ns[i, j] = getattr(r, f"{metric}_n")
        stem = slug("heatmap", ds, act, heads if multi_heads else "", metric)
        heads_txt = f", heads {heads}" if multi_heads else ""
        title = (f"{dp.metric_name(metric)}{unit}: {dp.dataset_name(ds)}, "
                 f"{dp.ACTIVATION_NAMES.get(act, act)}{heads_txt}")
        lo, hi = np.nanmin(grid), np.nanmax(grid)
        with style.Canvas(out / stem, width=2.4 + 1.3 * len(atts), height=1.5 + 0.5 * len(archs), pdf=pdf) as c:
            im = c.ax.imshow(np.ma.masked_invalid(grid), cmap=style.SEQUENTIAL, aspect="auto")
            c.ax.set_xticks(range(len(atts)), [dp.ATTENTION_NAMES.get(a) or "none" for a in atts])
            c.ax.set_yticks(range(len(archs)), [dp.arch_name(a) for a in archs])
            c.ax.set(xlabel="attention module", ylabel="architecture")
            for i in range(len(archs)):
                for j in range(len(atts)):
                    if not np.isnan(grid[i, j]):
                        text = f"{grid[i, j]:.1f}%" if pct else f"{grid[i, j]:.3f}"
                        c.ax.text(j, i, f"{text}\nn={ns[i, j]}", ha="center", va="center",
                                  fontsize=style.SMALL - 1,
                                  color=style.text_colour(grid[i, j], lo, hi, style.SEQUENTIAL))
            style.colorbar(c.fig, im, c.ax, f"mean {dp.metric_name(metric).lower()}{unit}", percent=pct)
            c.title(title)
        made.append(Figure(stem, "grid", style.caption(
            title, "Each cell: the mean over its n runs (seeds × folds), also its colour; empty: no run"),
            c.paths, table=grid_key(act, heads, multi_heads)))
    return made


def subgroup_figures(coll: Collection, out: Path, pdf: bool) -> list[Figure]:
    """Per-group accuracy bars (%) with the probe's 95% confidence intervals, one figure per run."""
    made = []
    sg = coll.subgroups
    if not len(sg):
        return made
    runs = coll.runs.set_index("run_id")
    for rid, g in sg.groupby("run_id", sort=True):
        if rid not in runs.index:
            continue
        acc = 100 * pd.to_numeric(g["accuracy"], errors="coerce").to_numpy()
        lo = 100 * pd.to_numeric(g["ci_low"], errors="coerce").to_numpy()
        hi = 100 * pd.to_numeric(g["ci_high"], errors="coerce").to_numpy()
        err = np.vstack([np.nan_to_num(acc - lo), np.nan_to_num(hi - acc)])
        r = runs.loc[rid]
        stem = slug("subgroups", rid)
        model = f"{dp.model_name(r['arch'], r['attention'])}, {dp.dataset_name(r['dataset'])}"
        title = f"Accuracy per group: {model}, {rid}"
        with style.Canvas(out / stem, width="narrow", height=3.4, pdf=pdf) as c:
            labels = [f"{grp}\nn={int(n)} images" for grp, n in zip(g["group"], g["n"], strict=False)]
            c.ax.bar(range(len(g)), acc, yerr=err, capsize=5, color=[f"C{i}" for i in range(len(g))],
                     width=0.6)
            c.ax.set_xticks(range(len(g)), labels)
            style.percent_axis(c.ax, label="test accuracy (%), 95% CI")
            k = r.get("num_classes")
            style.chance_line(c.ax, int(k) if pd.notna(k) else None)
            if c.ax.get_legend_handles_labels()[0]:
                style.legend(c.ax, where="best")
            c.title(title)
        made.append(Figure(stem, "subgroups", style.caption(
            title, "Bars: accuracy on each group's test images; whiskers: the probe's bootstrap 95% interval"),
            c.paths, table="subgroups"))
    return made


def reliability_figures(coll: Collection, keys: list[str], out: Path, pdf: bool) -> list[Figure]:
    """Reliability diagram per dataset: accuracy against mean top-1 confidence in the 15 ECE bins, the bins
    of a model's runs pooled (counts summed), one line per model; the diagonal is perfect calibration."""
    from ferbench.metrics import ECE_BINS

    made = []
    cal = coll.calibration
    if not len(cal):
        return made
    cal = cal[cal["count"] > 0]
    for ds in sorted(coll.runs["dataset"].unique(), key=str):
        groups = [(label, ids, rec) for label, ids, rec in _groups(coll, keys) if rec["dataset"] == ds
                  and cal["run_id"].isin(ids).any()]
        if not groups:
            continue
        groups.sort(key=lambda x: (arch_order(x[2].get("arch", "")), att_order(x[2].get("attention", ""))))
        stem = slug("reliability", ds)
        title = f"Reliability diagram: {dp.dataset_name(ds)}"
        with style.Canvas(out / stem, width="wide" if len(groups) > 4 else "single", height=4.2, pdf=pdf) as c:
            style.identity_line(c.ax)
            for i, (label, ids, _rec) in enumerate(groups):
                sel = cal[cal["run_id"].isin(ids)].assign(
                    _c=lambda d: d["confidence"] * d["count"], _a=lambda d: d["accuracy"] * d["count"])
                b = sel.groupby("bin")[["count", "_c", "_a"]].sum()
                ece = pd.to_numeric(coll.runs.loc[coll.runs["run_id"].isin(ids), "ece"], errors="coerce").dropna()
                ece_txt = f"ECE {ece.mean():.3f}" + (f" ± {ece.std(ddof=1):.3f}" if len(ece) > 1 else "")
                c.ax.plot(100 * b["_c"] / b["count"], 100 * b["_a"] / b["count"], marker="o", ms=3, lw=1.2,
                          color=f"C{i % 10}", label=f"{label.split(', ')[0]} ({ece_txt}, {_runs_text(len(ece))})")
            style.percent_axis(c.ax, "y", "accuracy in the bin (%)")
            style.percent_axis(c.ax, "x", "mean top-1 confidence in the bin (%)")
            style.legend(c.ax, where="right" if len(groups) > 4 else "best")
            c.title(title)
        made.append(Figure(stem, "metrics", style.caption(
            title, f"Test images in {ECE_BINS} equal-width bins of top-1 confidence, each model's runs pooled; "
            "a point below the dashed diagonal is over-confident",
            "ECE: mean ± std over the model's runs, lower is better"), c.paths, table=slug("metrics", ds)))
    return made


def all_figures(coll: Collection, out: Path, keys: list[str], metric: str = "accuracy",
                pdf: bool = False) -> list[Figure]:
    """Every figure of the report, in section order."""
    return [
        *heatmap_figures(coll, metric, out, pdf),
        *confusion_figures(coll, keys, out, pdf),
        *curve_figures(coll, keys, out, pdf),
        *reliability_figures(coll, keys, out, pdf),
        *resize_figures(coll, keys, out, pdf),
        *subgroup_figures(coll, out, pdf),
        *corrupt_figures(coll, keys, out, pdf),
    ]
