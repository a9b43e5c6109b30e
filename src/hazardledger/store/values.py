"""Conversion between typed frames and the plain values a database stores.

Dates and times are stored as ISO 8601 text in UTC (GeoPackage DATE and
DATETIME); the same text goes into the audit trail, so what was written can be
read back exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..domain.schema import LayerSchema


def storage_columns(schema: LayerSchema, frame: pd.DataFrame) -> dict[str, list[object]]:
    """Each field as a list of str/int/float/None, in schema order."""
    out: dict[str, list[object]] = {}
    for spec in schema.fields:
        col = frame[spec.name]
        if spec.kind == "datetime":
            text = col.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
            out[spec.name] = text.astype(object).where(col.notna(), None).tolist()
        elif spec.kind == "date":
            text = col.dt.strftime("%Y-%m-%d")
            out[spec.name] = text.astype(object).where(col.notna(), None).tolist()
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
