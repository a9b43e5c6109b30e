"""Residual hazard of a ledger: the engine run on its records, as frames for people.

Every frame carries the warning that the model never releases land.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import geopandas as gpd
import numpy as np
import pandas as pd

from . import __version__
from .catalog.detection import sample_detection
from .catalog.loader import Catalog, CatalogError
from .domain.item_types import SCENARIOS
from .evidence.posterior import posterior_samples
from .evidence.table import findings_of
from .hazard.backends import ENGINES
from .hazard.climate import Climate, climate_from_frame
from .hazard.curve import daily_curve
from .hazard.engine import SampleResults, as_of
from .hazard.inert import DEFAULT_THRESHOLD, WARNING, inert_summary, inert_times
from .hazard.inputs import EPOCH, NO_AREA, NO_REGION, HazardInput, hazard_input, hours
from .hazard.parameters import (
    DEFAULT_SAMPLES,
    DEFAULT_SEED,
    ParameterSamples,
    sample_parameters,
)
from .hazard.removals import build_removals, removal_notes
from .hazard.summary import LEVELS, add_quantiles, grouped, summarise_units, unit_names
from .hazard.survival import REFERENCE_TEMPERATURE_C
from .locale import say

# 2: counts of small Poisson mean drawn by inversion, sums in float64 (compiled kernels)
MODEL_VERSION = f"hazardledger {__version__}, residual hazard model 2 (DESIGN.md)"
DEFAULT_SCENARIO = "pessimistic"


@dataclass(frozen=True)
class Run:
    """What a computation was asked: it is stored beside every result."""

    as_of: pd.Timestamp
    scenario: str = DEFAULT_SCENARIO
    samples: int = DEFAULT_SAMPLES
    seed: int = DEFAULT_SEED
    threshold: float = DEFAULT_THRESHOLD
    engine: str = "numpy"
    temperature_c: float = REFERENCE_TEMPERATURE_C
    # rows of region, month (1-12), temperature_c, and the file they came from
    temperatures: pd.DataFrame | None = None
    temperatures_source: str = "temperatures"
    # the ledger's findings: given, each type with enough of them is drawn from its posterior
    findings: pd.DataFrame | None = None

    def check(self, inp: HazardInput, catalog: Catalog) -> None:
        if self.scenario not in SCENARIOS:
            raise CatalogError(say("unknown scenario '{scenario}' (scenarios: {known})",
                                   scenario=self.scenario, known=", ".join(SCENARIOS)))
        if inp.n_records == 0:
            raise ValueError(say("the ledger holds no records to compute a residual hazard "
                                 "from"))
        first = EPOCH + pd.Timedelta(hours=float(inp.laid_from_h.min()))
        if self.as_of < first:
            raise ValueError(say("--as-of {date} is before any laying (the first record was "
                                 "laid on {first})", date=f"{self.as_of:%Y-%m-%d}",
                                 first=f"{first:%Y-%m-%d}"))
        if self.engine not in ENGINES:
            raise ValueError(say("unknown engine '{engine}' (engines: {known})",
                                 engine=self.engine, known=", ".join(ENGINES)))
        if not -60 <= self.temperature_c <= 60:
            raise ValueError(say("--temperature {value}: expected a ground temperature in "
                                 "degrees C between -60 and 60",
                                 value=f"{self.temperature_c:g}"))
        if self.samples < 10:
            raise ValueError(say("--samples must be at least 10 to give quantiles"))
        for code in inp.codes:
            catalog.get(code)

    def climate(self, inp: HazardInput) -> Climate | None:
        if self.temperatures is None:
            return None
        return climate_from_frame(self.temperatures, inp, self.temperatures_source)

    def describe(self) -> dict[str, object]:
        return {"as_of": self.as_of.isoformat(), "scenario": self.scenario,
                "samples": self.samples, "seed": self.seed, "threshold": self.threshold,
                "engine": self.engine, "temperature_c": self.temperature_c,
                "temperatures": None if self.temperatures is None else self.temperatures_source,
                "posterior": self.findings is not None,
                "model_version": MODEL_VERSION}


@dataclass(frozen=True)
class Work:
    """What was done on the ground: the findings and the land release activities whose
    removals the model subtracts (hazard/removals.py)."""

    findings: pd.DataFrame
    activities: gpd.GeoDataFrame


def prepare(records: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, catalog: Catalog,
            run: Run, work: Work | None = None, grid_from_h: float = np.inf,
            samples: ParameterSamples | None = None) -> tuple[HazardInput, ParameterSamples]:
    inp = replace(hazard_input(records, areas), grid_from_h=grid_from_h)
    run.check(inp, catalog)
    if work is not None:
        inp = replace(inp, removals=build_removals(
            inp, records, work.findings, work.activities,
            sample_detection(run.scenario, run.samples, run.seed)))
    return inp, samples or parameter_samples(records, catalog, run, inp.codes)


def parameter_samples(records: gpd.GeoDataFrame, catalog: Catalog, run: Run,
                      codes: list[str]) -> ParameterSamples:
    """The run's parameter samples for the item types ``codes``: from the scenario's priors,
    or, with the run's findings, from the posterior of the types with findings in
    ``records``."""
    samples = sample_parameters(catalog, codes, run.scenario, run.samples, run.seed)
    if run.findings is not None:
        for code in codes:
            data = findings_of(run.findings, records, code)
            if data.n == 0:
                continue
            draws, _ = posterior_samples(catalog, code, run.scenario, data, run.samples,
                                         run.seed)
            for name, values in draws.items():
                samples.values[name][samples.index(code)] = values
    return samples


def residual_hazard(records: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, catalog: Catalog,
                    run: Run, by: str = "area",
                    incidents: pd.DataFrame | None = None, work: Work | None = None,
                    grid_from_h: float = np.inf, samples: ParameterSamples | None = None
                    ) -> pd.DataFrame:
    """Expected functioning items, P(any functions) and "likely inert by" per unit of
    ``by`` (area, region or national), with 5/50/95 % quantiles across samples.

    Incidents (area level) are shown beside the model as evidence of presence: an
    incident proves something functioned there and then. They never enter the model's
    reliability, and a modelled "inert by" date earlier than an incident is flagged.

    With ``work`` (the ledger's findings and activities) the items found and removed by
    clearance or survey are subtracted, and laid, removed and remaining items are given
    beside the expected functioning ones, each with its quantiles.

    Each hazard area's figures depend only on the records of its stream group
    (``hazard.inputs.STREAM_GROUPS``): computed on a part of the ledger holding whole
    groups, with the whole ledger's ``grid_from_h`` (the frame's ``attrs``), they are the
    same to the bit as computed on the whole ledger (given the whole ledger's parameter
    ``samples`` when they are drawn from findings)."""
    if by not in LEVELS:
        raise ValueError(say("unknown level '{level}' (levels: {known})", level=by,
                             known=", ".join(LEVELS)))
    inp, samples = prepare(records, areas, catalog, run, work, grid_from_h, samples)
    results, times = sample_figures(inp, samples, run, by)
    frame = figures_frame(inp, grouped(results, inp, by), times, run, by, areas, incidents)
    frame.attrs["notes"] = ([] if work is None else
                            removal_notes(records, work.findings, work.activities))
    return frame


def sample_figures(inp: HazardInput, samples: ParameterSamples, run: Run, by: str,
                   sample_range: range | None = None) -> tuple[SampleResults, np.ndarray]:
    """Every sample's figures (or those of ``sample_range``): the as-of sums per hazard area
    and the inert-by hours per unit of ``by``, each (samples, columns). A sample's figures
    are the same to the bit whichever samples are computed with it."""
    t = float(hours(run.as_of))
    climate = run.climate(inp)
    results = as_of(inp, samples, t, run.seed, run.temperature_c, engine=run.engine,
                    climate=climate, sample_range=sample_range)
    times = inert_times(inp, samples, t, run.seed, by, run.threshold, run.temperature_c,
                        engine=run.engine, climate=climate, sample_range=sample_range)
    return results, times


def figures_frame(inp: HazardInput, results: SampleResults, times: np.ndarray, run: Run,
                  by: str, areas: gpd.GeoDataFrame, incidents: pd.DataFrame | None = None,
                  units: slice = slice(None)) -> pd.DataFrame:
    """The frame :func:`residual_hazard` gives (but for the notes on removals in its
    ``attrs``), from every sample's figures per unit of ``by`` (``results`` added up to
    the units). With ``units`` (a step-1 slice), the figures are those of the level's units
    ``units`` only, and so is the frame: the rows are the same as the whole frame's for
    those units."""
    figures = summarise_units(results, unit_names(inp, by)[units], by)
    key = figures.columns[0]
    frame = figures.merge(inert_summary(inp, times, by, units), on=key)
    # the catch-all units exist only when some record needs them
    used = set(inp.area_ids[inp.area]) | set(inp.regions[inp.area_region[inp.area]])
    frame = frame[~frame[key].isin({NO_AREA, NO_REGION} - used)].reset_index(drop=True)
    frame.insert(1, "as_of", run.as_of)
    frame.insert(2, "scenario", run.scenario)
    frame["samples"], frame["seed"] = run.samples, run.seed
    frame["inert_by_threshold"] = run.threshold
    frame["model_version"] = MODEL_VERSION
    frame.attrs["grid_from_h"] = inp.oldest_h()
    if by != "area":
        return frame
    frame = frame.rename(columns={"area": "area_id"})
    if incidents is not None and len(incidents):
        seen = incidents.dropna(subset=["area_id"]).groupby("area_id")["occurred_at"]
        frame["incidents"] = frame["area_id"].map(seen.size()).fillna(0).astype(int)
        frame["last_incident_at"] = frame["area_id"].map(seen.max())
        contradicted = frame["last_incident_at"] > frame["inert_by_q50"]
        frame.loc[contradicted, "inert_by_note"] = (
            "an incident after the modelled date shows items functioned later: trust the "
            "incident")
    geometry = areas.set_index("id").geometry
    region = areas.set_index("id")["region"]
    frame["region"] = frame["area_id"].map(region)
    result = gpd.GeoDataFrame(frame, geometry=frame["area_id"].map(geometry).to_numpy(),
                              crs="EPSG:4326")
    result.attrs["grid_from_h"] = inp.oldest_h()
    return result


def curve(records: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, catalog: Catalog, run: Run,
          start: pd.Timestamp, end: pd.Timestamp, *, area: str | None = None,
          region: str | None = None, work: Work | None = None) -> pd.DataFrame:
    """Daily curve (values at 00:00 UTC) for one area, one region or the nation."""
    if end < start:
        raise ValueError(say("--to {end} is before --from {start}", end=f"{end:%Y-%m-%d}",
                             start=f"{start:%Y-%m-%d}"))
    if area is not None and area not in set(areas["id"]):
        raise ValueError(say("no hazard area '{area}' in the ledger", area=area))
    if region is not None and region not in set(areas["region"].dropna()):
        raise ValueError(say("no region '{region}' in the ledger's hazard areas",
                             region=region))
    inp, samples = prepare(records, areas, catalog, replace(run, as_of=start), work)
    rows = None
    if area is not None:
        rows = np.flatnonzero(inp.area_ids[inp.area] == area)
    elif region is not None:
        rows = np.flatnonzero(inp.regions[inp.area_region[inp.area]] == region)
    day = pd.Timedelta(days=1)
    result = daily_curve(inp, samples, int((start - EPOCH) // day),
                         int((end - EPOCH) // day), run.seed, rows, run.temperature_c,
                         engine=run.engine, climate=run.climate(inp))
    frame = pd.DataFrame({"date": EPOCH + pd.to_timedelta(result.days, unit="D")})
    add_quantiles(frame, expected=result.expected, p_any=-np.expm1(result.log_none))
    frame["scenario"], frame["samples"], frame["seed"] = run.scenario, run.samples, run.seed
    frame["unit"] = area or region or "national"
    frame["warning"] = WARNING
    return frame
