"""FER model zoo: a timm-style registry of backbones × attention × activation × heads.

>>> import torch
>>> from ferbench.models import create_model
>>> model = create_model("resnet_tiny", attention="se", activation="elu", num_classes=7, in_chans=1)
>>> out = model(torch.zeros(2, 1, 48, 48))   # {"logits": (2, 7)}

Every model returns a dict (``logits``; ``va`` in [-1, 1] with ``heads="cls+va"``; ``aux_loss`` when a
model has one and is training), and has ``.spec`` (:class:`ModelSpec`) and ``.cam_layer``.
"""

# Family modules register their builders on import.
from ferbench.models import ddamfn, emonet, fer_cnns, mobile, resnet, vgg, xception  # noqa: F401  (registration side effect)
from ferbench.models.activations import ACTIVATIONS
from ferbench.models.attention import ATTENTIONS
from ferbench.models.base import FerNet
from ferbench.models.checkpoint import load_pretrained, read_spec, save_model
from ferbench.models.deviations import DEVIATIONS
from ferbench.models.errors import CheckpointError, ModelConfigError
from ferbench.models.heads import HEADS
from ferbench.models.registry import (
    DEFAULT,
    create_model,
    create_model_from_spec,
    get_entry,
    list_models,
    load_model,
    register_model,
    resolve_axes,
    resolve_spec,
)
from ferbench.models.spec import ModelSpec

__all__ = [
    "ACTIVATIONS",
    "ATTENTIONS",
    "DEFAULT",
    "DEVIATIONS",
    "HEADS",
    "CheckpointError",
    "FerNet",
    "ModelConfigError",
    "ModelSpec",
    "create_model",
    "create_model_from_spec",
    "get_entry",
    "list_models",
    "load_model",
    "load_pretrained",
    "read_spec",
    "register_model",
    "resolve_axes",
    "resolve_spec",
    "save_model",
]
