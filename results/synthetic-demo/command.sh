#!/usr/bin/env bash
# The README's first command, run on the 2-core, no-GPU development machine (wall time in demo-output.txt);
# copied here from --out without the weights and the (re-creatable) synthetic store.
set -euo pipefail
ferbench demo --out /tmp/demo5
# report/ was regenerated later from the committed runs above (nothing retrained) with the report's new
# presentation (issue 17: HTML page, figure style, LaTeX that fits the page):
ferbench report results/synthetic-demo/runs --format markdown,latex,html --out results/synthetic-demo/report
# report-page.png: the top of that page in Debian's headless Chromium (empty profile, no network)
chromium --headless --no-sandbox --disable-gpu --disable-background-networking --disable-component-update \
  --disable-sync --no-first-run --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size=1400,1000 \
  --screenshot=results/synthetic-demo/report-page.png "file://$PWD/results/synthetic-demo/report/report.html"
# issue 11: the subgroups probe re-run on the committed logits (no model needed, nothing retrained) to
# bootstrap over subjects, against the synthetic store re-drawn with the demo's settings (its labels and
# splits checked equal to every run's logits.npz first):
#   python -c 'from ferbench.data.prepare import prepare; from ferbench.demo import DEMO_STORE; prepare("synthetic", data_dir="/tmp/r11/demodata", seed=0, **DEMO_STORE)'
ferbench subgroups results/synthetic-demo/runs --groups-from-meta group --data-dir /tmp/r11/demodata
# issue 11: report/ regenerated again from the same runs (nothing retrained) with the new statistics
# (setups never pooled, corrected resampled t-test + Holm, ECE, reliability diagram, hard-label AUC, clean column)
