"""Tables and text as Markdown, LaTeX and HTML: the cell markup translated, footnotes kept, widths fitted.

Cells and notes use the small markup of :mod:`ferbench.report.display`: ``**x**`` for bold and
``^[a]`` for a reference to the table's footnote ``a`` (:class:`ferbench.report.tables.Footnotes`).
Every symbol a Markdown table shows (±, Δ, ↑, ↓, ≥, −, accented letters...) has a LaTeX spelling here
that pdflatex typesets with the standard fonts; a character with none is written as a visible
``[U+XXXX]``, never dropped.

LaTeX tables must fit the text width of the document :mod:`ferbench.report.build` writes (A4
landscape, 1.5 cm margins, ``\\footnotesize`` tables). :func:`latex_table` estimates each column's
natural width from its longest cell; a table that fits is set as it is (and, if the estimate was
short, scaled down to the line width by ``\\fbfit``); one that does not gets paragraph columns: the
narrow columns keep their width and the wide text columns share what is left, wrapping.
"""

from __future__ import annotations

import html
import re
import unicodedata

import pandas as pd
from tabulate import tabulate

from ferbench.report.tables import Table

_MARKUP = re.compile(r"\*\*(.+?)\*\*|\^\[(\w+)\]")


def segments(text: str):
    """``(kind, text)`` pieces of a marked-up string: kind is ``plain``, ``bold`` or ``ref``."""
    text, pos = str(text), 0
    for m in _MARKUP.finditer(text):
        if m.start() > pos:
            yield "plain", text[pos:m.start()]
        yield ("bold", m.group(1)) if m.group(1) is not None else ("ref", m.group(2))
        pos = m.end()
    if pos < len(text):
        yield "plain", text[pos:]


def plain_text(text: str) -> str:
    """The visible characters of a marked-up string (a footnote mark as ``[a]``)."""
    return "".join(t if k != "ref" else f"[{t}]" for k, t in segments(text))


# ---- Markdown ----------------------------------------------------------------------------------------
def markdown_text(text: str) -> str:
    out = []
    for kind, t in segments(text):
        t = t.replace("|", "\\|").replace("\n", " ")
        out.append(f"**{t}**" if kind == "bold" else f"<sup>{t}</sup>" if kind == "ref" else t)
    return "".join(out)


def markdown_table(t: Table) -> str:
    disp = t.display
    if not len(disp):
        return "_(empty)_"
    body = [[markdown_text(v) for v in row] for row in disp.astype(str).to_numpy()]
    out = tabulate(body, headers=[markdown_text(c) for c in disp.columns], tablefmt="github",
                   disable_numparse=True)
    notes = [f"<sup>{mark}</sup> {markdown_text(text)}" for mark, text in t.footnotes.items()]
    return out + ("\n\n" + "<br>\n".join(notes) if notes else "")


# ---- LaTeX -------------------------------------------------------------------------------------------
_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_\allowbreak{}",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
    "/": r"/\allowbreak{}",  # run ids and "CK+/JAFFE/FER2013" may wrap in a paragraph column
}
_LATEX_SYMBOLS = {
    "±": r"$\pm$",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "→": r"$\rightarrow$",
    "←": r"$\leftarrow$",
    "≥": r"$\geq$",
    "≤": r"$\leq$",
    "≠": r"$\neq$",
    "≈": r"$\approx$",
    "×": r"$\times$",
    "·": r"$\cdot$",
    "−": r"$-$",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "√": r"$\surd$",
    "°": r"$^{\circ}$",
    "µ": r"$\mu$",
    "²": r"$^{2}$",
    "³": r"$^{3}$",
    "¹": r"$^{1}$",
    "∞": r"$\infty$",
    "•": r"$\bullet$",
    "§": r"$\S$",
    "\u00a0": "~",
    "ß": r"\ss{}",
    "æ": r"\ae{}",
    "Æ": r"\AE{}",
    "œ": r"\oe{}",
    "Œ": r"\OE{}",
    "ø": r"\o{}",
    "Ø": r"\O{}",
    "ł": r"\l{}",
    "Ł": r"\L{}",
    "ı": r"\i{}",
}
_GREEK_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}
_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
            "\u0306": "u", "\u030a": "r", "\u030b": "H", "\u030c": "v", "\u0327": "c", "\u0307": "."}


