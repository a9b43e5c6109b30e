"""Ledger commands: ``init``, ``import``, ``export``, ``layers`` and the ``demo``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..domain import dates
from ..domain.schema import LAYERS
from ..ledger import default_actor
from .common import (
    DbOption,
    LayerOption,
    StateAt,
    app,
    as_it_stood,
    err,
    open_ledger,
    out,
    parse_map,
    reports_bad_input,
)
from .language import headings, say


@app.command()
@reports_bad_input
def init(db: DbOption = None,
         extent: Annotated[str | None, typer.Option(
             help="Programme extent lon_min,lat_min,lon_max,lat_max (spots swapped coordinates)"
         )] = None,
         places: Annotated[bool, typer.Option(
             help="Load the GeoNames populated places shipped offline (population >= 500, "
                  "CC BY 4.0) into the places layer")] = True,
         country: Annotated[str | None, typer.Option(
             help="Places of these ISO country codes only, e.g. UA or UA,MD")] = None,
         date_format: Annotated[str | None, typer.Option(
             "--date-format", help="How the programme's files write dates that are not ISO "
             "8601: day-first (31.12.2024, 31/12/2024); imports read them so unless told "
             "otherwise")] = None) -> None:
    """Create a ledger: empty but for the populated places of its extent (or countries)."""
    fmt = dates.date_format(date_format) if date_format else None
    ledger = open_ledger(db)
    existed = ledger.exists
    ledger.init()
    if fmt is not None:
        ledger.set_date_format(fmt)
    if extent:
        values = tuple(float(v) for v in extent.split(","))
        if len(values) != 4:
            raise ValueError(say("--extent: expected four numbers lon_min,lat_min,lon_max,"
                                 "lat_max"))
        ledger.set_extent((values[0], values[1], values[2], values[3]))
    out.print(say("Opened existing ledger {ledger}", ledger=ledger.shown) if existed
              else say("Created ledger {ledger}", ledger=ledger.shown))
    if ledger.access_note:
        err.print(ledger.access_note)
    if places and not existed:
        countries = [c.strip() for c in country.split(",")] if country else []
        report = ledger.load_geonames_places(countries)
        written = report.written
        out.print(say("places: {n} GeoNames populated places loaded (GeoNames, "
                      "geonames.org, CC BY 4.0)", n=f"{written.inserted if written else 0:,}"))


@app.command("import")
@reports_bad_input
def import_(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, CSV, XLSX, Shapefile or KML")],
    layer: LayerOption,
    db: DbOption = None,
    map_: Annotated[list[str] | None, typer.Option(
        "--map", help="Rename SOURCE=FIELD; SOURCE= drops")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only; write nothing")
                       ] = False,
    update: Annotated[bool, typer.Option("--update", help="Ids already in the ledger are "
                                         "corrections (the audit trail keeps the old values)")
                      ] = False,
    repair: Annotated[bool, typer.Option("--repair", help="Fix invalid polygons with make_valid, "
                                         "and say which")] = False,
    crs: Annotated[str | None, typer.Option(help="CRS of a file that does not declare one")] = None,
    source_layer: Annotated[str | None, typer.Option(
        help="Layer inside a multi-layer file")] = None,
    outside_extent: Annotated[bool, typer.Option(
        "--outside-extent", help="Take features outside the programme's extent (they truly "
        "lie there)")] = False,
    date_format: Annotated[str | None, typer.Option(
        "--date-format", help="How the file writes dates that are not ISO 8601: day-first "
        "(31.12.2024, 31/12/2024) or iso; default: the ledger's setting, else iso")] = None,
    actor: Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR")] = None,
) -> None:
    """Import features into a layer: all of them after validation, or none."""
    fmt = dates.date_format(date_format) if date_format else None
    ledger = open_ledger(db)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("step {task.completed:.0f} of {task.total:.0f}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"importing {file.name} into {layer}", total=3)

        def stage(description: str) -> None:
            bar.update(task, description=description, advance=1)

        report = ledger.import_file(layer, file, mapping=parse_map(map_ or []), crs=crs,
                                    source_layer=source_layer, dry_run=dry_run, update=update,
                                    repair=repair, actor=actor or default_actor(),
                                    progress=stage, outside_extent=outside_extent,
                                    dates=fmt)
    for n in report.repaired:
        out.print(say("{file}:feature {n}: geometry: repaired with make_valid",
                      file=file.name, n=n))
    if report.flattened:
        shown = ", ".join(str(n) for n in report.flattened[:10])
        if len(report.flattened) > 10:
            shown += say(" and {n} more", n=f"{len(report.flattened) - 10:,}")
        err.print(say("note: {file}: heights (Z) or measures (M) dropped from features "
                      "{features}: the ledger is two-dimensional", file=file.name,
                      features=shown))
    if report.dry_run:
        out.print(say("{file}: {n} features valid for {layer}; nothing written (--dry-run)",
                      file=file.name, n=report.features, layer=layer))
    elif report.written:
        w = report.written
        out.print(say("{file}: {inserted} added, {updated} corrected in {layer} of {ledger} "
                      "(audit entries {first}–{last})", file=file.name, inserted=w.inserted,
                      updated=w.updated, layer=layer, ledger=ledger.shown, first=w.first_seq,
                      last=w.last_seq))


@app.command()
@reports_bad_input
def export(
    layer: LayerOption,
    output: Annotated[Path, typer.Option("--output", "-o", help=".gpkg, .geojson, .csv, .shp, "
                                         ".kml")],
    db: DbOption = None,
    include_personal: Annotated[bool, typer.Option(help="Keep victims' personal fields")] = False,
    state_at: StateAt = None,
) -> None:
    """Export a layer; victims' personal fields are redacted unless asked for."""
    ledger = as_it_stood(open_ledger(db), state_at)
    path = ledger.export(layer, output, include_personal=include_personal)
    out.print(say("wrote {path}", path=path))


@app.command()
@reports_bad_input
def layers(db: DbOption = None) -> None:
    """The ledger's layers and how many features each holds."""
    ledger = open_ledger(db)
    table = Table(*headings("layer", "features", "description"), title=ledger.shown)
    for name, schema in LAYERS.items():
        table.add_row(name, str(ledger.store.count(name)), say(schema.description))
    out.print(table)


@app.command()
@reports_bad_input
def demo(directory: Annotated[Path, typer.Argument(help="Where to build the demo ledger")] = Path(
        "demo")) -> None:
    """Build the SYNTHETIC demo ledger (one oblast, a few hundred hazard areas)."""
    from ..demo.build import build_demo
    build_demo(directory, console=out)
