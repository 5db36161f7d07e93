"""``FerNet``: the base class every zoo model derives from (dict output, ``.spec``, ``.cam_layer``)."""

from __future__ import annotations

import torch
from torch import nn

from ferbench.models.heads import FerHead
from ferbench.models.spec import ModelSpec


class FerNet(nn.Module):
    """A backbone producing pre-logit features, followed by a :class:`FerHead`.

    Subclasses implement :meth:`forward_features` ((B, C, H, W) → (B, F)), set ``self.head`` and
    ``cam_layer_name`` (dotted path of the module whose output Grad-CAM uses; stored as a name so the
    module is not registered twice in the state dict), and may override :meth:`aux_loss`.
    """

    cam_layer_name: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.spec: ModelSpec | None = None  # set by create_model, fully resolved
        self.head: FerHead

    @property
    def cam_layer(self) -> nn.Module:
        return self.get_submodule(self.cam_layer_name)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def aux_loss(self) -> torch.Tensor | None:
        """Extra, already-weighted loss term from the last forward pass (training only)."""
        return None

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.head(self.forward_features(x))
        if self.training:
            aux = self.aux_loss()
            if aux is not None:
                out["aux_loss"] = aux
        return out
