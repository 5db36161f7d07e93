"""The ``prepare`` pipeline every dataset goes through, and :data:`DATASETS`, the datasets it knows.

Each dataset module (``fer2013``, ``ferplus``, ``ckplus``, ``jaffe``, ``affectnet``, ``folder``) only
knows its download layout: ``detect_layout(root)`` recognises it and ``collect(root, layout, opts)``
lists the images with labels, official splits and subjects as a :class:`Collected`. The synthetic
dataset is generated (``GENERATED = True``: no ``--root``) and its ``collect`` draws the images.
Everything shared lives here, so it is done one way for all datasets:

1. find the layout (and, for a wrong ``--root`` such as the parent folder, name the right one);
2. a re-run with the same input and options is a no-op; different options need ``--force``;
3. decode + face-crop on a thread pool (:mod:`ferbench.data.images`), listing unreadable files
   and face misses in the card;
4. splits: the official one where the dataset has it (a stratified, seeded val carved from train
   where it has none); subject-grouped k folds for datasets with subjects (``split`` = fold 0 of
   the k-fold protocol unless ``--split subject:a/b/c``);
5. exact-duplicate (content hash) report across splits, ``--dedupe`` drops them from train;
6. the subject leakage check — a subject in two splits or folds aborts the write;
7. :func:`ferbench.data.store.write_store` (atomic).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import shutil
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from ferbench.data.classes import EMOTIONS, UnknownClassError, canonical, parse_class_map, subset
from ferbench.data.faces import DETECTORS, ON_MISS, FaceCropper
from ferbench.data.images import Source, output_shape, read_all
from ferbench.data.splits import parse_split, subject_folds, subject_split
from ferbench.data.store import (
    Store,
    StoreError,
    check_destination,
    content_hash,
    is_prepared,
    leakage_check,
    new_meta,
    open_store,
    read_card,
    write_store,
)
from ferbench.errors import FerbenchError

# name -> module, one per line; imported lazily so `ferbench datasets` and the CLI start fast
DATASETS: dict[str, str] = {
    "synthetic": "ferbench.data.synthetic",
    "fer2013": "ferbench.data.fer2013",
    "ferplus": "ferbench.data.ferplus",
    "ckplus": "ferbench.data.ckplus",
    "jaffe": "ferbench.data.jaffe",
    "affectnet": "ferbench.data.affectnet",
    "folder": "ferbench.data.folder",
    "rafdb": "ferbench.data.rafdb",
    "sfew": "ferbench.data.sfew",
    "expw": "ferbench.data.expw",
    "kdef": "ferbench.data.kdef",
    "oulu": "ferbench.data.oulu",
    "affwild2": "ferbench.data.affwild2",
}
LABEL_MODES = ("majority", "plurality", "probability")  # FERPlus vote rules (ferbench.data.ferplus)
LIST_LIMIT = 5000  # files listed per problem kind in a card (the count is always exact)
# Decoded images up to this many bytes stay in memory while preparing; more go to a scratch memmap on disk.
IN_MEMORY_LIMIT = 2 * 2**30


class DatasetLayoutError(FerbenchError):
    """``--root`` does not hold the expected download layout (wrong folder, missing label file, bad CSV)."""


class PrepareOptionError(FerbenchError):
    """An option that does not apply, or a value out of range."""


class SplitLeakageError(FerbenchError):
    """A subject ended up in two splits or folds: the store is not written."""


@dataclass
class PrepareOptions:
    """Every ``ferbench prepare`` option; the resolved values are recorded in the dataset card."""

    size: int | None = None  # None: the dataset's default (48 for the 48-px datasets)
    channels: int = 1
    split: str = "official"
    folds: int | None = None  # None: the dataset's default (10 for CK+/JAFFE, 0 elsewhere)
    detect: str | None = None  # None: the dataset's DEFAULT_DETECT ("none" unless its images are whole frames)
    detector_model: str | None = None
    margin: float = 0.2
    align: bool = False
    on_miss: str = "keep"
    dedupe: bool = False
    label_mode: str = "majority"
    class_map: dict[str, str] = field(default_factory=dict)
    classes: list[str] | None = None  # --classes a,b,c: keep only these (canonical names); None: all
    val_fraction: float = 0.1
    neutral_frame: bool = False
    # dataset-specific (issue 14): rafdb images, expw min_confidence, kdef angles, oulu light/sensor, affwild2 every
    images: str = "aligned"
    min_confidence: float | None = None
    angles: str = "S"
    light: str = "Strong"
    sensor: str = "VL"
    every: int = 1
    subjects: int = 60  # synthetic: number of subjects
    per_class: int = 8  # synthetic: images per class per subject
    seed: int = 0
    force: bool = False
    workers: int | None = None

    def fingerprint(self, taken: tuple[str, ...] = ()) -> dict:
        """The options that shape the store, compared on a re-run: not ``force``/``workers``, and of the
        dataset-specific ones (:data:`SPECIFIC`) only those the dataset takes (``taken``)."""
        d = asdict(self)
        for key in ("force", "workers", *(k for k in SPECIFIC if k not in taken)):
            d.pop(key)
        return json.loads(json.dumps(d, default=str))


# dataset-specific options and their neutral value: setting one for another dataset is an error
SPECIFIC = {"label_mode": "majority", "neutral_frame": False, "subjects": 60, "per_class": 8,
            "images": "aligned", "min_confidence": None, "angles": "S", "light": "Strong", "sensor": "VL",
            "every": 1}


@dataclass
class Collected:
    """What a dataset module found under ``--root``: one entry per image, before decoding."""

    layout: str
    sources: list[Source]
    labels: list[str] | np.ndarray  # canonical class name per image
    classes: list[str] | None = None  # the dataset's classes (canonical order); None: those present
    split: np.ndarray | None = None  # official train/val/test per image; None: no official split
    carve_val: bool = False  # official split has no validation part: carve one from train
    subjects: np.ndarray | None = None
    valence: np.ndarray | None = None
    arousal: np.ndarray | None = None
    soft: np.ndarray | None = None  # (N, len(classes)) soft targets
    groups: np.ndarray | None = None  # a subgroup per image (meta column ``group``)
    bad: list[tuple[str, str]] = field(default_factory=list)  # entries unusable before decoding
    card: dict = field(default_factory=dict)  # dataset-specific card entries (filters, provenance)


@dataclass
class PrepareResult:
    store: Store
    already_prepared: bool = False


def get(name: str) -> ModuleType:
    """The dataset module registered as ``name``."""
    if name not in DATASETS:
        raise PrepareOptionError(
            f"unknown dataset {name!r}; supported: {', '.join(DATASETS)} (see `ferbench datasets`)"
        )
    return importlib.import_module(DATASETS[name])


def options(**opts) -> PrepareOptions:
    """Validated :class:`PrepareOptions` from keyword arguments (``None`` values mean 'default')."""
    known = PrepareOptions.__dataclass_fields__
    unknown = sorted(set(opts) - set(known))
    if unknown:
        raise PrepareOptionError(f"unknown prepare option(s) {unknown}; known: {sorted(known)}")
    o = PrepareOptions(**{k: v for k, v in opts.items() if v is not None})
    if isinstance(o.class_map, str):
        try:
            o.class_map = parse_class_map(o.class_map)
        except ValueError as err:
            raise PrepareOptionError(str(err)) from None
    o.class_map = dict(o.class_map or {})
    if o.classes is not None:
        o.classes = _parse_classes(o.classes, o.class_map)
    if o.detector_model is not None:
        o.detector_model = str(o.detector_model)
    if o.channels not in (1, 3):
        raise PrepareOptionError(f"--channels {o.channels}: expected 1 (gray) or 3 (RGB)")
    if o.size is not None and not 8 <= o.size <= 1024:
        raise PrepareOptionError(f"--size {o.size}: expected 8..1024 pixels")
    if o.margin <= -0.5:  # the face box grows by 1 + 2 * margin: at -0.5 it vanishes
        raise PrepareOptionError(f"--margin {o.margin}: expected more than -0.5 (0.2 grows the box 20% per side)")
    if o.detect is not None and o.detect not in DETECTORS:
        raise PrepareOptionError(f"--detect {o.detect!r}: expected one of {', '.join(DETECTORS)}")
    if o.on_miss not in ON_MISS:
        raise PrepareOptionError(f"--on-miss {o.on_miss!r}: expected one of {', '.join(ON_MISS)}")
    if o.label_mode not in LABEL_MODES:
        raise PrepareOptionError(f"--label-mode {o.label_mode!r}: expected one of {', '.join(LABEL_MODES)}")
    if o.folds is not None and o.folds < 0:
        raise PrepareOptionError(f"--folds {o.folds}: expected 0 (none) or at least 3")
    if o.seed < 0:  # numpy's generators refuse negative seeds
        raise PrepareOptionError(f"--seed {o.seed}: expected 0 or more")
    if o.workers is not None and o.workers < 1:
        raise PrepareOptionError(f"--workers {o.workers}: expected at least 1")
    if not 0 < o.val_fraction < 1:
        raise PrepareOptionError(f"--val-fraction {o.val_fraction}: expected a fraction in (0, 1)")
    try:
        parse_split(o.split)
    except ValueError as err:
        raise PrepareOptionError(str(err)) from None
    return o


def _parse_classes(value: str | list[str], class_map: dict[str, str]) -> list[str]:
    """``--classes`` as canonical names in canonical order (spellings and --class-map renames accepted)."""
    names = [c.strip() for c in (value.split(",") if isinstance(value, str) else value) if c.strip()]
    if not names:
        raise PrepareOptionError("--classes is empty; list the classes to keep, e.g. --classes anger,happiness,sadness")
    try:
        return subset({canonical(c, class_map) for c in names})
    except UnknownClassError as err:
        raise PrepareOptionError(f"--classes: {err}") from None


def read_table(path: Path, columns: list[str], expected: str, header: bool = True) -> pd.DataFrame:
    """A CSV as strings with ``columns`` checked: a missing file or column is a one-line layout error.

    With ``header=False`` the file has no header line and ``columns`` name its leading columns.
    """
    if not path.is_file():
        raise DatasetLayoutError(f"{path}: label file missing; expected {expected}")
    try:
        df = pd.read_csv(
            path, dtype=str, keep_default_na=False, header=0 if header else None, skipinitialspace=True
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DatasetLayoutError(
            f"{path}: not a readable CSV ({str(err).splitlines()[0]}); expected {expected}"
        ) from None
    if header:
        df.columns = [str(c).strip() for c in df.columns]
        missing = [c for c in columns if c not in df.columns]
        if missing:
            raise DatasetLayoutError(
                f"{path}: missing column(s) {', '.join(missing)} (found {', '.join(df.columns)}); "
                f"expected {expected}"
            )
    else:
        if df.shape[1] < len(columns):
            raise DatasetLayoutError(f"{path}: {df.shape[1]} columns, expected {len(columns)} ({expected})")
        df = df.iloc[:, : len(columns)]
        df.columns = columns
    return df


def find_root(module: ModuleType, root: str | Path) -> tuple[Path, str]:
    """``(root, layout)`` for ``--root``; a wrong folder raises naming the right one when it is nearby."""
    root = Path(root).expanduser()
    expected = f"expected the {module.NAME} layout: " + " or ".join(module.LAYOUTS)
    if not root.exists():
        raise DatasetLayoutError(f"--root {root}: no such file or folder; {expected}")
    layout = module.detect_layout(root)
    if layout:
        return root, layout
    if root.is_dir() and not any(root.iterdir()):  # nothing downloaded here: its parent is no better guess
        raise DatasetLayoutError(f"--root {root} is an empty folder; {expected}")
    # the usual mistakes: the parent folder (or grandparent), or one folder too deep
    candidates: list[Path] = []
    if root.is_dir():
        level = [root]
        for _ in range(2):
            level = [
                d
                for p in level
                for d in sorted(p.iterdir())[:200]
                if d.is_dir() and not d.name.startswith(".")
            ]
            candidates += level
    candidates += [root.parent, root.parent.parent]
    for cand in candidates:
        if cand != root and module.detect_layout(cand):
            raise DatasetLayoutError(
                f"--root {root} is not a {module.NAME} download, but {cand} is: pass --root {cand}"
            )
    raise DatasetLayoutError(f"--root {root}: {expected}")


def prepare(
    name: str, root: str | Path | None = None, out: str | Path | None = None, data_dir: str | Path = "data",
    **opts,
) -> PrepareResult:
    """Prepare dataset ``name`` from ``root`` into ``out`` (default ``<data_dir>/<name>``)."""
    module = get(name)
    return run(module, root, Path(out) if out else Path(data_dir) / name, **opts)


def _find_input(module: ModuleType, root: str | Path | None) -> tuple[Path | None, str, dict]:
    """``(root, layout, card source entry)``; a generated dataset has no root."""
    if getattr(module, "GENERATED", False):
        if root is not None:
            raise PrepareOptionError(f"--root does not apply to {module.NAME} (it is generated); leave it out")
        return None, "generated", {"layout": "generated"}
    if root is None:
        raise PrepareOptionError(f"ferbench prepare {module.NAME} needs --root PATH: " + " or ".join(module.LAYOUTS))
    root, layout = find_root(module, root)
    return root, layout, {"root": str(root.resolve()), "layout": layout}


def run(module: ModuleType, root: str | Path | None, out: str | Path, **opts) -> PrepareResult:
    """The shared pipeline (module docstring) for one dataset module."""
    o = options(**opts)
    defaults = PrepareOptions()
    for key, neutral in SPECIFIC.items():
        if getattr(o, key) != neutral and key not in getattr(module, "OPTIONS", ()):
            raise PrepareOptionError(f"--{key.replace('_', '-')} does not apply to {module.NAME}")
    for key in getattr(module, "UNSUPPORTED", ()):
        if getattr(o, key) != getattr(defaults, key):
            raise PrepareOptionError(f"--{key.replace('_', '-')} does not apply to {module.NAME}; leave it out")
    if o.size is None:
        o.size = module.DEFAULT_SIZE
    if o.folds is None:
        o.folds = module.DEFAULT_FOLDS
    if o.detect is None:
        o.detect = getattr(module, "DEFAULT_DETECT", "none")
    root, layout, source = _find_input(module, root)
    out = Path(out)
    check_destination(out)
    if is_prepared(out) and not o.force:
        return PrepareResult(_same_or_raise(out, module, source, o), already_prepared=True)

    col: Collected = module.collect(root, layout, o)
    if o.classes is not None:
        col = _restrict_classes(col, o.classes, module.NAME)
    cropper = FaceCropper(o.detect, o.size, o.channels, o.margin, o.align, o.on_miss, o.detector_model)
    with _image_buffer(output_shape(len(col.sources), cropper), out) as buffer:
        return PrepareResult(_build(module, col, read_all(col.sources, cropper, o.workers, into=buffer),
                                    root, out, source, o))


def _restrict_classes(col: Collected, keep: list[str], name: str) -> Collected:
    """``col`` with only the images of the ``--classes`` classes; the others are counted in the card."""
    known = col.classes or subset(set(col.labels))
    missing = [c for c in keep if c not in known]
    if missing:
        raise PrepareOptionError(f"--classes {','.join(keep)}: {name} has no class {', '.join(missing)}; "
                                 f"its classes are {','.join(known)}")
    labels = np.asarray(col.labels, dtype=object)
    mask = np.isin(labels, keep)
    soft = col.soft
    if soft is not None:  # soft targets keep the chosen classes' columns, renormalised
        cols = [known.index(c) for c in keep]
        soft = soft[:, cols]
        mask &= soft.sum(axis=1) > 0
        soft = soft[mask] / soft[mask].sum(axis=1, keepdims=True)
    idx = np.flatnonzero(mask)

    def take(a):
        return None if a is None else np.asarray(a)[idx]

    dropped = {c: int((labels[~mask] == c).sum()) for c in known if c not in keep}
    card = dict(col.card)
    card["class_filter"] = {
        "classes": keep,
        "dropped_classes": [c for c in known if c not in keep],
        "dropped_images": int((~mask).sum()),
        "dropped_per_class": dropped,
        "rule": "--classes: only images of these classes are stored; labels index them in canonical order",
    }
    return Collected(layout=col.layout, sources=[col.sources[i] for i in idx], labels=labels[idx].tolist(),
                     classes=keep, split=take(col.split), carve_val=col.carve_val, subjects=take(col.subjects),
                     valence=take(col.valence), arousal=take(col.arousal), soft=soft, groups=take(col.groups),
                     bad=col.bad, card=card)


def class_warnings(meta: pd.DataFrame, classes: list[str], name: str) -> list[str]:
    """One line per class with no images at all, or none in one of train/val/test: a k-class model with
    an empty class is almost always a missing or empty class folder, not an intended protocol."""
    counts = pd.crosstab(meta["label"], meta["split"]).reindex(index=range(len(classes)), fill_value=0)
    fix = f"check the download, or leave it out explicitly with --classes {{keep}} (ferbench prepare {name})"
    lines = []
    for i, c in enumerate(classes):
        keep = ",".join(k for k in classes if k != c)
        row = counts.loc[i]
        if row.sum() == 0:
            lines.append(f"class {c} has no images (missing or empty class folder?); " + fix.format(keep=keep))
        else:
            empty = [s for s in ("train", "val", "test") if s in counts.columns and row[s] == 0]
            if empty:
                lines.append(f"class {c} has no {'/'.join(empty)} images; " + fix.format(keep=keep))
    return lines


@contextlib.contextmanager
def _image_buffer(shape: tuple[int, ...], out: Path):
    """The array decoded images go into: in memory up to IN_MEMORY_LIMIT bytes, else a scratch .npy
    memmap beside ``out`` (AffectNet at 112 px RGB is about 11 GB), deleted afterwards."""
    if int(np.prod(shape)) <= IN_MEMORY_LIMIT:
        yield np.zeros(shape, dtype=np.uint8)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.scratch-", dir=out.parent))
    try:
        yield np.lib.format.open_memmap(scratch / "images.npy", mode="w+", dtype=np.uint8, shape=shape)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _build(module: ModuleType, col: Collected, loaded, root: Path, out: Path, source: dict, o) -> Store:
    """Labels, splits, folds, dedupe and the card around the decoded images; writes the store."""
    keep = loaded.ok
    classes = col.classes or subset(set(col.labels))
    if not len(col.sources) or not keep.any():
        raise DatasetLayoutError(
            f"--root {root}: no usable images found ({len(col.bad) + len(loaded.bad)} unusable); "
            "expected " + " or ".join(module.LAYOUTS)
        )

    n = len(col.sources)
    meta = new_meta(n)
    meta["source"] = [s.name for s in col.sources]
    lookup = {c: i for i, c in enumerate(classes)}
    meta["label"] = np.array([lookup[c] for c in col.labels], dtype=np.int64)
    if col.subjects is not None:
        meta["subject"] = np.asarray(col.subjects, dtype=str)
    if col.valence is not None:
        meta["valence"] = np.asarray(col.valence, np.float32)
        meta["arousal"] = np.asarray(col.arousal, np.float32)
    if col.groups is not None:
        meta["group"] = np.asarray(col.groups, dtype=str)
    # position in col.sources / loaded.images: the stored rows are selected by it, never copied here
    meta["_pos"] = np.arange(n)  # (not written: write_store keeps META_COLUMNS)
    soft = col.soft
    if not keep.all():
        meta = meta[keep].reset_index(drop=True)
        soft = col.soft[keep] if col.soft is not None else None
    meta["hash"] = [content_hash(loaded.images[i]) for i in meta["_pos"]]
    has_subjects = col.subjects is not None

    protocol = _assign_splits(meta, col, o, has_subjects, module.NAME)
    dedupe, dup = _dedupe(meta, o.dedupe, classes)
    if o.dedupe and dup.any():
        meta = meta[~dup].reset_index(drop=True)
        soft = soft[~dup] if soft is not None else None
    check = leakage_check(meta)
    if check["split_subject_disjoint"] is False or check.get("fold_subject_disjoint") is False:
        raise SplitLeakageError(
            f"{out}: subjects {check['split_shared_subjects'][:5]} appear in more than one "
            "split/fold; the store was not written (report this as a bug)"
        )
    folds = int(meta["fold"].max()) + 1 if (meta["fold"] >= 0).any() else 0
    bad = col.bad + loaded.bad
    card = {
        "name": module.NAME,
        "classes": classes,
        "folds": folds,
        "source": source,
        "prepare": o.fingerprint(getattr(module, "OPTIONS", ())),
        "split_protocol": protocol,
        "subject_check": _subject_check_text(check, has_subjects, folds),
        "problems": {
            "unreadable": {
                "count": len(bad),
                "action": "skipped",
                "files": [list(b) for b in bad[:LIST_LIMIT]],
            },
            "no_face": {
                "count": len(loaded.misses),
                "detector": o.detect,
                "action": o.on_miss,
                "files": loaded.misses[:LIST_LIMIT],
            },
        },
        "dedupe": dedupe,
        "warnings": class_warnings(meta, classes, module.NAME),
        **col.card,
    }
    return write_store(out, loaded.images, meta, card, soft=soft, force=True, rows=meta["_pos"].to_numpy())


def _same_or_raise(out: Path, module: ModuleType, source: dict, o: PrepareOptions) -> Store:
    store = open_store(out)
    recorded = store.card.get("prepare")
    if recorded is None and hasattr(module, "legacy_options"):  # a card from before the module used this pipeline
        recorded = module.legacy_options(store.card)
    if recorded is None:
        raise StoreError(f"{out} was prepared by an earlier ferbench that did not record its options, so it cannot "
                         "be checked against these; pass --force to rebuild it or --out to write elsewhere")
    old = {"name": store.card.get("name"), **store.card.get("source", source), **recorded}
    # an option the card predates (e.g. --classes) is compared only when set: its default is what that store
    # had; size/folds/detect are resolved per dataset, so their None default says nothing
    defaults = PrepareOptions().fingerprint(getattr(module, "OPTIONS", ()))
    new = {"name": module.NAME, **source,
           **{k: v for k, v in o.fingerprint(getattr(module, "OPTIONS", ())).items()
              if k in recorded or (k not in ("size", "folds", "detect") and v != defaults.get(k))}}
    diff = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
    changed = getattr(module, "stale", lambda card, opts: None)(store.card, o)  # same options, older meaning
    if diff or changed:
        what = ", ".join([f"{k}: {a!r} -> {b!r}" for k, (a, b) in diff.items()] + ([changed] if changed else []))
        raise StoreError(
            f"{out} is already prepared from different input/options ({what}); "
            "pass --force to rebuild it or --out to write elsewhere"
        )
    return store


def _assign_splits(
    meta: pd.DataFrame, col: Collected, o: PrepareOptions, has_subjects: bool, name: str
) -> str:
    """Fill ``split`` and ``fold``; return a one-line description of the protocol for the card."""
    kind, ratios = parse_split(o.split)
    labels = meta["label"].to_numpy()
    subjects = meta["subject"].to_numpy() if has_subjects else None
    if (kind == "subject" or o.folds) and not has_subjects:
        opt = "--split subject" if kind == "subject" else f"--folds {o.folds}"
        raise PrepareOptionError(
            f"{opt}: {name} has no subject ids, so subject-independent splits are impossible; "
            "use --split official"
        )
    if o.folds:
        meta["fold"] = _folds(labels, subjects, o.folds, o.seed)
    parts = []
    if kind == "subject":
        meta["split"] = subject_split(subjects, ratios, seed=o.seed)
        parts.append("subject-grouped split " + "/".join(f"{r:.0%}" for r in ratios) + f" (seed {o.seed})")
    elif col.split is not None:
        split = np.asarray(col.split, dtype=object)[meta["_pos"].to_numpy()]
        if col.carve_val:
            split = _carve_val(split, labels, subjects, o.val_fraction, o.seed)
        meta["split"] = split.astype(str)
        parts.append(
            "official split"
            + (
                f"; val carved from train ({o.val_fraction:.0%}, stratified, seed {o.seed})"
                if col.carve_val
                else ""
            )
        )
    elif o.folds:
        folds = meta["fold"].to_numpy()
        k = int(folds.max()) + 1
        meta["split"] = np.where(folds == 0, "test", np.where(folds == 1 % k, "val", "train"))
        parts.append("split = fold 0 of the k-fold protocol (test fold 0, val fold 1)")
    else:
        # no official split and no subjects: stratified by image, which the card states plainly
        split = np.array(["train"] * len(meta), dtype=object)
        split = _carve_val(split, labels, None, 0.1, o.seed + 1, part="test")
        split = _carve_val(split, labels, None, 0.1 / 0.9, o.seed, part="val")
        meta["split"] = split.astype(str)
        parts.append(
            f"no official split and no subjects: stratified 80/10/10 by image (seed {o.seed}), "
            "not subject-independent"
        )
    if o.folds:
        parts.append(
            f"{int(meta['fold'].max()) + 1} subject-grouped folds (fold f: test f, val f+1, train rest)"
        )
    return "; ".join(parts)


def _folds(labels: np.ndarray, subjects: np.ndarray, k: int, seed: int) -> np.ndarray:
    n_subj = len(set(subjects))
    if k < 3:
        raise PrepareOptionError(
            f"--folds {k}: the k-fold protocol needs at least 3 folds (test, val, train)"
        )
    if n_subj < 3:
        raise PrepareOptionError(f"--folds {k}: only {n_subj} subjects found; need at least 3")
    if k >= n_subj:  # leave-one-subject-out: one subject per fold, in name order
        return pd.factorize(pd.Series(subjects), sort=True)[0].astype(np.int64)
    return subject_folds(labels, subjects, k, seed=seed)


def _carve_val(
    split: np.ndarray,
    labels: np.ndarray,
    subjects: np.ndarray | None,
    fraction: float,
    seed: int,
    part: str = "val",
) -> np.ndarray:
    """Move ``fraction`` of the train rows to ``part``: by subject when known, else stratified by label."""
    split = split.copy()
    idx = np.flatnonzero(split == "train")
    if len(idx) < 2:
        return split
    if subjects is not None:
        gss = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        _, take = next(gss.split(idx, groups=subjects[idx]))
    else:
        y = labels[idx]
        n_take = max(1, int(round(fraction * len(idx))))
        counts = np.bincount(y)
        # sklearn cannot stratify a class with one image, or fewer picks than classes: fall back to random
        stratifiable = counts[counts > 0].min() >= 2 and n_take >= (counts > 0).sum()
        strat = y if stratifiable else None
        _, take = train_test_split(np.arange(len(idx)), test_size=n_take, stratify=strat, random_state=seed)
    split[idx[take]] = part
    return split


def _dedupe(meta: pd.DataFrame, enabled: bool, classes: list[str]) -> tuple[dict, np.ndarray]:
    """The card's dedupe entry, and the mask of train rows whose exact pixels are also in val or test."""
    held = set(meta.loc[meta["split"] != "train", "hash"])
    dup = (meta["split"] == "train").to_numpy() & meta["hash"].isin(held).to_numpy()
    files = meta.loc[dup, "source"].tolist()
    val_test = _val_test_duplicates(meta, classes)
    if enabled:
        return {"enabled": True, "removed_from_train": len(files), "files": files[:LIST_LIMIT],
                "val_test_duplicates": val_test}, dup
    return {
        "enabled": False,
        "removed_from_train": 0,
        "train_rows_duplicated_in_val_test": len(files),
        "files": files[:LIST_LIMIT],
        "hint": "--dedupe removes these from train" if files else "none found",
        "val_test_duplicates": val_test,
    }, dup


