"""The tables a grid prints when it ends: one row per finished run, and the runs pooled per model.

The pooling is the report's (:func:`ferbench.report.collect.aggregate`), so the grid's closing table
and the report agree.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ferbench import rundir
from ferbench.report.collect import aggregate


def summarize(run_dirs: list[Path]) -> list[dict]:
    """One row per finished run (cell, n_test, accuracy, macro-F1, epochs, seconds) for printing."""
    rows = []
    for d in run_dirs:
        if rundir.is_finished(d):
            m = rundir.read_metrics(d)
            rows.append({"cell": m["cell"], "n_test": m["n_test"], "accuracy": m["accuracy"],
                         "macro_f1": m["macro_f1"], "epochs": m["epochs_run"], "best_epoch": m["best_epoch"],
                         "seconds": m["train_seconds"]})
    return rows


def summarize_cells(run_dirs: list[Path]) -> list[dict]:
    """Runs pooled per model (dataset/arch-attention-activation) over seeds and folds: mean, sample std, n."""
    rows = summarize(run_dirs)
    if not rows:
        return []
    runs = pd.DataFrame(rows).assign(model=lambda d: d["cell"].str.split("/").str[:2].str.join("/"),
                                     run_id=lambda d: d["cell"])
    pooled = aggregate(runs, ["model"], ["accuracy", "macro_f1"])
    return pooled.drop(columns="run_ids").to_dict("records")
