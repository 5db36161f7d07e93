"""Classification and valence/arousal metrics: the numbers every run's ``metrics.json`` holds.

scikit-learn computes everything it has; Krippendorff's alpha (nominal), the affect-regression
measures the FER literature reports (SAGR, CCC) and the expected calibration error are written out here
because no installed dependency has them.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    average_precision_score,
    balanced_accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (numerically stable)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def _as_probs(scores: np.ndarray) -> np.ndarray:
    """Probabilities from logits or probabilities: rows already on the simplex are kept as they are."""
    s = np.asarray(scores, dtype=np.float64)
    if s.min() >= 0 and np.allclose(s.sum(axis=1), 1.0, atol=1e-4):
        return s
    return softmax(s)


def krippendorff_alpha_nominal(ratings: np.ndarray) -> float:
    """Krippendorff's alpha for nominal data from a (units, coders) integer array; ``-1`` = missing.

    Coincidence-matrix form (Krippendorff 2011): each unit with m >= 2 values adds every ordered
    pair of its values (from different coders) with weight 1/(m-1); then
    ``alpha = 1 - (n - 1) * sum_{c!=k} o_ck / sum_{c!=k} n_c n_k``.
    """
    r = np.asarray(ratings)
    values = np.unique(r[r >= 0])
    if len(values) < 2:
        return float("nan")  # no variation: alpha is undefined
    pos = {v: i for i, v in enumerate(values)}
    o = np.zeros((len(values), len(values)))
    for unit in r:
        vals = [pos[v] for v in unit if v >= 0]
        m = len(vals)
        if m < 2:
            continue  # a unit with one value carries no pairable information
        counts = np.bincount(vals, minlength=len(values)).astype(float)
        o += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    observed = o.sum() - np.trace(o)
    expected = n_c.sum() ** 2 - (n_c**2).sum()
    return float(1.0 - (n - 1) * observed / expected)


ECE_BINS = 15


def reliability_bins(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> dict[str, np.ndarray]:
    """Top-1 confidence against accuracy in ``bins`` equal-width confidence bins over [0, 1].

    Returns ``count``, ``confidence`` (mean top-1 probability) and ``accuracy`` per bin (NaN where empty).
    A confidence of exactly 1 falls in the last bin (the bins are right-closed, as in Guo et al. 2017).
    """
    p = _as_probs(probs)
    y = np.asarray(labels, dtype=np.int64)
    conf = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(float)
    which = np.clip(np.ceil(conf * bins).astype(int) - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(which, weights=conf, minlength=bins) / count
        accuracy = np.bincount(which, weights=correct, minlength=bins) / count
    return {"count": count, "confidence": confidence, "accuracy": accuracy}


def expected_calibration_error(labels: np.ndarray, probs: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE (Guo et al. 2017): the count-weighted mean |accuracy − confidence| over ``bins`` confidence bins."""
    b = reliability_bins(labels, probs, bins)
    n = b["count"].sum()
    if n == 0:
        return float("nan")
    keep = b["count"] > 0
    return float(np.sum(b["count"][keep] * np.abs(b["accuracy"][keep] - b["confidence"][keep])) / n)


def hard_roc_auc(labels: np.ndarray, pred: np.ndarray, num_classes: int) -> float:
    """Macro one-vs-rest ROC-AUC of hard (argmax) predictions, i.e. scored on their one-hot vectors.

    With a 0/1 score the ROC curve has one corner, so each class's AUC is (TPR + TNR) / 2. This is
    what the second document reports as AUC (its own per-class table reproduces its figures this way);
    ferbench's ``roc_auc`` ranks the probabilities instead. Classes absent from ``labels`` are left out.
    """
    y = np.asarray(labels, dtype=np.int64)
    pred = np.asarray(pred, dtype=np.int64)
    per = []
    for c in range(num_classes):
        pos = y == c
        if not 0 < pos.sum() < len(y):
            continue
        per.append(roc_auc_score(pos, (pred == c).astype(float)))
    return float(np.mean(per)) if per else float("nan")


def classification_metrics(labels: np.ndarray, logits_or_probs: np.ndarray, classes: list[str]) -> dict:
    """Every classification number a run reports, from true labels and per-class scores.

    ``logits_or_probs`` is (N, C); rows that are not already probabilities are soft-maxed.
    ROC-AUC and PR-AUC are one-vs-rest macro averages over the classes present in ``labels``
    (a class absent from the test set has no defined AUC and is left out of the mean, not scored 0);
    ``roc_auc_hard`` is the same from argmax predictions (:func:`hard_roc_auc`); ``ece`` is the
    15-bin expected calibration error of the probabilities.
    """
    y = np.asarray(labels, dtype=np.int64)
    probs = _as_probs(logits_or_probs)
    k = len(classes)
    if probs.shape != (len(y), k):
        raise ValueError(f"scores have shape {probs.shape}, expected ({len(y)}, {k})")
    pred = probs.argmax(axis=1)
    all_labels = list(range(k))
    prec, rec, f1, support = precision_recall_fscore_support(y, pred, labels=all_labels, zero_division=0)
    present = [c for c in all_labels if 0 < (y == c).sum() < len(y)]
    roc = [roc_auc_score(y == c, probs[:, c]) for c in present]
    ap = [average_precision_score(y == c, probs[:, c]) for c in present]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # balanced accuracy warns when a class is never predicted
        bal = balanced_accuracy_score(y, pred)
    return {
        "accuracy": float(accuracy_score(y, pred)),
        "balanced_accuracy": float(bal),
        "macro_f1": float(
            f1_score(
                y, pred, labels=[c for c in all_labels if (y == c).any()], average="macro", zero_division=0
            )
        ),
        "kappa": float(cohen_kappa_score(y, pred)) if len(np.unique(np.r_[y, pred])) > 1 else float("nan"),
        "krippendorff_alpha": krippendorff_alpha_nominal(np.stack([y, pred], axis=1)),
        "roc_auc": float(np.mean(roc)) if roc else float("nan"),
        "pr_auc": float(np.mean(ap)) if ap else float("nan"),
        "roc_auc_hard": hard_roc_auc(y, pred, k),
        "ece": expected_calibration_error(y, probs),
        "per_class": {
            c: {
                "precision": float(prec[i]),
                "recall": float(rec[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, c in enumerate(classes)
        },
        "confusion": confusion_matrix(y, pred, labels=all_labels).tolist(),
    }


def regression_metrics(pred: np.ndarray, true: np.ndarray) -> dict:
    """RMSE, Pearson CORR, SAGR (sign agreement) and CCC of one affect dimension; NaN targets ignored."""
    p = np.asarray(pred, dtype=np.float64).ravel()
    t = np.asarray(true, dtype=np.float64).ravel()
    keep = np.isfinite(t) & np.isfinite(p)
    p, t = p[keep], t[keep]
    if len(t) < 2:
        return {
            "rmse": float("nan"),
            "corr": float("nan"),
            "sagr": float("nan"),
            "ccc": float("nan"),
            "n": int(len(t)),
        }
    rmse = float(np.sqrt(np.mean((p - t) ** 2)))
    sp, st = p.std(), t.std()
    corr = float(np.mean((p - p.mean()) * (t - t.mean())) / (sp * st)) if sp > 0 and st > 0 else float("nan")
    ccc = float(2 * np.mean((p - p.mean()) * (t - t.mean())) / (sp**2 + st**2 + (p.mean() - t.mean()) ** 2))
    sagr = float(np.mean(np.sign(p) == np.sign(t)))
    return {"rmse": rmse, "corr": corr, "sagr": sagr, "ccc": ccc, "n": int(len(t))}
