"""The report's tables, in the documents' own layouts, and their Markdown / LaTeX / HTML / CSV renderings.

Each table is built once as a :class:`Table`: ``display`` (strings with the small markup of
:mod:`ferbench.report.display`) for the human formats and ``data`` (tidy numbers: mean, std, n) for
CSV. Every number carries its n — the runs (seeds × folds) it is the mean of — either in the cell,
in an ``n`` row/column, or in the table title when all cells share it.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ferbench import rundir
from ferbench.models import DEVIATIONS
from ferbench.report import display as dp
from ferbench.report.collect import (
    MODEL_KEYS,
    SCALAR_METRICS,
    VA_METRICS,
    Collection,
    ReportError,
    aggregate,
    incompleteness,
)

ATTENTION_ORDER = ["none", "se", "eca", "cbam", "coord"]
LOWER_IS_BETTER = {"rmse", "ece"}
# The report's sections in order; the writers number the ones a report has consecutively.
SECTIONS = {
    "grid": "Architecture × attention grid",
    "ablation": "Ablation against a baseline setup",
    "metrics": "Classification metrics",
    "crossdata": "Cross-dataset evaluation",
    "va": "Valence and arousal",
    "resize": "Resize sweep",
    "subgroups": "Subgroups",
    "corrupt": "Corruptions",
    "reported": "Reproduced vs reported",
}


class Footnotes(dict):
    """A table's footnotes, ``{mark: text}`` in the order first cited. ``ref(text)`` returns the markup
    a cell or header appends (``^[a]``); citing the same text again reuses its mark. Every output format
    renders the marks as superscripts and the notes under the table."""

    def ref(self, text: str) -> str:
        for mark, t in self.items():
            if t == text:
                return f"^[{mark}]"
        mark = string.ascii_lowercase[len(self) % 26] * (1 + len(self) // 26)
        self[mark] = text
        return f"^[{mark}]"


@dataclass
class Table:
    key: str  # file-safe identifier, e.g. "grid_elu"
    section: str  # a key of SECTIONS
    title: str
    display: pd.DataFrame  # strings with markup
    data: pd.DataFrame  # tidy numbers for CSV
    note: str = ""
    footnotes: Footnotes = field(default_factory=Footnotes)
    group: str = ""  # what the HTML page filters the section's tables by (a reported table's document)


def slug(*parts) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", "_".join(str(p) for p in parts)).strip("_").lower()


def arch_order(arch: str) -> tuple:
    names = list(dp.ARCH_NAMES)
    return (names.index(arch) if arch in names else len(names), str(arch))


def att_order(att: str) -> tuple:
    return (ATTENTION_ORDER.index(att) if att in ATTENTION_ORDER else len(ATTENTION_ORDER), str(att))


def _bold_best(values: list[float], higher: bool = True) -> list[bool]:
    arr = np.array([np.nan if v is None else v for v in values], dtype=float)
    if np.all(np.isnan(arr)) or np.sum(~np.isnan(arr)) < 2:
        return [False] * len(values)
    if np.isclose(np.nanmax(arr), np.nanmin(arr)):
        return [False] * len(values)  # a tie everywhere has no best
    best = np.nanmax(arr) if higher else np.nanmin(arr)
    return [bool(not np.isnan(v) and np.isclose(v, best)) for v in arr]


def _bold(text: str, on: bool) -> str:
    return f"**{text}**" if on and text not in ("", "–") else text


def model_label(row, keys: list[str], varying: set[str]) -> str:
    """Display name of a model group: ``VGG-19 + CBAM`` plus whatever else varies (``ELU``, ``s1``...)."""
    label = dp.model_name(row.get("arch", "?"), row.get("attention", "none")) if "arch" in keys else ""
    extra = []
    for k in keys:
        if k in ("arch", "attention", "dataset") or k not in varying:
            continue
        v = row.get(k)
        if k == "activation":
            extra.append(dp.ACTIVATION_NAMES.get(v, str(v)))
        elif k == "heads":
            if v != "cls":
                extra.append(str(v))
        elif k == "seed":
            extra.append(f"s{v}")
        elif k == "fold":
            extra.append(f"f{v}" if v != -1 else "no fold")
        elif k == "grid":
            extra.append(str(v) or "(no grid name)")
        else:
            extra.append(f"{k}={v}")
    if "attention" in keys and "arch" not in keys:
        label = dp.ATTENTION_NAMES.get(row.get("attention"), row.get("attention")) or "no attention"
    return f"{label or 'all runs'} [{', '.join(extra)}]" if extra else (label or "all runs")


def grid_key(activation: str, heads: str, multi_heads: bool) -> str:
    """The key of the grid table of one activation (and heads, where a report has several)."""
    return slug("grid", activation, heads if multi_heads else "")


def varying_keys(runs: pd.DataFrame, keys: list[str]) -> set[str]:
    return {k for k in keys if k in runs and runs[k].astype(str).nunique() > 1}


# ---- 1. grid -------------------------------------------------------------------------------------
def grid_tables(coll: Collection, metric: str = "accuracy") -> list[Table]:
    """The first document's layout: Architecture | Params | one column per dataset; a table per activation."""
    runs = coll.runs
    if not len(runs) or metric not in runs:
        return []
    pct = metric in dp.PERCENT_METRICS
    higher = metric not in LOWER_IS_BETTER
    agg = aggregate(runs, ["activation", "heads", "arch", "attention", "dataset", "grid"], [metric, "params"])
    # a column per dataset and setup: runs of two grids of one dataset are never one mean
    agg["dataset"] = [d if not gr else f"{d}\x00{gr}" for d, gr in zip(agg["dataset"], agg["grid"], strict=True)]
    tables = []
    multi_heads = runs["heads"].nunique() > 1
    for (act, heads), g in agg.groupby(["activation", "heads"], sort=True):
        datasets = sorted(g["dataset"].unique(), key=str)
        models = sorted(
            {(a, t) for a, t in zip(g["arch"], g["attention"], strict=False)},
            key=lambda x: (arch_order(x[0]), att_order(x[1])),
        )
        cell = {(r.arch, r.attention, r.dataset): r for r in g.itertuples()}
        rows, data = [], []
        for arch, att in models:
            label = dp.model_name(arch, att)
            params = [cell[(arch, att, d)].params_mean for d in datasets if (arch, att, d) in cell]
            params = [p for p in params if not np.isnan(p)]
            if not params:
                ptext = "–"
            elif np.isclose(min(params), max(params), rtol=0, atol=5e3):
                ptext = dp.params_text(params[0])
            else:
                ptext = f"{dp.params_text(min(params))[:-1]}–{dp.params_text(max(params))}"
            row = {"Architecture": label, "Params": ptext}
            for d in datasets:
                r = cell.get((arch, att, d))
                if r is None:
                    row[d] = "no run"
                    continue
                mean, std, n = (
                    getattr(r, f"{metric}_mean"),
                    getattr(r, f"{metric}_std"),
                    getattr(r, f"{metric}_n"),
                )
                base = cell.get((arch, "none", d))
                delta = None
                if att != "none" and base is not None:
                    delta = mean - getattr(base, f"{metric}_mean")
                text = dp.stat(mean, std, n, pct, show_n=False)
                if r.incomplete:  # a part of the folds: not a k-fold result, and no gain against it
                    delta = None
                if base is not None and base.incomplete:
                    delta = None
                row[d] = text if text == "–" else f"{text} {dp.gain(delta, pct)} (n={n})".replace("  ", " ")
                if r.incomplete:
                    row[d] = f"{row[d]} — incomplete: {r.incomplete}"
                data.append(
                    {
                        "activation": act,
                        "heads": heads,
                        "arch": arch,
                        "attention": att,
                        "dataset": d,
                        "metric": metric,
                        "mean": mean,
                        "std": std,
                        "n": n,
                        "gain_vs_none": delta,
                        "params": r.params_mean,
                        "incomplete": r.incomplete,
                    }
                )
            rows.append(row)
        disp = pd.DataFrame(rows)
        for d in datasets:  # best per column in bold, as the document does (never a partial k-fold mean)
            means = [np.nan if (c := cell.get((a, t, d))) is None or c.incomplete else getattr(c, f"{metric}_mean")
                     for a, t in models]
            disp[d] = [_bold(v, b) for v, b in zip(disp[d], _bold_best(means, higher), strict=False)]

        def col_name(d: str) -> str:
            ds, _, gr = d.partition("\x00")
            return f"{dp.dataset_name(ds)} {dp.metric_name(metric)}" + (f" [{gr}]" if gr else "")

        disp = disp.rename(columns={d: col_name(d) for d in datasets})
        for rec in data:
            rec["grid"] = rec["dataset"].partition("\x00")[2]
            rec["dataset"] = rec["dataset"].partition("\x00")[0]
        heads_txt = f", heads {heads}" if multi_heads else ""
        tables.append(
            Table(
                key=grid_key(act, heads, multi_heads),
                section="grid",
                title=f"Architectures × attention with {dp.ACTIVATION_NAMES.get(act, act)}{heads_txt}",
                display=disp,
                data=pd.DataFrame(data),
                note=(
                    "Mean ± sample std over n runs (seeds × folds); (↑/↓ x pp) is the change in percentage "
                    "points against the same architecture without attention (means, not paired: the paired "
                    "gains follow); best per column in bold. A k-fold cell missing folds is marked incomplete "
                    "(k of K folds): its mean is not a k-fold result and is neither bolded nor compared."
                    if pct
                    else "Mean ± sample std over n runs (seeds × folds); (↑/↓ x) is the change against the same "
                    "architecture without attention; best per column in bold."
                ),
            )
        )
    return tables


