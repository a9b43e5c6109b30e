"""The ``hazardledger`` command.

Exit codes: 0 success, 2 bad input or usage (one line per problem on stderr),
1 internal fault.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .catalog.loader import CatalogError
from .domain.problems import InputRejected
from .domain.schema import LAYERS
from .ledger import Ledger, default_actor, default_location
from .store.base import StoreError

app = typer.Typer(help="Hazard Ledger: mine action records, residual hazard and priorities. "
                  "The model never releases land.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
audit_app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)
catalog_app = typer.Typer(help="Item types and their sourced parameters.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(catalog_app, name="catalog")

# Read through a pipe or a file, output keeps every value whole: tables take the width
# their values need instead of the 80 columns Rich assumes, which cut them with an ellipsis.
PIPED_WIDTH = 32_767
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else PIPED_WIDTH)
err = Console(stderr=True, soft_wrap=True, width=None if sys.stderr.isatty() else PIPED_WIDTH)
F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[str | None, typer.Option("--db", envvar="HAZARDLEDGER_DB",
                                              help="Ledger: a .gpkg path (default ./ledger.gpkg)")]
LayerOption = Annotated[str, typer.Option("--layer", "-l", help=f"One of: {', '.join(LAYERS)}")]


def fail(lines: list[str], code: int = 2) -> None:
    for line in lines:
        err.print(line, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def reports_bad_input(func: F) -> F:
    """Turn the project's input and store errors into exit code 2 with their messages."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _opened.clear()
        try:
            result = func(*args, **kwargs)
            for ledger in _opened:
                for note in ledger.notes:
                    err.print(f"note: {note}", markup=False, highlight=False)
            return result
        except InputRejected as exc:
            fail(exc.lines())
        except (StoreError, CatalogError, ValueError) as exc:
            fail([str(exc)])
    return wrapper  # type: ignore[return-value]


_opened: list[Ledger] = []  # this command's ledgers, whose notes are shown at its end


def _ledger(db: str | None) -> Ledger:
    ledger = Ledger(db or default_location())
    _opened.append(ledger)
    return ledger


def _parse_map(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--map {pair}: expected SOURCE=FIELD (or SOURCE= to drop it)")
        src, dst = pair.split("=", 1)
        mapping[src.strip()] = dst.strip()
    return mapping


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
             help="Places of these ISO country codes only, e.g. UA or UA,MD")] = None) -> None:
    """Create a ledger: empty but for the populated places of its extent (or countries)."""
    ledger = _ledger(db)
    existed = ledger.exists
    ledger.init()
    if extent:
        values = tuple(float(v) for v in extent.split(","))
        if len(values) != 4:
            raise ValueError("--extent: expected four numbers lon_min,lat_min,lon_max,lat_max")
        ledger.set_extent((values[0], values[1], values[2], values[3]))
    out.print(f"{'Opened existing' if existed else 'Created'} ledger {ledger.shown}")
    if ledger.access_note:
        err.print(ledger.access_note, markup=False, highlight=False)
    if places and not existed:
        countries = [c.strip() for c in country.split(",")] if country else []
        report = ledger.load_geonames_places(countries)
        written = report.written
        out.print(f"places: {written.inserted if written else 0:,} GeoNames populated places "
                  "loaded (GeoNames, geonames.org, CC BY 4.0)")


@app.command("import")
@reports_bad_input
def import_(
    file: Annotated[Path, typer.Argument(help="GeoJSON, GeoPackage, CSV, Shapefile or KML")],
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
    actor: Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR")] = None,
) -> None:
    """Import features into a layer: all of them after validation, or none."""
    ledger = _ledger(db)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TextColumn("step {task.completed:.0f} of {task.total:.0f}"),
                  TimeElapsedColumn(), console=err, transient=True) as bar:
        task = bar.add_task(f"importing {file.name} into {layer}", total=3)

        def stage(description: str) -> None:
            bar.update(task, description=description, advance=1)

        report = ledger.import_file(layer, file, mapping=_parse_map(map_ or []), crs=crs,
                                    source_layer=source_layer, dry_run=dry_run, update=update,
                                    repair=repair, actor=actor or default_actor(),
                                    progress=stage)
    for n in report.repaired:
        out.print(f"{file.name}:feature {n}: geometry: repaired with make_valid")
    if report.dry_run:
        out.print(f"{file.name}: {report.features} features valid for {layer}; nothing written "
                  "(--dry-run)")
    elif report.written:
        w = report.written
        out.print(f"{file.name}: {w.inserted} added, {w.updated} corrected in {layer} of "
                  f"{ledger.shown} (audit entries {w.first_seq}–{w.last_seq})")


