"""``ferbench runs [DIR]``: every run directory under a root, finished or not, and two runs side by side.

Run directories are found by :func:`ferbench.rundir.scan` and read by :mod:`ferbench.rundir`; a damaged
one is listed as such rather than stopping the listing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ferbench import rundir
from ferbench.errors import FerbenchError

COLUMNS = ["cell", "status", "dataset", "epochs", "test accuracy", "date", "path"]
_METRICS = ("accuracy", "balanced_accuracy", "macro_f1", "kappa", "roc_auc", "n_test", "train_seconds")


def _date(path: Path) -> str:
    when = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M")


def list_runs(root: str | Path) -> pd.DataFrame:
    """One row per run directory under ``root``: cell id, status (finished / unfinished / damaged),
    dataset, epochs trained, test accuracy and the date (UTC) of its last file, sorted by path."""
    root = Path(root)
    if not root.exists():
        raise FerbenchError(f"{root} does not exist: pass a runs root, e.g. results/demo/runs")
    found = rundir.scan(root)
    rows = []
    for path in sorted([*found, *found.unfinished]):
        finished = rundir.is_finished(path)
        try:
            config = rundir.read_config(path) if (path / rundir.CONFIG).is_file() else {}
            metrics = rundir.read_metrics(path) if finished else {}
            epochs = len(rundir.read_history(path))
            status = "finished" if finished else "unfinished"
        except (FerbenchError, ValueError):
            config, metrics, epochs, status = {}, {}, None, "damaged"
        last = path / (rundir.METRICS if finished else rundir.CONFIG)
        rows.append({"cell": config.get("cell") or metrics.get("cell") or str(path.relative_to(root)),
                     "status": status, "dataset": config.get("dataset") or metrics.get("dataset"),
                     "epochs": epochs, "test accuracy": metrics.get("accuracy"),
                     "date": _date(last if last.exists() else path), "path": str(path)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _resolve(root: Path, name: str | Path) -> Path:
    """A run named by its path, its path under ``root`` or its cell id."""
    for cand in (Path(name), root / name):
        if (cand / rundir.CONFIG).is_file():
            return cand
    for path in rundir.scan(root):
        if (rundir.read_config(path).get("cell")) == str(name):
            return path
    raise FerbenchError(f"--compare {name}: no run directory or cell id {name!r} under {root} "
                        f"(`ferbench runs {root}` lists them)")


def compare_runs(root: str | Path, a: str | Path, b: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two finished runs side by side: the configuration keys whose values differ (what the runs *are*,
    :func:`ferbench.rundir.differing_keys`, plus keys only one records) and their test metrics."""
    root = Path(root)
    ra, rb = (rundir.load_run(_resolve(root, x)) for x in (a, b))
    fa, fb = rundir.flat_identity(ra.config), rundir.flat_identity(rb.config)
    keys = sorted(k for k in fa.keys() | fb.keys() if fa.get(k, "—") != fb.get(k, "—"))
    config = pd.DataFrame({"key": keys, "A": [fa.get(k, "—") for k in keys], "B": [fb.get(k, "—") for k in keys]})
    metrics = pd.DataFrame({"metric": list(_METRICS), "A": [ra.metrics.get(m) for m in _METRICS],
                            "B": [rb.metrics.get(m) for m in _METRICS]})
    metrics.attrs.update(a=str(ra.path), b=str(rb.path))
    return config, metrics