GAIN_TEST_NOTE = {
    "kfold": "corrected resampled t-test (Nadeau & Bengio 2003) over the folds, seeds averaged within each fold "
    "first: the variance is multiplied by (1/J + n_test/n_train) for the overlap of the folds' training sets, "
    "J − 1 degrees of freedom",
    "seeds": "paired t-test over the seeds (one fixed split: the seeds share their training and test images, "
    "so this measures seed-to-seed variation only, not test-set sampling)",
}


def _paired_diffs(sel: pd.DataFrame, metric: str, scale: float) -> tuple[np.ndarray, str, float]:
    """The independent paired differences of one comparison, what kind they are, and n_test/n_train.

    k-fold data: one difference per fold, the mean over that fold's seeds (seeds of one fold share
    its test images: they are not independent replicates). Fixed split: one per seed.
    """
    d = sel.assign(_d=scale * (sel[metric].astype(float) - sel["_base"].astype(float)))
    if (d["fold"] >= 0).any():
        per_fold = d.groupby("fold")["_d"].mean().to_numpy(float)
        ratio = pd.to_numeric(d["n_test"], errors="coerce") / pd.to_numeric(d["n_train"], errors="coerce")
        return per_fold, "kfold", float(ratio.mean()) if ratio.notna().any() else np.nan
    return d["_d"].to_numpy(float), "seeds", 0.0