def _val_test_duplicates(meta: pd.DataFrame, classes: list[str]) -> dict:
    """Exact-pixel groups that span val and test (FER2013's PublicTest <-> PrivateTest copies).

    Listed, never removed: both are official evaluation sets, and a published protocol keeps them as
    they are; a reader weighing a val-selected test score needs to know they overlap.
    """
    held = meta[meta["split"].isin(["val", "test"])]
    spans = held.groupby("hash")["split"].nunique()
    groups = held[held["hash"].isin(spans[spans > 1].index)].sort_values(["hash", "split", "source"])
    listed = []
    for _, g in groups.groupby("hash", sort=False):
        labels = sorted({classes[i] for i in g["label"]})
        listed.append({"val": g.loc[g["split"] == "val", "source"].tolist(),
                       "test": g.loc[g["split"] == "test", "source"].tolist(), "labels": labels})
    listed.sort(key=lambda d: d["test"][0])
    return {
        "groups": len(listed),
        "val_images": int((groups["split"] == "val").sum()),
        "test_images": int((groups["split"] == "test").sum()),
        "groups_with_different_labels": sum(len(d["labels"]) > 1 for d in listed),
        "action": "listed only: val and test are both official and kept as they are",
        "list": listed[:LIST_LIMIT],
    }


def _subject_check_text(check: dict, has_subjects: bool, folds: int) -> str:
    if not has_subjects:
        return "not applicable: the dataset has no subject ids (image-level splits)"
    text = f"passed: {check['split_subjects_checked']} subjects, none in two of train/val/test"
    if folds:
        text += f"; each subject in exactly one of {folds} folds"
    return text