def _latex_char(ch: str) -> str:
    if ch in _LATEX_ESCAPES:
        return _LATEX_ESCAPES[ch]
    if ch in _LATEX_SYMBOLS:
        return _LATEX_SYMBOLS[ch]
    if ch.isascii():
        return ch
    name = unicodedata.name(ch, "")
    if name.startswith("GREEK SMALL LETTER ") and " " not in name[19:]:
        return rf"$\{name[19:].lower()}$"
    if name.startswith("GREEK CAPITAL LETTER ") and name[21:].capitalize() in _GREEK_CAPITALS:
        return rf"$\{name[21:].capitalize()}$"
    base, *marks = unicodedata.normalize("NFD", ch)
    if base.isascii() and marks and all(m in _ACCENTS for m in marks):
        out = "\\i" if base == "i" else base  # dotless i under an accent
        for m in marks:
            out = rf"\{_ACCENTS[m]}{{{out}}}"
        return out
    return f"[U+{ord(ch):04X}]"  # visible, so a missing glyph is never silent


def latex_text(text: str) -> str:
    """Marked-up text as LaTeX: escaped, bold as ``\\textbf``, footnote marks as superscripts, every
    symbol in a form pdflatex typesets with its standard fonts."""
    out = []
    for kind, t in segments(text):
        s = "".join(_latex_char(ch) for ch in t)
        out.append(rf"\textbf{{{s}}}" if kind == "bold" else rf"\textsuperscript{{{s}}}" if kind == "ref" else s)
    return "".join(out)


LINEWIDTH_PT = 756.0  # A4 landscape (29.7 cm) less 2 × 1.5 cm margins = 26.7 cm
CHAR_PT = 4.6  # an average \footnotesize (8 pt) glyph, bold included, rounded up
COLSEP_PT = 12.0  # 2 \tabcolsep
LONG_ROWS = 30


def _width(text: str) -> float:
    return len(plain_text(text)) * CHAR_PT


def _longest_word(text: str) -> float:
    words = re.split(r"[\s/_-]+", plain_text(text))
    return max((len(w) for w in words), default=0) * CHAR_PT


def latex_columns(disp: pd.DataFrame) -> list[str]:
    """Column specs that fit :data:`LINEWIDTH_PT`: ``l``/``r`` when the natural widths fit; else the
    widest columns become ragged ``p{..}`` columns capped at one common width (water-filling), never
    narrower than their longest word, so the table is the line width."""
    cells = disp.astype(str)
    texts = [[str(c), *cells[c]] for c in disp.columns]
    natural = [max(_width(v) for v in col) + 1 for col in texts]
    minw = [max(_longest_word(v) for v in col) + 1 for col in texts]
    align = ["l" if i == 0 or not _numeric(cells[c]) else "r" for i, c in enumerate(disp.columns)]
    budget = LINEWIDTH_PT - COLSEP_PT * len(natural)
    if sum(natural) <= budget:
        return align

    def widths(cap: float) -> list[float]:
        return [max(m, min(n, cap)) for n, m in zip(natural, minw, strict=True)]

    lo, hi = 0.0, max(natural)
    for _ in range(40):  # bisection on the cap
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if sum(widths(mid)) <= budget else (lo, mid)
    specs = []
    for a, n, w in zip(align, natural, widths(lo), strict=True):
        ragged = r"\raggedleft" if a == "r" else r"\raggedright"
        specs.append(a if w >= n else rf">{{{ragged}\arraybackslash}}p{{{w:.0f}pt}}")
    return specs


def _numeric(values: pd.Series) -> bool:
    """Mostly numbers (a leading digit, sign or ``[``): right-aligned."""
    vals = [plain_text(v).strip() for v in values if plain_text(v).strip() not in ("", "–", "no run")]
    return bool(vals) and sum(bool(re.match(r"[\[(]?[−+-]?\d", v)) for v in vals) >= 0.8 * len(vals)


