"""``build_report``: collect a results folder, build every table and figure, write the chosen formats."""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import pandas as pd

from ferbench import __version__
from ferbench.report import figures as figs
from ferbench.report.collect import Collection, ReportError, check_group_by, collect
from ferbench.report.reported import compare
from ferbench.report.tables import (
    SECTIONS,
    Table,
    all_tables,
    html_table,
    latex_table,
    latex_text,
    markdown_table,
)

FORMATS = ("markdown", "latex", "csv", "html")
FORMAT_ALIASES = {"md": "markdown", "tex": "latex", "htm": "html"}

Figures = dict[str, list[tuple[str, list[Path]]]]


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


def _sections(tables: list[Table], figures: Figures):
    for key, title in SECTIONS.items():
        ts = [t for t in tables if t.section == key]
        fs = figures.get(key, [])
        if ts or fs:
            yield key, title, ts, fs


def _header(coll: Collection) -> tuple[str, list[str]]:
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    runs = coll.runs
    lines = [
        f"Results folder: {coll.root}",
        f"Finished runs read: {len(runs)}; unfinished (not read): {len(coll.unfinished)}",
        f"Generated {now} by ferbench {__version__}",
    ]
    if len(runs):
        lines.append("Datasets: " + ", ".join(sorted(map(str, runs["dataset"].unique()))))
    return "ferbench report", lines


def write_markdown(path: Path, coll: Collection, tables: list[Table], figures: Figures) -> Path:
    title, head = _header(coll)
    out = [f"# {title}", "", *[f"- {h}" for h in head], ""]
    if coll.problems:
        out += ["## Problems", "", *[f"- {p}" for p in coll.problems], ""]
    for _, sec, ts, fs in _sections(tables, figures):
        out += [f"## {sec}", ""]
        for t in ts:
            out += [f"### {t.title}", "", markdown_table(t), ""]
            if t.note:
                out += [f"_{t.note}_", ""]
        for caption, paths in fs:
            rel = paths[0].relative_to(path.parent).as_posix()
            out += [f"![{caption}]({rel})", "", f"_{caption}_", ""]
    path.write_text("\n".join(out), encoding="utf-8")
    return path


def write_latex(path: Path, coll: Collection, tables: list[Table], figures: Figures) -> Path:
    """A standalone document (article, booktabs, longtable, graphicx) that compiles with pdflatex."""
    title, head = _header(coll)
    out = [
        r"\documentclass[10pt]{article}",
        r"\usepackage[a4paper,landscape,margin=1.5cm]{geometry}",
        r"\usepackage{booktabs}",
        r"\usepackage{longtable}",
        r"\usepackage{graphicx}",
        r"\usepackage{array}",
        r"\setlength{\LTleft}{0pt}",
        r"\setlength{\LTright}{0pt}",
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
    for _, sec, ts, fs in _sections(tables, figures):
        out += [rf"\section*{{{latex_text(sec)}}}"]
        for t in ts:
            out += [rf"\subsection*{{{latex_text(t.title)}}}", r"{\footnotesize", latex_table(t), "}"]
            if t.note:
                out += [rf"\par\emph{{\footnotesize {latex_text(t.note)}}}\par"]
        for caption, paths in fs:
            pdf = next((p for p in paths if p.suffix == ".pdf"), paths[0])
            rel = pdf.relative_to(path.parent).as_posix()
            out += [
                r"\begin{figure}[htbp]\centering",
                rf"\includegraphics[width=0.7\linewidth,height=0.75\textheight,keepaspectratio]{{{rel}}}",
                rf"\par{{\small {latex_text(caption)}}}",
                r"\end{figure}",
            ]
        out.append(r"\clearpage")
    out.append(r"\end{document}")
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def write_html(path: Path, coll: Collection, tables: list[Table], figures: Figures) -> Path:
    from html import escape

    title, head = _header(coll)
    out = [
        "<!doctype html>",
        "<html><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}th{background:#f3f3f3}"
        "img{max-width:900px}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
        "<ul>" + "".join(f"<li>{escape(h)}</li>" for h in head) + "</ul>",
    ]
    if coll.problems:
        out += ["<h2>Problems</h2><ul>" + "".join(f"<li>{escape(p)}</li>" for p in coll.problems) + "</ul>"]
    for _, sec, ts, fs in _sections(tables, figures):
        out.append(f"<h2>{escape(sec)}</h2>")
        for t in ts:
            out += [f"<h3>{escape(t.title)}</h3>", html_table(t)]
            if t.note:
                out.append(f"<p><em>{escape(t.note)}</em></p>")
        for caption, paths in fs:
            rel = paths[0].relative_to(path.parent).as_posix()
            out.append(
                f"<figure><img src='{escape(rel)}' alt='{escape(caption)}'>"
                f"<figcaption>{escape(caption)}</figcaption></figure>"
            )
    out.append("</body></html>")
    path.write_text("\n".join(out), encoding="utf-8")
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
) -> ReportPaths:
    """Write the report of every run under ``results_dir`` into ``out_dir``; returns ``{name: path}``.

    ``formats``: any of markdown, latex, csv, html (a sequence or a comma list). ``filter``: a pandas
    query over the runs table (or ``col=v1|v2,col=v``). ``group_by``: the columns that identify one
    model (runs sharing them are averaged; default dataset, arch, attention, activation, heads).
    ``metric``: the grid table's and heat map's metric. Problems (no runs, unfinished runs, mixed class
    sets, unreadable files) are listed in the report and in ``.problems``; the rest is still written.
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
    out.mkdir(parents=True, exist_ok=True)
    comparison = compare(coll)
    tables = all_tables(coll, comparison, keys, metric)
    figures_by = (
        figs.all_figures(coll, out / "figures", keys, metric, pdf="latex" in fmts)
        if figures and len(coll.runs)
        else {}
    )
    written = ReportPaths()
    if "markdown" in fmts:
        written["markdown"] = write_markdown(out / "report.md", coll, tables, figures_by)
    if "latex" in fmts:
        written["latex"] = write_latex(out / "report.tex", coll, tables, figures_by)
    if "html" in fmts:
        written["html"] = write_html(out / "report.html", coll, tables, figures_by)
    if "csv" in fmts:
        written.update(write_csv(out / "csv", coll, tables))
    for made in figures_by.values():
        for _, paths in made:
            for p in paths:
                written[f"figure:{p.name}"] = p
    written.problems = list(coll.problems)
    return written
