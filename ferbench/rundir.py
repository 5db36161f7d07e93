"""The run directory of one trained cell: the one module that writes it, reads it, finds it and says
what it is. Training, probes and the report all go through it.

Layout::

    config.json        what the cell is (its identity, below) plus where and how it ran (env, command)
    history.jsonl      one line per epoch, rewritten whole after every epoch
    model.safetensors  best-on-validation weights, the model spec in the file's metadata
    logits.npz         test logits, labels, store row ids (and valence/arousal predictions)
    metrics.json       written last and atomically: the one marker that the cell finished
    last.pt            while the cell trains: its resumable state, removed when metrics.json lands
    probes/            what the probes wrote (:mod:`ferbench.probes`)

Public names
------------
Writing one cell, in this order: :func:`start_run` (checks the directory against the cell's config,
writes ``config.json``), :func:`write_history` (each epoch; :func:`state_path` is where the engine
keeps ``last.pt``), :func:`write_model`, :func:`write_logits`, :func:`finish_run` (``metrics.json``).
:func:`environment` is the ``env`` block every config records; :func:`store_record` its ``store_card``.

Reading: :func:`load_run` gives a :class:`Run` (``config``, ``metrics``, ``history``, ``logits()``,
``test_indices()``, ``model()``, ``store(data_dir)``, ``card(data_dir)``, ``key``); :func:`read_config`,
:func:`read_metrics` and :func:`read_history` read one file.

Finding: :func:`scan` lists every run directory under a root, finished and unfinished, and never
raises; :func:`find_runs` expands the run directories or roots a user named and fails on a path
that holds no finished run; :func:`is_finished`.

Identity: a run *is* its config without where and how it ran (``env``, ``command``, paths):
:func:`identity`. :func:`status` holds a directory against the config a cell is about to write and
answers ``new``, ``resume`` (interrupted, same identity), ``done`` (finished, same identity) or
``changed`` with the differing keys (:func:`differing_keys`): finished and interrupted cells take
the same check, and :func:`start_run` refuses a changed one unless forced.

Locking: :func:`lock_runs` holds a runs root for one driver (``.ferbench-lock.json``: pid, host,
start time, command); a second driver is refused naming the holder, and the lock of a process that
is gone from this host is taken over.

Grouping runs: :func:`recipe_fingerprint` is how a cell was trained — everything but its
coordinates (dataset, arch, attention, activation, heads, seed, fold, split sizes) and its store —
so the runs of one grid share it across seeds, folds and attention variants. :func:`store_fingerprint`
is the card hash of the store it read (:func:`ferbench.data.store.card_hash`). :func:`run_key`
gives both with the coordinates (:class:`RunKey`). They work on every ``config.json`` ferbench has
written: a key an older version did not record is left out of a comparison rather than counted as a
difference, and a store it did not fingerprint is :data:`UNKNOWN`.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ferbench import __version__
from ferbench.atomic import json_default, replace_atomically, write_json, write_text
from ferbench.errors import FerbenchError

CONFIG, HISTORY, MODEL, LOGITS, METRICS, STATE = (
    "config.json",
    "history.jsonl",
    "model.safetensors",
    "logits.npz",
    "metrics.json",
    "last.pt",
)
PROBES = "probes"
LOCK = ".ferbench-lock.json"
UNKNOWN = "unknown"  # the store fingerprint of a run written before stores were fingerprinted

# Where and how a run ran, not what it is.
_NOT_IDENTITY = ("cell", "store", "data_dir", "env", "command", "pretrained", "pretrained_sha256")
# A cell's coordinates and its store: grouping keys of their own, outside the recipe.
_NOT_RECIPE = ("dataset", "arch", "attention", "activation", "seed", "fold", "n", "store_card")
_MODEL_AXES = ("arch", "attention", "activation", "heads")
# Training options a later ferbench removed, with the only value they ever had, and options a later
# ferbench added, with the value that is the behaviour of runs recorded before them (so both compare equal).
_RETIRED_TRAIN = {"normalize": "[-1,1]", "tta_flip": False, "tta_shift": 0}


class RunError(FerbenchError):
    """A run directory that is missing, unfinished, damaged or not the requested cell; the message names
    the path and the fix."""


def cell_id(
    dataset: str, arch: str, attention: str, activation: str, seed: int, fold: int | None = None
) -> str:
    """``<dataset>/<arch>-<attention>-<activation>/s<seed>`` plus ``/f<fold>`` for k-fold protocols."""
    cid = f"{dataset}/{arch}-{attention}-{activation}/s{seed}"
    return cid if fold is None else f"{cid}/f{fold}"


# ---- identity ----------------------------------------------------------------------------------------


class RunKey(NamedTuple):
    """What a report groups runs by: runs with one key are seeds/folds of one comparable cell."""

    dataset: str
    store: str  # store fingerprint (card hash) or UNKNOWN
    recipe: str  # recipe fingerprint
    arch: str
    attention: str
    activation: str
    heads: str


def identity(config: dict) -> dict:
    """The part of a config that says what the run is: without ``env``, ``command`` and paths.

    A pretrained start is identified by its file's SHA-256 (older configs: the file's name).
    """
    d = {k: v for k, v in config.items() if k not in _NOT_IDENTITY}
    p = config.get("pretrained")
    d["pretrained"] = config.get("pretrained_sha256") or (Path(p).name if p else None)
    if isinstance(d.get("train"), dict):
        d["train"] = {k: v for k, v in d["train"].items() if _RETIRED_TRAIN.get(k, object()) != v}
    return json.loads(json.dumps(d, default=str))


def recipe(config: dict) -> dict:
    """How the cell was trained: its identity without the cell's coordinates and its store."""
    d = {k: v for k, v in identity(config).items() if k not in _NOT_RECIPE}
    if isinstance(d.get("model"), dict):
        d["model"] = {k: v for k, v in d["model"].items() if k not in _MODEL_AXES}
    return d


