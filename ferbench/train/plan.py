"""From a grid spec to concrete cells, each resolved once: store, protocol, axes, heads, recipe, model.

:func:`expand_cells` opens each store once and works out everything a cell is — its folds, the
resolved attention/activation, the training recipe with every default filled for the store and the
device, the model spec, the pretrained file's digest — into :attr:`Cell.config`, the identity its
``config.json`` records (:mod:`ferbench.rundir`). :func:`ferbench.train.cell.train_cell` trains a
cell from that and re-derives nothing. :func:`plan` is ``grid --dry-run``: each cell's status against
what is on disk and a rough time estimate.
"""

from __future__ import annotations

import fnmatch
import hashlib
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ferbench import rundir
from ferbench.data.store import SPLITS, Store, StoreError, is_prepared, open_store
from ferbench.errors import FerbenchError
from ferbench.models import get_entry, resolve_axes, resolve_spec
from ferbench.train.progress import format_duration
from ferbench.train.recipe import ConfigError
from ferbench.train.spec import GridSpec

# Throughput assumed by --dry-run when no finished run of the arch exists yet (deliberately rough).
_GUESS_IMG_PER_S = {"cpu": 300.0, "cuda": 20000.0}
# Folds looked for when deciding whether --filter could select a dataset whose store is missing.
_MAX_FOLDS = 1000


@dataclass(frozen=True)
class Cell:
    """One concrete cell of a grid, resolved once: its coordinates, its store and the config it records."""

    dataset: str
    arch: str  # the cell's name for the model: a registered arch or a grid variant
    attention: str
    activation: str
    seed: int
    fold: int | None = None
    device_type: str = "cpu"  # the device the recipe was resolved for
    config: dict = field(default_factory=dict, compare=False)  # config.json without env and command

    @property
    def id(self) -> str:
        return rundir.cell_id(self.dataset, self.arch, self.attention, self.activation, self.seed, self.fold)

    @property
    def store(self) -> Path:
        """The store folder the cell trains on."""
        return Path(self.config["data_dir"]) / self.dataset


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


def check_store_has_va(store: Store, heads: str) -> None:
    """A valence/arousal head needs targets: without them it would train on nothing and report NaN."""
    if heads == "cls+va" and store.meta["valence"].isna().all():
        raise ConfigError(f"--heads cls+va needs valence/arousal labels and {store.root} has none "
                          "(affectnet and synthetic have them); use --heads cls")


def _sha256(path: str) -> str:
    p = Path(path)
    if not p.is_file():
        raise FerbenchError(f"--pretrained {p}: no such file; pass a local weights file (.safetensors or .pth)")
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _axes(spec: GridSpec):
    """(cell arch, registered arch, model keywords, attention, activation) for every model of the grid."""
    for arch in spec.archs:
        base, kwargs = spec.model_of(arch)
        for att in spec.attentions:
            for act in spec.activations:
                yield (arch, base, kwargs, *resolve_axes(base, att, act))


def _could_match(spec: GridSpec, dataset: str, patterns: list[str]) -> bool:
    """Whether some cell of ``dataset`` could match ``patterns``, without opening its store."""
    ids = (rundir.cell_id(dataset, arch, att, act, seed, fold)
           for arch, _, _, att, act in _axes(spec) for seed in spec.seeds_for(dataset)
           for fold in (None, *range(_MAX_FOLDS)))
    return any(_matches(cid, patterns) for cid in ids)


def _matches(cid: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(cid, p) or fnmatch.fnmatch(cid, f"*{p}*") for p in patterns)


def _patterns(patterns: str | list[str] | None) -> list[str]:
    if not patterns:
        return []
    return [p.strip() for p in (patterns.split(",") if isinstance(patterns, str) else patterns) if p.strip()]


def _check_data_dir(data_dir: Path, datasets: list[str]) -> None:
    """``--data-dir`` pointing at one store instead of the folder of stores is the usual slip."""
    if is_prepared(data_dir) and not any(is_prepared(data_dir / ds) for ds in datasets):
        raise ConfigError(f"--data-dir {data_dir} is itself a store; pass the folder that holds it: "
                          f"--data-dir {data_dir.parent} --dataset {data_dir.name}")


