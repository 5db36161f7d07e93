"""Where a probe writes, how, and whether what it wrote is still current.

A probe's files go to ``<run>/probes/`` (``--out DIR``: ``DIR/<cell id>/``), each written
atomically (:func:`ferbench.atomic.replace_atomically`: a reader sees the old file or the new one).
After them comes ``<probe>.done.json``: the options the probe ran with, a digest of the run's
``metrics.json`` (retraining the cell changes it) and the files written with a digest of each.
:func:`current` holds a probe's options against it, so a re-run can reuse outputs that are up to
date and a partial run can merge into a table of the same run (``corrupt --corruptions a,b``).
A file that no longer matches its digest (cut short by a full disk or a copy, edited) is
:func:`damaged`: never reused or merged, the probe measures it again and the report skips it,
naming it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from ferbench import __version__, rundir
from ferbench.atomic import replace_atomically, write_json
from ferbench.probes.runs import ProbeError


def probe_dir(run_path: Path, cell: str, out: str | Path | None) -> Path:
    """Where a run's probe files go: ``<run>/probes`` or, with ``--out``, ``<out>/<cell id>`` (created)."""
    d = Path(run_path) / rundir.PROBES if out is None else Path(out) / cell
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # --out is a file (or under one), or not writable
        raise ProbeError(f"cannot write probe results to {d} ({err.strerror}); pass --out a writable folder"
                         ) from None
    return d


def run_token(run_path: Path) -> str:
    """A digest of the run's metrics.json: it changes whenever the cell is trained again."""
    return hashlib.sha256((Path(run_path) / rundir.METRICS).read_bytes()).hexdigest()[:16]


def file_token(path: str | Path) -> str:
    """A digest of an input file a probe read (a groups CSV), for its options."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _stamp_path(d: Path, probe: str) -> Path:
    return d / f"{probe}.done.json"


def read_stamp(d: Path, probe: str) -> dict | None:
    """What the last complete run of ``probe`` into ``d`` recorded, or None."""
    try:
        return json.loads(_stamp_path(d, probe).read_text())
    except (OSError, ValueError):
        return None


def damaged(d: Path, name: str) -> str | None:
    """Why the probe file ``d/name`` cannot be trusted (it differs from the digest its stamp recorded), or
    None when it matches or no stamp recorded a digest for it."""
    for stamp_file in sorted(d.glob("*.done.json")):
        files = read_stamp(d, stamp_file.name.removesuffix(".done.json"))
        files = files.get("files") if isinstance(files, dict) else None
        if isinstance(files, dict) and name in files:
            try:
                ok = file_token(d / name) == files[name]
            except OSError as err:
                return f"{d / name} is unreadable ({err.strerror or err})"
            return None if ok else f"{d / name} is damaged (it does not match the digest in {stamp_file.name})"
    return None


def current(d: Path, probe: str, options: dict, run_path: Path) -> bool:
    """True when ``d`` holds every file of ``probe`` written with ``options`` for this training of the run,
    each as it was written (older stamps, without digests: each present)."""
    stamp = read_stamp(d, probe)
    if (stamp is None or stamp.get("run") != run_token(run_path)
            or stamp.get("options") != json.loads(json.dumps(options))):
        return False
    files = stamp.get("files", [])
    if not all((d / f).is_file() for f in files):
        return False
    return not isinstance(files, dict) or all(damaged(d, f) is None for f in files)


def write_outputs(d: Path, probe: str, options: dict, run_path: Path,
                  files: dict[str, Callable[[Path], object]]) -> None:
    """Write each of ``files`` (name → ``write(tmp_path)``) atomically into ``d``, then the probe's stamp."""
    for name, write in files.items():
        replace_atomically(d / name, write)
    write_json(_stamp_path(d, probe), {"probe": probe, "options": options, "run": run_token(run_path),
                                       "files": {name: file_token(d / name) for name in files},
                                       "ferbench": __version__})
