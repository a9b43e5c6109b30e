"""What a programme manager's report holds, gathered from a ledger into a renderer-free
:class:`~hazardledger.report.document.Report`: summary figures, the map, curves with
bands, the priority tables, the proximity findings, the reliability fit table, method
and caveats."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import __version__
from ..catalog.detection import detection_table
from ..evidence.table import fit_table
from ..exposure.distance import pairs_within
from ..exposure.exposure import ATTRIBUTION, DECAY_KM, proximity
from ..figures import probability_span
from ..hazard.inert import WARNING
from ..hazard.parameters import DEFAULT_SAMPLES
from ..ledger import Ledger, utc_timestamp
from ..locale import Translate, translator
from ..priority.ranking import NOT_A_RELEASE
from .document import Figure, Report, Section, TableBlock
from .maps import OUTLINES_CREDIT, plot_map
from .plots import plot_curve, plot_fits, plot_region_curves
from .release_page import release_section

MAX_REGION_CURVES = 6
TOP = 25


@dataclass(frozen=True)
class ReportRequest:
    """What the report is asked for."""

    as_of: pd.Timestamp
    scenario: str = "pessimistic"
    region: str | None = None
    samples: int = DEFAULT_SAMPLES
    seed: int = 0
    config_path: Path | None = None
    proximity_km: float = 5.0
    proximity_min_population: int = 10_000
    # the fit table (evidence.table.fit_table) when the caller has one for this scenario:
    # each type's intervals cost a bootstrap
    fits: pd.DataFrame | None = None
    lang: str = "en"  # the language people read it in (locale.LANGUAGES)


def _png(draw: Callable[[IO[bytes]], object]) -> bytes:
    buffer = io.BytesIO()
    draw(buffer)
    return buffer.getvalue()


def _figure(x: float) -> str:
    """About three significant figures, with thousands separators and never e-notation."""
    if pd.isna(x):
        return "–"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.3g}"


def _span(mid: float, low: float, high: float, digits: str | None = None) -> str:
    if digits is None:
        return f"{_figure(mid)} ({_figure(low)}–{_figure(high)})"
    return f"{mid:{digits}} ({low:{digits}}–{high:{digits}})"


def _in_region(frame: pd.DataFrame, areas: gpd.GeoDataFrame, region: str | None,
               column: str = "area_id") -> pd.DataFrame:
    if region is None:
        return frame
    return frame[frame[column].isin(areas["id"])]


def _people_near(places: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, km: float) -> float:
    """People in distinct places within ``km`` of any of the areas (each place once)."""
    place, _, _ = pairs_within(places.geometry.to_numpy(), areas.geometry.to_numpy(), km * 1000)
    return float(places["population"].to_numpy()[np.unique(place)].sum())


def build_report(ledger: Ledger, request: ReportRequest) -> Report:
    """Compute everything the report shows; raises ValueError for an unknown region."""
    as_of = utc_timestamp(request.as_of)
    every_area = gpd.GeoDataFrame(ledger.read("hazard_areas"))
    regions = sorted(every_area["region"].dropna().unique())
    if request.region is not None and request.region not in regions:
        raise ValueError(f"--region {request.region}: no hazard area in that region (regions: "
                         f"{', '.join(regions) or 'none'})")
    areas = (every_area if request.region is None
             else every_area[every_area["region"] == request.region])
    open_areas = areas[areas["status"].astype(str) == "open"]
    places = ledger.places()
    every_hazard = ledger.residual_hazard(as_of, scenario=request.scenario,
                                          samples=request.samples, seed=request.seed)
    ranked, communities = ledger.priorities(
        as_of, scenario=request.scenario, samples=request.samples, seed=request.seed,
        config_path=request.config_path, hazard=every_hazard)
    hazard = _in_region(every_hazard, areas, request.region)
    ranked = _in_region(ranked, areas, request.region)
    if request.region is not None:
        from ..priority.ranking import rank_communities
        from ..priority.weights import load_config

        communities = rank_communities(places, areas, hazard, load_config(request.config_path))
    records = gpd.GeoDataFrame(ledger.read("records"))
    records = records[records["area_id"].isin(areas["id"])] if request.region else records
    near = proximity(records, places, request.proximity_km, request.proximity_min_population)
    # from three years back, or from the first laying if that is later
    first_laid = pd.to_datetime(records["laid_from"], utc=True).min().ceil("D")
    start = max(as_of - pd.Timedelta(days=3 * 365), first_laid)
    end = as_of + pd.Timedelta(days=365)
    def curve(region: str | None) -> pd.DataFrame:
        return ledger.curve(start, end, region=region, scenario=request.scenario,
                            samples=request.samples, seed=request.seed)

    national = curve(request.region)
    whole = ledger.residual_hazard(as_of, by="region" if request.region else "national",
                                   scenario=request.scenario, samples=request.samples,
                                   seed=request.seed)
    if request.region:
        whole = whole[whole["region"] == request.region]
    top_regions = (hazard.groupby("region")["expected_mean"].sum().sort_values(ascending=False)
                   .index[:MAX_REGION_CURVES])
    region_curves = {r: curve(r) for r in top_regions}
    tr = translator(request.lang)
    unit = request.region or tr("national")
    title_when = tr("{date}, scenario {scenario}").format(date=f"{as_of:%Y-%m-%d}",
                                                          scenario=request.scenario)
    row = whole.iloc[0]
    within_1km, within_5km = (_people_near(places, open_areas, km) for km in (1, 5))
    summary = (
        (tr("Hazard areas open / closed"),
         f"{len(open_areas):,} / {len(areas) - len(open_areas):,}"),
        (tr("Records"), f"{len(records):,}"),
        (tr("Expected functioning items ({unit}, median, 90 %)").format(unit=unit),
         _span(row["expected_q50"], row["expected_q05"], row["expected_q95"], ",.0f")),
        (tr("P(at least one item functions)"),
         probability_span(row["p_any_mean"], row["p_any_q05"], row["p_any_q95"])),
        (tr("People in places within 1 km / 5 km of an open area"),
         f"{within_1km:,.0f} / {within_5km:,.0f}"),
        (tr("Incidents recorded in these areas"),
         f"{int(ranked['incidents'].sum()) if len(ranked) else 0:,}"),
        (tr("Records within {km} km of places of {people}+ people").format(
            km=f"{request.proximity_km:g}", people=f"{request.proximity_min_population:,}"),
         f"{near['record_id'].nunique():,}"),
    )
    sections = [
        _map_section(hazard, open_areas, areas, places, title_when, tr),
        _curve_section(national, region_curves, unit, tr),
        _priority_section(ranked, tr),
        _community_section(communities, tr),
        _proximity_section(near, request, tr),
        release_section(ledger, as_of, request.region, tr),
        _fit_section(ledger, request.scenario, request.fits, tr),
        _method_section(ledger, request, tr),
    ]
    where = (tr("Region {region}").format(region=request.region) if request.region
             else tr("All regions"))
    return Report(
        title=tr("Hazard Ledger report: residual hazard, exposure and priorities"),
        subtitle=tr("{where} — as of {when}; {samples} samples; generated by hazardledger "
                    "{version} from {ledger}").format(
            where=where, when=title_when, samples=request.samples, version=__version__,
            ledger=_source(ledger, tr)),
        summary=summary, sections=tuple(s for s in sections if s is not None),
        warning=f"{tr(WARNING)} {tr(NOT_A_RELEASE)}",
        footer=f"{tr(ATTRIBUTION)}. {OUTLINES_CREDIT}. "
               + tr("Item-type parameters: the sources listed under Method and caveats."),
        lang=request.lang)


def _source(ledger: Ledger, tr: Translate) -> str:
    """The ledger's file name, and the moment its state was taken from if not now."""
    name = Path(ledger.shown).name
    moment = getattr(ledger, "moment", None)  # a LedgerAt: the ledger as it stood
    if moment is None:
        return name
    return tr("{ledger} as it stood at {moment}").format(
        ledger=name, moment=f"{moment:%Y-%m-%dT%H:%M:%SZ}")


