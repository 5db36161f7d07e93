"""Output heads: class logits plus an optional valence/arousal regressor bounded to [-1, 1]."""

from __future__ import annotations

import torch
from torch import nn

from ferbench.models.errors import ModelConfigError

HEADS: tuple[str, ...] = ("cls", "cls+va")


def check_heads_name(heads: str) -> str:
    """``heads`` is one of :data:`HEADS`."""
    if heads not in HEADS:
        raise ModelConfigError(f"unknown heads {heads!r}; choose one of {', '.join(HEADS)}")
    return heads


class FerHead(nn.Module):
    """Pre-logit features (B, F) → ``{"logits": (B, num_classes), "va": (B, 2) in [-1, 1]}``.

    The valence/arousal branch is a linear layer parallel to the classifier followed by ``tanh``
    (the multi-task paper's "3 FC layers in parallel": its two 1-output regressors are one 2-output
    layer here, same parameter count). The loss (CE + w·MSE) lives in the training engine.
    """

    def __init__(self, in_features: int, num_classes: int, heads: str = "cls", drop_rate: float = 0.0):
        super().__init__()
        check_heads_name(heads)
        self.in_features = in_features
        self.drop = nn.Dropout(drop_rate) if drop_rate > 0 else nn.Identity()
        self.fc = nn.Linear(in_features, num_classes)
        self.va = nn.Linear(in_features, 2) if heads == "cls+va" else None

    def forward(self, feats: torch.Tensor) -> dict[str, torch.Tensor]:
        feats = self.drop(feats)
        out = {"logits": self.fc(feats)}
        if self.va is not None:
            out["va"] = torch.tanh(self.va(feats))
        return out
