"""The two annual treaty reports as documents: Amended Protocol II's national annual report
(Article 13(4), due 31 March) and the Ottawa Convention's transparency report (Article 7,
Forms A to J, due 30 April), each for a calendar year.

The parts a ledger can fill are filled from its records at the year's end (:mod:`.parts`);
a part that stands (mined areas, records) and equals the previous year's end says
"unchanged since the report for" that year; every other part is a marked blank for the
State to complete. The documents are drafts for the national authority, never a filing.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..catalog.loader import Catalog
from ..history import LedgerAt
from ..ledger import Ledger
from ..locale import N_, say, translator
from ..release.accounting import Period, dated_layers
from ..report.document import Report, Section, TableBlock
from . import parts
from .parts import Part

FIRST_YEAR, LAST_YEAR = 1997, 2200  # the Ottawa Convention was signed in 1997
TREATIES = ("apii", "ottawa")

WARNING = N_("A draft from the ledger's records, for the national authority to check and "
             "complete: not a filing. No figure here releases land or sets an area's status; "
             "land is released only by survey and clearance.")
FOR_THE_STATE = N_("[ TO BE COMPLETED BY THE STATE ] The ledger holds nothing of this kind.")
NOTHING = N_("Nothing recorded in the ledger for this part.")
UNCHANGED = N_("Unchanged since the report for {year}.")

# (key, title, what a ledger cannot tell about it): the parts left to the State
_OTTAWA_BLANKS = {
    "A": N_("National implementation measures (Article 9)"),
    "B": N_("Stockpiled anti-personnel mines"),
    "D": N_("Anti-personnel mines retained or transferred (Article 3)"),
    "E": N_("Status of conversion or decommissioning of production facilities"),
    "H": N_("Technical characteristics of each type of anti-personnel mine produced or "
            "owned"),
    "J": N_("Other relevant matters (victim assistance)"),
}
_APII_BLANKS = {
    "a": N_("Dissemination of information on the Protocol to the armed forces and the "
            "civilian population"),
    "d": N_("Legislation related to the Protocol"),
    "e": N_("International technical information exchange, cooperation on mine clearance, "
            "technical cooperation and assistance"),
    "f": N_("Other relevant matters"),
}


def year_period(year: int) -> Period:
    """The calendar year, whole days in UTC; a year outside 1997-2200 is a typing slip."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(say("--year {year}: a year from {first} to {last}", year=year,
                             first=FIRST_YEAR, last=LAST_YEAR))
    start = pd.Timestamp(f"{year}-01-01", tz="UTC")
    return Period(start, pd.Timestamp(f"{year + 1}-01-01", tz="UTC")
                  - pd.Timedelta(microseconds=1))


Builder = Callable[[dict[str, pd.DataFrame], Catalog, Period, str], pd.DataFrame]


def _stock(build: Callable[[dict[str, pd.DataFrame], Catalog, pd.Timestamp, str],
                           pd.DataFrame]) -> Builder:
    return lambda layers, catalog, period, lang: build(layers, catalog, period.end, lang)


_PROGRAMMES = N_("Technical survey and clearance under way in the year, by organisation, "
                 "kind and method: square metres reduced and cleared by the activities "
                 "finished in the year, and the items they found.")


def _filled(treaty: str) -> list[tuple[str, str, str, Builder, bool]]:
    """(key, title, explanation, builder, stands) of each part the ledger fills."""
    if treaty == "ottawa":
        return [
            ("C", N_("Location of mined areas"), N_(
                "Each hazard area open at the year's end that holds a record of "
                "anti-personnel mines: its location, open area, the types and quantities "
                "recorded as laid, when they were laid, and how many of them were found by "
                "then. Quantities are as recorded; a range where the record gives one."),
             _stock(parts.mined_areas), True),
            ("F", N_("Status of programmes for the destruction of anti-personnel mines in "
                     "mined areas"), _PROGRAMMES, parts.clearance_programmes, False),
            ("G", N_("Anti-personnel mines destroyed after entry into force, by type"), N_(
                "Anti-personnel mines found in survey and clearance in the year, by type and "
                "the state they were found in. The ledger records finding, and so removal; "
                "the number destroyed is for the State to confirm."),
             parts.destroyed_by_type, False),
            ("I", N_("Measures to warn the population: risk education"), N_(
                "Risk education sessions held in the year, by region and organisation, and "
                "whom they reached: girls and boys under 18, women, men, and people whose sex "
                "or age was not recorded. Marking of hazardous areas is not recorded in the "
                "ledger: [ TO BE COMPLETED BY THE STATE ]."),
             parts.risk_education, False),
        ]
    return [
        ("b", N_("Mine clearance and rehabilitation programmes"), _PROGRAMMES,
         parts.clearance_programmes, False),
        ("c", N_("Technical requirements: recorded mined areas (Technical Annex 1)"), N_(
            "Each record of items laid by the year's end in an area still open then: where "
            "its perimeter lies, its extent and area, its point or line and its remarks as "
            "recorded (where reference points are written), type, number, dates of laying, "
            "and self-destruct and self-deactivation periods as recorded and as the catalog "
            "gives them (with the catalog's source)."),
         _stock(parts.recorded_mined_areas), True),
        ("c", N_("Technical requirements: self-destruction and self-deactivation (Technical "
                 "Annex 3(a))"), N_(
            "Per type recorded: the catalog check's verdict under each scenario, and what "
            "the findings by the year's end say at 30 and 120 days after laying (the share, "
            "its 90 % interval, and whether it is above the ceiling of 10 % not "
            "self-destroyed and 0.1 % still functioning)."),
         _stock(parts.annex_verdicts), True),
    ]


