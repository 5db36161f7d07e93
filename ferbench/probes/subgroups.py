"""Subgroup accuracy with honest uncertainty: per-group metrics and bootstrap confidence intervals.

The third document splits FERPlus test images into kids and adults and concludes from a 2-point
accuracy gap and from class cells of 4–7 images. This probe reports, per group, the counts per
class, accuracy, balanced accuracy and confusion matrix, a bootstrap 95% interval for each group's
accuracy and for every pairwise difference between groups, and a warning for each group×class cell
under :data:`MIN_CELL` images.

Groups come from a CSV (``--groups FILE.csv``, columns ``group`` and ``index`` or ``source``/``path``)
or from a store meta column (``--groups-from-meta group``; the synthetic store has child/adult).
CSV rows are matched to store rows by index, or by source path — exactly, else by the longest
trailing path components that name a single image (so absolute and dataset-relative paths both
match). Rows matching no image are counted and listed; rows matching a non-test image are counted.

Predictions are the run's own test logits (``logits.npz``), so the groups add up to the run's
reported accuracy. Intervals are percentile bootstraps over the independent unit: the store's subjects
when it records them (CK+, JAFFE, synthetic: a subject's images — several frames of one sequence — are
not independent draws, so resampling images would make the intervals too narrow), else the images.
Each group is resampled within itself (``resamples`` times, seeded), a difference uses independent
resamples of the two groups, and the same resamples give the interval of the balanced-accuracy
difference (the groups' class mixes differ, so plain accuracy partly measures the mix). The whole test
set gets an accuracy interval over the same unit (``overall``).
"""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from ferbench.probes.outputs import current, file_token, probe_dir, write_outputs
from ferbench.probes.runs import ProbeError

MIN_CELL = 10
MIN_UNITS = 10  # below this many subjects a percentile bootstrap has only a handful of distinct resamples
RESAMPLES = 2000


