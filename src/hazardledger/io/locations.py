"""Locations as deminers write them in tables: an MGRS grid reference, UTM easting and
northing (``--crs "UTM 36N"``), or a bearing and distance from a reference point, as
Amended Protocol II Technical Annex 1 locates a minefield's perimeter from reference points.

Columns a table may hold instead of longitude/latitude (case as written here):

``mgrs``
    A Military Grid Reference System reference at any precision (``36UUA2394091604``,
    spaces allowed). The point is the centre of the square it names, so that a 100 m
    reference is off by at most 71 m, not 141 m as the square's corner would be.
``reference_lon``, ``reference_lat`` or ``reference_mgrs``, with ``bearing_deg`` and ``distance_m``
    A point ``distance_m`` metres from the reference point along ``bearing_deg``, degrees
    clockwise from true north, on the WGS 84 ellipsoid. A magnetic bearing must be corrected
    for declination first: the ledger does not know the date and place of the compass.

Each is used only where the row has no other geometry; two locations for one row are
refused, never chosen between.
"""

from __future__ import annotations

import geopandas as gpd
import mgrs
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Geod, Transformer

from ..domain.problems import InputRejected, Problem
from ..locale import N_, say

GRID = "mgrs"
REFERENCE = ("reference_lon", "reference_lat", "reference_mgrs")
BEARING, DISTANCE = "bearing_deg", "distance_m"
COLUMNS = (GRID, *REFERENCE, BEARING, DISTANCE)
# A reference point is a landmark a clearance team can see and measure from: the longest
# bearing-and-distance we take is 20 km (an assumption; AP II sets no figure). Farther,
# a typing slip (metres as centimetres) is likelier than a real reference.
MAX_DISTANCE_M = 20_000.0
_WGS84 = Geod(ellps="WGS84")


def has_locations(frame: pd.DataFrame) -> bool:
    """Whether the table writes any location in the columns this module reads (in any
    case: a spreadsheet's MGRS column)."""
    return any(str(c).lower() in COLUMNS for c in frame.columns)


