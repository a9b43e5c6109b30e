"""One geometry type per layer, so that every layer opens in QGIS as one layer, without
losing what the record says.

A record of laid items is located by its perimeter (Amended Protocol II, Technical Annex
1: "perimeters and extent"): the layer's geometry is a multipolygon. A record given as a
point (a single item) or a line (a row) keeps that point or line, exactly, as WKT in
``location``, and its perimeter is drawn ``location_accuracy_m`` around it (default
:data:`DEFAULT_ACCURACY_M`, at least :data:`MIN_RADIUS_M`). A populated place is a point;
a settlement given as a polygon keeps its outline, exactly, as WKT in ``outline``, and its
point is a point inside it. Distances from a place use its outline where it has one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from ..locale import say
from .problems import Problem

DEFAULT_ACCURACY_M = 5.0  # assumed when a point or line record does not say (stated, not sourced)
MIN_RADIUS_M = 1.0  # a perimeter is never narrower: a polygon needs an inside
SIDES = 16  # a drawn perimeter's sides: within 2.6 % of the circle's area, at half the
# vertices (and so half the storage and audit text) of GEOS's default 32
# A drawn perimeter's corners are rounded to 1e-7 degrees (about 1 cm; RFC 7946 section
# 11.2 finds 6 decimals within any GPS's precision): seventeen digits each made every page
# of records the server sends twice as large, for digits that mean nothing.
DRAWN_DECIMALS = 7
M_PER_DEG_LAT = 110_574.0  # WGS 84, mid-latitudes; the buffer is metres wide to within 0.5 %
M_PER_DEG_LON_EQUATOR = 111_320.0
_POLYGONAL = ("Polygon", "MultiPolygon")
_LINEAR = ("LineString", "MultiLineString")
_POINTS = ("Point", "MultiPoint")


# indexed by shapely.get_type_id
_TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)


def _kinds(geoms: np.ndarray) -> np.ndarray:
    ids = shapely.get_type_id(np.asarray(geoms, dtype=object))
    return np.where(ids >= 0, _TYPE_NAMES[np.clip(ids, 0, None)], "")


def as_multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Polygons as one-part multipolygons (others unchanged)."""
    out = np.asarray(geoms, dtype=object).copy()
    single = shapely.get_type_id(out) == 3
    if single.any():
        idx = np.flatnonzero(single)
        out[idx] = shapely.multipolygons(out[idx], indices=np.arange(idx.size))
    return out


