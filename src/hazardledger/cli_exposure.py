"""``hazardledger exposure`` and ``hazardledger check proximity``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from .cli import DbOption, _ledger, app, out, reports_bad_input
from .exposure.exposure import ATTRIBUTION, DEFAULT_BANDS_KM, area_exposure, proximity
from .io.write import export_frame

check_app = typer.Typer(help="Checks for monitors.", no_args_is_help=True)
app.add_typer(check_app, name="check")


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
    distance-weighted exposure index."""
    try:
        edges = [float(b) for b in bands.split(",")]
    except ValueError:
        raise ValueError(f"--bands {bands}: expected numbers in km, e.g. 1,5,10") from None
    ledger = _ledger(db)
    areas = ledger.read("hazard_areas")
    frame = area_exposure(areas, ledger.read("places"), edges)
    columns = [c for c in frame.columns if c.startswith("population_")]
    table = Table("area", "nearest place", "distance (m)", *columns, "exposure index",
                  title="Exposure of people to hazard areas")
    for row in frame.sort_values("exposure_index", ascending=False).head(top).to_dict("records"):
        table.add_row(str(row["area_id"]), str(row.get("nearest_place", "")),
                      f"{row.get('nearest_distance_m', float('nan')):,.0f}",
                      *(f"{row[c]:,.0f}" for c in columns), f"{row['exposure_index']:,.0f}")
    out.print(table)
    out.print(ATTRIBUTION)
    if output is not None:
        geo = areas[["id", "geometry"]].rename(columns={"id": "area_id"}).merge(frame, on="area_id")
        out.print(f"wrote {export_frame(geo, output, 'exposure')}")


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
        raise ValueError("--km must be above 0 and --min-population at least 0")
    ledger = _ledger(db)
    found = proximity(ledger.read("records"), ledger.read("places"), km, min_population)
    if found.empty:
        out.print(f"none found: no record lies within {km:g} km of a place of at least "
                  f"{min_population:,} people")
    else:
        table = Table("record", "item type", "laid from", "source", "place", "population",
                      "distance (m)", title=f"Records within {km:g} km of places of at least "
                                            f"{min_population:,} people")
        for row in found.to_dict("records"):
            table.add_row(str(row["record_id"]), str(row["item_type"]),
                          f"{row['laid_from']:%Y-%m-%d %H:%M}", str(row["source"]),
                          str(row["place"]), f"{row['population']:,}",
                          f"{row['distance_m']:,.0f}")
        out.print(table)
    out.print(ATTRIBUTION)
    if output is not None:
        found.assign(attribution=ATTRIBUTION).to_csv(output, index=False)
        out.print(f"wrote {output}")