def cluster_bootstrap(labels: np.ndarray, pred: np.ndarray, units: np.ndarray, num_classes: int,
                      resamples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap accuracy and balanced accuracy resampling whole ``units`` (subject ids, or one per image)
    with replacement; returns two arrays of ``resamples`` values.

    Each unit is summarised by its per-class image and correct counts; a resample is a multiplicity per
    unit, so every statistic is a weighted sum (vectorised, chunked to bound memory). Balanced accuracy
    is the mean recall over the classes present in the resample.
    """
    _, unit_id = np.unique(np.asarray(units).astype(str), return_inverse=True)
    n_units = int(unit_id.max()) + 1 if len(unit_id) else 0
    if n_units == 0:
        return np.full(resamples, np.nan), np.full(resamples, np.nan)
    y = np.asarray(labels, dtype=np.int64)
    cell = unit_id * num_classes + y
    count = np.bincount(cell, minlength=n_units * num_classes).reshape(n_units, num_classes).astype(float)
    right = np.bincount(cell, weights=(np.asarray(pred) == y).astype(float),
                        minlength=n_units * num_classes).reshape(n_units, num_classes)
    acc, bal = np.empty(resamples), np.empty(resamples)
    step = max(1, 8_000_000 // n_units)
    for lo in range(0, resamples, step):
        hi = min(resamples, lo + step)
        draw = rng.integers(0, n_units, size=(hi - lo, n_units)) + n_units * np.arange(hi - lo)[:, None]
        mult = np.bincount(draw.ravel(), minlength=(hi - lo) * n_units).reshape(hi - lo, n_units)
        n, k = mult @ count, mult @ right
        acc[lo:hi] = k.sum(1) / n.sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            bal[lo:hi] = np.nanmean(np.where(n > 0, k / n, np.nan), axis=1)
    return acc, bal


def percentile_ci(samples: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo, hi = np.nanquantile(samples, [a, 1 - a])
    return float(lo), float(hi)


# ---- group assignment ------------------------------------------------------------------------------


def _norm_path(p: str) -> str:
    p = str(p).strip().replace("\\", "/")
    while p.startswith("./"):
        p = p[2:]
    return p


def _suffix_index(sources: list[str]) -> dict[str, int]:
    """Every trailing run of path components → store row, ``-1`` where two rows share it."""
    table: dict[str, int] = {}
    for row, src in enumerate(sources):
        parts = [x for x in _norm_path(src).split("/") if x]
        for k in range(len(parts)):
            key = "/".join(parts[k:])
            table[key] = row if key not in table else (-1 if table[key] != row else row)
    return table


def match_groups_csv(path: str | Path, meta: pd.DataFrame) -> tuple[pd.Series, dict]:
    """Read a groups CSV and map it onto store rows: (group per store row, '' where none), report.

    The report has ``rows``, ``matched``, ``unmatched`` (count) and ``unmatched_rows`` (their keys).
    """
    path = Path(path)
    if not path.is_file():
        what = "a folder, not a CSV file" if path.is_dir() else "no such file"
        raise ProbeError(f"--groups {path}: {what}; give a CSV with columns group and index or source")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ProbeError(f"--groups {path}: not a readable CSV ({err}); expected columns group,source"
                         ) from None
    cols = {c.strip().lower(): c for c in df.columns}
    key = next((cols[c] for c in ("index", "source", "path", "file", "image") if c in cols), None)
    if "group" not in cols or key is None:
        raise ProbeError(
            f"--groups {path}: needs a 'group' column and an image column ('index' or 'source'/'path'); "
            f"found {list(df.columns)}"
        )
    gcol = cols["group"]
    groups = pd.Series([""] * len(meta), index=meta.index, dtype=object)
    unmatched: list[str] = []
    if key == cols.get("index"):
        ids = pd.to_numeric(df[key], errors="coerce")
        ok = ids.notna() & (ids >= 0) & (ids < len(meta)) & (ids == ids.round())
        rows = ids[ok].astype(int).to_numpy()
        groups.iloc[rows] = df.loc[ok, gcol].str.strip().to_numpy()
        unmatched = df.loc[~ok, key].tolist()
    else:
        table = _suffix_index(meta["source"].astype(str).tolist())
        for src, g in zip(df[key], df[gcol], strict=True):
            parts = [x for x in _norm_path(src).split("/") if x]
            row = next((table[k] for k in ("/".join(parts[i:]) for i in range(len(parts)))
                        if table.get(k, -1) >= 0), None)
            if row is None:
                unmatched.append(src)
            else:
                groups.iloc[row] = str(g).strip()
    return groups, {
        "file": str(path),
        "key": key,
        "rows": int(len(df)),
        "matched": int(len(df) - len(unmatched)),
        "unmatched": len(unmatched),
        "unmatched_rows": unmatched,
    }


def groups_from_meta(meta: pd.DataFrame, column: str) -> pd.Series:
    if column not in meta.columns:
        raise ProbeError(f"--groups-from-meta {column}: the store has no such column "
                         f"(it has {', '.join(meta.columns)})")
    if pd.api.types.is_float_dtype(meta[column]):
        raise ProbeError(f"--groups-from-meta {column}: a continuous column (every value its own group); "
                         "pick a categorical one, e.g. group")
    return meta[column].astype(str).replace({"nan": ""})


# ---- analysis ------------------------------------------------------------------------------------


def subgroup_analysis(
    labels: np.ndarray,
    logits: np.ndarray,
    groups: np.ndarray,
    classes: list[str],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    level: float = 0.95,
    min_cell: int = MIN_CELL,
    units: np.ndarray | None = None,
) -> dict:
    """Per-group metrics, bootstrap intervals and pairwise differences for aligned test arrays.

    ``logits`` (N, C) scores, ``groups`` one label per test image, ``""`` for an image in no group
    (counted, not used). ``units``: the independent unit of each image (subject ids) the bootstrap
    resamples; ``None`` or all empty: each image is its own unit.
    """
    from ferbench.metrics import classification_metrics

    if resamples < 100:
        raise ProbeError(f"--resamples {resamples}: a percentile interval needs at least 100 (default 2000)")
    labels = np.asarray(labels, dtype=np.int64)
    logits = np.asarray(logits)
    groups = np.asarray(groups, dtype=object).astype(str)
    names = sorted(str(g) for g in set(groups.tolist()) if g)
    if not names:
        raise ProbeError("no test image has a group: check the groups CSV / meta column")
    rng = np.random.default_rng(seed)
    has_units = units is not None and (np.asarray(units, dtype=object).astype(str) != "").all()
    unit_of = (np.asarray(units, dtype=object).astype(str) if has_units
               else np.arange(len(labels)).astype(str))
    pred_all = logits.argmax(1)
    k = len(classes)
    overall_acc, _ = cluster_bootstrap(labels, pred_all, unit_of, k, resamples, rng)
    out_groups: dict[str, dict] = {}
    boots: dict[str, np.ndarray] = {}
    bal_boots: dict[str, np.ndarray] = {}
    warnings: list[str] = []
    for g in names:
        m = groups == g
        y = labels[m]
        cm = classification_metrics(y, logits[m], classes)
        boots[g], bal_boots[g] = cluster_bootstrap(y, pred_all[m], unit_of[m], k, resamples, rng)
        lo, hi = percentile_ci(boots[g], level)
        counts = {c: int(v["support"]) for c, v in cm["per_class"].items()}
        out_groups[g] = {
            "n": int(m.sum()),
            "n_units": int(len(set(unit_of[m].tolist()))),
            "accuracy": cm["accuracy"],
            "ci_low": lo,
            "ci_high": hi,
            "balanced_accuracy": cm["balanced_accuracy"],
            "counts": counts,
            # per-class accuracy = recall; None where the group has no image of the class
            "per_class_accuracy": {c: (v["recall"] if v["support"] else None)
                                   for c, v in cm["per_class"].items()},
            "confusion": cm["confusion"],
        }
        warnings += [f"group {g!r} has {n} test images of {c} (< {min_cell}): its per-class figures are "
                     "not reliable" for c, n in counts.items() if n < min_cell]
        if has_units and out_groups[g]["n_units"] < MIN_UNITS:
            warnings.append(f"group {g!r} has {out_groups[g]['n_units']} subjects in the test split (< {MIN_UNITS}): "
                            "a bootstrap over so few subjects is coarse; its intervals are indicative only")
    diffs = []
    for a, b in combinations(names, 2):
        lo, hi = percentile_ci(boots[b] - boots[a], level)
        blo, bhi = percentile_ci(bal_boots[b] - bal_boots[a], level)
        diffs.append({
            "a": a, "b": b,
            "difference": out_groups[b]["accuracy"] - out_groups[a]["accuracy"],  # b minus a
            "ci_low": lo, "ci_high": hi,
            "excludes_zero": bool(lo > 0 or hi < 0),
            "balanced_accuracy_difference": out_groups[b]["balanced_accuracy"] - out_groups[a]["balanced_accuracy"],
            "balanced_ci_low": blo, "balanced_ci_high": bhi,
        })
    olo, ohi = percentile_ci(overall_acc, level)
    return {
        "classes": list(classes),
        "n_test": int(len(labels)),
        "n_grouped": int(sum(out_groups[g]["n"] for g in names)),
        "n_ungrouped": int((groups == "").sum()),
        "level": level,
        "resamples": int(resamples),
        "seed": int(seed),
        "unit": "subject" if has_units else "image",
        "overall": {"n": int(len(labels)), "n_units": int(len(set(unit_of.tolist()))),
                    "accuracy": float((pred_all == labels).mean()), "ci_low": olo, "ci_high": ohi},
        "groups": out_groups,
        "differences": diffs,
        "warnings": warnings,
    }


def subgroups(
    run: str | Path,
    *,
    groups_csv: str | Path | None = None,
    meta_column: str | None = None,
    out: str | Path | None = None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    device: str = "auto",
    data_dir: str | Path | None = None,
    reuse: bool = False,
) -> tuple[dict, Path]:
    """The subgroup probe on one finished run; writes ``subgroups.json`` and ``subgroups.csv``.

    Exactly one of ``groups_csv`` / ``meta_column``. ``device`` is accepted for the common probe
    interface; the probe reads the run's stored test logits and loads no model. ``reuse``: when the
    files there are current (same groups, resamples and seed, same training of the run), read them
    back instead of computing again.
    """
    from ferbench.rundir import load_run

    del device
    if (groups_csv is None) == (meta_column is None):
        raise ProbeError("subgroups: pass exactly one of --groups FILE.csv or --groups-from-meta COLUMN")
    run_path = Path(run)
    r = load_run(run_path)
    if not (run_path / "logits.npz").is_file():
        raise ProbeError(f"{run_path / 'logits.npz'} is missing: the run is incomplete; re-run its training")
    cell = str(r.config.get("cell", run_path.name))
    d = probe_dir(run_path, cell, out)
    groups_id = {"meta_column": meta_column} if meta_column else {
        "groups_csv": str(groups_csv), "sha256": file_token(groups_csv) if Path(groups_csv).is_file() else None}
    # "bootstrap": outputs of the earlier image-level bootstrap are not current, whatever their options
    options = {**groups_id, "resamples": resamples, "seed": seed, "bootstrap": "unit"}
    if reuse and current(d, "subgroups", options, run_path):
        return json.loads((d / "subgroups.json").read_text()), d
    z = r.logits()
    logits, labels, index = z["logits"], z["labels"], z["index"]
    meta = r.store(data_dir).meta
    csv_report: dict | None = None
    if groups_csv is not None:
        per_row, csv_report = match_groups_csv(groups_csv, meta)
        in_test = set(index.tolist())
        matched_rows = np.flatnonzero(per_row.to_numpy() != "")
        csv_report["matched_not_test"] = int(sum(1 for i in matched_rows if i not in in_test))
    else:
        per_row = groups_from_meta(meta, meta_column)
    test_groups = per_row.to_numpy()[index]
    option = f"--groups {groups_csv}" if groups_csv is not None else f"--groups-from-meta {meta_column}"
    if not (test_groups != "").any():
        why = (f"{csv_report['matched']} of its {csv_report['rows']} rows match store images, "
               f"{csv_report['matched_not_test']} of those outside the test split; {csv_report['key']!r} must "
               "give the store's row id or source path, see its meta.csv" if csv_report
               else "the column is empty for them")
        raise ProbeError(f"{option}: none of the {len(index)} test images of {run_path} has a group ({why})")
    named = test_groups[test_groups != ""]
    if len(named) > 1 and len(set(named.tolist())) == len(named):
        raise ProbeError(f"{option}: every test image is its own group (an id column?); use a column that "
                         "groups images, e.g. group")
    subjects = meta["subject"].astype(str).replace({"nan": ""}).to_numpy()[index] if "subject" in meta else None
    res = subgroup_analysis(labels, logits, test_groups, list(r.config["classes"]),
                            resamples=resamples, seed=seed, units=subjects)
    res = {"cell": cell, "run": str(run_path),
           "source": {"meta_column": meta_column} if meta_column else csv_report, **res}
    if csv_report and csv_report["unmatched"]:
        res["warnings"].insert(0, f"{csv_report['unmatched']} of {csv_report['rows']} rows of {groups_csv} "
                                  "match no image in the store (listed under source.unmatched_rows)")
    write_outputs(d, "subgroups", options, run_path, {
        "subgroups.json": lambda tmp: tmp.write_text(json.dumps(res, indent=2) + "\n"),
        "subgroups.csv": lambda tmp: subgroup_rows(res).to_csv(tmp, index=False),
    })
    return res, d


def subgroup_rows(res: dict) -> pd.DataFrame:
    """The flat table of ``subgroups.csv``: group, n, accuracy, ci_low, ci_high, balanced_accuracy, n_units
    and the bootstrap's unit (subject or image)."""
    cols = ["group", "n", "accuracy", "ci_low", "ci_high", "balanced_accuracy", "n_units"]
    return pd.DataFrame([{"group": g, **{c: v[c] for c in cols[1:]}, "unit": res["unit"]}
                         for g, v in res["groups"].items()], columns=[*cols, "unit"])
