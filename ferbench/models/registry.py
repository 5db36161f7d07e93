"""timm-style model registry: ``@register_model`` + ``create_model`` + ``list_models``.

A registered builder is a function ``fn(*, attention, activation, num_classes, in_chans, img_size, heads,
**arch_kwargs) -> FerNet``. Its extra keyword parameters (with defaults) are the architecture kwargs a
user may pass to :func:`create_model`; their resolved values are recorded in ``model.spec.kwargs``.
An attention or activation of ``"default"`` (:data:`DEFAULT`) is the architecture's own;
:func:`resolve_axes` is the one place that resolves and checks both axes. :func:`load_model`
rebuilds a saved model from the spec in its checkpoint.
"""

from __future__ import annotations

import fnmatch
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ferbench.errors import FerbenchError
from ferbench.models.activations import ACTIVATIONS
from ferbench.models.attention import ATTENTIONS
from ferbench.models.base import FerNet
from ferbench.models.checkpoint import load_pretrained, read_spec, read_tensors
from ferbench.models.errors import CheckpointError, ModelConfigError
from ferbench.models.heads import check_heads_name
from ferbench.models.spec import ModelSpec

_STANDARD_ARGS = ("attention", "activation", "num_classes", "in_chans", "img_size", "heads")
MIN_IMG_SIZE = 32
DEFAULT = "default"  # an attention/activation that means "the architecture's own"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    fn: Callable[..., FerNet]
    family: str
    default_img_size: int
    default_attention: str
    default_activation: str
    attentions: tuple[str, ...]
    activations: tuple[str, ...]
    description: str

    def arch_defaults(self) -> dict[str, Any]:
        """The builder's architecture-specific keyword parameters and their defaults."""
        params = inspect.signature(self.fn).parameters
        return {
            n: p.default
            for n, p in params.items()
            if n not in _STANDARD_ARGS and p.kind is inspect.Parameter.KEYWORD_ONLY
        }


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(
    *,
    family: str,
    default_img_size: int = 48,
    default_attention: str = "none",
    default_activation: str = "relu",
    attentions: tuple[str, ...] = ATTENTIONS,
    activations: tuple[str, ...] = ACTIVATIONS,
) -> Callable[[Callable[..., FerNet]], Callable[..., FerNet]]:
    """Register a builder under its function name (decorator)."""

    def deco(fn: Callable[..., FerNet]) -> Callable[..., FerNet]:
        doc = inspect.getdoc(fn) or ""
        _REGISTRY[fn.__name__] = ModelEntry(
            name=fn.__name__,
            fn=fn,
            family=family,
            default_img_size=default_img_size,
            default_attention=default_attention,
            default_activation=default_activation,
            attentions=tuple(attentions),
            activations=tuple(activations),
            description=doc.splitlines()[0] if doc else "",
        )
        return fn

    return deco


def list_models(pattern: str = "*") -> list[str]:
    """Registered architecture names matching a glob ``pattern``, sorted."""
    return sorted(n for n in _REGISTRY if fnmatch.fnmatch(n, pattern))


def get_entry(arch: str) -> ModelEntry:
    try:
        return _REGISTRY[arch]
    except KeyError:
        raise ModelConfigError(
            f"unknown architecture {arch!r}; choose one of {', '.join(list_models())} (see `ferbench models`)"
        ) from None


def resolve_axes(arch: str, attention: str = DEFAULT, activation: str = DEFAULT) -> tuple[str, str]:
    """Concrete attention and activation names for ``arch``: ``default`` is its own; others are checked."""
    entry = get_entry(arch)
    for axis, value in (("attention", attention), ("activation", activation)):
        if not isinstance(value, str):  # str(None) would read as attention "none"
            raise ModelConfigError(f"{axis} must be a name or {DEFAULT!r}, got {value!r}")
    att = entry.default_attention if attention == DEFAULT else attention.lower()
    act = entry.default_activation if activation == DEFAULT else activation.lower().replace("-", "_")
    for axis, value, accepted in (("attention", att, entry.attentions), ("activation", act, entry.activations)):
        if value not in accepted:
            raise ModelConfigError(f"{arch} does not support {axis} {value!r}; choose one of {', '.join(accepted)}")
    return att, act


