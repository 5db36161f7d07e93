"""Cross-dataset evaluation: a finished run tested on another prepared store.

``ferbench eval RUN --dataset NAME`` loads the run's best checkpoint (:func:`ferbench.rundir.load_run`)
and scores the images of another store (its ``test`` split, or every labelled image with
``--split all``) through :func:`ferbench.inference.predict` with the run's own input side, channels and
precision, so a gray 48 px model sees an RGB 100 px store the way it saw its training images.

Classes are matched by their canonical names (:mod:`ferbench.data.classes`): a test image whose class
the model was never trained on (CK+'s contempt for a FER2013 model, JAFFE's neutral for a CK+ model)
cannot be scored, so it is excluded and counted per class in the result, never mapped onto a
neighbour. The model still predicts over all of its classes: predicting a class the test store lacks
is an error, as it would be in use.

Each evaluation is written to ``<run>/probes/eval-<dataset>-<split>.json`` through
:mod:`ferbench.probes.outputs` with a stamp holding the run's token and the card hash of the store it
measured. :func:`read_evals` returns only current evaluations: one made before the run was retrained,
or of a store that has since been prepared again (its card hash at the recorded path differs), is
stale and reported as such, never shown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ferbench import rundir
from ferbench.atomic import write_json
from ferbench.data.store import card_hash, is_prepared, open_store, read_card
from ferbench.probes.outputs import current, probe_dir, read_stamp, run_token, write_outputs
from ferbench.probes.runs import ProbeError

SPLITS = ("test", "all")
PREFIX = "eval-"


@dataclass(frozen=True)
class ClassMatch:
    """How a test store's labels map onto a model's outputs."""

    model_classes: list[str]
    store_classes: list[str]
    to_model: np.ndarray  # (len(store_classes),) model index of each store label, -1 where the model lacks it

    @property
    def excluded(self) -> list[str]:
        """The store's classes the model has no output for."""
        return [c for c, m in zip(self.store_classes, self.to_model, strict=True) if m < 0]

    @property
    def shared(self) -> list[str]:
        return [c for c, m in zip(self.store_classes, self.to_model, strict=True) if m >= 0]


def match_classes(model_classes: list[str], store_classes: list[str]) -> ClassMatch:
    """Match by canonical name; both lists are canonical already (every store and run records them so)."""
    where = {c: i for i, c in enumerate(model_classes)}
    to_model = np.array([where.get(c, -1) for c in store_classes], dtype=np.int64)
    return ClassMatch(list(model_classes), list(store_classes), to_model)


def eval_name(dataset: str, split: str) -> str:
    """The probe name (and file stem) of one evaluation: ``eval-<dataset>-<split>``."""
    return f"{PREFIX}{dataset}-{split}"


def _target_store(dataset: str, data_dir: str | Path):
    root = Path(data_dir) / dataset
    if not is_prepared(root):
        raise ProbeError(f"no prepared store {dataset!r} in {Path(data_dir)}: run `ferbench prepare {dataset} "
                         f"--root <its download> --data-dir {data_dir}`, or pass --data-dir where it is prepared")
    return open_store(root)


def _rows(store, split: str) -> np.ndarray:
    if split not in SPLITS:
        raise ProbeError(f"--split {split!r}: use test (the store's test split) or all (every labelled image)")
    if split == "all":
        return np.flatnonzero(store.meta["label"].to_numpy() >= 0)
    return store.indices("test")


