"""Layers as GeoJSON features: geometry serialised by Shapely in one vectorised call,
properties in ISO 8601 and plain JSON types, personal fields withheld unless allowed."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from ..store.base import FeaturePage

WITHHELD = "[admin only]"


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Columns as JSON-ready objects: datetimes as ISO 8601 (UTC, Z), NaN/NA as None."""
    out = {}
    for name in frame.columns:
        column = frame[name]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            text = column.dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            out[name] = text.astype(object).where(column.notna(), None)
        elif pd.api.types.is_float_dtype(column.dtype):
            out[name] = column.astype(object).where(column.notna(), None)
        else:
            values = column.astype(object)
            out[name] = values.where(values.notna(), None).map(
                lambda v: v.isoformat() if hasattr(v, "isoformat") else
                (v.item() if isinstance(v, np.generic) else v))
    return pd.DataFrame(out, index=frame.index)


def features(frame: pd.DataFrame, *, id_field: str = "id",
             withheld: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """GeoJSON Feature objects for a frame (geometry null for non-spatial layers)."""
    spatial = isinstance(frame, gpd.GeoDataFrame)
    properties = frame.drop(columns=frame.geometry.name) if spatial else frame
    properties = _plain(properties)
    for name in withheld:
        if name in properties:
            properties[name] = properties[name].where(properties[name].isna(), WITHHELD)
    geometry: list[Any] = ([None if g is None else orjson.Fragment(g) for g in
                            shapely.to_geojson(frame.geometry.to_numpy())]
                           if spatial else [None] * len(frame))
    ids = properties[id_field].tolist() if id_field in properties else list(range(len(frame)))
    return [{"type": "Feature", "id": i, "geometry": g, "properties": p}
            for i, g, p in zip(ids, geometry, properties.to_dict("records"), strict=True)]


def page_features(page: FeaturePage, withheld: tuple[str, ...] = ()
                  ) -> list[dict[str, Any]]:
    """GeoJSON Feature objects straight from stored values (the fast path for layers)."""
    hidden = [page.fields.index(n) for n in withheld if n in page.fields]
    geometry: list[Any] = ([None if g is None else orjson.Fragment(g) for g in
                            shapely.to_geojson(page.geometry)]
                           if page.geometry is not None else [None] * len(page.rows))
    out = []
    for row, shape in zip(page.rows, geometry, strict=True):
        properties = dict(zip(page.fields, row, strict=True))
        for i in hidden:
            if row[i] is not None:
                properties[page.fields[i]] = WITHHELD
        out.append({"type": "Feature", "id": row[0], "geometry": shape,
                    "properties": properties})
    return out


def dumps(document: object) -> bytes:
    return orjson.dumps(document)
