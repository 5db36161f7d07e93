"""The Ray executor: cells trained as Ray tasks match the local executor, and a worker's error is one line.

One local Ray instance (2 CPUs) is shared by the module; skipped when Ray is not installed.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from ferbench.errors import FerbenchError
from ferbench.train.grid import run_grid
from ferbench.train.spec import GridSpec

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _spec(**kw) -> GridSpec:
    base = dict(name="r", datasets=["synthetic"], archs=["vgg_tiny", "resnet_tiny"], attentions=["none"],
                activations=["relu"], train={"epochs": 2, "batch_size": 32})  # fmt: skip
    return GridSpec(**{**base, **kw})


def test_ray_cells_equal_local_cells_and_resume(synthetic_store, tmp_path, local_ray):
    data = synthetic_store.root.parent
    local = run_grid(_spec(), out=tmp_path / "local", data_dir=data, device="cpu", quiet=True)
    remote = run_grid(_spec(), out=tmp_path / "ray", data_dir=data, device="cpu", quiet=False, executor="ray",
                      ray_options={"cpus_per_cell": 1})  # fmt: skip
    assert [r.relative_to(tmp_path / "ray") for r in remote] == [r.relative_to(tmp_path / "local") for r in local]
    for a, b in zip(local, remote, strict=True):
        ca, cb = (json.loads((r / "config.json").read_text()) for r in (a, b))
        la, lb = (np.load(r / "logits.npz")["logits"] for r in (a, b))
        if ca["env"]["torch_threads"] == cb["env"]["torch_threads"]:
            # same machine, same kernels, same thread count: a Ray task is bit-for-bit the local cell
            np.testing.assert_array_equal(la, lb, err_msg=str(a))
        else:  # another reduction order: equal only to float rounding grown over 2 epochs
            np.testing.assert_allclose(la, lb, atol=0.05, err_msg=str(a))
        assert cb["command"]  # the driver's command is recorded
    stamps = [(r / "metrics.json").stat().st_mtime_ns for r in remote]
    run_grid(_spec(), out=tmp_path / "ray", data_dir=data, device="cpu", quiet=True, executor="ray")
    assert [(r / "metrics.json").stat().st_mtime_ns for r in remote] == stamps  # finished cells are skipped


def test_a_worker_user_error_is_one_ferbench_error_naming_the_cell(synthetic_store, tmp_path, local_ray):
    bad = tmp_path / "broken.safetensors"  # planned (hashed) fine; the worker cannot load it
    bad.write_bytes(b"not a safetensors file")
    spec = _spec(archs=["vgg_tiny"], model_kwargs={"pretrained": str(bad)})
    with pytest.raises(FerbenchError, match=r"cell synthetic/vgg_tiny-none-relu/s0: .*broken\.safetensors"):
        run_grid(spec, out=tmp_path / "ray", data_dir=synthetic_store.root.parent, device="cpu", quiet=True,
                 executor="ray")  # fmt: skip


def test_bad_executor_and_impossible_gpu_request_are_clear(synthetic_store, tmp_path, local_ray):
    data = synthetic_store.root.parent
    with pytest.raises(FerbenchError, match="--executor must be one of local, ray"):
        run_grid(_spec(), out=tmp_path, data_dir=data, device="cpu", quiet=True, executor="slurm")
    with pytest.raises(FerbenchError, match="--gpus-per-cell 1: the Ray cluster has 0 GPUs"):
        run_grid(_spec(), out=tmp_path, data_dir=data, device="cpu", quiet=True, executor="ray",
                 ray_options={"gpus_per_cell": 1})  # fmt: skip
