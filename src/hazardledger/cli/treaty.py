"""``hazardledger treaty apii|ottawa --year Y``: the annual treaty reports drafted from the
ledger, as editable DOCX, PDF or HTML, in English or Ukrainian."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..domain.text import printable
from ..locale import language, translator
from .common import (
    DbOption,
    StateAt,
    as_it_stood,
    command_group,
    err,
    open_ledger,
    out,
    output_file,
    reports_bad_input,
)
from .language import say

treaty_app = command_group("treaty", "Annual treaty reports drafted from the ledger: Amended "
                           "Protocol II Article 13(4) and Ottawa Convention Article 7.")
FORMATS = (".docx", ".pdf", ".html")

Year = Annotated[int, typer.Option("--year", help="The calendar year reported on")]
Output = Annotated[list[Path], typer.Option(
    "--output", "-o", help="report.docx, report.pdf and/or report.html (-o again for more)")]
Lang = Annotated[str | None, typer.Option(
    "--lang", help="uk or en; default: $HAZARDLEDGER_LANG, else the locale's")]


def _write(treaty: str, year: int, output: list[Path], db: str | None, state_at: str | None,
           lang: str | None) -> None:
    from ..report.docx import write_docx
    from ..report.html import write_html
    from ..report.pdf import write_pdf
    from ..treaty.forms import treaty_parts, treaty_report, year_period

    # every output checked before the work, not after it
    paths = [p for p in (output_file(path, FORMATS) for path in output) if p is not None]
    chosen = language(lang)
    year_period(year)
    ledger = as_it_stood(open_ledger(db), state_at)
    with err.status(say("drafting the report for {year}", year=year)):
        parts = treaty_parts(ledger, treaty, year, chosen)
        document = treaty_report(ledger, treaty, year, chosen, parts)
    writers = {".docx": write_docx, ".pdf": write_pdf, ".html": write_html}
    for path in paths:
        out.print(say("wrote {path}", path=writers[path.suffix.lower()](document, path)))
    tr = translator(chosen)
    table = Table(tr("part"), tr("title"), tr("from the ledger"))
    for part in parts:
        status = (tr("for the State to complete") if part.frame is None else
                  tr("nothing recorded") if not len(part.frame) else
                  tr("rows: {rows}, unchanged since {year}").format(
                      rows=len(part.frame), year=year - 1) if part.unchanged else
                  tr("rows: {rows}").format(rows=len(part.frame)))
        table.add_row(part.key, printable(tr(part.title)), status)
    out.print(table)
    if all(part.frame is None or not len(part.frame) for part in parts):
        err.print(say("{ledger} holds nothing for {year}: every part reads 'nothing "
                      "recorded'", ledger=printable(ledger.shown), year=year))


@treaty_app.command("apii")
@reports_bad_input
def apii(year: Year, output: Output, db: DbOption = None, state_at: StateAt = None,
         lang: Lang = None) -> None:
    """Amended Protocol II, Article 13(4): the national annual report's parts the ledger
    can fill (clearance programmes; recorded mined areas as Technical Annex 1 asks; the
    Annex 3(a) check per type, from the catalog and from findings), the others marked
    for the State to complete."""
    _write("apii", year, output, db, state_at, lang)


@treaty_app.command("ottawa")
@reports_bad_input
def ottawa(year: Year, output: Output, db: DbOption = None, state_at: StateAt = None,
           lang: Lang = None) -> None:
    """Ottawa Convention, Article 7: Forms C (mined areas), F (clearance programmes) and G
    (mines found and removed, by type) filled from the ledger; Forms A, B, D, E, H, I and J
    marked for the State to complete."""
    _write("ottawa", year, output, db, state_at, lang)
