"""What a write puts in the audit trail, shared by every backend: each feature as JSON
(stored values, geometry as full-precision WKT) and the rows that continue the chain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import orjson
import pandas as pd
import shapely

from ..domain.schema import LayerSchema
from . import audit
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
            ids: Sequence[str], before: Sequence[str | None], frame: pd.DataFrame,
            values: dict[str, list[object]]) -> list[tuple[object, ...]]:
    """Audit rows for a write: the features' JSON, chained after ``head``."""
    return chain_after(head, actor, action, schema.name, ids, before,
                       feature_json(schema, frame, values))


def feature_json(schema: LayerSchema, frame: pd.DataFrame,
                 values: dict[str, list[object]] | None = None) -> list[str]:
    """Each feature as the JSON the audit trail keeps: stored values, geometry as full-precision
    WKT, so a later correction never loses what was there."""
    values = values if values is not None else storage_columns(schema, frame)
    names = list(schema.field_names)
    columns = [values[n] for n in names]
    if schema.spatial:
        wkt = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=-1)
        names.append("geometry")
        columns.append(list(wkt))
    return [orjson.dumps(dict(zip(names, row, strict=True))).decode()
            for row in zip(*columns, strict=True)]


def log_query(feature_id: str | None, layer: str | None, mark: str
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
    if where:
        sql += " WHERE " + " AND ".join(where)
    return sql + " ORDER BY seq", args


def log_frame(rows: Sequence[Sequence[object]]) -> pd.DataFrame:
    """Audit entries as a frame; object columns keep None as None (no NaN standing in for
    "no value before")."""
    frame = pd.DataFrame(rows, columns=list(audit.AUDIT_COLUMNS), dtype=object)
    return frame.astype({"seq": "int64"})
