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
import orjson
import pandas as pd
import shapely

from ..domain.schema import LayerSchema
from ..domain.text import printable
from .errors import StoreError
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


# Changes a layer's stored values in place: personal fields sealed (or opened) by the
# store's key, given the features' ids.
PersonalCodec = Callable[[LayerSchema, list[str], dict[str, list[object]]], None]


def stored_rows(schema: LayerSchema, frame: gpd.GeoDataFrame | pd.DataFrame,
                encode: Callable[[np.ndarray], Sequence[object]],
                seal: PersonalCodec | None = None) -> StoredRows:
    """The rows for ``frame`` (index reset), geometries written by the backend's ``encode``
    (GeoPackage blobs or EWKB), personal fields sealed by ``seal``."""
    values = storage_columns(schema, frame)
    if seal is not None:
        seal(schema, frame["id"].tolist(), values)
    audit_values = dict(values)
    names = list(schema.field_names)
    geometry = None
    if schema.spatial:
        geometry = promote_to_multi(frame.geometry.to_numpy(), schema.gpkg_geometry or "")
        values[GEOM] = list(encode(geometry))
        names.append(GEOM)
    rows = list(zip(*(values[n] for n in names), strict=True))
    return StoredRows(frame["id"].tolist(), names, rows, audit_values, geometry)


def rows_from_json(schema: LayerSchema, texts: Sequence[str],
                   encode: Callable[[np.ndarray], Sequence[object]]) -> StoredRows:
    """The rows that restore features to states the audit trail holds (its JSON: stored
    values, geometry as WKT)."""
    states = [orjson.loads(t) for t in texts]
    values = {name: [state.get(name) for state in states] for name in schema.field_names}
    names = list(schema.field_names)
    geometry = None
    columns = dict(values)
    if schema.spatial:
        wkt = np.array([state.get("geometry") for state in states], dtype=object)
        geometry = promote_to_multi(shapely.from_wkt(wkt), schema.gpkg_geometry or "")
        columns[GEOM] = list(encode(geometry))
        names.append(GEOM)
    rows = list(zip(*(columns[n] for n in names), strict=True))
    return StoredRows([str(i) for i in values["id"]], names, rows, values, geometry)


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
                    decode: Callable[[Sequence[object]], np.ndarray],
                    unseal: PersonalCodec | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
    """The typed frame for stored rows (the fields, then the geometry for a spatial layer,
    which the backend's ``decode`` turns into shapely geometries); personal fields opened
    by ``unseal``."""
    names = list(schema.field_names)
    width = len(names) + int(schema.spatial)
    columns: list[Sequence[object]] = (list(zip(*rows, strict=True)) if rows
                                       else [() for _ in range(width)])
    values = {n: list(columns[i]) for i, n in enumerate(names)}
    if unseal is not None:
        unseal(schema, [str(i) for i in values["id"]], values)
    geometry = decode(columns[-1]) if schema.spatial else None
    return typed_layer(schema, values, geometry)


def typed_layer(schema: LayerSchema, columns: dict[str, list[object]],
                geometry: np.ndarray | None) -> gpd.GeoDataFrame | pd.DataFrame:
    """The typed (Geo)DataFrame for stored values and decoded geometries."""
    frame = typed_frame(schema, columns)
    if not schema.spatial:
        return frame
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geometry), crs="EPSG:4326")


def typed_frame(schema: LayerSchema, columns: dict[str, list[object]]) -> pd.DataFrame:
    """The typed frame for stored values (the inverse of :func:`storage_columns`).

    Values another program stored that the field cannot hold (text in a count, a date
    that is no date) raise a :class:`StoreError` naming the feature, never a traceback."""
    data: dict[str, pd.Series] = {}
    for spec in schema.fields:
        raw = pd.Series(columns[spec.name], dtype=object)
        typed: pd.Series
        if spec.personal and raw.map(is_marker).any():
            data[spec.name] = raw  # sealed and no key to open it: shown as the marker
            continue
        if spec.kind in ("date", "datetime"):
            typed = pd.to_datetime(raw, utc=True, format="ISO8601", errors="coerce")
            data[spec.name] = typed.astype("datetime64[us, UTC]")
        elif spec.kind in ("int", "float"):
            numbers = pd.to_numeric(raw, errors="coerce").astype(float)
            if spec.kind == "int":
                whole = numbers.isna() | (numbers == np.floor(numbers.fillna(0)))
                numbers = numbers.where(whole, np.nan)
            typed = numbers
            data[spec.name] = numbers.astype("Int64") if spec.kind == "int" else numbers
        else:
            typed = raw
            data[spec.name] = raw
        _refuse_unreadable(schema, spec.name, spec.kind, raw, typed, columns.get("id", []))
    return pd.DataFrame(data)


def is_marker(value: object) -> bool:
    """Whether a personal value is the marker shown for one that could not be opened."""
    return isinstance(value, str) and value.startswith("[encrypted")


def _refuse_unreadable(schema: LayerSchema, name: str, kind: str, raw: pd.Series,
                       typed: pd.Series, ids: list[object]) -> None:
    if kind in ("text", "enum"):
        # the type scan runs in C; only a column that is not all text is looked at per value
        if pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"):
            return
        bad = raw.map(lambda v: v is not None and not isinstance(v, str)).to_numpy(bool)
    else:
        bad = (raw.notna() & typed.isna()).to_numpy(bool)
    if not bad.any():
        return
    i = int(np.flatnonzero(bad)[0])
    what = {"int": "a whole number", "float": "a number", "date": "a date",
            "datetime": "a date and time"}.get(kind, "text")
    more = f" (and {int(bad.sum()) - 1} more)" if bad.sum() > 1 else ""
    feature = printable(ids[i] if i < len(ids) else i + 1, 60)
    raise StoreError(f"{schema.name} {feature}: {name}: the stored value "
                     f"{printable(repr(raw.iloc[i]), 60)} is not {what}{more}; it was changed "
                     "outside the ledger: see 'hazardledger audit verify'")