def flat_recipe(config: dict) -> dict:
    """:func:`recipe` with nested keys dotted (``train.augment.rotate``): what an ablation lists as changed."""
    return _flat(recipe(config))


def implied(flat_key: str, default=None):
    """The value of a dotted recipe key (``train.tta_shift``) for a run that recorded none: the behaviour of
    runs written before ferbench added the option, where that is known; else ``default``."""
    if flat_key.startswith("train."):
        return _RETIRED_TRAIN.get(flat_key.removeprefix("train."), default)
    return default


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def recipe_fingerprint(config: dict) -> str:
    """16 hex digits of :func:`recipe`: equal for the seeds, folds and attention variants of one grid."""
    return _digest(recipe(config))


def store_fingerprint(config: dict) -> str:
    """The card hash of the store the run read, or :data:`UNKNOWN` where the config predates it."""
    return (config.get("store_card") or {}).get("hash") or UNKNOWN


def run_key(config: dict) -> RunKey:
    """Dataset, store fingerprint, recipe fingerprint, arch, attention, activation and heads of a run."""
    model = config.get("model") or {}
    return RunKey(
        dataset=str(config.get("dataset")),
        store=store_fingerprint(config),
        recipe=recipe_fingerprint(config),
        arch=str(config.get("arch")),
        attention=str(config.get("attention") or "none"),
        activation=str(config.get("activation")),
        heads=str(model.get("heads") or "cls"),
    )


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def flat_identity(config: dict) -> dict:
    """:func:`identity` with nested keys dotted (``train.epochs``): what two runs are compared on."""
    return _flat(identity(config))


def differing_keys(old: dict, new: dict) -> list[str]:
    """Dotted keys (``train.epochs``, ``store_card.hash``) whose values differ between two configs'
    identities; a key only one of them records is not compared."""
    a, b = _flat(identity(old)), _flat(identity(new))
    return sorted(k for k in a.keys() & b.keys() if a[k] != b[k])


@dataclass(frozen=True)
class RunStatus:
    """Where a run directory stands against the config a cell would write (see :func:`status`)."""

    state: str  # new | resume | done | changed
    differs: tuple[str, ...] = ()
    finished: bool = False

    def message(self, run_dir: Path) -> str:
        """The one-line refusal of a changed cell, naming the keys and both ways out."""
        what = "a finished" if self.finished else "an interrupted"
        keys = ", ".join(self.differs[:8]) + (f" and {len(self.differs) - 8} more" if len(self.differs) > 8 else "")
        return (f"{run_dir} holds {what} run with a different configuration ({keys}); pass --force to retrain "
                "it into the same cell, or choose another --name/--out")


