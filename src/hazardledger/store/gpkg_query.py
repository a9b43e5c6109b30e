"""Paged, filtered reads of a GeoPackage layer for the server: the R-tree narrows by
envelope, then each candidate's geometry is tested against the box exactly."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import shapely

from ..domain.schema import LayerSchema
from .base import FeatureQuery
from .gpkg_geometry import decode
from .gpkg_schema import GEOM


def _meets_box(blob: bytes | None, minx: float, miny: float, maxx: float, maxy: float) -> int:
    if blob is None:
        return 0
    geom = decode([blob])[0]
    return int(geom is not None and shapely.intersects(geom, shapely.box(minx, miny, maxx,
                                                                           maxy)))


def register(conn: sqlite3.Connection) -> None:
    """The SQL function the bbox filter uses (hl_meets_box)."""
    conn.create_function("hl_meets_box", 5, _meets_box, deterministic=True)


def where(schema: LayerSchema, query: FeatureQuery) -> tuple[str, list[object]]:
    """The WHERE clause (with its parameters) for a query on a layer."""
    clauses: list[str] = []
    params: list[object] = []
    if query.bbox is not None and schema.spatial:
        minx, miny, maxx, maxy = query.bbox
        clauses.append(f'fid IN (SELECT id FROM "rtree_{schema.name}_{GEOM}" WHERE '
                       "minx <= ? AND maxx >= ? AND miny <= ? AND maxy >= ?)")
        params += [maxx, minx, maxy, miny]
        clauses.append(f'hl_meets_box("{GEOM}", ?, ?, ?, ?)')
        params += [minx, miny, maxx, maxy]
    if query.time_field is not None and query.start is not None:
        clauses.append(f'"{query.time_field}" >= ?')
        params.append(query.start)
    if query.time_field is not None and query.end is not None:
        clauses.append(f'"{query.time_field}" <= ?')
        params.append(query.end)
    names = set(schema.field_names)
    for field, value in query.equals:
        if field not in names:
            raise ValueError(f"{schema.name} has no field '{field}'")
        clauses.append(f'"{field}" = ?')
        params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def page(conn: sqlite3.Connection, schema: LayerSchema, query: FeatureQuery
         ) -> tuple[list[str], int]:
    """The ids of one page, in storage order, and the number matched in all."""
    clause, params = where(schema, query)
    matched = conn.execute(f'SELECT count(*) FROM "{schema.name}"{clause}', params).fetchone()[0]
    ids = conn.execute(f'SELECT id FROM "{schema.name}"{clause} ORDER BY fid LIMIT ? OFFSET ?',
                       [*params, query.limit, query.offset]).fetchall()
    return [i for (i,) in ids], int(matched)


def order_like(ids: list[str], got: np.ndarray) -> np.ndarray:
    """Positions that put ``got`` (the ids read back) in the order of ``ids``."""
    return pd.Index(got).get_indexer(ids)


def rows(conn: sqlite3.Connection, schema: LayerSchema, query: FeatureQuery
         ) -> tuple[list[tuple[object, ...]], np.ndarray | None, int]:
    """One page's stored values and geometries, and the number matched in all."""
    clause, params = where(schema, query)
    matched = conn.execute(f'SELECT count(*) FROM "{schema.name}"{clause}', params).fetchone()[0]
    names = ", ".join(f'"{n}"' for n in schema.field_names)
    select = f'{names}, "{GEOM}"' if schema.spatial else names
    found = conn.execute(f'SELECT {select} FROM "{schema.name}"{clause} ORDER BY fid '
                         "LIMIT ? OFFSET ?", [*params, query.limit, query.offset]).fetchall()
    if not schema.spatial:
        return found, None, int(matched)
    width = len(schema.field_names)
    geoms = decode([r[width] for r in found]) if found else np.array([], dtype=object)
    return [r[:width] for r in found], geoms, int(matched)