def _map_section(hazard: pd.DataFrame, open_areas: gpd.GeoDataFrame, areas: gpd.GeoDataFrame,
                 places: gpd.GeoDataFrame, when: str, tr: Translate) -> Section:
    shown = gpd.GeoDataFrame(hazard[hazard["area_id"].isin(open_areas["id"])])
    closed = areas[~areas["id"].isin(open_areas["id"])]
    png = plot_map(shown, places, tr("Open hazard areas by median expected functioning items, "
                                     "{when}").format(when=when), closed, tr)
    return Section(tr("Map"), paragraphs=(tr(
        "Open hazard areas coloured by the median expected number of items still able to "
        "function; closed areas in grey; populated places sized by population."),),
        figures=(Figure(png, tr("Hazard areas and populated places")),))


def _curve_section(national: pd.DataFrame, regions: dict[str, pd.DataFrame],
                   unit: str, tr: Translate) -> Section:
    figures = [Figure(_png(lambda b: plot_curve(national, b, tr)),
                      tr("Residual hazard over time, {unit}: median, mean and 90 % "
                         "interval").format(unit=unit))]
    if len(regions) > 1 or (regions and unit == tr("national")):
        figures.append(Figure(_png(lambda b: plot_region_curves(regions, b, tr)),
                              tr("Residual hazard over time by region (largest first)")))
    return Section(tr("Residual hazard over time"), paragraphs=(tr(
        "Daily expected number of items able to function, from three years before the "
        "report date (or the first laying) to one year after, with the 90 % interval across "
        "parameter samples; items found and removed by clearance or survey leave it from "
        "their dates on, as in the figures above."),),
        figures=tuple(figures), warnings=(tr(WARNING),))


