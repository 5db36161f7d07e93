#!/usr/bin/env bash
# Real-data run behind results/ckplus-cpu/: CK+48, 10 subject-independent folds, on this repo's CPU-only
# development machine (2 cores, no GPU), each grid with OMP_NUM_THREADS=1. Mostly tiny architectures: a CPU cannot
# train the documents' VGG/ResNet-50 grid x 10 folds in a session; ResNet-18 is the one full-size model run.
set -euo pipefail
ferbench prepare ckplus --root ../shared/datasets/ckplus
ferbench grid --name ckplus-cpu --datasets ckplus --archs vgg_tiny,resnet_tiny \
  --attentions none,se,eca,cbam --activations elu --seeds 0 --device cpu --out results/ckplus-cpu/runs
# one real architecture of the first document, with and without CBAM (2-4 min per fold on one core); the first
# session ran out after resnet18-cbam folds 0-5 and the next one re-ran this same line, which resumed folds 6-9
ferbench grid --name ckplus-cpu --datasets ckplus --archs resnet18 --attentions none,cbam --activations elu \
  --seeds 0 --device cpu --out results/ckplus-cpu/runs
# report/ regenerated later from the committed runs (nothing retrained) with the report's new presentation
ferbench report results/ckplus-cpu/runs --format markdown,latex,csv,html --out results/ckplus-cpu/report
# issue 11: report/ regenerated again from the same runs (nothing retrained) with the new statistics
# (setups never pooled, corrected resampled t-test + Holm, ECE, reliability diagram, hard-label AUC, clean column)
