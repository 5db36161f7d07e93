"""``report.html``: the report as one self-contained page a person reads in any browser, offline.

Everything is inside the file: the style, a few lines of vanilla JavaScript, and every figure as a
``data:`` URI, so the page can be mailed or archived and never reaches the network. It has a table of
contents, tables that sort by any column (click a header: ascending, descending, original order),
each figure beside the table it illustrates, the reproduced-vs-reported tables filterable by document
and by text, and, for every run, how it was made (command, git commit, store and its hash,
environment) one click away.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import pandas as pd

from ferbench.report import display as dp
from ferbench.report.collect import Collection
from ferbench.report.render import html_table, html_text
from ferbench.report.tables import slug

STYLE = """
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#d9dce1;--head:#f2f4f7;--accent:#1a5fb4}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);margin:0}
.layout{display:grid;grid-template-columns:17rem minmax(0,1fr);min-height:100vh}
nav{position:sticky;top:0;align-self:start;max-height:100vh;overflow:auto;padding:1rem 1rem 2rem;
    border-right:1px solid var(--line);background:#fafbfc;font-size:13px}
nav ol{list-style:none;padding-left:0;margin:.2rem 0}nav ol ol{padding-left:.9rem}nav li{margin:.15rem 0}
nav a{color:var(--fg);text-decoration:none}
nav a:hover{color:var(--accent);text-decoration:underline}nav ol ol{font-size:12px;color:var(--muted)}
main{padding:1rem 2rem 4rem;min-width:0}
h1{font-size:1.6rem;margin:.3rem 0}h2{font-size:1.3rem;margin:2rem 0 .6rem;border-bottom:2px solid var(--line)}
h3{font-size:1.02rem;margin:1.2rem 0 .4rem}
.meta{color:var(--muted);padding-left:1.2rem}
.block{display:flex;flex-wrap:wrap;gap:1rem 2rem;align-items:flex-start;margin-bottom:1rem}
.tbl{flex:1 1 30rem;min-width:0;max-width:100%;overflow-x:auto}
.figs{flex:1 1 26rem;display:flex;flex-wrap:wrap;gap:1rem;min-width:0}
.figs.alone{flex-basis:100%}
figure{margin:0;flex:1 1 24rem;max-width:46rem}figure img{width:100%;height:auto;border:1px solid var(--line)}
figcaption{font-size:12px;color:var(--muted);margin-top:.3rem}
table{border-collapse:collapse;font-size:12.5px;margin:.2rem 0}
th,td{border:1px solid var(--line);padding:3px 7px;vertical-align:top}
td[data-sort]{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
th{background:var(--head);position:sticky;top:0;cursor:pointer;user-select:none;text-align:left}
th::after{content:" \\2195";color:#aab}th[aria-sort=ascending]::after{content:" \\25B2";color:var(--fg)}
th[aria-sort=descending]::after{content:" \\25BC";color:var(--fg)}
.note{font-style:italic;color:var(--muted);font-size:12.5px;margin:.3rem 0}
.fn{font-size:12px;color:var(--muted);margin:.15rem 0}
.filters{display:flex;flex-wrap:wrap;gap:.6rem 1.2rem;align-items:center;padding:.5rem .8rem;margin:.5rem 0 1rem;
    background:var(--head);border:1px solid var(--line);border-radius:6px}
.filters input{min-width:16rem}.count{color:var(--muted)}
details summary{cursor:pointer;color:var(--accent)}details dl{margin:.3rem 0 .2rem;display:grid;
    grid-template-columns:max-content minmax(0,1fr);gap:.1rem .8rem}dt{color:var(--muted)}
dd{margin:0;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;overflow-wrap:anywhere}
.problems li{color:#a4000f}
@media (max-width:60rem){.layout{grid-template-columns:1fr}nav{position:static;max-height:none;
    border-right:0;border-bottom:1px solid var(--line)}}
"""

# Sorting: a click on a header cycles ascending → descending → the table's own order. Cells with a
# data-sort attribute sort as numbers (the Python side reads the leading number; "−" is a minus).
SCRIPT = """
document.querySelectorAll('table.sortable').forEach(function (table) {
  var body = table.tBodies[0];
  Array.from(body.rows).forEach(function (r, i) { r.dataset.i = i; });
  Array.from(table.tHead.rows[0].cells).forEach(function (th, col) {
    th.addEventListener('click', function () {
      var now = th.getAttribute('aria-sort') || 'none';
      var next = {none: 'ascending', ascending: 'descending', descending: 'none'}[now];
      Array.from(table.tHead.rows[0].cells).forEach(function (h) { h.removeAttribute('aria-sort'); });
      if (next !== 'none') th.setAttribute('aria-sort', next);
      var dir = next === 'descending' ? -1 : 1;
      var rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        if (next === 'none') return a.dataset.i - b.dataset.i;
        var x = a.cells[col], y = b.cells[col];
        if (!x || !y) return 0;
        var nx = x.dataset.sort, ny = y.dataset.sort;
        if (nx !== undefined && ny !== undefined) return dir * (parseFloat(nx) - parseFloat(ny));
        if (nx !== undefined) return -1;
        if (ny !== undefined) return 1;
        return dir * x.textContent.localeCompare(y.textContent, undefined, {numeric: true});
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
var doc = document.getElementById('doc-filter'), text = document.getElementById('row-filter');
function applyFilters() {
  var want = doc ? doc.value : '', q = text ? text.value.trim().toLowerCase() : '', shown = 0;
  document.querySelectorAll('[data-group]').forEach(function (block) {
    var on = !want || block.dataset.group === want;
    block.hidden = !on;
    block.querySelectorAll('tbody tr').forEach(function (r) {
      var hit = on && (!q || r.textContent.toLowerCase().indexOf(q) >= 0);
      r.hidden = !hit;
      if (hit) shown++;
    });
  });
  var c = document.getElementById('filter-count');
  if (c) c.textContent = shown + ' reported numbers shown';
}
if (doc) { doc.addEventListener('change', applyFilters); text.addEventListener('input', applyFilters); applyFilters(); }
"""


def data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def _figure(f) -> str:
    cap = html_text(f.caption)
    return (f"<figure id='f-{escape(f.key)}'><img src='{data_uri(f.png)}' alt='{escape(f.caption)}'>"
            f"<figcaption>{cap}</figcaption></figure>")


def _filters(groups: list[tuple[str, str]]) -> str:
    opts = "".join(f"<option value='{escape(g)}'>{html_text(title)}</option>" for g, title in groups)
    return ("<div class='filters'><label>Document <select id='doc-filter'><option value=''>all documents"
            f"</option>{opts}</select></label><label>Rows containing <input id='row-filter' type='search' "
            "placeholder='e.g. ResNet, compared, CK+'></label><span class='count' id='filter-count'></span></div>")


def _provenance(runs: pd.DataFrame) -> str:
    """Every run: what it is and its accuracy in a sortable table, and how it was made in a <details>."""
    if not len(runs):
        return "<p><em>(no finished runs)</em></p>"
    fields = (("command", "Command"), ("git_commit", "Git commit"), ("git_dirty", "Uncommitted changes"),
              ("store", "Store"), ("store_hash", "Store hash"), ("environment", "Environment"),
              ("path", "Run directory"))
    rows = []
    for r in runs.sort_values("run_id").to_dict("records"):
        items = "".join(
            f"<dt>{label}</dt><dd>{escape(str(r.get(k)))}</dd>" for k, label in fields
            if r.get(k) is not None and not (isinstance(r.get(k), float) and pd.isna(r.get(k))) and r.get(k) != ""
        ) or "<dt>recorded</dt><dd>nothing (config.json has no command, env or store)</dd>"
        commit = r.get("git_commit")
        summary = escape(str(r.get("command") or "how it was made"))
        if isinstance(commit, str) and commit:
            summary += f" · {escape(commit[:10])}"
        acc = r.get("accuracy")
        fold = "" if int(r.get("fold", -1)) == -1 else str(r["fold"])
        cells = [
            f"<td id='run-{escape(slug(r['run_id']))}'>{escape(r['run_id'])}</td>",
            f"<td>{escape(dp.dataset_name(r['dataset']))}</td>",
            f"<td>{escape(dp.model_name(r['arch'], r['attention']))}, "
            f"{escape(dp.ACTIVATION_NAMES.get(r['activation'], str(r['activation'])))}</td>",
            f"<td data-sort='{r['seed']}'>{escape(str(r['seed']))}</td>",
            f"<td data-sort='{fold}'>{fold}</td>" if fold else "<td>–</td>",
            f"<td data-sort='{100 * acc:.4f}'>{dp.number(acc, percent=True)}</td>" if pd.notna(acc) else "<td>–</td>",
            f"<td><details><summary>{summary}</summary><dl>{items}</dl></details></td>",
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("Run", "Dataset", "Model", "Seed", "Fold", "Accuracy", "Provenance"))
    return (f"<table class='sortable' id='t-runs'><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}"
            "</tbody></table><p class='note'>Click a run's provenance to see the command that made it, the git "
            "commit, the store it read (and its hash where recorded) and the package versions, as its "
            "config.json records them.</p>")


def write_html(path: Path, coll: Collection, secs, head: tuple[str, list[str]]) -> Path:
    """Write the page; ``secs`` are :func:`ferbench.report.build.sections`, ``head`` its title and lines."""
    title, lines = head
    toc, body = [], []
    for sec in secs:
        sub = []
        blocks = []
        groups = [(t.group, t.title) for t, _ in sec.blocks if t is not None and t.group]
        if groups:
            blocks.append(_filters(groups))
        for t, fs in sec.blocks:
            attr = f" data-group='{escape(t.group)}'" if t is not None and t.group else ""
            parts = [f"<div class='block'{attr}>"]
            if t is not None:
                sub.append(f"<li><a href='#t-{escape(t.key)}-h'>{html_text(t.title)}</a></li>")
                note = f"<p class='note'>{html_text(t.note)}</p>" if t.note else ""
                parts.append(f"<div class='tbl'><h3 id='t-{escape(t.key)}-h'>{html_text(t.title)}</h3>"
                             f"{html_table(t)}{note}</div>")
            if fs:
                cls = "figs" if t is not None else "figs alone"
                parts.append(f"<div class='{cls}'>" + "".join(_figure(f) for f in fs) + "</div>")
            parts.append("</div>")
            blocks.append("".join(parts))
        toc.append(f"<li><a href='#{sec.anchor}'>{escape(sec.heading)}</a><ol>{''.join(sub)}</ol></li>")
        body.append(f"<section id='{sec.anchor}'><h2>{escape(sec.heading)}</h2>{''.join(blocks)}</section>")
    n = len(secs) + 1
    toc.append(f"<li><a href='#s-runs'>{n}. Runs and their provenance</a></li>")
    body.append(f"<section id='s-runs'><h2>{n}. Runs and their provenance</h2>{_provenance(coll.runs)}</section>")
    problems = ""
    if coll.problems:
        problems = ("<section id='s-problems'><h2>Problems</h2><ul class='problems'>"
                    + "".join(f"<li>{escape(p)}</li>" for p in coll.problems) + "</ul></section>")
        toc.insert(0, "<li><a href='#s-problems'>Problems</a></li>")
    page = [
        "<!doctype html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        "<link rel='icon' href='data:,'>",  # no favicon request: the page never touches the network
        f"<title>{escape(title)}</title>",
        f"<style>{STYLE}</style></head><body><div class='layout'>",
        f"<nav aria-label='Contents'><strong>Contents</strong><ol>{''.join(toc)}</ol></nav>",
        "<main>",
        f"<h1>{escape(title)}</h1>",
        "<ul class='meta'>" + "".join(f"<li>{escape(h)}</li>" for h in lines) + "</ul>",
        problems,
        *body,
        "</main></div>",
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    path.write_text("\n".join(page), encoding="utf-8")
    return path
