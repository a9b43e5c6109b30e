"""Computed result layers in the GeoPackage (``residual_hazard``, ``exposure``,
``priorities``): each replaced whole by a computation, in one transaction with one audit
entry. Columns a computation brings that the table lacks (exposure bands chosen by the
user) are added first."""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd

from .gpkg_geometry import decode, encode, promote_to_multi
from .gpkg_schema import GEOM, RESULT_LAYERS
from .results import COLUMN_NAME, result_frame, storable


def _columns(conn: sqlite3.Connection, name: str) -> dict[str, str]:
    """The table's columns and declared types, without fid and geometry."""
    return {row[1]: row[2] for row in conn.execute(f'PRAGMA table_info("{name}")')
            if row[1] not in ("fid", GEOM)}


def replace_result(conn: sqlite3.Connection, name: str, frame: gpd.GeoDataFrame) -> int:
    """Swap the layer's rows for ``frame``'s (inside the caller's transaction)."""
    declared, _ = RESULT_LAYERS[name]
    columns = _columns(conn, name)
    for extra in [c for c in frame.columns if c not in columns and c != frame.geometry.name]:
        if extra in declared or not COLUMN_NAME.match(extra):
            raise ValueError(f"{name}: column '{extra}' cannot be stored")
        kind = "REAL" if pd.api.types.is_numeric_dtype(frame[extra]) else "TEXT"
        conn.execute(f'ALTER TABLE "{name}" ADD COLUMN "{extra}" {kind}')
        columns[extra] = kind
    conn.execute(f'DELETE FROM "{name}"')
    names = list(columns)
    values = [storable(frame, n, columns[n]) for n in names]
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
    geoms = decode([r[0] for r in rows]) if rows else np.array([], dtype=object)
    return result_frame(columns, [r[1:] for r in rows], geoms)
