"""Training: the on-device engine, the recipe, run directories and resumable grids.

>>> from ferbench.train import run_grid
>>> run_dirs = run_grid(datasets=["synthetic"], archs=["resnet_tiny"], train={"epochs": 5},
...                     out="results/runs/demo", data_dir="data", device="auto")
"""

from ferbench.train.engine import fit, predict
from ferbench.train.grid import GridSpec, load_grid_file, run_grid, train_cell
from ferbench.train.recipe import TrainConfig
from ferbench.train.rundir import Run, is_finished, load_run

__all__ = ["GridSpec", "Run", "TrainConfig", "fit", "is_finished", "load_grid_file", "load_run", "predict",
           "run_grid", "train_cell"]