def evaluate(run_path: str | Path, dataset: str, *, data_dir: str | Path | None = None, split: str = "test",
             device: str = "auto", batch_size: int = 512, force: bool = False) -> tuple[dict, Path]:
    """Test the finished run at ``run_path`` on the store ``dataset`` (under ``data_dir``, default the data
    dir the run recorded); returns the result and the file it was written to. An up-to-date result (same
    run training, same store card) is read back instead of recomputed unless ``force``."""
    from ferbench.inference import predict, resolve_device
    from ferbench.metrics import classification_metrics

    run = rundir.load_run(run_path)
    ddir = Path(data_dir) if data_dir is not None else run.data_dir
    store = _target_store(dataset, ddir)
    rows = _rows(store, split)
    name = eval_name(dataset, split)
    out = probe_dir(run.path, "", None)
    options = {"dataset": dataset, "split": split, "store": card_hash(store.card)}
    if not force and current(out, name, options, run.path):
        return json.loads((out / f"{name}.json").read_text()), out / f"{name}.json"

    model_classes = list(run.config.get("classes") or run.metrics.get("classes") or [])
    match = match_classes(model_classes, store.classes)
    if not match.shared:
        raise ProbeError(f"{run.path} predicts {', '.join(model_classes)}; the store {store.root} holds "
                         f"{', '.join(store.classes)}: no class in common, nothing to evaluate")
    labels = store.meta["label"].to_numpy()[rows].astype(np.int64)
    mapped = match.to_model[labels]
    keep = mapped >= 0
    excluded = {c: int((labels == i).sum()) for i, c in enumerate(store.classes) if match.to_model[i] < 0}
    excluded = {c: n for c, n in excluded.items() if n}
    if not keep.any():
        raise ProbeError(f"{store.root} ({split}): every one of its {len(rows)} images is of a class the model "
                         f"lacks ({', '.join(excluded)}); try --split all")

    train = run.config.get("train") or {}
    dev = resolve_device(device)
    logits = predict(run.model(device=str(dev)), store.images, index=rows[keep],
                     size=int(train.get("size") or store.size), channels=int(train.get("channels") or 1),
                     device=dev, batch_size=batch_size, amp=str(train.get("amp") or "auto"))["logits"]
    metrics = classification_metrics(mapped[keep], logits, model_classes)
    result = {
        "train_dataset": run.config.get("dataset"),
        "test_dataset": dataset,
        "split": split,
        "cell": run.config.get("cell"),
        "store": {"path": str(store.root), "hash": options["store"], "size": store.size,
                  "channels": store.channels},
        "model_classes": model_classes,
        "store_classes": store.classes,
        "excluded": excluded,  # class -> images not scored: the model has no output for it
        "n_split": int(len(rows)),
        "n": int(keep.sum()),
        **metrics,
    }
    write_outputs(out, name, options, run.path, {f"{name}.json": lambda tmp: write_json(tmp, result)})
    return result, out / f"{name}.json"


def _stale_reason(run_path: Path, stamp: dict, result: dict) -> str | None:
    """Why a written evaluation no longer describes the run and store, or None when it still does."""
    if stamp.get("run") != run_token(run_path):
        return "the run was retrained after it"
    recorded = (result.get("store") or {}).get("path")
    if recorded and is_prepared(recorded):
        try:
            now = card_hash(read_card(recorded))
        except Exception:  # a damaged card: cannot tell, keep the recorded measurement
            return None
        if now != stamp.get("options", {}).get("store"):
            return f"{recorded} was prepared again since (card hash {now})"
    return None


def read_evals(run_path: str | Path) -> tuple[list[dict], list[str]]:
    """The current cross-dataset evaluations of one run, and a line per stale or unreadable one (skipped).

    Where the store it measured is not reachable from here (results copied to another machine) the
    recorded card hash is kept as it is: it still names the store that was measured.
    """
    run_path = Path(run_path)
    d = run_path / rundir.PROBES
    found, problems = [], []
    if not d.is_dir():
        return found, problems
    for stamp_file in sorted(d.glob(f"{PREFIX}*.done.json")):
        probe = stamp_file.name[: -len(".done.json")]
        stamp = read_stamp(d, probe)
        path = d / f"{probe}.json"
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            problems.append(f"{path}: unreadable ({type(err).__name__}); skipped — re-run `ferbench eval`")
            continue
        why = _stale_reason(run_path, stamp or {}, result)
        if why:
            problems.append(f"{path}: stale ({why}); not shown — re-run `ferbench eval {run_path} --dataset "
                            f"{result.get('test_dataset')} --split {result.get('split')}`")
            continue
        found.append(result)
    return found, problems
