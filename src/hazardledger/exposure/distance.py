r"""Distances in metres between populated places and hazard geometries, vectorised.

Candidate pairs come from a Shapely STRtree query in degrees with a radius wide enough
for the highest latitude involved. Each pair's geometry is then mapped to a local plane
around the place with the WGS 84 ellipsoid's radii of curvature at the place's
latitude, :math:`x = \Delta\lambda\,N(\varphi)\cos\varphi`, :math:`y = \Delta\varphi\,M(\varphi)`,
and the planar distance there is the distance on the ellipsoid to well under 0.5 %
for the tens of kilometres that matter here (checked against pyproj's ``Geod``).
"""

from __future__ import annotations

import numpy as np
import shapely

A = 6_378_137.0  # WGS 84 semi-major axis (m)
F = 1 / 298.257223563
E2 = F * (2 - F)


def radii(lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres per radian along the meridian (M) and along the parallel (N cos φ)."""
    phi = np.radians(lat_deg)
    w = np.sqrt(1 - E2 * np.sin(phi) ** 2)
    return A * (1 - E2) / w**3, A / w * np.cos(phi)


def degrees_for(metres: float, max_lat_deg: float) -> float:
    """A search radius in degrees that covers ``metres`` everywhere up to ``max_lat_deg``."""
    _, parallel = radii(np.array([min(abs(max_lat_deg), 89.0)]))
    return float(metres / (parallel[0] * np.pi / 180) * 1.01)


def local_distances(points: np.ndarray, geometries: np.ndarray) -> np.ndarray:
    """Metres from each point to the paired geometry (0 inside a polygon)."""
    x0, y0 = shapely.get_x(points), shapely.get_y(points)
    meridian, parallel = radii(y0)
    coords, index = shapely.get_coordinates(geometries, return_index=True)
    local = np.column_stack([(coords[:, 0] - x0[index]) * np.radians(1) * parallel[index],
                             (coords[:, 1] - y0[index]) * np.radians(1) * meridian[index]])
    shifted = shapely.set_coordinates(np.array(geometries, dtype=object).copy(), local)
    return shapely.distance(shifted, shapely.points(np.zeros((len(points), 2))))


def pairs_within(places: np.ndarray, geometries: np.ndarray, metres: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(place index, geometry index, metres) for every pair closer than ``metres``."""
    if not len(places) or not len(geometries):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(geometries)
    max_lat = float(np.max(np.abs(shapely.bounds(geometries)[:, [1, 3]])))
    place_ix, geom_ix = tree.query(places, predicate="dwithin",
                                   distance=degrees_for(metres, max_lat + 1))
    d = local_distances(places[place_ix], geometries[geom_ix])
    keep = d <= metres
    return place_ix[keep], geom_ix[keep], d[keep]


def nearest(geometries: np.ndarray, places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each geometry, the nearest place (index) and its distance in metres.

    The tree's nearest neighbour in degrees is refined among every place within that
    distance widened for the latitude, so the metric nearest is not missed."""
    tree = shapely.STRtree(places)
    geom_ix, place_ix = tree.query_nearest(geometries, all_matches=False)
    first = local_distances(places[place_ix], geometries[geom_ix])
    best_place = np.empty(len(geometries), dtype=np.int64)
    best = np.full(len(geometries), np.inf)
    best_place[geom_ix], best[geom_ix] = place_ix, first
    max_lat = float(np.max(np.abs(shapely.get_y(places))))
    radius = degrees_for(float(np.max(first, initial=0.0)), max_lat + 1)
    cand_geom, cand_place = tree.query(geometries, predicate="dwithin", distance=radius)
    d = local_distances(places[cand_place], geometries[cand_geom])
    order = np.lexsort((d, cand_geom))
    g, first_pos = np.unique(cand_geom[order], return_index=True)
    closer = d[order][first_pos] < best[g]
    best[g[closer]] = d[order][first_pos][closer]
    best_place[g[closer]] = cand_place[order][first_pos][closer]
    return best_place, best
