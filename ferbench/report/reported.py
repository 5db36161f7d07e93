"""The numbers the five source documents report, and ferbench's number for the same setting beside each.

``reported.csv`` (shipped in the package) holds one row per printed number: the document (seed file
name and title), the table (or "(text)" passage) and the row/column labels it sits under, the setting
in ferbench's vocabulary (dataset, arch, attention, activation, heads, split, class, target, resize
method and size, group), the metric, the text exactly as printed (``printed``: bold markers, ``\\%``
and typos such as ``64,71M`` or ``0.0.`` kept), the number read from it (``value``, empty where it
cannot be read) with its ``unit``, and ``notes`` on typos and inconsistencies. An empty setting
column means "any": the document does not fix it; ``a|b`` means either (e.g. the first document's
parameter counts hold for its three datasets).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from ferbench.report.collect import SCALAR_METRICS, Collection

REPORTED_CSV = "reported.csv"
COLUMNS = (
    "doc",
    "doc_title",
    "table",
    "row_label",
    "col_label",
    "dataset",
    "arch",
    "attention",
    "activation",
    "heads",
    "variant",
    "split",
    "class",
    "target",
    "method",
    "size",
    "group",
    "metric",
    "printed",
    "value",
    "unit",
    "notes",
)
SELECTORS = ("dataset", "arch", "attention", "activation", "heads")
# Metrics read straight from one column of the runs table.
RUN_COLUMNS = {
    *SCALAR_METRICS,
    "n_test",
    "params",
    "best_epoch",
    "val_accuracy",
    "epochs",
    "lr",
    "batch_size",
    "image_size",
    "epoch_minutes",
    "num_classes",
    "step_size",
    "gamma",
}
FRACTIONS = {
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "val_accuracy",
    "resize_accuracy",
    "subgroup_accuracy",
    "subgroup_difference",
    "gain_vs_baseline",
}


# Reported numbers that ferbench measures under the same name but that cannot be compared, and why.
NOT_COMPARABLE = {
    ("001_27cc889ce1206700", "krippendorff_alpha"): (
        "not comparable: the document prints −0.14 for all three models although their kappas differ "
        "(0.46–0.66); Krippendorff's alpha of labels against predictions tracks kappa (ferbench's does), so "
        "the document's figure is not the same quantity"
    ),
}


def load_reported() -> pd.DataFrame:
    """Every reported fact (all columns as text; ``value`` as float, NaN where unreadable)."""
    with resources.files("ferbench.report").joinpath(REPORTED_CSV).open(encoding="utf-8") as f:
        df = pd.read_csv(f, dtype=str, keep_default_na=False)
    df["value_text"] = df["value"]  # as typed, to print with the document's own decimals
    df["value"] = pd.to_numeric(df["value"], errors="coerce")
    return df


def _select_runs(runs: pd.DataFrame, fact, cache: dict | None = None) -> pd.DataFrame:
    """The runs whose dataset/arch/attention/activation/heads match the fact's (empty = any)."""
    key = tuple(fact[c] for c in SELECTORS)
    if cache is not None and key in cache:
        return cache[key]
    mask = pd.Series(True, index=runs.index)
    for col, want in zip(SELECTORS, key, strict=True):
        if want:  # "a|b": any of them (a setting the document states for several datasets)
            mask &= runs[col].astype(str).isin(want.split("|"))
    sel = runs[mask]
    if cache is not None:
        cache[key] = sel
    return sel


_GROUP_SYNONYMS = {"kid": "child", "kids": "child", "children": "child", "adults": "adult"}


def _same_group(a: str, b: str) -> bool:
    """``kids`` (the third document) is the probe's ``child``; ``adults`` its ``adult``."""
    a, b = (_GROUP_SYNONYMS.get(str(x).lower(), str(x).lower()) for x in (a, b))
    return a == b


