"""The command line as a user meets it: the command list, help with examples, and the demo end to end."""

import json

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
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--epochs", "2"])
    assert result.exit_code == 0, result.output
    runs = sorted(p.parent for p in (out / "runs").rglob("metrics.json"))
    assert len(runs) == 8  # 2 archs x 2 attentions x 2 activations
    for run in runs:
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["n_test"] > 100 and metrics["accuracy"] > 1 / 7  # above chance after 2 epochs
        assert (run / "probes" / "resize.csv").is_file() and (run / "probes" / "subgroups.json").is_file()
    report = (out / "report" / "report.md").read_text()
    assert "VGG" in report and "n=" in report
    assert (out / "report" / "report.tex").is_file()
    # a second run resumes: nothing is retrained
    again = runner.invoke(app, ["demo", "--out", str(out), "--epochs", "2"])
    assert again.exit_code == 0 and "reusing" in again.output
