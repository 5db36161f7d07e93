"""Read every run directory (and its probe files) under a results folder into pandas DataFrames.

Run directories are found and read through :mod:`ferbench.rundir` (``config.json``, ``metrics.json``,
``history.jsonl``); probe tables (``probes/*.csv|json``) are read here. Nothing is re-computed. A run
without ``metrics.json`` has not finished:
it is listed as unfinished and never read, so a grid still training can be reported on at any time.
Anything that cannot be read is skipped *and* named in :attr:`Collection.problems` — never dropped
silently — so the rest of the report is still produced.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ferbench import rundir
from ferbench.errors import FerbenchError
from ferbench.probes.outputs import damaged
from ferbench.rundir import CONFIG, METRICS, PROBES

SCALAR_METRICS = (
    "accuracy",
    "balanced_accuracy",
    "macro_f1",
    "kappa",
    "krippendorff_alpha",
    "roc_auc",
    "pr_auc",
    "roc_auc_hard",
    "ece",
)
# Columns that identify a model (the default --group-by): runs sharing them are seeds/folds of one cell.
# ``grid`` names one (store fingerprint, recipe fingerprint) setup of a dataset: it is always a grouping
# key (see check_group_by), so runs of two grids or recipes are never pooled nor paired.
MODEL_KEYS = ("dataset", "grid", "arch", "attention", "activation", "heads")
VA_METRICS = ("rmse", "corr", "sagr", "ccc")


class ReportError(FerbenchError):
    """Bad report input or options (missing results folder, unknown column or format, bad --filter)."""


@dataclass
class Collection:
    """Everything read from the results folders; every table is keyed by ``run_id`` (the run's path below
    its folder, or the whole path where several folders are read)."""

    roots: tuple[Path, ...]
    runs: pd.DataFrame  # one row per finished run
    per_class: pd.DataFrame  # run_id, class, precision, recall, f1, support
    va: pd.DataFrame  # run_id, target (valence|arousal), rmse, corr, sagr, ccc
    history: pd.DataFrame  # run_id, epoch, train_loss, train_acc, val_loss, val_acc, ...
    resize: pd.DataFrame  # run_id, method, size, accuracy, n
    subgroups: pd.DataFrame  # run_id, group, n, accuracy, ci_low, ci_high, balanced_accuracy
    subgroup_diff: pd.DataFrame  # run_id, a, b, diff (= accuracy of a − accuracy of b), ci_low, ci_high,
    # bal_diff, bal_ci_low, bal_ci_high (the same for balanced accuracy), unit (subject | image)
    corrupt: pd.DataFrame  # run_id, corruption, severity, accuracy, n
    calibration: pd.DataFrame = field(default_factory=pd.DataFrame)  # run_id, bin, count, confidence, accuracy
    confusion: dict[str, np.ndarray] = field(default_factory=dict)
    unfinished: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def restrict(self, run_ids) -> Collection:
        """The same collection keeping only ``run_ids`` (what --filter selected)."""
        keep = set(run_ids)

        def sub(df: pd.DataFrame) -> pd.DataFrame:
            return df[df["run_id"].isin(keep)].reset_index(drop=True) if "run_id" in df else df

        return Collection(
            roots=self.roots,
            runs=sub(self.runs),
            per_class=sub(self.per_class),
            va=sub(self.va),
            history=sub(self.history),
            resize=sub(self.resize),
            subgroups=sub(self.subgroups),
            subgroup_diff=sub(self.subgroup_diff),
            corrupt=sub(self.corrupt),
            calibration=sub(self.calibration),
            confusion={k: v for k, v in self.confusion.items() if k in keep},
            unfinished=self.unfinished,
            problems=list(self.problems),
        )


def _read_json(path: Path) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame(columns=columns)


def _run_row(run_id: str, run_dir: Path, cfg: dict, m: dict, hist: list[dict]) -> dict:
    train = cfg.get("train") or {}
    model = cfg.get("model") or {}
    classes = list(m.get("classes") or cfg.get("classes") or [])
    row = {
        "run_id": run_id,
        "path": str(run_dir),
        "cell": m.get("cell", cfg.get("cell", run_id)),
        **{k: m.get(k, cfg.get(k)) for k in ("dataset", "arch", "attention", "activation", "seed", "fold")},
        "heads": model.get("heads") or cfg.get("heads") or "cls",
        "classes": "|".join(classes),
        "num_classes": len(classes),
        **{k: m.get(k) for k in SCALAR_METRICS},
        "accuracy_no_tta": m.get("accuracy_no_tta"),  # TTA runs: the same weights scored without it
        "accuracy_flip_tta": m.get("accuracy_flip_tta"),  # flip + shift TTA runs: scored with the mirror only
        "n_test": m.get("n_test"),
        "n_train": (cfg.get("n") or {}).get("train"),
        "protocol": cfg.get("protocol"),
        "store_fp": rundir.store_fingerprint(cfg) if cfg else rundir.UNKNOWN,
        "recipe_fp": rundir.recipe_fingerprint(cfg) if cfg else rundir.UNKNOWN,
        "grid": "",
        "params": m.get("params", model.get("params")),
        "epochs_run": m.get("epochs_run"),
        "best_epoch": m.get("best_epoch"),
        "train_seconds": m.get("train_seconds"),
        "epochs": train.get("epochs"),
        "lr": train.get("lr"),
        "batch_size": train.get("batch_size"),
        "image_size": train.get("size"),
        # the step schedule's settings mean something only when the run used it
        "step_size": train.get("step_size") if train.get("scheduler") == "step" else None,
        "gamma": train.get("step_gamma") if train.get("scheduler") == "step" else None,
        "val_accuracy": max((h["val_acc"] for h in hist if h.get("val_acc") is not None), default=None),
        "epoch_minutes": (
            float(np.mean([h["seconds"] for h in hist])) / 60.0
            if hist and all("seconds" in h for h in hist)
            else None
        ),
    }
    row["attention"] = row["attention"] or "none"
    row["fold"] = -1 if row["fold"] is None else int(row["fold"])  # -1: no fold (pandas groups drop None)
    row.update(_provenance(cfg))
    row["recipe"] = rundir.flat_recipe(cfg) if cfg else {}  # what an ablation table lists as changed
    return row


def _provenance(cfg: dict) -> dict:
    """How a run was made, as config.json records it (any key may be missing in older runs): the command,
    the git commit, the store and its hash, and the versions of the environment."""
    env = cfg.get("env") if isinstance(cfg.get("env"), dict) else {}
    store = cfg.get("store")
    store_info = store if isinstance(store, dict) else {}
    store_hash = next((v for v in (cfg.get("store_hash"), cfg.get("store_card_hash"), env.get("store_hash"),
                                   *(store_info.get(k) for k in ("card_hash", "hash", "fingerprint")))
                       if v), None)
    dirty = env.get("git_dirty")
    return {
        "command": cfg.get("command"),
        "git_commit": env.get("git_commit") or env.get("git"),
        "git_dirty": None if dirty is None else bool(dirty),
        "store": store if isinstance(store, str) else store_info.get("path") or store_info.get("name"),
        "store_hash": store_hash,
        "environment": ", ".join(f"{k} {v}" for k, v in env.items()
                                 if k not in ("git_commit", "git", "git_dirty", "store_hash") and v is not None),
    }


def _read_probes(run_id: str, probes: Path, out: dict[str, list], problems: list[str]) -> None:
    """Append the probe tables found under ``probes`` (all optional) to ``out``."""
    for name, key, cols in (
        ("resize.csv", "resize", ("method", "size", "accuracy")),
        ("subgroups.csv", "subgroups", ("group", "n", "accuracy")),
        ("corrupt.csv", "corrupt", ("corruption", "severity", "accuracy")),
    ):
        path = probes / name
        if not path.is_file():
            continue
        if why := damaged(probes, name):  # cut short, a partial table would read as a whole one
            problems.append(f"{why}; skipped (re-run the probe)")
            continue
        try:
            df = pd.read_csv(path)
        except (OSError, ValueError) as err:
            problems.append(f"{path}: unreadable ({err}); skipped")
            continue
        missing = [c for c in cols if c not in df.columns]
        if missing:
            problems.append(f"{path}: missing column(s) {', '.join(missing)}; skipped (re-run the probe)")
            continue
        df.insert(0, "run_id", run_id)
        out[key].append(df)
    path = probes / "subgroups.json"
    if path.is_file():
        if why := damaged(probes, "subgroups.json"):
            problems.append(f"{why}; skipped (re-run the probe)")
            return
        try:
            data = _read_json(path)
        except (OSError, ValueError) as err:
            problems.append(f"{path}: unreadable ({err}); skipped")
            return
        overall = data.get("overall") if isinstance(data, dict) else None
        if isinstance(overall, dict):  # the whole test set's accuracy interval, over the same unit
            out["subgroups"].append(pd.DataFrame([{
                "run_id": run_id, "group": "all test images", "n": overall.get("n"),
                "accuracy": overall.get("accuracy"), "ci_low": overall.get("ci_low"),
                "ci_high": overall.get("ci_high"), "n_units": overall.get("n_units"), "unit": data.get("unit")}]))
        # the probe writes each pairwise difference as b − a; keep that orientation explicitly
        for d in data.get("differences") or [] if isinstance(data, dict) else []:
            out["subgroup_diff"].append(
                pd.DataFrame(
                    [
                        {
                            "run_id": run_id,
                            "a": d.get("b"),
                            "b": d.get("a"),
                            "diff": d.get("difference"),
                            "ci_low": d.get("ci_low"),
                            "ci_high": d.get("ci_high"),
                            # the same orientation for the balanced-accuracy difference (newer probes)
                            "bal_diff": d.get("balanced_accuracy_difference"),
                            "bal_ci_low": d.get("balanced_ci_low"),
                            "bal_ci_high": d.get("balanced_ci_high"),
                            # the bootstrap's unit; older probe files resampled images
                            "unit": data.get("unit", "image"),
                        }
                    ]
                )
            )


def _calibration(run_dir: Path, row: dict, m: dict, problems: list[str]) -> dict | None:
    """The run's reliability bins from its test logits; fills ``ece`` and ``roc_auc_hard`` in ``row``
    where metrics.json predates them. None (and a problem named) when the logits are missing."""
    from ferbench.metrics import expected_calibration_error, hard_roc_auc, reliability_bins

    if not (run_dir / rundir.LOGITS).is_file():
        if m.get("ece") is None:
            problems.append(f"{run_dir}: no {rundir.LOGITS}: no ECE, hard-label AUC or reliability diagram")
        return None
    try:
        z = rundir.Run(path=run_dir, config={}, metrics=m).logits()
        labels, logits = z["labels"], z["logits"]
    except (OSError, ValueError, KeyError) as err:
        problems.append(f"{run_dir / rundir.LOGITS}: unreadable ({err}); no ECE or reliability bins for it")
        return None
    if row.get("ece") is None:
        row["ece"] = expected_calibration_error(labels, logits)
    if row.get("roc_auc_hard") is None:
        row["roc_auc_hard"] = hard_roc_auc(labels, np.asarray(logits).argmax(1), np.asarray(logits).shape[1])
    return reliability_bins(labels, logits)


def _drop_duplicates(coll: Collection) -> Collection:
    """Two runs of one cell id with the same fingerprints (a grid copied into two folders) are one
    run: the first is kept, the others are dropped and named, so no mean is over copies of a cell."""
    runs = coll.runs
    if not len(runs):
        return coll
    dup = runs.duplicated(["cell", "store_fp", "recipe_fp"], keep="first")
    if not dup.any():
        return coll
    for _, d in runs[dup].iterrows():
        first = runs[(runs["cell"] == d["cell"]) & (runs["store_fp"] == d["store_fp"])
                     & (runs["recipe_fp"] == d["recipe_fp"])]["run_id"].iloc[0]
        coll.problems.append(f"{d['run_id']} is a duplicate of {first} (same cell {d['cell']} and fingerprints); "
                             "counted once")
    return coll.restrict(runs.loc[~dup, "run_id"])


def _name_grids(runs: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    """``grid``: empty where a dataset has one (store, recipe) setup; else a name per setup: the folder
    its runs sit in above their cell ids (what ``--out``/``--name`` chose), or its recipe fingerprint."""
    if not len(runs):
        return runs
    runs = runs.copy()
    prefix = [r[: -len(c)].strip("/") if c and r.endswith(c) else "" for r, c in zip(runs["run_id"], runs["cell"],
                                                                                      strict=True)]
    # with several results folders a prefix is a whole path: drop the leading folders all of them share
    parts = [p.split("/") for p in prefix if p]
    common = 0
    while parts and all(len(q) > common + 1 and q[common] == parts[0][common] for q in parts):
        common += 1
    runs["_prefix"] = ["/".join(p.split("/")[common:]) if p else p for p in prefix]
    for ds, g in runs.groupby("dataset"):
        setups = list(dict.fromkeys(zip(g["store_fp"], g["recipe_fp"], strict=True)))
        if len(setups) < 2:
            continue
        names = {}
        for st, rc in setups:
            sel = g[(g["store_fp"] == st) & (g["recipe_fp"] == rc)]
            folders = sorted(set(sel["_prefix"]) - {""})
            names[(st, rc)] = ", ".join(folders) if folders else f"recipe {rc[:8]}"
        if len(set(names.values())) < len(names):  # one folder holding two setups: name them by recipe
            names = {k: f"{v} (recipe {k[1][:8]}, store {k[0][:8]})" for k, v in names.items()}
        for (st, rc), name in names.items():
            runs.loc[(runs["dataset"] == ds) & (runs["store_fp"] == st) & (runs["recipe_fp"] == rc), "grid"] = name
        problems.append(f"dataset {ds!r} has runs of {len(setups)} different setups (store or training recipe); "
                        f"they are reported as separate rows, never pooled or paired: {'; '.join(names.values())}")
    return runs.drop(columns="_prefix")


def _fold_counts(runs: pd.DataFrame) -> pd.DataFrame:
    """``k_folds``: the folds a k-fold setup has (the distinct folds any of its runs used); ``folds``: how
    many of them the run's model-and-seed cell finished. A cell with fewer is incomplete."""
    runs = runs.copy()
    runs["k_folds"] = np.nan
    runs["folds_done"] = np.nan
    kfold = runs["fold"] >= 0
    if not kfold.any():
        return runs
    setup = ["dataset", "grid"]
    k = runs[kfold].groupby(setup)["fold"].transform("nunique")
    runs.loc[kfold, "k_folds"] = k
    cell = [*setup, "arch", "attention", "activation", "heads", "seed"]
    runs.loc[kfold, "folds_done"] = runs[kfold].groupby(cell)["fold"].transform("nunique")
    return runs


