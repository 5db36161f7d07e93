#!/usr/bin/env bash
# Real-data runs behind results/fer2013-cpu-recipe/ (issue 19): mini_xception (width 1, 49,783 parameters)
# with the named recipe cpu-fer (ferbench/train/recipe.py RECIPES) on FER2013, official split (train, PublicTest
# as val, PrivateTest as test), 703 train duplicates of val/test removed (--dedupe); on the 2-core CPU
# development machine shared with five other jobs (no GPU), one training process, OMP_NUM_THREADS=1, nice 10.
# Seeds were run one after another; the ones that finished before the session's deadline are committed.
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare fer2013 --root ../shared/datasets/fer2013 --dedupe --data-dir /work/data19
nice -n 10 ferbench grid --name fer2013-cpu-recipe --datasets fer2013 --data-dir /work/data19 --archs mini_xception \
  --recipe cpu-fer --seeds 0,1,2 --device cpu --out results/fer2013-cpu-recipe/runs
# report/ generated from the committed runs (nothing retrained)
ferbench report results/fer2013-cpu-recipe/runs --format markdown,latex,csv,html --out results/fer2013-cpu-recipe/report
