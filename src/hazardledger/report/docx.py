"""A report as an editable Word document (DOCX, python-docx): what a national authority
completes and files, drawn from the same model as the HTML and the PDF.

Every text from data goes through :func:`~hazardledger.domain.text.printable`: a control
character cannot hide a line, and Word refuses a file holding one that XML forbids.
LibreOffice opens the DOCX and saves it as ODT; python-docx writes no ODT itself.
"""

from __future__ import annotations

import io
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentType
from docx.enum.section import WD_ORIENT
from docx.shared import Cm, Pt, RGBColor

from ..domain.text import printable
from ..locale import Translate, translator
from .document import Report, Section, TableBlock

RED = RGBColor(0xB0, 0x00, 0x20)
GREY = RGBColor(0x55, 0x55, 0x55)
WIDTH_CM = 17.0  # A4 portrait less 2 cm margins


def _text(value: object) -> str:
    return printable(value)


def write_docx(report: Report, path: str | Path) -> Path:
    """Render ``report`` as a DOCX at ``path``; returns the path written."""
    document = Document()
    for page in document.sections:  # A4, as the PDF
        page.page_width, page.page_height = (Cm(29.7), Cm(21.0)) if report.landscape else (
            Cm(21.0), Cm(29.7))
        page.orientation = WD_ORIENT.LANDSCAPE if report.landscape else WD_ORIENT.PORTRAIT
        page.left_margin = page.right_margin = Cm(2)
    properties = document.core_properties
    properties.title, properties.subject = _text(report.title), _text(report.subtitle)
    properties.language, properties.author = report.lang, "hazardledger"
    tr = translator(report.lang)
    document.add_heading(_text(report.title), level=0)
    subtitle = document.add_paragraph().add_run(_text(report.subtitle))
    subtitle.font.color.rgb = GREY
    _warning(document, report.warning)
    if report.summary:
        document.add_heading(tr("Key figures"), level=1)
        table = document.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        for label, value in report.summary:
            cells = table.add_row().cells
            cells[0].text, cells[1].text = _text(label), _text(value)
    for number, section in enumerate(report.sections, 1):
        _section(document, number, section, tr)
    _warning(document, report.warning)
    if report.footer:
        footer = document.add_paragraph().add_run(_text(report.footer))
        footer.font.size, footer.font.color.rgb = Pt(9), GREY
    target = Path(path)
    document.save(str(target))
    return target


def _warning(document: DocumentType, text: str) -> None:
    run = document.add_paragraph().add_run(f"⚠ {_text(text)}")
    run.bold, run.font.color.rgb = True, RED


def _section(document: DocumentType, number: int, section: Section, tr: Translate) -> None:
    document.add_heading(f"{number}. {_text(section.heading)}", level=1)
    for warning in section.warnings:
        _warning(document, warning)
    for paragraph in section.paragraphs:
        document.add_paragraph(_text(paragraph))
    for figure in section.figures:
        document.add_picture(io.BytesIO(figure.png), width=Cm(WIDTH_CM))
        document.add_paragraph().add_run(_text(figure.caption)).italic = True
    for table in section.tables:
        _table(document, table, tr)


def _table(document: DocumentType, block: TableBlock, tr: Translate) -> None:
    caption = document.add_paragraph().add_run(_text(block.caption))
    caption.bold = True
    if block.empty:
        document.add_paragraph().add_run(tr("nothing recorded")).italic = True
    else:
        header, rows = block.header(), block.rows()
        table = document.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, header, strict=True):
            cell.paragraphs[0].add_run(_text(text)).bold = True
        size = Pt(8 if len(header) > 6 else 9)
        for row in rows:
            for cell, text in zip(table.add_row().cells, row, strict=True):
                cell.paragraphs[0].add_run(_text(text)).font.size = size
    if block.note:
        document.add_paragraph().add_run(_text(block.note)).italic = True