def _priority_section(ranked: pd.DataFrame, tr: Translate) -> Section:
    rows = ranked.head(TOP)
    table = pd.DataFrame({
        tr("rank"): rows["rank"], tr("area"): rows["area_id"] + " " + rows["name"].astype(str),
        tr("score (90 %)"): [_span(s, lo, hi, ".2f") for s, lo, hi in zip(
            rows["score"], rows["score_q05"], rows["score_q95"], strict=True)],
        tr("P(any) (90 %)"): [probability_span(p, lo, hi) for p, lo, hi in zip(
            rows["p_any_mean"], rows["p_any_q05"], rows["p_any_q95"], strict=True)],
        tr("expected functioning (90 %)"): [
            tr("not modelled") if note else _span(m, lo, hi) for note, m, lo, hi in zip(
                rows["hazard_note"], rows["expected_q50"], rows["expected_q05"],
                rows["expected_q95"], strict=True)],
        tr("exposure index"): rows["exposure_index"].round(0),
        tr("land use"): rows["land_use"], tr("remaining m²"): rows["remaining_m2"].round(0),
        tr("incidents"): rows["incidents"]})
    weights = ranked["weights"].iloc[0] if len(ranked) else "–"
    return Section(tr("Priorities for survey and clearance"), paragraphs=(tr(
        "Open hazard areas ranked by a weighted score of five factors (weights: {weights}). "
        "Each factor is shown. The hazard factor is the expected number of functioning items "
        "per hectare of the area, scaled as log(1 + D) / log(1 + D_max) with D_max the "
        "largest 95 % quantile among the ranked areas; the score's interval carries that "
        "factor's 90 % interval (the other factors are counts and areas, without one). An "
        "area without records counts as live, hazard factor 1 (0–1). "
        "Top {shown} of {ranked}.").format(weights=weights, shown=min(TOP, len(ranked)),
                                           ranked=f"{len(ranked):,}"),),
        tables=(TableBlock(tr("Hazard areas for survey and clearance"), table),),
        warnings=(tr(NOT_A_RELEASE),))


