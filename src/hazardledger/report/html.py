"""The report as one self-contained HTML5 file: inline CSS, images embedded as data URIs,
no scripts, fonts or links to fetch, so it can be mailed on or opened offline."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from ..locale import Translate, translator
from .document import Figure, Report, Section, TableBlock

CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  line-height: 1.45; color: #1a1a1a; background: #fff; max-width: 60rem;
  margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.8rem; margin: 0 0 .3rem; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #ccc; padding-bottom: .2rem;
  margin-top: 2.2rem; }
.subtitle { color: #555; margin-top: 0; }
.warning { border: 3px solid #b00020; background: #fdecee; color: #b00020;
  font-weight: bold; padding: .8rem 1rem; margin: 1rem 0; }
.section-warning { border-left: 5px solid #b00020; background: #fdecee; color: #7a0016;
  font-weight: bold; padding: .4rem .8rem; margin: .8rem 0; }
.summary { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr));
  gap: .6rem; margin: 1rem 0; padding: 0; }
.summary div { border: 1px solid #ccc; border-radius: 4px; padding: .5rem .7rem; }
.summary dt { font-size: .85rem; color: #555; }
.summary dd { margin: .2rem 0 0; font-size: 1.25rem; font-weight: bold; }
nav ol { padding-left: 1.4rem; }
a { color: #0b57d0; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; display: block; border: 1px solid #ddd; }
figcaption, .note { font-size: .85rem; color: #555; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 1rem 0 .3rem; font-size: .85rem; width: 100%; }
caption { text-align: left; font-weight: bold; padding-bottom: .3rem; }
th, td { border: 1px solid #ccc; padding: .25rem .45rem; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #f7f7f7; }
.empty { font-style: italic; color: #555; }
footer { margin-top: 2.5rem; border-top: 2px solid #ccc; padding-top: .5rem; }
.attribution { font-size: .85rem; color: #444; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  a { color: inherit; text-decoration: none; }
  nav { break-after: page; }
  section.heavy { break-before: page; }
  figure, tr, .warning, .summary div { break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap { overflow: visible; }
  .warning, .section-warning, th, tbody tr:nth-child(even) {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

# Sections this heavy start a new printed page, as in the PDF.
HEAVY_ROWS = 15


def render_html(report: Report) -> str:
    """The report as one self-contained HTML5 document (every text escaped)."""
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{escape(report.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(report.title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(report.title)}</h1>",
        f'<p class="subtitle">{escape(report.subtitle)}</p>',
        _warning_box(report.warning),
        _summary(report.summary),
        "</header>",
        _contents(report.sections, _contents_heading(report.lang)),
        "<main>",
        *(_section(i, s, translator(report.lang))
          for i, s in enumerate(report.sections, start=1)),
        "</main>",
        "<footer>",
        _warning_box(report.warning),
        f'<p class="attribution">{escape(report.footer)}</p>',
        "</footer>",
        "</body>",
        "</html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def write_html(report: Report, path: str | Path) -> Path:
    """Render the report and write it to ``path`` (UTF-8); returns the path written."""
    target = Path(path)
    target.write_text(render_html(report), encoding="utf-8")
    return target


def _anchor(index: int) -> str:
    # Numbered ids stay unique and valid whatever the heading's script or punctuation.
    return f"section-{index}"


def _warning_box(text: str) -> str:
    return f'<div class="warning" role="alert"><p>⚠ {escape(text)}</p></div>'


def _summary(summary: tuple[tuple[str, str], ...]) -> str:
    if not summary:
        return ""
    items = "".join(f"<div><dt>{escape(label)}</dt><dd>{escape(value)}</dd></div>"
                    for label, value in summary)
    return f'<dl class="summary">{items}</dl>'


def _contents_heading(lang: str) -> str:
    tr = translator(lang)
    return tr("Contents")


def _contents(sections: tuple[Section, ...], heading: str) -> str:
    if not sections:
        return ""
    links = "".join(f'<li><a href="#{_anchor(i)}">{escape(s.heading)}</a></li>'
                    for i, s in enumerate(sections, start=1))
    return (f'<nav aria-label="{escape(heading)}"><h2>{escape(heading)}</h2><ol>{links}</ol>'
            "</nav>")


def _is_heavy(section: Section) -> bool:
    return bool(section.figures) or any(len(t.frame) > HEAVY_ROWS for t in section.tables)


def _section(index: int, section: Section, tr: Translate) -> str:
    heavy = ' class="heavy"' if _is_heavy(section) else ""
    parts = [f'<section id="{_anchor(index)}"{heavy}>', f"<h2>{escape(section.heading)}</h2>"]
    parts += [f'<div class="section-warning">{escape(w)}</div>' for w in section.warnings]
    parts += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
    parts += [_figure(f) for f in section.figures]
    parts += [_table(t, tr) for t in section.tables]
    parts.append("</section>")
    return "\n".join(parts)


def _figure(figure: Figure) -> str:
    data = base64.b64encode(figure.png).decode("ascii")
    width, height = figure.size
    caption = escape(figure.caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{caption}" '
            f'width="{width}" height="{height}"><figcaption>{caption}</figcaption></figure>')


def _table(table: TableBlock, tr: Translate) -> str:
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    if table.empty:
        return (f'<p><strong>{escape(table.caption)}</strong></p>'
                f'<p class="empty">{escape(tr("nothing recorded"))}</p>{note}')
    numeric = table.numeric_columns()
    head = "".join(f'<th scope="col">{escape(h)}</th>' for h in table.header())
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{escape(v)}</td>' if num else f"<td>{escape(v)}</td>"
                         for v, num in zip(row, numeric, strict=True)) + "</tr>"
        for row in table.rows())
    return (f'<div class="table-wrap"><table><caption>{escape(table.caption)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{note}")
