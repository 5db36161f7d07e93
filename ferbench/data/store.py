"""The prepared store: the one on-disk format every dataset is turned into.

A store is a directory (``data/<name>/`` by default)::

    images.npy   uint8, (N, H, W) for gray or (N, H, W, 3) for RGB; opened memory-mapped
    meta.csv     one row per image: index, source, label, subject, split, fold, valence, arousal,
                 group, hash
    soft.npy     optional float32 (N, C) soft targets (FERPlus vote distributions)
    card.json    the dataset card: classes, counts per split, folds, checks, provenance, a digest of
                 the content; written last, so a directory without it is not a store

``label`` indexes ``card["classes"]`` (a subset of :data:`ferbench.data.classes.EMOTIONS` in
canonical order), ``-1`` where an image has no class. ``split`` is ``train``/``val``/``test``.
``fold`` is the subject-grouped fold id (``-1`` where the dataset has no folds). For fold ``f`` of
``k`` the protocol is: test = fold ``f``, val = fold ``(f + 1) % k``, train = the rest — so every
split of every fold is subject-independent by construction.

Writes are atomic: everything goes to a temporary sibling directory that is renamed into place,
so an interrupted ``prepare`` never leaves something that looks finished. This module is the only
code that reads or writes the format.

A store's identity is :func:`card_hash`: a digest of its card without what says where and when it
was written (``created``, the tool version, the download's absolute path). The card carries
``content_hash`` (pixels, labels, splits, folds, subjects, soft targets), so two stores with the
same card hash hold the same data; runs record it to tell which store they were trained on.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ferbench import __version__
from ferbench.atomic import dumps
from ferbench.data.classes import EMOTIONS
from ferbench.errors import FerbenchError

FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")
META_COLUMNS = ("index", "source", "label", "subject", "split", "fold", "valence", "arousal", "group", "hash")
_META_DTYPES = {"source": str, "subject": str, "split": str, "group": str, "hash": str}


# Card entries that say where and when a store was written, not what it holds.
_PLACE_AND_TIME = ("created", "ferbench_version")


class StoreError(FerbenchError):
    """A store that is missing, unfinished or inconsistent; the message names the path and the fix."""


def content_hash(image: np.ndarray) -> str:
    """A short content hash of one image's pixels (exact-duplicate detection across splits)."""
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=8).hexdigest()


def new_meta(n: int) -> pd.DataFrame:
    """An empty metadata table of ``n`` rows with every column at its 'unknown' value."""
    return pd.DataFrame(
        {
            "index": np.arange(n, dtype=np.int64),
            "source": [""] * n,
            "label": np.full(n, -1, dtype=np.int64),
            "subject": [""] * n,
            "split": ["train"] * n,
            "fold": np.full(n, -1, dtype=np.int64),
            "valence": np.full(n, np.nan, dtype=np.float32),
            "arousal": np.full(n, np.nan, dtype=np.float32),
            "group": [""] * n,
            "hash": [""] * n,
        }
    )


@dataclass
class Store:
    """A prepared store opened for reading; ``images`` is a read-only memory map."""

    root: Path
    images: np.ndarray
    meta: pd.DataFrame
    card: dict
    soft: np.ndarray | None = None

    @property
    def name(self) -> str:
        return self.card["name"]

    @property
    def classes(self) -> list[str]:
        return list(self.card["classes"])

    @property
    def num_classes(self) -> int:
        return len(self.card["classes"])

    @property
    def channels(self) -> int:
        return 1 if self.images.ndim == 3 else self.images.shape[3]

    @property
    def size(self) -> int:
        return int(self.images.shape[1])

    @property
    def num_folds(self) -> int:
        return int(self.card.get("folds", 0))

    def indices(self, split: str, fold: int | None = None) -> np.ndarray:
        """Row indices of ``split``; with ``fold`` the k-fold protocol of the module docstring."""
        if split not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
        if fold is None:
            mask = self.meta["split"].to_numpy() == split
        else:
            k = self.num_folds
            if not 0 <= fold < k:
                raise StoreError(f"{self.root}: fold {fold} requested but the store has {k} folds")
            folds = self.meta["fold"].to_numpy()
            val_fold = (fold + 1) % k
            if split == "test":
                mask = folds == fold
            elif split == "val":
                mask = folds == val_fold
            else:
                mask = (folds != fold) & (folds != val_fold) & (folds >= 0)
        labelled = self.meta["label"].to_numpy() >= 0
        return np.flatnonzero(mask & labelled)


