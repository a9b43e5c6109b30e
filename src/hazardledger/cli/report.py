"""``hazardledger report``: a self-contained HTML or PDF report a programme manager can
hand on."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..hazard.parameters import DEFAULT_SAMPLES
from ..locale import language
from ..residual import DEFAULT_SCENARIO
from .common import (
    Config,
    DbOption,
    Samples,
    Scenario,
    Seed,
    StateAt,
    app,
    as_it_stood,
    err,
    open_ledger,
    out,
    parse_date,
    reports_bad_input,
)
from .language import say

FORMATS = (".html", ".pdf")


@app.command()
@reports_bad_input
def report(
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the estimate (YYYY-MM-DD)")],
    output: Annotated[list[Path], typer.Option(
        "--output", "-o", help="report.html and/or report.pdf (give -o twice for both)")],
    db: DbOption = None,
    state_at: StateAt = None,
    region: Annotated[str | None, typer.Option(help="One region's areas only")] = None,
    scenario: Scenario = DEFAULT_SCENARIO,
    config: Config = None,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
    proximity_km: Annotated[float, typer.Option(
        "--proximity-km", help="Proximity check: distance in km")] = 5.0,
    proximity_population: Annotated[int, typer.Option(
        "--proximity-population", help="Proximity check: places of at least this many "
                                       "people")] = 10_000,
    lang: Annotated[str | None, typer.Option(
        "--lang", help="uk or en; default: $HAZARDLEDGER_LANG, else the locale's")] = None,
) -> None:
    """Summary figures, map, curves with bands, priority tables, proximity findings,
    reliability fit, method and caveats — as HTML (one file, images embedded) or PDF."""
    from ..report.assemble import ReportRequest, build_report
    from ..report.html import write_html
    from ..report.pdf import write_pdf

    bad = [p for p in output if p.suffix.lower() not in FORMATS]
    if bad:
        raise ValueError(say("--output {name}: expected a .html or .pdf file", name=bad[0]))
    if proximity_km <= 0 or proximity_population < 0:
        raise ValueError(say("--proximity-km must be above 0 and --proximity-population at "
                             "least 0"))
    request = ReportRequest(parse_date(as_of, "--as-of"), scenario, region, samples, seed, config,
                            proximity_km, proximity_population, lang=language(lang))
    ledger = as_it_stood(open_ledger(db), state_at)
    with err.status(say("computing the report for {date}", date=f"{request.as_of:%Y-%m-%d}")):
        document = build_report(ledger, request)
    for path in output:
        written = (write_pdf(document, path) if path.suffix.lower() == ".pdf"
                   else write_html(document, path))
        out.print(say("wrote {path}", path=written))