def _per_run_values(coll: Collection, fact, runs: pd.DataFrame) -> pd.Series:
    """The fact's metric for each selected run (indexed by run_id; NaN where the run lacks it)."""
    metric, ids = fact["metric"], list(runs["run_id"])

    def from_long(df: pd.DataFrame, col: str, **eq) -> pd.Series:
        sel = df[df["run_id"].isin(ids)]
        for k, v in eq.items():
            sel = sel[sel[k].astype(str) == str(v)]
        return pd.to_numeric(sel.set_index("run_id")[col], errors="coerce")

    if metric in RUN_COLUMNS:
        return pd.to_numeric(runs.set_index("run_id")[metric], errors="coerce")
    if metric in ("precision", "recall", "f1", "support"):
        return from_long(coll.per_class, metric, **{"class": fact["class"]})
    if metric in ("rmse", "corr", "sagr", "ccc"):
        return from_long(coll.va, metric, target=fact["target"])
    if metric == "resize_accuracy":
        sel = coll.resize[
            coll.resize["run_id"].isin(ids) & (coll.resize["method"].astype(str) == fact["method"])
        ]
        sel = sel[pd.to_numeric(sel["size"], errors="coerce") == float(fact["size"])]
        return pd.to_numeric(sel.set_index("run_id")["accuracy"], errors="coerce")
    if metric in ("subgroup_accuracy", "subgroup_n"):
        sel = coll.subgroups[coll.subgroups["run_id"].isin(ids)]
        sel = sel[[_same_group(g, fact["group"]) for g in sel["group"]]]
        return pd.to_numeric(
            sel.set_index("run_id")["accuracy" if metric == "subgroup_accuracy" else "n"], errors="coerce"
        )
    if metric == "subgroup_difference":
        a, _, b = fact["group"].partition("-")
        sub = coll.subgroups[coll.subgroups["run_id"].isin(ids)]
        out = {}
        for rid, grp in sub.groupby("run_id"):
            acc = {g: v for g, v in zip(grp["group"], grp["accuracy"], strict=False)}
            ga = [v for g, v in acc.items() if _same_group(g, a)]
            gb = [v for g, v in acc.items() if _same_group(g, b)]
            if ga and gb:
                out[rid] = float(ga[0]) - float(gb[0])
        return pd.Series(out, dtype=float)
    return pd.Series(dtype=float)  # no ferbench counterpart (a dataset statistic or a setting we do not log)


def _convert(values: np.ndarray, metric: str, unit: str) -> np.ndarray:
    """ferbench's numbers in the document's unit (fractions → % or percentage points, counts → M)."""
    if unit in ("%", "pp") and metric in FRACTIONS:
        return values * 100.0
    if unit == "M":
        return values / 1e6
    return values


def _counterpart(metric: str) -> bool:
    return (
        metric in RUN_COLUMNS
        or metric in FRACTIONS
        or metric in ("precision", "recall", "f1", "support", "rmse", "corr", "sagr", "ccc", "subgroup_n")
    )


def compare(coll: Collection, reported: pd.DataFrame | None = None) -> pd.DataFrame:
    """Each reported fact with ferbench's mean, std and n over the matching runs, and the difference.

    ``status``: ``compared``; ``no run`` (ferbench has no finished run of that dataset/model/setting);
    ``no value`` (matching runs exist but lack this number, e.g. the probe was not run);
    ``not comparable`` (a dataset statistic or setting ferbench does not measure, or a number listed in
    :data:`NOT_COMPARABLE`, whose ``why`` column says why);
    ``unreadable`` (the document's number cannot be read, e.g. ``0.0.``).
    """
    reported = load_reported() if reported is None else reported
    runs = coll.runs
    rows = []
    cache: dict = {}  # facts share settings: select each setting's runs once
    for fact in reported.to_dict("records"):
        metric = fact["metric"]
        mean = std = diff = np.nan
        n = 0
        why = NOT_COMPARABLE.get((fact["doc"], metric), "")
        if why or not _counterpart(metric):
            status = "not comparable"
        elif not len(runs) or not len(selected := _select_runs(runs, fact, cache)):
            status = "no run"
        else:
            if metric == "gain_vs_baseline":
                base = _select_runs(runs, {**fact, "attention": "none"}, cache)
                acc = pd.to_numeric(selected["accuracy"], errors="coerce").dropna()
                acc0 = pd.to_numeric(base["accuracy"], errors="coerce").dropna()
                vals = np.array([acc.mean() - acc0.mean()]) if len(acc) and len(acc0) else np.array([])
                n = len(acc)
            else:
                vals = _per_run_values(coll, fact, selected).dropna().to_numpy(dtype=float)
                n = len(vals)
            if len(vals):
                vals = _convert(vals, metric, fact["unit"])
                mean = float(vals.mean())
                std = float(vals.std(ddof=1)) if len(vals) > 1 else np.nan
                status = "compared" if not pd.isna(fact["value"]) else "unreadable"
                if status == "compared":
                    diff = mean - float(fact["value"])
            else:
                status = "no value"
                n = 0
        rows.append(
            {
                **fact,
                "ours_mean": mean,
                "ours_std": std,
                "ours_n": n,
                "diff": diff,
                "status": status,
                "why": why,
            }
        )
    return pd.DataFrame(rows)
