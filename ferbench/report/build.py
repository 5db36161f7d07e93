"""``build_report``: collect a results folder, build every table and figure, write the chosen formats."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ferbench import __version__
from ferbench.report import figures as figs
from ferbench.report.collect import Collection, ReportError, check_group_by, collect, collect_evals
from ferbench.report.figures import Figure
from ferbench.report.render import LATEX_PREAMBLE, latex_table, latex_text, markdown_table, markdown_text
from ferbench.report.reported import compare
from ferbench.report.tables import SECTIONS, Table, all_tables, crossdata_tables, match_setup

FORMATS = ("markdown", "latex", "csv", "html")
FORMAT_ALIASES = {"md": "markdown", "tex": "latex", "htm": "html"}


class ReportPaths(dict):
    """``{name: path}`` of every file written; ``.problems`` lists what could not be reported and why."""

    problems: list[str]


def parse_formats(formats) -> list[str]:
    """``"markdown,latex"`` or a sequence → validated format names (a clear error for an unknown one)."""
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = []
    for f in (x.strip().lower() for x in items if x and x.strip()):
        f = FORMAT_ALIASES.get(f, f)
        if f not in FORMATS:
            raise ReportError(
                f"--format {f!r} is not a report format; use one or more of {', '.join(FORMATS)} "
                "(comma-separated)"
            )
        out.append(f)
    if not out:
        raise ReportError(f"--format is empty; use one or more of {', '.join(FORMATS)}")
    return list(dict.fromkeys(out))


@dataclass
class Section:
    number: int  # consecutive over the sections this report has
    key: str
    title: str
    blocks: list[tuple[Table | None, list[Figure]]]  # each table with the figures that illustrate it

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}"

    @property
    def anchor(self) -> str:
        return f"s-{self.key}"


def sections(tables: list[Table], figures: list[Figure]) -> list[Section]:
    """The report's sections in order, numbered 1, 2, 3... over those present; in each, every table
    followed by its figures, then the figures of no table of the section."""
    out = []
    for key, title in SECTIONS.items():
        ts = [t for t in tables if t.section == key]
        fs = [f for f in figures if f.section == key]
        if not ts and not fs:
            continue
        keys = {t.key for t in ts}
        blocks: list[tuple[Table | None, list[Figure]]] = [(t, [f for f in fs if f.table == t.key]) for t in ts]
        loose = [f for f in fs if f.table not in keys]
        if loose:
            blocks.append((None, loose))
        out.append(Section(len(out) + 1, key, title, blocks))
    return out


def header(coll: Collection) -> tuple[str, list[str]]:
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    runs = coll.runs
    lines = [
        ("Results folder: " if len(coll.roots) == 1 else "Results folders: ")
        + ", ".join(map(str, coll.roots)),
        f"Finished runs read: {len(runs)}; unfinished (not read): {len(coll.unfinished)}",
        f"Generated {now} by ferbench {__version__}",
    ]
    if len(runs):
        lines.append("Datasets: " + ", ".join(sorted(map(str, runs["dataset"].unique()))))
    return "ferbench report", lines


def write_markdown(path: Path, coll: Collection, secs: list[Section]) -> Path:
    title, head = header(coll)
    out = [f"# {title}", "", *[f"- {markdown_text(h)}" for h in head], ""]
    if coll.problems:
        out += ["## Problems", "", *[f"- {markdown_text(p)}" for p in coll.problems], ""]
    for sec in secs:
        out += [f"## {sec.heading}", ""]
        for t, fs in sec.blocks:
            if t is not None:
                out += [f"### {markdown_text(t.title)}", "", markdown_table(t), ""]
                if t.note:
                    out += [f"_{markdown_text(t.note)}_", ""]
            for f in fs:
                rel = f.png.relative_to(path.parent).as_posix()
                out += [f"![{markdown_text(f.caption)}]({rel})", "", f"_{markdown_text(f.caption)}_", ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return path


LATEX_TEXT_WIDTH_IN = 26.7 / 2.54  # A4 landscape less the margins, as in the preamble below
LATEX_FIGURE_HEIGHT_IN = 0.42 * (21.0 - 3.0) / 2.54  # two rows of figures and their captions a page


def _figure_width_in(f: Figure) -> float:
    """The width (inches) to include a figure at: its own size, shrunk to fit the text block."""
    from PIL import Image

    with Image.open(f.png) as im:
        w, h = (x / figs.style.DPI for x in im.size)
    return min(w, LATEX_TEXT_WIDTH_IN, w * LATEX_FIGURE_HEIGHT_IN / h)


def _latex_figures(fs: list[Figure], base: Path) -> list[str]:
    """Figures at their own size, packed side by side in rows that fit the line, each with its caption
    under it (minipages: no float limit, never split from the caption)."""
    out, row, used = [], [], 0.0
    rows = []
    for f in fs:
        w = _figure_width_in(f)
        if row and used + w + 0.2 > LATEX_TEXT_WIDTH_IN:
            rows.append(row)
            row, used = [], 0.0
        row.append((f, w))
        used += w + 0.2
    if row:
        rows.append(row)
    for row in rows:
        out.append(r"\par\medskip{\centering")
        for f, w in row:
            rel = f.pdf.relative_to(base).as_posix()
            out += [
                rf"\begin{{minipage}}[t]{{{w:.2f}in}}\centering",
                rf"\includegraphics[width={w:.2f}in]{{{rel}}}\par",
                rf"{{\footnotesize {latex_text(f.caption)}\par}}",
                r"\end{minipage}\hspace{0.2in}",
            ]
        out.append(r"\par}")
    return out


def write_latex(path: Path, coll: Collection, secs: list[Section]) -> Path:
    """A standalone document (article, booktabs, longtable, graphicx) that compiles with pdflatex and
    only the packages of texlive-latex-base and -recommended. Every table fits the text width and every
    symbol is typeset (``\\tracinglostchars`` reports any glyph a font lacks)."""
    title, head = header(coll)
    out = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[a4paper,landscape,margin=1.5cm]{geometry}",
        *LATEX_PREAMBLE,
        r"\tracinglostchars=2",
        rf"\title{{{latex_text(title)}}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\begin{itemize}",
        *[rf"\item {latex_text(h)}" for h in head],
        r"\end{itemize}",
    ]
    if coll.problems:
        out += [
            r"\section*{Problems}",
            r"\begin{itemize}",
            *[rf"\item {latex_text(p)}" for p in coll.problems],
            r"\end{itemize}",
        ]
    for sec in secs:
        out += [rf"\section*{{{latex_text(sec.heading)}}}"]
        for t, fs in sec.blocks:
            if t is not None:
                out += [rf"\subsection*{{{latex_text(t.title)}}}", r"{\footnotesize", latex_table(t), "}"]
                if t.note:
                    out += [rf"\par\emph{{\footnotesize {latex_text(t.note)}}}\par"]
            out += _latex_figures(fs, path.parent)
        out.append(r"\clearpage")
    out.append(r"\end{document}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def write_csv(folder: Path, coll: Collection, tables: list[Table]) -> dict[str, Path]:
    """One tidy CSV per table (numbers: mean, std, n), plus the runs table itself and the problems."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    runs = coll.runs.drop(columns=["classes"]).assign(classes=coll.runs["classes"].str.replace("|", " "))
    runs.to_csv(folder / "runs.csv", index=False)
    written["csv:runs"] = folder / "runs.csv"
    for t in tables:
        p = folder / f"{t.key}.csv"
        t.data.drop(columns=[c for c in ("run_ids",) if c in t.data]).to_csv(p, index=False)
        written[f"csv:{t.key}"] = p
    pd.DataFrame({"problem": coll.problems}).to_csv(folder / "problems.csv", index=False)
    written["csv:problems"] = folder / "problems.csv"
    return written


