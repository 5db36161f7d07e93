#!/usr/bin/env bash
# Real-data runs behind results/jaffe-cpu-wider/ (issue 19): the best FER2013 CPU model and recipe (mini_xception
# 16-32-192-384, cpu-fer with batch 32 and 60 epochs for this small set, flip + 3 px shift TTA; the grid file
# benchmarks/grids/small-sets-cpu-wider.yaml says why) on jaffe, 10 subject-independent folds, seed 0 per fold,
# on the 2-core CPU development machine (no GPU), two folds side by side through the Ray executor, one thread
# each, as results/jaffe-cpu-recipe/ was run.
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare jaffe --root ../shared/datasets/jaffe/jaffe --data-dir /work/data19
ferbench grid --grid benchmarks/grids/small-sets-cpu-wider.yaml --datasets jaffe --data-dir /work/data19 \
  --device cpu --executor ray --cpus-per-cell 1 --out results/jaffe-cpu-wider/runs
# report/ from the committed runs (nothing retrained), with results/jaffe-cpu-recipe/ (mini_xception at its
# default widths, flip TTA only) as the baseline: two setups, never pooled, paired fold by fold
ferbench report results/jaffe-cpu-recipe/runs results/jaffe-cpu-wider/runs --baseline jaffe-cpu-recipe/runs \
  --format markdown,csv --out results/jaffe-cpu-wider/report
