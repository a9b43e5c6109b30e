r"""Distances in metres between populated places and hazard geometries, vectorised.

Candidate pairs come from a Shapely STRtree query in degrees, each query geometry with
its own radius, wide enough in longitude for the highest latitude it can reach. Each
pair is then mapped to a local plane around the geometry's centroid with the WGS 84
ellipsoid's radii of curvature at that latitude,
:math:`x = \Delta\lambda\,N(\varphi)\cos\varphi`, :math:`y = \Delta\varphi\,M(\varphi)`,
and the planar distance there is the distance on the ellipsoid to well under 0.5 % for
the tens of kilometres that matter here (checked against pyproj's ``Geod``). The plane
is centred on the hazard geometry, which is mapped once however many places it meets.
Places may be points or settlement polygons; a place's distance is from its nearest edge.
"""

from __future__ import annotations

import numpy as np
import shapely

A = 6_378_137.0  # WGS 84 semi-major axis (m)
F = 1 / 298.257223563
E2 = F * (2 - F)
_METRES_PER_DEGREE_LAT = 110_574.0  # the shortest degree of latitude (at the equator)
_MAX_LAT = 89.0


def radii(lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres per radian along the meridian (M) and along the parallel (N cos φ)."""
    phi = np.radians(lat_deg)
    w = np.sqrt(1 - E2 * np.sin(phi) ** 2)
    return A * (1 - E2) / w**3, A / w * np.cos(phi)


def degrees_for(metres: np.ndarray | float, geometries: np.ndarray) -> np.ndarray:
    """Per geometry, a search radius in degrees covering ``metres`` around it: the degree
    of longitude is shortest at the highest latitude the circle reaches."""
    metres = np.broadcast_to(np.asarray(metres, dtype=float), (len(geometries),))
    bounds = shapely.bounds(geometries)
    reach = np.maximum(np.abs(bounds[:, 1]), np.abs(bounds[:, 3])) + metres / _METRES_PER_DEGREE_LAT
    _, parallel = radii(np.minimum(reach, _MAX_LAT))
    return metres / (parallel * np.pi / 180) * 1.01


def _local(geometries: np.ndarray, origin: np.ndarray, x0: np.ndarray, y0: np.ndarray,
           meridian: np.ndarray, parallel: np.ndarray) -> np.ndarray:
    """Geometries mapped to the local plane of their ``origin`` (an index into x0, y0...)."""
    coords, index = shapely.get_coordinates(geometries, return_index=True)
    o = origin[index]
    local = np.column_stack([(coords[:, 0] - x0[o]) * np.radians(1) * parallel[o],
                             (coords[:, 1] - y0[o]) * np.radians(1) * meridian[o]])
    return shapely.set_coordinates(np.array(geometries, dtype=object).copy(), local)


def _segments(geometries: np.ndarray, x0: np.ndarray, y0: np.ndarray, meridian: np.ndarray,
              parallel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every geometry's edges in its local plane, as rows (ax, ay, dx, dy, 1/|d|²) grouped
    by geometry, and per geometry the offset of its first edge; polygons contribute their
    rings, points a zero-length edge."""
    polygonal = np.isin(shapely.get_type_id(geometries), (3, 6))
    linework = np.where(polygonal, shapely.boundary(geometries), geometries)
    parts, part_owner = shapely.get_parts(linework, return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    o = part_owner[part]
    coords = np.column_stack([(coords[:, 0] - x0[o]) * np.radians(1) * parallel[o],
                              (coords[:, 1] - y0[o]) * np.radians(1) * meridian[o]])
    inner = np.nonzero(part[:-1] == part[1:])[0]
    lone = np.nonzero((np.bincount(part, minlength=len(parts)) == 1)[part])[0]
    start, stop = np.concatenate([inner, lone]), np.concatenate([inner + 1, lone])
    owner = part_owner[part[start]]
    order = np.argsort(owner, kind="stable")
    a, b = coords[start[order]], coords[stop[order]]
    d = b - a
    length2 = np.einsum("ij,ij->i", d, d)
    inverse = np.divide(1.0, length2, out=np.zeros_like(length2), where=length2 > 0)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(geometries)))])
    return np.column_stack([a, d, inverse]), offsets


