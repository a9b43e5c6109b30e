"""``hazardledger exposure``, ``hazardledger places load`` and ``hazardledger check
proximity``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ..exposure.exposure import ATTRIBUTION, DEFAULT_BANDS_KM, proximity
from ..io.write import export_frame
from .common import DbOption, app, command_group, open_ledger, out, reports_bad_input
from .language import headings, say

check_app = command_group("check", "Checks for monitors.")
places_app = command_group("places", "Populated places (GeoNames by default, CC BY 4.0).")


def parse_bands(bands: str) -> list[float]:
    try:
        return [float(b) for b in bands.split(",")]
    except ValueError:
        raise ValueError(f"--bands {bands}: expected numbers in km, e.g. 1,5,10") from None


@places_app.command("load")
@reports_bad_input
def places_load(
    db: DbOption = None,
    country: Annotated[str | None, typer.Option(
        help="ISO country codes, e.g. UA or UA,MD (default: the ledger's extent, else all)")
    ] = None,
    min_population: Annotated[int, typer.Option("--min-population",
                                                help="Smallest place to load (>= 500)")] = 500,
) -> None:
    """Load (or refresh) the GeoNames populated places shipped offline."""
    ledger = open_ledger(db)
    countries = [c.strip() for c in country.split(",")] if country else []
    report = ledger.load_geonames_places(countries, min_population)
    written = report.written
    out.print(say("places: {n} GeoNames populated places ({new} new, {refreshed} refreshed)",
                  n=f"{report.features:,}", new=f"{written.inserted if written else 0:,}",
                  refreshed=f"{written.updated if written else 0:,}"))
    out.print(say(ATTRIBUTION))


@app.command()
@reports_bad_input
def exposure(
    db: DbOption = None,
    bands: Annotated[str, typer.Option(help="Distance bands in km, e.g. 1,5,10")] = ",".join(
        f"{b:g}" for b in DEFAULT_BANDS_KM),
    output: Annotated[Path | None, typer.Option("--output", "-o", help=".csv, .geojson, .gpkg")
                      ] = None,
    top: Annotated[int, typer.Option(help="Rows to print")] = 15,
) -> None:
    """People near each hazard area: nearest place, population per distance band and a
    distance-weighted exposure index. Replaces the ledger's exposure layer (for QGIS)."""
    ledger = open_ledger(db)
    frame = ledger.exposure(parse_bands(bands), store=True)
    columns = [c for c in frame.columns if c.startswith("population_")]
    table = Table(*headings("area", "nearest place", "distance (m)"), *columns,
                  say("exposure index"), title=say("Exposure of people to hazard areas"))
    for row in frame.sort_values("exposure_index", ascending=False).head(top).to_dict("records"):
        table.add_row(str(row["area_id"]), str(row.get("nearest_place", "")),
                      f"{row.get('nearest_distance_m', float('nan')):,.0f}",
                      *(f"{row[c]:,.0f}" for c in columns), f"{row['exposure_index']:,.0f}")
    out.print(table)
    out.print(say(ATTRIBUTION))
    out.print(say("layer exposure updated"))
    if output is not None:
        out.print(say("wrote {path}", path=export_frame(frame, output, "exposure")))


@check_app.command("proximity")
@reports_bad_input
def check_proximity(
    km: Annotated[float, typer.Option("--km", help="Distance in km")],
    min_population: Annotated[int, typer.Option("--min-population",
                                                help="Places of at least this many people")],
    db: DbOption = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help=".csv")] = None,
) -> None:
    """Every record laid within KM of a place of at least MIN_POPULATION people — the
    restriction that non-persistent mines be used away from densely populated areas, made
    checkable."""
    if km <= 0 or min_population < 0:
        raise ValueError(say("--km must be above 0 and --min-population at least 0"))
    ledger = open_ledger(db)
    found = proximity(ledger.read("records"), ledger.places(), km, min_population)
    if found.empty:
        out.print(say("none found: no record lies within {km} km of a place of at least "
                      "{population} people", km=f"{km:g}", population=f"{min_population:,}"))
    else:
        table = Table(*headings("record", "item type", "laid from", "source", "place",
                                "population", "distance (m)"),
                      title=say("Records within {km} km of places of at least {population} "
                                "people", km=f"{km:g}", population=f"{min_population:,}"))
        for row in found.to_dict("records"):
            table.add_row(str(row["record_id"]), str(row["item_type"]),
                          f"{row['laid_from']:%Y-%m-%d %H:%M}", str(row["source"]),
                          str(row["place"]), f"{row['population']:,}",
                          f"{row['distance_m']:,.0f}")
        out.print(table)
    out.print(say(ATTRIBUTION))
    if output is not None:
        found.assign(attribution=ATTRIBUTION).to_csv(output, index=False)
        out.print(say("wrote {path}", path=output))
