"""The throughput benchmark runs end to end on CPU at a tiny size (so it never rots); no speed asserts."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "train_throughput.py"


def test_train_throughput_quick_cpu(tmp_path):
    spec = importlib.util.spec_from_file_location("train_throughput", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    args = ["--quick", "--device", "cpu", "--models", "vgg_tiny", "--n-images", "192", "--workers", "1",
            "--baseline-steps", "2", "--out", str(tmp_path)]  # fmt: skip
    result = mod.main(args)
    row = result["rows"][0]
    assert row["model"] == "vgg_tiny" and row["baseline_w1"] > 0 and row["ferbench"] > 0
    assert row["ratio_vs_w1"] == row["ferbench"] / row["baseline_w1"]
    saved = json.loads((tmp_path / "train_throughput-quick-cpu.json").read_text())
    assert saved["rows"] == result["rows"] and saved["command"].endswith(" ".join(args))
    assert "| vgg_tiny |" in (tmp_path / "train_throughput-quick-cpu.md").read_text()
