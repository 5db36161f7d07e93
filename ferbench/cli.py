"""The ``ferbench`` command line: parse options, call one function, print the result.

No logic lives here; each command calls into its package (data/, models/, train/, probes/, report/).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperGroup

from ferbench.errors import FerbenchError

console = Console()
err_console = Console(stderr=True)


class _FerbenchGroup(TyperGroup):
    """Turns a user mistake (:class:`FerbenchError`) into one red line and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except FerbenchError as err:
            err_console.print(f"[red]error:[/red] {escape(str(err))}", soft_wrap=True, highlight=False)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="ferbench",
    cls=_FerbenchGroup,
    help="Reproducible, fast benchmarking for facial expression recognition.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",
)

DATA_DIR = typer.Option(Path("data"), "--data-dir", help="Where prepared stores live.")
DEVICE = typer.Option("auto", "--device", help="auto | cpu | cuda")
SEED = typer.Option(0, "--seed", help="Random seed.")


# ---- commands ------------------------------------------------------------------------------------
