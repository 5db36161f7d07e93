#!/usr/bin/env bash
# Real-data run behind results/crossdata-cpu/: the FER2013 model of results/fer2013-cpu/ (ResNet-tiny, ELU, the
# default recipe, official split, train duplicates of val/test removed) retrained for seed 0 only, because the
# committed FER2013 runs kept no weights; this one keeps its model.safetensors (1.2 MB, see .gitignore). It is then
# tested on every labelled image of the CK+48 and JAFFE stores (both posed lab images, 48x48 gray after JAFFE's face
# crop; FER2013 is 48x48 gray in-the-wild web images). 2-core CPU development machine (no GPU, shared with other
# jobs), OMP_NUM_THREADS=1, nice -n 10. Stores under data/ (git-ignored).
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare fer2013 --root ../shared/datasets/fer2013 --dedupe
ferbench prepare ckplus --root ../shared/datasets/ckplus
ferbench prepare jaffe --root ../shared/datasets/jaffe/jaffe
nice -n 10 ferbench grid --name crossdata-cpu --datasets fer2013 --archs resnet_tiny --attentions none \
  --activations elu --seeds 0 --device cpu --out results/crossdata-cpu/runs
ferbench eval results/crossdata-cpu/runs --dataset ckplus --split all --data-dir data --device cpu
ferbench eval results/crossdata-cpu/runs --dataset jaffe --split all --data-dir data --device cpu
ferbench report results/crossdata-cpu/runs --format markdown,latex,csv,html --out results/crossdata-cpu/report
