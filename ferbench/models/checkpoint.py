"""Checkpoints: safetensors weights with the model's :class:`ModelSpec` JSON in the file metadata.

``save_model`` and :func:`ferbench.models.registry.load_model` (which rebuilds the model from the stored
spec) are the exact round trip used by run directories. ``load_pretrained``
initialises an already-built model from a local file (ferbench checkpoint or timm weights), adapting the
input convolution to ``in_chans`` and dropping tensors whose shapes differ (e.g. a head for another
number of classes), with a logged count.

``save_state``/``load_state`` are the format of a training run's resumable state (``last.pt``): a
``torch.save`` file of tensors, numbers, strings and plain containers, read back with
``weights_only=True`` (a run folder from somebody else cannot run code here), carrying a SHA-256
over everything in it, because a zip archive with a flipped byte in a tensor still loads.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, safe_open, save_file
from torch import nn

from ferbench.atomic import replace_atomically
from ferbench.models.errors import CheckpointError
from ferbench.models.spec import ModelSpec

log = logging.getLogger("ferbench.models")

SPEC_KEY = "ferbench_spec"
FORMAT_KEY = "format"
FORMAT = "ferbench-model-1"
STATE_FORMAT = "ferbench-state-1"


def save_model(model: nn.Module, path: str | Path) -> Path:
    """Write ``model``'s weights + spec to ``path`` (safetensors, atomic replace)."""
    spec = getattr(model, "spec", None)
    if not isinstance(spec, ModelSpec):
        raise CheckpointError(
            f"cannot save to {path}: the model has no ModelSpec (build it with create_model)"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    metadata = {SPEC_KEY: json.dumps(spec.to_dict()), FORMAT_KEY: FORMAT}
    replace_atomically(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    return path


def read_spec(path: str | Path) -> ModelSpec:
    """The :class:`ModelSpec` stored in a ferbench checkpoint (no weights are loaded)."""
    path = _existing(path)
    meta = _metadata(path)
    if SPEC_KEY not in meta:
        raise CheckpointError(
            f"{path} has no ferbench model spec (not saved by ferbench.models.save_model); "
            "to start from foreign weights pass it as create_model(..., pretrained=PATH)"
        )
    try:
        return ModelSpec.from_dict(json.loads(meta[SPEC_KEY]))
    except (ValueError, TypeError) as err:
        raise CheckpointError(
            f"{path} has a corrupt model spec in its metadata ({err}); re-save it"
        ) from None


def load_pretrained(model: nn.Module, path: str | Path | bool) -> nn.Module:
    """Initialise ``model`` in place from a local weights file, adapting what differs.

    Keys may be the model's own (ferbench checkpoint) or a timm backbone's (matched under the
    ``backbone.`` prefix). Input-conv weights with another channel count go through timm's
    ``adapt_input_conv``; other shape mismatches (classifier heads) are dropped and counted.
    """
    if path is True or not isinstance(path, str | os.PathLike):
        raise CheckpointError(
            "pretrained=True would need a download and ferbench never reaches a model hub; download the "
            "weights file yourself (e.g. timm's .safetensors) and pass its path: pretrained=PATH"
        )
    from timm.models import adapt_input_conv

    path = _existing(path)
    spec = getattr(model, "spec", None)
    if path.suffix == ".safetensors":
        meta = _metadata(path)
        if SPEC_KEY in meta and spec is not None:
            saved = read_spec(path)
            if saved.arch != spec.arch:
                raise CheckpointError(
                    f"pretrained checkpoint {path} is a {saved.short()}, not a {spec.arch}; "
                    f"pass a checkpoint of {spec.arch} or build {saved.arch}"
                )
    src = read_tensors(path)
    own = model.state_dict()
    loaded, adapted, dropped = {}, 0, []
    for key, value in src.items():
        target = key if key in own else f"backbone.{key}" if f"backbone.{key}" in own else None
        if target is None:
            dropped.append(key)
            continue
        want = own[target].shape
        if value.shape == want:
            loaded[target] = value
        elif value.ndim == 4 and value.shape[0] == want[0] and value.shape[2:] == want[2:] and {
            value.shape[1], want[1]
        } <= {1, 3}:  # an input conv saved for gray/RGB input: sum or repeat its channels
            loaded[target] = adapt_input_conv(want[1], value, base_chans=value.shape[1]).to(own[target].dtype)
            adapted += 1
        else:
            dropped.append(key)
    if not loaded:
        raise CheckpointError(
            f"no tensor in {path} matches {spec.short() if spec else type(model).__name__}; "
            "are these weights for another architecture?"
        )
    model.load_state_dict(loaded, strict=False)
    missing = len(set(own) - set(loaded))
    log.warning(
        "pretrained %s: loaded %d tensors (%d input convs adapted), dropped %d mismatched, %d left at init",
        path, len(loaded), adapted, len(dropped), missing,
    )
    return model


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(
            f"checkpoint {path} does not exist; check the path (a run's model.safetensors?)"
        )
    return path


def _metadata(path: Path) -> dict[str, str]:
    try:
        with safe_open(str(path), framework="pt") as fh:
            return fh.metadata() or {}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(
            f"{path} is not a readable safetensors file ({err}); re-save or re-download it"
        ) from None


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a safetensors or PyTorch weights file, on the CPU (``module.`` prefixes dropped)."""
    if path.suffix == ".safetensors":
        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f"{path} is not a readable safetensors file ({err}); re-save it") from None
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a corrupt/unsafe pickle
        raise CheckpointError(
            f"{path} is not a readable PyTorch weights file ({type(err).__name__}: {err})"
        ) from None
    for key in ("state_dict", "model", "state_dict_ema"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors; pass a weights file")
    return {k.removeprefix("module."): v for k, v in obj.items()}


def _digest(obj, h) -> None:
    """Feed ``obj`` (tensors, numbers, strings, None and dicts/lists/tuples of them) into ``h``, in order."""
    if isinstance(obj, torch.Tensor):
        t = obj.detach().cpu().contiguous()
        h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(obj, dict):
        h.update(f"D{len(obj)}".encode())
        for k, v in obj.items():
            _digest(k, h)
            _digest(v, h)
    elif isinstance(obj, list | tuple):
        h.update(f"{type(obj).__name__[0]}{len(obj)}".encode())
        for v in obj:
            _digest(v, h)
    elif obj is None or isinstance(obj, bool | int | float | str):
        h.update(f"{type(obj).__name__}:{'nan' if isinstance(obj, float) and math.isnan(obj) else obj!r};".encode())
    else:
        raise CheckpointError(f"resumable state may hold only tensors, numbers, strings and plain containers, "
                              f"not {type(obj).__name__}")


def state_digest(state: dict) -> str:
    """SHA-256 over every tensor byte, number, string and key of ``state``."""
    h = hashlib.sha256()
    _digest(state, h)
    return h.hexdigest()


def save_state(state: dict, path: str | Path) -> Path:
    """Write a resumable training state atomically, with its digest (see :func:`load_state`)."""
    doc = {"format": STATE_FORMAT, "sha256": state_digest(state), "state": state}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: a full disk surfaces as OSError (ferbench.atomic)
            torch.save(doc, fh)

    return replace_atomically(path, write)


def load_state(path: str | Path) -> dict:
    """The state :func:`save_state` wrote, on the CPU; a :class:`CheckpointError` (one line naming the file)
    when it is truncated, corrupted, not a ferbench state or holds objects other than tensors, numbers,
    strings and plain containers (nothing is unpickled beyond those)."""
    path = Path(path)
    try:
        doc = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, a disallowed global: torch raises many types
        why = " ".join(str(err).split())[:160]
        if "weights_only" in why or "Unsupported global" in why:
            why = "it holds objects other than tensors, numbers and plain containers, which are never unpickled"
        raise CheckpointError(f"{path} is unreadable ({type(err).__name__}: {why})") from None
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT or not isinstance(doc.get("state"), dict):
        raise CheckpointError(f"{path} is not a ferbench training state ({STATE_FORMAT})")
    if state_digest(doc["state"]) != doc.get("sha256"):
        raise CheckpointError(f"{path} is corrupted (its content does not match its SHA-256)")
    return doc["state"]
