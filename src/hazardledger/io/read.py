"""Reading features from GeoJSON, GeoPackage, CSV, Shapefile and KML through pyogrio.

Everything that can be wrong with a file as a whole (missing, empty, corrupt,
not UTF-8, no CRS) is raised as :class:`InputRejected`; the features themselves
are checked by the domain's validation afterwards.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..domain.problems import InputRejected, Problem
from ..locale import say
from . import locations, tables

SUFFIXES = {".geojson": "GeoJSON", ".json": "GeoJSON", ".gpkg": "GPKG", ".csv": "CSV",
            ".xlsx": "XLSX", ".shp": "ESRI Shapefile", ".kml": "KML", ".zip": "ESRI Shapefile"}
# Tables have no CRS of their own; by field convention their coordinates are WGS 84 lon/lat
# (easting/northing with --crs "UTM 36N").
_X_NAMES, _Y_NAMES, _WKT_NAMES = ("lon", "longitude", "x", "easting"), (
    "lat", "latitude", "y", "northing"), ("wkt", "geometry")
_CSV_OPTIONS = {"X_POSSIBLE_NAMES": ",".join(_X_NAMES), "Y_POSSIBLE_NAMES": ",".join(_Y_NAMES),
                "GEOM_POSSIBLE_NAMES": ",".join(_WKT_NAMES), "KEEP_GEOM_COLUMNS": "NO"}
_TABLES = ("CSV", "XLSX")
_UTM = re.compile(r"^utm[\s:_-]*(?:zone\s*)?(\d{1,2})\s*([ns])$", re.IGNORECASE)


# Columns GDAL's KML driver adds for KML's own structure; they are not the user's data.
_KML_STRUCTURE = ("altitudeMode", "begin", "end", "drawOrder", "extrude", "icon", "tessellate",
                  "timestamp", "visibility")


def _kml_fields(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """KML's own structure out, its placemark name as the feature's name."""
    empty = [c for c in frame.columns if c != frame.geometry.name and frame[c].isna().all()]
    frame = frame.drop(columns=[c for c in frame.columns if c in _KML_STRUCTURE or c in empty])
    # GDAL names a placemark's own id attribute "id" and "Name"; data fields of the same
    # name then arrive as "id2" and "name2". The data fields are the user's.
    for kml_own, data in (("id", "id2"), ("Name", "name2")):
        if data in frame.columns:
            frame = frame.drop(columns=[kml_own], errors="ignore").rename(
                columns={data: data[:-1]})
    if "Name" in frame.columns and "name" not in frame.columns:
        frame = frame.rename(columns={"Name": "name"})
    return frame


def _gdal_detail(exc: Exception, path: Path) -> str:
    """GDAL's reason, without its advice about driver prefixes or internal SQL."""
    text = (str(exc).splitlines() or [type(exc).__name__])[0].replace(str(path), path.name)
    parts = []
    for part in text.split("; "):
        part = re.sub(r"^sqlite3_\w+\(.*\) failed: ", "", part).strip()
        if part and not part.startswith("It might help") and part not in parts:
            parts.append(part)
    return "; ".join(parts) or type(exc).__name__


def _reject(path: Path, field: str, reason: str) -> InputRejected:
    return InputRejected(path.name, [Problem(None, field, reason)])


def read_features(path: str | Path, *, source_layer: str | None = None,
                  crs: str | None = None, mapping: Mapping[str, str] | None = None
                  ) -> gpd.GeoDataFrame:
    """The features of one file in WGS 84 (EPSG:4326), columns as the file has them, or
    renamed by ``mapping`` (before a table's location columns are read, so that
    ``--map grid=mgrs`` names one)."""
    path = Path(path)
    if not path.exists():
        raise _reject(path, "file", say("no such file"))
    if path.is_file() and path.stat().st_size == 0:
        raise _reject(path, "file", say("the file is empty"))
    driver = SUFFIXES.get(path.suffix.lower())
    if driver is None:
        raise _reject(path, "file", say("unsupported file type '{suffix}' (supported: "
                                        "{supported})", suffix=path.suffix,
                                        supported=", ".join(sorted(SUFFIXES))))
    options = dict(_CSV_OPTIONS) if driver == "CSV" else {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = (tables.read_xlsx(path, source_layer, _X_NAMES, _Y_NAMES, _WKT_NAMES)
                     if driver == "XLSX" else
                     pyogrio.read_dataframe(path, layer=source_layer, **options))
    except UnicodeDecodeError:
        raise InputRejected(path.name, _locate_bad_text(path, source_layer, options)) from None
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FieldError, pyogrio.errors.GeometryError, OSError, ValueError,
            KeyError, zipfile.BadZipFile) as exc:  # the last two: a workbook that is none
        raise _reject(path, "file", say("cannot be read as {driver} (corrupt or truncated?): "
                                        "{detail}", driver=driver,
                                        detail=_gdal_detail(exc, path))) from None
    if driver == "KML":
        frame = _kml_fields(frame)
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)))
    if driver in _TABLES:
        named = pd.Index([str(c).lower() for c in frame.columns])
        if named.duplicated().any():
            raise InputRejected(path.name, [Problem(None, c, say("two columns of this name "
                                                                 "in the header: keep one"))
                                            for c in sorted(set(named[named.duplicated()]))])
        if driver == "CSV":
            frame = tables.unnamed_csv_columns(path, frame)
        frame = tables.without_trailing_blank_rows(frame)
    if len(frame) == 0:
        raise _reject(path, "file", say("the file holds no features"))
    if mapping:
        frame = apply_mapping(frame, mapping, path.name)
    frame = _to_wgs84(path, frame, driver, crs)
    if driver in _TABLES and locations.has_locations(frame):
        frame = locations.locate(frame, path.name)
    return frame