def latex_table(t: Table, long_rows: int = LONG_ROWS) -> str:
    """booktabs table fitted to the line width (``longtable`` when it may not fit one page), with its
    footnotes under it."""
    disp = t.display
    if not len(disp):
        return r"\emph{(empty)}"
    body = [[latex_text(v) for v in row] for row in disp.astype(str).to_numpy()]
    headers = [latex_text(c) for c in disp.columns]
    lines = tabulate(body, headers=headers, tablefmt="latex_raw", disable_numparse=True).splitlines()
    spec = "".join(latex_columns(disp))
    hlines = [i for i, line in enumerate(lines) if line.strip() == r"\hline"]
    lines[0] = rf"\begin{{tabular}}{{{spec}}}"
    lines[hlines[0]], lines[hlines[1]], lines[hlines[-1]] = r"\toprule", r"\midrule", r"\bottomrule"
    notes = "".join(rf"\par\noindent\textsuperscript{{{latex_text(m)}}}\,{latex_text(x)}"
                    for m, x in t.footnotes.items())
    if len(disp) > long_rows:
        lines[0] = rf"\begin{{longtable}}{{{spec}}}"
        lines[hlines[1]] = r"\midrule" + "\n" + r"\endhead"
        lines[-1] = r"\end{longtable}"
        return "\n".join(lines) + (f"\n{{\\footnotesize{notes}\\par}}" if notes else "")
    return ("\\begin{center}\n\\fbfit{%\n" + "\n".join(lines) + "}\n\\end{center}"
            + (f"\n{{\\footnotesize{notes}\\par}}" if notes else ""))


# The preamble lines :func:`latex_table` relies on: \fbfit scales a tabular down to the line width only
# when it is wider (graphicx's \resizebox; a narrower table keeps its size).
LATEX_PREAMBLE = [
    r"\usepackage{booktabs}",
    r"\usepackage{longtable}",
    r"\usepackage{graphicx}",
    r"\usepackage{array}",
    r"\setlength{\LTleft}{0pt}",
    r"\setlength{\LTright}{\fill}",  # a long table narrower than the line sits left, not stretched
    r"\renewcommand{\labelitemi}{$\bullet$}",  # \textbullet would need a bitmap (Type 3) font
    r"\newsavebox{\fbbox}",
    r"\newcommand{\fbfit}[1]{\begin{lrbox}{\fbbox}#1\end{lrbox}%",
    r"  \ifdim\wd\fbbox>\linewidth\typeout{ferbench: a table scaled to the line width}%",
    r"  \resizebox{\linewidth}{!}{\usebox{\fbbox}}\else\usebox{\fbbox}\fi}",
]


# ---- HTML --------------------------------------------------------------------------------------------
def html_text(text: str) -> str:
    out = []
    for kind, t in segments(text):
        e = html.escape(t)
        out.append(f"<b>{e}</b>" if kind == "bold" else f"<sup>{e}</sup>" if kind == "ref" else e)
    return "".join(out)


_NUMBER = re.compile(r"^[\[(]?\s*([−+-]?\d+(?:[.,]\d+)?)")


def sort_key(text: str) -> str | None:
    """The number a cell starts with, for sorting (``−`` read as minus); ``None`` for text."""
    m = _NUMBER.match(plain_text(text).strip())
    return None if m is None else m.group(1).replace("−", "-").replace(",", "")


def html_table(t: Table) -> str:
    """A sortable table (the page's script sorts by ``data-sort`` where a cell has one) and its footnotes."""
    disp = t.display
    if not len(disp):
        return "<p><em>(empty)</em></p>"
    head = "".join(f"<th>{html_text(c)}</th>" for c in disp.columns)
    rows = []
    for row in disp.astype(str).to_numpy():
        cells = []
        for v in row:
            k = sort_key(v)
            cells.append(f"<td data-sort='{k}'>" if k is not None else "<td>")
            cells[-1] += html_text(v) + "</td>"
        rows.append("<tr>" + "".join(cells) + "</tr>")
    notes = "".join(f"<p class='fn'><sup>{html.escape(m)}</sup> {html_text(x)}</p>" for m, x in t.footnotes.items())
    return (f"<table class='sortable' id='t-{html.escape(t.key)}'><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{notes}")
