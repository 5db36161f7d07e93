#!/usr/bin/env bash
# Short-budget ablation behind RECIPES["cpu-fer"] (issue 19): FER2013, official split (train; PublicTest as
# val; PrivateTest as test), 703 train duplicates of val/test removed (--dedupe), mini_xception unless the
# arm says otherwise, 2 seeds per arm, 12 epochs. One grid file per arm in benchmarks/grids/fer2013-cpu-ablation/
# (each changes one thing against arm bf16). On the 2-core CPU development machine (no GPU): the Ray executor
# runs an arm's two seeds side by side, one core and one thread each; arms one after another.
# runs/base-12ep: the first cpu-fer recipe (fp32; 3 seeds, run earlier one at a time, first committed under
# results/fer2013-cpu-recipe/runs and moved here when the recipe changed).
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare fer2013 --root ../shared/datasets/fer2013 --dedupe --data-dir /work/data19
arm() { ferbench grid --grid "benchmarks/grids/fer2013-cpu-ablation/$1.yaml" --data-dir /work/data19 --device cpu \
  --executor ray --cpus-per-cell 1 --out "results/fer2013-cpu-ablation/runs/$1"; }
arm bf16; arm ls0; arm aug-light; arm resnet_tiny
# report/: every arm (and the final recipe's runs) against arm bf16, paired by seed; nothing retrained.
# Each arm folder is its own setup: never pooled.
ferbench report results/fer2013-cpu-ablation/runs results/fer2013-cpu-recipe/runs --baseline bf16 \
  --format markdown,csv --out results/fer2013-cpu-ablation/report