def is_prepared(path: str | Path) -> bool:
    """True when ``path`` holds a finished store (its card was written)."""
    return (Path(path) / "card.json").is_file()


def read_card(path: str | Path) -> dict:
    """The card of the store at ``path`` (no images or metadata are read); a :class:`StoreError` when the
    card is missing or damaged."""
    root = Path(path)
    if not is_prepared(root):
        raise StoreError(f"{root} is not a finished store (no card.json): re-run `ferbench prepare ... --force`")
    try:
        card = json.loads((root / "card.json").read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreError(
            f"{root / 'card.json'}: not valid JSON ({err}); the store is damaged: rebuild it with "
            f"`ferbench prepare ... --force` or delete {root}"
        ) from None
    if not isinstance(card, dict) or card.get("format") != FORMAT_VERSION:
        found = card.get("format") if isinstance(card, dict) else None
        raise StoreError(f"{root}: store format {found} != {FORMAT_VERSION}; re-run prepare --force")
    return card


def card_hash(card: dict) -> str:
    """The store's identity: a digest of its card without where and when it was written."""
    same = {k: v for k, v in card.items() if k not in _PLACE_AND_TIME}
    if isinstance(same.get("source"), dict):
        same["source"] = {k: v for k, v in same["source"].items() if k != "root"}
    text = json.dumps(same, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def content_digest(meta: pd.DataFrame, image_shape: tuple[int, ...], soft: np.ndarray | None) -> str:
    """A digest of what a store holds: each image's content hash with its label, split, fold and subject
    (in row order), the image shape and the soft targets."""
    h = hashlib.blake2b(digest_size=8)
    h.update(repr(tuple(int(v) for v in image_shape)).encode())
    h.update(meta[["hash", "label", "split", "fold", "subject"]].to_csv(index=False).encode())
    if soft is not None:
        h.update(np.ascontiguousarray(soft, dtype=np.float32).tobytes())
    return h.hexdigest()


def open_store(path: str | Path) -> Store:
    """Open a prepared store; a clear :class:`StoreError` when it is missing or unfinished."""
    root = Path(path)
    if not root.exists():
        raise StoreError(
            f"no prepared store at {root}: run `ferbench prepare <dataset> --out {root}` "
            "(or pass --data-dir to where stores live)"
        )
    card = read_card(root)
    try:
        images = np.load(root / "images.npy", mmap_mode="r")
        meta = pd.read_csv(root / "meta.csv", dtype=_META_DTYPES, keep_default_na=False,
                           na_values={"valence": [""], "arousal": [""]})
    except (OSError, ValueError, AttributeError, pd.errors.ParserError) as err:
        # a store damaged after it was written (truncated copy, hand-edited card): say which and how to mend
        raise StoreError(
            f"{root} is damaged ({type(err).__name__}: {err}); re-run `ferbench prepare ... --force`"
        ) from None
    if len(meta) != len(images):
        raise StoreError(f"{root}: meta.csv has {len(meta)} rows but images.npy {len(images)}; re-run prepare --force")
    soft = np.load(root / "soft.npy", mmap_mode="r") if (root / "soft.npy").is_file() else None
    return Store(root=root, images=images, meta=meta, card=card, soft=soft)


def split_counts(meta: pd.DataFrame, classes: list[str]) -> dict[str, dict[str, int]]:
    """Images per class per split (labelled images only)."""
    out: dict[str, dict[str, int]] = {}
    for split in SPLITS:
        labels = meta.loc[(meta["split"] == split) & (meta["label"] >= 0), "label"].to_numpy()
        if len(labels):
            counts = np.bincount(labels, minlength=len(classes))
            out[split] = {c: int(n) for c, n in zip(classes, counts, strict=True)}
    return out


def leakage_check(meta: pd.DataFrame) -> dict:
    """Which subjects and which exact images (by content hash) appear in more than one split/fold.

    Subjects left empty (unknown) are not checked; the result says how many rows that was.
    """
    report: dict = {}
    known = meta[meta["subject"] != ""]
    per_subject = known.groupby("subject")["split"].nunique()
    shared = sorted(per_subject[per_subject > 1].index.tolist())
    report["split_subjects_checked"] = int(known["subject"].nunique())
    report["split_subject_disjoint"] = not shared if len(known) else None
    report["split_shared_subjects"] = shared[:50]
    if (meta["fold"] >= 0).any() and len(known):
        per_fold = known[known["fold"] >= 0].groupby("subject")["fold"].nunique()
        report["fold_subject_disjoint"] = bool((per_fold <= 1).all())
    hashed = meta[meta["hash"] != ""]
    dup = hashed.groupby("hash")["split"].nunique()
    cross = dup[dup > 1].index
    rows = hashed[hashed["hash"].isin(cross)]
    report["cross_split_duplicate_groups"] = int(len(cross))
    report["cross_split_duplicate_rows"] = {s: int((rows["split"] == s).sum()) for s in SPLITS}
    report["unknown_subject_rows"] = int((meta["subject"] == "").sum())
    return report


STORE_FILES = frozenset({"card.json", "images.npy", "meta.csv", "soft.npy"})


def check_destination(out: str | Path) -> None:
    """Refuse to write a store over a file or over a folder holding anything but a store.

    Writing replaces the folder whole, so anything else in it would be deleted. Called by
    :func:`write_store` and, before any slow reading, by ``prepare``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise StoreError(f"--out {out} is a file: pass a new folder for the store (it is created)")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in STORE_FILES)
        if foreign:
            listed = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise StoreError(
                f"--out {out} is a folder that is not a ferbench store (it holds {listed}); writing the store "
                "would replace it: pass a new or empty folder"
            )


def _copy_rows(images: np.ndarray, rows: np.ndarray, path: Path, chunk: int = 4096) -> None:
    """``images[rows]`` into the .npy file ``path``, a chunk at a time (bounded memory)."""
    dst = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(len(rows), *images.shape[1:]))
    for s in range(0, len(rows), chunk):
        dst[s : s + chunk] = images[rows[s : s + chunk]]
    dst.flush()
    del dst  # closes the file before the folder is renamed into place


def write_store(
    out: str | Path,
    images: np.ndarray,
    meta: pd.DataFrame,
    card: dict,
    soft: np.ndarray | None = None,
    force: bool = False,
    rows: np.ndarray | None = None,
) -> Store:
    """Write a store atomically and return it opened.

    ``card`` needs at least ``name`` and ``classes``; counts, the leakage check, the format
    version and the tool version are filled in here so every store's card has them.
    ``rows`` selects the images to store (``images[rows]``, one ``meta`` row each) without building
    that copy in memory: images are copied in chunks, so ``images`` may be a disk-backed memmap larger
    than RAM. Raises :class:`StoreError` if ``out`` is already prepared and ``force`` is false.
    """
    out = Path(out)
    check_destination(out)
    if is_prepared(out) and not force:
        raise StoreError(f"{out} is already prepared; pass --force to rebuild it")
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise ValueError(f"images must be uint8 (N,H,W) or (N,H,W,C), got {images.dtype} {images.shape}")
    rows = np.arange(len(images)) if rows is None else np.asarray(rows, dtype=np.int64)
    if len(meta) != len(rows):
        raise ValueError(f"meta has {len(meta)} rows for {len(rows)} images")
    classes = list(card["classes"])
    unknown = [c for c in classes if c not in EMOTIONS]
    if unknown:
        raise ValueError(f"card classes {unknown} are not canonical")
    meta = meta.reset_index(drop=True).copy()
    meta["index"] = np.arange(len(meta), dtype=np.int64)
    if (meta["hash"] == "").all():
        meta["hash"] = [content_hash(images[i]) for i in rows]
    missing = [c for c in META_COLUMNS if c not in meta.columns]
    if missing:
        raise ValueError(f"meta is missing columns {missing}")

    full_card = {
        "format": FORMAT_VERSION,
        "name": card["name"],
        "classes": classes,
        "channels": 1 if images.ndim == 3 else int(images.shape[3]),
        "size": [int(images.shape[1]), int(images.shape[2])],
        "num_images": int(len(rows)),
        "folds": int(card.get("folds", 0)),
        "counts": split_counts(meta, classes),
        "checks": leakage_check(meta),
        "content_hash": content_digest(meta, (len(rows), *images.shape[1:]), soft),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "ferbench_version": __version__,
    }
    full_card.update({k: v for k, v in card.items() if k not in full_card})

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        _copy_rows(images, rows, tmp / "images.npy")
        meta[list(META_COLUMNS)].to_csv(tmp / "meta.csv", index=False)
        if soft is not None:
            np.save(tmp / "soft.npy", np.asarray(soft, dtype=np.float32))
        (tmp / "card.json").write_text(dumps(full_card))
        if out.exists():
            trash = out.with_name(f".{out.name}.old-{os.getpid()}")
            os.replace(out, trash)
            os.replace(tmp, out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return open_store(out)
