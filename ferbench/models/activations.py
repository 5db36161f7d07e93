"""Activation names → ``act_layer`` classes (timm's ``get_act_layer``), validated with a clear error.

The returned class accepts ``inplace=`` like every timm activation (timm wraps GELU and PReLU for that),
so it can be passed as ``act_layer`` to timm blocks and to our own layers alike.
"""

from __future__ import annotations

from timm.layers import get_act_layer
from torch import nn

from ferbench.models.errors import ModelConfigError

ACTIVATIONS: tuple[str, ...] = ("relu", "elu", "selu", "gelu", "silu", "prelu", "leaky_relu")


def get_activation(name: str) -> type[nn.Module]:
    """The ``act_layer`` class for ``name`` (one of :data:`ACTIVATIONS`)."""
    key = str(name).lower().replace("-", "_")
    if key not in ACTIVATIONS:
        raise ModelConfigError(f"unknown activation {name!r}; choose one of {', '.join(ACTIVATIONS)}")
    return get_act_layer(key)