def missing_stores(spec: GridSpec, data_dir: str | Path, patterns: str | list[str] | None = None) -> list[str]:
    """The grid's datasets, among those ``patterns`` could select, that have no store under ``data_dir``."""
    _check_data_dir(Path(data_dir), spec.datasets)
    pats = _patterns(patterns)
    return [ds for ds in spec.datasets
            if not is_prepared(Path(data_dir) / ds) and (not pats or _could_match(spec, ds, pats))]


def expand_cells(
    spec: GridSpec,
    data_dir: str | Path,
    *,
    device_type: str = "cpu",
    datasets: Iterable[str] | None = None,
) -> list[Cell]:
    """Every cell of the grid (of ``datasets`` only, when given), in a stable order, resolved for
    ``device_type``; each store is opened once."""
    given = Path(data_dir)
    data_dir = given.resolve()
    base_cfg = spec.train_config()
    hashes: dict[str, str] = {}
    cells = []
    _check_data_dir(given, spec.datasets)
    for ds in spec.datasets if datasets is None else [d for d in spec.datasets if d in set(datasets)]:
        if not (given / ds).exists():
            raise StoreError(f"no prepared store at {given / ds}: run `ferbench prepare {ds} ...` "
                             "(or pass --data-dir to where stores live)")
        store = open_store(data_dir / ds)
        check_store_has_va(store, spec.heads)
        protocol = resolve_protocol(store, spec.protocol)
        record = rundir.store_record(store)
        folds = list(range(store.num_folds)) if protocol == "kfold" else [None]
        parts = {f: {s: len(store.indices(s, f)) for s in SPLITS} for f in folds}
        for arch, base, kwargs, att, act in _axes(spec):
            kwargs = dict(kwargs)
            pretrained = kwargs.pop("pretrained", None)
            if pretrained is not None and str(pretrained) not in hashes:
                hashes[str(pretrained)] = _sha256(str(pretrained))
            # the store's resolution, but never below an architecture's native size (DDAMFN: 112)
            native = max(store.size, get_entry(base).default_img_size)
            resolved = {}
            for fold in folds:
                cfg = base_cfg.resolve(store_size=native, store_channels=store.channels, device_type=device_type,
                                       n_train=parts[fold]["train"])
                model = resolve_spec(base, attention=att, activation=act, num_classes=store.num_classes,
                                     in_chans=cfg.channels, img_size=cfg.size, heads=spec.heads, **kwargs)
                resolved[fold] = cfg.to_dict(), model.to_dict()
            for seed in spec.seeds_for(ds):
                for fold in folds:
                    train, model = resolved[fold]
                    config = {
                        "cell": rundir.cell_id(ds, arch, att, act, seed, fold),
                        "dataset": ds,
                        "data_dir": str(data_dir),
                        "store_card": record,
                        "arch": arch,
                        "attention": att,
                        "activation": act,
                        "seed": int(seed),
                        "fold": fold,
                        "protocol": protocol,
                        "model": model,
                        "pretrained": None if pretrained is None else str(pretrained),
                        "pretrained_sha256": None if pretrained is None else hashes[str(pretrained)],
                        "train": train,
                        "classes": store.classes,
                        "n": parts[fold],
                    }
                    cells.append(Cell(ds, arch, att, act, int(seed), fold, device_type=device_type, config=config))
    return cells


def filter_cells(cells: Iterable[Cell], patterns: str | list[str] | None) -> list[Cell]:
    """Cells whose id matches any glob (``fer2013/resnet50-*``, ``*/s0``, ``*-se-*``)."""
    pats = _patterns(patterns)
    return [c for c in cells if not pats or _matches(c.id, pats)]