def locate(frame: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Points from the MGRS and bearing-and-distance columns, in WGS 84, where a row has no
    other geometry; the columns are consumed. Every problem is collected and raised."""
    lowered = [str(c).lower() for c in frame.columns]
    twice = sorted({c for c in lowered if c in COLUMNS and lowered.count(c) > 1})
    if twice:
        raise InputRejected(source, [Problem(None, c, say("two columns of this name (in "
                                                          "different case): keep one"))
                                     for c in twice])
    frame = frame.rename(columns={c: str(c).lower() for c in frame.columns
                                  if str(c).lower() in COLUMNS})
    problems: list[Problem] = []
    n = len(frame)
    geometry = frame.geometry.to_numpy().copy()
    has_geometry = ~shapely.is_missing(geometry) & ~shapely.is_empty(geometry)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)

    grid = _text(frame, GRID)
    if grid is not None:
        given = grid.notna().to_numpy()
        problems += _two_locations(given & has_geometry, GRID, say("an MGRS reference"))
        lon[given], lat[given], bad = mgrs_points(grid[given], _shown(frame, GRID)[given])
        problems += [Problem(int(np.flatnonzero(given)[i]) + 1, GRID, reason)
                     for i, reason in bad]
        has_geometry |= given

    if BEARING in frame.columns or DISTANCE in frame.columns:
        x, y, more = _from_bearing(frame, has_geometry)
        problems += more
        use = ~np.isnan(x)
        lon[use], lat[use] = x[use], y[use]

    if problems:
        raise InputRejected(source, problems)
    found = ~np.isnan(lon)
    geometry[found] = shapely.points(lon[found], lat[found])
    located = frame.drop(columns=[c for c in COLUMNS if c in frame.columns])
    return located.set_geometry(gpd.GeoSeries(geometry, index=frame.index, crs=frame.crs))


def _text(frame: pd.DataFrame, column: str) -> pd.Series | None:
    if column not in frame.columns:
        return None
    text = frame[column].astype("string").str.strip().str.replace(" ", "", regex=False)
    return text.where(text != "").reset_index(drop=True)


def _shown(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column's values as written, for messages."""
    return frame[column].astype("string").str.strip().reset_index(drop=True)


def _two_locations(rows: np.ndarray, field: str, what: str) -> list[Problem]:
    return [Problem(int(i) + 1, field, say("the feature has coordinates (or a geometry) and "
                                           "{what} too: give one location, not two", what=what))
            for i in np.flatnonzero(rows)]


def mgrs_points(references: pd.Series, written: pd.Series
               ) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Longitude and latitude of the centres of MGRS squares (``references`` without
    spaces; ``written`` as the file has them); the positions that are no grid reference."""
    converter = mgrs.MGRS()
    n = len(references)
    zone, easting, northing = np.zeros(n, int), np.full(n, np.nan), np.full(n, np.nan)
    south = np.zeros(n, bool)
    bad: list[tuple[int, str]] = []
    # the mgrs package converts one reference at a time (GEOTRANS's C routine); the
    # projection that follows runs on arrays, one UTM zone at a time
    for i, (reference, as_written) in enumerate(zip(references.astype(str),
                                                    written.astype(str), strict=True)):
        try:
            if not reference[-1:].isdigit():  # a 100 km square alone locates nothing
                raise ValueError("no digits")
            z, hemisphere, e, north = converter.MGRSToUTM(reference.upper())
        except Exception:  # mgrs raises its own MGRSError, and ValueError on odd lengths
            shown = as_written if len(as_written) <= 24 else as_written[:21] + "..."
            bad.append((i, say("not an MGRS grid reference: {shown} (expected e.g. "
                               "36UUA2394091604: zone, band, 100 km square, easting, "
                               "northing)", shown=repr(shown))))
            continue
        zone[i], south[i], easting[i], northing[i] = z, hemisphere == "S", e, north
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    for z, s in {(int(a), bool(b)) for a, b in zip(zone, south, strict=True) if a}:
        rows = (zone == z) & (south == s)
        to_wgs84 = Transformer.from_crs(utm_crs(z, s), 4326, always_xy=True)
        lon[rows], lat[rows] = to_wgs84.transform(easting[rows], northing[rows])
    return lon, lat, bad


def _from_bearing(frame: pd.DataFrame, has_geometry: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Points at a bearing and distance from each row's reference point."""
    n = len(frame)
    problems: list[Problem] = []
    numbers, written = {}, {}
    for column, low, high, expected in (
            (BEARING, 0.0, 360.0, N_("expected a number of degrees from true north from {low} "
                                     "to {high} (exclusive), got {value}")),
            (DISTANCE, 0.0, MAX_DISTANCE_M, N_("expected a number of metres from {low} to "
                                               "{high}, got {value}"))):
        raw = frame[column] if column in frame.columns else pd.Series([None] * n)
        values = pd.to_numeric(raw.reset_index(drop=True), errors="coerce").to_numpy(float)
        given = raw.notna().to_numpy() & (raw.astype("string").str.strip() != "").fillna(
            False).to_numpy(bool)
        wrong = given & ~((values >= low) & (values <= high) & ~(
            (column == BEARING) & (values == high)))
        problems += [Problem(int(i) + 1, column, say(
            expected, low=f"{low:g}", high=f"{high:g}", value=repr(raw.iloc[i])))
            for i in np.flatnonzero(wrong)]
        numbers[column] = np.where(given & ~wrong, values, np.nan)
        written[column] = given
    bearing, distance = numbers[BEARING], numbers[DISTANCE]
    ref_lon, ref_lat, more = _reference_points(frame)
    problems += more
    asked = written[BEARING] | written[DISTANCE]
    problems += _two_locations(asked & has_geometry, f"{BEARING}/{DISTANCE}",
                               say("a bearing and distance"))
    half = asked & ~(written[BEARING] & written[DISTANCE] & ~np.isnan(ref_lon))
    problems += [Problem(int(i) + 1, f"{BEARING}/{DISTANCE}", say(
        "a location by bearing and distance needs all three: bearing_deg, distance_m and a "
        "reference point (reference_lon and reference_lat, or reference_mgrs)"))
        for i in np.flatnonzero(half & ~has_geometry)]
    use = asked & ~half & ~has_geometry & ~np.isnan(bearing) & ~np.isnan(distance)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    if use.any():
        lon[use], lat[use], _ = _WGS84.fwd(ref_lon[use], ref_lat[use], bearing[use],
                                           distance[use])
    return lon, lat, problems


def _reference_points(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    n = len(frame)
    problems: list[Problem] = []
    lon = pd.to_numeric(frame.get("reference_lon", pd.Series([None] * n)).reset_index(
        drop=True), errors="coerce").to_numpy(float)
    lat = pd.to_numeric(frame.get("reference_lat", pd.Series([None] * n)).reset_index(
        drop=True), errors="coerce").to_numpy(float)
    half = np.isnan(lon) != np.isnan(lat)
    problems += [Problem(int(i) + 1, "reference_lon/reference_lat", say(
        "a reference point needs both its longitude and its latitude (numbers in degrees)"))
        for i in np.flatnonzero(half)]
    lon[half] = lat[half] = np.nan
    wrong = ~np.isnan(lon) & ~np.isnan(lat) & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    problems += [Problem(int(i) + 1, "reference_lon/reference_lat", say(
        "not a longitude/latitude in degrees: ({lon}, {lat})", lon=f"{lon[i]:g}",
        lat=f"{lat[i]:g}"))
        for i in np.flatnonzero(wrong)]
    lon[wrong] = lat[wrong] = np.nan
    grid = _text(frame, "reference_mgrs")
    if grid is not None:
        given = grid.notna().to_numpy()
        problems += [Problem(int(i) + 1, "reference_mgrs", say(
            "two reference points: give reference_mgrs or reference_lon/reference_lat, not "
            "both"))
                     for i in np.flatnonzero(given & ~np.isnan(lon))]
        at = np.flatnonzero(given)
        lon[given], lat[given], bad = mgrs_points(grid[given],
                                                 _shown(frame, "reference_mgrs")[given])
        problems += [Problem(int(at[i]) + 1, "reference_mgrs", r) for i, r in bad]
    return lon, lat, problems


def utm_crs(zone: int, south: bool) -> CRS:
    """WGS 84 / UTM ``zone`` north or south (EPSG 326zz or 327zz)."""
    return CRS.from_epsg((32700 if south else 32600) + zone)
