#!/usr/bin/env bash
# Real-data run behind results/ckplus-cpu/: CK+48, 10 subject-independent folds, on this repo's CPU-only
# development machine (2 cores). Tiny architectures because a CPU cannot train VGG/ResNet-50 x 10 folds here.
set -euo pipefail
ferbench prepare ckplus --root ../shared/datasets/ckplus
ferbench grid --name ckplus-cpu --datasets ckplus --archs vgg_tiny,resnet_tiny \
  --attentions none,se,eca,cbam --activations elu --seeds 0 --device cpu --out results/ckplus-cpu/runs
ferbench report results/ckplus-cpu/runs --format markdown,latex,csv --out results/ckplus-cpu/report
