"""Tables on the terminal that fit its width (80 columns and up) without cutting a number.

rich shrinks a table that is too wide by cutting cells to ``30.…``. Here the columns are planned
first: a number is never wrapped or cut; text columns (cell ids, names) may wrap; and when the columns
still do not fit, the table is printed in several blocks of columns, each repeating the key column(s),
as pandas prints a wide frame. Every value is shown.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.table import Column, Table

_NUMBER = re.compile(r"^[\[(]?[−+-]?\d[\d.,]*(%|M|s|x)?( ± [\d.,]+%?)?( \(\d+\))?$")
PAD = 3  # rich's default box: one space either side and one rule per column
MIN_TEXT = 6  # a wrapping text column is never squeezed below this (nor below its longest word)


def _is_number(text: str) -> bool:
    return bool(_NUMBER.match(text.strip())) or text.strip() in ("", "–", "-")


def _plain(text: str) -> str:
    """What the cell shows: rich markup (``[bold]x[/bold]``) does not take space."""
    return re.sub(r"\[/?[a-z ]+\]", "", str(text))


def plan_blocks(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int,
                keys: int = 1) -> list[tuple[list[int], dict[int, int]]]:
    """The column blocks to print and, per column, the width it gets: ``[(column indexes, {i: w})]``.

    Numeric columns get their full width (they never wrap); text columns may be narrowed down to
    their longest word (at least :data:`MIN_TEXT`, at most half the width) and wrap; whatever still does
    not fit goes to the next block, which repeats the first ``keys`` columns.
    """
    n = len(headers)
    cols = [[_plain(h), *(_plain(r[i]) for r in rows)] for i, h in enumerate(headers)]
    numeric = [all(_is_number(v) for v in col[1:]) for col in cols]
    # a header wraps at its spaces; the column needs only its longest word
    natural = [max([max((cell_len(w) for w in col[0].split()), default=0), *(cell_len(v) for v in col[1:])])
               for col in cols]
    # a text column wraps at spaces down to its longest word; a word longer than half the screen (a path)
    # folds
    least = [natural[i] if numeric[i] else min(natural[i], width // 2, max(MIN_TEXT, *(
        max((cell_len(w) for w in v.split()), default=0) for v in cols[i]))) for i in range(n)]
    key_idx = list(range(min(keys, n)))

    def fits(idx: list[int]) -> bool:
        return sum(least[i] + PAD for i in idx) + 1 <= width

    blocks, current = [], list(key_idx)
    for i in range(len(key_idx), n):
        if fits([*current, i]) or current == key_idx:
            current.append(i)
        else:
            blocks.append(current)
            current = [*key_idx, i]
    blocks.append(current)
    planned = []
    for idx in blocks:
        spare = width - 1 - sum(least[i] + PAD for i in idx)
        widths = {}
        for i in idx:  # give text columns back what is spare, up to their natural width
            extra = max(0, min(natural[i] - least[i], spare))
            widths[i] = least[i] + extra
            spare -= extra
        planned.append((idx, widths))
    return planned


def fitted_tables(headers: Sequence[str], rows: Sequence[Sequence[str]], width: int, *, title: str | None = None,
                  caption: str | None = None, keys: int = 1) -> list[Table]:
    """rich tables of ``rows`` that fit ``width`` columns (see :func:`plan_blocks`)."""
    rows = [[str(v) for v in r] for r in rows]
    blocks = plan_blocks(headers, rows, width, keys)
    out = []
    for b, (idx, widths) in enumerate(blocks):
        numeric = {i: all(_is_number(_plain(r[i])) for r in rows) for i in idx}
        columns = [Column(headers[i], justify="right" if numeric[i] and i >= keys else "left",
                          overflow="fold", min_width=widths[i], max_width=widths[i])
                   for i in idx]
        part = f" ({b + 1}/{len(blocks)})" if len(blocks) > 1 else ""
        table = Table(*columns, title=(title + part) if title else None,
                      caption=caption if b == len(blocks) - 1 else None)
        for r in rows:
            table.add_row(*(r[i] for i in idx))
        out.append(table)
    return out


def print_table(console: Console, headers: Sequence[str], rows: Sequence[Sequence[str]], *,
                title: str | None = None, caption: str | None = None, keys: int = 1) -> None:
    """Print ``rows`` under ``headers`` so they fit ``console.width``; ``keys`` leading columns repeat
    in every block of a table too wide for one."""
    for table in fitted_tables(headers, rows, console.width, title=title, caption=caption, keys=keys):
        console.print(table)
