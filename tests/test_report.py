"""``ferbench report`` on run directories written here in the contract's file format (CONTRACTS.md).

These are unit tests of the report: small run dirs with known numbers, so every table cell, every
comparison with a reported number and every bad-input message can be checked exactly.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures.latex import latex_problems
from fixtures.report_runs import SEVEN, make_run

from ferbench.report import ReportError, build_report, collect, compare, load_reported
from ferbench.report.render import latex_text
from ferbench.report.tables import gain_tables, grid_tables, match_setup, resize_tables, subgroup_tables

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"

# ---- the documents' numbers -------------------------------------------------------------------------
def test_reported_facts_are_labelled_and_parse():
    rep = load_reported()
    for col in ("doc", "doc_title", "table", "metric", "printed", "unit", "notes"):
        assert col in rep.columns
    assert (rep["doc"] != "").all() and (rep["table"] != "").all() and (rep["printed"] != "").all()
    counts = rep.groupby("doc").size()
    assert len(counts) == 5 and counts.sum() >= 450
    # the first document's attention table: 32 rows × (params + 3 datasets), as printed
    t2 = rep[rep["table"] == "CNNs with Different Attention Mechanisms"]
    assert len(t2[t2["metric"] == "accuracy"]) == 96 and len(t2[t2["metric"] == "params"]) == 32
    row = t2[(t2["arch"] == "vgg19") & (t2["attention"] == "cbam") & (t2["dataset"] == "ckplus")]
    assert row[row["metric"] == "accuracy"]["value"].iloc[0] == pytest.approx(92.31)
    assert row[row["metric"] == "gain_vs_baseline"]["value"].iloc[0] == pytest.approx(1.65)
    # typos are kept as printed and explained, not fixed silently
    comma = rep[rep["printed"] == "64,71M"].iloc[0]
    assert comma["value"] == pytest.approx(64.71) and "comma" in comma["notes"]
    unreadable = rep[rep["printed"] == "0.0."].iloc[0]
    assert np.isnan(unreadable["value"]) and "typo" in unreadable["notes"]
    gain = rep[(rep["arch"] == "resnetv2_50") & (rep["metric"] == "gain_vs_baseline")]
    assert all("6.66" in n for n in gain["notes"])  # 84.44 − 77.78 is not the printed 6.55
    # wherever the printed text is a plain number, the value is that number
    for r in rep.itertuples():
        plain = re.sub(r"\*\*|\\%|%|M$", "", r.printed).strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", plain) and r.metric != "gain_vs_baseline":
            assert float(plain) == pytest.approx(r.value), r


def test_reported_numbers_appear_verbatim_in_their_documents():
    if not SEEDS.is_dir():
        pytest.skip(f"source documents not found at {SEEDS}")
    docs = {p.stem: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    rep = load_reported()
    assert set(rep["doc"]) == set(docs)
    missing = [(r.doc, r.printed) for r in rep.itertuples() if r.printed not in docs[r.doc]]
    assert not missing


def _md_rows(text: str):
    """(header cells, raw row cells) of every row of every Markdown table in ``text``."""
    lines, header, out = text.splitlines(), None, []

    def is_rule(line: str) -> bool:
        return line.startswith("|") and set(line.replace("|", "").strip()) <= set("-: ")

    for i, line in enumerate(lines):
        if not line.startswith("|"):
            header = None
        elif header is None and i + 1 < len(lines) and is_rule(lines[i + 1]):
            header = [c.strip().replace("**", "").strip() for c in line.strip().strip("|").split("|")]
        elif not is_rule(line):
            out.append((header, [c.strip() for c in line.strip().strip("|").split("|")]))
    return out


def test_reported_table_numbers_sit_in_their_row_and_column():
    if not SEEDS.is_dir():
        pytest.skip(f"source documents not found at {SEEDS}")
    docs = {p.stem: _md_rows(p.read_text(encoding="utf-8")) for p in SEEDS.glob("*.txt")}
    rep = load_reported()
    tabular = rep[~rep["table"].str.contains(r"\(text\)|figure") & (rep["row_label"] != "")]
    assert len(tabular) > 400
    for r in tabular.itertuples():
        assert any(
            row[0].replace("*", "").strip() == r.row_label
            and r.col_label in header
            and row[header.index(r.col_label)] == r.printed
            for header, row in docs[r.doc]
        ), (r.doc, r.table, r.row_label, r.col_label, r.printed)


# ---- tables ------------------------------------------------------------------------------------------
def test_grid_table_layout_bold_gain_and_n(tmp_path):
    for f in range(2):
        make_run(tmp_path, "ckplus", "vgg19", "none", fold=f, accuracy=0.8)
        make_run(tmp_path, "ckplus", "vgg19", "cbam", fold=f, accuracy=0.85 + 0.05 * f, params=45_260_000)
    make_run(tmp_path, "jaffe", "vgg19", "none", accuracy=0.75)
    (t,) = grid_tables(collect(tmp_path))
    d = t.display
    assert list(d.columns) == ["Architecture", "Params", "CK+ Accuracy", "JAFFE Accuracy"]
    assert list(d["Architecture"]) == ["VGG-19", "VGG-19 + CBAM"]
    assert list(d["Params"]) == ["42.87M", "45.26M"]
    assert d["CK+ Accuracy"][0] == "80.00 ± 0.00% (n=2)"
    # best in bold; the gain against no attention is a difference of percentages: percentage points
    assert d["CK+ Accuracy"][1] == "**87.50 ± 3.54% (↑ 7.50 pp) (n=2)**"
    assert d["JAFFE Accuracy"][0] == "75.00% (n=1)" and d["JAFFE Accuracy"][1] == "no run"
    assert "ELU" in t.title


def test_gain_table_pairs_runs_by_seed_and_fold(tmp_path):
    from scipy import stats

    base, att = [0.80, 0.70, 0.90, 0.60], [0.83, 0.71, 0.95, 0.60]
    for f, (b, a) in enumerate(zip(base, att, strict=True)):
        make_run(tmp_path, "ckplus", "vgg19", "none", fold=f, accuracy=b)
        make_run(tmp_path, "ckplus", "vgg19", "cbam", fold=f, accuracy=a)
    make_run(tmp_path, "ckplus", "vgg19", "se", fold=0, accuracy=0.9)  # 1 of 4 folds: incomplete, left out
    make_run(tmp_path, "jaffe", "vgg19", "cbam", accuracy=0.9)  # no run without attention: not paired
    coll = collect(tmp_path)
    (t,) = gain_tables(coll)
    rows = t.display.set_index("Model")
    assert list(rows.index) == ["VGG-19 + CBAM"] and set(rows["Dataset"]) == {"CK+"}
    assert "VGG-19 + SEN-Net on CK+ (1 of 4 folds)" in t.note
    cbam = rows.loc["VGG-19 + CBAM"]
    ck = coll.runs[coll.runs["dataset"] == "ckplus"].set_index(["attention", "fold"])["accuracy"]
    diffs = [100 * (ck["cbam", f] - ck["none", f]) for f in range(4)]  # about 3, 1, 5, 0 points
    plain = stats.ttest_1samp(diffs, 0)
    assert cbam["pairs"] == "4 folds" and cbam["Δ Accuracy (pp)"] == f"{np.mean(diffs):+.2f}"
    assert cbam["p (uncorrected paired t)"] == f"{plain.pvalue:.3f}"
    lo, hi = (float(x) for x in cbam["95% CI"].strip("[]").split(","))
    plo, phi = plain.confidence_interval(0.95)
    assert lo < plo < 0 < phi < hi  # the corrected interval is wider than the plain one


def test_compare_puts_ferbench_beside_the_reported_number(tmp_path):
    make_run(tmp_path, "ckplus", "vgg19", "none", accuracy=0.9)
    make_run(tmp_path, "ckplus", "vgg19", "cbam", accuracy=0.95, params=45_260_000)
    cmp = compare(collect(tmp_path))
    t2 = cmp[cmp["table"] == "CNNs with Different Attention Mechanisms"]
    sel = t2[(t2["arch"] == "vgg19") & (t2["attention"] == "cbam")]
    acc = sel[(sel["dataset"] == "ckplus") & (sel["metric"] == "accuracy")].iloc[0]
    assert acc["status"] == "compared" and acc["ours_n"] == 1
    assert acc["ours_mean"] == pytest.approx(95.0) and acc["diff"] == pytest.approx(95.0 - 92.31)
    gain = sel[(sel["dataset"] == "ckplus") & (sel["metric"] == "gain_vs_baseline")].iloc[0]
    assert gain["ours_mean"] == pytest.approx(5.0)  # in percentage points, like the printed (↑ 1.65%)
    params = sel[sel["metric"] == "params"].iloc[0]
    assert params["ours_mean"] == pytest.approx(45.26) and params["diff"] == pytest.approx(0.0)
    assert (sel[sel["dataset"] == "fer2013"]["status"] == "no run").all()
    assert cmp[cmp["printed"] == "0.0."]["status"].iloc[0] == "no run"
    assert (cmp[cmp["metric"] == "dataset_images"]["status"] == "not comparable").all()


def test_probe_tables_resize_and_subgroups(tmp_path):
    make_run(tmp_path, "synthetic", "vgg_tiny", "none", "relu", probes=True, accuracy=0.8)
    coll = collect(tmp_path)
    (rt,) = resize_tables(coll, ["arch", "attention", "activation", "heads"])
    # sizes largest first, as the document; the native side (the run's 48 px) carries a footnote
    assert list(rt.display.columns) == ["Method", "clean^[b]", "48 (native)^[a]", "32", "16"]
    assert "native side (48 px)" in rt.footnotes["a"] and "own test accuracy" in rt.footnotes["b"]
    assert rt.display["clean^[b]"][0] == "80.00%"  # the run's metrics.json accuracy
    assert list(rt.display["Method"]) == ["Both Cubic", "Cubic Linear"]
    assert rt.display["16"][0] == "56.00%" and "(n=1 run)" in rt.title
    groups, diff = subgroup_tables(coll)
    assert list(groups.display["95% CI"]) == ["[74.00, 89.00]%", "[55.00, 83.00]%"]
    # the probe writes b − a (child − adult = −0.12): printed with that orientation spelled out
    assert diff.display["Difference"][0] == "child − adult"
    assert diff.display["Accuracy difference"][0] == "−12.00 pp"
    assert diff.display["95% CI"][0] == "[−27.00, +3.00] pp"


def test_latex_text_escapes_and_translates_markup():
    assert latex_text("**87.50 ± 3.54% (↑ 7.50 pp)**") == r"\textbf{87.50 $\pm$ 3.54\% ($\uparrow$ 7.50 pp)}"
    assert latex_text("a & c#d {e} ~ ^") == r"a \& c\#d \{e\} \textasciitilde{} \textasciicircum{}"
    assert latex_text("a_b/c") == r"a\_\allowbreak{}b/\allowbreak{}c"  # ids may wrap in a narrow column
    # every symbol a Markdown table shows has a LaTeX spelling; none is dropped (the Δ of the gains note was)
    assert latex_text("Δ = a − b ≥ 0, ≤ 1, ↓ 2 pp") == r"$\Delta$ = a $-$ b $\geq$ 0, $\leq$ 1, $\downarrow$ 2 pp"
    assert latex_text("überrascht, Ångström, 7 √ ó") == r'\"{u}berrascht, \r{A}ngstr\"{o}m, 7 $\surd$ \'{o}'
    assert latex_text("κ α") == r"$\kappa$ $\alpha$"
    assert latex_text("x^[a]") == r"x\textsuperscript{a}"  # a footnote mark
    assert latex_text("日") == "[U+65E5]"  # no glyph in the standard fonts: visible, never silent


def test_classification_and_valence_arousal_tables(tmp_path):
    eight = [*SEVEN, "contempt"]
    for arch, acc in (("resnet18", 0.75), ("mobilenetv2", 0.7)):
        make_run(
            tmp_path, "affectnet", arch, "none", "relu", classes=eight, heads="cls+va", va=True, accuracy=acc,
            logits=True,
        )
    w = build_report(tmp_path, tmp_path / "o", formats="markdown,csv", figures=False)
    md = w["markdown"].read_text()
    assert "### Quantitative regression results (Valence) — AffectNet" in md
    assert "| CCC " in md and "| Krippendorff's Alpha " in md and "| contempt " in md
    va = pd.read_csv(w["csv:va_valence_affectnet"])
    assert set(va["model"]) == {"ResNet-18", "MobileNet-V2"}
    assert va.loc[va["metric"] == "ccc", "mean"].tolist() == [0.75, 0.75]
    summary = pd.read_csv(w["csv:reported_summary"])
    doc1 = summary[summary["Document"].str.startswith("001_")].iloc[0]
    statuses = ["compared", "no run", "no value", "not comparable", "unreadable"]
    assert doc1["compared"] > 50 and doc1[statuses].sum() == doc1["Reported numbers"] == 164
    assert doc1["no value"] == 4  # step size and gamma of the two models: these runs used no step schedule
    cmp = compare(collect(tmp_path))
    r18 = cmp[(cmp["arch"] == "resnet18") & (cmp["target"] == "valence") & (cmp["metric"] == "ccc")].iloc[0]
    assert r18["status"] == "compared" and r18["diff"] == pytest.approx(0.75 - 0.82)
    acc = cmp[(cmp["arch"] == "resnet18") & (cmp["metric"] == "accuracy")].iloc[0]
    assert acc["ours_mean"] == pytest.approx(75.0) and acc["unit"] == "%"  # "76.7" is printed without %
    # its AUC is from hard predictions: compared with ferbench's hard-label AUC; its alpha is not comparable
    auc = cmp[(cmp["arch"] == "resnet18") & (cmp["table"].str.startswith("Quantitative Class"))
              & (cmp["row_label"] == "AUC")].iloc[0]
    runs = collect(tmp_path).runs.set_index("arch")
    assert auc["metric"] == "roc_auc_hard" and auc["ours_mean"] == pytest.approx(runs.loc["resnet18", "roc_auc_hard"])
    alpha = cmp[(cmp["arch"] == "resnet18") & (cmp["metric"] == "krippendorff_alpha")].iloc[0]
    assert alpha["status"] == "not comparable" and "not comparable" in alpha["why"] and np.isnan(alpha["diff"])


# ---- bad input: a message, and the rest of the report ---------------------------------------------
def test_empty_foreign_and_missing_dirs(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    w = build_report(empty, tmp_path / "out1", formats="markdown", figures=False)
    assert any("is empty" in p for p in w.problems)
    text = w["markdown"].read_text()
    assert "Reproduced vs reported" in text and "no run" in text  # the documents' numbers are still there

    foreign = tmp_path / "foreign"
    (foreign / "sub").mkdir(parents=True)
    (foreign / "sub" / "notes.txt").write_text("hello")
    w = build_report(foreign, tmp_path / "out2", formats="markdown", figures=False)
    assert any("holds no ferbench run directories" in p for p in w.problems)

    with pytest.raises(ReportError, match="does not exist"):
        build_report(tmp_path / "nope", tmp_path / "out3")
    with pytest.raises(ReportError, match="not a report format"):
        build_report(empty, tmp_path / "out3", formats="pdf")


def test_unfinished_unreadable_and_mixed_class_sets(tmp_path):
    make_run(tmp_path, "ckplus", "vgg19", "none", seed=0)
    make_run(tmp_path, "ckplus", "vgg19", "none", seed=1, finished=False)  # still training
    bad = make_run(tmp_path, "ckplus", "vgg19", "se", seed=0)
    (bad / "metrics.json").write_text('{"accuracy": 0.8, ')  # truncated by hand
    make_run(tmp_path, "fer2013", "vgg19", "none", seed=0)
    make_run(tmp_path, "fer2013", "vgg19", "none", seed=1, classes=[*SEVEN, "contempt"])
    w = build_report(tmp_path, tmp_path / "out", formats=("markdown", "csv"), figures=False)
    probs = "\n".join(w.problems)
    assert "1 unfinished run(s) not read" in probs and "vgg19-none-elu/s1" in probs
    assert "unreadable run files" in probs and "vgg19-se-elu" in probs
    assert (
        "different class sets" in probs and "fer2013 (7 classes)" in probs and "fer2013 (8 classes)" in probs
    )
    md = w["markdown"].read_text()
    assert "## Problems" in md and "fer2013 (8 classes) Accuracy" in md and "CK+ Accuracy" in md
    runs = pd.read_csv(w["csv:runs"])
    assert len(runs) == 3 and set(runs["dataset"]) == {"ckplus", "fer2013 (7 classes)", "fer2013 (8 classes)"}


def test_filter_group_by_and_metric(tmp_path):
    for s in range(2):
        make_run(tmp_path, "ckplus", "vgg19", "none", seed=s, accuracy=0.8 + 0.05 * s)
        make_run(tmp_path, "jaffe", "resnet50", "none", seed=s)
    assert set(collect(tmp_path, filter="dataset=ckplus").runs["dataset"]) == {"ckplus"}
    assert len(collect(tmp_path, filter="dataset=ckplus,jaffe,seed=1").runs) == 2
    assert set(collect(tmp_path, filter="arch == 'resnet50' and seed < 1").runs["run_id"]) == {
        "jaffe/resnet50-none-elu/s0"
    }
    with pytest.raises(ReportError, match="--filter"):
        collect(tmp_path, filter="accuracy >")
    w = build_report(
        tmp_path,
        tmp_path / "o",
        formats="csv",
        group_by="dataset,arch,seed",
        metric="macro_f1",
        figures=False,
    )
    metrics = pd.read_csv(w["csv:metrics_ckplus"])
    assert set(metrics["model"]) == {"VGG-19 [s0]", "VGG-19 [s1]"} and (metrics["n"] == 1).all()
    grid = pd.read_csv(w["csv:grid_elu"])
    assert set(grid["metric"]) == {"macro_f1"}
    with pytest.raises(ReportError, match="--group-by"):
        build_report(tmp_path, tmp_path / "o", formats="csv", group_by="dataset,colour", figures=False)
    with pytest.raises(ReportError, match="--metric"):
        build_report(tmp_path, tmp_path / "o", formats="csv", metric="speed", figures=False)


# ---- every format, with figures; LaTeX compiles cleanly ---------------------------------------------
def test_all_formats_figures_and_latex_compiles(tmp_path):
    runs = tmp_path / "runs"
    make_run(runs, "synthetic", "vgg_tiny", "none", "relu", probes=True)
    make_run(runs, "synthetic", "vgg_tiny", "se", "relu", accuracy=0.85)
    out = tmp_path / "report"
    w = build_report(runs, out, formats="markdown,latex,html,csv")
    md = w["markdown"].read_text()
    numbers = [int(n) for n in re.findall(r"^## (\d+)\. ", md, flags=re.M)]
    assert numbers == list(range(1, len(numbers) + 1))  # consecutive: no section is skipped in the count
    for section in ("1. Architecture", "2. Classification", "3. Resize", "4. Subgroups", "5. Corruptions",
                    "6. Reproduced"):
        assert f"## {section}" in md
    assert "VGG-tiny + SEN-Net" in md and "(↑ 5.00 pp)" in md
    assert not re.search(r"\([↑↓] [\d.]+%\)", md.split("Reproduced")[0])  # a difference of % is in pp
    assert "48 (native)<sup>a</sup>" in md and "<sup>a</sup> The native side (48 px)" in md  # a footnote survives
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (out / link).is_file()
    figs = [k for k in w if k.startswith("figure:")]
    kinds = {k.split(":")[1].split("_")[0] for k in figs}
    assert {"heatmap", "confusion", "curves", "resize", "subgroups", "corrupt"} <= kinds
    assert any(k.endswith(".pdf") for k in figs)  # LaTeX includes the PDF versions
    assert "<table class='sortable'" in w["html"].read_text()
    tex = w["latex"].read_text()
    assert r"\begin{document}" in tex and r"\toprule" in tex and r"\begin{longtable}" in tex
    assert r"$\Delta$ = attention minus" in tex and r"48 (native)\textsuperscript{a}" in tex
    assert "[U+" not in tex
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex not installed (apt: texlive-latex-base texlive-latex-recommended)")
    problems = latex_problems(out)
    assert not problems, problems
    assert (out / "report.pdf").stat().st_size > 10_000


def test_latex_fits_the_page_with_many_models_and_odd_names(tmp_path):
    """Eight models (the classification table ran 151 pt off the page with a column each), class names
    with accents and symbols, long run ids: every table fits, every glyph is there."""
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex not installed (apt: texlive-latex-base texlive-latex-recommended)")
    runs = tmp_path / "runs"
    classes = ["neutral", "Überraschung", "joie & peur", "≥ 50% sure", "α_β", "disgust", "anger"]
    for arch in ("vgg16", "vgg19", "resnet50", "resnet101"):
        for att, acc in (("none", 0.8), ("cbam", 0.83)):
            for f in range(2):
                make_run(runs, "ckplus", arch, att, fold=f, classes=classes, accuracy=acc - 0.02 * f)
    out = tmp_path / "report"
    build_report(runs, out, formats="latex")
    assert "[U+" not in (out / "report.tex").read_text()
    problems = latex_problems(out)
    assert not problems, problems


def test_latex_check_fails_on_a_missing_glyph_and_an_overfull_box(tmp_path):
    """The check the two tests above rely on catches what it must (a test that cannot fail is no test)."""
    if not shutil.which("pdflatex"):
        pytest.skip("pdflatex not installed (apt: texlive-latex-base texlive-latex-recommended)")
    (tmp_path / "report.tex").write_text(
        "\\documentclass{article}\\tracinglostchars=2\\begin{document}\n"
        "\\char\"80\\par\\hbox to 20pt{far too much text for twenty points}\n\\end{document}\n"
    )
    problems = latex_problems(tmp_path)
    assert any("Missing character" in p for p in problems) and any("Overfull" in p for p in problems)


def test_report_out_is_a_file_exits_2(tmp_path):
    from typer.testing import CliRunner

    from ferbench.cli import app

    (tmp_path / "runs").mkdir()
    (tmp_path / "afile").write_text("x")
    r = CliRunner().invoke(app, ["report", str(tmp_path / "runs"), "--out", str(tmp_path / "afile")])
    assert r.exit_code == 2 and "--out" in r.output and "is a file" in r.output and "Traceback" not in r.output


def test_every_figure_sits_beside_an_existing_table(tmp_path):
    from ferbench.report.collect import MODEL_KEYS
    from ferbench.report.figures import all_figures
    from ferbench.report.tables import all_tables

    runs = tmp_path / "runs"
    for f in range(2):
        make_run(runs, "ckplus", "vgg19", "none", fold=f, probes=True)
        make_run(runs, "ckplus", "vgg19", "cbam", fold=f, accuracy=0.85, probes=True)
    coll = collect(runs)
    keys = {t.key for t in all_tables(coll, compare(coll), list(MODEL_KEYS))}
    figs = all_figures(coll, tmp_path / "figs", list(MODEL_KEYS))
    assert {f.key.split("_")[0] for f in figs} == {"heatmap", "confusion", "curves", "resize", "subgroups",
                                                  "corrupt"}
    assert all(f.table in keys for f in figs), [(f.key, f.table) for f in figs if f.table not in keys]
    curves = next(f for f in figs if f.key.startswith("curves"))
    assert "n=2 runs" in curves.caption and "one colour per run" in curves.caption


def test_reported_table_cites_how_our_model_differs_from_the_documents():
    """A compared number of an arch in DEVIATIONS gets a footnote saying how ferbench's model differs."""
    from ferbench.models import DEVIATIONS
    from ferbench.report.tables import reported_tables

    base = dict(doc="doc1", doc_title="Doc", value=92.3, value_text="92.3", printed="92.3", unit="%",
                ours_n=3, ours_std=1.0, ours_mean=90.0, why="", diff=-2.3, dataset="ckplus", attention="none",
                activation="elu", variant="", split="", target="", method="", size="", group="",
                table="T1", row_label="r", col_label="c", metric="accuracy", notes="")
    base["class"] = ""
    comparison = pd.DataFrame([{**base, "arch": "vgg19", "status": "compared"},
                               {**base, "arch": "resnet18", "status": "compared"},
                               {**base, "arch": "emonet", "status": "no run"}])
    table = next(t for t in reported_tables(comparison) if t.key != "reported_summary")
    assert list(table.footnotes.values()) == [f"ferbench's VGG-19: {DEVIATIONS['vgg19']}"]
    assert table.display["Notes"].tolist() == ["^[a]", "", ""]


