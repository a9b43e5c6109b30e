"""The residual hazard after a write, recomputed only where the write can change it.

Parameters are shared per item type across hazard areas, and the random counts and
removals are drawn per stream group of areas (``hazard.inputs.STREAM_GROUPS``), so a
hazard area's figures depend only on the records of its group, the type parameters and
the age grid. After writes that touched some hazard areas, recomputing the groups of those
areas on their own (on the whole ledger's age grid) and keeping every other area's
figures gives, to the bit, what recomputing the whole ledger would; one write to one area
recomputes 1/16 of the ledger.

What the writes touched is read from the audit trail since the earlier state: the hazard
areas of the records, findings and incidents written (before and after the write, and the
areas of the records a finding belongs to) and the hazard areas themselves. Whatever this
cannot place asks for the whole ledger to be recomputed: an activity (its polygon may cover
records in any area), the catalog of item types, a record without a hazard area, a record
laid before the age grid began, another program's edit not yet in the trail, or an earlier
state the trail cannot be read back to.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .hazard.inputs import NO_AREA, hours, stream_group
from .ledger import Ledger

# layers whose writes cannot change the residual hazard of any area
UNRELATED = frozenset({"places", "victims", "risk_education", "hl_users", "hl_submissions",
                       "hl_meta", "residual_hazard", "exposure", "priorities"})
BY_AREA = {"records": "area_id", "findings": "area_id", "incidents": "area_id"}


@dataclass(frozen=True)
class Touched:
    """The hazard areas a span of writes touched, and their stream groups."""

    areas: frozenset[str]
    groups: frozenset[int]


def state_position(token: str) -> tuple[int, str] | None:
    """Where a state of the ledger (its change token) stands: the number of its last audit
    entry, and the mark of the edits other programs made (None if it has no entry)."""
    head, _, edits = token.partition("|")
    number = head.split(":", 1)[0]
    return (int(number), edits) if number.isdigit() else None


def writes_between(earlier: str, later: str) -> int | None:
    """Audit entries between two states of the ledger (None if another program's edits
    came between them, which the trail does not count)."""
    first, last = state_position(earlier), state_position(later)
    if first is None or last is None or first[1] != last[1]:
        return None
    return last[0] - first[0]


def touched(ledger: Ledger, earlier: str, later: str) -> Touched | None:
    """What the writes between two states of the ledger (change tokens) touched; None when
    the whole ledger must be recomputed."""
    first, last = state_position(earlier), state_position(later)
    if first is None or last is None or first[1] != last[1] or last[0] < first[0]:
        return None
    entries = ledger.store.audit_log(after=first[0])
    if len(entries) and int(entries["seq"].max()) > last[0]:
        entries = entries[entries["seq"] <= last[0]]
    areas: set[str] = set()
    record_ids: set[str] = set()
    for layer, fid, before, after in entries[["layer", "feature_id", "before",
                                              "after"]].itertuples(index=False):
        if layer in UNRELATED:
            continue
        if layer == "hazard_areas":
            areas.add(str(fid))
            continue
        field = BY_AREA.get(str(layer))
        if field is None:  # activities, item types, anything not placed above
            return None
        for state in (before, after):
            values = _values(state)
            if values is None:
                continue
            if layer == "records" and values.get(field) is None:
                return None  # the catch-all 'no hazard area' unit
            if values.get(field) is not None:
                areas.add(str(values[field]))
            if layer == "findings" and values.get("record_id") is not None:
                record_ids.add(str(values["record_id"]))
    if record_ids:
        owners = ledger.store.read_layer("records", record_ids)["area_id"]
        if owners.isna().any():
            return None
        areas.update(owners.astype(str))
    return Touched(frozenset(areas), frozenset(int(g) for g in stream_group(
        np.array(sorted(areas), dtype=object))))


def _values(state: object) -> dict[str, object] | None:
    if state is None:
        return None
    value = json.loads(str(state))
    return value if isinstance(value, dict) else None


def in_groups(area_ids: Iterable[str], groups: frozenset[int]) -> np.ndarray:
    """The given hazard area ids that fall in the stream groups ``groups``."""
    ids = np.array(sorted(set(area_ids)), dtype=object)
    return ids[np.isin(stream_group(ids), list(groups))]


def updated(ledger: Ledger, earlier: gpd.GeoDataFrame, change: Touched,
            as_of: pd.Timestamp, scenario: str, samples: int, grid_from_h: float
            ) -> gpd.GeoDataFrame | None:
    """The residual hazard per area after the writes ``change`` describes: ``earlier``
    (the figures of the state before, by area) with the touched stream groups recomputed.
    None when the whole ledger must be recomputed."""
    from .residual import Run, Work, residual_hazard

    ids = in_groups([*earlier["area_id"].astype(str), *change.areas], change.groups)
    if NO_AREA in set(ids):
        return None  # the catch-all unit holds records of any area
    store = ledger.store
    records = store.read_layer("records", ids, field="area_id")
    areas = store.read_layer("hazard_areas", ids)
    if (records.empty or float(hours(records["laid_from"]).min()) < grid_from_h
            or not set(records["area_id"]) <= set(areas["id"])):
        return None  # areas left without records, a record older than the grid, or one
        # whose hazard area is gone
    part = residual_hazard(
        records, areas, ledger.catalog,
        Run(as_of, scenario, samples), "area", store.read_layer("incidents", ids, "area_id"),
        Work(store.read_layer("findings", records["id"], "record_id"),
             ledger.read("activities")), grid_from_h)
    kept = earlier[~earlier["area_id"].astype(str).isin(set(ids))]
    frame = joined(kept, part)
    if "incidents" in frame:  # the whole ledger's frame counts 0 where an area has none
        frame["incidents"] = frame["incidents"].fillna(0).astype(int)
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=earlier.crs)
    out = out.sort_values("area_id", kind="stable").reset_index(drop=True)
    out.attrs["grid_from_h"] = grid_from_h
    return out


def joined(kept: pd.DataFrame, part: pd.DataFrame) -> pd.DataFrame:
    """The rows of both frames, with the columns of either; a column missing or empty in
    one of them (no incident in the touched areas: ``last_incident_at``) takes the other's
    type, as it has in the whole ledger's frame. pandas is deprecating leaving such columns
    out when it chooses the type."""
    if kept.empty or part.empty:
        return (part if kept.empty else kept).reset_index(drop=True)
    columns = kept.columns.union(part.columns, sort=False)
    kept, part = kept.reindex(columns=columns), part.reindex(columns=columns)
    casts: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # kept's, part's
    for name in columns:
        for cast, empty, full in ((casts[1], part, kept), (casts[0], kept, part)):
            kind = full[name].dtype
            # only placeholders of missing values (NaN cast to bool would be True, to an
            # integer an error, a time without zone to one with a zone an error)
            if (kind != empty[name].dtype and empty[name].dtype.kind in "fO"
                    and empty[name].isna().all()
                    and (kind.kind in "fMO" or isinstance(kind, pd.DatetimeTZDtype))):
                cast[name] = kind
                break
    return pd.concat([kept.astype(casts[0]), part.astype(casts[1])], ignore_index=True)
