"""Training: the on-device engine, the recipe, grid specs, cell planning, one cell, the grid runner.

>>> from ferbench.train import run_grid
>>> run_dirs = run_grid(datasets=["synthetic"], archs=["resnet_tiny"], train={"epochs": 5},
...                     out="results/runs/demo", data_dir="data", device="auto")

``spec`` (GridSpec, grid files) → ``plan`` (cells resolved once) → ``cell`` (build → fit → evaluate →
record) → ``grid`` (the runner: local or ``cluster``, Ray), with ``progress`` for what it shows.
Run directories belong to :mod:`ferbench.rundir`; model input to :mod:`ferbench.inference`.
"""

from ferbench.train.cell import train_cell
from ferbench.train.engine import fit
from ferbench.train.grid import run_grid, train_one
from ferbench.train.plan import Cell, expand_cells, plan
from ferbench.train.recipe import TrainConfig
from ferbench.train.spec import GridSpec, load_grid_file

__all__ = ["Cell", "GridSpec", "TrainConfig", "expand_cells", "fit", "load_grid_file", "plan", "run_grid",
           "train_cell", "train_one"]
