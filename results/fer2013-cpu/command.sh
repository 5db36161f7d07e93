#!/usr/bin/env bash
# Real-data run behind results/fer2013-cpu/: FER2013 (Kaggle image folders, 703 train duplicates of val/test
# images removed), official split (train / PublicTest as val / PrivateTest as test), the default recipe (30 epochs,
# AdamW, cosine, early stopping on val), 3 seeds, on the 2-core CPU development machine (no GPU), OMP_NUM_THREADS=2.
# Only the tiny architectures: one epoch of ResNet-18 on 28k images takes minutes on this CPU.
set -euo pipefail
ferbench prepare fer2013 --root ../shared/datasets/fer2013 --dedupe
ferbench grid --name fer2013-cpu --datasets fer2013 --archs resnet_tiny,vgg_tiny --attentions none --activations elu \
  --seeds 0,1,2 --device cpu --out results/fer2013-cpu/runs
# report/ regenerated later from the committed runs (nothing retrained) with the report's new presentation
ferbench report results/fer2013-cpu/runs --format markdown,latex,csv,html --out results/fer2013-cpu/report
# issue 11: report/ regenerated again from the same runs (nothing retrained) with the new statistics
# (setups never pooled, corrected resampled t-test + Holm, ECE, reliability diagram, hard-label AUC, clean column)
