"""Atomic file writes: a reader sees the old file or the new one, never a half-written one.

Every result ferbench writes (store cards, run metrics, checkpoints, resumable state) goes through
:func:`replace_atomically`, which is what makes an interrupted grid safe to resume and to report on.
A write that fails (a full disk, a quota, a read-only mount) leaves the previous file as it was and
is one :class:`WriteError` line naming the file.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ferbench.errors import FerbenchError


class WriteError(FerbenchError):
    """A file could not be written (disk full, quota, permissions); the previous version is intact."""


def replace_atomically(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call ``write(tmp)`` on a temporary sibling of ``path``, then rename it over ``path``.

    An ``OSError`` on the way (also one a library wraps in a ``RuntimeError``, as ``torch.save`` into a
    file object does) becomes a :class:`WriteError`; ``path`` keeps its previous content and the temporary is gone.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        raise _write_error(path, err) from None
    except RuntimeError as err:  # torch.save into a file object wraps the file's OSError in a RuntimeError
        if not isinstance(err.__context__, OSError):
            raise
        raise _write_error(path, err.__context__) from None
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _write_error(path: Path, err: BaseException) -> WriteError:
    code = getattr(err, "errno", None)
    why = getattr(err, "strerror", None) or " ".join(str(err).split())[:200]
    hint = ("free some space" if code in (errno.ENOSPC, errno.EDQUOT) else
            "check the folder's permissions" if code in (errno.EACCES, errno.EPERM, errno.EROFS) else
            "check the disk")
    kept = "its previous version is intact" if path.exists() else "nothing was written"
    return WriteError(f"could not write {path} ({why}); {kept}; {hint} and re-run the same command")


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
