"""Whether the data equals what the audit trail says it is.

The trail holds every feature's value after each write, so the last entry of a feature is
its audited state (no value: it was deleted). Replaying that against the stored rows finds
every change made around the ledger — an edited field, a moved geometry, a row inserted or
deleted — by any program, whether or not triggers recorded it.

Values are compared for what they mean, not how they are spelt, since other programs
write the same value differently: numbers as numbers (``12`` and ``12.0``), times as
instants, geometries by their coordinates after promotion to the layer's multi type, to
1e-9 degree (about 0.1 mm, far below any survey's precision; PostGIS prints coordinates
to a fixed number of decimals).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import orjson
import pandas as pd
import shapely

from ..domain.schema import LayerSchema
from ..domain.text import printable
from .gpkg_geometry import promote_to_multi

FEATURE = "(feature)"
GEOMETRY_TOLERANCE = 1e-9  # degrees
_SHOWN = 60  # characters of a value shown in a line


@dataclass(frozen=True)
class Change:
    """One difference: a field of a feature, or the feature itself (``FEATURE``)."""

    layer: str
    feature_id: str
    field: str
    audited: str
    current: str

    def line(self) -> str:
        return (f"{self.layer} {printable(self.feature_id, _SHOWN)}: {self.field}: "
                f"{self.audited} -> {self.current}")


@dataclass(frozen=True)
class FeatureDrift:
    """A feature whose stored state is not its audited state: ``audited`` is the trail's
    JSON (None: the trail does not hold it), ``current`` the stored row's (None: gone)."""

    layer: str
    feature_id: str
    audited: str | None
    current: str | None
    changes: tuple[Change, ...]

    @property
    def operation(self) -> str:
        if self.audited is None:
            return "insert"
        return "delete" if self.current is None else "update"


def show(value: object) -> str:
    """A value as one safe, short piece of a line."""
    if value is None:
        return "(empty)"
    if isinstance(value, str):
        return repr(printable(value, _SHOWN))
    return printable(value, _SHOWN)


def _parse(text: str) -> dict[str, object]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return {"(unreadable)": text}
    return value if isinstance(value, dict) else {"(unreadable)": text}


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    return None


def _instant(value: object) -> pd.Timestamp | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    if pd.isna(stamp):
        return None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def same_value(kind: str, audited: object, current: object) -> bool:
    """Whether two stored values of a field of ``kind`` mean the same."""
    if audited == current and type(audited) is type(current):
        return True
    if audited is None or current is None:
        return False
    if kind in ("int", "float"):
        a, c = _number(audited), _number(current)
        return a is not None and c is not None and a == c
    if kind in ("date", "datetime"):
        a_time, c_time = _instant(audited), _instant(current)
        return a_time is not None and c_time is not None and a_time == c_time
    return False


def _geometry(wkt: object, column_type: str) -> object:
    if not isinstance(wkt, str):
        return None
    try:
        geom = shapely.from_wkt(wkt)
    except shapely.errors.GEOSException:
        return None
    return promote_to_multi(np.array([geom], dtype=object), column_type)[0]


def same_geometry(schema: LayerSchema, audited: object, current: object) -> bool:
    if audited == current:
        return True
    a = _geometry(audited, schema.gpkg_geometry or "")
    c = _geometry(current, schema.gpkg_geometry or "")
    if a is None or c is None:
        return False
    return bool(shapely.equals_exact(a, c, tolerance=GEOMETRY_TOLERANCE))


def field_changes(schema: LayerSchema, feature_id: str, audited: Mapping[str, object],
                  current: Mapping[str, object]) -> list[Change]:
    """The fields (and geometry) in which two states of a feature differ."""
    changes = []
    for spec in schema.fields:
        a, c = audited.get(spec.name), current.get(spec.name)
        if not same_value(spec.kind, a, c):
            changes.append(Change(schema.name, feature_id, spec.name, show(a), show(c)))
    if schema.spatial:
        a, c = audited.get("geometry"), current.get("geometry")
        if not same_geometry(schema, a, c):
            changes.append(Change(schema.name, feature_id, "geometry", show(a), show(c)))
    return changes


def compare_layer(schema: LayerSchema, audited: Mapping[str, str | None],
                  current_ids: Sequence[str], current_json: Sequence[str]) -> list[FeatureDrift]:
    """Every feature of a layer whose stored state differs from its audited one.

    ``audited``: each feature id the trail names and its last value (None: deleted);
    ``current_ids``/``current_json``: the stored rows as the trail's JSON."""
    out: list[FeatureDrift] = []
    seen: set[str] = set()
    for fid, text in zip(current_ids, current_json, strict=True):
        seen.add(fid)
        expected = audited.get(fid)
        if expected == text:  # the common case: stored exactly as audited
            continue
        if expected is None:
            out.append(FeatureDrift(schema.name, fid, None, text, (Change(
                schema.name, fid, FEATURE, "absent",
                "present (inserted outside the ledger: not in the audit trail)"),)))
            continue
        changes = field_changes(schema, fid, _parse(expected), _parse(text))
        if changes:
            out.append(FeatureDrift(schema.name, fid, expected, text, tuple(changes)))
    for fid, expected in audited.items():
        if expected is not None and fid not in seen:
            out.append(FeatureDrift(schema.name, fid, expected, None, (Change(
                schema.name, fid, FEATURE, "present",
                "absent (deleted outside the ledger: the audit trail still holds it)"),)))
    return out


def compare_records(table: str, audited: Mapping[str, str | None],
                    current: Mapping[str, Mapping[str, object]]) -> list[FeatureDrift]:
    """The same for the ledger's own tables (users, item types, settings): the fields the
    trail recorded, compared as text; rows the trail never named are reported too."""
    out: list[FeatureDrift] = []
    for key, row in current.items():
        expected = audited.get(key)
        text = orjson.dumps(dict(row), default=str).decode()
        if expected is None:
            out.append(FeatureDrift(table, key, None, text, (Change(
                table, key, FEATURE, "absent",
                "present (added outside the ledger: not in the audit trail)"),)))
            continue
        recorded = _parse(expected)
        changes = [Change(table, key, name, show(value), show(row.get(name)))
                   for name, value in recorded.items()
                   if name in row and str(row.get(name)) != str(value)]
        if changes:
            out.append(FeatureDrift(table, key, expected, text, tuple(changes)))
    for key, expected in audited.items():
        if expected is not None and key not in current:
            out.append(FeatureDrift(table, key, expected, None, (Change(
                table, key, FEATURE, "present",
                "absent (removed outside the ledger: the audit trail still holds it)"),)))
    return out


def last_states(rows: Iterable[tuple[str | None, str | None]]) -> dict[str, str | None]:
    """Each feature's last audited value from (feature_id, after) rows in trail order."""
    states: dict[str, str | None] = {}
    for fid, after in rows:
        if fid:
            states[fid] = after
    return states


def lines(drift: Sequence[FeatureDrift], limit: int | None = None) -> list[str]:
    """One line per change, at most ``limit`` of them and then how many more there are."""
    every = [change.line() for feature in drift for change in feature.changes]
    if limit is None or len(every) <= limit:
        return every
    return [*every[:limit], f"... and {len(every) - limit:,} more changes"]