def buffer_metres(geoms: np.ndarray, radius_m: np.ndarray) -> np.ndarray:
    """Points and lines in lon/lat buffered by ``radius_m`` metres (at least
    :data:`MIN_RADIUS_M`), in each geometry's own local equirectangular frame (its
    centroid's latitude sets the scale of longitude): :data:`SIDES`-gons around points,
    built directly; rounded corridors around lines."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.empty(len(geoms), dtype=object)
    if not len(geoms):
        return out
    radius = np.maximum(np.asarray(radius_m, dtype=float), MIN_RADIUS_M)
    point = shapely.get_type_id(geoms) == 0
    if point.any():
        x, y = shapely.get_x(geoms[point]), shapely.get_y(geoms[point])
        out[point] = _polygons_around(x, y, radius[point])
    rest = np.flatnonzero(~point)
    if rest.size:
        out[rest] = _buffered(geoms[rest], radius[rest])
    return out


def _polygons_around(x: np.ndarray, y: np.ndarray, radius: np.ndarray) -> np.ndarray:
    angle = np.linspace(0, 2 * np.pi, SIDES + 1)
    angle[-1] = 0.0  # closed exactly
    half_width = radius / (M_PER_DEG_LON_EQUATOR * np.cos(np.radians(y)))
    half_height = radius / M_PER_DEG_LAT
    ring = np.stack([x[:, None] + half_width[:, None] * np.cos(angle),
                     y[:, None] + half_height[:, None] * np.sin(angle)], axis=-1)
    return shapely.polygons(np.round(ring, DRAWN_DECIMALS))


def _buffered(geoms: np.ndarray, radius: np.ndarray) -> np.ndarray:
    lat = shapely.get_y(shapely.centroid(geoms))
    k = M_PER_DEG_LON_EQUATOR * np.cos(np.radians(lat))
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    metric = shapely.set_coordinates(geoms.copy(), np.column_stack(
        [coords[:, 0] * k[index], coords[:, 1] * M_PER_DEG_LAT]))
    buffered = shapely.buffer(metric, radius, quad_segs=SIDES // 4)
    coords, index = shapely.get_coordinates(buffered, return_index=True)
    return shapely.set_coordinates(buffered, np.round(np.column_stack(
        [coords[:, 0] / k[index], coords[:, 1] / M_PER_DEG_LAT]), DRAWN_DECIMALS))


def record_perimeters(out: pd.DataFrame, geoms: np.ndarray) -> list[Problem]:
    """Records given as points or lines get their perimeter (``out``'s geometry, in
    place) and keep the point or line in ``location``; a location given with a perimeter
    must lie inside it."""
    problems: list[Problem] = []
    kinds = _kinds(geoms)
    drawn = np.isin(kinds, _POINTS + _LINEAR)
    location = out["location"].astype(object).to_numpy().copy()
    accuracy = out["location_accuracy_m"].to_numpy(dtype=float).copy()
    density = out["density_per_m2"].notna().to_numpy()
    for i in np.flatnonzero(drawn & density):
        problems.append(Problem(int(i) + 1, "density_per_m2", say(
            "an unknown count given as a density needs the perimeter it covers (a polygon), "
            "not a point or line")))
    if drawn.any():
        rows = np.flatnonzero(drawn)
        given = pd.notna(location[rows])
        for i in rows[given]:
            problems.append(Problem(int(i) + 1, "location", say(
                "give the location either as the geometry (a point or line) or in location "
                "with the perimeter as the geometry, not both")))
        accuracy[rows] = np.where(np.isnan(accuracy[rows]), DEFAULT_ACCURACY_M, accuracy[rows])
        location[rows] = shapely.to_wkt(geoms[rows], rounding_precision=-1)
        geoms[rows] = buffer_metres(geoms[rows], accuracy[rows])
    polygonal = np.isin(kinds, _POLYGONAL)
    given_rows = np.flatnonzero(polygonal & pd.notna(location))
    if given_rows.size:
        problems += _check_locations(location, geoms, given_rows)
    geoms[:] = as_multipolygons(geoms)
    out["location"] = pd.Series(location, index=out.index, dtype=object)
    out["location_accuracy_m"] = accuracy
    return problems


def _check_locations(location: np.ndarray, perimeters: np.ndarray,
                     rows: np.ndarray) -> list[Problem]:
    problems = []
    parsed = shapely.from_wkt(location[rows].astype(str), on_invalid="ignore")
    for i, shape in zip(rows, parsed, strict=True):
        if shape is None or shape.geom_type not in _POINTS + _LINEAR:
            problems.append(Problem(int(i) + 1, "location", say(
                "not the WKT of a point or line (e.g. POINT (36.01 49.02))")))
        elif not shapely.covers(perimeters[i], shape):
            problems.append(Problem(int(i) + 1, "location", say(
                "lies outside the record's perimeter")))
    return problems


def place_points(out: pd.DataFrame, geoms: np.ndarray) -> list[Problem]:
    """Places given as settlement polygons keep the polygon in ``outline`` and become a
    point inside it (``out``'s geometry, in place); an outline given with a point must be
    a polygon holding it."""
    problems: list[Problem] = []
    kinds = _kinds(geoms)
    outline = out["outline"].astype(object).to_numpy().copy()
    polygonal = np.isin(kinds, _POLYGONAL)
    if polygonal.any():
        rows = np.flatnonzero(polygonal)
        for i in rows[pd.notna(outline[rows])]:
            problems.append(Problem(int(i) + 1, "outline", say(
                "give the outline either as the geometry or in outline, not both")))
        outline[rows] = shapely.to_wkt(geoms[rows], rounding_precision=-1)
        geoms[rows] = shapely.point_on_surface(geoms[rows])
    rows = np.flatnonzero((kinds == "Point") & pd.notna(outline))
    if rows.size:
        parsed = shapely.from_wkt(outline[rows].astype(str), on_invalid="ignore")
        for i, shape in zip(rows, parsed, strict=True):
            if shape is None or shape.geom_type not in _POLYGONAL or not shape.is_valid:
                problems.append(Problem(int(i) + 1, "outline",
                                        say("not the WKT of a valid polygon or multipolygon")))
            elif not shapely.covers(shape, geoms[i]):
                problems.append(Problem(int(i) + 1, "outline",
                                        say("does not contain the place's point")))
    out["outline"] = pd.Series(outline, index=out.index, dtype=object)
    return problems


def outlines_or_points(points: np.ndarray, outlines: pd.Series) -> np.ndarray:
    """The geometry distances are measured from: a place's outline where it has one."""
    out = np.asarray(points, dtype=object).copy()
    has = outlines.notna().to_numpy()
    if has.any():
        out[has] = shapely.from_wkt(outlines[has].astype(str).to_numpy())
    return out
