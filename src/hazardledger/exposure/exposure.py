r"""Exposure of people to each hazard area, and the proximity check for monitors.

Per hazard area: the nearest populated place and its distance; the population of the
places whose distance falls in each band (default 0–1, 1–5, 5–10 km); and an exposure
index :math:`\sum_j P_j\, e^{-d_j / d_0}` over the places within the outer band, with the
distance decay :math:`d_0 = 2` km (a place at 2 km counts for 37 % of its people, at
10 km for under 1 %). Distances are in metres from the place to the area's polygon (0 for
a place inside it).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import geopandas as gpd
import numpy as np
import pandas as pd

from ..locale import N_
from .distance import nearest, pairs_within

DEFAULT_BANDS_KM = (1.0, 5.0, 10.0)
DECAY_KM = 2.0
ATTRIBUTION = N_("Populated places: GeoNames (geonames.org), CC BY 4.0")


def band_labels(bands_km: Sequence[float]) -> list[str]:
    return [f"population_{lo:g}_{hi:g}km" for lo, hi in pairwise([0.0, *bands_km])]


def nearest_of_pairs(place: np.ndarray, area: np.ndarray, d: np.ndarray, n_areas: int
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Per area, the closest place among its pairs (-1 and inf where it has none)."""
    which, distance = np.full(n_areas, -1, dtype=np.int64), np.full(n_areas, np.inf)
    order = np.lexsort((d, area))
    areas_with, first = np.unique(area[order], return_index=True)
    which[areas_with], distance[areas_with] = place[order][first], d[order][first]
    return which, distance


def area_exposure(areas: gpd.GeoDataFrame, places: gpd.GeoDataFrame,
                  bands_km: Sequence[float] = DEFAULT_BANDS_KM,
                  decay_km: float = DECAY_KM) -> pd.DataFrame:
    """One row per hazard area: nearest place, distance, population per band, index."""
    bands = sorted(float(b) for b in bands_km)
    if not bands or bands[0] <= 0:
        raise ValueError("--bands: give increasing distances in km above 0, e.g. 1,5,10")
    geoms = areas.geometry.to_numpy()
    points = places.geometry.to_numpy()
    population = places["population"].to_numpy(dtype=float)
    frame = pd.DataFrame({"area_id": areas["id"].to_numpy()})
    place, area, d = pairs_within(points, geoms, bands[-1] * 1000)
    if len(points) and len(geoms):
        which, distance = nearest_of_pairs(place, area, d, len(geoms))
        # only areas with no place in the outer band need a search further out
        far = np.nonzero(which < 0)[0]
        if len(far):
            which[far], distance[far] = nearest(geoms[far], points)
        frame["nearest_place"] = places["name"].to_numpy()[which]
        frame["nearest_population"] = population[which]
        frame["nearest_distance_m"] = distance
    edges = np.array([0.0, *bands]) * 1000
    for label, lo, hi in zip(band_labels(bands), edges[:-1], edges[1:], strict=True):
        inside = ((d >= lo) if lo == 0 else (d > lo)) & (d <= hi)
        frame[label] = np.bincount(area[inside], weights=population[place[inside]],
                                   minlength=len(geoms))
    frame["exposure_index"] = np.bincount(area, weights=population[place] * np.exp(
        -d / (decay_km * 1000)), minlength=len(geoms))
    frame["attribution"] = ATTRIBUTION
    return frame


def proximity(records: gpd.GeoDataFrame, places: gpd.GeoDataFrame, km: float,
              min_population: int) -> pd.DataFrame:
    """Every record laid within ``km`` of a place of at least ``min_population`` people."""
    big = places[places["population"] >= min_population].reset_index(drop=True)
    place, record, d = pairs_within(big.geometry.to_numpy(), records.geometry.to_numpy(),
                                    km * 1000)
    out = pd.DataFrame({
        "record_id": records["id"].to_numpy()[record],
        "item_type": records["item_type"].to_numpy()[record],
        "laid_from": records["laid_from"].to_numpy()[record],
        "source": records["source"].to_numpy()[record],
        "place": big["name"].to_numpy()[place],
        "population": big["population"].to_numpy()[place],
        "distance_m": np.round(d, 1),
    })
    return out.sort_values(["distance_m", "record_id"]).reset_index(drop=True)