def gain_tables(coll: Collection, metric: str = "accuracy") -> list[Table]:
    """Attention gains paired run by run: each attention run minus the run without attention of the same
    setup (dataset, grid), architecture, activation, heads, seed and fold (so both saw the same test images).

    The grid table's (↑/↓) compares means. This table gives the mean paired difference, its 95% interval
    and p-value from the corrected resampled t-test on k-fold data (plain paired t over seeds on a fixed
    split), the same p Holm-adjusted across the table's comparisons, and the uncorrected paired t-test's p
    beside it, labelled. Incomplete k-fold cells are left out (named in the note).
    """
    from ferbench.report.stats import corrected_resampled_ttest, holm

    runs = coll.runs
    if not len(runs) or metric not in runs or not (runs["attention"] != "none").any():
        return []
    pair_keys = ["dataset", "grid", "arch", "activation", "heads", "seed", "fold"]
    base = runs[runs["attention"] == "none"][[*pair_keys, metric]].rename(columns={metric: "_base"})
    paired = runs[runs["attention"] != "none"].merge(base, on=pair_keys, how="inner")
    paired = paired[paired[metric].notna() & paired["_base"].notna()]
    if not len(paired):
        return []
    scale, unit = (100.0, " (pp)") if metric in dp.PERCENT_METRICS else (1.0, "")
    incomplete = {}
    for keys, g in runs.groupby(["dataset", "grid", "arch", "attention", "activation", "heads"]):
        if inc := incompleteness(g):
            incomplete[keys] = inc
    tables = []
    for (act, heads), g in paired.groupby(["activation", "heads"], sort=True):
        rows, data, skipped = [], [], []
        groups = g.groupby(["dataset", "grid", "arch", "attention"], sort=False)
        order = sorted(groups.groups, key=lambda k: (str(k[0]), str(k[1]), arch_order(k[2]), att_order(k[3])))
        kinds = set()
        for ds, grid, arch, att in order:
            cell_inc = [incomplete.get((ds, grid, arch, a, act, heads)) for a in (att, "none")]
            if any(cell_inc):
                skipped.append(f"{dp.model_name(arch, att)} on {dp.dataset_name(ds)} "
                               f"({'; '.join(x for x in cell_inc if x)})")
                continue
            sel = groups.get_group((ds, grid, arch, att))
            diffs, kind, ratio = _paired_diffs(sel, metric, scale)
            kinds.add(kind)
            test = corrected_resampled_ttest(diffs, ratio if kind == "kfold" else 0.0)
            plain = corrected_resampled_ttest(diffs, 0.0)
            rows.append({"Model": dp.model_name(arch, att), "Dataset": dp.dataset_name(ds)
                         + (f" [{grid}]" if grid else ""),
                         "pairs": f"{len(diffs)} folds" if kind == "kfold" else f"{len(diffs)} seeds",
                         f"Δ {dp.metric_name(metric)}{unit}": f"{test.mean:+.2f}"})
            data.append({"activation": act, "heads": heads, "dataset": ds, "grid": grid, "arch": arch,
                         "attention": att, "metric": metric, "unit": kind, "pairs": len(diffs),
                         "runs": len(sel), "n_test_over_n_train": ratio if kind == "kfold" else 0.0,
                         "mean_diff": test.mean, "ci_low": test.ci_low, "ci_high": test.ci_high,
                         "p_value": test.p, "p_uncorrected": plain.p})
        if not rows:
            continue
        adjusted = holm([d["p_value"] for d in data])
        for row, rec, p_adj in zip(rows, data, adjusted, strict=True):
            rec["p_holm"] = p_adj
            row["95% CI"] = "–" if np.isnan(rec["ci_low"]) else f"[{rec['ci_low']:+.2f}, {rec['ci_high']:+.2f}]"
            row["p"] = "–" if np.isnan(rec["p_value"]) else f"{rec['p_value']:.3f}"
            row["p (Holm)"] = "–" if np.isnan(p_adj) else f"{p_adj:.3f}"
            row["p (uncorrected paired t)"] = "–" if np.isnan(rec["p_uncorrected"]) else f"{rec['p_uncorrected']:.3f}"
        notes = Footnotes()
        test_names = "; ".join(GAIN_TEST_NOTE[k] for k in sorted(kinds))
        notes.ref(f"95% CI and p: {test_names}. p (Holm): adjusted by Holm's step-down procedure across the "
                  f"{len(rows)} comparison(s) of this table. p (uncorrected paired t): the plain paired t-test "
                  "over the same differences, which ignores the overlap of training sets and overstates "
                  "significance on k-fold data; shown for comparison only.")
        note = (("pp: percentage points. " if unit else "")
                + "Δ = attention minus the same architecture without it, run against run (same setup, seed, fold "
                "and test images). An interval that includes 0 means the runs do not show a gain.")
        if skipped:
            note += " Left out, incomplete k-fold cells: " + ", ".join(skipped) + "."
        tables.append(
            Table(
                key=slug("gains", act, heads),
                section="grid",
                title=f"Attention gains, paired by seed and fold ({dp.ACTIVATION_NAMES.get(act, act)})",
                display=pd.DataFrame(rows).rename(columns={"p": "p" + notes.ref(notes["a"])}),
                data=pd.DataFrame(data),
                note=note,
                footnotes=notes,
            )
        )
    return tables


# ---- ablation: setups against a baseline setup ------------------------------------------------------
# Options that mean something only for another schedule (their resolved values change with the epochs).
_SCHEDULE_ONLY = {"train.step_size": "step", "train.step_gamma": "step", "train.restart_epochs": "cosine_restarts"}


def match_setup(grids, name: str) -> str:
    """The setup (``grid``) that ``--baseline name`` names: one of its folders (folders with the same store
    and recipe are one setup, named ``a, b``) is ``name`` or ends in ``/name``."""
    grids = sorted({str(g) for g in grids if str(g)})

    def folders(g: str) -> list[str]:
        return [f.strip() for f in g.split(", ")]

    hits = [g for g in grids if name in folders(g)] or [
        g for g in grids if any(f.endswith("/" + name) for f in folders(g))]
    if len(hits) == 1:
        return hits[0]
    if not grids:
        raise ReportError(f"--baseline {name!r}: these runs are one setup per dataset, so there is nothing to "
                          "compare; pass the folders of the setups to compare")
    what = "matches several setups" if hits else "names none of the setups"
    raise ReportError(f"--baseline {name!r} {what}; choose one of: {', '.join(hits or grids)}")


def recipe_changes(base: dict, other: dict, same_arch: bool) -> str:
    """``amp fp32→bf16; augment.rotate 10.0→0.0``: the recipe options two setups set differently."""
    def shown(key: str, recipe: dict) -> bool:
        needs = _SCHEDULE_ONLY.get(key)
        return (needs is None or recipe.get("train.scheduler") == needs) and (
            same_arch or not key.startswith("model.kwargs."))

    parts = []
    for key in sorted(base.keys() | other.keys()):
        a, b = base.get(key, rundir.implied(key, "–")), other.get(key, rundir.implied(key, "–"))
        if a != b and (shown(key, base) or shown(key, other)):
            parts.append(f"{key.removeprefix('train.')} {a}→{b}")
    return "; ".join(parts)


def _ablation_row(label: str, model: str, sel: pd.DataFrame, bsel: pd.DataFrame | None, changes: str, metric: str,
                  col: str, scale: float, unit: str) -> tuple[dict, dict]:
    """One setup's row of the ablation table (display, data): ``col`` of ``sel`` against ``metric`` of
    ``bsel`` (the baseline's runs), paired by seed and fold; no comparison when ``bsel`` is None."""
    from ferbench.report.stats import corrected_resampled_ttest

    vals = scale * sel[col].astype(float)
    rec = {"setup": label, "model": model, "changes": changes, "metric": col, "n": int(vals.notna().sum()),
           "mean": vals.mean(), "std": vals.std(ddof=1),
           "train_minutes": pd.to_numeric(sel["train_seconds"], errors="coerce").mean() / 60.0}
    diff_text, ci_text, pairs = "–", "–", "–"
    if bsel is not None:
        paired = sel[["seed", "fold", "n_test", "n_train", col]].rename(columns={col: metric}).merge(
            bsel[["seed", "fold", metric]].rename(columns={metric: "_base"}), on=["seed", "fold"])
        paired = paired[paired[metric].notna() & paired["_base"].notna()]
        if len(paired):
            diffs, kind, ratio = _paired_diffs(paired, metric, scale)
            test = corrected_resampled_ttest(diffs, ratio if kind == "kfold" else 0.0)
            rec.update(pairs=len(diffs), unit=kind, mean_diff=test.mean, ci_low=test.ci_low,
                       ci_high=test.ci_high, p_value=test.p)
            pairs = f"{len(diffs)} {'folds' if kind == 'kfold' else 'seeds'}"
            diff_text = f"{test.mean:+.2f}"
            ci_text = "–" if np.isnan(test.ci_low) else f"[{test.ci_low:+.2f}, {test.ci_high:+.2f}]"
        else:
            rec.update(mean_diff=rec["mean"] - scale * bsel[metric].astype(float).mean())
            diff_text = f"{rec['mean_diff']:+.2f} (means, unpaired)"
    minutes = rec["train_minutes"]
    row = {"Setup": label, "Model": model, "Changes against the baseline": changes or "–", "n": str(rec["n"]),
           dp.metric_name(metric): dp.stat(vals.mean() / scale, vals.std(ddof=1) / scale, rec["n"],
                                           percent=metric in dp.PERCENT_METRICS, show_n=False),
           f"Δ{unit}": diff_text, "pairs": pairs, "95% CI": ci_text,
           "train min/run": "–" if np.isnan(minutes) else f"{minutes:.1f}" if minutes >= 0.1 else "< 0.1"}
    return row, rec