def select_cells(
    spec: GridSpec,
    data_dir: str | Path,
    *,
    device_type: str,
    filter: str | list[str] | None = None,  # noqa: A002  (the CLI option's name)
    folds: list[int] | None = None,
    skip: Iterable[str] = (),
) -> list[Cell]:
    """The cells a grid command works on: expanded, then ``--filter`` and ``--fold`` applied; ``skip``
    names datasets left out (a dry run's missing stores)."""
    wanted = [ds for ds in spec.datasets if ds not in set(skip)]
    pats = _patterns(filter)
    if pats:  # a store the filter cannot select is not needed
        wanted = [ds for ds in wanted if is_prepared(Path(data_dir) / ds) or _could_match(spec, ds, pats)]
    cells = filter_cells(expand_cells(spec, data_dir, device_type=device_type, datasets=wanted), pats)
    if folds is not None:
        if any(c.fold is None for c in cells):
            raise ConfigError(
                "--fold only applies to k-fold protocols; this store uses its fixed split (drop --fold)"
            )
        n_folds = len({c.fold for c in cells})
        cells = [c for c in cells if c.fold in folds]
        if not cells and n_folds:
            raise ConfigError(f"--fold {folds[0]}: the store has {n_folds} folds; pass --fold 0..{n_folds - 1}")
    if not cells and not skip:
        raise ConfigError(f"--filter {filter!r} matches none of the grid's cells; try `--dry-run` without it")
    return cells


def estimate_seconds(cells: list[Cell], out: Path, device_type: str) -> dict[str, float]:
    """Rough seconds per cell: epochs × train images / throughput (from finished runs of the same arch
    under ``out`` when there are some, else a per-device guess). Early stopping makes it an upper bound."""
    seen: dict[str, list[float]] = {}
    for run in rundir.scan(out) if out.exists() else []:
        seen.setdefault(rundir.read_config(run).get("arch"), []).extend(
            r["img_per_s"] for r in rundir.read_history(run))
    est = {}
    for c in cells:
        speed = statistics.median(seen[c.arch]) if seen.get(c.arch) else _GUESS_IMG_PER_S.get(device_type, 300.0)
        est[c.id] = c.config["train"]["epochs"] * c.config["n"]["train"] / speed
    return est


def plan(
    spec: GridSpec,
    *,
    out: str | Path | None = None,
    data_dir: str | Path = Path("data"),
    device: str = "auto",
    filter: str | list[str] | None = None,  # noqa: A002
    force: bool = False,
) -> tuple[list[dict], str]:
    """What ``run_grid`` would do: each cell's status and estimated time, and the total.

    Status: ``done``, ``resume``, ``new``, ``differs: <keys>`` (``run_grid`` refuses it without
    ``force``), ``retrain`` (with ``force``), or ``no store`` for a dataset not prepared yet.
    """
    from ferbench.inference import resolve_device

    spec.validate()
    out = Path(out) if out is not None else Path("results/runs") / spec.name
    device_type = resolve_device(device).type
    missing = missing_stores(spec, data_dir, filter)
    cells = select_cells(spec, data_dir, device_type=device_type, filter=filter, skip=missing)
    est = estimate_seconds(cells, out, device_type)
    rows, total = [], 0.0
    for c in cells:
        st = rundir.status(out / c.id, c.config)
        status = "retrain" if force else {"changed": f"differs: {', '.join(st.differs)}"}.get(st.state, st.state)
        trains = force or st.state in ("new", "resume")
        total += est[c.id] if trains else 0.0
        rows.append({"cell": c.id, "status": status, "estimate": format_duration(est[c.id]) if trains else "-"})
    for ds in missing:
        rows.append({"cell": f"{ds}/*", "status": "no store", "estimate": "-"})
    return rows, format_duration(total)


def plan_summary(rows: list[dict], total: str, data_dir: str | Path) -> str:
    """The line under a dry run's table: cells, how many train, the estimate, what is refused or missing."""
    cells = [r for r in rows if r["status"] != "no store"]
    differ = sum(r["status"].startswith("differs") for r in cells)
    todo = sum(r["status"] != "done" for r in cells) - differ
    line = f"{len(cells)} cells, {todo} to train, estimated {total} (rough upper bound)"
    if differ:
        line += f"; {differ} recorded with other options (refused without --force)"
    missing = [r["cell"].split("/")[0] for r in rows if r["status"] == "no store"]
    if missing:
        line += f"; not prepared in {data_dir}: {', '.join(missing)} (`ferbench prepare NAME --root ...`)"
    return line