def _to_wgs84(path: Path, frame: gpd.GeoDataFrame, driver: str,
              crs: str | None) -> gpd.GeoDataFrame:
    if crs is not None:
        try:
            declared = parse_crs(crs)
        except CRSError as exc:
            why = f": {exc}" if _UTM.match(crs.strip()) else ""  # a zone that does not exist
            raise _reject(path, "crs", say("unknown CRS '{crs}'{why} (e.g. EPSG:4326, or "
                                           "\"UTM 36N\" for WGS 84 / UTM zone 36 north)",
                                           crs=crs, why=why)) from None
        frame = frame.set_crs(declared, allow_override=True)
    elif frame.crs is None:
        if driver in _TABLES or frame.geometry.isna().all():
            frame = frame.set_crs(4326, allow_override=True)
        else:
            raise _reject(path, "crs", say("the file has no coordinate reference system; give "
                                           "it with --crs (e.g. --crs EPSG:4326 for "
                                           "longitude/latitude)"))
    if frame.crs.is_projected and len(frame.geometry.dropna()):
        west, south, east, north = frame.geometry.total_bounds
        if -180 <= west <= east <= 180 and -90 <= south <= north <= 90:
            # metres from a projection's origin that small would put a whole programme in
            # a 400 m square off its false origin: these are degrees declared as metres
            raise _reject(path, "crs", say(
                "the coordinates look like degrees (longitude/latitude, within ({bounds})) but "
                "the file declares {crs}, a projected CRS (unit: {unit}); give --crs "
                "EPSG:4326 if they are degrees",
                bounds=f"{west:g}, {south:g}, {east:g}, {north:g}", crs=frame.crs.name,
                unit=frame.crs.axis_info[0].unit_name))
    if frame.crs.to_epsg() != 4326:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            frame = frame.to_crs(4326)
    return frame


def parse_crs(text: str) -> CRS:
    """A CRS as pyproj reads it, or written as people do for UTM: ``UTM 36N``,
    ``utm:35s``, ``UTM zone 36N`` (WGS 84 datum; N and S are hemispheres, not MGRS bands)."""
    match = _UTM.match(text.strip())
    if match:
        zone = int(match.group(1))
        if not 1 <= zone <= 60:
            raise CRSError(say("UTM zone {zone} does not exist (1 to 60)", zone=zone))
        return locations.utm_crs(zone, match.group(2).lower() == "s")
    return CRS.from_user_input(text)


def _locate_bad_text(path: Path, source_layer: str | None,
                     options: dict[str, str]) -> list[Problem]:
    """Which features and fields hold text that is not UTF-8.

    The file is read again as Latin-1, which never fails; a value that round-trips
    through Latin-1 bytes but does not decode as UTF-8 is one that was never UTF-8.
    """
    frame = pyogrio.read_dataframe(path, layer=source_layer, encoding="latin-1",
                                   read_geometry=False, **options)
    problems = []
    for column in frame.columns:
        values = frame[column]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        for i, value in values.items():
            if not isinstance(value, str):
                continue
            try:
                value.encode("latin-1").decode("utf-8")
            except UnicodeDecodeError:
                problems.append(Problem(int(str(i)) + 1, str(column), say(
                    "text is not valid UTF-8; save the file as UTF-8")))
    return problems or [Problem(None, "file",
                                say("text is not valid UTF-8; save the file as UTF-8"))]


def apply_mapping(frame: pd.DataFrame, mapping: Mapping[str, str], source: str) -> pd.DataFrame:
    """Rename columns ``src -> dst``; an empty ``dst`` drops the column."""
    missing = [src for src in mapping if src not in frame.columns]
    if missing:
        raise InputRejected(source, [Problem(None, src, say("--map names a field the input "
                                                            "does not have"))
                                     for src in missing])
    drop = [src for src, dst in mapping.items() if not dst]
    renamed = frame.drop(columns=drop).rename(columns={s: d for s, d in mapping.items() if d})
    return renamed