def _joined(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _flip_only(label: str, model: str, sel: pd.DataFrame, bsel: pd.DataFrame, changes: str) -> list[tuple]:
    """The ablation entry of a flip + shift TTA setup scored with the mirror only (what the shifts bought,
    from the same weights); none for a setup without shifts."""
    if not sel["accuracy_flip_tta"].notna().any():
        return []
    changes = _joined(changes, "scored without its shifts (same weights)")
    return [(f"{label} with flip TTA only", model, sel, bsel, changes, "accuracy_flip_tta")]


def ablation_tables(coll: Collection, baseline: str | None, metric: str = "accuracy") -> list[Table]:
    """Every setup of a dataset against the baseline setup (``--baseline``, a ``grid`` name): what its recipe
    changed, its mean ± std with n, and the change paired run against run (same seed and fold, so the same
    test images), with a 95% interval, p and Holm's adjustment across the table's rows.

    A setup whose model differs from the baseline's is paired with the baseline's model when the baseline
    has exactly one. Setups with no runs of the baseline's seeds and folds show the difference of the means
    only. Where the baseline used flip TTA, its weights scored without the mirror are a row of their own.
    """
    from ferbench.report.stats import holm

    runs = coll.runs
    if not baseline or not len(runs) or metric not in runs:
        return []
    name = match_setup(runs["grid"], baseline)
    scale, unit = (100.0, " (pp)") if metric in dp.PERCENT_METRICS else (1.0, "")
    model_keys = ["arch", "attention", "activation", "heads"]
    tables = []
    for ds, g in runs.groupby("dataset", sort=True):
        base_runs = g[g["grid"] == name]
        if not len(base_runs):
            continue
        base_models = base_runs.groupby(model_keys, sort=False)
        entries = []  # (label, model, runs, baseline runs or None, changes, column)
        several_acts = g["activation"].nunique() > 1

        def model_text(key: tuple, several_acts=several_acts) -> str:
            act = f" ({dp.ACTIVATION_NAMES.get(key[2], key[2])})" if several_acts else ""
            return dp.model_name(key[0], key[1]) + act

        for key, bsel in base_models:
            entries.append((f"{name} (baseline)", model_text(key), bsel, None, "", metric))
            if metric == "accuracy" and bsel["accuracy_no_tta"].notna().any():
                shifted = bsel["accuracy_flip_tta"].notna().any()
                entries.append((f"{name} without {'' if shifted else 'flip '}TTA", model_text(key), bsel, bsel,
                                f"tta_flip True→False{', tta_shift→0' if shifted else ''} (same weights)",
                                "accuracy_no_tta"))
            if metric == "accuracy":
                entries += _flip_only(name, model_text(key), bsel, bsel, "")
        for (grid, *model), sel in g[g["grid"] != name].groupby(["grid", *model_keys], sort=True):
            model = tuple(model)
            if model in base_models.groups:
                bsel = base_models.get_group(model)
            elif base_models.ngroups == 1:
                bsel = base_runs
            else:
                continue  # no baseline run of this model, and no single baseline model to stand in
            b_arch, b_recipe, recipe = bsel["arch"].iloc[0], bsel["recipe"].iloc[0], sel["recipe"].iloc[0]
            model_change = (f"model {dp.model_name(b_arch, bsel['attention'].iloc[0])}→"
                            f"{dp.model_name(model[0], model[1])}" if model != tuple(bsel[model_keys].iloc[0]) else "")

            same = b_arch == model[0]
            changes = _joined(model_change, recipe_changes(b_recipe, recipe, same))
            entries.append((str(grid), model_text(model), sel, bsel, changes, metric))
            if metric == "accuracy":  # the shifts' row lists what else changed: its recipe without tta_shift
                unshifted = {k: v for k, v in recipe.items() if k != "train.tta_shift"}
                entries += _flip_only(str(grid), model_text(model), sel, bsel,
                                      _joined(model_change, recipe_changes(b_recipe, unshifted, same)))
        made = [_ablation_row(*e[:5], metric, e[5], scale, unit) for e in entries]
        rows = [row for row, _ in made]
        data = [{"dataset": ds, "baseline": name, **rec} for _, rec in made]
        p_rows = [i for i, d in enumerate(data) if not np.isnan(d.get("p_value", np.nan))]
        adjusted = holm([data[i]["p_value"] for i in p_rows])
        for i, row in enumerate(rows):
            data[i].setdefault("p_value", np.nan)
            data[i]["p_holm"] = adjusted[p_rows.index(i)] if i in p_rows else np.nan
            row["p"] = "–" if np.isnan(data[i]["p_value"]) else f"{data[i]['p_value']:.3f}"
            row["p (Holm)"] = "–" if np.isnan(data[i]["p_holm"]) else f"{data[i]['p_holm']:.3f}"
            row["train min/run"] = row.pop("train min/run")  # last: it is not a comparison
        kinds = sorted({d["unit"] for d in data if "unit" in d})
        notes = Footnotes()
        if kinds:
            notes.ref(f"95% CI and p: {'; '.join(GAIN_TEST_NOTE[k] for k in kinds)}. p (Holm): adjusted by Holm's "
                      f"step-down procedure across the {len(p_rows)} comparison(s) of this table.")
        display = pd.DataFrame(rows)
        if kinds:
            display = display.rename(columns={"p": "p" + notes.ref(notes["a"])})
        tables.append(Table(
            key=slug("ablation", ds),
            section="ablation",
            title=f"{dp.dataset_name(ds)}: every setup against {name}",
            display=display,
            data=pd.DataFrame(data),
            note=(("pp: percentage points. " if unit else "")
                  + f"Mean ± sample std over n runs; Δ = the setup minus the baseline {name}, run against run "
                  "(same seed and fold, so the same test images). Changes: the recorded training options that "
                  "differ (baseline→setup); a 'without TTA' row scores the same weights on the plain images, a "
                  "'with flip TTA only' row on the image and its mirror without the shifts. train min/run: mean "
                  "training time of one run, on the machine that ran it."),
            footnotes=notes,
        ))
    return tables


# ---- 2. classification metrics --------------------------------------------------------------------
def _models_by_dataset(coll: Collection, keys: list[str], metrics: list[str]):
    runs = coll.runs
    keys = list(dict.fromkeys(["dataset", *keys]))
    agg = aggregate(runs, keys, metrics)
    for ds, g in agg.groupby("dataset", sort=True):
        varying = varying_keys(runs[runs["dataset"] == ds], keys)  # what tells this dataset's models apart
        g = g.copy()
        g["_order"] = [
            (arch_order(r.get("arch", "")), att_order(r.get("attention", ""))) for r in g.to_dict("records")
        ]
        g = g.sort_values("_order", kind="stable").drop(columns="_order")
        labels = [model_label(r, keys, varying) for r in g.to_dict("records")]
        yield ds, g, labels, keys


def _metric_rows(
    g: pd.DataFrame, labels: list[str], keys: list[str], metrics, digits: int | None = None, extra: dict | None = None
) -> tuple[list[dict], list[dict]]:
    """Metrics as rows × models as columns (mean ± std, best in bold, an n row first), and the same numbers
    long-form for the table's csv."""
    inc = g["incomplete"] if "incomplete" in g else [""] * len(g)
    rows = [{"": "n (runs)", **{lab: str(n) + (f" — incomplete: {i}" if i else "")
                                for lab, n, i in zip(labels, g["n"], inc, strict=False)}}]
    data = []
    for m in metrics:
        best = _bold_best(list(g[f"{m}_mean"]), higher=m not in LOWER_IS_BETTER)
        row = {"": dp.metric_name(m)}
        for lab, rec, b in zip(labels, g.to_dict("records"), best, strict=False):
            mean, std, n = rec[f"{m}_mean"], rec[f"{m}_std"], rec[f"{m}_n"]
            row[lab] = _bold(dp.stat(mean, std, n, m in dp.PERCENT_METRICS, digits=digits, show_n=False), b)
            data.append({**{k: rec[k] for k in keys}, "model": lab, **(extra or {}), "metric": m,
                         "mean": mean, "std": std, "n": n})  # fmt: skip
        rows.append(row)
    return rows, data


MODEL_COLUMNS = 4  # beyond this many models a metrics table turns: one row per model


def _metric_frame(rows: list[dict], labels: list[str]) -> tuple[pd.DataFrame, str]:
    """The document's layout (metrics as rows, a column per model) for a few models; with more, one row
    per model, so the table stays readable and fits a page. Returns the frame and where the best is."""
    disp = pd.DataFrame(rows)
    if len(labels) <= MODEL_COLUMNS:
        return disp, "row"
    turned = disp.set_index("").T.reset_index(names="Model")
    turned.columns.name = None
    return turned, "column"


def metrics_tables(coll: Collection, keys: list[str]) -> list[Table]:
    """The second document's layout: metrics as rows, one column per model; then the per-class report."""
    if not len(coll.runs):
        return []
    metrics = [
        "accuracy",
        "kappa",
        "krippendorff_alpha",
        "roc_auc",
        "roc_auc_hard",
        "pr_auc",
        "balanced_accuracy",
        "macro_f1",
        "ece",
    ]
    tables = []
    for ds, g, labels, kk in _models_by_dataset(coll, keys, list(SCALAR_METRICS)):
        shown = [m for m in metrics if g[f"{m}_n"].sum() > 0]  # e.g. no ECE for runs without logits
        rows, data = _metric_rows(g, labels, kk, shown)
        disp, best = _metric_frame(rows, labels)
        tables.append(
            Table(
                key=slug("metrics", ds),
                section="metrics",
                title=f"Quantitative classification results — {dp.dataset_name(ds)}",
                display=disp,
                data=pd.DataFrame(data),
                note=f"Mean ± sample std over the n runs of each model; best per {best} in bold. AUC ranks the "
                "probabilities (one-vs-rest, macro); AUC (hard labels) scores the argmax predictions' one-hot "
                "vectors, as the second document does; ECE: expected calibration error of the top-1 "
                "probability over 15 equal-width bins (lower is better). A model marked incomplete lacks "
                "k-fold folds: its means are not k-fold results.",
            )
        )
        tables.append(per_class_table(coll, ds, g, labels, kk))
    return tables


def per_class_table(coll: Collection, ds: str, g: pd.DataFrame, labels: list[str], keys: list[str]) -> Table:
    pc = coll.per_class
    rows, data = [], []
    for lab, rec in zip(labels, g.to_dict("records"), strict=False):
        rows.append(
            {"": f"**{lab}** (n={rec['n']})", "Precision": "", "Recall": "", "F1-score": "", "Support": ""}
        )
        sel = pc[pc["run_id"].isin(rec["run_ids"])]
        classes = list(dict.fromkeys(sel["class"]))
        for c in classes:
            cs = sel[sel["class"] == c]
            row = {"": str(c)}
            for col, m in (("Precision", "precision"), ("Recall", "recall"), ("F1-score", "f1")):
                v = pd.to_numeric(cs[m], errors="coerce").dropna()
                std = v.std(ddof=1) if len(v) > 1 else np.nan
                row[col] = dp.stat(v.mean() if len(v) else np.nan, std, len(v), digits=2, show_n=False)
                data.append(
                    {
                        **{k: rec[k] for k in keys},
                        "model": lab,
                        "class": c,
                        "metric": m,
                        "mean": v.mean() if len(v) else np.nan,
                        "std": std,
                        "n": len(v),
                    }
                )
            sup = pd.to_numeric(cs["support"], errors="coerce").dropna()
            row["Support"] = f"{int(sup.sum())}"
            data.append(
                {
                    **{k: rec[k] for k in keys},
                    "model": lab,
                    "class": c,
                    "metric": "support_total",
                    "mean": float(sup.sum()),
                    "std": np.nan,
                    "n": len(sup),
                }
            )
            rows.append(row)
    return Table(
        key=slug("per_class", ds),
        section="metrics",
        title=f"Classification report — {dp.dataset_name(ds)}",
        display=pd.DataFrame(rows),
        data=pd.DataFrame(data),
        note="Precision/recall/F1: mean ± std over the model's n runs; support: summed over its runs.",
    )


# ---- 3. valence / arousal --------------------------------------------------------------------------
def va_tables(coll: Collection, keys: list[str]) -> list[Table]:
    if not len(coll.va):
        return []
    tables = []
    for target in ("valence", "arousal"):
        sub = coll.va[coll.va["target"] == target]
        if not len(sub):
            continue
        runs = coll.runs.merge(sub.drop(columns="target"), on="run_id", how="inner")
        part = Collection(
            roots=coll.roots,
            runs=runs,
            per_class=coll.per_class,
            va=coll.va,
            history=coll.history,
            resize=coll.resize,
            subgroups=coll.subgroups,
            subgroup_diff=coll.subgroup_diff,
            corrupt=coll.corrupt,
        )
        for ds, g, labels, kk in _models_by_dataset(part, keys, list(VA_METRICS)):
            rows, data = _metric_rows(g, labels, kk, VA_METRICS, digits=2, extra={"target": target})
            disp, best = _metric_frame(rows, labels)
            tables.append(
                Table(
                    key=slug("va", target, ds),
                    section="va",
                    title=f"Quantitative regression results ({target.capitalize()}) — {dp.dataset_name(ds)}",
                    display=disp,
                    data=pd.DataFrame(data),
                    note="RMSE (lower is better), Pearson CORR, SAGR (sign agreement), CCC; "
                    f"mean ± std over n runs; best per {best} in bold.",
                )
            )
    return tables


# ---- 4. resize sweep / 5b. corruptions: a probe's accuracy as rows × columns per model ---------------
def _pivot_tables(
    coll: Collection,
    keys: list[str],
    df: pd.DataFrame,
    row: str,
    col: str,
    section: str,
    title: str,
    row_name,
    descending: bool,
    header=None,
    first: str = "",
    lead=None,
) -> list[Table]:
    """One table per model: ``row`` values as rows, ``col`` values as columns. ``header(value, runs of
    the model, footnotes)`` may name a column (and cite a footnote); ``lead(rows of the model, footnotes)``
    may give a first column, ``(name, text)``, the same in every row."""
    if not len(df):
        return []
    keys = list(dict.fromkeys(["dataset", *keys]))
    merged = df.merge(coll.runs[["run_id", *keys]], on="run_id", how="inner")
    tables = []
    for key, g in merged.groupby(keys, sort=True, dropna=False):
        rec = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=False))
        label = model_label(rec, keys, varying_keys(coll.runs[coll.runs["dataset"] == rec["dataset"]], keys))
        stats = (
            g.assign(accuracy=pd.to_numeric(g["accuracy"], errors="coerce"))
            .groupby([row, col], sort=False)["accuracy"]
            .agg(["mean", "std", "count"])
            .reset_index()
        )
        cols = sorted(
            stats[col].unique(), key=lambda v: (pd.to_numeric(v, errors="coerce"), str(v)), reverse=descending
        )
        uniform_n = stats["count"].nunique() == 1
        notes = Footnotes()
        names = {c: header(c, g, notes) if header else str(c) for c in cols}
        lead_col = lead(g, notes) if lead else None
        rows = []
        for r in dict.fromkeys(stats[row]):
            out = {first: row_name(r)}
            if lead_col:
                out[lead_col[0]] = lead_col[1]
            for c in cols:
                s = stats[(stats[row] == r) & (stats[col] == c)]
                out[names[c]] = (
                    "–"
                    if not len(s)
                    else dp.stat(
                        s["mean"].iloc[0],
                        s["std"].iloc[0],
                        int(s["count"].iloc[0]),
                        percent=True,
                        show_n=not uniform_n,
                    )
                )
            rows.append(out)
        n_txt = (
            f" (n={int(stats['count'].iloc[0])} run{'s' if stats['count'].iloc[0] > 1 else ''})"
            if uniform_n
            else ""
        )
        data = stats.rename(columns={"count": "n"}).assign(**rec, model=label)
        tables.append(
            Table(
                key=slug(section, *rec.values()),
                section=section,
                title=f"{label}, {dp.dataset_name(rec['dataset'])} — {title}{n_txt}",
                display=pd.DataFrame(rows),
                data=data,
                note="Test accuracy; mean ± std over runs where n > 1.",
                footnotes=notes,
            )
        )
    return tables


