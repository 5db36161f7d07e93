"""Where a probe writes, how, and whether what it wrote is still current.

A probe's files go to ``<run>/probes/`` (``--out DIR``: ``DIR/<cell id>/``), each written
atomically (:func:`ferbench.atomic.replace_atomically`: a reader sees the old file or the new one).
After them comes ``<probe>.done.json``: the options the probe ran with, a digest of the run's
``metrics.json`` (retraining the cell changes it) and the files written. :func:`current` holds a
probe's options against it, so a re-run can reuse outputs that are up to date and a partial run
can merge into a table of the same run (``corrupt --corruptions a,b``).
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


def current(d: Path, probe: str, options: dict, run_path: Path) -> bool:
    """True when ``d`` holds every file of ``probe`` written with ``options`` for this training of the run."""
    stamp = read_stamp(d, probe)
    return (stamp is not None and stamp.get("run") == run_token(run_path)
            and stamp.get("options") == json.loads(json.dumps(options))
            and all((d / f).is_file() for f in stamp.get("files", [])))


def write_outputs(d: Path, probe: str, options: dict, run_path: Path,
                  files: dict[str, Callable[[Path], object]]) -> None:
    """Write each of ``files`` (name → ``write(tmp_path)``) atomically into ``d``, then the probe's stamp."""
    for name, write in files.items():
        replace_atomically(d / name, write)
    write_json(_stamp_path(d, probe), {"probe": probe, "options": options, "run": run_token(run_path),
                                       "files": list(files), "ferbench": __version__})
