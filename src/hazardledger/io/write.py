"""Writing a layer to GeoPackage, GeoJSON, CSV, Shapefile or KML through pyogrio."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from ..domain.problems import InputRejected, Problem
from ..locale import say

EXPORT_DRIVERS = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".csv": "CSV",
                  ".shp": "ESRI Shapefile", ".kml": "KML"}


REDACTED = "[redacted]"


def personal_for_export(frame: gpd.GeoDataFrame | pd.DataFrame, personal: tuple[str, ...],
                        layer: str, include_personal: bool) -> gpd.GeoDataFrame | pd.DataFrame:
    """Victims' personal fields redacted, or, with ``include_personal``, kept in clear:
    refused if one could not be opened (no key: the marker would be exported as data)."""
    from ..store.values import is_marker

    frame = frame.copy()
    for name in personal:
        if include_personal:
            shut = frame[name].map(is_marker)
            if shut.any():
                raise ValueError(f"{layer}: {name}: cannot export personal fields in clear: "
                                 f"{frame[name][shut].iloc[0]}; export without "
                                 "--include-personal, or give the key file")
        else:
            frame[name] = frame[name].astype(object).where(frame[name].isna(), REDACTED)
    return frame


def export_frame(frame: gpd.GeoDataFrame | pd.DataFrame, path: str | Path, layer: str) -> Path:
    """Write one layer to a file whose suffix picks the format; returns the path."""
    path = Path(path)
    driver = EXPORT_DRIVERS.get(path.suffix.lower())
    if driver is None:
        raise InputRejected(path.name, [Problem(None, "file", say(
            "unsupported export format '{suffix}' (supported: {supported})",
            suffix=path.suffix, supported=", ".join(sorted(EXPORT_DRIVERS))))])
    out = frame.copy()
    for column in out.columns:
        # Datetimes go out as ISO 8601 text so every format keeps the time zone (UTC).
        if pd.api.types.is_datetime64_any_dtype(out[column].dtype):
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ").astype(object)
    options: dict[str, str] = {}
    if driver == "CSV" and isinstance(out, gpd.GeoDataFrame):
        options["GEOMETRY"] = "AS_WKT"
    if path.exists():
        path.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(out, gpd.GeoDataFrame):
            pyogrio.write_dataframe(out, path, layer=layer, driver=driver, **options)
        elif driver == "CSV":
            out.to_csv(path, index=False)
        else:
            pyogrio.write_dataframe(out, path, layer=layer, driver=driver)
    return path
