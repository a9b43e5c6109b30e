r"""Priorities for survey and clearance, and communities for risk education.

Each open hazard area gets five factor scores in :math:`[0, 1]`:

- hazard :math:`h = \log(1 + D) / \log(1 + D_{max})`, :math:`D` the expected functioning
  items per hectare of the area's polygon (median over the model's samples, items found
  and cleared subtracted) and :math:`D_{max}` the largest 95 % quantile of :math:`D` over
  the ranked areas, so that every area's 5 % and 95 % quantiles map into :math:`[0, 1]` on
  one scale and are carried through to the score's interval. (P(any functions) is close
  to 1 in nearly every area with records and would separate nothing.) The logarithm keeps
  one dense minefield from flattening every other area to 0. An area with no record has no
  model estimate: it counts as live (:math:`h = 1`, interval 0–1);
- exposure :math:`e = \log(1 + X) / \log(1 + X_{max})`, :math:`X` the distance-weighted
  population index of :mod:`hazardledger.exposure.exposure`;
- incidents :math:`i = 1 - e^{-n}` for :math:`n` recorded accidents in the area
  (one: 0.63, three: 0.95);
- land use :math:`u` from the configured table (residential 1.0 … water 0.2);
- remaining area :math:`a = \log(1 + A) / \log(1 + A_{max})`, :math:`A` the polygon's
  area less what activities cancelled, reduced or cleared.

The score is :math:`\sum_k w_k s_k / \sum_k w_k` with the configured weights; areas are
ranked by it, ties by the median expected functioning items. The ranking informs
tasking; it never changes an area's status, and only survey and clearance release land.

Communities (places) are ranked for risk education by the live hazard within reach:
:math:`\sum_j E_j\,e^{-d_j/d_0}` over hazard areas :math:`j` within the configured reach,
:math:`E_j` the median expected functioning items, :math:`d_0` the exposure decay (2 km).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from ..domain.vocab import AreaStatus
from ..exposure.distance import area_m2, pairs_within
from ..exposure.exposure import ATTRIBUTION, DECAY_KM
from ..locale import N_
from .weights import PriorityConfig

NOT_A_RELEASE = N_("A ranking for tasking survey and clearance: it never changes an area's "
                   "status. Land is released only by survey and clearance.")
NO_RECORDS = "no record: hazard not modelled, counted as live"


def _log_share(values: np.ndarray) -> np.ndarray:
    top = np.log1p(np.nanmax(values, initial=0.0))
    return np.log1p(values) / top if top > 0 else np.zeros_like(values)


def remaining_m2(areas: gpd.GeoDataFrame, activities: pd.DataFrame) -> np.ndarray:
    """Each area's polygon area less the m² its activities cancelled, reduced or cleared."""
    released = pd.Series(0.0, index=areas["id"].to_numpy())
    if len(activities):
        done = activities[["cancelled_m2", "reduced_m2", "cleared_m2"]].fillna(0).sum(axis=1)
        released = released.add(done.groupby(activities["area_id"]).sum(), fill_value=0.0)
    return np.maximum(area_m2(areas.geometry.to_numpy()) -
                      released.reindex(areas["id"].to_numpy()).to_numpy(), 0.0)


