#!/usr/bin/env bash
# Real-data runs behind results/fer2013-cpu-recipe/ (issue 19): mini_xception (width 1, 49,783 parameters)
# with the named recipe cpu-fer (ferbench/train/recipe.py RECIPES: 30 epochs, batch 128, lr 2e-3, bf16, light
# augmentation, no label smoothing, flip TTA) on FER2013, official split (train, PublicTest as val, PrivateTest
# as test), 703 train duplicates of val/test removed (--dedupe). On the 2-core CPU development machine (no GPU):
# the three seeds side by side through the Ray executor, a third of the machine and one thread each, so each
# seed's wall time (49 min) is what one seed would take on a third of this CPU.
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare fer2013 --root ../shared/datasets/fer2013 --dedupe --data-dir /work/data19
ferbench grid --name fer2013-cpu-recipe --datasets fer2013 --data-dir /work/data19 --archs mini_xception \
  --recipe cpu-fer --seeds 0,1,2 --device cpu --executor ray --cpus-per-cell 0.66 --out results/fer2013-cpu-recipe/runs
# report/ generated from the committed runs (nothing retrained)
ferbench report results/fer2013-cpu-recipe/runs --format markdown,latex,csv,html --out results/fer2013-cpu-recipe/report
