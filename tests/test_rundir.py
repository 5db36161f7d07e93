"""Run identity: a finished cell is skipped only when its config matches; otherwise it is refused with the
differing keys named (--force retrains). Fingerprints group runs; probes find their store anywhere."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from ferbench import rundir
from ferbench.cli import app
from ferbench.data.store import card_hash, write_store
from ferbench.rundir import RunError
from ferbench.train.grid import run_grid
from ferbench.train.spec import GridSpec

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


def _spec(**kw) -> GridSpec:
    base = dict(name="id", datasets=["synthetic"], archs=["vgg_tiny"], attentions=["none"], activations=["relu"],
                train={"epochs": 1, "batch_size": 32})
    return GridSpec(**{**base, **kw})


def _stamp(run: Path) -> int:
    return (run / "metrics.json").stat().st_mtime_ns


def test_same_config_skips_changed_config_is_refused_and_force_retrains(synthetic_store, tmp_path):
    data = synthetic_store.root.parent
    (run,) = run_grid(_spec(), out=tmp_path, data_dir=data, device="cpu", quiet=True)
    first = _stamp(run)
    assert run_grid(_spec(), out=tmp_path, data_dir=data, device="cpu", quiet=True) == [run]
    assert _stamp(run) == first  # same identity: skipped
    for train, keys in ((dict(epochs=2, batch_size=32), "train.epochs"),
                        (dict(epochs=1, batch_size=32, size=40), "train.size"),
                        (dict(epochs=1, batch_size=32, channels=3), "train.channels")):
        with pytest.raises(RunError, match=rf"finished run with a different configuration \(.*{keys}") as err:
            run_grid(_spec(train=train), out=tmp_path, data_dir=data, device="cpu", quiet=True)
        assert "--force" in str(err.value) and "--name/--out" in str(err.value) and "\n" not in str(err.value)
    assert _stamp(run) == first  # refused before anything trained
    (run,) = run_grid(_spec(train=dict(epochs=2, batch_size=32)), out=tmp_path, data_dir=data, device="cpu",
                      quiet=True, force=True)
    assert _stamp(run) != first and rundir.read_metrics(run)["epochs_run"] == 2
    assert rundir.read_config(run)["train"]["epochs"] == 2


def test_changed_store_content_and_pretrained_file_are_refused(synthetic_store, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_store.root, data / "synthetic")
    (run,) = run_grid(_spec(), out=tmp_path / "runs", data_dir=data, device="cpu", quiet=True)
    # the same store prepared again (another folder, another time) is the same store
    meta = synthetic_store.meta.copy()
    write_store(data / "synthetic", np.asarray(synthetic_store.images), meta, synthetic_store.card, force=True)
    assert run_grid(_spec(), out=tmp_path / "runs", data_dir=data, device="cpu", quiet=True) == [run]
    # one relabelled training image: another store, same counts per split
    meta.loc[meta.index[meta["split"] == "train"][0], "label"] = (meta["label"].iloc[0] + 1) % 7
    write_store(data / "synthetic", np.asarray(synthetic_store.images), meta, synthetic_store.card, force=True)
    with pytest.raises(RunError, match=r"store_card\.hash"):
        run_grid(_spec(), out=tmp_path / "runs", data_dir=data, device="cpu", quiet=True)

    weights = tmp_path / "w.safetensors"
    shutil.copy(run / "model.safetensors", weights)
    spec = _spec(model_kwargs={"pretrained": str(weights)})
    (tuned,) = run_grid(spec, out=tmp_path / "ft", data_dir=data, device="cpu", quiet=True)
    assert rundir.read_config(tuned)["pretrained_sha256"] and rundir.read_config(tuned)["pretrained"] == str(weights)
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)  # the same path, other weights
    with pytest.raises(RunError, match="pretrained"):
        run_grid(spec, out=tmp_path / "ft", data_dir=data, device="cpu", quiet=True)


def test_config_records_store_card_versions_and_git_state(synthetic_store, tmp_path):
    (run,) = run_grid(_spec(), out=tmp_path, data_dir=synthetic_store.root.parent, device="cpu", quiet=True)
    cfg = rundir.read_config(run)
    assert cfg["store_card"] == {"hash": card_hash(synthetic_store.card), "num_images": len(synthetic_store.images),
                                 "counts": {s: len(synthetic_store.indices(s)) for s in ("train", "val", "test")}}
    assert cfg["data_dir"] == str(synthetic_store.root.parent.resolve()) and "store" not in cfg
    env = cfg["env"]
    for key in ("numpy", "scikit-learn", "opencv", "timm", "torch", "safetensors", "torch_threads", "git_commit",
                "git_dirty"):
        assert key in env, key
    assert env["git_dirty"] in (True, False, None) and (env["git_commit"] is None) == (env["git_dirty"] is None)
    assert "normalize" not in cfg["train"]


def test_recipe_fingerprint_groups_seeds_folds_and_attentions_but_not_recipes(synthetic_store, tmp_path):
    from ferbench.train.plan import expand_cells

    data = synthetic_store.root.parent
    cells = expand_cells(_spec(attentions=["none", "se"], seeds=[0, 1], protocol="kfold"), data)
    keys = {rundir.run_key(c.config) for c in cells}
    assert len({k.recipe for k in keys}) == 1 and len({k.store for k in keys}) == 1
    assert {k.attention for k in keys} == {"none", "se"}
    (other,) = expand_cells(_spec(train={"epochs": 2, "batch_size": 32}), data)
    assert rundir.recipe_fingerprint(other.config) not in {k.recipe for k in keys}
    assert rundir.store_fingerprint(other.config) == card_hash(synthetic_store.card)
    a, b = cells[0].config, other.config
    assert rundir.differing_keys(a, b) == ["fold", "n.test", "n.train", "n.val", "protocol", "train.epochs"]


def test_legacy_committed_runs_have_keys_and_compare_with_new_configs():
    """Configs written before fingerprints: the store is unknown, the recipe computed from what is there."""
    configs = sorted((REPO / "results").rglob("config.json"))
    assert configs, "the committed results/ runs are missing"
    for path in configs:
        cfg = json.loads(path.read_text())
        key = rundir.run_key(cfg)
        # runs recorded since fingerprints (jaffe-cpu, crossdata-cpu, ...) carry their store's card hash
        store = rundir.store_fingerprint(cfg) if "store_card" in cfg else rundir.UNKNOWN
        assert key.store == store and len(key.recipe) == 16 and key.dataset == cfg["dataset"]
        assert key.heads == cfg["model"]["heads"]
    legacy = json.loads(configs[0].read_text())
    new = {k: v for k, v in legacy.items() if k not in ("store", "env")}
    new["train"] = {k: v for k, v in legacy["train"].items() if k != "normalize"}  # a retired option
    new.update(data_dir="/elsewhere", store_card={"hash": "0" * 16}, pretrained_sha256=None)
    assert rundir.differing_keys(legacy, new) == []  # keys only one side records are not compared
    assert rundir.recipe_fingerprint(legacy) == rundir.recipe_fingerprint(new)
    assert rundir.differing_keys(legacy, {**new, "seed": 7}) == ["seed"]


def test_cli_names_the_keys_and_force_retrains(synthetic_store, tmp_path):
    args = ["train", "--dataset", "synthetic", "--arch", "vgg_tiny", "--epochs", "1", "--batch-size", "32",
            "--device", "cpu", "--out", str(tmp_path), "--data-dir", str(synthetic_store.root.parent), "--quiet"]
    assert runner.invoke(app, args).exit_code == 0
    res = runner.invoke(app, [*args[:5], "--lr", "0.01", *args[5:]])
    assert res.exit_code == 2 and "train.lr" in res.output and "--force" in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["grid", "--datasets", "synthetic", "--archs", "vgg_tiny", "--lr", "0.01",
                              "--epochs", "1", "--batch-size", "32", "--device", "cpu", "--out", str(tmp_path),
                              "--data-dir", str(synthetic_store.root.parent), "--dry-run"])
    assert res.exit_code == 0 and "differs: train.lr" in res.output and "refused without --force" in res.output
    res = runner.invoke(app, [*args[:5], "--lr", "0.01", *args[5:], "--force"])
    assert res.exit_code == 0, res.output
    assert rundir.read_config(tmp_path / "synthetic/vgg_tiny-none-relu/s0")["train"]["lr"] == 0.01


def test_probes_find_a_moved_store_with_data_dir_and_refuse_another_store(synthetic_store, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(synthetic_store.root, data / "synthetic")
    (run,) = run_grid(_spec(), out=tmp_path / "runs", data_dir=data, device="cpu", quiet=True)
    moved = tmp_path / "elsewhere"
    shutil.move(data, moved)  # the run travels to another machine; its data dir is not there
    probe = ["subgroups", str(run), "--groups-from-meta", "group", "--resamples", "100"]
    res = runner.invoke(app, probe)
    assert res.exit_code == 2 and "--data-dir" in res.output and "synthetic" in res.output, res.output
    res = runner.invoke(app, [*probe, "--data-dir", str(moved)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["resize-sweep", str(run), "--sizes", "48,16", "--interp", "cubic", "--device", "cpu",
                              "--data-dir", str(moved)])
    assert res.exit_code == 0, res.output
    meta = synthetic_store.meta.copy()
    meta["split"] = meta["split"].map({"train": "test", "test": "train", "val": "val"})
    write_store(moved / "synthetic", np.asarray(synthetic_store.images), meta, synthetic_store.card, force=True)
    res = runner.invoke(app, [*probe, "--data-dir", str(moved)])
    assert res.exit_code == 2 and "is not the store" in res.output and "card hash" in res.output, res.output


def test_scan_finds_finished_and_unfinished_runs_outside_probes(tmp_path):
    for cell, files in (("a/s0", ["config.json", "metrics.json"]), ("b/s0", ["config.json"]),
                        ("a/s0/probes/x", ["metrics.json"]), ("c", ["notes.txt"])):
        (tmp_path / cell).mkdir(parents=True, exist_ok=True)
        for f in files:
            (tmp_path / cell / f).write_text("{}")
    found = rundir.scan(tmp_path)
    assert found == [tmp_path / "a/s0"] and found.unfinished == [tmp_path / "b/s0"]
    with pytest.raises(RunError, match="holds no finished run"):
        rundir.find_runs([tmp_path / "b"])
    with pytest.raises(RunError, match="does not exist"):
        rundir.find_runs([tmp_path / "nope"])