def rank_areas(areas: gpd.GeoDataFrame, hazard: pd.DataFrame, exposure: pd.DataFrame,
               activities: pd.DataFrame, incidents: pd.DataFrame, records: pd.DataFrame,
               config: PriorityConfig) -> gpd.GeoDataFrame:
    """Open hazard areas ranked for survey and clearance, every factor beside the score."""
    open_areas = areas[areas["status"].astype(str) == AreaStatus.OPEN].reset_index(drop=True)
    ids = open_areas["id"].to_numpy()
    frame = pd.DataFrame({"area_id": ids, "name": open_areas["name"].to_numpy(),
                          "region": open_areas["region"].to_numpy(),
                          "classification": open_areas["classification"].astype(str).to_numpy(),
                          "status": open_areas["status"].astype(str).to_numpy()})
    model = hazard.set_index("area_id")
    for column in ("expected_q05", "expected_q50", "expected_q95", "p_any_mean", "p_any_q05",
                   "p_any_q95"):
        frame[column] = model[column].reindex(ids).to_numpy(dtype=float)
    unmodelled = ~pd.Series(ids).isin(records["area_id"].dropna()).to_numpy()
    frame.loc[unmodelled, ["p_any_mean", "p_any_q05", "p_any_q95"]] = [1.0, 0.0, 1.0]
    frame["hazard_note"] = np.where(unmodelled, NO_RECORDS, "")
    near = exposure.set_index("area_id")
    frame["exposure_index"] = near["exposure_index"].reindex(ids).fillna(0).to_numpy()
    bands = [c for c in exposure.columns if c.startswith("population_")]
    frame["population_within_5km"] = near[[c for c in bands if _upper_km(c) <= 5]].sum(
        axis=1).reindex(ids).fillna(0).to_numpy()
    frame["land_use"] = open_areas["land_use"].astype(object).fillna("unknown").astype(
        str).to_numpy()
    frame["remaining_m2"] = np.round(remaining_m2(open_areas, activities), 1)
    counted = (incidents["area_id"].dropna().value_counts() if len(incidents)
               else pd.Series(dtype="int64"))
    frame["incidents"] = counted.reindex(ids).fillna(0).astype(int).to_numpy()

    hectares = np.maximum(area_m2(open_areas.geometry.to_numpy()), 1.0) / 1e4
    for q in ("q05", "q50", "q95"):
        frame[f"density_per_ha_{q}"] = frame[f"expected_{q}"].to_numpy() / hectares
    top = np.log1p(np.nanmax(frame["density_per_ha_q95"].to_numpy(), initial=0.0))
    for q in ("q05", "q50", "q95"):
        share = np.log1p(frame[f"density_per_ha_{q}"].to_numpy()) / top if top > 0 else (
            np.zeros(len(frame)))
        frame[f"hazard_score_{q}"] = np.where(unmodelled, {"q05": 0.0, "q50": 1.0,
                                                           "q95": 1.0}[q], share)
    frame["hazard_score"] = frame["hazard_score_q50"]
    frame["exposure_score"] = _log_share(frame["exposure_index"].to_numpy())
    frame["incident_score"] = 1 - np.exp(-frame["incidents"].to_numpy())
    frame["land_use_score"] = frame["land_use"].map(config.land_use).fillna(
        config.land_use["unknown"]).to_numpy()
    frame["area_score"] = _log_share(frame["remaining_m2"].to_numpy())
    w = config.normalised()
    rest = (w["exposure"] * frame["exposure_score"] + w["incidents"] * frame["incident_score"]
            + w["land_use"] * frame["land_use_score"] + w["remaining_area"] * frame["area_score"])
    frame["score"] = w["hazard"] * frame["hazard_score"] + rest
    frame["score_q05"] = w["hazard"] * frame["hazard_score_q05"] + rest
    frame["score_q95"] = w["hazard"] * frame["hazard_score_q95"] + rest
    frame = frame.sort_values(["score", "expected_q50", "area_id"],
                              ascending=[False, False, True], na_position="last")
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame["weights"] = config.describe()
    frame["warning"] = NOT_A_RELEASE
    frame["attribution"] = ATTRIBUTION
    geometry = open_areas.set_index("id").geometry.reindex(frame["area_id"]).to_numpy()
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry=geometry, crs="EPSG:4326")


def _upper_km(column: str) -> float:
    """The outer edge of a ``population_LO_HIkm`` band."""
    return float(column.removeprefix("population_").removesuffix("km").split("_")[1])


def rank_communities(places: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, hazard: pd.DataFrame,
                     config: PriorityConfig) -> gpd.GeoDataFrame:
    """Places with live hazard within reach, ranked for risk education."""
    open_areas = areas[areas["status"].astype(str) == AreaStatus.OPEN].reset_index(drop=True)
    model = hazard.set_index("area_id").reindex(open_areas["id"])
    # medians and 5/95 % quantiles summed, so the central figure lies between its bounds
    expected = model["expected_q50"].fillna(0).to_numpy()
    low, high = (model[c].fillna(0).to_numpy() for c in ("expected_q05", "expected_q95"))
    p_any = model["p_any_mean"].fillna(0).to_numpy()
    place, area, d = pairs_within(places.geometry.to_numpy(), open_areas.geometry.to_numpy(),
                                  config.reach_km * 1000)
    n = len(places)
    weighted = np.bincount(place, weights=expected[area] * np.exp(-d / (DECAY_KM * 1000)),
                           minlength=n)
    # P(no area within reach has a live item), taking the areas as independent
    none_live = np.exp(np.bincount(place, weights=np.log1p(-np.minimum(p_any[area], 1 - 1e-12)),
                                   minlength=n))
    nearest = np.full(n, np.inf)
    np.minimum.at(nearest, place, d)
    frame = pd.DataFrame({
        "place_id": places["id"].to_numpy(), "place": places["name"].to_numpy(),
        "population": places["population"].to_numpy(),
        "region": places["region"].to_numpy() if "region" in places else None,
        "areas_within_reach": np.bincount(place, minlength=n),
        "nearest_area_m": np.round(nearest, 0),
        "expected_within_reach": np.bincount(place, weights=expected[area], minlength=n),
        # summing per-area quantiles gives bounds wider than the joint 90 % interval
        "expected_low": np.bincount(place, weights=low[area], minlength=n),
        "expected_high": np.bincount(place, weights=high[area], minlength=n),
        "p_any_within_reach": 1 - none_live,
        "live_hazard_index": weighted,
    })
    keep = frame["areas_within_reach"].to_numpy() > 0
    geometry = places.geometry.to_numpy()[keep]
    frame = frame[keep].assign(reach_km=config.reach_km, attribution=ATTRIBUTION)
    order = np.lexsort((frame["place_id"].to_numpy(), -frame["population"].to_numpy(),
                        -frame["live_hazard_index"].to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return gpd.GeoDataFrame(frame, geometry=geometry[order],
                            crs="EPSG:4326")