def _community_section(communities: pd.DataFrame, tr: Translate) -> Section:
    rows = communities.head(TOP)
    table = pd.DataFrame({
        tr("rank"): rows["rank"], tr("community"): rows["place"],
        tr("population"): rows["population"],
        tr("areas within reach"): rows["areas_within_reach"],
        tr("nearest area (m)"): rows["nearest_area_m"],
        tr("expected functioning within reach"): [_span(m, lo, hi) for m, lo, hi in zip(
            rows["expected_within_reach"], rows["expected_low"], rows["expected_high"],
            strict=True)],
        tr("P(any)"): rows["p_any_within_reach"].round(2)})
    reach = communities["reach_km"].iloc[0] if len(communities) else "–"
    return Section(tr("Communities for risk education"), paragraphs=(tr(
        "Populated places with open hazard areas within {reach} km, ranked by the live "
        "hazard within reach (median expected functioning items weighted by "
        "e^(−d/{decay} km)). Intervals add the areas' 5 % and 95 % figures, so they are "
        "wider than the joint interval; P(any) treats the areas as independent.").format(
            reach=reach, decay=f"{DECAY_KM:g}"),),
        tables=(TableBlock(tr("Communities for risk education"), table, note=tr(ATTRIBUTION)),))


def _proximity_section(near: pd.DataFrame, request: ReportRequest, tr: Translate) -> Section:
    table = pd.DataFrame({
        tr("record"): near["record_id"], tr("item type"): near["item_type"],
        tr("laid from"): pd.to_datetime(near["laid_from"]).dt.strftime("%Y-%m-%d"),
        tr("source"): near["source"].astype(str), tr("place"): near["place"],
        tr("population"): near["population"],
        tr("distance (m)"): near["distance_m"].round(0)})
    found = (tr("{n} records").format(n=f"{near['record_id'].nunique():,}") if len(near)
             else tr("none found: no record"))
    return Section(tr("Proximity check"), paragraphs=(tr(
        "Records laid within {km} km of a place of at least {people} people — the condition "
        "that non-persistent mines be used away from densely populated areas, made "
        "checkable: {found}.").format(km=f"{request.proximity_km:g}",
                                      people=f"{request.proximity_min_population:,}",
                                      found=found),),
        tables=(TableBlock(tr("Records near populated places"), table.head(200),
                           note=tr(ATTRIBUTION) + (tr("; first 200 of {n} pairs").format(
                               n=f"{len(near):,}") if len(near) > 200 else "")),))


def _fit_section(ledger: Ledger, scenario: str, fits: pd.DataFrame | None, tr: Translate
                 ) -> Section | None:
    findings = ledger.read("findings")
    if findings.empty:
        return None
    from ..evidence.table import fit_panels

    if fits is None:
        fits = fit_table(findings, ledger.read("records"), ledger.catalog, scenario)
    fitted = (fits[fits["parameter"].astype(str) != ""] if "field_mle" in fits
              else fits.iloc[0:0].assign(field_mle=[], field_q05=[], field_q95=[],
                                         catalog_mean=[], catalog_q05=[], catalog_q95=[],
                                         catalog_source=[], note=[], posterior_median=[],
                                         posterior_q05=[], posterior_q95=[]))
    table = pd.DataFrame({
        tr("type"): fitted["item_type"], tr("parameter"): fitted["parameter"],
        tr("findings"): fitted["findings"],
        tr("catalog prior (90 %)"): [_span(m, lo, hi) for m, lo, hi in zip(
            fitted["catalog_mean"], fitted["catalog_q05"], fitted["catalog_q95"], strict=True)],
        # a parameter the findings cannot determine says so, never shows a search limit
        tr("field estimate (90 %)"): [tr(note) if pd.isna(m) else _span(m, lo, hi)
                                  for m, lo, hi, note in zip(
            fitted["field_mle"], fitted["field_q05"], fitted["field_q95"],
            fitted["note"].fillna("").astype(str), strict=True)],
        tr("posterior (90 %)"): ["" if pd.isna(m) else _span(m, lo, hi) for m, lo, hi in zip(
            fitted["posterior_median"], fitted["posterior_q05"], fitted["posterior_q95"],
            strict=True)],
        tr("source of prior"): fitted["catalog_source"]})
    figures: tuple[Figure, ...] = ()
    panels = fit_panels(fits, findings, ledger.read("records"), ledger.catalog, scenario)
    if panels:
        figures = (Figure(_png(lambda b: plot_fits(panels, b, tr)), tr(
            "Share still functional by age at finding: observed, fitted, catalog")),)
    return Section(tr("Reliability learned from findings"), paragraphs=(tr(
        "Self-destruct and self-deactivation reliability and power-source life fitted to what "
        "deminers found (current-status data), beside the catalog's prior. Profile-likelihood "
        "90 % intervals, each threshold calibrated by a parametric bootstrap of the type's "
        "findings (Wilks' threshold alone covers too little with findings like these). "
        "Beside them, the posterior: the catalog's prior updated by the same findings "
        "(median and 90 % interval). When the findings fit a step (every item ending at one "
        "age), the life's shape and scale are not determined by them and only the posterior "
        "speaks: in simulation that was 85 to 98 of 200 data sets of 100 findings. Counting "
        "those as claiming no bound, the calibrated field intervals of the life covered "
        "87-98 % of the truths, the posterior intervals 90 % of truths drawn from the "
        "prior."),),
        figures=figures,
        tables=(TableBlock(tr("Reliability fit (hazardledger fit)"), table),))