def resolve_spec(
    arch: str,
    *,
    attention: str = DEFAULT,
    activation: str = DEFAULT,
    num_classes: int = 7,
    in_chans: int = 1,
    img_size: int | None = None,
    heads: str = "cls",
    **kwargs: Any,
) -> ModelSpec:
    """Validate arguments against the registry and fill every default: the model's future ``.spec``."""
    entry = get_entry(arch)
    attention, activation = resolve_axes(arch, attention, activation)
    check_heads_name(heads)
    if int(num_classes) < 2:
        raise ModelConfigError(f"num_classes must be ≥ 2, got {num_classes}")
    if int(in_chans) not in (1, 3):
        raise ModelConfigError(f"in_chans must be 1 (grayscale) or 3 (RGB), got {in_chans}")
    img_size = entry.default_img_size if img_size is None else int(img_size)
    if img_size < MIN_IMG_SIZE:
        raise ModelConfigError(f"img_size must be ≥ {MIN_IMG_SIZE}, got {img_size}")
    defaults = entry.arch_defaults()
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        accepted = ", ".join(sorted(defaults)) or "none"
        raise ModelConfigError(f"{arch} got unknown keyword(s) {unknown}; accepted: {accepted}")
    return ModelSpec(
        arch=arch,
        attention=attention,
        activation=activation,
        num_classes=int(num_classes),
        in_chans=int(in_chans),
        img_size=img_size,
        heads=heads,
        kwargs={**defaults, **kwargs},
    )


def build_from_spec(spec: ModelSpec) -> FerNet:
    """Instantiate (randomly initialised) the network a resolved spec describes."""
    entry = get_entry(spec.arch)
    model = entry.fn(
        attention=spec.attention,
        activation=spec.activation,
        num_classes=spec.num_classes,
        in_chans=spec.in_chans,
        img_size=spec.img_size,
        heads=spec.heads,
        **spec.kwargs,
    )
    model.spec = spec
    return model


def create_model(
    arch: str,
    *,
    attention: str = DEFAULT,
    activation: str = DEFAULT,
    num_classes: int = 7,
    in_chans: int = 1,
    img_size: int | None = None,
    heads: str = "cls",
    pretrained: str | Path | None = None,
    **kwargs: Any,
) -> FerNet:
    """Build a registered FER model.

    ``attention="default"`` / ``activation="default"`` / ``img_size=None`` mean the architecture's own
    (its native attention, e.g. coordinate attention for ``ddamfn`` and SE for ``efficientnet_b1``;
    PReLU for ``ddamfn``; 112 px for ``ddamfn``, 48 px for most). Layers depend on ``img_size`` only in
    ``ddamfn`` (GDConv kernels: it then needs that input size) and ``emonet`` (initial "mhsa" position
    grid, resampled for other sizes); the others accept any size ≥ 32 and record it in ``.spec``.
    ``pretrained`` is a local file: a ferbench ``.safetensors`` checkpoint or timm weights
    (``.pth``/``.safetensors``); mismatched head / input-conv tensors are adapted or dropped with a
    logged count. There is no hub download: ``pretrained=True`` is an error.
    """
    spec = resolve_spec(
        arch,
        attention=attention,
        activation=activation,
        num_classes=num_classes,
        in_chans=in_chans,
        img_size=img_size,
        heads=heads,
        **kwargs,
    )
    model = build_from_spec(spec)
    if pretrained is not None and pretrained is not False:
        load_pretrained(model, pretrained)
    return model


def create_model_from_spec(spec: ModelSpec | dict[str, Any], pretrained: str | Path | None = None) -> FerNet:
    """``create_model`` from a saved spec (a :class:`ModelSpec` or its ``to_dict()``, e.g. config.json)."""
    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
    d = spec.to_dict()
    return create_model(pretrained=pretrained, **{k: v for k, v in d.items() if k != "kwargs"}, **d["kwargs"])


def load_model(
    path: str | Path, expect: ModelSpec | dict[str, Any] | None = None, device: str | torch.device = "cpu"
) -> FerNet:
    """Rebuild the model saved at ``path`` and load its weights (strict); returned in eval mode.

    ``expect``: the spec the caller needs (a ``ModelSpec`` or a dict of some of its fields); a
    different stored spec raises :class:`CheckpointError` naming the path and both specs.
    """
    spec = read_spec(path)
    if expect is not None:
        wanted = expect.to_dict() if isinstance(expect, ModelSpec) else json.loads(json.dumps(dict(expect)))
        got = spec.to_dict()
        diff = {k: (got.get(k), v) for k, v in wanted.items() if got.get(k) != v}
        if diff:
            fields = ", ".join(f"{k}: saved {a!r} vs expected {b!r}" for k, (a, b) in diff.items())
            exp_short = expect.short() if isinstance(expect, ModelSpec) else json.dumps(wanted)
            raise CheckpointError(
                f"checkpoint {path} was saved for {spec.short()} but {exp_short} was expected ({fields}); "
                "use the checkpoint of the matching run or rebuild the model with the saved spec"
            )
    try:
        model = build_from_spec(spec)
    except (FerbenchError, TypeError, ValueError) as err:  # e.g. an arch this version does not register
        raise CheckpointError(f"checkpoint {path} holds a model this ferbench cannot build: {err}") from None
    try:
        model.load_state_dict(read_tensors(Path(path)), strict=True)
    except RuntimeError as err:
        first = str(err).splitlines()[0]
        raise CheckpointError(
            f"checkpoint {path} does not fit {spec.short()} ({first}); it was written by an incompatible "
            "ferbench version — retrain or re-export it"
        ) from None
    return model.to(device).eval()
