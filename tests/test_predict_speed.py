"""benchmarks/predict_speed.py runs end to end (--quick), so the committed speed figures can be re-measured."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "predict_speed.py"


def test_predict_speed_quick_runs_and_finds_the_faces(capsys):
    spec = importlib.util.spec_from_file_location("predict_speed", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "| vgg_tiny | 48 px gray | torch |" in out and "| vgg_tiny | 48 px gray | onnx |" in out
    assert "10/10 |" in out  # YuNet found the 192 px face in every frame of the generated video
    assert "onnxruntime / torch at batch 1 =" in out