def resize_native(coll: Collection, sweep: pd.DataFrame) -> int | None:
    """The stored side a model's sweep started from: the probe records it (``native``); for older probe
    files the runs' input side, which equals it for every model trained at its store's size."""
    if "native" in sweep and sweep["native"].notna().any():
        vals = pd.to_numeric(sweep["native"], errors="coerce").dropna().unique()
    else:
        vals = coll.runs.loc[coll.runs["run_id"].isin(sweep["run_id"]), "image_size"].dropna().unique()
    return int(vals[0]) if len(vals) == 1 else None


def resize_tables(coll: Collection, keys: list[str]) -> list[Table]:
    """The third document's layout, a table per model; a size above the native side is marked: there the
    image is upsampled and back, which removes no detail."""

    def header(size, runs: pd.DataFrame, notes: Footnotes) -> str:
        native = resize_native(coll, runs)
        if native is None or int(size) < native:
            return str(size)
        if int(size) == native:
            return f"{size} (native)" + notes.ref(
                f"The native side ({native} px): the store's images, resized only to the model's input size; "
                "from here up no detail is removed.")
        return f"{size} (upsampled)" + notes.ref(
            f"Above the native {native} px: upsampled to this side and back, so no detail is removed; "
            "not a lower resolution.")

    def clean(g: pd.DataFrame, notes: Footnotes) -> tuple[str, str]:
        """The runs' own test accuracy (metrics.json): exactly the evaluation path, no resize step."""
        acc = pd.to_numeric(coll.runs.loc[coll.runs["run_id"].isin(g["run_id"]), "accuracy"], errors="coerce")
        acc = acc.dropna()
        name = "clean" + notes.ref("clean: the run's own test accuracy (its metrics.json), computed by the run's "
                                   "test evaluation path itself, with no resize step; the native column "
                                   "re-resizes the stored images, which can differ from it where the "
                                   "model's input side is not the native one.")
        return name, dp.stat(acc.mean() if len(acc) else np.nan, acc.std(ddof=1) if len(acc) > 1 else np.nan,
                             len(acc), percent=True, show_n=False)

    return _pivot_tables(
        coll,
        keys,
        coll.resize,
        "method",
        "size",
        "resize",
        "test accuracy by the side resized to (px)",
        dp.method_name,
        descending=True,
        header=header,
        first="Method",
        lead=clean,
    )


