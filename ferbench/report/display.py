"""How names and numbers are printed in every table and figure: the documents' own spellings.

Cells use a tiny markup that each output format translates (see :mod:`ferbench.report.render`):
``**x**`` for bold, ``^[a]`` for a reference to the table's footnote ``a``, and plain Unicode for
symbols (``±``, ``↑``, ``↓``, ``−``, ``Δ``...), which every format spells properly.
"""

from __future__ import annotations

import math

ARCH_NAMES = {
    "vgg16": "VGG-16",
    "vgg19": "VGG-19",
    "resnet18": "ResNet-18",
    "resnet34": "ResNet-34",
    "resnet50": "ResNet-50",
    "resnet101": "ResNet-101",
    "resnet152": "ResNet-152",
    "resnetv2_50": "ResNetV2-50",
    "resnetv2_101": "ResNetV2-101",
    "resnetv2_152": "ResNetV2-152",
    "mobilenetv2": "MobileNet-V2",
    "efficientnet_b1": "EfficientNet-B1",
    "ddamfn": "DDAMFN",
    "aer_cnn": "AER-CNN",
    "msff_cnn": "MSFF-CNN",
    "drf_msam": "DRF+MSAM",
    "emonet": "EmoNet",
    "vgg_tiny": "VGG-tiny",
    "resnet_tiny": "ResNet-tiny",
    "mini_xception": "mini-Xception",
}
# The first document's names for the attention modules.
ATTENTION_NAMES = {"none": "", "se": "SEN-Net", "eca": "ECA-Net", "cbam": "CBAM", "coord": "CoordAtt"}
ACTIVATION_NAMES = {
    "relu": "ReLU",
    "elu": "ELU",
    "selu": "SELU",
    "gelu": "GELU",
    "silu": "SiLU",
    "prelu": "PReLU",
    "leaky_relu": "LeakyReLU",
}
DATASET_NAMES = {
    "ckplus": "CK+",
    "jaffe": "JAFFE",
    "fer2013": "FER2013",
    "ferplus": "FERPlus",
    "affectnet": "AffectNet",
    "synthetic": "Synthetic",
}
METRIC_NAMES = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "macro_f1": "Macro-F1",
    "kappa": "Cohen's Kappa",
    "krippendorff_alpha": "Krippendorff's Alpha",
    "roc_auc": "AUC",
    "roc_auc_hard": "AUC (hard labels)",
    "pr_auc": "AUC-PR",
    "ece": "ECE (15 bins)",
    "rmse": "RMSE",
    "corr": "CORR",
    "sagr": "SAGR",
    "ccc": "CCC",
    "val_accuracy": "Best val. accuracy",
}
# Metrics stored as fractions in [0, 1] and printed as percentages, as the first document does.
PERCENT_METRICS = {"accuracy", "balanced_accuracy", "macro_f1", "val_accuracy"}


def arch_name(arch: str) -> str:
    return ARCH_NAMES.get(str(arch), str(arch))


def model_name(arch: str, attention: str = "none") -> str:
    """``VGG-19 + CBAM``; the bare architecture name for ``attention == "none"``."""
    att = ATTENTION_NAMES.get(str(attention), str(attention))
    return f"{arch_name(arch)} + {att}" if att else arch_name(arch)


def dataset_name(dataset: str) -> str:
    return DATASET_NAMES.get(str(dataset), str(dataset))


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def method_name(method: str) -> str:
    """A resize-sweep method in the third document's words (the probe's own labels): ``Both Cubic``."""
    from ferbench.probes.resize import method_label
    from ferbench.probes.runs import ProbeError

    try:
        return method_label(str(method))
    except ProbeError:  # a method this ferbench does not know (an older probe file): show it as written
        return str(method)


def params_text(params: float | None) -> str:
    """Parameter count in millions as the first document prints it (``23.49M``)."""
    if params is None or (isinstance(params, float) and math.isnan(params)):
        return "–"
    return f"{float(params) / 1e6:.2f}M"


def _isnan(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def number(value: float | None, percent: bool = False, digits: int | None = None) -> str:
    """One value: ``87.91%`` for a percent metric (stored as a fraction), else ``0.661``."""
    if _isnan(value):
        return "–"
    if percent:
        return f"{100 * value:.{2 if digits is None else digits}f}%"
    return f"{value:.{3 if digits is None else digits}f}".replace("-", "−")


def stat(
    mean: float | None,
    std: float | None,
    n: int,
    percent: bool = False,
    digits: int | None = None,
    show_n: bool = True,
) -> str:
    """``mean ± std`` over n runs (``87.91 ± 1.20% (n=10)``); a single run prints its value and ``n=1``."""
    if _isnan(mean) or n == 0:
        return "–"
    if _isnan(std):
        text = number(mean, percent, digits)
    elif percent:
        d = 2 if digits is None else digits
        text = f"{100 * mean:.{d}f} ± {100 * std:.{d}f}%"
    else:
        text = f"{number(mean, digits=digits)} ± {number(std, digits=digits)}"
    return f"{text} (n={n})" if show_n else text


def gain(delta: float | None, percent: bool = True) -> str:
    """A change against a baseline: ``(↑ 1.65 pp)`` in percentage points for a percent metric (stored as
    fractions; the first document prints these as ``(↑ 1.65%)``, but a difference of percentages is not
    a percentage), else ``(↓ 0.012)`` in the metric's own unit."""
    if _isnan(delta):
        return ""
    arrow = "↑" if delta >= 0 else "↓"
    return f"({arrow} {abs(100 * delta):.2f} pp)" if percent else f"({arrow} {abs(delta):.3f})"
