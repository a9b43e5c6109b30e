"""Computed result layers (``residual_hazard``, ``exposure``, ``priorities``) as every
backend stores and reads them: plain values per declared kind, and the frame back."""

from __future__ import annotations

import re
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from .values import iso_text

# a column a computation may add (exposure bands chosen by the user)
COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def storable(frame: pd.DataFrame, column: str, kind: str) -> list[object]:
    """A column as stored values of its declared kind (None for missing)."""
    values = frame[column] if column in frame.columns else pd.Series([None] * len(frame))
    if kind == "DATETIME":
        return iso_text(pd.to_datetime(values, utc=True), "datetime")
    if kind in ("REAL", "INTEGER"):
        numbers = pd.to_numeric(values).astype(float)
        cast = int if kind == "INTEGER" else float
        return [None if np.isnan(v) else cast(v) for v in numbers.to_numpy()]
    return values.astype(object).where(values.notna(), None).tolist()


def result_frame(columns: dict[str, str], rows: Sequence[Sequence[object]],
                 geoms: np.ndarray) -> gpd.GeoDataFrame:
    """The frame of a result layer from its stored values (rows without geometry) and its
    geometries; band columns left empty by the last run are left out."""
    names = list(columns)
    frame = pd.DataFrame([list(r) for r in rows], columns=names)
    for column, kind in columns.items():
        if kind == "DATETIME":
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        elif kind in ("REAL", "INTEGER"):
            frame[column] = pd.to_numeric(frame[column])
    # band columns of earlier runs with other bands stay in the table, empty
    unused = [c for c in names if c.startswith("population_") and frame[c].isna().all()]
    frame = frame.drop(columns=unused)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs="EPSG:4326")