@app.command()
@reports_bad_input
def export(
    layer: LayerOption,
    output: Annotated[Path, typer.Option("--output", "-o", help=".gpkg, .geojson, .csv, .shp, "
                                         ".kml")],
    db: DbOption = None,
    include_personal: Annotated[bool, typer.Option(help="Keep victims' personal fields")] = False,
) -> None:
    """Export a layer; victims' personal fields are redacted unless asked for."""
    path = _ledger(db).export(layer, output, include_personal=include_personal)
    out.print(f"wrote {path}")


@app.command()
@reports_bad_input
def layers(db: DbOption = None) -> None:
    """The ledger's layers and how many features each holds."""
    ledger = _ledger(db)
    table = Table("layer", "features", "description", title=ledger.shown)
    for name, schema in LAYERS.items():
        table.add_row(name, str(ledger.store.count(name)), schema.description)
    out.print(table)


@catalog_app.command("list")
@reports_bad_input
def catalog_list(db: DbOption = None) -> None:
    """Every item type: shipped, and added to this ledger."""
    from .catalog.present import catalog_table
    out.print(catalog_table(_ledger(db).catalog))


@catalog_app.command("show")
@reports_bad_input
def catalog_show(code: str, db: DbOption = None) -> None:
    """One item type's parameters per scenario, with intervals and sources."""
    from .catalog.present import item_type_detail
    out.print(item_type_detail(_ledger(db).catalog, code))


@catalog_app.command("check")
@reports_bad_input
def catalog_check(db: DbOption = None,
                  samples: Annotated[int, typer.Option(min=100)] = 4000,
                  seed: Annotated[int, typer.Option()] = 0) -> None:
    """Amended Protocol II Technical Annex 3(a) for every type and scenario, with 90 %
    intervals: at most 10 % fail to self-destruct in 30 days, at most 1 in 1,000
    functions at 120 days."""
    from .hazard.apii import apii_check

    check = apii_check(_ledger(db).catalog, n_samples=samples, seed=seed)
    table = Table("type", "scenario", "not self-destroyed at 30 d (90 % interval)",
                  "functioning at 120 d (90 % interval)", "Technical Annex 3(a)",
                  title="Amended Protocol II check (reference temperature 20 °C)")
    for row in check.to_dict("records"):
        table.add_row(row["code"], row["scenario"],
                      f"{row['sd_fail_30d_mean']:.4g} ({row['sd_fail_30d_q05']:.4g}–"
                      f"{row['sd_fail_30d_q95']:.4g})",
                      f"{row['functioning_120d_mean']:.4g} ({row['functioning_120d_q05']:.4g}–"
                      f"{row['functioning_120d_q95']:.4g})", row["verdict"])
    out.print(table)
    out.print("Design ceilings at two checkpoints only; they say nothing about the curve "
              "between or after them. A self-deactivated mine still holds explosive.")


@catalog_app.command("add")
@reports_bad_input
def catalog_add(file: Path, db: DbOption = None,
                actor: Annotated[str | None, typer.Option(envvar="HAZARDLEDGER_ACTOR")] = None
                ) -> None:
    """Add item types from a TOML file (same format as the shipped catalog) to this ledger."""
    codes = _ledger(db).add_item_types(file, actor=actor)
    out.print(f"added item types: {', '.join(codes)}")


@app.command()
@reports_bad_input
def demo(directory: Annotated[Path, typer.Argument(help="Where to build the demo ledger")] = Path(
        "demo")) -> None:
    """Build the SYNTHETIC demo ledger (one oblast, a few hundred hazard areas)."""
    from .demo.build import build_demo
    build_demo(directory, console=out)


# register the commands defined in the other cli_* modules
from . import (  # noqa: E402, F401
    cli_audit,
    cli_evidence,
    cli_exposure,
    cli_hazard,
    cli_keys,
    cli_priority,
    cli_report,
    cli_serve,
)


def main() -> None:
    """Entry point: usage errors exit 2 (click's convention), faults 1."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    # run as a script this module is __main__, not hazardledger.cli, on whose app the
    # other cli_* modules register their commands: run that one
    from hazardledger.cli import main as package_main

    package_main()
