#!/usr/bin/env bash
# Real-data runs behind results/ckplus-cpu-recipe/ (issue 19): the FER2013 CPU recipe's model (mini_xception) and
# recipe on CK+48, 10 subject-independent folds, seed 0 per fold, on the 2-core CPU development machine (no GPU),
# two folds side by side through the Ray executor, one thread each. --recipe cpu-fer with two options over it,
# for a set of ~880 training images: at batch 128 its 30 epochs would be 180 optimizer steps (FER2013 gets
# 6,700), so batch 32 and 60 epochs (about 1,600 steps). The best-validation-epoch weights are tested.
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare ckplus --root ../shared/datasets/ckplus --data-dir /work/data19
ferbench grid --name ckplus-cpu-recipe --datasets ckplus --data-dir /work/data19 --archs mini_xception \
  --recipe cpu-fer --epochs 60 --batch-size 32 --seeds 0 --device cpu --executor ray --cpus-per-cell 1 \
  --out results/ckplus-cpu-recipe/runs
# report/ from the committed runs (nothing retrained), with the default-recipe CK+ grid of results/ckplus-cpu/:
# two setups, never pooled; the ablation table pairs each of its models with mini_xception fold by fold
ferbench report results/ckplus-cpu/runs results/ckplus-cpu-recipe/runs --baseline ckplus-cpu-recipe/runs \
  --format markdown,csv --out results/ckplus-cpu-recipe/report
