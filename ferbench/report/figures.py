"""The report's figures (matplotlib, Agg backend): PNG always, and PDF too when LaTeX is written.

Each function draws one figure from collected data and returns the written paths; captions state n.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from ferbench.report import display as dp  # noqa: E402
from ferbench.report.collect import Collection, aggregate  # noqa: E402
from ferbench.report.tables import arch_order, att_order, slug  # noqa: E402


def _save(fig, out: Path, stem: str, pdf: bool) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png"]
    fig.savefig(paths[0], dpi=100)
    if pdf:
        paths.append(out / f"{stem}.pdf")
        fig.savefig(paths[1])
    plt.close(fig)
    return paths


def _groups(coll: Collection, keys: list[str]):
    """(label, run_ids, record) per model group, ``keys`` always including dataset."""
    from ferbench.report.tables import model_label, varying_keys

    keys = list(dict.fromkeys(["dataset", *keys]))
    for key, g in coll.runs.groupby(keys, sort=True, dropna=False):
        rec = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=False))
        varying = varying_keys(coll.runs[coll.runs["dataset"] == rec["dataset"]], keys)
        yield f"{model_label(rec, keys, varying)}, {dp.dataset_name(rec['dataset'])}", list(g["run_id"]), rec


def confusion_figure(
    cm: np.ndarray, classes: list[str], title: str, out: Path, stem: str, pdf: bool
) -> list[Path]:
    """Row-normalised confusion matrix (recall on the diagonal) with class names."""
    cm = np.asarray(cm, dtype=float)
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    k = len(classes)
    fig, ax = plt.subplots(layout="constrained", figsize=(1.0 + 0.62 * k, 0.8 + 0.55 * k))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(k), classes, rotation=45, ha="right")
    ax.set_yticks(range(k), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(k):
        for j in range(k):
            ax.text(
                j,
                i,
                f"{norm[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if norm[i, j] > 0.5 else "black",
            )
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax.set_title(title, fontsize=9)
    return _save(fig, out, stem, pdf)


def confusion_figures(
    coll: Collection, keys: list[str], out: Path, pdf: bool
) -> list[tuple[str, list[Path]]]:
    made = []
    for label, ids, rec in _groups(coll, keys):
        cms = [coll.confusion[i] for i in ids if i in coll.confusion]
        if not cms or len({c.shape for c in cms}) != 1:
            continue
        classes = coll.runs.loc[coll.runs["run_id"] == ids[0], "classes"].iloc[0].split("|")
        if len(classes) != cms[0].shape[0]:
            classes = [str(i) for i in range(cms[0].shape[0])]
        title = f"{label} (summed over n={len(cms)} runs)"
        made.append(
            (title, confusion_figure(sum(cms), classes, title, out, slug("confusion", *rec.values()), pdf))
        )
    return made


def curve_figures(coll: Collection, keys: list[str], out: Path, pdf: bool) -> list[tuple[str, list[Path]]]:
    """Loss and accuracy per epoch, train (solid) vs validation (dashed), every run of a model overlaid."""
    h = coll.history
    made = []
    if not len(h):
        return made
    for label, ids, rec in _groups(coll, keys):
        sub = h[h["run_id"].isin(ids)]
        if not len(sub):
            continue
        fig, (a1, a2) = plt.subplots(1, 2, layout="constrained", figsize=(9, 3.2))
        for i, (_rid, g) in enumerate(sub.groupby("run_id", sort=True)):
            g = g.sort_values("epoch")
            color = f"C{i % 10}"
            for ax, m in ((a1, "loss"), (a2, "acc")):
                for split, style in (("train", "-"), ("val", "--")):
                    col = f"{split}_{m}"
                    if col in g and g[col].notna().any():
                        ax.plot(
                            g["epoch"],
                            g[col],
                            style,
                            color=color,
                            lw=1.2,
                            label=f"{split}" if i == 0 else None,
                        )
        a1.set(xlabel="epoch", ylabel="loss")
        a2.set(xlabel="epoch", ylabel="accuracy")
        a1.legend(fontsize=8)
        title = f"{label} (n={sub['run_id'].nunique()} runs)"
        fig.suptitle(title, fontsize=9)
        made.append((title, _save(fig, out, slug("curves", *rec.values()), pdf)))
    return made


def resize_figures(coll: Collection, keys: list[str], out: Path, pdf: bool) -> list[tuple[str, list[Path]]]:
    """Accuracy against the downscaled size, one line per method (mean over runs, std as a band)."""
    made = []
    if not len(coll.resize):
        return made
    for label, ids, rec in _groups(coll, keys):
        sub = coll.resize[coll.resize["run_id"].isin(ids)].copy()
        if not len(sub):
            continue
        sub["size"] = pd.to_numeric(sub["size"], errors="coerce")
        sub["accuracy"] = pd.to_numeric(sub["accuracy"], errors="coerce")
        fig, ax = plt.subplots(layout="constrained", figsize=(6, 3.6))
        for method, g in sub.groupby("method", sort=True):
            s = g.groupby("size")["accuracy"].agg(["mean", "std"]).sort_index()
            ax.plot(s.index, 100 * s["mean"], marker="o", ms=3, label=dp.method_name(method))
            if s["std"].notna().any():
                ax.fill_between(
                    s.index,
                    100 * (s["mean"] - s["std"].fillna(0)),
                    100 * (s["mean"] + s["std"].fillna(0)),
                    alpha=0.15,
                )
        ax.set(xlabel="downscaled size (px)", ylabel="test accuracy (%)")
        ax.legend(fontsize=8)
        title = f"Resize sweep: {label} (n={sub['run_id'].nunique()} runs)"
        ax.set_title(title, fontsize=9)
        made.append((title, _save(fig, out, slug("resize", *rec.values()), pdf)))
    return made


def heatmap_figures(coll: Collection, metric: str, out: Path, pdf: bool) -> list[tuple[str, list[Path]]]:
    """Architecture × attention heat map of the mean metric, one per dataset (and activation)."""
    made = []
    runs = coll.runs
    if not len(runs) or metric not in runs:
        return made
    agg = aggregate(runs, ["dataset", "activation", "arch", "attention"], [metric])
    pct = metric in dp.PERCENT_METRICS
    for (ds, act), g in agg.groupby(["dataset", "activation"], sort=True):
        archs = sorted(g["arch"].unique(), key=arch_order)
        atts = sorted(g["attention"].unique(), key=att_order)
        grid = np.full((len(archs), len(atts)), np.nan)
        ns = np.zeros_like(grid, dtype=int)
        for r in g.itertuples():
            i, j = archs.index(r.arch), atts.index(r.attention)
            grid[i, j] = getattr(r, f"{metric}_mean") * (100 if pct else 1)
            ns[i, j] = getattr(r, f"{metric}_n")
        fig, ax = plt.subplots(layout="constrained", figsize=(1.6 + 1.3 * len(atts), 1.0 + 0.5 * len(archs)))
        im = ax.imshow(np.ma.masked_invalid(grid), cmap="viridis", aspect="auto")
        ax.set_xticks(range(len(atts)), [dp.ATTENTION_NAMES.get(a) or "none" for a in atts])
        ax.set_yticks(range(len(archs)), [dp.arch_name(a) for a in archs])
        lo, hi = np.nanmin(grid), np.nanmax(grid)
        for i in range(len(archs)):
            for j in range(len(atts)):
                if not np.isnan(grid[i, j]):
                    bright = hi > lo and (grid[i, j] - lo) / (hi - lo) > 0.6  # viridis is light at the top
                    ax.text(
                        j,
                        i,
                        f"{grid[i, j]:.2f}\nn={ns[i, j]}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="black" if bright else "white",
                    )
        fig.colorbar(im, ax=ax)
        title = (
            f"{dp.metric_name(metric)}{' (%)' if pct else ''}: {dp.dataset_name(ds)}, "
            f"{dp.ACTIVATION_NAMES.get(act, act)} (mean over n runs)"
        )
        ax.set_title(title, fontsize=9)
        made.append((title, _save(fig, out, slug("heatmap", ds, act, metric), pdf)))
    return made


def subgroup_figures(coll: Collection, out: Path, pdf: bool) -> list[tuple[str, list[Path]]]:
    """Per-group accuracy bars with the probe's 95% confidence intervals, one figure per run."""
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
        fig, ax = plt.subplots(layout="constrained", figsize=(1.6 + 1.1 * len(g), 3.2))
        labels = [f"{grp}\nn={int(n)}" for grp, n in zip(g["group"], g["n"], strict=False)]
        ax.bar(range(len(g)), acc, yerr=err, capsize=5, color=[f"C{i}" for i in range(len(g))])
        ax.set_xticks(range(len(g)), labels)
        ax.set_ylabel("test accuracy (%) with 95% CI")
        r = runs.loc[rid]
        title = f"{dp.model_name(r['arch'], r['attention'])}, {dp.dataset_name(r['dataset'])}: {rid}"
        ax.set_title(title, fontsize=8)
        made.append((title, _save(fig, out, slug("subgroups", rid), pdf)))
    return made


def all_figures(
    coll: Collection, out: Path, keys: list[str], metric: str = "accuracy", pdf: bool = False
) -> dict[str, list[tuple[str, list[Path]]]]:
    """Every figure, by report section: {section: [(caption, [png, (pdf)]), ...]}."""
    return {
        "grid": heatmap_figures(coll, metric, out, pdf),
        "metrics": confusion_figures(coll, keys, out, pdf) + curve_figures(coll, keys, out, pdf),
        "resize": resize_figures(coll, keys, out, pdf),
        "subgroups": subgroup_figures(coll, out, pdf),
    }
