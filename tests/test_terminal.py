"""Console tables fit 80 columns: numbers are never cut to ``30.…``; wide tables wrap or split."""

from __future__ import annotations

import io

from rich.console import Console
from typer.testing import CliRunner

from ferbench.terminal import print_table


def _render(headers, rows, width=80, **kw) -> list[str]:
    c = Console(width=width, file=io.StringIO(), record=True)
    print_table(c, headers, rows, **kw)
    return c.export_text().splitlines()


def test_a_wide_probe_table_splits_into_blocks_and_keeps_every_number():
    sizes = [112, 96, 84, 64, 56, 48, 32, 28, 16, 14]
    rows = [[m, *(f"{30 + 0.37 * i + j:.2f}%" for i in range(len(sizes)))]
            for j, m in enumerate(["Both Cubic", "Cubic Linear", "Both Lanczos4"])]
    lines = _render(["Method\\resize value", *map(str, sizes)], rows, title="synthetic/resnet_tiny-none-relu/s0")
    text = "\n".join(lines)
    assert max(map(len, lines)) <= 80 and "…" not in text
    for row in rows:
        for cell in row:
            assert cell in text  # each value whole, on one line
    assert "(1/2)" in text and text.count("Cubic Linear") == 2  # the key column repeats in each block


def test_long_text_wraps_instead_of_being_cut():
    rows = [["synthetic/resnet_tiny-none-relu/s0", "252", "0.6548", "0.6512", "12 (11)", "13.2"],
            ["a/very/long/cell/id/that/does/not/fit/in/half/of/the/screen/at/all/s0", "252", "0.5", "0.5",
             "12 (3)", "9.0"]]
    lines = _render(["cell", "n test", "accuracy", "macro-F1", "epochs (best)", "train s"], rows)
    text = "\n".join(lines)
    assert max(map(len, lines)) <= 80 and "…" not in text
    for cell in ("0.6548", "0.6512", "12 (11)", "13.2", "12 (3)"):
        assert cell in text


def test_cli_tables_fit_80_columns():
    from ferbench.cli import app

    res = CliRunner().invoke(app, ["models"], env={"COLUMNS": "80"})
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert max(map(len, lines)) <= 80 and "…" not in res.output
    assert "58.15M" in res.output and "550.2M" in res.output  # resnet152: every number whole
