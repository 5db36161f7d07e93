#!/usr/bin/env bash
# Real-data runs behind results/jaffe-cpu-recipe/ (issue 19): the FER2013 CPU recipe's model (mini_xception) and
# recipe on JAFFE (213 posed images of 10 women; faces Haar-cropped to 48 px gray), leave-one-subject-out
# (10 folds), seed 0 per fold, on the 2-core CPU development machine (no GPU), two folds side by side through the
# Ray executor, one thread each. --recipe cpu-fer with two options over it, for ~170 training images: at batch
# 128 its 30 epochs would be 30 optimizer steps, so batch 32 and 60 epochs (300 steps). The best-validation-epoch
# weights are tested.
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare jaffe --root ../shared/datasets/jaffe/jaffe --data-dir /work/data19
ferbench grid --name jaffe-cpu-recipe --datasets jaffe --data-dir /work/data19 --archs mini_xception \
  --recipe cpu-fer --epochs 60 --batch-size 32 --seeds 0 --device cpu --executor ray --cpus-per-cell 1 \
  --out results/jaffe-cpu-recipe/runs
# report/ from the committed runs (nothing retrained), with the default-recipe JAFFE grid of results/jaffe-cpu/:
# two setups, never pooled; the ablation table pairs each of its models with mini_xception fold by fold
ferbench report results/jaffe-cpu/runs results/jaffe-cpu-recipe/runs --baseline jaffe-cpu-recipe/runs \
  --format markdown,csv --out results/jaffe-cpu-recipe/report