def corrupt_tables(coll: Collection, keys: list[str]) -> list[Table]:
    return _pivot_tables(
        coll,
        keys,
        coll.corrupt,
        "corruption",
        "severity",
        "corrupt",
        "test accuracy by corruption severity",
        lambda c: str(c).replace("_", " "),
        descending=False,
        first="Corruption",
    )


# ---- 5. subgroups ------------------------------------------------------------------------------------
def subgroup_tables(coll: Collection) -> list[Table]:
    sg = coll.subgroups
    if not len(sg):
        return []
    runs = coll.runs.set_index("run_id")
    rows, diffs = [], []
    for rid, g in sg.groupby("run_id", sort=True):
        if rid not in runs.index:
            continue
        r = runs.loc[rid]
        model = f"{dp.model_name(r['arch'], r['attention'])}, {dp.dataset_name(r['dataset'])}"
        for rec in g.to_dict("records"):
            ci = (
                f"[{100 * rec['ci_low']:.2f}, {100 * rec['ci_high']:.2f}]%"
                if pd.notna(rec.get("ci_low")) and pd.notna(rec.get("ci_high"))
                else "not in probe output"
            )
            rows.append(
                {
                    "Model": model,
                    "Run": rid,
                    "Group": rec["group"],
                    "n (images)": str(int(rec["n"])),
                    "Accuracy": dp.number(rec["accuracy"], percent=True),
                    "95% CI": ci,
                    "Balanced accuracy": dp.number(rec.get("balanced_accuracy"), percent=True),
                    "Bootstrap unit": _unit_text(rec.get("unit"), rec.get("n_units")),
                }
            )
        d = coll.subgroup_diff[coll.subgroup_diff["run_id"] == rid]
        if len(d):
            for rec in d.to_dict("records"):
                diffs.append(
                    {
                        "Model": model,
                        "Run": rid,
                        "Difference": f"{rec['a']} − {rec['b']}",
                        "Accuracy difference": f"{100 * rec['diff']:+.2f} pp".replace("-", "−"),
                        "95% CI": _pp_ci(rec.get("ci_low"), rec.get("ci_high")),
                        "Balanced-accuracy difference": (
                            f"{100 * rec['bal_diff']:+.2f} pp".replace("-", "−")
                            if pd.notna(rec.get("bal_diff")) else "not in probe output"),
                        "95% CI (balanced)": _pp_ci(rec.get("bal_ci_low"), rec.get("bal_ci_high")),
                        "Bootstrap unit": rec.get("unit") or "image",
                    }
                )
        elif (
            len(g) == 2
        ):  # the probe gave no difference: state the point difference and that its CI is missing
            a, b = g.sort_values("n", ascending=False).to_dict("records")
            diffs.append(
                {
                    "Model": model,
                    "Run": rid,
                    "Difference": f"{a['group']} − {b['group']}",
                    "Accuracy difference": f"{100 * (a['accuracy'] - b['accuracy']):+.2f} pp".replace(
                        "-", "−"
                    ),
                    "95% CI": "not in probe output",
                }
            )
    out = [
        Table(
            key="subgroups",
            section="subgroups",
            title="Per-group accuracy (one row per run and group)",
            display=pd.DataFrame(rows),
            data=sg.copy(),
            note="n is the number of test images in the group; CI: the probe's percentile bootstrap 95% interval, "
            "resampling the bootstrap unit: subjects where the store has them (a subject's images are not "
            "independent), else images (probe files written before subjects were resampled say image). The "
            "number of subjects is in brackets: with only a few, the interval is coarse and indicative only.",
        )
    ]
    if diffs:
        out.append(
            Table(
                key="subgroup_difference",
                section="subgroups",
                title="Difference between groups",
                display=pd.DataFrame(diffs),
                data=coll.subgroup_diff.copy(),
                note="In percentage points, with the probe's bootstrap 95% interval over the unit named (independent "
                "resamples of the two groups). The balanced-accuracy difference compares mean per-class recall, "
                "so it does not move with the groups' class mixes, which differ.",
            )
        )
    return out


