"""Subject-independent splits: k folds grouped by subject, or one train/val/test split by subject.

Splitting by image (what most FER notebooks do) puts frames of the same person in train and test
and inflates accuracy; everything here groups by ``subject`` so no person is in two parts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, StratifiedGroupKFold


def parse_split(text: str) -> tuple[str, tuple[float, float, float]]:
    """Parse ``--split`` values: ``official``, ``subject:70/20/10``."""
    if text == "official":
        return "official", (0.0, 0.0, 0.0)
    kind, _, ratios = text.partition(":")
    if kind != "subject" or not ratios:
        raise ValueError(f"--split {text!r}: expected 'official' or 'subject:TRAIN/VAL/TEST' (e.g. subject:70/20/10)")
    parts = [float(x) for x in ratios.split("/")]
    if len(parts) != 3 or min(parts) < 0 or sum(parts) <= 0:
        raise ValueError(f"--split {text!r}: need three non-negative percentages, e.g. subject:70/20/10")
    total = sum(parts)
    return "subject", (parts[0] / total, parts[1] / total, parts[2] / total)


def subject_folds(labels: np.ndarray, subjects: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Fold id per row, grouped by subject and stratified by label as far as grouping allows.

    ``k`` larger than the number of subjects is clipped (leave-one-subject-out).
    """
    groups = pd.factorize(pd.Series(subjects))[0]
    n_subjects = int(groups.max()) + 1
    k = min(k, n_subjects)
    if k < 2:
        raise ValueError(f"need at least 2 subjects for folds, got {n_subjects}")
    folds = np.full(len(labels), -1, dtype=np.int64)
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for f, (_, test) in enumerate(splitter.split(np.zeros(len(labels)), labels, groups)):
        folds[test] = f
    return folds


def subject_split(subjects: np.ndarray, ratios: tuple[float, float, float], seed: int = 0) -> np.ndarray:
    """``train``/``val``/``test`` per row with whole subjects in each part (GroupShuffleSplit)."""
    n = len(subjects)
    groups = pd.factorize(pd.Series(subjects))[0]
    split = np.array(["train"] * n, dtype=object)
    train_r, val_r, test_r = ratios
    rest = np.arange(n)
    if test_r > 0:
        gss = GroupShuffleSplit(n_splits=1, test_size=test_r, random_state=seed)
        keep, test = next(gss.split(rest, groups=groups))
        split[test] = "test"
        rest = keep
    if val_r > 0:
        gss = GroupShuffleSplit(n_splits=1, test_size=val_r / (train_r + val_r), random_state=seed + 1)
        keep, val = next(gss.split(rest, groups=groups[rest]))
        split[rest[val]] = "val"
    return split.astype(str)