def treaty_parts(ledger: Ledger, treaty: str, year: int, lang: str) -> list[Part]:
    """Every part of ``treaty``'s report for ``year``, filled or marked for the State, in
    the form's order."""
    if treaty not in TREATIES:
        raise ValueError(f"treaty {treaty!r}: one of {', '.join(TREATIES)}")
    period, before = year_period(year), year_period(year - 1) if year > FIRST_YEAR else None
    # a report covers a whole year: one not ended when the ledger stood so would be partial
    stood = ledger.moment if isinstance(ledger, LedgerAt) else pd.Timestamp.now(tz="UTC")
    if period.end > stood:
        raise ValueError(say("--year {year}: the year had not ended at {moment}; a report "
                             "covers a whole calendar year", year=year,
                             moment=f"{stood:%Y-%m-%dT%H:%M:%SZ}"))
    layers, catalog = dated_layers(ledger), ledger.catalog
    found: list[Part] = []
    for key, title, explanation, build, stands in _filled(treaty):
        frame = build(layers, catalog, period, lang)
        unchanged = bool(stands and before is not None and len(frame) and frame.equals(
            build(layers, catalog, before, lang)))
        found.append(Part(key, title, explanation, frame, stands, unchanged))
    blanks = _OTTAWA_BLANKS if treaty == "ottawa" else _APII_BLANKS
    found += [Part(key, title, "", None) for key, title in blanks.items()]
    return sorted(found, key=lambda p: p.key.lower())


TITLES = {
    "apii": N_("Amended Protocol II, Article 13(4): national annual report for {year}"),
    "ottawa": N_("Ottawa Convention, Article 7: transparency report for {year}"),
}
_HEADINGS = {"apii": N_("Article 13(4)({key}): {title}"), "ottawa": N_("Form {key}: {title}")}


def treaty_report(ledger: Ledger, treaty: str, year: int, lang: str,
                  found: list[Part] | None = None) -> Report:
    """The report as a document the HTML, PDF and DOCX renderers draw (from ``found``, the
    parts :func:`treaty_parts` gave, if they are at hand)."""
    tr = translator(lang)
    found = treaty_parts(ledger, treaty, year, lang) if found is None else found
    now = pd.Timestamp.now(tz="UTC")
    stood = (ledger.stood if isinstance(ledger, LedgerAt) else tr(
        "{ledger} as it stands at {moment}").format(ledger=ledger.shown,
                                                     moment=f"{now:%Y-%m-%dT%H:%M:%SZ}"))
    sections = []
    for part in found:
        paragraphs = [tr(part.explanation)] if part.explanation else []
        tables: tuple[TableBlock, ...] = ()
        if part.frame is None:
            paragraphs.append(tr(FOR_THE_STATE))
        elif not len(part.frame):
            paragraphs.append(tr(NOTHING))
        else:
            if part.unchanged:
                paragraphs.append(tr(UNCHANGED).format(year=year - 1))
            tables = (TableBlock(tr(part.title), part.frame),)
        sections.append(Section(tr(_HEADINGS[treaty]).format(key=part.key, title=tr(part.title)),
                                tuple(paragraphs), tables=tables))
    filled = sum(p.frame is not None for p in found)
    return Report(
        title=tr(TITLES[treaty]).format(year=year), landscape=True,
        subtitle=tr("Filled from {ledger}, by the records' own dates up to {end}").format(
            ledger=stood, end=f"{year}-12-31"),
        summary=((tr("parts filled from the ledger"), f"{filled}"),
                 (tr("parts for the State to complete"), f"{len(found) - filled}")),
        sections=tuple(sections), warning=tr(WARNING),
        footer=tr("Item types and their periods: the ledger's catalog, each figure with its "
                  "source (hazardledger catalog list)."),
        lang=lang)