def build_report(
    results_dir: str | Path,
    out_dir: str | Path = Path("results/reports"),
    formats=("markdown", "latex"),
    *,
    filter: str | None = None,  # noqa: A002 (the CLI option's name)
    group_by: str | list[str] | None = None,
    metric: str = "accuracy",
    figures: bool = True,
    baseline: str | None = None,
) -> ReportPaths:
    """Write the report of every run under ``results_dir`` into ``out_dir``; returns ``{name: path}``.

    ``formats``: any of markdown, latex, csv, html (a sequence or a comma list). ``filter``: a pandas
    query over the runs table (or ``col=v1|v2,col=v``). ``group_by``: the columns that identify one
    model (runs sharing them are averaged; default dataset, arch, attention, activation, heads).
    ``metric``: the grid table's and heat map's metric. ``baseline``: a setup (``grid``) name; adds the
    ablation table, every other setup against it. ``results_dir`` may be a list of folders. Problems (no
    runs, unfinished runs, mixed class sets, unreadable files) are listed in the report and in
    ``.problems``; the rest is still written.
    """
    fmts = parse_formats(formats)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ReportError(f"--out {out} is a file: pass a folder to write the report into")
    coll = collect(results_dir, filter=filter)
    keys = check_group_by(coll.runs, group_by.split(",") if isinstance(group_by, str) else group_by)
    if len(coll.runs) and metric not in coll.runs.columns:
        numeric = [c for c in coll.runs.columns if pd.api.types.is_numeric_dtype(coll.runs[c])]
        raise ReportError(f"--metric {metric!r} is not a run metric; use one of {', '.join(numeric)}")
    if baseline and len(coll.runs):
        match_setup(coll.runs["grid"], baseline)  # a wrong name fails before anything is written
    out.mkdir(parents=True, exist_ok=True)
    comparison = compare(coll)
    tables = all_tables(coll, comparison, keys, metric, baseline)
    tables += crossdata_tables(coll, collect_evals(coll))  # sections() puts it in its place
    made = (
        figs.all_figures(coll, out / "figures", keys, metric, pdf="latex" in fmts)
        if figures and len(coll.runs)
        else []
    )
    secs = sections(tables, made)
    written = ReportPaths()
    if "markdown" in fmts:
        written["markdown"] = write_markdown(out / "report.md", coll, secs)
    if "latex" in fmts:
        written["latex"] = write_latex(out / "report.tex", coll, secs)
    if "html" in fmts:
        from ferbench.report.page import write_html

        written["html"] = write_html(out / "report.html", coll, secs, header(coll))
    if "csv" in fmts:
        written.update(write_csv(out / "csv", coll, tables))
    for f in made:
        for p in f.paths:
            written[f"figure:{p.name}"] = p
    written.problems = list(coll.problems)
    return written
