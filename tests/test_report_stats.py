"""The report's statistics (issue 11): what is pooled and paired, incomplete k-fold cells, the corrected
resampled t-test and Holm's adjustment against hand computations, ECE and the hard-label AUC."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from fixtures.report_runs import make_run
from scipy import stats

from ferbench.metrics import expected_calibration_error, hard_roc_auc, reliability_bins
from ferbench.report import collect
from ferbench.report.stats import corrected_resampled_ttest, holm
from ferbench.report.tables import gain_tables, grid_tables, metrics_tables


def test_corrected_resampled_ttest_by_hand():
    d = np.array([3.0, 1.0, 5.0, 0.0, 2.0])
    ratio = 0.25  # n_test / n_train of 5-fold CV
    # mean 2.2, sample variance ((0.8² + 1.2² + 2.8² + 2.2² + 0.2²) / 4) = 3.7
    mean, var = 2.2, 3.7
    t = mean / np.sqrt((1 / 5 + ratio) * var)
    r = corrected_resampled_ttest(d, ratio)
    assert r.mean == pytest.approx(mean) and r.df == 4
    assert r.p == pytest.approx(2 * stats.t.sf(t, 4))
    half = stats.t.ppf(0.975, 4) * np.sqrt((1 / 5 + ratio) * var)
    assert (r.ci_low, r.ci_high) == pytest.approx((mean - half, mean + half))
    plain = corrected_resampled_ttest(d, 0.0)  # no correction: scipy's one-sample t-test
    assert plain.p == pytest.approx(stats.ttest_1samp(d, 0).pvalue) and plain.p < r.p
    assert np.isnan(corrected_resampled_ttest([1.0, 1.0], 0.2).p)  # no spread: no test


def test_holm_by_hand():
    # m = 4: sorted 0.01, 0.02, 0.03, 0.2 → 0.04, max(0.04, 0.06), max(0.06, 0.06), max(0.06, 0.2)
    adj = holm([0.03, 0.01, np.nan, 0.2, 0.02])
    assert adj[[1, 4, 0, 3]] == pytest.approx([0.04, 0.06, 0.06, 0.2]) and np.isnan(adj[2])
    assert holm([0.6, 0.5]) == pytest.approx([1.0, 1.0])  # capped at 1


def test_ece_and_reliability_bins_by_hand():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    # top-1 confidences 0.9 (right), 0.9 (right), 0.6 (wrong), 0.7 (right) in 15 bins of 1/15:
    # bin of 0.9: acc 1, conf 0.9; 0.6: acc 0, conf 0.6; 0.7: acc 1, conf 0.7
    ece = (2 * 0.1 + 1 * 0.6 + 1 * 0.3) / 4
    assert expected_calibration_error(y, p) == pytest.approx(ece)
    b = reliability_bins(y, p)
    assert b["count"].sum() == 4 and b["count"][13] == 2  # 0.9 lies in (13/15, 14/15]
    assert expected_calibration_error(np.array([0]), np.array([[1.0, 0.0]])) == 0.0  # conf 1: the last bin


def test_hard_roc_auc_is_mean_of_tpr_and_tnr():
    y = np.array([0, 0, 0, 1, 1, 2])
    pred = np.array([0, 0, 1, 1, 1, 0])
    # class 0: TPR 2/3, FPR 1/3; class 1: TPR 1, FPR 1/4; class 2: TPR 0, FPR 0
    want = np.mean([(2 / 3 + 2 / 3) / 2, (1 + 3 / 4) / 2, (0 + 1) / 2])
    assert hard_roc_auc(y, pred, 3) == pytest.approx(want)


def test_the_second_documents_auc_is_hard_label_auc():
    """Its per-class table (precision, recall, support) gives its AUC row as (TPR + TNR) / 2 averaged."""
    mobilenet = [(0.58, 0.86, 14852), (0.89, 0.89, 27005), (0.72, 0.31, 5013), (0.57, 0.37, 2799),
                 (0.63, 0.16, 1274), (0.46, 0.10, 766), (0.61, 0.49, 5043), (0.00, 0.00, 799)]
    total = sum(s for _, _, s in mobilenet)
    aucs = []
    for prec, rec, sup in mobilenet:
        tp = rec * sup
        fp = tp / prec - tp if prec else 0.0
        aucs.append((rec + 1 - fp / (total - sup)) / 2)
    assert np.mean(aucs) == pytest.approx(0.675, abs=0.001)  # printed 0.67


def test_two_grids_in_one_folder_are_separate_rows_and_never_paired(tmp_path):
    for f in range(2):
        make_run(tmp_path / "short", "ckplus", "vgg19", "none", fold=f, accuracy=0.6, epochs=3)
        make_run(tmp_path / "long", "ckplus", "vgg19", "none", fold=f, accuracy=0.8, epochs=30)
        make_run(tmp_path / "long", "ckplus", "vgg19", "cbam", fold=f, accuracy=0.85 + 0.01 * f, epochs=30)
    coll = collect(tmp_path)
    assert set(coll.runs["grid"]) == {"short", "long"}
    assert any("2 different setups" in p for p in coll.problems)
    (t,) = grid_tables(coll)
    cols = [c for c in t.display.columns if c.startswith("CK+")]
    assert cols == ["CK+ Accuracy [long]", "CK+ Accuracy [short]"]
    vgg = t.display.set_index("Architecture").loc["VGG-19"]
    assert vgg[cols[0]].startswith("80.00") and vgg[cols[1]].startswith("60.00")  # never a 70% of n=4
    (g,) = gain_tables(coll)
    acc = coll.runs[coll.runs["grid"] == "long"].groupby("attention")["accuracy"].mean()
    assert list(g.data["grid"]) == ["long"]
    assert g.data["mean_diff"].iloc[0] == pytest.approx(100 * (acc["cbam"] - acc["none"]))


def test_fine_tuned_run_is_never_paired_with_a_scratch_one(tmp_path):
    make_run(tmp_path, "ckplus", "vgg19", "none", seed=0, accuracy=0.6)
    d = make_run(tmp_path / "ft", "ckplus", "vgg19", "cbam", seed=0, accuracy=0.9)
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, "pretrained": "imagenet.safetensors"}))
    coll = collect(tmp_path)
    assert coll.runs["grid"].nunique() == 2
    assert gain_tables(coll) == []


def test_duplicate_cell_is_counted_once_with_a_warning(tmp_path):
    make_run(tmp_path / "a", "ckplus", "vgg19", "none", seed=0, accuracy=0.7)
    make_run(tmp_path / "a", "ckplus", "vgg19", "none", seed=1, accuracy=0.8)
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    coll = collect(tmp_path)
    assert len(coll.runs) == 2 and sorted(coll.runs["run_id"]) == ["a/ckplus/vgg19-none-elu/s0",
                                                                   "a/ckplus/vgg19-none-elu/s1"]
    assert sum("is a duplicate of" in p and "counted once" in p for p in coll.problems) == 2
    (t,) = grid_tables(coll)
    assert "(n=2)" in t.display.iloc[0, 2]


def test_incomplete_kfold_cell_is_marked_not_a_finished_mean(tmp_path):
    for f in range(4):
        make_run(tmp_path, "ckplus", "vgg19", "none", fold=f, accuracy=0.7, logits=True)
    for f in range(3):
        make_run(tmp_path, "ckplus", "vgg19", "cbam", fold=f, accuracy=0.9, logits=True)
    coll = collect(tmp_path)
    (t,) = grid_tables(coll)
    rows = t.display.set_index("Architecture")
    cbam = rows.loc["VGG-19 + CBAM"].iloc[-1]
    assert "incomplete: 3 of 4 folds" in cbam and "↑" not in cbam and "**" not in cbam
    assert "incomplete" not in rows.loc["VGG-19"].iloc[-1]
    assert gain_tables(coll) == []  # its only comparison is incomplete
    m = metrics_tables(coll, ["dataset", "grid", "arch", "attention", "activation", "heads"])[0]
    assert "incomplete: 3 of 4 folds" in m.display.to_string()
    assert "ECE (15 bins)" in m.display.to_string() and "AUC (hard labels)" in m.display.to_string()
    ece = coll.runs.set_index("run_id")["ece"]
    z = np.load(tmp_path / "ckplus/vgg19-none-elu/s0/f0/logits.npz")
    assert ece["ckplus/vgg19-none-elu/s0/f0"] == pytest.approx(expected_calibration_error(z["labels"], z["logits"]))
    assert set(coll.calibration["run_id"]) == set(coll.runs["run_id"])
