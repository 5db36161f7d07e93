"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

Every result ferbench writes (store cards, run metrics, checkpoints, resumable state) goes through
:func:`replace_atomically`, which is what makes an interrupted grid safe to resume and to report on.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np


def replace_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then rename it over ``path``."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def json_default(obj):
    """JSON for the numpy scalars/arrays and paths that metrics and cards carry."""
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def dumps(obj) -> str:
    """Indented JSON with numpy values converted, ending in a newline."""
    return json.dumps(obj, indent=2, default=json_default) + "\n"


def write_text(path: str | Path, text: str) -> Path:
    return replace_atomically(path, lambda tmp: tmp.write_text(text))


def write_json(path: str | Path, obj) -> Path:
    return write_text(path, dumps(obj))
