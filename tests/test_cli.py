"""The command line as a user meets it: the command list, help with examples, and the demo end to end."""

import json

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from ferbench.cli import app

runner = CliRunner()
COMMANDS = ["prepare", "datasets", "train", "grid", "models", "resize-sweep", "subgroups", "corrupt", "gradcam",
            "report", "demo"]


def test_help_lists_every_command():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


def test_every_command_has_help_with_examples():
    for name in COMMANDS:
        result = runner.invoke(app, [name, "--help"])
        assert result.exit_code == 0, name
        assert "Examples" in result.output, f"`ferbench {name} --help` has no Examples section"


def test_demo_end_to_end(tmp_path):
    """The pipeline's outputs exist and agree with each other. Two epochs do not make a model that is
    reliably above chance on every CPU, so learning is left to tests built for it (fixtures/learning.py)."""
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    runs = sorted(p.parent for p in (out / "runs").rglob("metrics.json"))
    assert len(runs) == 8  # 2 archs x 2 attentions x 2 activations
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        with np.load(run / "logits.npz") as z:
            logits, labels = z["logits"], z["labels"]
        assert metrics["n_test"] == len(logits) == len(labels) == 252  # 6 whole test subjects
        assert metrics["accuracy"] == float((logits.argmax(1) == labels).mean())
        assert sum(c["support"] for c in metrics["per_class"].values()) == metrics["n_test"]
        # the resize sweep at the native size is the run's own test evaluation, to the image
        sweep = pd.read_csv(run / "probes" / "resize.csv")
        assert (sweep.loc[sweep["size"] == 48, "accuracy"] == metrics["accuracy"]).all()
        subgroups = json.loads((run / "probes" / "subgroups.json").read_text())
        assert sum(g["n"] for g in subgroups["groups"].values()) == metrics["n_test"]
    report = (out / "report" / "report.md").read_text()
    assert "VGG" in report and "n=" in report
    assert (out / "report" / "report.tex").is_file()
    # a second run resumes: nothing is retrained, and probes whose outputs are up to date are not re-run
    stamps = {p: p.stat().st_mtime_ns for run in runs for p in sorted((run / "probes").iterdir())}
    again = runner.invoke(app, ["demo", "--out", str(out), "--epochs", "2"])
    assert again.exit_code == 0 and "reusing" in again.output
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