def list_datasets(data_dir: str | Path = "data") -> list[dict]:
    """Every supported dataset: name, layouts, classes, and its prepared store under ``data_dir`` if any."""
    rows = []
    for name in DATASETS:
        module = get(name)
        classes = list(module.CLASSES) if module.CLASSES else ["any of " + "/".join(EMOTIONS) + " (folder names)"]
        path = Path(data_dir) / name
        prepared = None
        if is_prepared(path):
            card = read_card(path)
            prepared = {
                "path": str(path),
                "num_images": card.get("num_images"),
                "folds": card.get("folds", 0),
                "counts": {s: sum(c.values()) for s, c in card.get("counts", {}).items()},
            }
        rows.append({"name": name, "layouts": list(module.LAYOUTS), "classes": classes, "protocol": module.PROTOCOL,
                     "prepared": prepared})
    return rows


def summary(store: Store) -> pd.DataFrame:
    """Images per class (rows) per split (columns) with a total row: what `prepare` prints."""
    counts = pd.DataFrame(store.card["counts"]).reindex(store.classes).fillna(0).astype(int)
    counts.loc["total"] = counts.sum()
    return counts


def notes(store: Store) -> list[str]:
    """One line per check/problem of a freshly prepared store, for the CLI to print under the counts."""
    card = store.card
    lines = [f"warning: {w}" for w in card.get("warnings", [])]
    lines += [
        f"{card.get('num_images')} images, {store.size}x{store.size}, "
        f"{'gray' if store.channels == 1 else 'RGB'} -> {store.root}"
    ]
    if card.get("split_protocol"):
        lines.append(f"splits: {card['split_protocol']}")
    if card.get("subject_check"):
        lines.append(f"subject check: {card['subject_check']}")
    flt = card.get("label_filter", {})
    if "before" in flt:
        lines.append(f"label filter ({flt['mode']}): before {flt['before']}, after {flt['after']}")
    cf = card.get("class_filter")
    if cf and cf["dropped_classes"]:
        lines.append(f"--classes: kept {', '.join(cf['classes'])}; dropped {cf['dropped_images']} images of "
                     + ", ".join(cf["dropped_classes"]))
    problems = card.get("problems", {})
    bad = problems.get("unreadable", {}).get("count", 0)
    if bad:
        lines.append(f"skipped {bad} unreadable/unusable files (listed in card.json problems.unreadable)")
    miss = problems.get("no_face", {})
    if miss.get("count"):
        lines.append(
            f"no face found in {miss['count']} images: {miss['action']} "
            "(listed in card.json problems.no_face)"
        )
    dup = card.get("dedupe", {})
    if dup.get("enabled"):
        lines.append(f"--dedupe removed {dup['removed_from_train']} train images duplicated in val/test")
    elif dup.get("train_rows_duplicated_in_val_test"):
        lines.append(
            f"{dup['train_rows_duplicated_in_val_test']} train images are exact duplicates of "
            "val/test images "
            "(card.json dedupe; --dedupe removes them)"
        )
    vt = dup.get("val_test_duplicates", {})
    if vt.get("groups"):
        lines.append(
            f"{vt['test_images']} test images are exact duplicates of {vt['val_images']} val images in "
            f"{vt['groups']} groups ({vt['groups_with_different_labels']} with different labels); listed in "
            "card.json dedupe.val_test_duplicates, kept"
        )
    return lines
