"""Computed result layers in the GeoPackage (``residual_hazard``, ``exposure``,
``priorities``): each replaced whole by a computation, in one transaction with one audit
entry. Columns a computation brings that the table lacks (exposure bands chosen by the
user) are added first."""

from __future__ import annotations

import re
import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd

from .gpkg_geometry import decode, encode, promote_to_multi
from .gpkg_schema import GEOM, RESULT_LAYERS

_COLUMN_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


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


def _columns(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    """The table's columns and declared types, without fid and geometry."""
    return {row[1]: row[2] for row in conn.execute(f'PRAGMA table_info("{name}")')
            if row[1] not in ("fid", GEOM)}


def replace_result(conn: sqlite3.Connection, name: str, frame: gpd.GeoDataFrame) -> int:
    """Swap the layer's rows for ``frame``'s (inside the caller's transaction)."""
    declared, _ = RESULT_LAYERS[name]
    columns = _columns(conn, name)
    for extra in [c for c in frame.columns if c not in columns and c != frame.geometry.name]:
        if extra in declared or not _COLUMN_NAME.match(extra):
            raise ValueError(f"{name}: column '{extra}' cannot be stored")
        kind = "REAL" if pd.api.types.is_numeric_dtype(frame[extra]) else "TEXT"
        conn.execute(f'ALTER TABLE "{name}" ADD COLUMN "{extra}" {kind}')
        columns[extra] = kind
    conn.execute(f'DELETE FROM "{name}"')
    names = list(columns)
    values = [_storable(frame, n, columns[n]) for n in names]
    blobs = encode(promote_to_multi(frame.geometry.to_numpy(), "MULTIPOLYGON"))
    rows = list(zip(blobs, *values, strict=True))
    quoted = ", ".join(f'"{n}"' for n in [GEOM, *names])
    conn.executemany(f'INSERT INTO "{name}" ({quoted}) VALUES '
                     f"({','.join('?' * (len(names) + 1))})", rows)
    return len(rows)


def read_result(conn: sqlite3.Connection, name: str) -> gpd.GeoDataFrame:
    """The last computed rows of a result layer; columns no computation filled are left out."""
    columns = _columns(conn, name)
    names = list(columns)
    quoted = ", ".join(f'"{n}"' for n in [GEOM, *names])
    rows = conn.execute(f'SELECT {quoted} FROM "{name}" ORDER BY fid').fetchall()
    frame = pd.DataFrame([r[1:] for r in rows], columns=names)
    for column, kind in columns.items():
        if kind == "DATETIME":
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        elif kind in ("REAL", "INTEGER"):
            frame[column] = pd.to_numeric(frame[column])
    # band columns of earlier runs with other bands stay in the table, empty
    unused = [c for c in names if c.startswith("population_") and frame[c].isna().all()]
    frame = frame.drop(columns=unused)
    geoms = decode([r[0] for r in rows]) if rows else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms), crs="EPSG:4326")
