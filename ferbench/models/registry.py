"""timm-style model registry: ``@register_model`` + ``create_model`` + ``list_models``.

A registered builder is a function ``fn(*, attention, activation, num_classes, in_chans, img_size, heads,
**arch_kwargs) -> FerNet``. Its extra keyword parameters (with defaults) are the architecture kwargs a
user may pass to :func:`create_model`; their resolved values are recorded in ``model.spec.kwargs``.
"""

from __future__ import annotations

import fnmatch
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ferbench.models.activations import ACTIVATIONS
from ferbench.models.attention import ATTENTIONS
from ferbench.models.base import FerNet
from ferbench.models.errors import ModelConfigError
from ferbench.models.heads import check_heads
from ferbench.models.spec import ModelSpec

_STANDARD_ARGS = ("attention", "activation", "num_classes", "in_chans", "img_size", "heads")
MIN_IMG_SIZE = 32


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


def resolve_spec(
    arch: str,
    *,
    attention: str | None = None,
    activation: str | None = None,
    num_classes: int = 7,
    in_chans: int = 1,
    img_size: int | None = None,
    heads: str = "cls",
    **kwargs: Any,
) -> ModelSpec:
    """Validate arguments against the registry and fill every default: the model's future ``.spec``."""
    entry = get_entry(arch)
    attention = entry.default_attention if attention is None else str(attention).lower()
    activation = entry.default_activation if activation is None else str(activation).lower().replace("-", "_")
    if attention not in entry.attentions:
        raise ModelConfigError(
            f"{arch} does not support attention {attention!r}; choose one of {', '.join(entry.attentions)}"
        )
    if activation not in entry.activations:
        raise ModelConfigError(
            f"{arch} does not support activation {activation!r}; choose one of {', '.join(entry.activations)}"
        )
    check_heads(heads)
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
    attention: str | None = None,
    activation: str | None = None,
    num_classes: int = 7,
    in_chans: int = 1,
    img_size: int | None = None,
    heads: str = "cls",
    pretrained: str | Path | None = None,
    **kwargs: Any,
) -> FerNet:
    """Build a registered FER model.

    ``attention=None`` / ``activation=None`` / ``img_size=None`` mean the architecture's own default
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
        from ferbench.models.checkpoint import load_pretrained

        load_pretrained(model, pretrained)
    return model


def create_model_from_spec(spec: ModelSpec | dict[str, Any], pretrained: str | Path | None = None) -> FerNet:
    """``create_model`` from a saved spec (a :class:`ModelSpec` or its ``to_dict()``, e.g. config.json)."""
    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
    d = spec.to_dict()
    return create_model(pretrained=pretrained, **{k: v for k, v in d.items() if k != "kwargs"}, **d["kwargs"])