def _split_class_sets(runs: pd.DataFrame, problems: list[str]) -> pd.DataFrame:
    """Runs of one dataset with different class sets are never pooled: relabel them and say so."""
    for ds, grp in runs.groupby("dataset"):
        sets = list(dict.fromkeys(grp["classes"]))
        if len(sets) < 2:
            continue
        labels = {}
        for i, s in enumerate(sets):
            n = len(s.split("|")) if s else 0
            label = f"{ds} ({n} classes)"
            labels[s] = label if label not in labels.values() else f"{ds} (class set {i + 1})"
        detail = "; ".join(
            f"{labels[s]}: {s.replace('|', ', ')} ({(grp['classes'] == s).sum()} runs)" for s in sets
        )
        problems.append(
            f"dataset {ds!r} has runs with {len(sets)} different class sets, which are not comparable; "
            f"they are reported as separate datasets ({detail}). Pick one with --filter, e.g. num_classes=7"
        )
        mask = runs["dataset"] == ds
        runs.loc[mask, "dataset"] = runs.loc[mask, "classes"].map(labels)
    return runs


def _apply_filter(runs: pd.DataFrame, expr: str) -> pd.DataFrame:
    """``--filter``: a pandas query (``arch == 'vgg19' and seed < 2``) or the shorthand
    ``col=v1|v2,col2=v`` (a comma part without ``=`` is one more value of the column before it)."""
    query_syntax = re.search(r"==|!=|[<>()'\"]|\s(and|or|not|in)\s", expr)
    shorthand = re.match(r"\s*\w+\s*=[^=]", expr) and not query_syntax
    try:
        if shorthand:
            wanted: dict[str, list[str]] = {}
            col = ""
            for part in expr.split(","):
                if "=" in part:
                    col, _, part = part.partition("=")
                    col = col.strip()
                    if col not in runs.columns:
                        raise KeyError(f"no column {col!r}")
                wanted.setdefault(col, []).extend(v.strip() for v in part.split("|"))
            mask = pd.Series(True, index=runs.index)
            for col, vals in wanted.items():
                mask &= runs[col].astype(str).isin(vals)
            return runs[mask]
        return runs.query(expr)
    except Exception as err:  # pandas raises many types for a bad expression; all are the user's input
        cols = ", ".join(c for c in runs.columns if c not in ("path", "classes"))
        raise ReportError(
            f"--filter {expr!r} cannot be applied ({type(err).__name__}: {err}); write a pandas query "
            f"such as \"dataset == 'ckplus' and arch == 'vgg19'\" or col=value[,col=value] over: {cols}"
        ) from None


