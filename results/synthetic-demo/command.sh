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