def _pp_ci(lo, hi) -> str:
    if pd.notna(lo) and pd.notna(hi):
        return f"[{100 * lo:+.2f}, {100 * hi:+.2f}] pp".replace("-", "−")
    return "not in probe output"


def _unit_text(unit, n_units) -> str:
    """``subject (12)`` or ``image``: what the group's interval resampled (older probe files: images)."""
    if not isinstance(unit, str) or not unit:
        return "image"
    return f"{unit} ({int(n_units)})" if unit == "subject" and pd.notna(n_units) else unit


# ---- 6. reproduced vs reported -------------------------------------------------------------------
_STATUS_TEXT = {
    "compared": "compared",
    "no run": "no run",
    "no value": "no value (probe or field missing in the runs)",
    "not comparable": "not measured by ferbench",  # or the reason compare() gives in ``why``
    "unreadable": "unreadable in the document",
}


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _unit(u: str) -> str:
    return {"%": "%", "pp": " pp", "M": "M", "fraction": "", "count": "", "": ""}.get(u, f" {u}")


def reported_tables(comparison: pd.DataFrame) -> list[Table]:
    """Per document: every reported number, ferbench's for the same setting, and the difference."""
    tables = []
    summary = []
    for doc, g in comparison.groupby("doc", sort=True):
        rows = []
        notes = Footnotes()  # how ferbench's model differs from the document's, cited where compared
        for r in g.to_dict("records"):
            vtext = "" if pd.isna(r["value"]) else r.get("value_text", str(r["value"]))
            reported = f"{vtext}{_unit(r['unit'])}" if vtext else f"{r['printed']} (unreadable)"
            d = max(_decimals(vtext) if vtext else 2, 2 if r["unit"] == "minutes" else 0)
            if r["status"] in ("compared", "unreadable") and r["ours_n"]:
                std = "" if pd.isna(r["ours_std"]) else f" ± {r['ours_std']:.{d}f}"
                ours = f"{r['ours_mean']:.{d}f}{std}{_unit(r['unit'])} (n={r['ours_n']})"
            else:
                ours = r.get("why") or _STATUS_TEXT.get(r["status"], r["status"])
            dunit = " pp" if r["unit"] == "%" else _unit(r["unit"])  # a difference of percentages
            dv = 0.0 if pd.isna(r["diff"]) or round(r["diff"], d) == 0 else r["diff"]  # no "−0.00"
            diff = "" if pd.isna(r["diff"]) else f"{dv:+.{d}f}{dunit}".replace("-", "−")
            setting = ", ".join(
                x
                for x in [
                    "/".join(map(dp.dataset_name, r["dataset"].split("|"))) if r["dataset"] else "",
                    dp.model_name(r["arch"], r["attention"] or "none") if r["arch"] else "",
                    dp.ACTIVATION_NAMES.get(r["activation"], r["activation"]),
                    r["variant"],
                    r["split"],
                    r["class"],
                    r["target"],
                    dp.method_name(r["method"]) if r["method"] else "",
                    f"size {r['size']}" if r["size"] else "",
                    r["group"],
                ]
                if x
            )
            rows.append(
                {
                    "Table": r["table"],
                    "Row": r["row_label"],
                    "Column": r["col_label"],
                    "Setting": setting,
                    "Metric": r["metric"].replace("_", " "),
                    "Reported": reported,
                    "ferbench": ours,
                    "Difference": diff,
                    "Notes": r["notes"] + (
                        notes.ref(f"ferbench's {dp.model_name(r['arch'], 'none')}: {DEVIATIONS[r['arch']]}")
                        if r["status"] == "compared" and r["arch"] in DEVIATIONS else ""),
                }
            )
        counts = g["status"].value_counts()
        summary.append(
            {
                "Document": f"{doc} — {g['doc_title'].iloc[0]}",
                "Reported numbers": str(len(g)),
                **{s: str(int(counts.get(s, 0))) for s in _STATUS_TEXT},
            }
        )
        tables.append(
            Table(
                key=slug("reported", doc[:3]),
                section="reported",
                title=f"{g['doc_title'].iloc[0]} ({doc})",
                group=doc,
                display=pd.DataFrame(rows),
                data=g.drop(columns=[c for c in ("value_text",) if c in g]),
                note="Reported: as printed in the document (its unit); ferbench: mean ± std over n "
                "matching runs in the same unit; Difference: ferbench − reported.",
                footnotes=notes,
            )
        )
    if summary:
        tables.insert(
            0,
            Table(
                key="reported_summary",
                section="reported",
                title="Reported numbers per document",
                display=pd.DataFrame(summary),
                data=pd.DataFrame(summary),
                note="compared: ferbench has the number; no run: no finished run of that dataset/model/"
                "setting; no value: matching runs lack it (e.g. the probe was not run); not comparable: a "
                "dataset statistic or setting ferbench does not measure; unreadable: a typo in the document.",
            ),
        )
    return tables


