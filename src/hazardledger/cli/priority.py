"""``hazardledger priorities``: hazard areas ranked for survey and clearance, and
communities ranked for risk education. The ranking never changes an area's status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..exposure.exposure import ATTRIBUTION
from ..figures import probability, probability_span
from ..hazard.parameters import DEFAULT_SAMPLES
from ..io.write import export_frame
from ..priority.ranking import NOT_A_RELEASE
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
    warning,
)
from .language import headings, say


@app.command()
@reports_bad_input
def priorities(
    as_of: Annotated[str, typer.Option("--as-of", help="Date of the estimate (YYYY-MM-DD)")],
    db: DbOption = None,
    state_at: StateAt = None,
    scenario: Scenario = DEFAULT_SCENARIO,
    config: Config = None,
    samples: Samples = DEFAULT_SAMPLES,
    seed: Seed = 0,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Ranked areas to .csv, .geojson or .gpkg")] = None,
    communities_output: Annotated[Path | None, typer.Option(
        "--communities", help="Ranked communities to .csv, .geojson or .gpkg")] = None,
    top: Annotated[int, typer.Option(help="Rows of each list to print")] = 10,
) -> None:
    """Rank open hazard areas for survey and clearance (each factor and the weights shown)
    and communities for risk education; replaces the ledger's priorities layer."""
    ledger = as_it_stood(open_ledger(db), state_at)
    when = parse_date(as_of, "--as-of")
    with err.status(say("ranking on {date} (scenario {scenario}, {samples} samples)",
                        date=f"{when:%Y-%m-%d}", scenario=scenario, samples=samples)):
        ranked, communities = ledger.priorities(when, scenario=scenario, samples=samples,
                                                seed=seed, config_path=config, store=True)
    table = Table(*headings("rank", "area", "score (90 %)", "P(any functions) (90 %)",
                            "expected functioning (90 %)", "exposure index", "land use",
                            "remaining m²", "incidents"),
                  title=say("Hazard areas for survey and clearance on {date}, scenario "
                            "{scenario}", date=f"{when:%Y-%m-%d}", scenario=scenario))
    for row in ranked.head(top).to_dict("records"):
        expected = (say("not modelled") if row["hazard_note"] else
                    f"{row['expected_q50']:,.3g} ({row['expected_q05']:,.3g}–"
                    f"{row['expected_q95']:,.3g})")
        table.add_row(str(row["rank"]), f"{row['area_id']} {row['name']}",
                      f"{row['score']:.2f} ({row['score_q05']:.2f}–{row['score_q95']:.2f})",
                      probability_span(row["p_any_mean"], row["p_any_q05"], row["p_any_q95"]),
                      expected, f"{row['exposure_index']:,.0f}", str(row["land_use"]),
                      f"{row['remaining_m2']:,.0f}", str(row["incidents"]))
    out.print(table)
    weights = ranked["weights"].iloc[0] if len(ranked) else ""
    out.print(say("Weights: {weights}", weights=weights))
    reach = Table(*headings("rank", "community", "population", "areas within reach",
                            "nearest area (m)", "expected functioning within reach", "P(any)"),
                  title=say("Communities for risk education (live hazard within reach)"))
    for row in communities.head(top).to_dict("records"):
        reach.add_row(str(row["rank"]), str(row["place"]), f"{row['population']:,}",
                      str(row["areas_within_reach"]), f"{row['nearest_area_m']:,.0f}",
                      f"{row['expected_within_reach']:,.3g} ({row['expected_low']:,.3g}–"
                      f"{row['expected_high']:,.3g})", probability(row["p_any_within_reach"]))
    out.print(reach)
    out.print(warning(NOT_A_RELEASE))
    out.print(say(ATTRIBUTION))
    out.print(say("layers priorities and exposure updated"))
    if output is not None:
        out.print(say("wrote {path}", path=export_frame(ranked, output, "priorities")))
    if communities_output is not None:
        out.print(say("wrote {path}",
                      path=export_frame(communities, communities_output, "communities")))
