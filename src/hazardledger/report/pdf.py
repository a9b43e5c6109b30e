"""The report as an A4 PDF drawn with fpdf2 (pure Python, fonts embedded).

DejaVu Sans comes from matplotlib's own data, so Cyrillic place names and signs such as
–, ≥ and × print without any system font installed.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib
from fpdf import FPDF
from fpdf.fonts import FontFace

from ..locale import Translate, translator
from .document import Figure, Report, Section, TableBlock

FONT = "DejaVu"
MARGIN = 15.0
BOTTOM = 18.0
RED = (176, 0, 32)
PINK = (253, 236, 238)
GREY = 85
HEAVY_ROWS = 15
MAX_CELL_CHARS = 300
MAX_COLUMNS = 30  # beyond this even 6 pt columns are too narrow for one character
PADDING = 1


class _ReportPDF(FPDF):
    """FPDF with the page number and a one-line warning at the foot of every page."""

    footer_text = ""
    page_text = "page {page} of {pages}"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=7)
        self.set_text_color(GREY)
        self.cell(self.epw - 25, 5, self.footer_text, align="L")
        self.cell(25, 5, self.page_text.format(page=self.page_no(), pages="{nb}"), align="R")
        self.set_text_color(0)


def write_pdf(report: Report, path: str | Path) -> Path:
    """Render the report as an A4 portrait PDF at ``path``; returns the path written."""
    pdf = _ReportPDF(orientation="landscape" if report.landscape else "portrait", unit="mm",
                     format="A4")
    fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    pdf.add_font(FONT, "", fonts / "DejaVuSans.ttf")
    pdf.add_font(FONT, "B", fonts / "DejaVuSans-Bold.ttf")
    pdf.add_font(FONT, "I", fonts / "DejaVuSans-Oblique.ttf")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=BOTTOM)
    pdf.set_title(report.title)
    pdf.set_subject(report.subtitle)
    pdf.set_creator("hazardledger")
    pdf.set_lang(report.lang)
    tr = translator(report.lang)
    pdf.page_text = tr("page {page} of {pages}")
    pdf.set_font(FONT, size=7)
    pdf.footer_text = _shorten(pdf, report.warning, pdf.epw - 27)

    pdf.add_page()
    links = _title_page(pdf, report)
    for section, link in zip(report.sections, links, strict=True):
        _section(pdf, section, link, tr)
    _closing(pdf, report)
    target = Path(path)
    pdf.output(str(target))
    return target


def _shorten(pdf: FPDF, warning: str, width: float) -> str:
    """The longest of: whole warning, first sentence, first clause, that fits ``width``."""
    first = re.split(r"(?<=[.!?])\s", warning.strip(), maxsplit=1)[0]
    clause = re.split(r"[:;]", first, maxsplit=1)[0].rstrip(" ,.")
    for text in (warning, first, clause):
        line = f"Hazard Ledger — {text}"
        if pdf.get_string_width(line) <= width:
            return line
    line = f"Hazard Ledger — {clause}"
    while line and pdf.get_string_width(line + "…") > width:
        line = line[:-1]
    return line.rstrip() + "…"


def _text(pdf: FPDF, text: str, size: float = 10, style: str = "", colour: int = 0,
          gap: float = 2) -> None:
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(colour)
    pdf.multi_cell(0, size * 0.5, text, align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(gap)


def _height(pdf: FPDF, text: str, size: float, style: str = "", padding: int = 0,
            width: float = 0, line: float | None = None) -> float:
    """How tall ``multi_cell`` would draw ``text`` (as :func:`_text`, :func:`_warning_box`
    or a table cell do), without drawing it."""
    pdf.set_font(FONT, style, size)
    height = pdf.multi_cell(width, line or size * 0.5, text, padding=padding, dry_run=True,
                            output="HEIGHT")
    assert isinstance(height, float)
    return height


def _warning_box(pdf: FPDF, text: str, size: float = 11) -> None:
    pdf.set_font(FONT, "B", size)
    pdf.set_draw_color(*RED)
    pdf.set_fill_color(*PINK)
    pdf.set_text_color(*RED)
    pdf.set_line_width(0.8 if size > 9 else 0.4)
    pdf.multi_cell(0, size * 0.5, f"⚠ {text}", border=1, fill=True, align="L",
                   padding=3 if size > 9 else 2, new_x="LMARGIN", new_y="NEXT")
    pdf.set_line_width(0.2)
    pdf.set_draw_color(0)
    # Tables take the current fill colour as their cells' background: reset it to white.
    pdf.set_fill_color(255)
    pdf.set_text_color(0)
    pdf.ln(4)


def _title_page(pdf: FPDF, report: Report) -> list[int]:
    """Title, subtitle, warning, key figures and contents; returns one link per section."""
    _text(pdf, report.title, 20, "B", gap=2)
    _text(pdf, report.subtitle, 10, colour=GREY, gap=5)
    _warning_box(pdf, report.warning)
    tr = translator(report.lang)
    if report.summary:
        _text(pdf, tr("Key figures"), 13, "B", gap=1)
        pdf.set_font(FONT, size=9)
        with pdf.table(col_widths=(3, 2), first_row_as_headings=False, text_align=("L", "R"),
                       borders_layout="HORIZONTAL_LINES", line_height=5.5, padding=PADDING,
                       v_align="MIDDLE") as table:
            for label, value in report.summary:
                row = table.row()
                row.cell(label, style=FontFace(color=GREY))
                row.cell(value, style=FontFace(emphasis="BOLD", size_pt=11))
        pdf.ln(6)
    links = [pdf.add_link() for _ in report.sections]
    if report.sections:
        _text(pdf, tr("Contents"), 13, "B", gap=1)
        pdf.set_font(FONT, size=10)
        for number, (section, link) in enumerate(zip(report.sections, links, strict=True), 1):
            pdf.multi_cell(0, 6, f"{number}. {section.heading}", link=link, align="L",
                           new_x="LMARGIN", new_y="NEXT")
    return links


def _section(pdf: FPDF, section: Section, link: int, tr: Translate) -> None:
    heavy = bool(section.figures) or any(len(t.frame) > HEAVY_ROWS for t in section.tables)
    # A heading alone at the foot of a page helps nobody: move it on with its first lines.
    if heavy or pdf.will_page_break(40):
        pdf.add_page()
    else:
        pdf.ln(6)
    pdf.set_link(link, y=pdf.y, page=pdf.page)
    pdf.start_section(section.heading)
    _text(pdf, section.heading, 15, "B", gap=3)
    for warning in section.warnings:
        _warning_box(pdf, warning, size=9)
    for paragraph in section.paragraphs:
        _text(pdf, paragraph, 10, gap=2.5)
    for figure in section.figures:
        _figure(pdf, figure)
    for table in section.tables:
        _table(pdf, table, tr)


def _figure(pdf: FPDF, figure: Figure) -> None:
    pixels_w, pixels_h = figure.size
    width = pdf.epw
    height = width * pixels_h / pixels_w
    tallest = pdf.eph - 25  # room for the caption under a full-page figure
    if height > tallest:
        height, width = tallest, tallest * pixels_w / pixels_h
    if pdf.will_page_break(height + 10):
        pdf.add_page()
    pdf.image(io.BytesIO(figure.png), x=pdf.l_margin + (pdf.epw - width) / 2, w=width,
              h=height, alt_text=figure.caption)
    pdf.ln(1)
    _text(pdf, figure.caption, 8.5, "I", colour=GREY, gap=5)


def _font_size(columns: int) -> float:
    """Fewer points for more columns, so wide tables still fit the page width."""
    return next((size for most, size in ((4, 9.0), (6, 8.0), (8, 7.0), (11, 6.5))
                 if columns <= most), 6.0)


def _clip(text: str, most: int) -> str:
    """One line of at most ``most`` characters: rows must stay shorter than a page."""
    text = " ".join(text.split())
    return text if len(text) <= most else text[: most - 1] + "…"


def _column_widths(pdf: FPDF, header: list[str], rows: list[list[str]]) -> list[float]:
    """Widths summing to the page width: narrow columns get what they need, the widest share
    the rest equally (and wrap)."""
    needs = []
    for j, name in enumerate(header):
        # Headers may wrap between words, but a single word should not break.
        pdf.set_font(FONT, "B")
        word = max((pdf.get_string_width(w) for w in name.split()), default=0.0)
        pdf.set_font(FONT, "")
        content = max((pdf.get_string_width(r[j]) for r in rows), default=0.0)
        needs.append(max(word, min(content, pdf.epw * 0.45)) + 2 * PADDING + 1)
    if sum(needs) <= pdf.epw:
        return [n * pdf.epw / sum(needs) for n in needs]
    cap, left = pdf.epw / len(needs), pdf.epw
    for done, need in enumerate(sorted(needs)):
        cap = left / (len(needs) - done)
        if need > cap:
            break
        left -= need
    return [min(n, cap) for n in needs]


def _table(pdf: FPDF, table: TableBlock, tr: Translate) -> None:
    if table.frame.shape[1] > MAX_COLUMNS:
        shown = tr("first {shown} of {columns} columns shown").format(
            shown=MAX_COLUMNS, columns=table.frame.shape[1])
        table = TableBlock(table.caption, table.frame.iloc[:, :MAX_COLUMNS],
                           f"{table.note}; {shown}" if table.note else shown)
    if table.empty:
        if pdf.will_page_break(15):
            pdf.add_page()
        _text(pdf, table.caption, 10, "B", gap=1)
        _text(pdf, tr("nothing recorded"), 9, "I", colour=GREY, gap=1)
    else:
        _draw_table(pdf, table)
    if table.note:
        _text(pdf, table.note, 8, "I", colour=GREY, gap=1)
    pdf.ln(4)


def _draw_table(pdf: FPDF, table: TableBlock) -> None:
    size = _font_size(table.frame.shape[1])
    pdf.set_font(FONT, size=size)
    line = pdf.font_size * 1.3
    header = [_clip(h, MAX_CELL_CHARS) for h in table.header()]
    rows = [[_clip(c, MAX_CELL_CHARS) for c in row] for row in table.rows()]
    widths = _column_widths(pdf, header, rows)
    # fpdf2 refuses a row taller than a page: a cell holds what fits in half a page, counted
    # in wide letters with slack for word wrapping.
    pdf.set_font(FONT, "B")
    limits = [max(8, int(max(1.0, (w - 2 * PADDING) / pdf.get_string_width("m"))
                         * pdf.eph / 2 / line * 0.6)) for w in widths]
    header = [_clip(h, n) for h, n in zip(header, limits, strict=True)]
    rows = [[_clip(c, n) for c, n in zip(row, limits, strict=True)] for row in rows]
    # The caption moves on with the header and the first row rather than stay alone.
    first = [max(_height(pdf, c, size, style, PADDING, w, line)
                 for c, w in zip(cells, widths, strict=True))
             for cells, style in ((header, "B"), (rows[0], ""))]
    if pdf.will_page_break(_height(pdf, table.caption, 10, "B") + 1 + sum(first)):
        pdf.add_page()
    _text(pdf, table.caption, 10, "B", gap=1)
    pdf.set_font(FONT, size=size)  # the table takes its cells' style from the current font
    align = tuple("R" if num else "L" for num in table.numeric_columns())
    with pdf.table(col_widths=widths, width=pdf.epw, text_align=align, line_height=line,
                   padding=PADDING, v_align="TOP", cell_fill_color=(246, 246, 246),
                   cell_fill_mode="ROWS", repeat_headings=1,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(225, 225, 225))
                   ) as drawn:
        drawn.row(header)
        for row in rows:
            drawn.row(row)


def _closing(pdf: FPDF, report: Report) -> None:
    """The warning again and the attribution, together, at the end of the document."""
    tr = translator(report.lang)
    needed = _height(pdf, f"⚠ {report.warning}", 11, "B", padding=3) + 4
    if report.footer:
        needed += _height(pdf, tr("Attribution"), 11, "B") + _height(pdf, report.footer,
                                                                     9) + 3
    if pdf.will_page_break(needed + 6):
        pdf.add_page()
    else:
        pdf.ln(6)
    _warning_box(pdf, report.warning)
    if report.footer:
        _text(pdf, tr("Attribution"), 11, "B", gap=1)
        _text(pdf, report.footer, 9, colour=GREY)