def status(run_dir: str | Path, config: dict) -> RunStatus:
    """``new`` (nothing usable yet), ``resume`` (interrupted with the same identity), ``done`` (finished with
    the same identity) or ``changed`` (either, with another identity: ``differs`` names the keys)."""
    run_dir = Path(run_dir)
    finished = is_finished(run_dir)
    if not finished and not (run_dir / STATE).is_file():
        return RunStatus("new")  # nothing trained yet (at most a config.json from a cell killed in its first epoch)
    if not (run_dir / CONFIG).is_file():
        return RunStatus("changed", (f"{CONFIG} (missing)",), finished)
    differs = tuple(differing_keys(read_config(run_dir), config))
    if differs:
        return RunStatus("changed", differs, finished)
    return RunStatus("done", finished=True) if finished else RunStatus("resume")


# ---- writing -------------------------------------------------------------------------------------------


def state_path(run_dir: str | Path) -> Path:
    """Where the engine keeps the resumable state of a cell while it trains."""
    return Path(run_dir) / STATE


def clear(run_dir: str | Path) -> None:
    """Remove every file a run writes (and its probes), keeping anything else in the folder."""
    run_dir = Path(run_dir)
    for name in (METRICS, CONFIG, HISTORY, MODEL, LOGITS, STATE):
        (run_dir / name).unlink(missing_ok=True)
    shutil.rmtree(run_dir / PROBES, ignore_errors=True)
    _drop_temporaries(run_dir)


def _drop_temporaries(run_dir: Path) -> None:
    """Temporaries of a process killed mid-write (:func:`ferbench.atomic.replace_atomically`)."""
    for leftover in run_dir.glob(".*.tmp-*"):
        leftover.unlink(missing_ok=True)


def start_run(run_dir: str | Path, config: dict, *, force: bool = False) -> RunStatus:
    """Claim ``run_dir`` for ``config`` before training: a finished cell with the same identity is left
    as it is (``done``), an interrupted one resumes, a changed one is a :class:`RunError` — unless
    ``force``, which retrains every cell from scratch into the same directory."""
    run_dir = Path(run_dir)
    st = status(run_dir, config)
    if st.state == "changed" and not force:
        raise RunError(st.message(run_dir))
    if st.state == "done" and not force:
        return st
    if force or st.state != "resume":
        clear(run_dir)  # a stale last.pt must never be resumed into another identity
        st = RunStatus("new")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / CONFIG, config)
    return st


def write_history(run_dir: str | Path, history: list[dict]) -> None:
    """Rewrite the whole history each epoch (tiny) so it always matches the resumable state."""
    text = "".join(json.dumps(r, default=json_default) + "\n" for r in history)
    write_text(Path(run_dir) / HISTORY, text)


def write_model(run_dir: str | Path, model) -> Path:
    """The best weights, as a checkpoint that carries the model spec."""
    from ferbench.models import save_model

    return save_model(model, Path(run_dir) / MODEL)


def write_logits(run_dir: str | Path, **arrays: np.ndarray) -> None:
    replace_atomically(Path(run_dir) / LOGITS, lambda tmp: np.savez(tmp, **arrays))


def finish_run(run_dir: str | Path, metrics: dict) -> None:
    """Write ``metrics.json`` (last: it marks the cell finished), then drop the resumable state."""
    run_dir = Path(run_dir)
    write_json(run_dir / METRICS, metrics)
    (run_dir / STATE).unlink(missing_ok=True)
    _drop_temporaries(run_dir)


@functools.lru_cache(maxsize=1)
def _git_state() -> tuple[str | None, bool | None]:
    """The commit of the ferbench source tree and whether its files differ from it (None outside git)."""
    here = Path(__file__).parent

    def git(*args: str) -> str | None:
        try:
            res = subprocess.run(["git", *args], capture_output=True, text=True, timeout=5, cwd=here)
        except (OSError, subprocess.SubprocessError):
            return None
        return res.stdout if res.returncode == 0 else None

    commit = (git("rev-parse", "HEAD") or "").strip() or None
    if commit is None:
        return None, None
    changes = git("status", "--porcelain", "--", ".")  # the package's own files only, not results/
    return commit, None if changes is None else bool(changes.strip())


def environment(device: str) -> dict:
    """What produced a run: versions, platform, device, thread count and the source tree's git state."""
    import cv2
    import safetensors
    import sklearn
    import timm
    import torch

    dev_name = device
    if device.startswith("cuda") and torch.cuda.is_available():
        dev_name = f"{device} ({torch.cuda.get_device_name()})"
    commit, dirty = _git_state()
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "timm": timm.__version__,
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "opencv": cv2.__version__,
        "safetensors": safetensors.__version__,
        "ferbench": __version__,
        "platform": platform.platform(),
        "host": platform.node(),  # which node trained it, on a Ray cluster
        "device": dev_name,
        # CPU results are bit-for-bit repeatable only at the same thread count (reduction order)
        "torch_threads": torch.get_num_threads(),
        "git_commit": commit,
        "git_dirty": dirty,
    }