def _point_distances(edges: np.ndarray, offsets: np.ndarray, geom_ix: np.ndarray,
                     px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Distance from each pair's point to the nearest edge of its geometry.

    Pairs are ordered by their geometry's edge count, longest first, so that the pairs
    still to be measured against their k-th edge are always a prefix: one vectorised
    pass per edge rank, none per pair."""
    counts = (offsets[1:] - offsets[:-1])[geom_ix]
    order = np.argsort(-counts, kind="stable")
    first = offsets[geom_ix[order]]
    qx0, qy0 = px[order], py[order]
    best = np.full(len(order), np.inf)
    active = np.searchsorted(-counts[order], -np.arange(1, counts.max(initial=0) + 1),
                             side="right")
    for k, n in enumerate(active):
        ax, ay, dx, dy, inverse = edges[first[:n] + k].T
        qx, qy = qx0[:n] - ax, qy0[:n] - ay
        t = np.clip((qx * dx + qy * dy) * inverse, 0.0, 1.0)
        qx -= t * dx
        qy -= t * dy
        np.minimum(best[:n], qx * qx + qy * qy, out=best[:n])
    out = np.empty(len(order))
    out[order] = np.sqrt(best)
    return out


def pair_distances(places: np.ndarray, geometries: np.ndarray, place_ix: np.ndarray,
                   geom_ix: np.ndarray) -> np.ndarray:
    """Metres between ``places[place_ix]`` and ``geometries[geom_ix]`` (0 where they meet).

    Each geometry's edges are mapped once, to the local plane around its centroid. Point
    places are mapped into the plane of the geometry they are paired with by arithmetic
    on their coordinates, and their distance to its nearest edge is computed on NumPy
    arrays (no geometry object per pair); a point inside a polygon is at 0. Settlement
    polygons are mapped per pair and measured by GEOS."""
    if not len(place_ix):
        return np.zeros(0)
    centre = shapely.centroid(geometries)
    x0, y0 = shapely.get_x(centre), shapely.get_y(centre)
    meridian, parallel = radii(y0)
    if not np.all(shapely.get_type_id(places) == 0):
        local_geoms = _local(geometries, np.arange(len(geometries)), x0, y0, meridian, parallel)
        local_places = _local(places[place_ix], geom_ix, x0, y0, meridian, parallel)
        return shapely.distance(local_geoms[geom_ix], local_places)
    o = geom_ix
    x, y = shapely.get_x(places)[place_ix], shapely.get_y(places)[place_ix]
    px = (x - x0[o]) * np.radians(1) * parallel[o]
    py = (y - y0[o]) * np.radians(1) * meridian[o]
    edges, offsets = _segments(geometries, x0, y0, meridian, parallel)
    d = _point_distances(edges, offsets, geom_ix, px, py)
    polygonal = np.isin(shapely.get_type_id(geometries), (3, 6))[geom_ix]
    if polygonal.any():
        shapely.prepare(geometries)
        inside = shapely.contains_xy(geometries[geom_ix[polygonal]], x[polygonal], y[polygonal])
        d[np.nonzero(polygonal)[0][inside]] = 0.0
    return d


def area_m2(geometries: np.ndarray) -> np.ndarray:
    """Area of each polygon in m², measured in the local plane around its centroid (to
    well under 0.5 % of the ellipsoidal area for areas up to tens of kilometres across)."""
    if not len(geometries):
        return np.zeros(0)
    centre = shapely.centroid(geometries)
    x0, y0 = shapely.get_x(centre), shapely.get_y(centre)
    meridian, parallel = radii(y0)
    return shapely.area(_local(geometries, np.arange(len(geometries)), x0, y0, meridian,
                               parallel))


def local_distances(places: np.ndarray, geometries: np.ndarray) -> np.ndarray:
    """Metres from each place (point or polygon) to the paired geometry (0 if they meet)."""
    pair = np.arange(len(places))
    return pair_distances(places, geometries, pair, pair)


def pairs_within(places: np.ndarray, geometries: np.ndarray, metres: float
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(place index, geometry index, metres) for every pair closer than ``metres``."""
    if not len(places) or not len(geometries):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    tree = shapely.STRtree(geometries)
    place_ix, geom_ix = tree.query(places, predicate="dwithin",
                                   distance=degrees_for(metres, places))
    d = pair_distances(places, geometries, place_ix, geom_ix)
    keep = d <= metres
    return place_ix[keep], geom_ix[keep], d[keep]


def nearest(geometries: np.ndarray, places: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each geometry, the nearest place (index) and its distance in metres.

    The tree's nearest neighbour in degrees gives an upper bound on the metric distance;
    the metric nearest is then sought among every place within that bound (widened in
    longitude for the latitude), each geometry with its own radius."""
    tree = shapely.STRtree(places)
    geom_ix, place_ix = tree.query_nearest(geometries, all_matches=False)
    first = pair_distances(places, geometries, place_ix, geom_ix)
    best_place = np.empty(len(geometries), dtype=np.int64)
    best = np.full(len(geometries), np.inf)
    best_place[geom_ix], best[geom_ix] = place_ix, first
    cand_geom, cand_place = tree.query(geometries, predicate="dwithin",
                                       distance=degrees_for(best, geometries))
    d = pair_distances(places, geometries, cand_place, cand_geom)
    order = np.lexsort((d, cand_geom))
    g, first_pos = np.unique(cand_geom[order], return_index=True)
    closer = d[order][first_pos] < best[g]
    best[g[closer]] = d[order][first_pos][closer]
    best_place[g[closer]] = cand_place[order][first_pos][closer]
    return best_place, best
