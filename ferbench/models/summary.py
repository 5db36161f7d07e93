"""The model-zoo table: every registered architecture with its parameters and MACs at a given input."""

from __future__ import annotations

import fnmatch

import pandas as pd
import torch
from torch.utils.flop_counter import FlopCounterMode

from ferbench.models.errors import ModelConfigError
from ferbench.models.registry import MIN_IMG_SIZE, create_model, get_entry, list_models

COLUMNS = (
    "name", "family", "params", "macs", "attentions", "activations",
    "default_attention", "default_activation", "default_img_size", "description",
)


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def count_macs(model: torch.nn.Module, img_size: int, in_chans: int) -> int:
    """Multiply-accumulates of one forward pass on one image (FlopCounterMode FLOPs / 2, eval mode)."""
    was_training = model.training
    model.eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, in_chans, img_size, img_size))
    model.train(was_training)
    return counter.get_total_flops() // 2


def zoo_table(
    img_size: int = 48, in_chans: int = 1, num_classes: int = 7, filter: str | None = None
) -> pd.DataFrame:
    """One row per registered architecture (built with its default attention/activation) at ``img_size`` px.

    ``filter`` keeps names or families containing it (or matching it as a glob); models are built one
    at a time, only for the kept rows (the large ones take a second or two each on CPU).
    """
    # the MACs column runs every model once at this size: keep the CLI's --size/--channels in sane bounds
    if not MIN_IMG_SIZE <= int(img_size) <= 1024:
        raise ModelConfigError(f"--size {img_size}: expected {MIN_IMG_SIZE}..1024 pixels")
    if int(in_chans) not in (1, 3):
        raise ModelConfigError(f"--channels {in_chans}: expected 1 (gray) or 3 (RGB)")
    rows = []
    for name in list_models():
        entry = get_entry(name)
        if filter and not (
            filter in name or filter in entry.family or fnmatch.fnmatch(name, filter)
        ):
            continue
        model = create_model(name, num_classes=num_classes, in_chans=in_chans, img_size=img_size)
        rows.append(
            {
                "name": name,
                "family": entry.family,
                "params": count_params(model),
                "macs": count_macs(model, img_size, in_chans),
                "attentions": ",".join(entry.attentions),
                "activations": ",".join(entry.activations),
                "default_attention": entry.default_attention,
                "default_activation": entry.default_activation,
                "default_img_size": entry.default_img_size,
                "description": entry.description,
            }
        )
        del model
    if not rows:
        raise ModelConfigError(
            f"no model name or family matches {filter!r}; choose from {', '.join(list_models())}"
        )
    return pd.DataFrame(rows, columns=list(COLUMNS))