def all_tables(
    coll: Collection,
    comparison: pd.DataFrame,
    group_by: list[str] | None = None,
    metric: str = "accuracy",
    baseline: str | None = None,
) -> list[Table]:
    """Every table of the report, in section order (the ablation only with a ``baseline`` setup)."""
    keys = list(group_by) if group_by else list(MODEL_KEYS)
    return [
        *grid_tables(coll, metric),
        *gain_tables(coll, metric),
        *ablation_tables(coll, baseline, metric),
        *metrics_tables(coll, keys),
        *va_tables(coll, keys),
        *resize_tables(coll, keys),
        *subgroup_tables(coll),
        *corrupt_tables(coll, keys),
        *reported_tables(comparison),
    ]


# ---- cross-dataset matrix ------------------------------------------------------------------------------
CROSS_MODEL_KEYS = ("arch", "attention", "activation", "heads")


def _excluded_text(values: pd.Series) -> str:
    """One footnote for a cell's exclusions: the counts when every run excluded the same, else the classes."""
    texts = sorted({v for v in values if v})
    if not texts:
        return ""
    if len(texts) == 1:
        return f"Excluded, the model has no output for the class: {texts[0]} images per run."
    classes = sorted({part.rsplit(" ", 1)[0] for t in texts for part in t.split(", ")})
    return f"Excluded, the model has no output for the class: {', '.join(classes)} (counts vary by run)."


def crossdata_tables(coll: Collection, evals: pd.DataFrame) -> list[Table]:
    """The train-dataset × test-dataset accuracy matrix (CD-FER-Benchmark's table): a row per model and
    training dataset whose runs were evaluated on another store (``ferbench eval``), a column per test
    store; the training dataset's own column is those runs' own test split."""
    evals = evals[~evals["own_test"].astype(bool)] if len(evals) else evals
    if not len(evals):
        return []
    runs = coll.runs[coll.runs["run_id"].isin(set(evals["run_id"]))].copy()
    evals = evals.merge(runs[["run_id", "dataset", *CROSS_MODEL_KEYS]], on="run_id")
    notes = Footnotes()
    # a column per (test dataset, split, store): two stores of one name are never pooled
    cols = sorted({(str(r.test_dataset), str(r.split), str(r.store_hash)) for r in evals.itertuples()})
    names = sorted({str(d) for d in runs["dataset"]} | {c[0] for c in cols})
    splits_of = {d: {c[1] for c in cols if c[0] == d} | ({"own"} if d in set(runs["dataset"]) else set())
                 for d in names}
    stores_of = {(d, sp): {c[2] for c in cols if c[:2] == (d, sp)} for d in names for sp in ("test", "all")}

    def header(d: str, sp: str, h: str | None) -> str:
        text = dp.dataset_name(d) + (f" ({'all' if sp == 'all' else sp})" if len(splits_of[d]) > 1 and sp != "own"
                                     else "")
        if h is not None and len(stores_of[(d, sp)]) > 1:
            text += f" [store {h}]"
        what = {"own": "The runs' own test split (in-domain).",
                "test": "The store's test split (`ferbench eval --split test`).",
                "all": "Every labelled image of the store (`ferbench eval --split all`)."}[sp]
        return text + notes.ref(what)

    columns = []  # (header, dataset, split, store hash or None)
    for d in names:
        if "own" in splits_of[d]:
            columns.append((d, "own", None))
        columns += [c for c in cols if c[0] == d]
    heads = {c: header(*c) for c in columns}
    rows, data = [], []
    groups = runs.groupby([*CROSS_MODEL_KEYS, "dataset"], sort=False, dropna=False)
    order = sorted(groups.groups, key=lambda k: (arch_order(k[0]), att_order(k[1]), str(k[2:])))
    varying = varying_keys(runs, list(CROSS_MODEL_KEYS))
    for key in order:
        g = groups.get_group(key)
        rec = dict(zip([*CROSS_MODEL_KEYS, "dataset"], key, strict=True))
        label = model_label(rec, list(CROSS_MODEL_KEYS), varying)
        row = {"Model": label, "Trained on": dp.dataset_name(rec["dataset"])}
        for c in columns:
            d, sp, h = c
            if sp == "own":
                if d != rec["dataset"]:
                    row[heads[c]] = "–"
                    continue
                vals, excl = pd.to_numeric(g["accuracy"], errors="coerce").dropna(), ""
            else:
                e = evals[evals["run_id"].isin(set(g["run_id"])) & (evals["test_dataset"] == d)
                          & (evals["split"] == sp) & (evals["store_hash"].astype(str) == h)]
                vals, excl = pd.to_numeric(e["accuracy"], errors="coerce").dropna(), _excluded_text(e["excluded"])
            mean = float(vals.mean()) if len(vals) else np.nan
            std = float(vals.std(ddof=1)) if len(vals) > 1 else np.nan
            cell = dp.stat(mean, std, len(vals), percent=True)
            row[heads[c]] = cell + (notes.ref(excl) if excl and cell != "–" else "")
            if len(vals):
                data.append({**rec, "model": label, "train_dataset": rec["dataset"], "test_dataset": d,
                             "split": sp, "store_hash": h, "mean": mean, "std": std, "n": len(vals),
                             "excluded": excl})
        rows.append(row)
    return [
        Table(
            key="crossdata_accuracy",
            section="crossdata",
            title="Cross-dataset accuracy — training dataset × test dataset",
            display=pd.DataFrame(rows),
            data=pd.DataFrame(data).drop(columns=["dataset"]),
            note="Test accuracy, mean ± sample std over the n runs (seeds × folds) of each model. Classes are "
                 "matched by name; test images of a class the model was not trained on are excluded (footnotes), "
                 "and predicting a class the test store lacks counts as an error.",
            footnotes=notes,
        )
    ]
