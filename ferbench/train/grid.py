"""Grids of cells: datasets × archs × attentions × activations × seeds (× folds), run resumably.

A cell is one training run with one run directory (:mod:`ferbench.train.rundir`). ``run_grid``
skips cells whose ``metrics.json`` exists and resumes a cell that has a ``last.pt``, so re-running
the same command after a crash or Ctrl-C continues where it stopped. Grid files (TOML or YAML, see
``benchmarks/grids/``) hold a :class:`GridSpec`.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import shlex
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ferbench.atomic import write_json
from ferbench.data.store import Store, StoreError, is_prepared, open_store
from ferbench.metrics import classification_metrics, regression_metrics
from ferbench.train import rundir
from ferbench.train.engine import _infer, fit, resolve_device
from ferbench.train.recipe import ConfigError, TrainConfig

PROTOCOLS = ("auto", "split", "kfold")
EXECUTORS = ("local", "ray")
RAY_FLAGS = {"address": "--ray-address", "gpus_per_cell": "--gpus-per-cell", "cpus_per_cell": "--cpus-per-cell"}
# Throughput assumed by --dry-run when no finished run of the arch exists yet (deliberately rough).
_GUESS_IMG_PER_S = {"cpu": 300.0, "cuda": 20000.0}


@dataclass
class GridSpec:
    """What a grid trains.

    ``train`` overrides :class:`TrainConfig` defaults; ``model_kwargs`` go to ``create_model``.
    An attention/activation of ``default`` is the architecture's own (DDAMFN: coord + prelu); cell
    ids always show the resolved name. ``variants`` names extra archs built from a registered one
    with fixed keywords, e.g. ``{"emonet_mhsa": {"arch": "emonet", "head_attention": "mhsa"}}``.
    """

    name: str = "default"
    datasets: list[str] = field(default_factory=list)
    archs: list[str] = field(default_factory=list)
    attentions: list[str] = field(default_factory=lambda: ["default"])
    activations: list[str] = field(default_factory=lambda: ["default"])
    seeds: list[int] = field(default_factory=lambda: [0])
    protocol: str = "auto"
    heads: str = "cls"
    train: dict = field(default_factory=dict)
    model_kwargs: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)

    def model_of(self, arch: str) -> tuple[str, dict]:
        """The registered arch and the create_model keywords behind a (possibly variant) arch name."""
        v = dict(self.variants.get(arch, {}))
        return v.pop("arch", arch), {**self.model_kwargs, **v}

    def validate(self) -> None:
        for key in ("datasets", "archs"):
            if not getattr(self, key):
                raise ConfigError(
                    f"grid {self.name!r} has no {key}; pass --{key} a,b or list them in the grid file"
                )
        try:  # --seeds arrives as text from the CLI
            self.seeds = [int(s) for s in self.seeds]
        except (TypeError, ValueError):
            seeds = ",".join(map(str, self.seeds))
            raise ConfigError(f"--seeds {seeds}: expected integers, e.g. --seeds 0,1") from None
        if any(s < 0 for s in self.seeds):  # numpy's generators refuse them (and s-1 is an odd cell id)
            raise ConfigError(f"--seed {min(self.seeds)}: seeds must be 0 or more")
        for ds in self.datasets:
            if Path(ds).name != ds or ds in (".", ".."):  # a path: cell ids and run dirs need a plain name
                p = Path(ds)
                raise ConfigError(f"--dataset {ds}: give a store name, not a path: "
                                  f"--data-dir {p.parent} --dataset {p.name}")
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {self.protocol!r}")
        TrainConfig.from_dict(self.train).validate()

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> GridSpec:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"unknown grid key(s) {unknown}; known: {sorted(known)}")
        d = dict(d)
        for key, value in d.items():  # a grid file's mistakes, named before anything runs
            kind = {"datasets": str, "archs": str, "attentions": str, "activations": str, "seeds": int}.get(key)
            if kind and not (isinstance(value, list) and all(isinstance(v, kind) for v in value)):
                raise ConfigError(
                    f"grid key {key} = {value!r}: expected a list of {'integers' if kind is int else 'names'}, e.g. "
                    + ("seeds = [0, 1]" if kind is int else f'{key} = ["a", "b"]')
                )
            if key in ("name", "protocol", "heads") and not isinstance(value, str):
                raise ConfigError(f"grid key {key} = {value!r}: expected a string")
            if key in ("train", "model_kwargs", "variants") and not isinstance(value, dict):
                raise ConfigError(f"grid key {key} = {value!r}: expected a table ([{key}] in TOML)")
        return cls(**d)


# ---- grid files ------------------------------------------------------------------------------------


def load_grid_file(path: str | Path) -> GridSpec:
    """Read a TOML or YAML grid file; a clear error naming the file when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"grid file {path} does not exist; see benchmarks/grids/ for examples")
    try:
        text = path.read_text()
        if path.suffix == ".toml":
            import tomllib

            data = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"grid file {path} must end in .toml, .yaml or .yml")
    except ConfigError:
        raise
    except Exception as err:  # tomllib/yaml parse errors: report the file and the parser's message
        msg = " ".join(str(err).split())  # YAML errors span several lines: keep the message on one
        raise ConfigError(f"grid file {path} is not valid {path.suffix[1:].upper()}: {msg}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"grid file {path} must be a table of keys (datasets, archs, ...), not a list/value")
    data.setdefault("name", path.stem)
    return GridSpec.from_dict(data)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # JSON string escapes are valid TOML basic strings
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {v!r} ({type(v).__name__}) to a TOML grid file")


def _toml_tables(d: dict, prefix: str) -> list[str]:
    lines = [f"{k} = {_toml_value(v)}" for k, v in d.items() if not isinstance(v, dict) and v is not None]
    for k, v in d.items():
        if isinstance(v, dict):
            lines += ["", f"[{prefix}{k}]", *_toml_tables(v, f"{prefix}{k}.")]
    return lines


def save_grid_file(spec: GridSpec, path: str | Path) -> Path:
    """Write ``spec`` as TOML (``.toml``) or YAML; ``load_grid_file`` gives the same spec back."""
    path = Path(path)
    if path.suffix == ".toml":
        text = "\n".join(_toml_tables(spec.to_dict(), "")) + "\n"
    else:
        import yaml

        text = yaml.safe_dump(spec.to_dict(), sort_keys=False)
    path.write_text(text)
    return path


# ---- cells -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    dataset: str
    arch: str
    attention: str
    activation: str
    seed: int
    fold: int | None = None

    @property
    def id(self) -> str:
        return rundir.cell_id(self.dataset, self.arch, self.attention, self.activation, self.seed, self.fold)


def resolve_protocol(store: Store, protocol: str) -> str:
    """``auto``: the card's ``protocol`` when it names one; else k-fold for a store with folds whose
    split is just fold 0 of its k-fold protocol, or that has no test split (CK+, JAFFE); else the
    store's fixed train/val/test split (FER2013, FERPlus, AffectNet, synthetic)."""
    if protocol == "auto":
        card = store.card.get("protocol")
        if card in ("split", "kfold"):
            return card
        if store.num_folds >= 3:
            fold = store.meta["fold"].to_numpy()
            fold0 = np.where(fold == 0, "test", np.where(fold == 1, "val", "train"))
            if len(store.indices("test")) == 0 or (store.meta["split"].to_numpy() == fold0).all():
                return "kfold"
        return "split"
    if protocol == "kfold" and store.num_folds < 3:
        raise StoreError(f"{store.root} has no folds; use --protocol split (or auto)")
    if protocol == "split" and len(store.indices("test")) == 0:
        raise StoreError(f"{store.root} has no test split; use --protocol kfold (or auto)")
    return protocol


def split_indices(store: Store, fold: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return store.indices("train", fold), store.indices("val", fold), store.indices("test", fold)


def expand_cells(spec: GridSpec, data_dir: str | Path) -> list[Cell]:
    """Every cell of the grid, in a stable order; opening each store once to learn its folds."""
    cells = []
    data_dir = Path(data_dir)
    for ds in spec.datasets:
        if is_prepared(data_dir) and not is_prepared(data_dir / ds):
            raise ConfigError(f"--data-dir {data_dir} is itself a store; pass the folder that holds it: "
                              f"--data-dir {data_dir.parent} --dataset {data_dir.name}")
        store = open_store(data_dir / ds)
        check_heads(store, spec.heads)
        folds = range(store.num_folds) if resolve_protocol(store, spec.protocol) == "kfold" else [None]
        for arch in spec.archs:
            for att in spec.attentions:
                for act in spec.activations:
                    att_, act_ = resolve_axes(spec.model_of(arch)[0], att, act)
                    for seed in spec.seeds:
                        cells += [Cell(ds, arch, att_, act_, int(seed), f) for f in folds]
    return cells


def check_heads(store: Store, heads: str) -> None:
    """A valence/arousal head needs targets: without them it would train on nothing and report NaN."""
    if heads == "cls+va" and store.meta["valence"].isna().all():
        raise ConfigError(f"--heads cls+va needs valence/arousal labels and {store.root} has none "
                          "(affectnet and synthetic have them); use --heads cls")


def resolve_axes(arch: str, attention: str, activation: str) -> tuple[str, str]:
    """Concrete attention/activation names: ``default`` → the registered architecture's own."""
    from ferbench.models import get_entry

    entry = get_entry(arch)
    att = entry.default_attention if attention == "default" else attention.lower()
    act = entry.default_activation if activation == "default" else activation.lower().replace("-", "_")
    # checked here too so `grid --dry-run` names a bad axis before anything trains
    for axis, value, accepted in (("attention", att, entry.attentions), ("activation", act, entry.activations)):
        if value not in accepted:
            raise ConfigError(f"{arch} does not support {axis} {value!r}; choose one of {', '.join(accepted)}")
    return att, act


def filter_cells(cells: Iterable[Cell], patterns: str | list[str] | None) -> list[Cell]:
    """Cells whose id matches any glob (``fer2013/resnet50-*``, ``*/s0``, ``*-se-*``)."""
    if not patterns:
        return list(cells)
    pats = [p.strip() for p in (patterns.split(",") if isinstance(patterns, str) else patterns) if p.strip()]
    return [
        c for c in cells if any(fnmatch.fnmatch(c.id, p) or fnmatch.fnmatch(c.id, f"*{p}*") for p in pats)
    ]


# ---- one cell ----------------------------------------------------------------------------------------


def _comparable(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in ("env", "command", "store")}


def train_cell(
    dataset: str,
    arch: str,
    attention: str = "default",
    activation: str = "default",
    seed: int = 0,
    fold: int | None = None,
    *,
    train: TrainConfig | dict | None = None,
    heads: str = "cls",
    model_kwargs: dict | None = None,
    base_arch: str | None = None,
    protocol: str = "auto",
    out: str | Path = Path("results/runs/default"),
    data_dir: str | Path = Path("data"),
    device: str = "auto",
    on_epoch=None,
    command: str | None = None,
) -> Path:
    """Train, test and record one cell under ``out/<cell id>``; returns the run dir (untouched if finished).

    ``fold=None`` on a store whose protocol is k-fold is an error: use :func:`run_grid` (or pass a fold).
    ``arch`` names the cell; ``base_arch`` (default: ``arch``) is the registered model it builds.
    """
    from ferbench.models import create_model, get_entry, save_model

    base_arch = base_arch or arch
    attention, activation = resolve_axes(base_arch, attention, activation)
    run_dir = Path(out) / rundir.cell_id(dataset, arch, attention, activation, seed, fold)
    if rundir.is_finished(run_dir):
        return run_dir
    store = open_store(Path(data_dir) / dataset)
    check_heads(store, heads)
    proto = resolve_protocol(store, protocol)
    if proto == "kfold" and fold is None:
        raise ConfigError(
            f"{store.root} is evaluated with {store.num_folds}-fold CV: pass --fold 0..{store.num_folds - 1}"
            " (or use `ferbench grid`, which trains every fold)"
        )
    if proto == "split" and fold is not None:
        raise ConfigError(f"{store.root} uses its fixed split: drop --fold (or use --protocol kfold)")
    tr, va, te = split_indices(store, fold if proto == "kfold" else None)
    dev = resolve_device(device)
    cfg = train if isinstance(train, TrainConfig) else TrainConfig.from_dict(train or {})
    # input side: the store's resolution, but never below an architecture's native size (DDAMFN: 112)
    native = max(store.size, get_entry(base_arch).default_img_size)
    cfg = cfg.resolve(store_size=native, store_channels=store.channels, device_type=dev.type, n_train=len(tr))
    torch.manual_seed(seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # static shapes: autotuned kernels pay off
    model = create_model(
        base_arch,
        attention=attention,
        activation=activation,
        num_classes=store.num_classes,
        in_chans=cfg.channels,
        img_size=cfg.size,
        heads=heads,
        **(model_kwargs or {}),
    )
    config = {
        "cell": run_dir.relative_to(out).as_posix(),
        "dataset": dataset,
        "store": str(store.root),
        "arch": arch,
        "attention": model.spec.attention,
        "activation": model.spec.activation,
        "seed": seed,
        "fold": fold,
        "protocol": proto,
        "model": model.spec.to_dict(),
        "pretrained": (model_kwargs or {}).get("pretrained"),
        "train": cfg.to_dict(),
        "classes": store.classes,
        "n": {"train": len(tr), "val": len(va), "test": len(te)},
        "env": rundir.environment(str(dev)),
        "command": command or shlex.join(sys.argv),
    }
    run_dir.mkdir(parents=True, exist_ok=True)
    state = run_dir / rundir.STATE
    if state.is_file() and (run_dir / rundir.CONFIG).is_file():
        old = json.loads((run_dir / rundir.CONFIG).read_text())
        if json.loads(json.dumps(_comparable(old))) != json.loads(json.dumps(_comparable(config))):
            raise rundir.RunError(
                f"{run_dir} holds an interrupted run with a different configuration; delete "
                f"{state} to restart it with the new options, or use another --out"
            )
    write_json(run_dir / rundir.CONFIG, config)

    def epoch_done(record: dict, history: list[dict]) -> None:
        rundir.write_history(run_dir, history)
        if on_epoch is not None:
            on_epoch(record, history)

    t0 = time.perf_counter()
    result = fit(model, store, tr, va, cfg, seed=seed, device=str(dev), state_path=state, on_epoch=epoch_done)
    rundir.write_history(run_dir, result.history)
    save_model(model, run_dir / rundir.MODEL)
    logits, va_pred = _infer(
        model, store.images, te, cfg.size, cfg.channels, dev, cfg.eval_batch_size, cfg.amp
    )
    logits = logits.cpu().numpy().astype(np.float32)
    labels = store.meta["label"].to_numpy(np.int64)[te]
    arrays = {"logits": logits, "labels": labels, "index": te.astype(np.int64)}
    metrics = {
        k: config[k]
        for k in ("cell", "dataset", "arch", "attention", "activation", "seed", "fold", "classes")
    }
    metrics["n_test"] = len(te)
    metrics.update(classification_metrics(labels, logits, store.classes))
    if va_pred is not None:
        arrays["va_pred"] = va_pred.cpu().numpy().astype(np.float32)
        arrays["va_true"] = store.meta[["valence", "arousal"]].to_numpy(np.float32)[te]
        metrics["valence"] = regression_metrics(arrays["va_pred"][:, 0], arrays["va_true"][:, 0])
        metrics["arousal"] = regression_metrics(arrays["va_pred"][:, 1], arrays["va_true"][:, 1])
    rundir.write_logits(run_dir, **arrays)
    metrics.update(
        {
            "params": sum(p.numel() for p in model.parameters()),
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "train_seconds": result.train_seconds,
            "wall_seconds": time.perf_counter() - t0,
            "resumed_from_epoch": result.resumed_from,
        }
    )
    write_json(run_dir / rundir.METRICS, metrics)  # last: marks the cell finished
    state.unlink(missing_ok=True)
    for leftover in run_dir.glob("*.tmp-*"):  # temporaries of a process killed mid-write
        leftover.unlink(missing_ok=True)
    return run_dir


# ---- the grid ----------------------------------------------------------------------------------------


def estimate_seconds(
    cells: list[Cell], spec: GridSpec, out: Path, data_dir: Path, device: str
) -> dict[str, float]:
    """Rough seconds per cell: epochs × train images / throughput (from finished runs of the same arch
    under ``out`` when there are some, else a per-device guess). Early stopping makes it an upper bound."""
    dev = resolve_device(device).type
    seen: dict[str, list[float]] = {}
    for run in rundir.find_runs(out) if out.exists() else []:
        hist = [json.loads(x) for x in (run / rundir.HISTORY).read_text().splitlines() if x.strip()]
        cfg = json.loads((run / rundir.CONFIG).read_text())
        seen.setdefault(cfg["arch"], []).extend(r["img_per_s"] for r in hist)
    epochs = TrainConfig.from_dict(spec.train).epochs
    stores: dict[str, Store] = {}
    est = {}
    for c in cells:
        store = stores.setdefault(c.dataset, open_store(data_dir / c.dataset))
        proto = resolve_protocol(store, spec.protocol)
        n_train = len(store.indices("train", c.fold if proto == "kfold" else None))
        speed = statistics.median(seen[c.arch]) if seen.get(c.arch) else _GUESS_IMG_PER_S.get(dev, 300.0)
        est[c.id] = epochs * n_train / speed
    return est


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        TextColumn("eta"),
        TimeRemainingColumn(),
        console=console,
        transient=False,
    )


def run_grid(
    spec: GridSpec | None = None,
    *,
    out: str | Path | None = None,
    data_dir: str | Path = Path("data"),
    device: str = "auto",
    quiet: bool = False,
    filter: str | list[str] | None = None,  # noqa: A002  (the CLI option's name)
    folds: list[int] | None = None,
    console: Console | None = None,
    command: str | None = None,
    executor: str = "local",
    ray_options: dict | None = None,
    **kwargs,
) -> list[Path]:
    """Train every unfinished cell of ``spec`` (or of ``GridSpec(**kwargs)``); returns all its run dirs.

    ``out`` defaults to ``results/runs/<spec.name>``. Finished cells are skipped, interrupted ones resume.
    ``executor="local"`` trains the cells one after another in this process; ``"ray"`` hands each to a
    Ray task (:func:`ferbench.train.cluster.run_on_ray`, whose keywords ``ray_options`` holds).
    """
    if executor not in EXECUTORS:
        raise ConfigError(f"--executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    given = [k for k, v in (ray_options or {}).items() if v is not None]
    if executor != "ray" and given:
        raise ConfigError(f"{', '.join(RAY_FLAGS[k] for k in given)} only apply with --executor ray")
    spec = spec if spec is not None else GridSpec.from_dict(kwargs)
    spec.validate()
    out = Path(out) if out is not None else Path("results/runs") / spec.name
    blocker = next((p for p in (out, *out.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise ConfigError(f"--out {out}: {blocker} is a file; pass a folder for the run directories")
    cells = filter_cells(expand_cells(spec, data_dir), filter)
    if folds is not None:
        if any(c.fold is None for c in cells):
            raise ConfigError(
                "--fold only applies to k-fold protocols; this store uses its fixed split (drop --fold)"
            )
        n_folds = len({c.fold for c in cells})
        cells = [c for c in cells if c.fold in folds]
        if not cells and n_folds:
            raise ConfigError(f"--fold {folds[0]}: the store has {n_folds} folds; pass --fold 0..{n_folds - 1}")
    if not cells:
        raise ConfigError(f"--filter {filter!r} matches none of the grid's cells; try `--dry-run` without it")
    todo = [c for c in cells if not rundir.is_finished(out / c.id)]
    epochs = TrainConfig.from_dict(spec.train).epochs
    run_dirs = [out / c.id for c in cells]
    kw = dict(
        train=spec.train,
        heads=spec.heads,
        protocol=spec.protocol,
        out=out,
        data_dir=data_dir,
        device=device,
        command=command or shlex.join(sys.argv),  # the driver's command, also for cells trained elsewhere
    )
    jobs = []
    for c in todo:
        base, model_kwargs = spec.model_of(c.arch)
        jobs.append((c, dict(dataset=c.dataset, arch=c.arch, attention=c.attention, activation=c.activation,
                             seed=c.seed, fold=c.fold, base_arch=base, model_kwargs=model_kwargs, **kw)))
    bar = _progress(console) if not quiet else None
    with bar or contextlib.nullcontext():
        grid_task = bar and bar.add_task(f"grid {spec.name} ({len(cells) - len(todo)} done before)",
                                         total=len(todo), info="")  # fmt: skip
        if executor == "ray":
            from ferbench.train.cluster import run_on_ray

            run_on_ray(jobs, bar=bar, grid_task=grid_task, epochs=epochs, **(ray_options or {}))
            return run_dirs
        for c, job in jobs:
            show = None
            if bar is not None:
                ep_task = bar.add_task(f"  {c.id}", total=epochs, info="")

                def show(record: dict, history: list[dict], task=ep_task) -> None:
                    bar.update(task, completed=len(history), info=epoch_info(record))

            train_cell(**job, on_epoch=show)
            if bar is not None:
                bar.update(ep_task, visible=False)
                bar.advance(grid_task)
    return run_dirs


def epoch_info(record: dict) -> str:
    """The epoch bar's text: train loss/accuracy, validation accuracy and throughput."""
    return (f"loss {record['train_loss']:.3f} acc {record['train_acc']:.3f} "
            f"val {record['val_acc']:.3f} {record['img_per_s']:,.0f} img/s")  # fmt: skip


def summarize(run_dirs: list[Path]) -> list[dict]:
    """One row per finished run (cell, n_test, accuracy, macro-F1, epochs, seconds) for printing."""
    rows = []
    for d in run_dirs:
        if rundir.is_finished(d):
            m = json.loads((d / rundir.METRICS).read_text())
            rows.append(
                {
                    "cell": m["cell"],
                    "n_test": m["n_test"],
                    "accuracy": m["accuracy"],
                    "macro_f1": m["macro_f1"],
                    "epochs": m["epochs_run"],
                    "best_epoch": m["best_epoch"],
                    "seconds": m["train_seconds"],
                }
            )
    return rows


def summarize_cells(run_dirs: list[Path]) -> list[dict]:
    """Runs pooled per model (dataset/arch-attention-activation) over seeds and folds: mean, sample std, n.

    The pooling is the report's (:func:`ferbench.report.collect.aggregate`), so the grid's closing table
    and the report agree.
    """
    from ferbench.report.collect import aggregate

    rows = summarize(run_dirs)
    if not rows:
        return []
    runs = pd.DataFrame(rows).assign(model=lambda d: d["cell"].str.split("/").str[:2].str.join("/"),
                                     run_id=lambda d: d["cell"])
    pooled = aggregate(runs, ["model"], ["accuracy", "macro_f1"])
    return pooled.drop(columns="run_ids").to_dict("records")


def _fmt_seconds(s: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(s)) if s < 86400 else f"{s / 86400:.1f} days"


def plan(
    spec: GridSpec,
    *,
    out: str | Path | None = None,
    data_dir: str | Path = Path("data"),
    device: str = "auto",
    filter: str | list[str] | None = None,
) -> tuple[list[dict], str]:  # noqa: A002
    """What ``run_grid`` would do: each cell's status (done/resume/new) and estimated time, and the total."""
    spec.validate()
    out = Path(out) if out is not None else Path("results/runs") / spec.name
    cells = filter_cells(expand_cells(spec, data_dir), filter)
    if not cells:
        raise ConfigError(f"--filter {filter!r} matches none of the grid's cells; try `--dry-run` without it")
    est = estimate_seconds(cells, spec, out, Path(data_dir), device)
    rows, total = [], 0.0
    for c in cells:
        d = out / c.id
        status = "done" if rundir.is_finished(d) else "resume" if (d / rundir.STATE).is_file() else "new"
        total += 0.0 if status == "done" else est[c.id]
        rows.append(
            {"cell": c.id, "status": status, "estimate": "-" if status == "done" else _fmt_seconds(est[c.id])}
        )
    return rows, _fmt_seconds(total)
