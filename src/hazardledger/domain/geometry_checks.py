"""Vectorised geometry checks: presence, type, dimensions, coordinate range, swapped axes,
the programme's extent, the antimeridian, validity."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely

from ..locale import say
from .problems import Problem
from .schema import LayerSchema

Extent = tuple[float, float, float, float]  # lon_min, lat_min, lon_max, lat_max


# Indexed by shapely.get_type_id.
_TYPE_NAMES = np.array(["Point", "LineString", "LinearRing", "Polygon", "MultiPoint",
                        "MultiLineString", "MultiPolygon", "GeometryCollection"], dtype=object)


@dataclass
class GeometryResult:
    geometries: np.ndarray
    problems: list[Problem]
    repaired: list[int]  # feature numbers whose geometry --repair changed
    flattened: list[int]  # feature numbers whose heights (Z) or measures (M) were dropped


def _first_bad_coordinate(geoms: np.ndarray, rows: np.ndarray,
                          bad_xy: Callable[[np.ndarray], np.ndarray]
                          ) -> dict[int, tuple[float, float]]:
    """For each row with a bad vertex, the first such vertex."""
    coords, index = shapely.get_coordinates(geoms[rows], return_index=True)
    mask = bad_xy(coords)
    first: dict[int, tuple[float, float]] = {}
    if mask.any():
        uniq, pos = np.unique(index[mask], return_index=True)
        picked = coords[mask][pos]
        first = {int(rows[u]): (float(x), float(y)) for u, (x, y) in zip(uniq, picked, strict=True)}
    return first


def _out_of_range(coords: np.ndarray) -> np.ndarray:
    return (np.abs(coords[:, 0]) > 180) | (np.abs(coords[:, 1]) > 90) | ~np.isfinite(coords).all(1)


def check_geometries(schema: LayerSchema, geoms: np.ndarray, *, extent: Extent | None,
                     repair: bool) -> GeometryResult:
    """Check every geometry of an import at once; with ``repair`` make invalid
    polygons valid (reported, never silent)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    n = len(geoms)
    problems: list[Problem] = []
    feature = np.arange(1, n + 1)

    missing = shapely.is_missing(geoms)
    for f in feature[missing]:
        problems.append(Problem(int(f), "geometry", say("missing geometry")))
    present = ~missing
    empty = present & np.asarray(shapely.is_empty(geoms), dtype=bool)
    for f in feature[empty]:
        problems.append(Problem(int(f), "geometry", say("empty geometry")))
    usable = present & ~empty

    type_ids = shapely.get_type_id(geoms)
    type_names = np.where(type_ids >= 0, _TYPE_NAMES[np.clip(type_ids, 0, None)], "")
    wrong = usable & ~np.isin(type_names, schema.geometry_types)
    allowed = " or ".join(schema.geometry_types)
    for f in feature[wrong]:
        problems.append(Problem(int(f), "geometry", say("expected {allowed}, got {got}",
                                                        allowed=allowed, got=type_names[f - 1])))
    usable &= ~wrong

    # the ledger is two-dimensional: heights and measures are dropped, and said so
    rows = np.flatnonzero(usable)
    extra = rows[shapely.has_z(geoms[rows]) | shapely.has_m(geoms[rows])] if rows.size else rows
    geoms[extra] = shapely.force_2d(geoms[extra])

    bounds = shapely.bounds(geoms[rows]) if rows.size else np.empty((0, 4))
    finite = np.asarray(np.isfinite(bounds).all(axis=1), dtype=bool)
    in_range = finite & (bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (
        bounds[:, 1] >= -90) & (bounds[:, 3] <= 90)
    bad_rows = rows[~in_range]
    first_bad = _first_bad_coordinate(geoms, bad_rows, _out_of_range) if bad_rows.size else {}
    swapped_ok = np.asarray((np.abs(bounds[:, 1]) <= 180) & (np.abs(bounds[:, 3]) <= 180) & (
        np.abs(bounds[:, 0]) <= 90) & (np.abs(bounds[:, 2]) <= 90) & finite, dtype=bool)
    for r, ok_swapped, fin in zip(bad_rows, swapped_ok[~in_range], finite[~in_range], strict=True):
        x, y = first_bad.get(int(r), (float("nan"), float("nan")))
        if not fin:
            reason = say("coordinates cannot be placed in WGS 84 (not finite after "
                         "reprojection)")
        elif ok_swapped:
            reason = say("latitude and longitude look swapped: ({x}, {y}) is out of range as "
                         "(longitude, latitude) but valid as ({y}, {x}); swap the columns",
                         x=f"{x:g}", y=f"{y:g}")
        else:
            reason = say("coordinates out of range: ({x}, {y}) is not a longitude within ±180 "
                         "and a latitude within ±90", x=f"{x:g}", y=f"{y:g}")
        problems.append(Problem(int(r) + 1, "geometry", reason))
    usable[bad_rows] = False

    rows = np.flatnonzero(usable)
    lon = shapely.bounds(geoms[rows])[:, [0, 2]]
    span = lon[:, 1] - lon[:, 0]
    for r, width in zip(rows[span > 180], span[span > 180], strict=True):
        problems.append(Problem(int(r) + 1, "geometry", say(
            "spans {width}° of longitude: it crosses the antimeridian (±180°), which the "
            "ledger does not join across; give the parts on each side as separate features",
            width=f"{width:.1f}")))
    usable[rows[span > 180]] = False
    if extent is not None:
        swapped = _swapped_against_extent(geoms, np.flatnonzero(usable), extent)
        problems += swapped
        usable[[p.feature - 1 for p in swapped if p.feature is not None]] = False
        problems += _outside_extent(geoms, np.flatnonzero(usable), extent)

    rows = np.flatnonzero(usable)
    valid = shapely.is_valid(geoms[rows]) if rows.size else np.zeros(0, bool)
    invalid_rows = rows[~valid]
    repaired: list[int] = []
    if invalid_rows.size and repair:
        fixed = shapely.make_valid(geoms[invalid_rows], method="structure", keep_collapsed=False)
        geoms[invalid_rows] = fixed
        repaired = [int(r) + 1 for r in invalid_rows]
    elif invalid_rows.size:
        reasons = shapely.is_valid_reason(geoms[invalid_rows])
        for r, why in zip(invalid_rows, reasons, strict=True):
            problems.append(Problem(int(r) + 1, "geometry", say(
                "invalid geometry: {why}; --repair fixes it with make_valid", why=why)))
    return GeometryResult(geoms, problems, repaired, [int(r) + 1 for r in extra])


def _swapped_against_extent(geoms: np.ndarray, rows: np.ndarray, extent: Extent) -> list[Problem]:
    """Coordinates in range both ways round can still be swapped: a Ukrainian
    point (lat 48, lon 35) read the wrong way lies in Iran. Flag geometries that
    fall outside the programme's extent when their swap falls inside it."""
    if not rows.size:
        return []
    x0, y0, x1, y1 = extent
    b = shapely.bounds(geoms[rows])
    outside = (b[:, 2] < x0) | (b[:, 0] > x1) | (b[:, 3] < y0) | (b[:, 1] > y1)
    swapped_inside = (b[:, 1] >= x0) & (b[:, 3] <= x1) & (b[:, 0] >= y0) & (b[:, 2] <= y1)
    flagged = rows[outside & swapped_inside]
    out = []
    for r, (x, y) in zip(flagged, b[outside & swapped_inside][:, :2], strict=True):
        out.append(Problem(int(r) + 1, "geometry", say(
            "latitude and longitude look swapped: ({x}, {y}) lies outside the programme "
            "extent ({extent}) but ({y}, {x}) lies inside it", x=f"{x:g}", y=f"{y:g}",
            extent=f"{x0:g}, {y0:g}, {x1:g}, {y1:g}")))
    return out


def _outside_extent(geoms: np.ndarray, rows: np.ndarray, extent: Extent) -> list[Problem]:
    """Geometries not wholly inside the programme's extent: a typing slip, or data of
    another programme; ``import --outside-extent`` takes them where they truly lie there."""
    if not rows.size:
        return []
    x0, y0, x1, y1 = extent
    b = shapely.bounds(geoms[rows])
    outside = (b[:, 0] < x0) | (b[:, 2] > x1) | (b[:, 1] < y0) | (b[:, 3] > y1)
    return [Problem(int(r) + 1, "geometry", say(
        "lies outside the programme extent ({extent}): its bounds are ({bounds}); if it "
        "truly lies there, import it with --outside-extent",
        extent=f"{x0:g}, {y0:g}, {x1:g}, {y1:g}", bounds=f"{lx:g}, {ly:g}, {hx:g}, {hy:g}"))
        for r, (lx, ly, hx, hy) in zip(rows[outside], b[outside], strict=True)]
