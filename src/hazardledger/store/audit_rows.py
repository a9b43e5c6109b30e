"""What a write puts in the audit trail, shared by every backend: each feature as JSON
(stored values, geometry as full-precision WKT) and the rows that continue the chain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import orjson
import pandas as pd
import shapely

from ..domain.schema import LayerSchema
from . import audit, queue, users
from .values import storage_columns


def utc_now() -> str:
    """The time of an audit entry: UTC, microseconds, ISO 8601."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def to_json(value: object) -> str:
    """Compact JSON text, as the audit trail keeps it."""
    return orjson.dumps(value).decode()


def chain_after(head: str | None, actor: str, action: str, layer: str, ids: Sequence[str],
                before: Sequence[str | None], after: Sequence[str | None]
                ) -> list[tuple[object, ...]]:
    """Audit rows continuing the chain after ``head`` ("seq:hash", None when empty)."""
    seq, prev = (0, audit.GENESIS) if not head else head.split(":")
    return audit.chain(int(seq) + 1, prev, utc_now(), actor, action, layer, ids, before, after)


def entries(head: str | None, actor: str, action: str, schema: LayerSchema,
            ids: Sequence[str], before: Sequence[str | None],
            values: dict[str, list[object]], geometry: np.ndarray | None
            ) -> list[tuple[object, ...]]:
    """Audit rows for a write: the features' JSON (``geometry`` as stored), chained after
    ``head``."""
    return chain_after(head, actor, action, schema.name, ids, before,
                       features_json(schema, values, wkt(geometry)))


def feature_json(schema: LayerSchema, frame: pd.DataFrame) -> list[str]:
    """Each feature of a typed frame as the JSON the audit trail keeps."""
    geometry = wkt(frame.geometry.to_numpy()) if schema.spatial else None
    return features_json(schema, storage_columns(schema, frame), geometry)


def wkt(geometry: np.ndarray | None) -> list[str | None] | None:
    """Geometries as the trail writes them: full-precision WKT."""
    if geometry is None:
        return None
    return list(shapely.to_wkt(geometry, rounding_precision=-1))


def _unjsonable(value: object) -> str:
    # a BLOB another program put where text belongs is kept as its hex, never dropped
    if isinstance(value, bytes | bytearray | memoryview):
        return "x'" + bytes(value).hex() + "'"
    return str(value)


def features_json(schema: LayerSchema, values: dict[str, list[object]],
                  geometry_wkt: Sequence[str | None] | None) -> list[str]:
    """Features as the JSON the audit trail keeps: stored values in field order, geometry
    as full-precision WKT, so that a later correction never loses what was there."""
    names = list(schema.field_names)
    columns: list[Sequence[object]] = [values[n] for n in names]
    if schema.spatial:
        assert geometry_wkt is not None
        names.append("geometry")
        columns.append(geometry_wkt)
    dumps = orjson.dumps
    return [dumps(dict(zip(names, row, strict=True)), default=_unjsonable).decode()
            for row in zip(*columns, strict=True)]


def log_query(feature_id: str | None, layer: str | None, mark: str, after: int | None = None
              ) -> tuple[str, list[object]]:
    """The audit log's SELECT (optionally for one feature and/or layer), with ``mark`` as
    the driver's parameter placeholder."""
    sql = f"SELECT {', '.join(audit.AUDIT_COLUMNS)} FROM audit_log"
    where: list[str] = []
    args: list[object] = []
    if feature_id is not None:
        where.append(f"feature_id = {mark}")
        args.append(feature_id)
    if layer is not None:
        where.append(f"layer = {mark}")
        args.append(layer)
    if after is not None:
        where.append(f"seq > {mark}")
        args.append(int(after))
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY seq", args


def log_frame(rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    """Audit entries as a frame; object columns keep None as None (no NaN standing in for
    "no value before")."""
    frame = pd.DataFrame(rows, columns=list(audit.AUDIT_COLUMNS), dtype=object)
    return frame.astype({"seq": "int64"})


def last_states_query(mark: str) -> str:
    """The SELECT of each feature's last audited value in one layer (or table), with
    ``mark`` as the driver's placeholder for the layer's name."""
    return ("SELECT a.feature_id, a.after FROM audit_log AS a JOIN (SELECT max(seq) AS seq "
            f"FROM audit_log WHERE layer = {mark} GROUP BY feature_id) AS m ON a.seq = m.seq")


# features whose last audited change was a direct edit (by a database's triggers)
DIRECT_EDITS = (
    "SELECT a.layer, a.feature_id FROM audit_log AS a JOIN (SELECT max(seq) AS seq FROM "
    "audit_log GROUP BY layer, feature_id) AS m ON a.seq = m.seq WHERE a.action LIKE "
    "'direct edit%' AND a.after IS NOT NULL ORDER BY a.seq")


def by_layer(rows: Sequence[Sequence[object]]) -> dict[str, list[str]]:
    """(layer, feature id) rows grouped by layer."""
    out: dict[str, list[str]] = {}
    for name, fid in rows:
        out.setdefault(str(name), []).append(str(fid))
    return out


# The ledger's own tables as the trail records them: the key its entries name, then the
# fields an entry's value holds.
OWN_TABLE_SELECT = {
    "hl_users": f"SELECT name, {', '.join(users.AUDITED)} FROM hl_users",
    "item_types": "SELECT code, definition FROM item_types",
    "hl_meta": "SELECT key, value FROM hl_meta",
    "hl_submissions": f"SELECT instance_id, {', '.join(queue.AUDITED)} FROM hl_submissions",
}
_OWN_FIELDS = {"hl_users": users.AUDITED,
               "item_types": ("definition",),
               "hl_submissions": queue.AUDITED}


def own_table_rows(table: str, rows: Sequence[Sequence[object]]
                   ) -> dict[str, dict[str, object]]:
    """Rows of ``OWN_TABLE_SELECT[table]`` keyed and shaped as the trail's entries."""
    if table == "hl_meta":
        return {str(key): {str(key): value} for key, value in rows}
    fields = _OWN_FIELDS[table]
    return {str(row[0]): dict(zip(fields, row[1:], strict=True)) for row in rows}
