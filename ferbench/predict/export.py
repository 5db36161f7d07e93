"""``ferbench export RUN --format onnx|torchscript``: the run's model as a file other runtimes load, written
only after it agrees with the checkpoint on the run's own test images.

The exported graph takes the normalised input tensor ``input`` (``(B, channels, size, size)``, the
output of :func:`ferbench.inference.model_input`) and returns ``logits`` (and ``va`` for a
valence/arousal model). The ONNX file carries the run's classes, input size, channels and cell id
in its metadata, so a consumer needs nothing else.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from ferbench import inference
from ferbench.atomic import replace_atomically
from ferbench.predict.model import ONNX_FILE, TORCHSCRIPT_FILE, PredictError, _onnx_session
from ferbench.rundir import Run, load_run

FORMATS = ("onnx", "torchscript")
MIN_AGREEMENT = 0.999  # argmax agreement below this on the test images: the export is refused


class _Outputs(nn.Module):
    """The model's output dict as a tuple, which both exporters need."""

    def __init__(self, model: nn.Module, va: bool) -> None:
        super().__init__()
        self.model, self.va = model, va

    def forward(self, x: torch.Tensor):
        out = self.model(x)
        return (out["logits"], out["va"]) if self.va else out["logits"]


class _BinnedAvgPool(nn.Module):
    """``AdaptiveAvgPool2d`` written as explicit bin means (PyTorch's bins: ``floor(i*n/k)`` to
    ``ceil((i+1)*n/k)``): the same numbers, but exportable to ONNX when the output size does not divide
    the input size (the TorchScript-based exporter refuses that; VGG's 3x3 → 2x2 head pool at 48 px)."""

    def __init__(self, output_size) -> None:
        super().__init__()
        self.output_size = output_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.output_size if isinstance(self.output_size, tuple) else (self.output_size, self.output_size)
        h, w = x.shape[-2:]
        kh, kw = (int(h) if k[0] is None else k[0]), (int(w) if k[1] is None else k[1])
        h, w = int(h), int(w)
        rows = []
        for i in range(kh):
            r0, r1 = (i * h) // kh, -(-((i + 1) * h) // kh)
            cols = [x[..., r0:r1, (j * w) // kw : -(-((j + 1) * w) // kw)].mean((-2, -1), keepdim=True)
                    for j in range(kw)]
            rows.append(torch.cat(cols, -1))
        return torch.cat(rows, -2)


def _exportable(model: nn.Module) -> nn.Module:
    """A copy of ``model`` with every non-global adaptive average pool as explicit bin means."""
    model = copy.deepcopy(model)
    for name, mod in list(model.named_modules()):
        if isinstance(mod, nn.AdaptiveAvgPool2d) and mod.output_size not in (1, (1, 1)):
            parent = model.get_submodule(name.rsplit(".", 1)[0]) if "." in name else model
            setattr(parent, name.rsplit(".", 1)[-1], _BinnedAvgPool(mod.output_size))
    return model


@dataclass
class ExportResult:
    path: Path
    format: str
    n: int  # test images compared
    max_abs_diff: float  # largest |logit difference| between the export and the checkpoint
    agreement: float  # share of test images with the same top class

    def line(self) -> str:
        return (f"parity on {self.n} test images: max |logit difference| {self.max_abs_diff:.2e}, "
                f"argmax agreement {self.agreement:.2%}")


def _write_onnx(wrapped: nn.Module, example: torch.Tensor, va: bool, tmp: Path, meta: dict) -> None:
    import onnx

    names = ["logits", "va"] if va else ["logits"]
    with warnings.catch_warnings():  # the TorchScript-based exporter is deprecated but needs no onnxscript
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapped, (example,), str(tmp), dynamo=False, input_names=["input"], output_names=names,
                          dynamic_axes={n: {0: "batch"} for n in ["input", *names]}, opset_version=17)
    model = onnx.load(str(tmp))
    for k, v in meta.items():
        model.metadata_props.add(key=k, value=json.dumps(v) if not isinstance(v, str) else v)
    onnx.save(model, str(tmp))


def _exported_logits(fmt: str, path: Path, x: np.ndarray, batch: int = 256) -> np.ndarray:
    if fmt == "onnx":
        sess = _onnx_session(path)
        return np.concatenate([sess.run(["logits"], {"input": x[s : s + batch]})[0] for s in range(0, len(x), batch)])
    m = torch.jit.load(str(path), map_location="cpu").eval()
    out = []
    with torch.inference_mode():
        for s in range(0, len(x), batch):
            o = m(torch.from_numpy(x[s : s + batch]))
            out.append((o[0] if isinstance(o, tuple) else o).numpy())
    return np.concatenate(out)


def export_run(run_dir: str | Path, fmt: str = "onnx", out: str | Path | None = None,
               data_dir: str | Path | None = None, min_agreement: float = MIN_AGREEMENT) -> ExportResult:
    """Export the run at ``run_dir`` to ``out`` (default ``RUN/model.onnx`` or ``RUN/model.torchscript.pt``,
    where ``predict --backend onnx`` finds it) after checking parity on the run's test images."""
    if fmt not in FORMATS:
        raise PredictError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    run: Run = load_run(run_dir)
    out = Path(out) if out is not None else run.path / (ONNX_FILE if fmt == "onnx" else TORCHSCRIPT_FILE)
    train, spec = run.config.get("train") or {}, run.config["model"]
    size, channels = int(train.get("size") or spec["img_size"]), int(train.get("channels") or spec["in_chans"])
    va = "va" in str(spec.get("heads", "cls"))
    store = run.store(data_dir)
    x = inference.model_input(store.images[np.sort(run.test_indices())], size, channels, "cpu").numpy()
    model = run.model(device="cpu").eval()
    with torch.inference_mode():
        ref = np.concatenate([model(torch.from_numpy(x[s : s + 256]))["logits"].numpy() for s in range(0, len(x), 256)])
    wrapped = _Outputs(_exportable(model), va).eval()
    example = torch.from_numpy(x[:1])
    meta = {"ferbench_cell": run.config.get("cell", ""), "classes": run.config["classes"], "size": size,
            "channels": channels, "input": "normalised [-1, 1], (B, channels, size, size)",
            "outputs": "logits, va" if va else "logits"}
    result: dict = {}

    def write(tmp: Path) -> None:
        if fmt == "onnx":
            _write_onnx(wrapped, example, va, tmp, meta)
        else:
            with torch.inference_mode(False), torch.no_grad():
                traced = torch.jit.trace(wrapped, example, check_trace=False)
            traced.save(str(tmp))
        got = _exported_logits(fmt, tmp, x)
        diff = float(np.abs(got - ref).max()) if len(x) else 0.0
        agree = float((got.argmax(1) == ref.argmax(1)).mean()) if len(x) else 1.0
        result.update(n=len(x), max_abs_diff=diff, agreement=agree)
        if agree < min_agreement:
            raise PredictError(f"export refused: the {fmt} model agrees with the checkpoint on only {agree:.2%} "
                               f"of {len(x)} test images (max |logit difference| {diff:.2e}; at least "
                               f"{min_agreement:.1%} needed); nothing was written to {out}")

    out.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(out, write)
    return ExportResult(path=out, format=fmt, **result)