def _found(roots: list[Path]) -> tuple[list[tuple[str, Path]], list[Path]]:
    """``(run_id, run_dir)`` of every run under ``roots`` and the unfinished run directories. With one
    folder a run's id is its path below it; with several, its whole path (so ids never collide)."""
    runs, unfinished = [], []
    for root in roots:
        if not root.exists():
            raise ReportError(
                f"{root} does not exist: pass the folder your runs were written to (default results/runs), "
                "e.g. `ferbench report results/runs/<grid name>`"
            )
        if not root.is_dir():
            raise ReportError(f"{root} is a file: pass the folder that holds the run directories")
        found = rundir.scan(root)
        unfinished += found.unfinished
        for run_dir in found:
            if len(roots) > 1:
                run_id = run_dir.as_posix()
            else:
                run_id = run_dir.relative_to(root).as_posix() if run_dir != root else run_dir.name
            runs.append((run_id, run_dir))
    return runs, unfinished


def collect(
    results_dir: str | Path | list[str | Path], filter: str | None = None  # noqa: A002 (the CLI's name)
) -> Collection:
    """Read every run under ``results_dir`` (one folder or a list, each searched recursively)."""
    roots = [Path(p) for p in (results_dir if isinstance(results_dir, list | tuple) else [results_dir])]
    if len(set(roots)) < len(roots):
        raise ReportError(f"a results folder is given twice ({', '.join(map(str, roots))}): give each once")
    root = roots[0]
    problems: list[str] = []
    found, unfinished = _found(roots)
    out: dict[str, list] = {
        k: []
        for k in ("runs", "per_class", "va", "history", "resize", "subgroups", "subgroup_diff", "corrupt",
                  "calibration")
    }
    confusion: dict[str, np.ndarray] = {}
    for run_id, run_dir in found:
        try:
            m = rundir.read_metrics(run_dir)
            cfg = rundir.read_config(run_dir) if (run_dir / CONFIG).is_file() else {}
            hist = rundir.read_history(run_dir)
        except (rundir.RunError, OSError, ValueError) as err:
            problems.append(f"{run_dir}: unreadable run files ({err}); skipped — re-run its cell")
            continue
        if not isinstance(m, dict) or m.get("accuracy") is None:
            problems.append(
                f"{run_dir / METRICS}: no 'accuracy' in it (not a ferbench metrics file); skipped"
            )
            continue
        row = _run_row(run_id, run_dir, cfg, m, hist)
        bins = _calibration(run_dir, row, m, problems)
        if bins is not None:
            out["calibration"].append(pd.DataFrame({"run_id": run_id, "bin": np.arange(len(bins["count"])),
                                                    **bins}))
        out["runs"].append(row)
        for cls, d in (m.get("per_class") or {}).items():
            out["per_class"].append(
                {
                    "run_id": run_id,
                    "class": cls,
                    **{k: d.get(k) for k in ("precision", "recall", "f1", "support")},
                }
            )
        for target in ("valence", "arousal"):
            if isinstance(m.get(target), dict):
                out["va"].append(
                    {"run_id": run_id, "target": target, **{k: m[target].get(k) for k in VA_METRICS}}
                )
        for h in hist:
            out["history"].append({"run_id": run_id, **h})
        if m.get("confusion") is not None:
            confusion[run_id] = np.asarray(m["confusion"], dtype=float)
        if (run_dir / PROBES).is_dir():
            _read_probes(run_id, run_dir / PROBES, out, problems)

    where = ", ".join(map(str, roots))
    if not out["runs"]:
        if unfinished:
            problems.append(f"{where}: {len(unfinished)} run(s) found but none finished yet (no {METRICS})")
        elif not any(any(r.iterdir()) for r in roots):
            problems.append(f"{where} is empty: no runs to report; train some with `ferbench grid` first")
        else:
            problems.append(
                f"{where} holds no ferbench run directories (none has {CONFIG} or {METRICS}); pass the folder "
                "`ferbench grid --out` wrote (default results/runs/<grid name>)"
            )
    no_logits = [p for p in problems if p.endswith("no ECE, hard-label AUC or reliability diagram")]
    if len(no_logits) > 1:  # one line for many runs
        problems[:] = [p for p in problems if p not in no_logits]
        problems.append(f"{len(no_logits)} runs have no {rundir.LOGITS} (e.g. {no_logits[0].split(':')[0]}): "
                        "no ECE, hard-label AUC or reliability diagram for them")
    if unfinished:
        shown = ", ".join(str(p.relative_to(root)) if len(roots) == 1 else str(p) for p in unfinished[:10])
        more = f" and {len(unfinished) - 10} more" if len(unfinished) > 10 else ""
        problems.append(f"{len(unfinished)} unfinished run(s) not read (no {METRICS} yet): {shown}{more}")

    runs = _frame(out["runs"], list(_run_row("", root, {}, {}, []).keys()))

    def cat(key: str, cols: list[str]) -> pd.DataFrame:
        parts = out[key]
        if not parts:
            return pd.DataFrame(columns=cols)
        return (
            pd.concat(parts, ignore_index=True) if isinstance(parts[0], pd.DataFrame) else pd.DataFrame(parts)
        )

    coll = Collection(
        roots=tuple(roots),
        runs=runs,
        per_class=cat("per_class", ["run_id", "class", "precision", "recall", "f1", "support"]),
        va=cat("va", ["run_id", "target", *VA_METRICS]),
        history=cat("history", ["run_id", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"]),
        resize=cat("resize", ["run_id", "method", "size", "accuracy", "n"]),
        subgroups=cat(
            "subgroups", ["run_id", "group", "n", "accuracy", "ci_low", "ci_high", "balanced_accuracy"]
        ),
        subgroup_diff=cat("subgroup_diff", ["run_id", "a", "b", "diff", "ci_low", "ci_high", "bal_diff",
                                            "bal_ci_low", "bal_ci_high", "unit"]),
        corrupt=cat("corrupt", ["run_id", "corruption", "severity", "accuracy", "n"]),
        calibration=cat("calibration", ["run_id", "bin", "count", "confidence", "accuracy"]),
        confusion=confusion,
        unfinished=unfinished,
        problems=problems,
    )
    if filter and len(runs):
        coll = coll.restrict(_apply_filter(runs, filter)["run_id"])
        if not len(coll.runs):
            coll.problems.append(f"--filter {filter!r} matched none of the {len(runs)} finished runs")
    coll.runs = _split_class_sets(coll.runs.copy(), coll.problems)  # after --filter: it may pick one set
    coll = _drop_duplicates(coll)
    coll.runs = _name_grids(coll.runs, coll.problems)
    coll.runs = _fold_counts(coll.runs)
    return coll


def aggregate(runs: pd.DataFrame, keys: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean, sample std and n of each metric over the runs (seeds × folds) sharing ``keys``.

    Columns: ``keys``, ``n``, then ``<metric>_mean`` / ``<metric>_std`` / ``<metric>_n`` (runs with a value).
    """
    if not len(runs):
        return pd.DataFrame(columns=[*keys, "n"])
    rows = []
    for key, grp in runs.groupby(list(keys), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(keys, key, strict=False))
        row["n"] = len(grp)
        row["run_ids"] = list(grp["run_id"])
        row["incomplete"] = incompleteness(grp)
        for m in metrics:
            vals = pd.to_numeric(grp[m], errors="coerce").dropna() if m in grp else pd.Series(dtype=float)
            row[f"{m}_mean"] = float(vals.mean()) if len(vals) else np.nan
            row[f"{m}_std"] = float(vals.std(ddof=1)) if len(vals) > 1 else np.nan
            row[f"{m}_n"] = len(vals)
        rows.append(row)
    return pd.DataFrame(rows)


def incompleteness(grp: pd.DataFrame) -> str:
    """"" for runs that make finished cells; else ``"k of K folds"`` (the fewest folds any of its seeds
    finished, of the K its setup has): a k-fold mean over part of the folds is not a k-fold result."""
    if "folds_done" not in grp or not grp["folds_done"].notna().any():
        return ""
    done, k = int(grp["folds_done"].min()), int(grp["k_folds"].max())
    return "" if done >= k else f"{done} of {k} folds"


def check_group_by(runs: pd.DataFrame, group_by: list[str] | None) -> list[str]:
    """The model key columns: ``group_by`` validated against the runs table, or :data:`MODEL_KEYS`."""
    if not group_by:
        return list(MODEL_KEYS)
    group_by = [*group_by, *(["grid"] if "grid" not in group_by else [])]  # setups are never pooled
    bad = [c for c in group_by if c not in runs.columns]
    if bad:
        cols = ", ".join(c for c in runs.columns if c not in ("path", "classes", "run_id"))
        raise ReportError(
            f"--group-by {','.join(group_by)}: unknown column(s) {', '.join(bad)}; available: {cols}"
        )
    return list(group_by)


EVAL_COLUMNS = ["run_id", "train_dataset", "test_dataset", "split", "store_hash", "own_test", "accuracy", "macro_f1",
                "n", "n_split", "excluded"]


def collect_evals(coll: Collection) -> pd.DataFrame:
    """The current cross-dataset evaluations (``probes/eval-*.json``) of the collection's runs, one row each;
    stale or unreadable ones are skipped and named in ``coll.problems``."""
    from ferbench.probes.crossdata import read_evals

    rows = []
    for run_id, path in zip(coll.runs["run_id"], coll.runs["path"], strict=True):
        found, problems = read_evals(path)
        coll.problems.extend(problems)
        trained_on = rundir.store_fingerprint(rundir.read_config(path)) if found else None
        for r in found:
            store_hash = (r.get("store") or {}).get("hash")
            rows.append({
                "run_id": run_id,
                "train_dataset": r.get("train_dataset"),
                "test_dataset": r.get("test_dataset"),
                "split": r.get("split"),
                "store_hash": store_hash,
                # the run's own test split of the store it trained on: what its metrics.json already holds
                "own_test": r.get("split") == "test" and store_hash == trained_on,
                "accuracy": r.get("accuracy"),
                "macro_f1": r.get("macro_f1"),
                "n": r.get("n"),
                "n_split": r.get("n_split"),
                "excluded": ", ".join(f"{c} {k}" for c, k in (r.get("excluded") or {}).items()),
            })
    return _frame(rows, EVAL_COLUMNS)