def _method_section(ledger: Ledger, request: ReportRequest, tr: Translate) -> Section:
    detection = detection_table(request.scenario)
    cited = sorted({p.source for t in ledger.catalog.types.values()
                    for p in t.priors[request.scenario].values()} | set(detection["source"]))
    sources = pd.DataFrame({
        tr("source"): cited,
        tr("kind"): [ledger.catalog.sources[s].kind for s in cited],
        tr("citation"): [ledger.catalog.sources[s].citation for s in cited]})
    return Section(tr("Method and caveats"), paragraphs=(
        tr("Residual hazard: each record's items are followed through self-destruct, "
           "self-deactivation and power-source life drawn from the catalog's sourced priors "
           "(scenario {scenario}); the figures are quantiles over {samples} parameter "
           "samples. An incident after a modelled 'likely inert by' date overrides it."
           ).format(scenario=request.scenario, samples=request.samples),
        tr("Exposure: populated places (GeoNames, population 500 and more, or the programme's "
           "own settlements) within distance bands of each area, distances on the WGS 84 "
           "ellipsoid; the index weights people by e^(−d/{decay} km).").format(
            decay=f"{DECAY_KM:g}"),
        tr("Priorities: a transparent weighted score for tasking; weights are set in a "
           "configuration file and printed with every ranking."),
        tr("Caveats: the model is only as good as the records and the catalog; unrecorded "
        "laying, wrong counts or wrong types make it wrong. Areas without records count as "
        "live. Items found are subtracted from their records from the finding's date on; "
        "technical survey and clearance remove the items of the records their polygons "
        "cover in proportion to the share covered, with a probability of detection drawn "
        "from the catalog's prior for the method (detection.toml, below): clearance by the "
        "activity's recorded method (manual, mechanical or dogs; the prior of all methods "
        "together when none or several is recorded), technical survey by its own prior "
        "whatever its tools, since the share of ground its lanes sample decides what it "
        "removes. No source gives one figure per method; the priors marked 'assumption' are "
        "wide for that reason. Non-technical survey "
        "removes nothing, and its cancellation of land holding a record is shown as a "
        "conflict.") + " " + tr(WARNING),
        tr(NOT_A_RELEASE)),
        tables=(TableBlock(tr("Probability of detection by method (scenario {scenario})"
                              ).format(scenario=request.scenario),
                           detection.rename(columns={"q05": "5 %", "q95": "95 %"})),
                TableBlock(tr("Sources of the catalog's parameters (scenario {scenario})"
                              ).format(scenario=request.scenario), sources),),
        warnings=(tr(WARNING),))
