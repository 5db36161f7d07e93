"""Grids: files round-trip, cells expand (folds, defaults, variants), finished cells are skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from ferbench.data.store import StoreError
from ferbench.models import list_models
from ferbench.train.grid import run_grid
from ferbench.train.plan import expand_cells, filter_cells, plan
from ferbench.train.recipe import ConfigError
from ferbench.train.spec import GridSpec, load_grid_file, save_grid_file

GRIDS = Path(__file__).resolve().parents[1] / "benchmarks" / "grids"
FAST = {"epochs": 1, "batch_size": 32}


def _spec(**kw) -> GridSpec:
    base = dict(name="t", datasets=["synthetic"], archs=["vgg_tiny"], attentions=["none"],
                activations=["relu"], train=dict(FAST))  # fmt: skip
    return GridSpec(**{**base, **kw})


@pytest.mark.parametrize("suffix", [".toml", ".yaml"])
def test_grid_file_round_trips(tmp_path, suffix):
    spec = GridSpec(name="rt", datasets=["ckplus", "fer2013"], archs=["resnet50", "emonet_mhsa"],
                    attentions=["none", "se"], activations=["elu"], seeds=[0, 1, 2], protocol="kfold",
                    heads="cls+va", train={"epochs": 3, "lr": 0.01, "compile": True, "grad_clip": 1.5,
               "augment": {"flip": False, "erase_area": [0.1, 0.2]}},
                    model_kwargs={"drop_rate": 0.1},
                    variants={"emonet_mhsa": {"arch": "emonet", "head_attention": "mhsa"}})  # fmt: skip
    path = save_grid_file(spec, tmp_path / f"g{suffix}")
    assert load_grid_file(path) == spec


def test_checked_in_grid_files_are_valid():
    files = sorted(GRIDS.glob("*.toml"))
    assert {f.stem for f in files} >= {"demo", "doc1", "doc2", "doc3", "doc4", "doc5"}
    for f in files:
        spec = load_grid_file(f)
        spec.validate()
        assert spec.name == f.stem
        for arch in spec.archs:
            assert spec.model_of(arch)[0] in list_models(), (f.name, arch)
    doc1 = load_grid_file(GRIDS / "doc1.toml")
    assert len(doc1.archs) * len(doc1.attentions) * len(doc1.datasets) == 96


def test_bad_grid_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("archs = [\n")
    with pytest.raises(ConfigError, match="bad.toml is not valid TOML"):
        load_grid_file(bad)
    bad.write_text('archs = ["x"]\nlearning_rate = 1\n')
    with pytest.raises(ConfigError, match="unknown grid key"):
        load_grid_file(bad)
    with pytest.raises(ConfigError, match="does not exist"):
        load_grid_file(tmp_path / "missing.toml")


def test_cells_expand_folds_defaults_and_filters(synthetic_store):
    data = synthetic_store.root.parent
    split = expand_cells(_spec(archs=["vgg_tiny", "resnet_tiny"], seeds=[0, 1]), data)
    assert [c.id for c in split][:2] == ["synthetic/vgg_tiny-none-relu/s0", "synthetic/vgg_tiny-none-relu/s1"]
    assert len(split) == 4 and all(c.fold is None for c in split)
    kfold = expand_cells(_spec(protocol="kfold"), data)
    assert [c.id for c in kfold] == [f"synthetic/vgg_tiny-none-relu/s0/f{k}" for k in range(5)]
    dflt = expand_cells(_spec(archs=["ddamfn"], attentions=["default"], activations=["default"]), data)
    assert dflt[0].id == "synthetic/ddamfn-coord-prelu/s0"  # cell ids show the resolved names
    assert [c.id for c in filter_cells(split, "resnet_tiny-*/s1")] == ["synthetic/resnet_tiny-none-relu/s1"]
    assert len(filter_cells(split, "*/s0,*/s1")) == 4
    with pytest.raises(StoreError, match="no prepared store"):
        expand_cells(_spec(datasets=["nope"]), data)


def test_run_grid_skips_finished_cells_and_trains_variants(synthetic_store, tmp_path):
    data = synthetic_store.root.parent
    spec = _spec(archs=["vgg_tiny", "tiny_wide"], variants={"tiny_wide": {"arch": "resnet_tiny"}})
    runs = run_grid(spec, out=tmp_path, data_dir=data, device="cpu", quiet=True)
    assert [r.relative_to(tmp_path).as_posix() for r in runs] == [
        "synthetic/vgg_tiny-none-relu/s0", "synthetic/tiny_wide-none-relu/s0"]  # fmt: skip
    stamps = [(r / "metrics.json").stat().st_mtime_ns for r in runs]
    rows, _ = plan(spec, out=tmp_path, data_dir=data, device="cpu")
    assert [r["status"] for r in rows] == ["done", "done"]
    assert run_grid(spec, out=tmp_path, data_dir=data, device="cpu", quiet=False) == runs
    assert [(r / "metrics.json").stat().st_mtime_ns for r in runs] == stamps
    import json

    cfg = json.loads((runs[1] / "config.json").read_text())
    assert cfg["arch"] == "tiny_wide" and cfg["model"]["arch"] == "resnet_tiny"
    with pytest.raises(ConfigError, match="matches none"):
        run_grid(spec, out=tmp_path, data_dir=data, device="cpu", quiet=True, filter="nothing-like-this")


def test_kfold_cell_trains_its_fold(synthetic_store, tmp_path):
    import json

    data = synthetic_store.root.parent
    runs = run_grid(_spec(protocol="kfold"), out=tmp_path, data_dir=data, device="cpu", quiet=True, folds=[2])
    assert [r.name for r in runs] == ["f2"]
    cfg = json.loads((runs[0] / "config.json").read_text())
    assert cfg["fold"] == 2 and cfg["protocol"] == "kfold"
    assert cfg["n"]["test"] == len(synthetic_store.indices("test", 2))
    assert json.loads((runs[0] / "metrics.json").read_text())["n_test"] == cfg["n"]["test"]


def test_auto_protocol_is_kfold_when_the_split_is_fold_zero(synthetic_store, tmp_path):
    import numpy as np

    from ferbench.data.store import write_store
    from ferbench.train.plan import resolve_protocol

    assert resolve_protocol(synthetic_store, "auto") == "split"  # its own subject split
    meta = synthetic_store.meta.copy()
    fold = meta["fold"].to_numpy()
    meta["split"] = np.where(fold == 0, "test", np.where(fold == 1, "val", "train"))  # as CK+ is prepared
    ck = write_store(tmp_path / "ck", np.asarray(synthetic_store.images), meta, synthetic_store.card)
    assert resolve_protocol(ck, "auto") == "kfold"
    assert resolve_protocol(ck, "split") == "split"


@pytest.mark.parametrize("name, text, words", [
    ("bad.yaml", "datasets: [synthetic\n  archs: x: y\n", "bad.yaml is not valid YAML"),
    ("list.yaml", "- a\n- b\n", "must be a table of keys"),
    ("bin.toml", b"\xff\xfe", "bin.toml is not valid TOML"),
    ("str.toml", 'datasets = "synthetic"\narchs = ["vgg_tiny"]\n', "grid key datasets = 'synthetic'"),
    ("seeds.toml", 'datasets = ["s"]\narchs = ["vgg_tiny"]\nseeds = ["a"]\n', "grid key seeds"),
    ("train.toml", 'datasets = ["s"]\narchs = ["vgg_tiny"]\ntrain = 5\n', "grid key train = 5"),
    ("type.toml", 'datasets = ["s"]\narchs = ["v"]\n[train]\nepochs = "ten"\n', "epochs = 'ten': expected int"),
    ("lr.yaml", "datasets: [s]\narchs: [v]\ntrain:\n  lr: 1e-3\n", "write 1.0e-3"),
    ("aug.toml", 'datasets = ["s"]\narchs = ["v"]\n[train.augment]\nzzz = 1\n', "unknown augment option"),
])  # fmt: skip
def test_malformed_grid_files_exit_2_in_one_line(tmp_path, name, text, words):
    from typer.testing import CliRunner

    from ferbench.cli import app

    path = tmp_path / name
    path.write_bytes(text) if isinstance(text, bytes) else path.write_text(text)
    res = CliRunner().invoke(app, ["grid", "--grid", str(path), "--dry-run", "--data-dir", str(tmp_path)])
    assert res.exit_code == 2, res.output
    assert words in res.output and "Traceback" not in res.output
    assert len(res.output.strip().splitlines()) == 1, res.output


def test_folds_pool_into_mean_std_with_n(synthetic_store, tmp_path):
    import json

    from ferbench.report.summary import summarize_cells

    data = synthetic_store.root.parent
    runs = run_grid(_spec(protocol="kfold"), out=tmp_path, data_dir=data, device="cpu", quiet=True, folds=[0, 1])
    (pooled,) = summarize_cells(runs)
    accs = [json.loads((r / "metrics.json").read_text())["accuracy"] for r in runs]
    assert pooled["model"] == "synthetic/vgg_tiny-none-relu" and pooled["n"] == 2
    assert pooled["accuracy_mean"] == pytest.approx(sum(accs) / 2)
    assert pooled["accuracy_std"] == pytest.approx(abs(accs[0] - accs[1]) / 2**0.5)


@pytest.mark.parametrize("args, words", [
    (["--ray-address", "auto"], "--ray-address only apply with --executor ray"),
    (["--gpus-per-cell", "0.5", "--cpus-per-cell", "2"], "--gpus-per-cell, --cpus-per-cell only apply"),
    (["--executor", "slurm"], "--executor must be one of local, ray"),
])  # fmt: skip
def test_executor_options_are_checked_in_one_line(synthetic_store, tmp_path, args, words):
    from typer.testing import CliRunner

    from ferbench.cli import app

    cmd = ["grid", "--datasets", "synthetic", "--archs", "vgg_tiny", "--epochs", "1", "--out", str(tmp_path),
           "--data-dir", str(synthetic_store.root.parent), *args]  # fmt: skip
    res = CliRunner().invoke(app, cmd)
    assert res.exit_code == 2 and words in res.output and "Traceback" not in res.output, res.output
    assert not list(tmp_path.iterdir())  # nothing trained


# k-fold protocols repeat over their subject folds; on a fixed split seeds are the only repeats
KFOLD_DATASETS = {"ckplus", "jaffe", "kdef", "oulu"}


@pytest.mark.parametrize("name", ["doc1", "doc2", "doc3", "doc4", "doc5"])
def test_document_grids_use_three_seeds_on_fixed_splits(name):
    spec = load_grid_file(GRIDS / f"{name}.toml")
    spec.validate()
    for ds in spec.datasets:
        seeds = spec.seeds_for(ds)
        if ds in KFOLD_DATASETS:
            assert seeds == [0], (name, ds)
        else:
            assert len(set(seeds)) >= 3, (name, ds)


def test_dataset_seeds_expand_per_dataset_in_the_dry_run(tmp_path):
    """doc1 planned over a tiny FER2013 and CK+48 store: 3 seeds for FER2013, one seed x k folds for CK+."""
    from typer.testing import CliRunner

    from ferbench.cli import app
    from ferbench.data import ckplus, fer2013
    from tests.fixtures import data_layouts as L

    fer2013.prepare(L.fer2013_images(tmp_path / "src_fer"), tmp_path / "data" / "fer2013")
    ck = ckplus.prepare(L.ck48(tmp_path / "src_ck", subjects=8), tmp_path / "data" / "ckplus", folds=4)
    spec = load_grid_file(GRIDS / "doc1.toml")
    spec.archs, spec.attentions = ["vgg16"], ["none"]
    rows, _ = plan(spec, out=tmp_path / "runs", data_dir=tmp_path / "data", device="cpu")
    cells = sorted(r["cell"] for r in rows if not r["cell"].startswith("jaffe"))  # jaffe: a "not prepared" row
    assert cells == sorted([f"ckplus/vgg16-none-elu/s0/f{f}" for f in range(ck.num_folds)]
                           + [f"fer2013/vgg16-none-elu/s{s}" for s in range(3)])
    res = CliRunner().invoke(app, ["grid", "--grid", str(GRIDS / "doc1.toml"), "--dry-run",
                                   "--data-dir", str(tmp_path / "data"), "--filter", "*/vgg16-none-*"])
    assert res.exit_code == 0, res.output
    assert "7 cells" in res.output and "not prepared" in res.output  # jaffe is not


def test_bad_dataset_seeds_are_a_clear_error():
    with pytest.raises(ConfigError, match="dataset_seeds.ckplus"):
        GridSpec(datasets=["ckplus"], archs=["vgg_tiny"], dataset_seeds={"ckplus": []}).validate()
    with pytest.raises(ConfigError, match="grid key dataset_seeds"):
        GridSpec.from_dict({"datasets": ["s"], "archs": ["v"], "dataset_seeds": [0]})


def test_a_grid_files_augment_table_changes_only_the_strengths_it_names_over_a_recipe():
    from ferbench.train.recipe import RECIPES

    cfg = GridSpec(datasets=["fer2013"], archs=["mini_xception"], recipe="cpu-fer",
                   train={"augment": {"erase_p": 0.2}, "epochs": 5}).train_config()
    recipe_aug = RECIPES["cpu-fer"]["augment"]
    assert cfg.epochs == 5 and cfg.augment.erase_p == 0.2 and cfg.amp == RECIPES["cpu-fer"]["amp"]
    assert cfg.augment.rotate == recipe_aug["rotate"] and cfg.augment.scale == recipe_aug["scale"]
    assert RECIPES["cpu-fer"]["augment"] == recipe_aug  # the preset itself is never modified
