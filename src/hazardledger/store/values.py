"""Conversion between typed frames and the plain values a database stores.

Dates and times are stored as ISO 8601 text in UTC (GeoPackage DATE and
DATETIME); the same text goes into the audit trail, so what was written can be
read back exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from ..domain.schema import LayerSchema
from .gpkg_geometry import promote_to_multi
from .gpkg_schema import GEOM


@dataclass(frozen=True)
class StoredRows:
    """A typed frame as the rows a write stores, in the frame's order."""

    ids: list[str]
    names: list[str]  # the fields, then the geometry column for a spatial layer
    rows: list[tuple[object, ...]]
    audit_values: dict[str, list[object]]  # the fields as the audit trail records them
    geometry: np.ndarray | None  # promoted to the layer's multi type


def stored_rows(schema: LayerSchema, frame: gpd.GeoDataFrame | pd.DataFrame,
                encode: Callable[[np.ndarray], Sequence[object]]) -> StoredRows:
    """The rows for ``frame`` (index reset), geometries written by the backend's ``encode``
    (GeoPackage blobs or EWKB)."""
    values = storage_columns(schema, frame)
    audit_values = dict(values)
    names = list(schema.field_names)
    geometry = None
    if schema.spatial:
        geometry = promote_to_multi(frame.geometry.to_numpy(), schema.gpkg_geometry or "")
        values[GEOM] = list(encode(geometry))
        names.append(GEOM)
    rows = list(zip(*(values[n] for n in names), strict=True))
    return StoredRows(frame["id"].tolist(), names, rows, audit_values, geometry)


def storage_columns(schema: LayerSchema, frame: pd.DataFrame) -> dict[str, list[object]]:
    """Each field as a list of str/int/float/None, in schema order."""
    out: dict[str, list[object]] = {}
    for spec in schema.fields:
        col = frame[spec.name]
        if spec.kind in ("datetime", "date"):
            out[spec.name] = iso_text(col, spec.kind)
        elif spec.kind == "int":
            ints = col.astype("Int64")
            out[spec.name] = ints.astype(object).where(ints.notna(), None).tolist()
        elif spec.kind == "float":
            floats = col.astype(float).to_numpy()
            out[spec.name] = pd.Series(floats, dtype=object).where(~np.isnan(floats),
                                                                   None).tolist()
        else:
            out[spec.name] = col.astype(object).where(col.notna(), None).tolist()
    return out


def iso_text(col: pd.Series, kind: str) -> list[object]:
    """ISO 8601 text in UTC, milliseconds and "Z" for a time, None where missing.
    NumPy formats in C; pandas' strftime goes through Python per value (0.28 s a column
    of 100,000)."""
    # tz-aware values come out in UTC
    if kind == "datetime":
        stamps = col.to_numpy(dtype="datetime64[ms]")
        text = np.strings.add(np.datetime_as_string(stamps, unit="ms"), "Z")
    else:
        stamps = col.to_numpy(dtype="datetime64[D]")
        text = np.datetime_as_string(stamps, unit="D")
    out = text.astype(object)
    out[np.isnat(stamps)] = None
    return list(out)


def frame_from_rows(schema: LayerSchema, rows: Sequence[Sequence[object]],
                    decode: Callable[[Sequence[object]], np.ndarray]
                    ) -> gpd.GeoDataFrame | pd.DataFrame:
    """The typed frame for stored rows (the fields, then the geometry for a spatial layer,
    which the backend's ``decode`` turns into shapely geometries)."""
    names = list(schema.field_names)
    width = len(names) + int(schema.spatial)
    columns: list[Sequence[object]] = (list(zip(*rows, strict=True)) if rows
                                       else [() for _ in range(width)])
    frame = typed_frame(schema, {n: list(columns[i]) for i, n in enumerate(names)})
    if not schema.spatial:
        return frame
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(decode(columns[-1])),
                            crs="EPSG:4326")


def typed_frame(schema: LayerSchema, columns: dict[str, list[object]]) -> pd.DataFrame:
    """The typed frame for stored values (the inverse of :func:`storage_columns`)."""
    data: dict[str, pd.Series] = {}
    for spec in schema.fields:
        values = columns[spec.name]
        if spec.kind in ("date", "datetime"):
            data[spec.name] = pd.to_datetime(pd.Series(values, dtype=object), utc=True,
                                             format="ISO8601").astype("datetime64[us, UTC]")
        elif spec.kind == "int":
            data[spec.name] = pd.Series(values, dtype="Int64")
        elif spec.kind == "float":
            data[spec.name] = pd.Series(values, dtype=float)
        else:
            data[spec.name] = pd.Series(values, dtype=object)
    return pd.DataFrame(data)