def store_record(store) -> dict:
    """What a config records of its store (``store_card``): the card hash, the image count, images per split."""
    from ferbench.data.store import card_hash

    counts = {s: int(sum(c.values())) for s, c in store.card.get("counts", {}).items()}
    return {"hash": card_hash(store.card), "num_images": int(len(store.images)), "counts": counts}


# ---- the lock on a runs root ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LockHolder:
    """Who holds a runs root: the driver's pid and host, when it started (UTC) and its command."""

    pid: int
    host: str
    started: str
    command: str = ""

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}, started {self.started}"


def _read_lock(path: Path) -> LockHolder | None:
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        return LockHolder(int(d["pid"]), str(d["host"]), str(d["started"]), str(d.get("command", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _started_at(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), from /proc; None where there is no /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime"))
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _is_stale(holder: LockHolder) -> bool:
    """True when the holder is a process of this host that is gone (or whose pid now names a younger one)."""
    if holder.host != platform.node():
        return False  # another machine's process: nothing here can tell whether it still runs
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, another user's
    born = _started_at(holder.pid)
    try:
        locked = datetime.datetime.fromisoformat(holder.started).timestamp()
    except ValueError:
        return False
    return born is not None and born > locked + 2  # the pid was reused after the holder died


@contextlib.contextmanager
def lock_runs(root: str | Path, command: str = "") -> Iterator[LockHolder | None]:
    """Hold ``root`` for this process while the block runs; yields the stale holder taken over, if any.

    The lock file is written whole and then hard-linked into place, which fails when one exists
    (atomic, also on NFS), so it is never half-written. A held lock is a :class:`RunError` naming
    its holder; the lock of a process gone from this host is taken over.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    me = LockHolder(os.getpid(), platform.node(), now, command)
    tmp = root / f".{LOCK}.tmp-{os.getpid()}"
    write_json(tmp, vars(me))
    taken_over = None
    try:
        while True:
            try:
                os.link(tmp, path)
                break
            except FileExistsError:
                holder = _read_lock(path)
            if holder is None:
                raise RunError(f"{path} is unreadable, so which run holds {root} is unknown; if no ferbench "
                               "grid is running on it, delete that file and re-run")
            if not _is_stale(holder):
                raise RunError(f"{root} is in use by another ferbench run ({holder.describe()}): wait for it to "
                               f"finish or pass another --out; if that process is gone, delete {path}")
            grave = path.with_name(f"{LOCK}.stale-{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):  # another driver took it over first: try again
                os.replace(path, grave)
                if _read_lock(grave) != holder:  # it had taken it over before us: give it back
                    with contextlib.suppress(FileExistsError):
                        os.link(grave, path)
                grave.unlink()
            taken_over = holder
    finally:
        tmp.unlink(missing_ok=True)
    try:
        yield taken_over
    finally:
        if _read_lock(path) == me:
            path.unlink(missing_ok=True)


# ---- reading -------------------------------------------------------------------------------------------


def is_finished(path: str | Path) -> bool:
    """True when the run at ``path`` wrote its metrics (the last file of a run)."""
    return (Path(path) / METRICS).is_file()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunError(f"{path} is damaged ({type(err).__name__}: {err}); delete its run directory and re-run "
                       "its training") from None


def read_config(path: str | Path) -> dict:
    return _read_json(Path(path) / CONFIG)


def read_metrics(path: str | Path) -> dict:
    return _read_json(Path(path) / METRICS)


def read_history(path: str | Path) -> list[dict]:
    """The epochs recorded so far (``[]`` before the first one ends)."""
    file = Path(path) / HISTORY
    if not file.is_file():
        return []
    return [json.loads(line) for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]


@dataclass
class Run:
    """A finished run directory, loaded."""

    path: Path
    config: dict
    metrics: dict

    def model(self, device: str = "cpu"):
        """The best-on-validation model, loaded with its spec checked against the run's config."""
        from ferbench.models import ModelSpec, load_model

        return load_model(self.path / MODEL, expect=ModelSpec.from_dict(self.config["model"]), device=device)

    @property
    def data_dir(self) -> Path:
        """The folder the run read its store from (older configs: the parent of the store they recorded)."""
        return Path(self.config["data_dir"]) if self.config.get("data_dir") else Path(self.config["store"]).parent

    def store(self, data_dir: str | Path | None = None):
        """The store the run trained on: ``<data_dir>/<dataset>``, by default from the data dir it recorded.

        A store whose card hash differs from the one the run recorded is refused: its row ids would
        point at other images.
        """
        from ferbench.data.store import open_store

        root = self._store_root(data_dir)
        self.card(data_dir)  # refuses another store before its images are mapped
        return open_store(root)

    def _store_root(self, data_dir: str | Path | None) -> Path:
        return (Path(data_dir) if data_dir is not None else self.data_dir) / self.config["dataset"]

    def card(self, data_dir: str | Path | None = None) -> dict:
        """The card of the store the run trained on (how its images were cropped), checked as :meth:`store`
        checks it, without opening the images."""
        from ferbench.data.store import card_hash, is_prepared, read_card

        dataset = self.config["dataset"]
        root = self._store_root(data_dir)
        if not is_prepared(root):
            given = "" if data_dir is not None else " (the data dir it recorded)"
            raise RunError(f"{self.path} was trained on the store {dataset!r}, which is not prepared in "
                           f"{root.parent}{given}; pass --data-dir DIR where {dataset} is prepared")
        card = read_card(root)
        recorded = store_fingerprint(self.config)
        if recorded != UNKNOWN and card_hash(card) != recorded:
            raise RunError(f"{root} is not the store {self.path} was trained on (card hash {card_hash(card)}, "
                           f"the run recorded {recorded}); pass --data-dir to the one it used, or retrain the cell")
        return card

    def logits(self) -> dict:
        with np.load(self.path / LOGITS) as z:
            return {k: z[k] for k in z.files}

    def test_indices(self) -> np.ndarray:
        """Store row ids of the test images, in the order of ``logits.npz``."""
        with np.load(self.path / LOGITS) as z:
            return z["index"]

    @property
    def history(self) -> list[dict]:
        return read_history(self.path)

    @property
    def key(self) -> RunKey:
        return run_key(self.config)


def load_run(path: str | Path) -> Run:
    """Load a finished run; a clear :class:`RunError` for a missing, unfinished or damaged one."""
    path = Path(path)
    if not (path / CONFIG).is_file():
        raise RunError(
            f"{path} is not a run directory (no {CONFIG}); train it with `ferbench train` or `ferbench grid`"
        )
    if not is_finished(path):
        raise RunError(
            f"{path} has not finished training (no {METRICS}); re-run the same `ferbench grid` to resume it"
        )
    return Run(path=path, config=read_config(path), metrics=read_metrics(path))


# ---- finding -------------------------------------------------------------------------------------------


class FoundRuns(list):
    """Finished run directories (the list itself), plus ``unfinished``: run directories without metrics."""

    unfinished: list[Path]


def scan(root: str | Path) -> FoundRuns:
    """Every run directory at or under ``root`` (a folder with ``config.json`` or ``metrics.json``, outside
    any ``probes/``), sorted: the finished ones, and the unfinished in ``.unfinished``. Never raises."""
    finished, unfinished = [], []
    for here, dirs, files in os.walk(root):
        if CONFIG in files or METRICS in files:
            (finished if METRICS in files else unfinished).append(Path(here))
            dirs[:] = []  # a run directory holds its probes, never another run
        else:
            dirs[:] = [d for d in dirs if d != PROBES]
    found = FoundRuns(sorted(finished))
    found.unfinished = sorted(unfinished)
    return found


def find_runs(paths: list[str | Path] | tuple[str | Path, ...]) -> FoundRuns:
    """Finished run directories named by ``paths``: each a run directory or a root searched recursively.

    Unfinished cells under a root are listed in ``.unfinished`` (a grid may still be running); a path
    that does not exist or holds no finished run is a :class:`RunError` naming it.
    """
    if not paths:
        raise RunError("no run given: pass run directories or a runs root, e.g. results/demo/runs")
    found, unfinished = [], []
    for p in map(Path, paths):
        if not p.exists():
            raise RunError(f"{p} does not exist: pass a run directory or a runs root (e.g. results/demo/runs)")
        below = scan(p)
        if not below:
            raise RunError(
                f"{p} holds no finished run (no metrics.json under it): train one with `ferbench train` first"
            )
        found += below
        unfinished += below.unfinished
    # the same cell named twice (a dir and its root) is listed once
    runs = FoundRuns(dict.fromkeys(found))
    runs.unfinished = list(dict.fromkeys(unfinished))
    return runs
