#!/usr/bin/env bash
# Real-data runs behind results/fer2013-cpu-wider/ (issue 19): mini_xception with its deep blocks widened
# to 16-32-192-384 (361,591 parameters), the cpu-fer recipe at 22 epochs, flip + 3 px shift test-time
# augmentation (the grid file benchmarks/grids/fer2013-cpu-wider.yaml says why), FER2013 official split
# (train, PublicTest as val, PrivateTest as test), 703 train duplicates of val/test removed (--dedupe). On
# the 2-core CPU development machine (no GPU): the three seeds side by side through the Ray executor, a
# third of the machine and one thread each, exactly as results/fer2013-cpu-recipe/ was run, so the two are
# compared at the same wall time.
set -euo pipefail
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
ferbench prepare fer2013 --root ../shared/datasets/fer2013 --dedupe --data-dir /work/data19
ferbench grid --grid benchmarks/grids/fer2013-cpu-wider.yaml --data-dir /work/data19 --device cpu \
  --executor ray --cpus-per-cell 0.66 --out results/fer2013-cpu-wider/runs
# report/ from the committed runs (nothing retrained), with results/fer2013-cpu-wide/ as the baseline:
# two setups, never pooled; the ablation table pairs them seed by seed
ferbench report results/fer2013-cpu-wide/runs results/fer2013-cpu-wider/runs --baseline fer2013-cpu-wide/runs \
  --format markdown,latex,csv,html --out results/fer2013-cpu-wider/report
