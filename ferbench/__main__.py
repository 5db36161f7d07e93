"""`python -m ferbench` runs the CLI, as the `ferbench` script does."""

from ferbench.cli import app

app(prog_name="ferbench")
