"""Computed result layers in the GeoPackage (``residual_hazard``): replaced whole by
each computation, in one transaction with one audit entry."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd

from .gpkg_geometry import decode, encode, promote_to_multi
from .gpkg_schema import GEOM, RESIDUAL_HAZARD_COLUMNS


def _storable(frame: pd.DataFrame, column: str, kind: str) -> list[object]:
    values = frame[column] if column in frame.columns else pd.Series([None] * len(frame))
    if kind == "DATETIME":
        stamps = pd.to_datetime(values, utc=True)
        text = stamps.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
        return text.astype(object).where(stamps.notna(), None).tolist()
    if kind in ("REAL", "INTEGER"):
        numbers = pd.to_numeric(values).astype(float)
        cast = int if kind == "INTEGER" else float
        return [None if np.isnan(v) else cast(v) for v in numbers.to_numpy()]
    return values.astype(object).where(values.notna(), None).tolist()


def replace_residual_hazard(conn: sqlite3.Connection, frame: gpd.GeoDataFrame) -> int:
    """Swap the layer's rows for ``frame``'s (inside the caller's transaction)."""
    conn.execute("DELETE FROM residual_hazard")
    names = list(RESIDUAL_HAZARD_COLUMNS)
    columns = [_storable(frame, n, RESIDUAL_HAZARD_COLUMNS[n]) for n in names]
    blobs = encode(promote_to_multi(frame.geometry.to_numpy(), "MULTIPOLYGON"))
    rows = list(zip(blobs, *columns, strict=True))
    quoted = ", ".join(f'"{n}"' for n in [GEOM, *names])
    conn.executemany(f"INSERT INTO residual_hazard ({quoted}) VALUES "
                     f"({','.join('?' * (len(names) + 1))})", rows)
    return len(rows)


def read_residual_hazard(conn: sqlite3.Connection) -> gpd.GeoDataFrame:
    names = list(RESIDUAL_HAZARD_COLUMNS)
    quoted = ", ".join(f'"{n}"' for n in [GEOM, *names])
    rows = conn.execute(f"SELECT {quoted} FROM residual_hazard ORDER BY fid").fetchall()
    frame = pd.DataFrame([r[1:] for r in rows], columns=names)
    for name, kind in RESIDUAL_HAZARD_COLUMNS.items():
        if kind == "DATETIME":
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    geoms = decode([r[0] for r in rows]) if rows else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs="EPSG:4326")