def _set_metric(run_dir: Path, **values) -> None:
    import json

    p = run_dir / "metrics.json"
    p.write_text(json.dumps({**json.loads(p.read_text()), **values}))


def test_ablation_table_pairs_each_setup_with_the_baseline_by_seed(tmp_path):
    from scipy import stats

    base, long = [0.60, 0.62, 0.61], [0.65, 0.66, 0.68]
    for s, (b, lg) in enumerate(zip(base, long, strict=True)):
        d = make_run(tmp_path / "runs" / "short", "fer2013", "vgg_tiny", seed=s, accuracy=b, epochs=3)
        _set_metric(d, accuracy_no_tta=b - 0.01)
        d = make_run(tmp_path / "runs" / "long", "fer2013", "vgg_tiny", seed=s, accuracy=lg, epochs=6)
        _set_metric(d, accuracy_flip_tta=lg - 0.02)  # "long" also averaged shifted views
    make_run(tmp_path / "runs" / "wide", "fer2013", "resnet_tiny", seed=0, accuracy=0.5, epochs=5)
    make_run(tmp_path / "runs" / "other-seeds", "fer2013", "vgg_tiny", seed=7, accuracy=0.7, epochs=4)
    written = build_report(tmp_path / "runs", tmp_path / "rep", "markdown,csv", figures=False, baseline="short")
    text = written["markdown"].read_text()
    assert "Ablation against a baseline setup" in text and "every setup against short" in text
    rows = {r[0]: r for h, r in _md_rows(text) if h and h[0] == "Setup"}
    assert set(rows) == {"short (baseline)", "short without flip TTA", "long", "long with flip TTA only", "wide",
                         "other-seeds"}
    n = 20 * len(SEVEN)  # make_run's test set: accuracies land on multiples of 1/n
    acc = {k: [round(a * n) / n for a in v] for k, v in (("short", base), ("long", long))}
    diffs = 100 * (np.array(acc["long"]) - np.array(acc["short"]))
    t = stats.ttest_1samp(diffs, 0)
    lo, hi = t.confidence_interval(0.95)
    long_row = rows["long"]
    assert long_row[1] == "VGG-tiny" and "epochs 3→6" in long_row[2] and long_row[3] == "3"
    assert long_row[5] == f"{diffs.mean():+.2f}" and long_row[6] == "3 seeds"
    assert long_row[7] == f"[{lo:+.2f}, {hi:+.2f}]" and long_row[8] == f"{t.pvalue:.3f}"
    assert rows["wide"][1] == "ResNet-tiny" and "model VGG-tiny→ResNet-tiny" in rows["wide"][2]
    assert rows["wide"][6] == "1 seeds"
    assert "unpaired" in rows["other-seeds"][5]  # seed 7 has no baseline run: means only, no test
    no_tta = 100 * (np.array(base) - 0.01 - np.array(acc["short"]))  # the same weights without the mirror
    assert rows["short without flip TTA"][5] == f"{no_tta.mean():+.2f}"
    # the same "long" weights without the shifts, against the baseline: what the model change alone bought
    flip_only = 100 * (np.array(long) - 0.02 - np.array(acc["short"]))
    assert rows["long with flip TTA only"][5] == f"{flip_only.mean():+.2f}"
    assert "epochs 3→6" in rows["long with flip TTA only"][2]
    assert "without its shifts" in rows["long with flip TTA only"][2]
    csv = pd.read_csv(tmp_path / "rep" / "csv" / "ablation_fer2013.csv")
    assert csv.loc[csv["setup"] == "long", "p_holm"].iloc[0] >= csv.loc[csv["setup"] == "long", "p_value"].iloc[0]
    # folders of one store and recipe are one setup, named "a, b": either folder names it
    assert match_setup(["short, wide", "x/long"], "wide") == "short, wide" and match_setup(["x/long"], "long")
    with pytest.raises(ReportError, match="--baseline 'nope' names none of the setups; choose one of: long"):
        build_report(tmp_path / "runs", tmp_path / "rep2", "markdown", figures=False, baseline="nope")


def test_report_reads_several_folders_as_one_collection(tmp_path):
    make_run(tmp_path / "a", "fer2013", "vgg_tiny", accuracy=0.6, epochs=3)
    make_run(tmp_path / "b" / "runs", "fer2013", "vgg_tiny", accuracy=0.7, epochs=5)
    coll = collect([tmp_path / "a", tmp_path / "b" / "runs"])
    assert len(coll.runs) == 2 and len(set(coll.runs["run_id"])) == 2
    assert set(coll.runs["grid"]) == {"a", "b/runs"}  # the folders they share are left out of the names
    (t,) = [t for t in build_report([tmp_path / "a", tmp_path / "b" / "runs"], tmp_path / "rep", "markdown",
                                    figures=False, baseline="runs").values() if str(t).endswith(".md")]
    assert "every setup against b/runs" in t.read_text()
    with pytest.raises(ReportError, match="given twice"):
        collect([tmp_path / "a", tmp_path / "a"])
