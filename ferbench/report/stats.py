"""The report's significance tests: the corrected resampled t-test for cross-validated gains, and Holm's
step-down adjustment across one table's comparisons.

scipy has the t distribution and the plain one-sample t-test but neither the Nadeau-Bengio correction
nor Holm's procedure (statsmodels, which has ``multipletests``, is not a dependency), so both are
written out here, each a few lines against its paper's formula.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class TTest:
    mean: float
    ci_low: float
    ci_high: float
    p: float
    df: int


def corrected_resampled_ttest(diffs, test_train_ratio: float, level: float = 0.95) -> TTest:
    """Nadeau & Bengio (2003) corrected resampled t-test of the mean of ``diffs`` against 0.

    ``diffs`` holds one paired difference per resample (per fold, seeds already averaged). The folds'
    training sets overlap, so the differences are positively correlated and the plain ``s²/J`` under-
    states the variance; the correction replaces ``1/J`` by ``1/J + n_test/n_train``:
    ``t = mean / sqrt((1/J + n_test/n_train) · s²)`` with ``J − 1`` degrees of freedom. With
    ``test_train_ratio = 0`` this is the ordinary one-sample t-test.
    """
    d = np.asarray(diffs, dtype=float)
    j = len(d)
    mean = float(d.mean()) if j else float("nan")
    if j < 2 or not np.ptp(d) > 0:
        return TTest(mean, float("nan"), float("nan"), float("nan"), max(j - 1, 0))
    se = float(np.sqrt((1.0 / j + test_train_ratio) * d.var(ddof=1)))
    t = mean / se
    p = float(2 * stats.t.sf(abs(t), j - 1))
    half = float(stats.t.ppf(0.5 + level / 2, j - 1) * se)
    return TTest(mean, mean - half, mean + half, p, j - 1)


def holm(pvalues) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values (family-wise error), NaN entries left out and kept NaN.

    Sorted ascending, the i-th smallest of m p-values becomes ``max_{k<=i} min(1, (m − k) · p_(k))``
    (k from 0); an adjusted p below α rejects exactly the hypotheses Holm's procedure rejects at α.
    """
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out
