#!/usr/bin/env bash
# Real-data run behind results/jaffe-cpu/: JAFFE (213 posed images of 10 women, 7 classes), faces cropped with
# OpenCV's Haar cascade (the default: the originals are whole 256x256 frames), 48x48 gray, leave-one-subject-out
# (10 folds: test one subject, validate on the next, train on the other 8). Same models and command shape as
# results/ckplus-cpu/, on the 2-core CPU development machine (no GPU, shared with other jobs),
# OMP_NUM_THREADS=1, nice -n 10. The store lives outside git (data/ is ignored).
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare jaffe --root ../shared/datasets/jaffe/jaffe
nice -n 10 ferbench grid --name jaffe-cpu --datasets jaffe --archs vgg_tiny,resnet_tiny \
  --attentions none,se,eca,cbam --activations elu --seeds 0 --device cpu --out results/jaffe-cpu/runs
nice -n 10 ferbench grid --name jaffe-cpu --datasets jaffe --archs resnet18 --attentions none,cbam --activations elu \
  --seeds 0 --device cpu --out results/jaffe-cpu/runs
ferbench report results/jaffe-cpu/runs --format markdown,latex,csv,html --out results/jaffe-cpu/report
