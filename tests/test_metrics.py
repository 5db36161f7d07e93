"""Metrics against values worked out by hand on tiny inputs."""

import numpy as np
import pytest

from ferbench.metrics import classification_metrics, krippendorff_alpha_nominal, regression_metrics, softmax

CLASSES = ["neutral", "happiness", "sadness"]


def _onehot(pred, k=3, conf=0.8):
    p = np.full((len(pred), k), (1 - conf) / (k - 1))
    p[np.arange(len(pred)), pred] = conf
    return p


def test_classification_metrics_by_hand():
    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 1, 1, 1, 0])
    m = classification_metrics(y, _onehot(pred), CLASSES)
    assert m["accuracy"] == pytest.approx(4 / 6)
    # recalls: 2/3, 2/2, 0/1
    assert m["balanced_accuracy"] == pytest.approx((2 / 3 + 1 + 0) / 3)
    # precisions: class0 2/3, class1 2/3, class2 0 -> F1: 2/3, 0.8, 0
    assert m["per_class"]["neutral"]["f1"] == pytest.approx(2 / 3)
    assert m["per_class"]["happiness"]["f1"] == pytest.approx(0.8)
    assert m["per_class"]["sadness"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert m["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 0) / 3)
    # Cohen's kappa: po = 4/6; pe = (3*3 + 2*3 + 1*0) / 36
    pe = (3 * 3 + 2 * 3 + 1 * 0) / 36
    assert m["kappa"] == pytest.approx((4 / 6 - pe) / (1 - pe))
    assert m["confusion"] == [[2, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert 0 <= m["roc_auc"] <= 1 and 0 <= m["pr_auc"] <= 1


def test_krippendorff_alpha_reference_example():
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability", nominal example: alpha = 0.743
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, -1, -1, -1]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, -1, 3]
    c = [-1, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, -1]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, -1]
    assert krippendorff_alpha_nominal(np.array([a, b, c, d]).T) == pytest.approx(0.7434, abs=1e-4)


def test_krippendorff_alpha_two_coders_by_hand():
    # units (0,0) (1,1) (0,1) (1,1): o00=2, o11=4, o01=o10=1; n0=3, n1=5, n=8
    # alpha = 1 - (n-1) * (o01+o10) / (2*n0*n1) = 1 - 7*2/30
    assert krippendorff_alpha_nominal(np.array([[0, 0], [1, 1], [0, 1], [1, 1]])) == pytest.approx(
        1 - 14 / 30
    )
    assert krippendorff_alpha_nominal(np.array([[0, 0], [1, 1], [2, 2]])) == pytest.approx(1.0)


def test_auc_skips_classes_absent_from_labels_and_accepts_logits():
    y = np.array([0, 0, 1, 1])  # class 2 never occurs: its AUC is undefined and must not count as 0
    logits = np.array([[3.0, 0, -1], [2.0, 1, 0], [0.0, 2, 1], [-1.0, 3, 0]])
    m = classification_metrics(y, logits, CLASSES)
    assert m["roc_auc"] == pytest.approx(1.0)
    assert m["pr_auc"] == pytest.approx(1.0)
    np.testing.assert_allclose(softmax(logits).sum(1), 1.0)
    assert classification_metrics(y, softmax(logits), CLASSES)["roc_auc"] == pytest.approx(1.0)


def test_regression_metrics_by_hand():
    true = np.array([-0.5, 0.0, 0.5, 1.0, np.nan])
    pred = np.array([-0.4, 0.1, 0.4, 0.9, 0.3])  # NaN target ignored
    m = regression_metrics(pred, true)
    assert m["n"] == 4
    assert m["rmse"] == pytest.approx(0.1)
    # sign(0.0) = 0 vs sign(0.1) = 1 disagree: 3 of 4 agree
    assert m["sagr"] == pytest.approx(0.75)
    p, t = pred[:4], true[:4]
    assert m["corr"] == pytest.approx(np.corrcoef(p, t)[0, 1])
    ccc = 2 * np.cov(p, t, bias=True)[0, 1] / (p.var() + t.var() + (p.mean() - t.mean()) ** 2)
    assert m["ccc"] == pytest.approx(ccc)
    assert regression_metrics(t, t)["ccc"] == pytest.approx(1.0)
    assert regression_metrics(t + 1.0, t)["ccc"] < 1.0  # CCC, unlike CORR, penalises a shift
